#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Regenerate patches/NAME from the upstream files as they are now edited in
# build/qemu-src:
#   1. edit the upstream file(s) under build/qemu-src;
#   2. scripts/refresh-patch.sh patches/NNNN-name.patch [new/upstream/file...]
# The description above the first diff is kept.  The patch is the
# difference its own edits make: the "before" side is the cached source
# tarball's copy with the patches that come before this one applied, the
# "after" side the file in build/qemu-src with the patches that come after
# it reverse-applied, so several patches may touch one upstream file (each
# keeping to its own hunks).  The graft's record of the applied patch is
# updated too, since the tree already matches the new patch.
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

# The other patches of the series, before and after this one.
name=$(basename "$patch")
before= after=
for p in "$top"/patches/*.patch; do
    [ -e "$p" ] && [ "$(basename "$p")" != "$name" ] || continue
    if [ "$(basename "$p")" \< "$name" ]; then
        before="$before $p"
    else
        after="$p $after"       # newest first, for reverting
    fi
done
touched() { sed -n 's|^+++ b/||p' "$@" /dev/null | cut -f1; }
# a/: pristine files, then the earlier patches.
for f in $(echo $files; touched $before) ; do
    [ -e "$tmp/a/$f" ] && continue
    mkdir -p "$tmp/a/$(dirname "$f")"
    tar -xJf "$tarball" -O "$prefix/$f" > "$tmp/a/$f" 2>/dev/null || : > "$tmp/a/$f"
done
for p in $before; do
    patch -d "$tmp/a" -p1 -s -f < "$p" >/dev/null \
        || { echo "refresh-patch: $(basename "$p") does not apply to pristine QEMU" >&2; exit 1; }
done
# b/: the tree's files, then the later patches taken out.
for f in $(echo $files; touched $after); do
    [ -e "$tmp/b/$f" ] && continue
    mkdir -p "$tmp/b/$(dirname "$f")"
    cp "$tree/$f" "$tmp/b/$f" 2>/dev/null || : > "$tmp/b/$f"
done
for p in $after; do
    patch -d "$tmp/b" -p1 -R -s -f < "$p" >/dev/null \
        || { echo "refresh-patch: cannot take $(basename "$p") out of the tree's files" >&2; exit 1; }
done
for f in $files; do
    (cd "$tmp" && diff -u --label "a/$f" --label "b/$f" "a/$f" "b/$f") \
        >> "$tmp/new" || true
done
cp "$tmp/new" "$patch"
mkdir -p "$tree/.vpcnet/applied"
cp "$patch" "$tree/.vpcnet/applied/$(basename "$patch")"
echo "refresh-patch: wrote $patch ($(echo $files | wc -w) files)"
