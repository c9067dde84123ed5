// SPDX-License-Identifier: MIT
/*
 * Golden tests for core/render.c: the full text of args, env and unit for
 * each profile and for awkward inputs, written out by hand from the
 * reference's BuildQEMUArgs, EnvVars and SystemdUnitContent (plus SPEC's
 * quoting exception for unit), so that any changed byte fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "support.h"
#include "voltfs/render.h"

enum { ARGS, ENV, UNIT };

/* Render which from in and compare every byte with want. */
static void expect_text(int which, const struct volt_render_input *in, const char *want)
{
	struct volt_text t = { 0 };
	int ret = volt_render_synth(which, in, &t);

	cr_assert_eq(ret, 0, "render %d: %d", which, ret);
	cr_assert_not_null(t.buf);
	cr_expect_eq(t.len, strlen(t.buf), "len %zu, but %zu bytes before the NUL", t.len,
		     strlen(t.buf));
	cr_expect_str_eq(t.buf, want);
	free(t.buf);
}

static void expect_error(int which, const struct volt_render_input *in, int err)
{
	struct volt_text t = { .buf = NULL, .len = 12345 };

	cr_expect_eq(volt_render_synth(which, in, &t), err, "render %d", which);
	cr_expect_null(t.buf);
}

/* What the mount serves by default: name = profile, nothing else set. */
static const struct volt_render_input kvm_linux = {
	.profile = VOLT_PROFILE_KVM_LINUX,
	.name = "kvm-linux",
	.profile_dir = "/mnt/volt/kvm-linux",
};
static const struct volt_render_input kvm_uefi = {
	.profile = VOLT_PROFILE_KVM_UEFI,
	.name = "kvm-uefi",
	.arch = "",
	.profile_dir = "/mnt/volt/kvm-uefi",
	.rootfs = "",
	.kernel = "",
};
static const struct volt_render_input emulate_x86 = {
	.profile = VOLT_PROFILE_EMULATE_X86,
	.name = "emulate-x86",
	.arch = "x86_64",
	.profile_dir = "/mnt/volt/emulate-x86",
};
static const struct volt_render_input emulate_foreign = {
	.profile = VOLT_PROFILE_EMULATE_FOREIGN,
	.name = "emulate-foreign",
	.arch = "aarch64",
	.profile_dir = "/mnt/volt/emulate-foreign",
};

/* args */

Test(render_args, kvm_linux)
{
	expect_text(ARGS, &kvm_linux,
		    "-name\n"
		    "volt-kvm-linux\n"
		    "-machine\n"
		    "q35,accel=kvm\n"
		    "-m\n"
		    "256\n"
		    "-smp\n"
		    "1\n"
		    "-nographic\n"
		    "-no-reboot\n"
		    "-serial\n"
		    "mon:stdio\n"
		    "-net\n"
		    "none\n"
		    "-L\n"
		    "/mnt/volt/kvm-linux/firmware\n"
		    "-cpu\n"
		    "host\n");
}

Test(render_args, kvm_uefi)
{
	expect_text(ARGS, &kvm_uefi,
		    "-name\n"
		    "volt-kvm-uefi\n"
		    "-machine\n"
		    "q35,accel=kvm\n"
		    "-m\n"
		    "256\n"
		    "-smp\n"
		    "1\n"
		    "-nographic\n"
		    "-no-reboot\n"
		    "-serial\n"
		    "mon:stdio\n"
		    "-net\n"
		    "none\n"
		    "-L\n"
		    "/mnt/volt/kvm-uefi/firmware\n"
		    "-cpu\n"
		    "host\n");
}

Test(render_args, emulate_x86)
{
	expect_text(ARGS, &emulate_x86,
		    "-name\n"
		    "volt-emulate-x86\n"
		    "-machine\n"
		    "q35,accel=tcg\n"
		    "-m\n"
		    "256\n"
		    "-smp\n"
		    "1\n"
		    "-nographic\n"
		    "-no-reboot\n"
		    "-serial\n"
		    "mon:stdio\n"
		    "-net\n"
		    "none\n"
		    "-L\n"
		    "/mnt/volt/emulate-x86/firmware\n"
		    "-cpu\n"
		    "qemu64\n");
}

Test(render_args, emulate_foreign)
{
	expect_text(ARGS, &emulate_foreign,
		    "-name\n"
		    "volt-emulate-foreign\n"
		    "-machine\n"
		    "q35,accel=tcg\n"
		    "-m\n"
		    "256\n"
		    "-smp\n"
		    "1\n"
		    "-nographic\n"
		    "-no-reboot\n"
		    "-serial\n"
		    "mon:stdio\n"
		    "-net\n"
		    "none\n"
		    "-L\n"
		    "/mnt/volt/emulate-foreign/firmware\n"
		    "-cpu\n"
		    "qemu64\n");
}

/* BuildQEMUArgs takes no kernel: -kernel appears only in unit. */
Test(render_args, rootfs_memory_cpus_no_kernel)
{
	struct volt_render_input in = kvm_linux;

	in.rootfs = "/var/lib/volt/rootfs/web";
	in.kernel = "/boot/vmlinuz";
	in.memory = 2048;
	in.cpus = 4;
	expect_text(ARGS, &in,
		    "-name\n"
		    "volt-kvm-linux\n"
		    "-machine\n"
		    "q35,accel=kvm\n"
		    "-m\n"
		    "2048\n"
		    "-smp\n"
		    "4\n"
		    "-nographic\n"
		    "-no-reboot\n"
		    "-serial\n"
		    "mon:stdio\n"
		    "-net\n"
		    "none\n"
		    "-L\n"
		    "/mnt/volt/kvm-linux/firmware\n"
		    "-cpu\n"
		    "host\n"
		    "-fsdev\n"
		    "local,id=rootdev,path=/var/lib/volt/rootfs/web,"
		    "security_model=none,readonly=on\n"
		    "-device\n"
		    "virtio-9p-pci,fsdev=rootdev,mount_tag=rootfs\n");
}

/* One argument per line needs no quoting: args stays exactly the reference's. */
Test(render_args, awkward_paths_written_raw)
{
	struct volt_render_input in = emulate_x86;

	in.name = "it's \"x\"";
	in.profile_dir = "/mnt/50%/$HOME/a b\\c";
	in.rootfs = "/srv/a%b$c d";
	expect_text(ARGS, &in,
		    "-name\n"
		    "volt-it's \"x\"\n"
		    "-machine\n"
		    "q35,accel=tcg\n"
		    "-m\n"
		    "256\n"
		    "-smp\n"
		    "1\n"
		    "-nographic\n"
		    "-no-reboot\n"
		    "-serial\n"
		    "mon:stdio\n"
		    "-net\n"
		    "none\n"
		    "-L\n"
		    "/mnt/50%/$HOME/a b\\c/firmware\n"
		    "-cpu\n"
		    "qemu64\n"
		    "-fsdev\n"
		    "local,id=rootdev,path=/srv/a%b$c d,security_model=none,readonly=on\n"
		    "-device\n"
		    "virtio-9p-pci,fsdev=rootdev,mount_tag=rootfs\n");
}

Test(render_args, memory_and_cpus_default_when_not_positive)
{
	static const struct {
		int memory, cpus;
	} cases[] = { { 0, 0 }, { -1, -1 }, { -2048, -4 }, { 0, 1 } };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct volt_render_input in = kvm_linux;

		in.memory = cases[i].memory;
		in.cpus = cases[i].cpus;
		expect_text(ARGS, &in,
			    "-name\n"
			    "volt-kvm-linux\n"
			    "-machine\n"
			    "q35,accel=kvm\n"
			    "-m\n"
			    "256\n"
			    "-smp\n"
			    "1\n"
			    "-nographic\n"
			    "-no-reboot\n"
			    "-serial\n"
			    "mon:stdio\n"
			    "-net\n"
			    "none\n"
			    "-L\n"
			    "/mnt/volt/kvm-linux/firmware\n"
			    "-cpu\n"
			    "host\n");
	}
}

/* filepath.Join in the reference drops trailing slashes of the profile dir. */
Test(render_args, trailing_slash_of_profile_dir)
{
	struct volt_render_input in = kvm_linux;
	struct volt_text a = { 0 }, b = { 0 };

	in.profile_dir = "/mnt/volt/kvm-linux//";
	for (int which = ARGS; which <= UNIT; which++) {
		cr_assert_eq(volt_render_synth(which, &kvm_linux, &a), 0);
		cr_assert_eq(volt_render_synth(which, &in, &b), 0);
		cr_expect_str_eq(b.buf, a.buf);
		free(a.buf);
		free(b.buf);
	}
}

/* env */

Test(render_env, every_profile)
{
	expect_text(ENV, &kvm_linux, "LD_LIBRARY_PATH=/mnt/volt/kvm-linux/lib\n");
	expect_text(ENV, &kvm_uefi, "LD_LIBRARY_PATH=/mnt/volt/kvm-uefi/lib\n");
	expect_text(ENV, &emulate_x86, "LD_LIBRARY_PATH=/mnt/volt/emulate-x86/lib\n");
	expect_text(ENV, &emulate_foreign, "LD_LIBRARY_PATH=/mnt/volt/emulate-foreign/lib\n");
}

Test(render_env, awkward_dir_written_raw)
{
	struct volt_render_input in = kvm_linux;

	in.profile_dir = "/mnt/my volt/50%/$x\\y";
	expect_text(ENV, &in, "LD_LIBRARY_PATH=/mnt/my volt/50%/$x\\y/lib\n");
}

/* unit */

Test(render_unit, kvm_linux)
{
	expect_text(UNIT, &kvm_linux,
		    "[Unit]\n"
		    "Description=Volt VM: kvm-linux (QEMU kvm-linux)\n"
		    "After=network.target\n"
		    "\n"
		    "[Service]\n"
		    "Type=simple\n"
		    "Environment=LD_LIBRARY_PATH=/mnt/volt/kvm-linux/lib\n"
		    "ExecStart=/mnt/volt/kvm-linux/bin/qemu-system-x86_64 \\\n"
		    "-name \\\n"
		    " volt-kvm-linux \\\n"
		    " -machine \\\n"
		    " q35,accel=kvm \\\n"
		    " -m \\\n"
		    " 256 \\\n"
		    " -smp \\\n"
		    " 1 \\\n"
		    " -nographic \\\n"
		    " -no-reboot \\\n"
		    " -serial \\\n"
		    " mon:stdio \\\n"
		    " -net \\\n"
		    " none \\\n"
		    " -L \\\n"
		    " /mnt/volt/kvm-linux/firmware \\\n"
		    " -cpu \\\n"
		    " host\n"
		    "KillMode=mixed\n"
		    "TimeoutStopSec=30\n"
		    "Restart=no\n"
		    "\n"
		    "[Install]\n"
		    "WantedBy=multi-user.target\n");
}

Test(render_unit, kvm_uefi)
{
	expect_text(UNIT, &kvm_uefi,
		    "[Unit]\n"
		    "Description=Volt VM: kvm-uefi (QEMU kvm-uefi)\n"
		    "After=network.target\n"
		    "\n"
		    "[Service]\n"
		    "Type=simple\n"
		    "Environment=LD_LIBRARY_PATH=/mnt/volt/kvm-uefi/lib\n"
		    "ExecStart=/mnt/volt/kvm-uefi/bin/qemu-system-x86_64 \\\n"
		    "-name \\\n"
		    " volt-kvm-uefi \\\n"
		    " -machine \\\n"
		    " q35,accel=kvm \\\n"
		    " -m \\\n"
		    " 256 \\\n"
		    " -smp \\\n"
		    " 1 \\\n"
		    " -nographic \\\n"
		    " -no-reboot \\\n"
		    " -serial \\\n"
		    " mon:stdio \\\n"
		    " -net \\\n"
		    " none \\\n"
		    " -L \\\n"
		    " /mnt/volt/kvm-uefi/firmware \\\n"
		    " -cpu \\\n"
		    " host\n"
		    "KillMode=mixed\n"
		    "TimeoutStopSec=30\n"
		    "Restart=no\n"
		    "\n"
		    "[Install]\n"
		    "WantedBy=multi-user.target\n");
}

Test(render_unit, emulate_x86)
{
	expect_text(UNIT, &emulate_x86,
		    "[Unit]\n"
		    "Description=Volt VM: emulate-x86 (QEMU emulate-x86)\n"
		    "After=network.target\n"
		    "\n"
		    "[Service]\n"
		    "Type=simple\n"
		    "Environment=LD_LIBRARY_PATH=/mnt/volt/emulate-x86/lib\n"
		    "ExecStart=/mnt/volt/emulate-x86/bin/qemu-system-x86_64 \\\n"
		    "-name \\\n"
		    " volt-emulate-x86 \\\n"
		    " -machine \\\n"
		    " q35,accel=tcg \\\n"
		    " -m \\\n"
		    " 256 \\\n"
		    " -smp \\\n"
		    " 1 \\\n"
		    " -nographic \\\n"
		    " -no-reboot \\\n"
		    " -serial \\\n"
		    " mon:stdio \\\n"
		    " -net \\\n"
		    " none \\\n"
		    " -L \\\n"
		    " /mnt/volt/emulate-x86/firmware \\\n"
		    " -cpu \\\n"
		    " qemu64\n"
		    "KillMode=mixed\n"
		    "TimeoutStopSec=30\n"
		    "Restart=no\n"
		    "\n"
		    "[Install]\n"
		    "WantedBy=multi-user.target\n");
}

Test(render_unit, emulate_foreign_aarch64)
{
	expect_text(UNIT, &emulate_foreign,
		    "[Unit]\n"
		    "Description=Volt VM: emulate-foreign (QEMU emulate-foreign)\n"
		    "After=network.target\n"
		    "\n"
		    "[Service]\n"
		    "Type=simple\n"
		    "Environment=LD_LIBRARY_PATH=/mnt/volt/emulate-foreign/lib\n"
		    "ExecStart=/mnt/volt/emulate-foreign/bin/qemu-system-aarch64 \\\n"
		    "-name \\\n"
		    " volt-emulate-foreign \\\n"
		    " -machine \\\n"
		    " q35,accel=tcg \\\n"
		    " -m \\\n"
		    " 256 \\\n"
		    " -smp \\\n"
		    " 1 \\\n"
		    " -nographic \\\n"
		    " -no-reboot \\\n"
		    " -serial \\\n"
		    " mon:stdio \\\n"
		    " -net \\\n"
		    " none \\\n"
		    " -L \\\n"
		    " /mnt/volt/emulate-foreign/firmware \\\n"
		    " -cpu \\\n"
		    " qemu64\n"
		    "KillMode=mixed\n"
		    "TimeoutStopSec=30\n"
		    "Restart=no\n"
		    "\n"
		    "[Install]\n"
		    "WantedBy=multi-user.target\n");
}

/*
 * Rootfs and kernel add their words; only the -append line (it holds
 * spaces) is quoted, so that QEMU receives it as one argument.
 */
Test(render_unit, rootfs_kernel_memory_cpus)
{
	struct volt_render_input in = emulate_foreign;

	in.name = "web";
	in.rootfs = "/var/lib/volt/rootfs/web";
	in.kernel = "/var/lib/volt/kernels/vmlinuz-6.1";
	in.memory = 2048;
	in.cpus = 4;
	expect_text(UNIT, &in,
		    "[Unit]\n"
		    "Description=Volt VM: web (QEMU emulate-foreign)\n"
		    "After=network.target\n"
		    "\n"
		    "[Service]\n"
		    "Type=simple\n"
		    "Environment=LD_LIBRARY_PATH=/mnt/volt/emulate-foreign/lib\n"
		    "ExecStart=/mnt/volt/emulate-foreign/bin/qemu-system-aarch64 \\\n"
		    "-name \\\n"
		    " volt-web \\\n"
		    " -machine \\\n"
		    " q35,accel=tcg \\\n"
		    " -m \\\n"
		    " 2048 \\\n"
		    " -smp \\\n"
		    " 4 \\\n"
		    " -nographic \\\n"
		    " -no-reboot \\\n"
		    " -serial \\\n"
		    " mon:stdio \\\n"
		    " -net \\\n"
		    " none \\\n"
		    " -L \\\n"
		    " /mnt/volt/emulate-foreign/firmware \\\n"
		    " -cpu \\\n"
		    " qemu64 \\\n"
		    " -fsdev \\\n"
		    " local,id=rootdev,path=/var/lib/volt/rootfs/web,"
		    "security_model=none,readonly=on \\\n"
		    " -device \\\n"
		    " virtio-9p-pci,fsdev=rootdev,mount_tag=rootfs \\\n"
		    " -kernel \\\n"
		    " /var/lib/volt/kernels/vmlinuz-6.1 \\\n"
		    " -append \\\n"
		    " \"root=rootfs rootfstype=9p rootflags=trans=virtio,version=9p2000.L "
		    "console=ttyS0 panic=1\"\n"
		    "KillMode=mixed\n"
		    "TimeoutStopSec=30\n"
		    "Restart=no\n"
		    "\n"
		    "[Install]\n"
		    "WantedBy=multi-user.target\n");
}

/* Kernel without rootfs: the reference adds -kernel/-append all the same. */
Test(render_unit, kernel_without_rootfs)
{
	struct volt_render_input in = kvm_linux;

	in.kernel = "/boot/vmlinuz";
	expect_text(UNIT, &in,
		    "[Unit]\n"
		    "Description=Volt VM: kvm-linux (QEMU kvm-linux)\n"
		    "After=network.target\n"
		    "\n"
		    "[Service]\n"
		    "Type=simple\n"
		    "Environment=LD_LIBRARY_PATH=/mnt/volt/kvm-linux/lib\n"
		    "ExecStart=/mnt/volt/kvm-linux/bin/qemu-system-x86_64 \\\n"
		    "-name \\\n"
		    " volt-kvm-linux \\\n"
		    " -machine \\\n"
		    " q35,accel=kvm \\\n"
		    " -m \\\n"
		    " 256 \\\n"
		    " -smp \\\n"
		    " 1 \\\n"
		    " -nographic \\\n"
		    " -no-reboot \\\n"
		    " -serial \\\n"
		    " mon:stdio \\\n"
		    " -net \\\n"
		    " none \\\n"
		    " -L \\\n"
		    " /mnt/volt/kvm-linux/firmware \\\n"
		    " -cpu \\\n"
		    " host \\\n"
		    " -kernel \\\n"
		    " /boot/vmlinuz \\\n"
		    " -append \\\n"
		    " \"root=rootfs rootfstype=9p rootflags=trans=virtio,version=9p2000.L "
		    "console=ttyS0 panic=1\"\n"
		    "KillMode=mixed\n"
		    "TimeoutStopSec=30\n"
		    "Restart=no\n"
		    "\n"
		    "[Install]\n"
		    "WantedBy=multi-user.target\n");
}

/* Whitespace in a path: the word is quoted, in Environment= too. */
Test(render_unit, path_with_space)
{
	struct volt_render_input in = kvm_uefi;

	in.profile_dir = "/mnt/my volt/kvm-uefi";
	in.rootfs = "/srv/root fs";
	in.kernel = "/boot/vm\tlinuz";
	in.memory = 2048;
	in.cpus = 4;
	expect_text(UNIT, &in,
		    "[Unit]\n"
		    "Description=Volt VM: kvm-uefi (QEMU kvm-uefi)\n"
		    "After=network.target\n"
		    "\n"
		    "[Service]\n"
		    "Type=simple\n"
		    "Environment=\"LD_LIBRARY_PATH=/mnt/my volt/kvm-uefi/lib\"\n"
		    "ExecStart=\"/mnt/my volt/kvm-uefi/bin/qemu-system-x86_64\" \\\n"
		    "-name \\\n"
		    " volt-kvm-uefi \\\n"
		    " -machine \\\n"
		    " q35,accel=kvm \\\n"
		    " -m \\\n"
		    " 2048 \\\n"
		    " -smp \\\n"
		    " 4 \\\n"
		    " -nographic \\\n"
		    " -no-reboot \\\n"
		    " -serial \\\n"
		    " mon:stdio \\\n"
		    " -net \\\n"
		    " none \\\n"
		    " -L \\\n"
		    " \"/mnt/my volt/kvm-uefi/firmware\" \\\n"
		    " -cpu \\\n"
		    " host \\\n"
		    " -fsdev \\\n"
		    " \"local,id=rootdev,path=/srv/root fs,security_model=none,readonly=on\" \\\n"
		    " -device \\\n"
		    " virtio-9p-pci,fsdev=rootdev,mount_tag=rootfs \\\n"
		    " -kernel \\\n"
		    " \"/boot/vm\tlinuz\" \\\n"
		    " -append \\\n"
		    " \"root=rootfs rootfstype=9p rootflags=trans=virtio,version=9p2000.L "
		    "console=ttyS0 panic=1\"\n"
		    "KillMode=mixed\n"
		    "TimeoutStopSec=30\n"
		    "Restart=no\n"
		    "\n"
		    "[Install]\n"
		    "WantedBy=multi-user.target\n");
}

/*
 * % and $ with no whitespace: no quotes, % doubled everywhere, $ doubled in
 * the arguments of ExecStart= only: systemd expands no $ in Environment=
 * nor in the executable path, which it runs as written. It does expand
 * argv[0], so a path with a $ comes as "@PATH ARGV0", argv[0] with $$.
 */
Test(render_unit, path_with_percent_and_dollar)
{
	struct volt_render_input in = emulate_x86;

	in.profile_dir = "/mnt/50%/$HOME/emulate-x86";
	in.rootfs = "/srv/a%b$c";
	in.kernel = "/boot/k${1}%n";
	expect_text(UNIT, &in,
		    "[Unit]\n"
		    "Description=Volt VM: emulate-x86 (QEMU emulate-x86)\n"
		    "After=network.target\n"
		    "\n"
		    "[Service]\n"
		    "Type=simple\n"
		    "Environment=LD_LIBRARY_PATH=/mnt/50%%/$HOME/emulate-x86/lib\n"
		    "ExecStart=@/mnt/50%%/$HOME/emulate-x86/bin/qemu-system-x86_64 "
		    "/mnt/50%%/$$HOME/emulate-x86/bin/qemu-system-x86_64 \\\n"
		    "-name \\\n"
		    " volt-emulate-x86 \\\n"
		    " -machine \\\n"
		    " q35,accel=tcg \\\n"
		    " -m \\\n"
		    " 256 \\\n"
		    " -smp \\\n"
		    " 1 \\\n"
		    " -nographic \\\n"
		    " -no-reboot \\\n"
		    " -serial \\\n"
		    " mon:stdio \\\n"
		    " -net \\\n"
		    " none \\\n"
		    " -L \\\n"
		    " /mnt/50%%/$$HOME/emulate-x86/firmware \\\n"
		    " -cpu \\\n"
		    " qemu64 \\\n"
		    " -fsdev \\\n"
		    " local,id=rootdev,path=/srv/a%%b$$c,security_model=none,readonly=on \\\n"
		    " -device \\\n"
		    " virtio-9p-pci,fsdev=rootdev,mount_tag=rootfs \\\n"
		    " -kernel \\\n"
		    " /boot/k$${1}%%n \\\n"
		    " -append \\\n"
		    " \"root=rootfs rootfstype=9p rootflags=trans=virtio,version=9p2000.L "
		    "console=ttyS0 panic=1\"\n"
		    "KillMode=mixed\n"
		    "TimeoutStopSec=30\n"
		    "Restart=no\n"
		    "\n"
		    "[Install]\n"
		    "WantedBy=multi-user.target\n");
}

/*
 * Quotes and backslashes force quoting, with \\ and " escaped inside; a
 * leading # would make the line a comment. Description keeps the name raw,
 * as the reference writes it. (The executable path may hold neither quotes
 * nor backslashes: render_invalid.)
 */
Test(render_unit, quotes_backslash_and_comment_char)
{
	struct volt_render_input in = emulate_foreign;

	in.name = "it's";
	in.arch = "riscv64";
	in.profile_dir = "/opt/a b %c";
	in.rootfs = "/srv/say \"hi\" a\\b";
	in.kernel = "#vmlinuz";
	expect_text(UNIT, &in,
		    "[Unit]\n"
		    "Description=Volt VM: it's (QEMU emulate-foreign)\n"
		    "After=network.target\n"
		    "\n"
		    "[Service]\n"
		    "Type=simple\n"
		    "Environment=\"LD_LIBRARY_PATH=/opt/a b %%c/lib\"\n"
		    "ExecStart=\"/opt/a b %%c/bin/qemu-system-riscv64\" \\\n"
		    "-name \\\n"
		    " \"volt-it's\" \\\n"
		    " -machine \\\n"
		    " q35,accel=tcg \\\n"
		    " -m \\\n"
		    " 256 \\\n"
		    " -smp \\\n"
		    " 1 \\\n"
		    " -nographic \\\n"
		    " -no-reboot \\\n"
		    " -serial \\\n"
		    " mon:stdio \\\n"
		    " -net \\\n"
		    " none \\\n"
		    " -L \\\n"
		    " \"/opt/a b %%c/firmware\" \\\n"
		    " -cpu \\\n"
		    " qemu64 \\\n"
		    " -fsdev \\\n"
		    " \"local,id=rootdev,path=/srv/say \\\"hi\\\" a\\\\b,"
		    "security_model=none,readonly=on\" \\\n"
		    " -device \\\n"
		    " virtio-9p-pci,fsdev=rootdev,mount_tag=rootfs \\\n"
		    " -kernel \\\n"
		    " \"#vmlinuz\" \\\n"
		    " -append \\\n"
		    " \"root=rootfs rootfstype=9p rootflags=trans=virtio,version=9p2000.L "
		    "console=ttyS0 panic=1\"\n"
		    "KillMode=mixed\n"
		    "TimeoutStopSec=30\n"
		    "Restart=no\n"
		    "\n"
		    "[Install]\n"
		    "WantedBy=multi-user.target\n");
}

/* Spaces and a $ in the path: "@PATH ARGV0", each word quoted. */
Test(render_unit, dollar_and_space_in_the_path)
{
	struct volt_render_input in = kvm_linux;
	struct volt_text t = { 0 };

	in.profile_dir = "/mnt/a $b/kvm-linux";
	cr_assert_eq(volt_render_unit(&in, &t), 0);
	cr_expect_not_null(strstr(t.buf, "\nExecStart=\"@/mnt/a "
					 "$b/kvm-linux/bin/qemu-system-x86_64\" "
					 "\"/mnt/a $$b/kvm-linux/bin/qemu-system-x86_64\" "
					 "\\\n-name"),
			   "%s", t.buf);
	cr_expect_not_null(strstr(t.buf, "\nEnvironment=\"LD_LIBRARY_PATH=/mnt/a "
					 "$b/kvm-linux/lib\"\n"),
			   "%s", t.buf);
	free(t.buf);
}

/* A lone ; would end the command and a leading ; make a comment line. */
Test(render_unit, semicolon_word_is_quoted)
{
	struct volt_render_input in = kvm_linux;
	struct volt_text t = { 0 };

	in.kernel = ";";
	cr_assert_eq(volt_render_unit(&in, &t), 0);
	cr_expect_not_null(strstr(t.buf, " -kernel \\\n \";\" \\\n -append \\\n"), "%s", t.buf);
	free(t.buf);
}

Test(render_unit, memory_and_cpus_default_when_not_positive)
{
	struct volt_render_input in = kvm_linux;
	struct volt_text a = { 0 }, b = { 0 };

	in.memory = -1;
	in.cpus = 0;
	cr_assert_eq(volt_render_unit(&kvm_linux, &a), 0);
	cr_assert_eq(volt_render_unit(&in, &b), 0);
	cr_expect_str_eq(b.buf, a.buf);
	cr_expect_not_null(strstr(b.buf, " -m \\\n 256 \\\n -smp \\\n 1 \\\n"));
	free(a.buf);
	free(b.buf);
}

/* volt_render_synth is the three renderers by index, and nothing else. */
Test(render_synth, dispatch)
{
	int (*const fns[])(const struct volt_render_input *, struct volt_text *) = {
		volt_render_args,
		volt_render_env,
		volt_render_unit,
	};

	for (int which = 0; which < 3; which++) {
		struct volt_text a = { 0 }, b = { 0 };

		cr_assert_eq(volt_render_synth(which, &emulate_foreign, &a), 0);
		cr_assert_eq(fns[which](&emulate_foreign, &b), 0);
		cr_expect_eq(a.len, b.len);
		cr_expect_str_eq(a.buf, b.buf);
		free(a.buf);
		free(b.buf);
	}
	expect_error(-1, &kvm_linux, -EINVAL);
	expect_error(3, &kvm_linux, -EINVAL);
	expect_error(1000, &kvm_linux, -EINVAL);
}

/* invalid input */

Test(render_invalid, null_or_bad_fields)
{
	for (int which = ARGS; which <= UNIT; which++) {
		struct volt_render_input in;

		expect_error(which, NULL, -EINVAL);

		in = kvm_linux;
		in.profile = VOLT_PROFILE_INVALID;
		expect_error(which, &in, -EINVAL);
		in.profile = VOLT_PROFILE_COUNT;
		expect_error(which, &in, -EINVAL);

		in = kvm_linux;
		in.name = NULL;
		expect_error(which, &in, -EINVAL);

		in = kvm_linux;
		in.profile_dir = NULL;
		expect_error(which, &in, -EINVAL);
	}
}

/* A newline anywhere would add lines of the renderer's choosing: refused. */
Test(render_invalid, newline_in_any_string)
{
	for (int which = ARGS; which <= UNIT; which++) {
		struct volt_render_input in;

		in = kvm_linux;
		in.name = "x\nExecStartPre=/bin/sh";
		expect_error(which, &in, -EINVAL);

		in = kvm_linux;
		in.profile_dir = "/mnt/volt\n/kvm-linux";
		expect_error(which, &in, -EINVAL);

		in = kvm_linux;
		in.rootfs = "/srv/root\n";
		expect_error(which, &in, -EINVAL);

		in = kvm_linux;
		in.kernel = "\n/boot/vmlinuz";
		expect_error(which, &in, -EINVAL);

		in = kvm_linux;
		in.arch = "x86_64\n";
		expect_error(which, &in, -EINVAL);
	}
}

/* qemu-system-<arch> must fit in a file name. */
Test(render_invalid, arch_too_long_for_a_file_name)
{
	char arch[300];
	struct volt_render_input in = emulate_foreign;

	memset(arch, 'a', sizeof(arch) - 1);
	arch[sizeof(arch) - 1] = '\0';
	in.arch = arch;
	expect_error(UNIT, &in, -EINVAL);
}

/*
 * What systemd refuses in ExecStart='s executable path (which the profile
 * folder starts), checked with systemd-analyze below: unit is refused, args
 * and env (no systemd there) are not; volt_render_check_mountpoint says why.
 */
Test(render_invalid, what_systemd_refuses_in_the_executable_path)
{
	static const char *const dirs[] = {
		"/mnt/q\"x/kvm-linux",		 "/mnt/s'x/kvm-linux",
		"/mnt/b\\s/kvm-linux",		 "/mnt/t\tx/kvm-linux",
		"/mnt/c\001x/kvm-linux",	 "/mnt/d\177x/kvm-linux",
		"/mnt/cr\rx/kvm-linux",		 "/mnt/u\377x/kvm-linux",
		"/mnt/o\300\200x/kvm-linux",	 "/mnt/s\355\240\200x/kvm-linux",
		"/mnt/n\357\277\276x/kvm-linux",
	};

	for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
		struct volt_render_input in = kvm_linux;
		struct volt_text t = { 0 };
		const char *why = NULL;

		in.profile_dir = dirs[i];
		expect_error(UNIT, &in, -EINVAL);
		cr_expect_eq(volt_render_synth(ARGS, &in, &t), 0, "args of %s", dirs[i]);
		free(t.buf);
		cr_expect_eq(volt_render_synth(ENV, &in, &t), 0, "env of %s", dirs[i]);
		free(t.buf);
		cr_expect_eq(volt_render_check_mountpoint(dirs[i], &why), -EINVAL, "%s", dirs[i]);
		cr_expect_not_null(why, "%s", dirs[i]);
		/* The arch is in the path too. */
		in = emulate_foreign;
		in.arch = dirs[i] + strlen("/mnt/");
		expect_error(UNIT, &in, -EINVAL);
	}
}

/*
 * An argument that is not UTF-8, or holds \r, costs the whole ExecStart= line
 * (systemd-analyze: "String is not UTF-8 clean, ignoring assignment", also for
 * noncharacters and surrogates).
 */
Test(render_invalid, what_systemd_refuses_in_an_argument)
{
	static const char *const args[] = { "/srv/\377", "/srv/a\rb", "/srv/\300\257",
					    "/srv/\357\267\220",
					    /* U+FDE0 and U+FFFE, noncharacters; a surrogate */
					    "/srv/\357\267\240", "/srv/\357\277\276",
					    "/srv/\355\240\200" };

	for (size_t i = 0; i < sizeof(args) / sizeof(*args); i++) {
		struct volt_render_input in = kvm_linux;
		const char *why = NULL;

		in.rootfs = args[i];
		expect_error(UNIT, &in, -EINVAL);
		in = kvm_linux;
		in.kernel = args[i];
		expect_error(UNIT, &in, -EINVAL);
		cr_expect_eq(volt_render_check_arg(args[i], &why), -EINVAL, "%s", args[i]);
		cr_expect_not_null(why);
	}
}

/* What systemd takes: quotes, tabs, %, $ in arguments; UTF-8; a path of PATH_MAX - 1. */
Test(render_invalid, what_systemd_takes)
{
	static const char *const fine[] = { "/srv/\"q\" 'x' \\b\tt%$;#", "/srv/\303\251t\303\251",
					    "/srv/\360\237\220\247", "" };
	char dir[PATH_MAX], *end;
	const char *why = "unset";
	struct volt_render_input in = kvm_linux;
	struct volt_text t = { 0 };

	for (size_t i = 0; i < sizeof(fine) / sizeof(*fine); i++) {
		cr_expect_eq(volt_render_check_arg(fine[i], &why), 0, "%s: %s", fine[i], why);
		in.rootfs = in.kernel = fine[i];
		cr_expect_eq(volt_render_unit(&in, &t), 0, "%s", fine[i]);
		free(t.buf);
	}
	cr_expect_eq(volt_render_check_mountpoint("/mnt/\303\251 50% $x;#", &why), 0, "%s", why);
	cr_expect_eq(volt_render_check_arg(NULL, &why), 0);
	/* <dir>/bin/qemu-system-x86_64 exactly PATH_MAX - 1 bytes long, then one more. */
	in = kvm_linux;
	memset(dir, 'd', sizeof(dir));
	dir[0] = '/';
	for (size_t i = 200; i < sizeof(dir); i += 200)
		dir[i] = '/';
	end = dir + PATH_MAX - 1 - strlen("/bin/qemu-system-x86_64");
	*end = '\0';
	in.profile_dir = dir;
	cr_expect_eq(volt_render_unit(&in, &t), 0);
	free(t.buf);
	end[0] = 'd';
	end[1] = '\0';
	expect_error(UNIT, &in, -EINVAL);
	/* A mount point leaves room for "/<longest profile>@<id>/bin/<NAME_MAX>", then no more. */
	end = dir + PATH_MAX - 1 - (1 + strlen("emulate-foreign@12345678/bin/") + 255);
	*end = '\0';
	cr_expect_eq(volt_render_check_mountpoint(dir, &why), 0, "%s", why);
	end[0] = 'd';
	end[1] = '\0';
	cr_expect_eq(volt_render_check_mountpoint(dir, &why), -EINVAL);
}

/* ---- systemd itself ----------------------------------------------------- */

/*
 * Mount points a user might pick, and some that systemd cannot take. For each,
 * either volt_render_check_mountpoint refuses it, voltfs refuses to start on
 * it with that reason, and systemd-analyze refuses a unit that runs a file
 * under it; or the unit renders, systemd-analyze verify takes it (it also
 * checks that the executable is there, so it read the path right), and what
 * systemd read (`systemd --test` dumps it) is every word of argv and
 * Environment= as they must be once it expands $$ at start.
 */
static const char *const hostile[] = {
	"a b",	"50%", "100%%", "$HOME", "${x}y",  "x$$y",
	"a;b",	"#c",  ";",	" lead", "tail ",  "\303\251t\303\251",
	"q\"x", "s'x", "b\\s",	"t\tx",	 "c\001x", "u\377x",
	"e\\",	"%n",
};
#define N_HOSTILE (sizeof(hostile) / sizeof(*hostile))

/* voltfs -f CAS MNT: its exit status and what it printed (malloc'ed). */
static int voltfs_start(const char *cas, const char *mnt, char **out)
{
	char *log = vt_join(cas, "../start.log");
	int status, fd;
	pid_t pid = fork();

	cr_assert(pid >= 0);
	if (pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(VOLTFS_BIN, "voltfs", "-f", cas, mnt, (char *)NULL);
		_exit(127);
	}
	/* Until it exits, or mounts: a voltfs that took the mount point serves; stop it then. */
	for (int i = 0; waitpid(pid, &status, WNOHANG) == 0; i++) {
		struct statfs sf;

		if (i == 2000 || (statfs(mnt, &sf) == 0 && sf.f_type == 0x65735546)) {
			kill(pid, SIGTERM);
			waitpid(pid, &status, 0);
			status = 0x7f00; /* exit 127: it started */
			break;
		}
		nanosleep(&(struct timespec){ 0, 5 * 1000 * 1000 }, NULL);
	}
	*out = vt_read_file(log, NULL);
	cr_assert_not_null(*out);
	free(log);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* s in double quotes with \ and " escaped, % doubled: as a unit file would hold it. */
static char *quoted(const char *s)
{
	char *q = malloc(2 * strlen(s) + 3), *p = q;

	*p++ = '"';
	for (; *s; s++) {
		if (*s == '\\' || *s == '"' || *s == '%')
			*p++ = *s == '%' ? '%' : '\\';
		*p++ = *s;
	}
	*p++ = '"';
	*p = '\0';
	return q;
}

/* The words of a dumped "Command Line:" (systemd's quote_command_line), NULL-ended. */
static char **dumped_words(const char *line)
{
	char **w = calloc(strlen(line) + 2, sizeof(*w));
	size_t n = 0;

	while (*line) {
		char *word = malloc(strlen(line) + 1), *o = word;
		bool q = false;

		for (; *line && (q || *line != ' '); line++) {
			if (*line == '"') {
				q = !q;
			} else if (q && *line == '\\' && line[1]) {
				char c = *++line;

				if (c == 'n' || c == 't')
					*o++ = c == 'n' ? '\n' : '\t';
				else if (c >= '0' && c <= '7') {
					int v = 0;

					for (int k = 0; k < 3 && *line >= '0' && *line <= '7'; k++)
						v = v * 8 + (*line++ - '0');
					line--;
					*o++ = (char)v;
				} else
					*o++ = c;
			} else {
				*o++ = *line;
			}
		}
		*o = '\0';
		w[n++] = word;
		if (*line == ' ')
			line++;
	}
	return w;
}

/* What the program gets once systemd expands variables at start: $$ is $, a lone $ is wrong. */
static char *expanded(const char *w)
{
	char *e = malloc(strlen(w) + 1), *o = e;

	for (; *w; w++) {
		if (*w == '$' && *++w != '$') {
			free(e);
			return NULL;
		}
		*o++ = *w;
	}
	*o = '\0';
	return e;
}

/* The line after "Key: " inside the dump's block of unit (malloc'ed), or NULL. */
static char *dump_field(const char *dump, const char *unit, const char *key)
{
	char *head, *block, *end, *at, *eol, *val = NULL;

	cr_assert(asprintf(&head, "-> Unit %s:\n", unit) > 0);
	block = strstr(dump, head);
	free(head);
	if (!block)
		return NULL;
	end = strstr(block + 8, "-> Unit ");
	for (at = strstr(block, key); at && (!end || at < end); at = strstr(at + 1, key)) {
		if (at[-1] != '\t')
			continue;
		at += strlen(key);
		eol = strchr(at, '\n');
		val = strndup(at, eol ? (size_t)(eol - at) : strlen(at));
		break;
	}
	return val;
}

static bool have(const char *path)
{
	return access(path, X_OK) == 0;
}

/* Every argv word systemd will hand QEMU: the binary, args' lines, the kernel's words. */
static char **expected_argv(const struct volt_render_input *in, const char *binary)
{
	struct volt_text t = { 0 };
	char **w, *p;
	size_t n = 0;

	cr_assert_eq(volt_render_args(in, &t), 0);
	w = calloc(t.len + 8, sizeof(*w));
	w[n++] = strdup(binary);
	for (p = t.buf; *p;) {
		char *nl = strchr(p, '\n');

		w[n++] = strndup(p, (size_t)(nl - p));
		p = nl + 1;
	}
	w[n++] = strdup("-kernel");
	w[n++] = strdup(in->kernel);
	w[n++] = strdup("-append");
	w[n++] = strdup("root=rootfs rootfstype=9p rootflags=trans=virtio,version=9p2000.L "
			"console=ttyS0 panic=1");
	free(t.buf);
	return w;
}

static void words_free(char **w)
{
	for (size_t i = 0; w && w[i]; i++)
		free(w[i]);
	free(w);
}

Test(render_systemd, hostile_mount_points, .timeout = 180)
{
	char *dir = vt_tmpdir(), *cas = vt_join(dir, "cas"), *units = vt_join(dir, "units");
	char *mnt[N_HOSTILE] = { 0 }, *pdir[N_HOSTILE] = { 0 }, *rootfs[N_HOSTILE] = { 0 };
	char *kernel[N_HOSTILE] = { 0 }, *files = strdup(""), *wants = strdup(""), *cmd, *out;
	bool taken[N_HOSTILE] = { 0 };
	size_t n_taken = 0, n_refused = 0;
	bool dump = have("/lib/systemd/systemd") && have("/usr/bin/setpriv") &&
		    getpwnam("nobody") && geteuid() == 0;

	if (!have("/usr/bin/systemd-analyze") && !have("/bin/systemd-analyze"))
		cr_skip_test("no systemd-analyze here");
	cr_assert_eq(chmod(dir, 0755), 0); /* nobody reads the units (systemd --test) */
	vt_cas_init(cas);
	mkdir(units, 0755);
	for (size_t i = 0; i < N_HOSTILE; i++) {
		struct volt_render_input in = emulate_x86;
		const char *why = NULL;
		struct volt_text t = { 0 };
		char *file, *bin, *service, *msg;
		int st;

		mnt[i] = vt_join(dir, hostile[i]);
		cr_assert_eq(mkdir(mnt[i], 0755), 0, "%s: %s", mnt[i], strerror(errno));
		if (volt_render_check_mountpoint(mnt[i], &why) < 0) {
			/* Refused at start, saying why; and systemd does refuse such a path. */
			st = voltfs_start(cas, mnt[i], &out);
			cr_assert(asprintf(&msg, "the mount point cannot go into the unit: %s",
					   why) > 0);
			cr_expect_eq(st, 1, "voltfs on '%s': exit %d: %s", mnt[i], st, out);
			cr_expect_not_null(strstr(out, msg), "voltfs on '%s' said: %s", mnt[i],
					   out);
			free(msg);
			free(out);
			bin = vt_join(mnt[i], "q");
			vt_write_file(bin, "#!/bin/sh\n", 10, 0755);
			file = quoted(bin);
			cr_assert(asprintf(&service, "%s/refused-%zu.service", units, i) > 0);
			cr_assert(asprintf(&msg, "[Service]\nExecStart=%s\n", file) > 0);
			vt_write_str(service, msg);
			cr_assert(asprintf(&cmd, "systemd-analyze verify '%s' 2>&1", service) > 0);
			st = vt_run(cmd, &out);
			cr_expect(st != 0 && strstr(out, service),
				  "systemd took ExecStart=%s, which voltfs refuses: %s", file, out);
			unlink(service);
			free(out);
			free(cmd);
			free(msg);
			free(service);
			free(file);
			free(bin);
			n_refused++;
			continue;
		}
		/* A rootfs and a kernel with the same name: arguments, which take more. */
		cr_assert(asprintf(&rootfs[i], "/srv/%s", hostile[i]) > 0);
		cr_assert(asprintf(&kernel[i], "/boot/%s", hostile[i]) > 0);
		cr_assert_eq(volt_render_check_arg(rootfs[i], &why), 0, "%s: %s", rootfs[i], why);
		pdir[i] = vt_join(mnt[i], "emulate-x86");
		bin = vt_join(pdir[i], "bin/qemu-system-x86_64");
		vt_write_file(bin, "#!/bin/sh\n", 10, 0755);
		in.profile_dir = pdir[i];
		in.rootfs = rootfs[i];
		in.kernel = kernel[i];
		cr_assert_eq(volt_render_unit(&in, &t), 0, "%s", pdir[i]);
		cr_assert(asprintf(&service, "%s/volt-%zu.service", units, i) > 0);
		vt_write_str(service, t.buf);
		free(t.buf);
		cr_assert(asprintf(&cmd, "%s '%s'", files, service) > 0);
		free(files);
		files = cmd;
		cr_assert(asprintf(&cmd, "%s volt-%zu.service", wants, i) > 0);
		free(wants);
		wants = cmd;
		taken[i] = true;
		n_taken++;
		free(service);
		free(bin);
	}
	cr_assert_gt(n_taken, 5);
	cr_assert_gt(n_refused, 5);

	/* systemd-analyze verify: every unit loads, none draws a complaint. */
	cr_assert(asprintf(&cmd, "systemd-analyze verify %s 2>&1", files) > 0);
	cr_expect_eq(vt_run(cmd, &out), 0, "systemd-analyze refused:\n%s", out);
	cr_expect_null(strstr(out, units), "systemd-analyze complained:\n%s", out);
	free(out);
	free(cmd);

	/* What systemd read: one `systemd --test` run loads them all through a target. */
	if (!dump) {
		cr_log_warn("no /lib/systemd/systemd, setpriv or nobody: what systemd read "
			    "unchecked");
	} else {
		cr_assert(asprintf(&cmd, "%s/all.target", units) > 0);
		cr_assert(asprintf(&out, "[Unit]\nWants=%s\n", wants) > 0);
		vt_write_str(cmd, out);
		free(out);
		free(cmd);
		cr_assert(asprintf(&cmd,
				   "SYSTEMD_UNIT_PATH='%s': setpriv --reuid=nobody --regid=nogroup "
				   "--clear-groups /lib/systemd/systemd --test --system "
				   "--unit=all.target --no-pager 2>/dev/null",
				   units) > 0);
		vt_run(cmd, &out);
		free(cmd);
		for (size_t i = 0; i < N_HOSTILE; i++) {
			struct volt_render_input in = emulate_x86;
			char unit[64], *line, *env, *want, *bin, **got, **argv;
			size_t k;

			if (!taken[i])
				continue;
			snprintf(unit, sizeof(unit), "volt-%zu.service", i);
			line = dump_field(out, unit, "Command Line: ");
			cr_assert_not_null(line, "systemd read no ExecStart= in %s ('%s')", unit,
					   hostile[i]);
			in.profile_dir = pdir[i];
			in.rootfs = rootfs[i];
			in.kernel = kernel[i];
			bin = vt_join(pdir[i], "bin/qemu-system-x86_64");
			argv = expected_argv(&in, bin);
			got = dumped_words(line);
			for (k = 0; argv[k] && got[k]; k++) {
				char *e = expanded(got[k]);

				cr_expect(e && strcmp(e, argv[k]) == 0,
					  "'%s': argv[%zu] reads '%s' (dumped '%s'), want '%s'",
					  hostile[i], k, e ? e : "(a lone $)", got[k], argv[k]);
				free(e);
			}
			cr_expect(!argv[k] && !got[k], "'%s': %zu words, not as many as QEMU's: %s",
				  hostile[i], k, line);
			env = dump_field(out, unit, "Environment: ");
			cr_assert(asprintf(&want, "LD_LIBRARY_PATH=%s/lib", pdir[i]) > 0);
			cr_expect(env && strcmp(env, want) == 0, "'%s': Environment: %s, want %s",
				  hostile[i], env ? env : "(none)", want);
			free(want);
			free(env);
			words_free(got);
			words_free(argv);
			free(bin);
			free(line);
		}
		free(out);
	}
	for (size_t i = 0; i < N_HOSTILE; i++) {
		free(mnt[i]);
		free(pdir[i]);
		free(rootfs[i]);
		free(kernel[i]);
	}
	free(files);
	free(wants);
	vt_rmtree(dir);
	free(units);
	free(cas);
	free(dir);
}
