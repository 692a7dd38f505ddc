#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Regenerate patches/NAME from the upstream files as they are now edited in
# build/qemu-src:
#   1. edit the upstream file(s) under build/qemu-src;
#   2. scripts/refresh-patch.sh patches/NNNN-name.patch [new/upstream/file...]
# The description above the first diff is kept.  Pristine copies come from
# the cached source tarball.  The graft's record of the applied patch is
# updated too, since the tree already matches the new patch.  Each upstream
# file must belong to one patch only.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
tree=$top/build/qemu-src
patch=$1
shift
[ -f "$tree/.vpcnet-pristine" ] || { echo "refresh-patch: run make first" >&2; exit 1; }

tarball=$(ls "$top"/build/downloads/qemu_*.orig.tar.xz "$top"/build/downloads/qemu-*.tar.xz 2>/dev/null | head -n1)
[ -n "$tarball" ] || { echo "refresh-patch: no cached QEMU tarball" >&2; exit 1; }
prefix=$(tar -tJf "$tarball" | head -n1 | cut -d/ -f1)

files=$( { [ -f "$patch" ] && sed -n 's|^+++ b/||p' "$patch" | cut -f1; \
           for f in "$@"; do echo "$f"; done; } | sort -u)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

[ -f "$patch" ] && sed '/^--- a\//,$d' "$patch" > "$tmp/header"
[ -s "$tmp/header" ] || printf 'Describe this change.\n\n' > "$tmp/header"
cp "$tmp/header" "$tmp/new"
for f in $files; do
    mkdir -p "$tmp/a/$(dirname "$f")"
    tar -xJf "$tarball" -O "$prefix/$f" > "$tmp/a/$f"
    (cd "$tmp" && diff -u --label "a/$f" --label "b/$f" "a/$f" "$tree/$f") \
        >> "$tmp/new" || true
done
cp "$tmp/new" "$patch"
mkdir -p "$tree/.vpcnet/applied"
cp "$patch" "$tree/.vpcnet/applied/$(basename "$patch")"
echo "refresh-patch: wrote $patch ($(echo $files | wc -w) files)"
