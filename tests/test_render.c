// SPDX-License-Identifier: MIT
/*
 * Golden tests for core/render.c: the full text of args, env and unit for
 * each profile and for awkward inputs, written out by hand from the
 * reference's BuildQEMUArgs, EnvVars and SystemdUnitContent (plus SPEC's
 * quoting exception for unit), so that any changed byte fails.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

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
 * nor in the executable path, which it runs as written.
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
		    "ExecStart=/mnt/50%%/$HOME/emulate-x86/bin/qemu-system-x86_64 \\\n"
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
 * Quotes and backslashes force quoting, with \ and " escaped inside; a
 * leading # would make the line a comment. Description keeps the name raw,
 * as the reference writes it.
 */
Test(render_unit, quotes_backslash_and_comment_char)
{
	struct volt_render_input in = emulate_foreign;

	in.name = "it's";
	in.arch = "riscv64";
	in.profile_dir = "/opt/a\\b %c$d";
	in.rootfs = "/srv/say \"hi\"";
	in.kernel = "#vmlinuz";
	expect_text(UNIT, &in,
		    "[Unit]\n"
		    "Description=Volt VM: it's (QEMU emulate-foreign)\n"
		    "After=network.target\n"
		    "\n"
		    "[Service]\n"
		    "Type=simple\n"
		    "Environment=\"LD_LIBRARY_PATH=/opt/a\\\\b %%c$d/lib\"\n"
		    "ExecStart=\"/opt/a\\\\b %%c$d/bin/qemu-system-riscv64\" \\\n"
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
		    " \"/opt/a\\\\b %%c$$d/firmware\" \\\n"
		    " -cpu \\\n"
		    " qemu64 \\\n"
		    " -fsdev \\\n"
		    " \"local,id=rootdev,path=/srv/say \\\"hi\\\","
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
