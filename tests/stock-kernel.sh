#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Prepare Debian's stock kernel (linux-image-amd64) for the hardware-KVM test
# suite (tests/linux.py stock_kernel_tests): the bzImage and its modules,
# unpacked into the cache (never installed into /boot), plus an initramfs made
# of the default guest's (guest/build.sh) with the kernel's modules appended.
set -euo pipefail

cache=${KITE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kite}
out=$cache/stock
guest_initrd=$cache/guest/initramfs.cpio
[ -f "$guest_initrd" ] || { echo "stock-kernel: build the default guest first (guest/build.sh)" >&2; exit 1; }

pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$pkg" ] || { echo "stock-kernel: cannot resolve linux-image-amd64 (run apt-get update)" >&2; exit 1; }
if [ -f "$out/vmlinuz" ] && [ -f "$out/initramfs.cpio" ] && [ "$(cat "$out/package" 2>/dev/null)" = "$pkg" ]; then
	echo "stock-kernel: $pkg is up to date in $out"
	exit 0
fi
rm -rf "$out"
mkdir -p "$out/root"
cd "$out"
echo "stock-kernel: downloading $pkg"
apt-get download "$pkg" >/dev/null
dpkg-deb -x ./*.deb root
cp root/boot/vmlinuz-* vmlinuz
ver=$(ls root/lib/modules)
(cd root && find "lib/modules/$ver" | cpio -o -H newc --quiet) > modules.cpio
cat "$guest_initrd" modules.cpio > initramfs.cpio
rm -rf root ./*.deb modules.cpio
echo "$pkg" > package
echo "stock-kernel: $pkg ready in $out"
