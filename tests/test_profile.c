// SPDX-License-Identifier: MIT
/*
 * Tests for core/profile.c: the profile names and every decision the
 * reference makes about a profile (NeedsKVM, NeedsTCG, AccelFlag,
 * DefaultBinaryName, SelectProfile, KVMAvailable, CountFiles).
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>

#include "voltfs/profile.h"

static const struct {
	enum volt_profile p;
	const char *name;
	bool kvm;
	const char *accel;
} profiles[] = {
	{ VOLT_PROFILE_KVM_LINUX, "kvm-linux", true, "kvm" },
	{ VOLT_PROFILE_KVM_UEFI, "kvm-uefi", true, "kvm" },
	{ VOLT_PROFILE_EMULATE_X86, "emulate-x86", false, "tcg" },
	{ VOLT_PROFILE_EMULATE_FOREIGN, "emulate-foreign", false, "tcg" },
};

#define N_PROFILES (sizeof(profiles) / sizeof(profiles[0]))

Test(profile, names_round_trip)
{
	cr_assert_eq(N_PROFILES, VOLT_PROFILE_COUNT);
	for (size_t i = 0; i < N_PROFILES; i++) {
		const char *name = volt_profile_name(profiles[i].p);

		cr_assert_not_null(name);
		cr_expect_str_eq(name, profiles[i].name);
		cr_expect_eq(volt_profile_from_name(name, strlen(name)), profiles[i].p, "%s", name);
	}
}

Test(profile, name_of_no_profile_is_null)
{
	cr_expect_null(volt_profile_name(VOLT_PROFILE_INVALID));
	cr_expect_null(volt_profile_name(VOLT_PROFILE_COUNT));
	cr_expect_null(volt_profile_name((enum volt_profile)1000));
}

/* Exactly len bytes are compared: no prefix, no longer name, no case folding. */
Test(profile, from_name_is_exact)
{
	cr_expect_eq(volt_profile_from_name("kvm-linux-8e1e73bc", 9), VOLT_PROFILE_KVM_LINUX);
	cr_expect_eq(volt_profile_from_name("emulate-x86.json", 11), VOLT_PROFILE_EMULATE_X86);
	cr_expect_eq(volt_profile_from_name("kvm-linux", 8), VOLT_PROFILE_INVALID);
	cr_expect_eq(volt_profile_from_name("kvm-linuxx", 10), VOLT_PROFILE_INVALID);
	cr_expect_eq(volt_profile_from_name("KVM-LINUX", 9), VOLT_PROFILE_INVALID);
	cr_expect_eq(volt_profile_from_name("emulate-arm", 11), VOLT_PROFILE_INVALID);
	cr_expect_eq(volt_profile_from_name("", 0), VOLT_PROFILE_INVALID);
}

Test(profile, needs_kvm_tcg_and_accel)
{
	for (size_t i = 0; i < N_PROFILES; i++) {
		enum volt_profile p = profiles[i].p;

		cr_expect_eq(volt_profile_needs_kvm(p), profiles[i].kvm, "%s", profiles[i].name);
		cr_expect_eq(volt_profile_needs_tcg(p), !profiles[i].kvm, "%s", profiles[i].name);
		cr_expect_str_eq(volt_profile_accel_flag(p), profiles[i].accel);
	}
}

/* The reference's AccelFlag answers "tcg" for anything that does not need KVM. */
Test(profile, invalid_profile_needs_neither)
{
	cr_expect_not(volt_profile_needs_kvm(VOLT_PROFILE_INVALID));
	cr_expect_not(volt_profile_needs_tcg(VOLT_PROFILE_INVALID));
	cr_expect_str_eq(volt_profile_accel_flag(VOLT_PROFILE_INVALID), "tcg");
}

Test(profile, arch_defaults_to_x86_64)
{
	cr_expect_str_eq(volt_profile_arch(NULL), "x86_64");
	cr_expect_str_eq(volt_profile_arch(""), "x86_64");
	cr_expect_str_eq(volt_profile_arch("x86_64"), "x86_64");
	cr_expect_str_eq(volt_profile_arch("aarch64"), "aarch64");
}

Test(profile, binary_name)
{
	char buf[64];

	cr_assert_eq(volt_profile_binary_name(NULL, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "qemu-system-x86_64");
	cr_assert_eq(volt_profile_binary_name("", buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "qemu-system-x86_64");
	cr_assert_eq(volt_profile_binary_name("aarch64", buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "qemu-system-aarch64");
	cr_assert_eq(volt_profile_binary_name("riscv64", buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "qemu-system-riscv64");
}

Test(profile, binary_name_too_long)
{
	char buf[sizeof("qemu-system-x86_64")];

	cr_expect_eq(volt_profile_binary_name(NULL, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "qemu-system-x86_64");
	cr_expect_eq(volt_profile_binary_name(NULL, buf, sizeof(buf) - 1), -ENAMETOOLONG);
	cr_expect_eq(volt_profile_binary_name("aarch64", buf, sizeof(buf)), -ENAMETOOLONG);
	cr_expect_eq(volt_profile_binary_name("x86_64", buf, 0), -ENAMETOOLONG);
}

/* hybrid-emulated: x86 for no arch, x86_64 and i386; foreign for anything else. */
Test(profile_select, hybrid_emulated)
{
	static const struct {
		const char *arch;
		enum volt_profile want;
	} cases[] = {
		{ NULL, VOLT_PROFILE_EMULATE_X86 },
		{ "", VOLT_PROFILE_EMULATE_X86 },
		{ "x86_64", VOLT_PROFILE_EMULATE_X86 },
		{ "i386", VOLT_PROFILE_EMULATE_X86 },
		{ "aarch64", VOLT_PROFILE_EMULATE_FOREIGN },
		{ "riscv64", VOLT_PROFILE_EMULATE_FOREIGN },
		{ "X86_64", VOLT_PROFILE_EMULATE_FOREIGN },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int kvm = 0; kvm <= 1; kvm++) {
			cr_expect_eq(volt_profile_select("hybrid-emulated", cases[i].arch, "linux",
							 kvm),
				     cases[i].want, "arch %s, kvm %d",
				     cases[i].arch ? cases[i].arch : "(null)", kvm);
		}
	}
}

/* hybrid-kvm: UEFI for windows and uefi, Linux otherwise, whatever the arch. */
Test(profile_select, hybrid_kvm)
{
	static const struct {
		const char *os;
		enum volt_profile want;
	} cases[] = {
		{ "windows", VOLT_PROFILE_KVM_UEFI }, { "uefi", VOLT_PROFILE_KVM_UEFI },
		{ "linux", VOLT_PROFILE_KVM_LINUX },  { "", VOLT_PROFILE_KVM_LINUX },
		{ NULL, VOLT_PROFILE_KVM_LINUX },     { "Windows", VOLT_PROFILE_KVM_LINUX },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int kvm = 0; kvm <= 1; kvm++) {
			const char *os = cases[i].os ? cases[i].os : "(null)";

			cr_expect_eq(volt_profile_select("hybrid-kvm", "aarch64", cases[i].os, kvm),
				     cases[i].want, "os %s, kvm %d", os, kvm);
			cr_expect_eq(volt_profile_select("hybrid-kvm", NULL, cases[i].os, kvm),
				     cases[i].want, "os %s, kvm %d", os, kvm);
		}
	}
}

/* Any other mode falls back on KVM availability, ignoring arch and OS. */
Test(profile_select, other_mode)
{
	static const char *const modes[] = { "native", "", "hybrid", "HYBRID-KVM", NULL };

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		const char *mode = modes[i] ? modes[i] : "(null)";

		cr_expect_eq(volt_profile_select(modes[i], "aarch64", "windows", true),
			     VOLT_PROFILE_KVM_LINUX, "mode %s", mode);
		cr_expect_eq(volt_profile_select(modes[i], NULL, NULL, true),
			     VOLT_PROFILE_KVM_LINUX, "mode %s", mode);
		cr_expect_eq(volt_profile_select(modes[i], "aarch64", "windows", false),
			     VOLT_PROFILE_EMULATE_X86, "mode %s", mode);
		cr_expect_eq(volt_profile_select(modes[i], NULL, NULL, false),
			     VOLT_PROFILE_EMULATE_X86, "mode %s", mode);
	}
}

Test(profile, kvm_available_matches_dev_kvm)
{
	struct stat st;
	bool want = stat("/dev/kvm", &st) == 0 && S_ISCHR(st.st_mode);

	cr_expect_eq(volt_kvm_available(), want);
}

static struct volt_manifest_entry entry(const char *path)
{
	return (struct volt_manifest_entry){ .path = path, .path_len = (uint32_t)strlen(path) };
}

/* CountFiles counts by prefix only: "bin/", "lib/", "firmware/", slash included. */
Test(profile_count, by_top_level_folder)
{
	struct volt_manifest_entry entries[] = {
		entry("bin"),
		entry("bin/qemu-img"),
		entry("bin/qemu-system-x86_64"),
		entry("binx/y"),
		entry("firmware/edk2/OVMF_CODE.fd"),
		entry("firmware/f"),
		entry("lib"),
		entry("lib/a"),
		entry("lib/libglib-2.0.so.0"),
		entry("lib/x86_64/libz.so.1"),
		entry("lib64/b"),
		entry("libexec/c"),
		entry("share/bin/x"),
		entry("share/y"),
	};
	struct volt_manifest m = {
		.entries = entries,
		.n_entries = sizeof(entries) / sizeof(entries[0]),
	};
	struct volt_file_counts c;

	memset(&c, 0xff, sizeof(c));
	volt_manifest_count_files(&m, &c);
	cr_expect_eq(c.binaries, 2);
	cr_expect_eq(c.libraries, 3);
	cr_expect_eq(c.firmware, 2);
}

Test(profile_count, empty_manifest)
{
	struct volt_manifest m = { .entries = NULL, .n_entries = 0 };
	struct volt_file_counts c;

	memset(&c, 0xff, sizeof(c));
	volt_manifest_count_files(&m, &c);
	cr_expect_eq(c.binaries, 0);
	cr_expect_eq(c.libraries, 0);
	cr_expect_eq(c.firmware, 0);
}

Test(profile_count, nothing_under_the_three)
{
	struct volt_manifest_entry entries[] = { entry("share/y"), entry("etc/qemu.conf") };
	struct volt_manifest m = { .entries = entries, .n_entries = 2 };
	struct volt_file_counts c;

	volt_manifest_count_files(&m, &c);
	cr_expect_eq(c.binaries + c.libraries + c.firmware, 0);
}
