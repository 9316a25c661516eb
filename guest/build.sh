#!/usr/bin/env bash
# Build kite's default Linux guest: vmlinux (PVH ELF) and initramfs.cpio.
#
#   guest/build.sh [--cache DIR] [--force]
#
# Everything goes into the cache directory, by default
# ${KITE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kite}/guest:
#   vmlinux  initramfs.cpio  config     the results
#   build.log                           the last kernel build's output
#   src/ build/ initramfs.d/            source tree, objects, staging
# Work is skipped when nothing changed: the stamp is a hash of kite.config,
# the patches, initramfs/, this script and the versions of linux-source-6.1,
# busybox-static and gcc.  See guest/README.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${KITE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kite}/guest
force=0
src_tar=/usr/src/linux-source-6.1.tar.xz
src_name=linux-source-6.1
busybox=/bin/busybox

say() { printf 'guest: %s\n' "$*"; }
die() { printf 'guest: error: %s\n' "$*" >&2; exit 1; }
usage() {
	cat <<EOF
Usage: guest/build.sh [--cache DIR] [--force]

Builds kite's default Linux guest (vmlinux with a PVH entry, and an
uncompressed busybox initramfs) from Debian's linux-source-6.1 and
busybox-static, into DIR (default: \${KITE_CACHE:-\${XDG_CACHE_HOME:-\$HOME/.cache}/kite}/guest,
now $cache).  Does nothing when the inputs have not changed.

  --cache DIR   build into DIR
  --force       rebuild even if up to date
  -h, --help    this help
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	--cache)
		[ $# -ge 2 ] && [ -n "$2" ] || { echo "guest/build.sh: --cache needs a directory" >&2; exit 2; }
		cache=$2; shift 2 ;;
	--cache=*) cache=${1#--cache=}; shift ;;
	--force) force=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "guest/build.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
	esac
done
[ -n "$cache" ] || die "empty --cache directory"
case $cache in /*) ;; *) cache=$PWD/$cache ;; esac

# --- what the build needs -------------------------------------------------
missing=()
need_cmd() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need_cmd make make
need_cmd gcc gcc
need_cmd ld binutils
need_cmd bc bc
need_cmd bison bison
need_cmd flex flex
need_cmd cpio cpio
need_cmd xz xz-utils
need_cmd perl perl
need_cmd flock util-linux
[ -r /usr/include/gelf.h ] || missing+=(libelf-dev)
[ -r /usr/include/openssl/evp.h ] || missing+=(libssl-dev)
[ -r "$src_tar" ] || missing+=(linux-source-6.1)
if [ ! -x "$busybox" ] || ! "$busybox" --list >/dev/null 2>&1 ||
   LC_ALL=C ldd "$busybox" 2>&1 | grep -q '=>'; then
	missing+=(busybox-static)
fi
if [ ${#missing[@]} -gt 0 ]; then
	die "missing ${missing[*]}: run apt-get install ${missing[*]}"
fi

pkg_version() {
	dpkg-query -W -f='${Version}' "$1" 2>/dev/null ||
		stat -c '%s-%Y' "$2"
}
src_ver=$(pkg_version linux-source-6.1 "$src_tar")
bb_ver=$(pkg_version busybox-static "$busybox")
cc_ver=$(gcc --version | head -n1)

mkdir -p "$cache" || die "cannot create $cache"
# One build at a time per cache directory.
exec 9>"$cache/.lock"
if ! flock -n 9; then
	say "waiting for another build in $cache"
	flock 9
fi

# --- up to date? -----------------------------------------------------------
inputs() {
	# Every file that shapes the result, by path relative to guest/.
	(cd "$here" && find linux/kite.config linux/patches initramfs build.sh \
		-type f ! -name '*~' ! -name '.*' | LC_ALL=C sort)
}
stamp=$( {
	printf 'linux-source-6.1 %s\nbusybox-static %s\n%s\n' "$src_ver" "$bb_ver" "$cc_ver"
	while read -r f; do
		printf '%s %s\n' "$f" "$(sha256sum <"$here/$f" | cut -d' ' -f1)"
	done < <(inputs)
} | sha256sum | cut -d' ' -f1)

if [ $force = 0 ] && [ -f "$cache/stamp" ] && [ "$(cat "$cache/stamp")" = "$stamp" ] &&
   [ -f "$cache/vmlinux" ] && [ -f "$cache/initramfs.cpio" ] && [ -f "$cache/config" ]; then
	say "up to date: $cache/vmlinux, $cache/initramfs.cpio"
	exit 0
fi
rm -f "$cache/stamp"

src=$cache/src/$src_name
obj=$cache/build
log=$cache/build.log

# --- source tree: extracted once per linux-source-6.1 version -----------------
extract() {
	say "extracting $src_tar (linux-source-6.1 $src_ver)"
	rm -rf "$cache/src" "$cache/src.tmp" "$obj"
	mkdir -p "$cache/src.tmp"
	tar -xJf "$src_tar" -C "$cache/src.tmp" || die "cannot extract $src_tar"
	[ -d "$cache/src.tmp/$src_name" ] || die "$src_tar has no $src_name/ directory"
	mkdir -p "$cache/src.tmp/.applied"
	printf '%s\n' "$src_ver" >"$cache/src.tmp/.version"
	mv "$cache/src.tmp" "$cache/src"
}
if [ ! -d "$src" ] || [ "$(cat "$cache/src/.version" 2>/dev/null)" != "$src_ver" ] ||
   [ ! -d "$cache/src/.applied" ]; then
	extract
fi

# --- patches: bring the tree from the applied set to the wanted set -------------
applied=$cache/src/.applied
want=$(cd "$here/linux/patches" && ls -1 *.patch 2>/dev/null | LC_ALL=C sort || true)
have=$(cd "$applied" && ls -1 *.patch 2>/dev/null | LC_ALL=C sort || true)
same=1
if [ "$want" != "$have" ]; then
	same=0
else
	for p in $want; do cmp -s "$here/linux/patches/$p" "$applied/$p" || same=0; done
fi
if [ $same = 0 ]; then
	if [ -n "$have" ]; then
		say "reverting the previously applied patches"
		for p in $(printf '%s\n' $have | LC_ALL=C sort -r); do
			if ! patch -d "$src" -p1 -R -s --no-backup-if-mismatch <"$applied/$p" >/dev/null; then
				say "could not revert $p: extracting the source again"
				extract
				break
			fi
			rm -f "$applied/$p"
		done
	fi
	for p in $want; do
		say "applying patches/$p"
		patch -d "$src" -p1 -s --forward --no-backup-if-mismatch \
			<"$here/linux/patches/$p" >"$cache/patch.log" 2>&1 ||
			die "patches/$p does not apply to linux-source-6.1 $src_ver: $(head -n3 "$cache/patch.log" | tr '\n' ' ')"
		cp "$here/linux/patches/$p" "$applied/$p"
	done
fi

# --- kernel configuration: tinyconfig + kite.config --------------------------------
kmake() {
	# Fixed build identity, so that the same inputs give the same vmlinux.
	make -C "$src" O="$obj" ARCH=x86_64 \
		KBUILD_BUILD_USER=kite KBUILD_BUILD_HOST=kite KBUILD_BUILD_VERSION=1 \
		KBUILD_BUILD_TIMESTAMP='Thu Jan  1 00:00:00 UTC 1970' "$@"
}
mkdir -p "$obj"
say "configuring: tinyconfig + linux/kite.config"
{
	kmake tinyconfig &&
	KCONFIG_CONFIG="$obj/.config" "$src/scripts/kconfig/merge_config.sh" -m -O "$obj" \
		"$obj/.config" "$here/linux/kite.config" &&
	kmake olddefconfig
} >"$cache/config.log" 2>&1 || { tail -n 20 "$cache/config.log" >&2; die "kernel configuration failed (log: $cache/config.log)"; }
# Every line of the fragment must have stuck (a missing dependency drops
# options silently).
bad=
while read -r line; do
	case $line in
	CONFIG_*=*) sym=${line%%=*}; val=${line#*=} ;;
	"# CONFIG_"*" is not set") sym=${line#\# }; sym=${sym%% *}; val=n ;;
	*) continue ;;
	esac
	got=$(grep -E "^$sym=" "$obj/.config" | head -n1 | cut -d= -f2- || true)
	[ -n "$got" ] || got=n
	[ "$got" = "$val" ] || bad="$bad $sym=$val(got $got)"
done <"$here/linux/kite.config"
[ -z "$bad" ] || die "linux/kite.config options that did not stick:$bad"

# --- kernel ---------------------------------------------------------------
jobs=$(nproc 2>/dev/null || echo 2)
say "building the kernel (~4 min on 2 cores; log: $log)"
start=$(date +%s)
kmake -j"$jobs" vmlinux >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT INT TERM
while kill -0 $pid 2>/dev/null; do
	for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30; do
		sleep 1
		kill -0 $pid 2>/dev/null || break 2
	done
	n=$(grep -c '^  CC ' "$log" 2>/dev/null || true)
	say "still building the kernel: $((($(date +%s) - start) / 60))m$((($(date +%s) - start) % 60))s, ${n:-0} files compiled"
done
rc=0
wait $pid || rc=$?
trap - EXIT INT TERM
if [ $rc != 0 ] || [ ! -f "$obj/vmlinux" ]; then
	tail -n 30 "$log" >&2
	die "kernel build failed (exit $rc); full log: $log"
fi
say "kernel built in $(($(date +%s) - start)) s"

# --- initramfs: busybox + /init, uncompressed newc ------------------------------
say "building the initramfs"
stage=$cache/initramfs.d
rm -rf "$stage"
mkdir -p "$stage"
(
	cd "$stage"
	mkdir -p bin sbin usr/bin usr/sbin dev etc proc sys tmp run root mnt
	chmod 1777 tmp
	chmod 700 root
	cp "$busybox" bin/busybox
	chmod 755 bin/busybox
	# Only /bin/sh: busybox's shell finds its applets without links (and
	# every file in the initramfs costs boot time; see README.md).
	ln -s busybox bin/sh
	# The kernel's poweroff_cmd (a power-button press, guest patch 0007).
	ln -s ../bin/busybox sbin/poweroff
	cp -R "$here/initramfs/." .
	chmod 755 init
	# Same bytes for the same inputs: fixed times, root owner, sorted.
	find . -exec touch -h -d @0 {} +
	find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet >"$cache/initramfs.cpio.tmp"
) || die "initramfs build failed"

# --- install --------------------------------------------------------------
cp "$obj/vmlinux" "$cache/vmlinux.tmp"
cp "$obj/.config" "$cache/config.tmp"
mv "$cache/vmlinux.tmp" "$cache/vmlinux"
mv "$cache/config.tmp" "$cache/config"
mv "$cache/initramfs.cpio.tmp" "$cache/initramfs.cpio"
printf '%s\n' "$stamp" >"$cache/stamp"
say "done: $cache/vmlinux ($(du -k "$cache/vmlinux" | cut -f1) KiB), $cache/initramfs.cpio ($(du -k "$cache/initramfs.cpio" | cut -f1) KiB)"
