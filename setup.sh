#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Set up kite on Debian 12: install the packages it needs, build it, and boot
# a demo VM.  Safe to run again; it only does what is missing.
#
#   ./setup.sh             install, build kite and the default Linux guest, run the demo VM
#   ./setup.sh --no-demo   install and build only
#   ./setup.sh --asan      also build the unit tests with AddressSanitizer+UBSan
#   ./setup.sh --fuzz      also build the libFuzzer targets (clang) in build-fuzz/
#   ./setup.sh --werror    treat compiler warnings as errors (CI)
set -euo pipefail
cd "$(dirname "$0")"

demo=1 asan=0 fuzz=0 werror=false
for arg in "$@"; do
	case "$arg" in
	--no-demo) demo=0 ;;
	--asan) asan=1 ;;
	--fuzz) fuzz=1 ;;
	--werror) werror=true ;;
	-h|--help) sed -n '3,11p' "$0"; exit 0 ;;
	*) echo "setup.sh: unknown option '$arg' (see ./setup.sh --help)" >&2; exit 2 ;;
	esac
done

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# Debian packages: toolchain, test framework, the QEMU used for cross-checks,
# and what the default guest is built from (Linux source, busybox).
packages=(build-essential meson ninja-build pkg-config python3 libcmocka-dev liburing-dev libnuma-dev libmicrohttpd-dev libjson-c-dev zlib1g-dev
	  qemu-system-x86 util-linux clang
	  linux-source-6.1 busybox-static bc bison flex libelf-dev libssl-dev cpio xz-utils)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	say "installing ${missing[*]}"
	$sudo apt-get update -qq
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

say "building kite (build/)"
if [ ! -f build/build.ninja ]; then
	meson setup build -Dwerror="$werror" >/dev/null
else
	meson configure build -Dwerror="$werror" >/dev/null
fi
ninja -C build

if ((asan)); then
	say "building the unit tests with AddressSanitizer+UBSan (build-asan/)"
	if [ ! -f build-asan/build.ninja ]; then
		meson setup build-asan -Dguest=false -Db_sanitize=address,undefined \
			-Db_lundef=false -Dwerror="$werror" >/dev/null
	fi
	ninja -C build-asan
fi

if ((fuzz)); then
	say "building the fuzz targets with clang (build-fuzz/)"
	if [ ! -f build-fuzz/build.ninja ]; then
		CC=clang meson setup build-fuzz -Dfuzz=true -Dguest=false >/dev/null
	fi
	ninja -C build-fuzz
fi

say "building the default Linux guest (guest/build.sh)"
guest/build.sh

if [ ! -e /dev/kvm ]; then
	say "no /dev/kvm on this machine: kite is built, but VMs need KVM (modprobe kvm_intel or kvm_amd)"
	exit 0
fi

# Hardware KVM: prepare Debian's stock kernel for the suite that boots it.
if [ ! -e /sys/module/kvm_pvm ]; then
	say "preparing Debian's stock kernel for the hardware-KVM tests (tests/stock-kernel.sh)"
	tests/stock-kernel.sh
fi

if ((demo)); then
	say "booting the default Linux guest: 2 vCPUs, 256 MiB; it runs 'uname -a; nproc; free -m' and powers off"
	./build/src/kite run --cpus 2 --memory 256M --cmdline-extra 'kite.cmd="uname -a; nproc; free -m"'
	say "done: the guest powered off and kite exited with status $?."
	say "for a shell in the guest: build/src/kite run   (Ctrl-A x quits).  Tests: ./test.sh"
fi
