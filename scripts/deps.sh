#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Install what building and testing vpcnet needs, from Debian's archive.
# Quick when everything is already there: one dpkg-query, no apt calls.
set -eu

# The QEMU version fetch-qemu.sh pins (its QEMU_VERSION line, the one
# place it is written), and its major version.
QEMU_VERSION=$(sed -n 's/^QEMU_VERSION=//p' "$(dirname "$0")/fetch-qemu.sh")
[ -n "$QEMU_VERSION" ] || { echo "deps: no QEMU_VERSION in fetch-qemu.sh" >&2; exit 1; }
QEMU_SERIES=${QEMU_VERSION%.*}
QEMU_MAJOR=${QEMU_VERSION%%.*}

# Build: that QEMU needs meson >= 1.5, which bookworm carries in backports.
BUILD_PKGS="build-essential pkg-config meson ninja-build python3 python3-venv
 flex bison libglib2.0-dev libpixman-1-dev zlib1g-dev libfdt-dev libslirp-dev
 libseccomp-dev patch xz-utils bzip2 dpkg-dev python3-pycotap"
# Run time: firmware for the x86 machines (SeaBIOS, iPXE option ROMs,
# linuxboot for -kernel), and tools the guest tests use on the host.
RUN_PKGS="seabios ipxe-qemu qemu-system-data cpio iproute2 socat"
# More groups, named on the command line (scripts/deps.sh GROUP...), each
# a list of packages in scripts/deps.d/GROUP: what one test suite or
# benchmark needs on top of the build (bench: iperf3 and vde2 for the NIC
# and switch benchmarks; a test suite installs its own group when it
# starts, so a fresh machine needs nothing by hand).
# A group whose list has a line "#apt-get: OPTIONS" is installed by an
# apt-get call of its own, with OPTIONS and from the release's own suite
# rather than backports (libvirt: bookworm's 9.0 without recommends;
# backports' libvirt 11 would upgrade systemd).
PKGS=$(echo $BUILD_PKGS $RUN_PKGS)
OWN_GROUPS=
for group in "$@"; do
    list=$(dirname "$0")/deps.d/$group
    [ -f "$list" ] || { echo "deps: no package group '$group' ($list)" >&2; exit 1; }
    if grep -q '^#apt-get:' "$list"; then
        OWN_GROUPS="$OWN_GROUPS $group"
    else
        PKGS="$PKGS $(grep -v '^#' "$list" | tr '\n' ' ')"
    fi
done
PKGS=$(echo $PKGS)

sudo_cmd() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# missing PACKAGE...: those not installed.
missing() {
    for p in "$@"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" \
            || echo "$p"
    done
}

meson_ok() {
    v=$(meson --version 2>/dev/null || echo 0)
    [ "$(printf '%s\n1.5.0\n' "$v" | sort -V | head -n1)" = 1.5.0 ]
}

firmware_ok() {
    # qemu-system-data must be as new as our QEMU's major version
    # (linuxboot_dma.bin, pvh.bin...).
    v=$(dpkg-query -W -f='${Version}' qemu-system-data 2>/dev/null || echo 0)
    dpkg --compare-versions "$v" ge "1:$QEMU_MAJOR~"
}

group_pkgs() {
    grep -v '^#' "$(dirname "$0")/deps.d/$1" | tr '\n' ' '
}

# install_own_groups: the "#apt-get:" groups with something missing.
install_own_groups() {
    export DEBIAN_FRONTEND=noninteractive
    for group in $OWN_GROUPS; do
        pkgs=$(group_pkgs "$group")
        # shellcheck disable=SC2086 # word lists
        [ -n "$(missing $pkgs)" ] || continue
        opts=$(sed -n 's/^#apt-get://p' "$(dirname "$0")/deps.d/$group")
        echo "deps: installing $(echo $pkgs) ($group, apt-get$opts)"
        # Stale package lists 404: update once and try again.
        # shellcheck disable=SC2086
        sudo_cmd apt-get install -y -qq $opts $pkgs >/dev/null \
            || { sudo_cmd apt-get update -qq &&
                 sudo_cmd apt-get install -y -qq $opts $pkgs >/dev/null; } \
            || { echo "deps: installing group '$group' failed" >&2; exit 1; }
    done
}

# shellcheck disable=SC2086
todo=$(missing $PKGS)
if [ -z "$todo" ] && meson_ok && firmware_ok; then
    install_own_groups
    exit 0
fi

command -v apt-get >/dev/null || {
    echo "deps: missing packages and no apt-get: $todo" >&2
    exit 1
}

. /etc/os-release
target=
if [ "${VERSION_CODENAME:-}" = bookworm ]; then
    if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
        echo "deps: adding Debian bookworm-backports (QEMU $QEMU_SERIES needs meson >= 1.5)"
        printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
            | sudo_cmd tee /etc/apt/sources.list.d/vpcnet-backports.sources >/dev/null
    fi
    target=bookworm-backports
fi

echo "deps: installing $(echo $todo)"
sudo_cmd apt-get update -qq
export DEBIAN_FRONTEND=noninteractive
if [ -n "$target" ]; then
    sudo_cmd apt-get install -y -qq -t "$target" $PKGS >/dev/null
else
    sudo_cmd apt-get install -y -qq $PKGS >/dev/null
fi
meson_ok || { echo "deps: meson >= 1.5 is needed, found $(meson --version)" >&2; exit 1; }
install_own_groups
