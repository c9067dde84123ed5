#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_package: the Debian package as an operator meets it. cpack makes the .deb,
# dpkg installs it; every file is in place; the installed voltfs and volt-cas run;
# the store mounts with `mount -t fuse.voltfs` and from an fstab line (util-linux's
# --fstab, so /etc/fstab is never touched) through mount.fuse3 and the installed
# daemon, for other users too (allow_other), and unmounts with umount; dpkg -r
# leaves nothing behind. Needs root and dpkg (else exit 77, ctest's skip); without
# a usable /dev/fuse the mount part is skipped and so is the test.
set -euo pipefail

usage()
{
	echo "usage: test_package.sh BUILD_DIR [CPACK]" >&2
	exit 2
}

build=${1:-}
cpack=${2:-cpack}
[[ -n $build && -f $build/CPackConfig.cmake ]] || usage

if ((EUID != 0)); then
	echo "test_package: skipped: needs root (dpkg -i, mount)"
	exit 77
fi
if ! command -v dpkg >/dev/null || ! command -v dpkg-deb >/dev/null; then
	echo "test_package: skipped: no dpkg"
	exit 77
fi

pkg=voltfs
tmp=
mnt=
installed=0

fail()
{
	echo "test_package: FAIL: $*" >&2
	exit 1
}

# The pids of voltfs daemons serving $1 (by mount point on their command line).
daemons_of()
{
	local p
	for p in /proc/[0-9]*; do
		[[ $(readlink "$p/exe" 2>/dev/null) == */voltfs* ]] || continue
		tr '\0' '\n' <"$p/cmdline" 2>/dev/null | grep -qxF -- "$1" && echo "${p#/proc/}"
	done
	return 0
}

cleanup()
{
	local status=$?

	if [[ -n $mnt ]] && mountpoint -q "$mnt"; then
		umount -l "$mnt" || true
	fi
	if ((installed)); then
		dpkg -P "$pkg" >/dev/null 2>&1 || echo "test_package: could not purge $pkg" >&2
	fi
	[[ -n $tmp ]] && rm -rf -- "$tmp"
	exit "$status"
}
trap cleanup EXIT

# One package database: runs of this test in several build folders take turns.
exec 9>/run/lock/voltfs-test_package.lock
flock -w 600 9 || fail "another test_package holds /run/lock/voltfs-test_package.lock"

# not-installed, config-files, unpacked, installed, ... or "" when dpkg never saw it.
pkg_status()
{
	dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true
}

# Never clobber an operator's voltfs.
case $(pkg_status) in
"" | not-installed | config-files) ;;
*) fail "a $pkg package is installed already; remove it (dpkg -P $pkg) to run this test" ;;
esac

tmp=$(mktemp -d /tmp/voltfs-package-XXXXXX)
chmod 755 "$tmp" # the allow_other check reads the mount as nobody

echo "==> cpack -G DEB"
"$cpack" -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/pkg" >"$tmp/cpack.log" 2>&1 ||
	{ cat "$tmp/cpack.log"; fail "cpack"; }
debs=("$tmp"/pkg/*.deb)
[[ ${#debs[@]} == 1 && -f ${debs[0]} ]] || fail "cpack made no single .deb"
deb=${debs[0]}
version=$(dpkg-deb -f "$deb" Version)
depends=$(dpkg-deb -f "$deb" Depends)
echo "$(basename "$deb"): Depends: $depends"
names=" "
IFS=, read -ra deps <<<"$depends"
for d in "${deps[@]}"; do
	d=${d# }
	names+="${d%% *} "
done
# libfuse3-3 only where voltfs links the system's shared libfuse: a build against
# scripts/libfuse's 3.17 links it statically and must not depend on it.
want=(fuse3 libcjson1 libxxhash0 libssl3 libc6)
if readelf -d "$build/fs/voltfs" | grep -q 'NEEDED.*libfuse3\.so'; then
	want+=(libfuse3-3)
elif [[ $names == *" libfuse3-3 "* ]]; then
	fail "voltfs links libfuse statically, yet Depends names libfuse3-3: $depends"
fi
for d in "${want[@]}"; do
	[[ $names == *" $d "* ]] || fail "Depends lacks $d: $depends"
done

echo "==> dpkg -i"
installed=1
DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" || fail "dpkg -i"
[[ $(pkg_status) == installed ]] || fail "$pkg is not installed: $(pkg_status)"

want=(
	/usr/sbin/voltfs
	/usr/bin/volt-cas
	/usr/share/man/man8/voltfs.8.gz
	/usr/share/man/man1/volt-cas.1.gz
	/usr/lib/systemd/system/var-lib-volt-qemu.mount
	/usr/lib/systemd/system/voltfs.service
	/usr/share/bash-completion/completions/volt-cas
)
listed=$(dpkg -L "$pkg")
for f in "${want[@]}"; do
	grep -qxF -- "$f" <<<"$listed" || fail "dpkg -L $pkg does not list $f"
	[[ -f $f ]] || fail "$f is not there"
done
[[ -x /usr/sbin/voltfs && -x /usr/bin/volt-cas ]] || fail "binaries not executable"
mapfile -t files < <(while read -r f; do [[ -f $f || -L $f ]] && echo "$f"; done <<<"$listed")

echo "==> the installed programs"
out=$(/usr/sbin/voltfs --version) || fail "voltfs --version"
grep -q "^voltfs $version\$" <<<"$out" || fail "voltfs --version says: $out"
out=$(/usr/bin/volt-cas --help) || fail "volt-cas --help"
grep -q "^usage: volt-cas" <<<"$out" || fail "volt-cas --help says: $out"
if command -v man >/dev/null; then
	for page in /usr/share/man/man8/voltfs.8.gz /usr/share/man/man1/volt-cas.1.gz; do
		warnings=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null) ||
			fail "man $page"
		[[ -z $warnings ]] || fail "man $page: $warnings"
	done
fi
unit=/usr/lib/systemd/system/var-lib-volt-qemu.mount
for line in Type=fuse.voltfs What=/var/lib/volt/cas Where=/var/lib/volt/qemu; do
	grep -qxF "$line" "$unit" || fail "$unit lacks $line"
done
grep -q '^Options=allow_other' "$unit" || fail "$unit lacks Options=allow_other"
service=/usr/lib/systemd/system/voltfs.service
for line in Type=notify NotifyAccess=main Restart=always \
	'ExecStart=/usr/sbin/voltfs -f -o allow_other /var/lib/volt/cas /var/lib/volt/qemu'; do
	grep -qxF "$line" "$service" || fail "$service lacks $line"
done
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify "$unit" || fail "systemd-analyze verify $unit"
	systemd-analyze verify "$service" || fail "systemd-analyze verify $service"
fi
bash -c 'source /usr/share/bash-completion/completions/volt-cas && complete -p volt-cas' \
	>/dev/null || fail "bash completion does not register volt-cas"

fuse=1
if [[ ! -c /dev/fuse ]] || ! (exec 3<>/dev/fuse) 2>/dev/null; then
	fuse=0
	echo "test_package: /dev/fuse is not usable here: the mount part is skipped"
fi

if ((fuse)); then
	# Find the daemon as mount.fuse3 does: voltfs on root's usual PATH.
	export PATH=/usr/sbin:/usr/bin:/sbin:/bin
	[[ $(command -v voltfs) == /usr/sbin/voltfs ]] || fail "voltfs on PATH is $(command -v voltfs)"
	cas=$tmp/cas
	src=$tmp/src
	mnt=$tmp/mnt
	mkdir -p "$src/bin" "$src/lib" "$src/firmware" "$mnt"
	printf '#!/bin/sh\necho qemu from the package\n' >"$src/bin/qemu-system-x86_64"
	chmod 755 "$src/bin/qemu-system-x86_64"
	printf 'library bytes\n' >"$src/lib/libfoo.so.1"
	/usr/bin/volt-cas --cas "$cas" build kvm-linux "$src" >/dev/null || fail "volt-cas build"
	chmod -R a+rX "$cas"

	# check_mount HOW: the store is mounted at $mnt by the installed daemon, readable
	# by another user, and goes away with umount, daemon and all.
	check_mount()
	{
		local how=$1 fstype pids

		mountpoint -q "$mnt" || fail "$how: $mnt is not mounted"
		fstype=$(findmnt -n -o FSTYPE --mountpoint "$mnt")
		[[ $fstype == fuse.voltfs ]] || fail "$how: type is '$fstype'"
		findmnt -n -o OPTIONS --mountpoint "$mnt" | grep -qw ro || fail "$how: not read-only"
		cmp "$src/bin/qemu-system-x86_64" "$mnt/kvm-linux/bin/qemu-system-x86_64" ||
			fail "$how: content differs"
		[[ $("$mnt/kvm-linux/bin/qemu-system-x86_64") == "qemu from the package" ]] ||
			fail "$how: exec from the mount"
		setpriv --reuid=65534 --regid=65534 --clear-groups \
			cat "$mnt/kvm-linux/lib/libfoo.so.1" >/dev/null ||
			fail "$how: another user cannot read the mount (allow_other)"
		pids=$(daemons_of "$mnt")
		[[ -n $pids ]] || fail "$how: no voltfs daemon serves $mnt"
		for p in $pids; do
			[[ $(readlink "/proc/$p/exe") == /usr/sbin/voltfs ]] ||
				fail "$how: the daemon is $(readlink "/proc/$p/exe"), not /usr/sbin/voltfs"
		done
		umount "$mnt" || fail "$how: umount"
		! mountpoint -q "$mnt" || fail "$how: still mounted after umount"
		for _ in $(seq 100); do
			[[ -z $(daemons_of "$mnt") ]] && return 0
			sleep 0.1
		done
		fail "$how: the daemon did not exit after umount"
	}

	echo "==> mount -t fuse.voltfs"
	mount -t fuse.voltfs "$cas" "$mnt" -o allow_other || fail "mount -t fuse.voltfs"
	check_mount "mount -t"

	echo "==> mount from an fstab line"
	printf '%s  %s  fuse.voltfs  allow_other,nofail  0  0\n' "$cas" "$mnt" >"$tmp/fstab"
	mount --fstab "$tmp/fstab" "$mnt" || fail "mount --fstab"
	check_mount "fstab"
fi

echo "==> dpkg -r"
dpkg -r "$pkg" || fail "dpkg -r"
for f in "${files[@]}"; do
	[[ ! -e $f && ! -L $f ]] || fail "dpkg -r left $f"
done
case $(pkg_status) in
"" | not-installed | config-files) ;;
*) fail "$pkg is $(pkg_status) after dpkg -r" ;;
esac
dpkg -P "$pkg" >/dev/null || fail "dpkg -P"
installed=0
case $(pkg_status) in
"" | not-installed) ;;
*) fail "$pkg is $(pkg_status) after dpkg -P" ;;
esac

if ((!fuse)); then
	exit 77
fi
echo "test_package: ok"
