/* SPDX-License-Identifier: MIT */
/*
 * The profile model: the four QEMU build profiles and the reference's
 * decisions about them (SelectProfile, NeedsKVM, AccelFlag, ...).
 */
#ifndef VOLTFS_PROFILE_H
#define VOLTFS_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "voltfs/manifest.h"

enum volt_profile {
	VOLT_PROFILE_KVM_LINUX,
	VOLT_PROFILE_KVM_UEFI,
	VOLT_PROFILE_EMULATE_X86,
	VOLT_PROFILE_EMULATE_FOREIGN,
	VOLT_PROFILE_COUNT,
	VOLT_PROFILE_INVALID = -1,
};

/* "kvm-linux", ...; NULL for anything else. */
const char *volt_profile_name(enum volt_profile p);

/* The profile named by len bytes of s, or VOLT_PROFILE_INVALID. */
enum volt_profile volt_profile_from_name(const char *s, size_t len);

bool volt_profile_needs_kvm(enum volt_profile p);
bool volt_profile_needs_tcg(enum volt_profile p);

/* "kvm" or "tcg". */
const char *volt_profile_accel_flag(enum volt_profile p);

/* The guest arch, defaulting to x86_64 for NULL or "". */
const char *volt_profile_arch(const char *guest_arch);

/* "qemu-system-<arch>" into buf. 0, or -ENAMETOOLONG. */
int volt_profile_binary_name(const char *guest_arch, char *buf, size_t size);

/*
 * SelectProfile: mode "hybrid-emulated" or "hybrid-kvm"; anything else falls
 * back on kvm_available. guest_arch and guest_os may be NULL.
 */
enum volt_profile volt_profile_select(const char *mode, const char *guest_arch,
				      const char *guest_os, bool kvm_available);

/* KVMAvailable: /dev/kvm exists and is a character device. */
bool volt_kvm_available(void);

struct volt_file_counts {
	size_t binaries;  /* paths under bin/ */
	size_t libraries; /* under lib/ */
	size_t firmware;  /* under firmware/ */
};

/* CountFiles. */
void volt_manifest_count_files(const struct volt_manifest *m, struct volt_file_counts *c);

#endif
