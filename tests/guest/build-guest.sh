#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build the test guest from Debian packages, without installing anything
# into the host:
#
#   OUTDIR/vmlinuz      Debian bookworm kernel (the linux-image-amd64 target)
#   OUTDIR/initrd.img   gzip'd newc cpio: busybox, NIC driver modules,
#                       iperf3 and its libraries, our /init and scenarios
#   OUTDIR/ipxe.lkrn    iPXE from Debian's ipxe package, bootable with -kernel
#
# Usage: tests/guest/build-guest.sh [OUTDIR]      (default: build/guest)
#
# Packages come from `apt-get download` into build/downloads/ and are
# unpacked with `dpkg-deb -x`.  A rerun with nothing changed does not even
# call apt (see $work/packages below) and exits.  Expensive intermediate
# steps (unpacking the 70 MB kernel package) are cached under OUTDIR/.work,
# so editing a scenario only re-packs the cpio.
#
# Environment:
#   VPCNET_GUEST_MODULES  driver modules to include (default below)
#   VPCNET_GUEST_IPERF=0  leave iperf3 out of the initramfs
#   VPCNET_KERNEL_PKG     kernel package to use instead of the one
#                         linux-image-amd64 depends on
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:-$repo/build/guest}
mkdir -p "$out"
out=$(cd "$out" && pwd)
downloads=$repo/build/downloads
work=$out/.work

# Two builds into one OUTDIR (make check next to make bench-*) would
# share .work: the second waits for the first, then finds it done.
exec 9>"$out/.lock"
flock 9

# Network drivers the scenarios may need: tulip for DEC 21140 (our
# dec21140a and QEMU's tulip), e1000 and the RealTek pair as references,
# virtio-net (virtio_pci finds the device, virtio_net drives it; /init's
# PCI modalias pass loads only the first, so scenarios name both).
# 8139too declines QEMU's rtl8139 (an 8139C+) in favour of 8139cp, so both.
MODULES=${VPCNET_GUEST_MODULES:-tulip e1000 8139too 8139cp virtio_pci virtio_net}
WANT_IPERF=${VPCNET_GUEST_IPERF:-1}

say() { echo "build-guest: $*"; }
die() { echo "build-guest: error: $*" >&2; exit 1; }

for tool in apt-get apt-cache dpkg-deb cpio gzip; do
    command -v "$tool" >/dev/null || die "'$tool' not found (Debian host with apt needed)"
done

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# apt's download sandbox user (_apt) often cannot write into a work tree
# owned by someone else; as root, skip the sandbox instead of warning.
APT_OPTS=()
[ "$(id -u)" = 0 ] && APT_OPTS=(-o APT::Sandbox::User=root)

apt_updated=0
apt_update_once() {
    [ "$apt_updated" = 1 ] && return 1
    apt_updated=1
    say "package lists look missing or stale: running apt-get update"
    as_root apt-get update -qq || die "apt-get update failed"
}

# Each apt-cache call re-reads the package lists (about a second here:
# Debian's container images disable apt's binary cache), so resolve
# everything in three calls and remember the answer until the lists change.

# kernel_package: the package linux-image-amd64 depends on, for example
# linux-image-6.1.0-56-amd64.
kernel_package() {
    if [ -n "${VPCNET_KERNEL_PKG:-}" ]; then
        echo "$VPCNET_KERNEL_PKG"
        return
    fi
    apt-cache depends linux-image-amd64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-amd64$/ { print $2; exit }'
}

# iperf_packages: iperf3 and the library packages it pulls in,
# transitively.  Only lib* edges are followed: the other dependencies
# (debconf, adduser, init-system-helpers) are packaging helpers that the
# binary never loads.
iperf_packages() {
    apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
            --no-breaks --no-replaces --no-enhances iperf3 2>/dev/null |
        awk '/^[^ ]/ { pkg = $1; next }
             $1 ~ /^[|]?(Pre)?Depends:$/ && $2 ~ /^lib/ { deps[pkg] = deps[pkg] " " $2 }
             END {
                 queue[0] = "iperf3"; seen["iperf3"] = 1; n = 1
                 for (i = 0; i < n; i++) {
                     print queue[i]
                     m = split(deps[queue[i]], d, " ")
                     for (j = 1; j <= m; j++)
                         if (!(d[j] in seen)) { seen[d[j]] = 1; queue[n++] = d[j] }
                 }
             }'
}

# resolve_packages: print one line "ROLE PACKAGE VERSION ARCH" per package
# to use (ROLE is kernel, busybox, ipxe or iperf), downloading the missing
# .deb files into $downloads.  Returns 1 when apt does not know something.
resolve_packages() {
    local kernel pkgs=() versions pkg ver arch missing=() role
    kernel=$(kernel_package)
    if [ -z "$kernel" ]; then
        say "cannot resolve linux-image-amd64 to a kernel package" >&2
        return 1
    fi
    pkgs=("$kernel" busybox-static ipxe)
    if [ "$WANT_IPERF" = 1 ]; then
        mapfile -t -O ${#pkgs[@]} pkgs < <(iperf_packages)
    fi
    versions=$(apt-cache show --no-all-versions "${pkgs[@]}" 2>/dev/null |
        awk '/^Package:/ { p = $2 } /^Version:/ { v = $2 }
             /^Architecture:/ { print p, v, $2 }')
    for pkg in "${pkgs[@]}"; do
        read -r ver arch < <(awk -v p="$pkg" '$1 == p { print $2, $3; exit }' <<<"$versions")
        if [ -z "${ver:-}" ]; then
            say "package '$pkg' is unknown to apt-cache" >&2
            return 1
        fi
        case "$pkg" in
            "$kernel") role=kernel ;;
            busybox-static) role=busybox ;;
            ipxe) role=ipxe ;;
            *) role=iperf ;;
        esac
        echo "$role $pkg $ver $arch"
        [ -s "$(deb_path "$pkg" "$ver" "$arch")" ] || missing+=("$pkg=$ver")
        ver=
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "downloading ${missing[*]}" >&2
    for pkg in "${missing[@]}"; do
        rm -f "$downloads/${pkg%%=*}"_*.deb     # older versions
    done
    (cd "$downloads" && apt-get "${APT_OPTS[@]}" -q download "${missing[@]}" >/dev/null) || {
        say "apt-get download ${missing[*]} failed" >&2
        return 1
    }
}

# deb_path PACKAGE VERSION ARCH: where apt-get download puts the package
# (it writes an epoch's ':' as %3a).
deb_path() {
    echo "$downloads/${1}_${2//:/%3a}_${3}.deb"
}

# resolve_in ROOT PATH: follow symlinks of PATH inside the unpacked tree
# ROOT (absolute links point into ROOT, not into the host).  Prints the
# resolved path relative to ROOT, starting with '/'.
resolve_in() {
    local root=$1 path=$2 target n=0
    while [ -L "$root$path" ]; do
        n=$((n + 1))
        [ $n -le 20 ] || die "symlink loop at $root$path"
        target=$(readlink "$root$path")
        case "$target" in
            /*) path=$target ;;
            *) path=$(dirname "$path")/$target ;;
        esac
    done
    [ -e "$root$path" ] || return 1
    echo "$path"
}

# newer_than FILE INPUTS...: true when FILE exists and is newer than all inputs.
newer_than() {
    local file=$1 input
    shift
    [ -e "$file" ] || return 1
    for input in "$@"; do
        [ "$file" -nt "$input" ] || return 1
    done
}

mkdir -p "$downloads" "$work"

# --- Resolve and download packages ---------------------------------------------

if [ "$WANT_IPERF" = 1 ] && ! command -v readelf >/dev/null; then
    say "warning: readelf (binutils) missing, building without iperf3"
    WANT_IPERF=0
fi

# The resolution is cached in $work/packages; it stays valid until the apt
# lists or configuration change (apt-get update), or the settings do.
resolved=$work/packages
resolve_key="kernel=${VPCNET_KERNEL_PKG:-auto} iperf=$WANT_IPERF"
valid=0
if [ -f "$resolved" ] && [ "$(head -n1 "$resolved")" = "$resolve_key" ] &&
   [ -z "$(find /var/lib/apt/lists /etc/apt -maxdepth 1 -newer "$resolved" 2>/dev/null)" ]; then
    valid=1
    while read -r role pkg ver arch; do
        [ -s "$(deb_path "$pkg" "$ver" "$arch")" ] || valid=0
    done < <(tail -n +2 "$resolved")
fi
if [ "$valid" = 0 ]; then
    if ! list=$(resolve_packages); then
        apt_update_once || true
        list=$(resolve_packages) || die "cannot resolve or download the guest's packages"
    fi
    printf '%s\n%s\n' "$resolve_key" "$list" >"$resolved.tmp"
    mv "$resolved.tmp" "$resolved"
fi

kernel_deb='' busybox_deb='' ipxe_deb=''
iperf_debs=()
while read -r role pkg ver arch; do
    deb=$(deb_path "$pkg" "$ver" "$arch")
    case "$role" in
        kernel) kernel_deb=$deb ;;
        busybox) busybox_deb=$deb ;;
        ipxe) ipxe_deb=$deb ;;
        iperf) iperf_debs+=("$deb") ;;
    esac
done < <(tail -n +2 "$resolved")
if [ -z "$kernel_deb" ] || [ -z "$busybox_deb" ] || [ -z "$ipxe_deb" ]; then
    die "incomplete package list in $resolved (delete it and rerun)"
fi

guest_sources=("$here/init" "$here/lib.sh" "$here/udhcpc.script" "$here"/scenarios/*.sh)
inputs=("${BASH_SOURCE[0]}" "$kernel_deb" "$busybox_deb" "$ipxe_deb"
        "${iperf_debs[@]}" "${guest_sources[@]}")
# The stamp names the sources too: deleting a scenario changes no mtime.
config="modules=$MODULES iperf=$WANT_IPERF kernel=$(basename "$kernel_deb")"
config="$config sources=${guest_sources[*]##*/}"

if newer_than "$out/initrd.img" "${inputs[@]}" &&
   newer_than "$out/vmlinuz" "$kernel_deb" &&
   newer_than "$out/ipxe.lkrn" "$ipxe_deb" &&
   [ "$(cat "$out/.config" 2>/dev/null)" = "$config" ]; then
    say "up to date: $out"
    exit 0
fi

# --- iPXE --------------------------------------------------------------------

if ! newer_than "$out/ipxe.lkrn" "$ipxe_deb"; then
    rm -rf "$work/ipxe"
    dpkg-deb -x "$ipxe_deb" "$work/ipxe"
    # /usr/lib/ipxe/ipxe.lkrn is a symlink to /boot/ipxe.lkrn in the package.
    lkrn=$(resolve_in "$work/ipxe" /usr/lib/ipxe/ipxe.lkrn) ||
        die "$(basename "$ipxe_deb") has no /usr/lib/ipxe/ipxe.lkrn"
    cp "$work/ipxe$lkrn" "$out/ipxe.lkrn.tmp"
    mv "$out/ipxe.lkrn.tmp" "$out/ipxe.lkrn"
    rm -rf "$work/ipxe"
fi

# --- Kernel and modules ------------------------------------------------------
#
# Unpacking the kernel package is the slow step, so keep what we take from
# it (vmlinuz, the chosen modules decompressed) in $work/kernel, keyed by
# the package file and module list.

kernel_key="$(basename "$kernel_deb") $MODULES"
if [ "$(cat "$work/kernel.key" 2>/dev/null)" != "$kernel_key" ]; then
    say "unpacking $(basename "$kernel_deb")"
    rm -rf "$work/kernel-deb" "$work/kernel" "$work/kernel.key"
    dpkg-deb -x "$kernel_deb" "$work/kernel-deb"
    kver=$(find "$work/kernel-deb/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | head -n1)
    [ -n "$kver" ] || die "no /lib/modules/<version> in $(basename "$kernel_deb")"
    [ -f "$work/kernel-deb/boot/vmlinuz-$kver" ] ||
        die "no /boot/vmlinuz-$kver in $(basename "$kernel_deb")"
    mkdir -p "$work/kernel/lib/modules/$kver"
    cp "$work/kernel-deb/boot/vmlinuz-$kver" "$work/kernel/vmlinuz"
    # modules.builtin lets modprobe accept built-in drivers quietly.
    cp "$work/kernel-deb/lib/modules/$kver/modules.builtin" \
        "$work/kernel/lib/modules/$kver/" 2>/dev/null || true

    # Debian's package ships no modules.dep (depmod writes it at install
    # time), so follow the "depends=" field of each module's .modinfo.
    # Module names treat '-' and '_' alike.
    src_mods=$work/kernel-deb/lib/modules/$kver
    declare -A mod_path=()
    while IFS= read -r rel; do
        name=${rel##*/}
        name=${name%%.ko*}
        mod_path[${name//-/_}]=$rel
    done < <(cd "$src_mods" &&
             find kernel -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz')

    declare -A included=()
    add_module() {
        local name=${1//-/_} rel dst dep
        [ -n "${included[$name]:-}" ] && return 0
        rel=${mod_path[$name]:-}
        if [ -z "$rel" ]; then
            if grep -qE "/${name//_/[-_]}\.ko" "$src_mods/modules.builtin" 2>/dev/null; then
                return 0    # built into the kernel
            fi
            die "module '$name' not found in $(basename "$kernel_deb")"
        fi
        included[$name]=1
        dst=$work/kernel/lib/modules/$kver/${rel%.ko*}.ko
        mkdir -p "$(dirname "$dst")"
        # The guest's busybox modprobe wants plain .ko files.
        case "$rel" in
            *.ko) cp "$src_mods/$rel" "$dst" ;;
            *.ko.xz) xz -dc "$src_mods/$rel" >"$dst" ;;
            *.ko.zst) zstd -qdc "$src_mods/$rel" >"$dst" ;;
            *.ko.gz) gzip -dc "$src_mods/$rel" >"$dst" ;;
        esac
        for dep in $(tr '\0' '\n' <"$dst" | sed -n 's/^depends=//p' | head -n1 | tr ',' ' '); do
            add_module "$dep"
        done
    }
    for m in $MODULES; do
        add_module "$m"
    done
    say "kernel $kver, modules: ${!included[*]}"
    rm -rf "$work/kernel-deb"
    echo "$kernel_key" >"$work/kernel.key"
fi
kver=$(find "$work/kernel/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | head -n1)

# --- Initramfs ---------------------------------------------------------------

root=$work/root
rm -rf "$root" "$work/busybox"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,root,lib,scenarios}
mkdir -p "$root/lib/x86_64-linux-gnu" "$root/lib64"

# busybox, with a symlink per applet where busybox itself would install it.
dpkg-deb -x "$busybox_deb" "$work/busybox"
cp "$work/busybox/bin/busybox" "$root/bin/busybox"
"$root/bin/busybox" --list-full | while IFS= read -r applet; do
    [ "$applet" = bin/busybox ] && continue
    # -L too: the link target is absolute, so -e would look at the host.
    [ -e "$root/$applet" ] || [ -L "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done
rm -rf "$work/busybox"

# Modules; modules.dep and modules.alias come from busybox's own depmod so
# that the guest's modprobe (by name or by PCI modalias) reads what it expects.
cp -a "$work/kernel/lib/modules" "$root/lib/"
"$root/bin/busybox" depmod -b "$root" "$kver" || die "depmod failed"

# iperf3 with exactly the shared libraries its ELF NEEDED entries name.
if [ "$WANT_IPERF" = 1 ]; then
    rm -rf "$work/iperf"
    for deb in "${iperf_debs[@]}"; do
        dpkg-deb -x "$deb" "$work/iperf"
    done
    cp "$work/iperf/usr/bin/iperf3" "$root/usr/bin/iperf3"
    interp=$(readelf -l "$work/iperf/usr/bin/iperf3" |
             sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
    [ -n "$interp" ] || die "iperf3 has no ELF interpreter"
    real=$(resolve_in "$work/iperf" "$interp") ||
        die "interpreter $interp not in the unpacked packages"
    # The dynamic loader lives with the libraries; the ELF path points there.
    cp "$work/iperf$real" "$root/lib/x86_64-linux-gnu/$(basename "$interp")"
    mkdir -p "$root$(dirname "$interp")"
    [ -e "$root$interp" ] || ln -s "/lib/x86_64-linux-gnu/$(basename "$interp")" "$root$interp"
    todo=("$work/iperf/usr/bin/iperf3")
    declare -A have_lib=()
    while [ ${#todo[@]} -gt 0 ]; do
        elf=${todo[0]}
        todo=("${todo[@]:1}")
        for lib in $(readelf -d "$elf" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
            [ -n "${have_lib[$lib]:-}" ] && continue
            have_lib[$lib]=1
            found=
            for dir in /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib /usr/lib; do
                if real=$(resolve_in "$work/iperf" "$dir/$lib"); then
                    found=$work/iperf$real
                    break
                fi
            done
            [ -n "$found" ] || die "iperf3 needs $lib, which none of ${iperf_debs[*]##*/} provide"
            cp "$found" "$root/lib/x86_64-linux-gnu/$lib"
            todo+=("$found")
        done
    done
    rm -rf "$work/iperf"
fi

# Our init, the DHCP client script and the scenarios.
install -m 755 "$here/init" "$root/init"
install -m 755 "$here/udhcpc.script" "$root/etc/udhcpc.script"
install -D -m 644 "$here/lib.sh" "$root/usr/lib/vpcnet/lib.sh"
for s in "$here"/scenarios/*.sh; do
    install -m 755 "$s" "$root/scenarios/$(basename "$s")"
done
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"
printf '127.0.0.1 localhost\n' >"$root/etc/hosts"

# newc cpio, owned by root whoever builds it; sorted for reproducibility.
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
    cpio --quiet -o -H newc -R 0:0 | gzip -9n) >"$out/initrd.img.tmp"
mv "$out/initrd.img.tmp" "$out/initrd.img"
cp "$work/kernel/vmlinuz" "$out/vmlinuz.tmp"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"
echo "$config" >"$out/.config"
rm -rf "$root"

say "built $out: vmlinuz ($kver), initrd.img ($(du -k "$out/initrd.img" | cut -f1) KiB), ipxe.lkrn"
