#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Fetch the pinned upstream QEMU source and unpack it as $1 (default
# build/qemu-src).  Sources, in order of preference:
#   1. $QEMU_SRC, an unpacked tree of the same stable series (copied,
#      never modified);
#   2. Debian's "qemu" source package from the suite that carries it
#      (trixie), adding a deb-src entry when apt has none;
#   3. the upstream release tarball, for machines with internet access.
# Downloads are cached in build/downloads so a rerun does not fetch again;
# every tarball is checked against a pinned sha256 before it is unpacked.
#
# QEMU_VERSION below is the one place the QEMU version is pinned: the
# series checks here and in deps.sh are derived from it (deps.sh reads
# the line), as are the Debian package's version and file name.
set -eu

QEMU_VERSION=10.0.13
# The stable series (10.0): any 10.0.x tree has the APIs our files use.
QEMU_SERIES=${QEMU_VERSION%.*}
DEBIAN_REVISION=0+deb13u1
DEBIAN_VERSION=1:$QEMU_VERSION+ds-$DEBIAN_REVISION
DEBIAN_ORIG=qemu_$QEMU_VERSION+ds.orig.tar.xz
DEBIAN_SHA256=6a0888e806c2ffc0c5f0733e974f9aea55491950d3c47c98669c8b236dde59ae
UPSTREAM_URL=https://download.qemu.org/qemu-$QEMU_VERSION.tar.xz
UPSTREAM_SHA256=${QEMU_UPSTREAM_SHA256:-}
DEBIAN_SUITE=trixie

dest=${1:-build/qemu-src}
downloads=$(dirname "$dest")/downloads
mkdir -p "$downloads"

die() { echo "fetch-qemu: $*" >&2; exit 1; }

sudo_cmd() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

check_version() {
    v=$(cat "$1/VERSION" 2>/dev/null || true)
    case "$v" in
    "$QEMU_SERIES".*) ;;
    *) die "$1 holds QEMU '${v:-unknown}', this fork needs $QEMU_SERIES.x" ;;
    esac
}

check_sha256() {
    sum=$(sha256sum "$1" | cut -d' ' -f1)
    [ "$sum" = "$2" ] || die "$1: sha256 $sum, expected $2"
}

unpack() {
    tmp=$dest.tmp
    rm -rf "$tmp" && mkdir -p "$tmp"
    tar -C "$tmp" --strip-components=1 -xf "$1"
    check_version "$tmp"
    rm -rf "$dest" && mv "$tmp" "$dest"
}

if [ -f "$dest/.vpcnet-pristine" ]; then
    check_version "$dest"
    exit 0
fi

if [ -n "${QEMU_SRC:-}" ]; then
    check_version "$QEMU_SRC"
    echo "fetch-qemu: copying $QEMU_SRC"
    rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
    (cd "$QEMU_SRC" && tar --exclude=./build -cf - .) | tar -C "$dest.tmp" -xf -
    rm -rf "$dest" && mv "$dest.tmp" "$dest"
    echo "QEMU_SRC=$QEMU_SRC" > "$dest/.vpcnet-pristine"
    exit 0
fi

tarball=$downloads/$DEBIAN_ORIG
if [ ! -f "$tarball" ] && command -v apt-get >/dev/null; then
    if ! apt-cache showsrc qemu 2>/dev/null | grep -q "^Version: $DEBIAN_VERSION\$"; then
        if ! grep -rqs "deb-src.*$DEBIAN_SUITE\|Types:.*deb-src" /etc/apt/sources.list /etc/apt/sources.list.d/ \
           || ! apt-cache showsrc qemu >/dev/null 2>&1; then
            echo "fetch-qemu: adding a deb-src entry for Debian $DEBIAN_SUITE"
            printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
                "$DEBIAN_SUITE" | sudo_cmd tee /etc/apt/sources.list.d/vpcnet-qemu-src.sources >/dev/null
        fi
        sudo_cmd apt-get update -qq || true
    fi
    (cd "$downloads" && apt-get source --download-only -qq "qemu=$DEBIAN_VERSION") \
        >/dev/null 2>&1 || echo "fetch-qemu: Debian source package unavailable" >&2
fi
if [ -f "$tarball" ]; then
    check_sha256 "$tarball" "$DEBIAN_SHA256"
    echo "fetch-qemu: unpacking $DEBIAN_ORIG"
    unpack "$tarball"
    echo "debian $DEBIAN_VERSION" > "$dest/.vpcnet-pristine"
    exit 0
fi

[ -n "$UPSTREAM_SHA256" ] || die "no Debian source; set QEMU_SRC to a QEMU $QEMU_SERIES.x tree, or QEMU_UPSTREAM_SHA256 to the sha256 of $UPSTREAM_URL"
tarball=$downloads/qemu-$QEMU_VERSION.tar.xz
if [ ! -f "$tarball" ]; then
    echo "fetch-qemu: downloading $UPSTREAM_URL"
    curl -fL -o "$tarball.part" "$UPSTREAM_URL" || wget -O "$tarball.part" "$UPSTREAM_URL" \
        || die "cannot download $UPSTREAM_URL"
    mv "$tarball.part" "$tarball"
fi
check_sha256 "$tarball" "$UPSTREAM_SHA256"
unpack "$tarball"
echo "upstream $QEMU_VERSION" > "$dest/.vpcnet-pristine"
