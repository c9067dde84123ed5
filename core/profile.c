// SPDX-License-Identifier: MIT
/* The profile model: names and the reference's per-profile decisions. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "voltfs/profile.h"

static const char *const profile_names[VOLT_PROFILE_COUNT] = {
	[VOLT_PROFILE_KVM_LINUX] = "kvm-linux",
	[VOLT_PROFILE_KVM_UEFI] = "kvm-uefi",
	[VOLT_PROFILE_EMULATE_X86] = "emulate-x86",
	[VOLT_PROFILE_EMULATE_FOREIGN] = "emulate-foreign",
};

const char *volt_profile_name(enum volt_profile p)
{
	if (p < 0 || p >= VOLT_PROFILE_COUNT)
		return NULL;
	return profile_names[p];
}

enum volt_profile volt_profile_from_name(const char *s, size_t len)
{
	for (int p = 0; p < VOLT_PROFILE_COUNT; p++)
		if (strlen(profile_names[p]) == len && memcmp(profile_names[p], s, len) == 0)
			return (enum volt_profile)p;
	return VOLT_PROFILE_INVALID;
}

bool volt_profile_needs_kvm(enum volt_profile p)
{
	return p == VOLT_PROFILE_KVM_LINUX || p == VOLT_PROFILE_KVM_UEFI;
}

bool volt_profile_needs_tcg(enum volt_profile p)
{
	return p == VOLT_PROFILE_EMULATE_X86 || p == VOLT_PROFILE_EMULATE_FOREIGN;
}

const char *volt_profile_accel_flag(enum volt_profile p)
{
	return volt_profile_needs_kvm(p) ? "kvm" : "tcg";
}

const char *volt_profile_arch(const char *guest_arch)
{
	return guest_arch && *guest_arch ? guest_arch : "x86_64";
}

int volt_profile_binary_name(const char *guest_arch, char *buf, size_t size)
{
	int n = snprintf(buf, size, "qemu-system-%s", volt_profile_arch(guest_arch));

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static bool str_is(const char *s, const char *want)
{
	return s && strcmp(s, want) == 0;
}

enum volt_profile volt_profile_select(const char *mode, const char *guest_arch,
				      const char *guest_os, bool kvm_available)
{
	if (str_is(mode, "hybrid-emulated")) {
		if (guest_arch && *guest_arch && !str_is(guest_arch, "x86_64") &&
		    !str_is(guest_arch, "i386"))
			return VOLT_PROFILE_EMULATE_FOREIGN;
		return VOLT_PROFILE_EMULATE_X86;
	}
	if (str_is(mode, "hybrid-kvm")) {
		if (str_is(guest_os, "windows") || str_is(guest_os, "uefi"))
			return VOLT_PROFILE_KVM_UEFI;
		return VOLT_PROFILE_KVM_LINUX;
	}
	return kvm_available ? VOLT_PROFILE_KVM_LINUX : VOLT_PROFILE_EMULATE_X86;
}

bool volt_kvm_available(void)
{
	struct stat st;

	return stat("/dev/kvm", &st) == 0 && S_ISCHR(st.st_mode);
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

void volt_manifest_count_files(const struct volt_manifest *m, struct volt_file_counts *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < m->n_entries; i++) {
		const char *path = m->entries[i].path;

		if (has_prefix(path, "bin/"))
			c->binaries++;
		else if (has_prefix(path, "lib/"))
			c->libraries++;
		else if (has_prefix(path, "firmware/"))
			c->firmware++;
	}
}
