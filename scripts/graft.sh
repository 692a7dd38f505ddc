#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Graft vpcnet into an unpacked QEMU tree ($1, default build/qemu-src):
#   - every file of ours that lives where it lands in QEMU's tree (hw/,
#     net/, tests/qtest/, docs/) is symlinked into the tree, so editing it
#     here is seen by ninja and rebuilds only what depends on it;
#   - the patches in patches/ are applied, in order, to the upstream files
#     we must touch.
# Grafting is idempotent.  A copy of every applied patch is kept in
# $tree/.vpcnet/applied; when a patch changes or disappears, the old copy
# is reverse-applied first, so only the touched upstream files change.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
tree=${1:-$top/build/qemu-src}
tree=$(cd "$tree" && pwd)
state=$tree/.vpcnet
applied=$state/applied
mkdir -p "$applied"

die() { echo "graft: $*" >&2; exit 1; }

# Our files: tracked by git when this is a checkout, else everything under
# the grafted directories.
list_ours() {
    cd "$top"
    if git rev-parse --git-dir >/dev/null 2>&1; then
        { git ls-files -- hw net tests/qtest docs
          git ls-files --others --exclude-standard -- hw net tests/qtest docs; } | sort -u
    else
        find hw net tests/qtest docs -type f 2>/dev/null | sort
    fi
}

# 1. Symlinks.  An upstream file at one of our paths is an error: changes
# to upstream files belong in patches/.
list_ours > "$state/files.new"
while IFS= read -r f; do
    [ -e "$top/$f" ] || continue
    dst=$tree/$f
    if [ -L "$dst" ]; then
        [ "$(readlink "$dst")" = "$top/$f" ] && continue
        rm -f "$dst"
    elif [ -e "$dst" ]; then
        die "$f exists upstream; change it with a patch in patches/, not a file of ours"
    fi
    mkdir -p "$(dirname "$dst")"
    ln -s "$top/$f" "$dst"
done < "$state/files.new"
# Remove links to files we no longer have.
if [ -f "$state/files" ]; then
    comm -23 "$state/files" "$state/files.new" | while IFS= read -r f; do
        [ -L "$tree/$f" ] && rm -f "$tree/$f"
    done
fi
mv "$state/files.new" "$state/files"

# 2. Patches.  Reverse what changed or went away (newest first), then apply
# what is new, in series order.
ls "$applied" | sort -r | while IFS= read -r p; do
    if ! cmp -s "$applied/$p" "$top/patches/$p" 2>/dev/null; then
        echo "graft: reverting old $p"
        patch -d "$tree" -p1 -R -s -f < "$applied/$p" >/dev/null \
            || die "cannot revert the old $p; remove $tree and run make again"
        rm -f "$applied/$p"
    fi
done
for path in "$top"/patches/*.patch; do
    [ -e "$path" ] || continue
    p=$(basename "$path")
    cmp -s "$path" "$applied/$p" 2>/dev/null && continue
    if ! out=$(patch -d "$tree" -p1 -N -f --dry-run < "$path" 2>&1); then
        # The files whose hunks failed (or that are missing).
        failed=$(printf '%s\n' "$out" | awk '
            /^(checking|patching) file / { file = $3 }
            /FAILED|No file to patch|can.t find file/ { if (file != "" && !seen[file]++) printf "%s%s", (n++ ? " " : ""), file }')
        printf '%s\n' "$out" >&2
        die "patches/$p no longer applies to QEMU $(cat "$tree/VERSION"): ${failed:-see above}; refresh it (scripts/refresh-patch.sh)"
    fi
    echo "graft: applying $p"
    patch -d "$tree" -p1 -N -f -s < "$path"
    cp "$path" "$applied/$p"
done
