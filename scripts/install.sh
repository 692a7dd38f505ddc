#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Install vpcnet from the build tree (`make install` runs this after
# building; see scripts/make/install.mk for the variables).
#
#   PREFIX   where it is installed (default /usr/local)
#   DESTDIR  staging root for packaging: files go to $DESTDIR$PREFIX/...
#            and the installed programs still work from $PREFIX
#
# What goes where:
#
#   $PREFIX/bin/qemu-system-x86_64     the emulator (dec21140a, -netdev internal...)
#   $PREFIX/bin/qemu-vswitch           internal-network switch daemon (QEMU
#                                      starts it; admins run --list)
#   $PREFIX/bin/vpcnet-mac             the MAC a dec21140a derives (for libvirt)
#   $PREFIX/libexec/qemu-bridge-helper QEMU's -netdev bridge helper (privileged)
#   $PREFIX/libexec/qemu-filter-bridge-helper  -netdev filter-bridge's helper
#                                      (privileged), when built
#   $PREFIX/share/qemu/                keymaps, trace-events-all (QEMU's
#                                      install plan for its data directory)
#   $PREFIX/share/man/man{1,7,8}/      man pages (build/man, from docs/man)
#   $PREFIX/share/doc/vpcnet/          the documentation and the libvirt
#                                      domain XML examples (docs/system/libvirt.rst)
#   ACL files of the privileged helpers, where they were compiled to look
#   (never overwritten; they allow nothing until an admin adds a line)
#
# QEMU is configured relocatable (meson's default): it finds its data
# directory and helpers relative to its own executable, and
# qemu-bridge-helper its ACL (PREFIX/etc/qemu/bridge.conf), so any PREFIX
# works from one build.  Firmware comes from Debian's packages
# (--firmwarepath, absolute).  Only qemu-filter-bridge-helper's ACL is
# fixed at build time (/etc/qemu/filter-bridge.conf).
#
# The privileged step: run as root, this makes qemu-bridge-helper
# CAP_NET_ADMIN-capable (setcap; setuid root without libcap2-bin) and
# qemu-filter-bridge-helper setuid root (its keeper needs root ids, not
# just capabilities).  Otherwise it prints the commands for root.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
build=$repo/build
obj=$build/qemu-build
src=$build/qemu-src

PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
case "$PREFIX" in /*) ;; *) echo "install: PREFIX must be absolute: $PREFIX" >&2; exit 1 ;; esac
PREFIX=${PREFIX%/}
[ -n "$PREFIX" ] || PREFIX=/
bindir=$PREFIX/bin
libexecdir=$PREFIX/libexec
datadir=$PREFIX/share/qemu
mandir=$PREFIX/share/man
docdir=$PREFIX/share/doc/vpcnet

say() { echo "install: $*"; }
die() { echo "install: error: $*" >&2; exit 1; }

[ -f "$obj/config-host.h" ] || die "no configured build in $obj (run make first)"
config() {
    sed -n "s/^#define $1 \"\\(.*\\)\"\$/\\1/p" "$obj/config-host.h"
}
configured_prefix=$(config CONFIG_PREFIX)
configured_datadir=$(config CONFIG_QEMU_DATADIR)
# qemu-bridge-helper finds its ACL like QEMU finds its data: relative to
# its own executable when the configured path is under the prefix.
confdir=$(config CONFIG_QEMU_CONFDIR)
case "$confdir" in
"$configured_prefix"/*) bridge_acl=$PREFIX/${confdir#"$configured_prefix"/}/bridge.conf ;;
*) bridge_acl=$confdir/bridge.conf ;;
esac
filter_bridge_acl=$(sed -n 's/^#define VPC_ACL_DEFAULT_FILE *"\(.*\)"$/\1/p' \
                    "$repo/net/vpcnet/bridge/acl.h" 2>/dev/null || true)
grep -q '^#define CONFIG_RELOCATABLE' "$obj/config-host.h" ||
    [ "$PREFIX" = "$configured_prefix" ] ||
    die "this QEMU is not relocatable: install it to PREFIX=$configured_prefix"

installed=()
# put MODE SOURCE DEST: install one file, creating directories.
put() {
    install -D -m "$1" "$2" "$DESTDIR$3"
    installed+=("$3")
}

# --- Programs ------------------------------------------------------------

put 755 "$obj/qemu-system-x86_64" "$bindir/qemu-system-x86_64"
put 755 "$obj/net/vpcnet/qemu-vswitch" "$bindir/qemu-vswitch"
[ -x "$build/vpcnet-mac" ] && put 755 "$(readlink -f "$build/vpcnet-mac")" "$bindir/vpcnet-mac"
# vpcnet-nat: -netdev nat's daemon, once it is built.
for nat in "$obj/net/vpcnet/vpcnet-nat" "$obj/net/vpcnet/nat/vpcnet-nat"; do
    [ -x "$nat" ] && put 755 "$nat" "$bindir/vpcnet-nat"
done
put 755 "$obj/qemu-bridge-helper" "$libexecdir/qemu-bridge-helper"
filter_helper=$obj/net/vpcnet/bridge/qemu-filter-bridge-helper
[ -x "$filter_helper" ] && put 755 "$filter_helper" "$libexecdir/qemu-filter-bridge-helper"

# --- QEMU's data directory (keymaps, trace-events-all): its own plan -----

while IFS=$'\t' read -r from to; do
    put 644 "$from" "$datadir/${to#"$configured_datadir"/}"
done < <(python3 - "$obj/meson-info/intro-installed.json" "$configured_datadir" <<'EOF'
import json, sys
plan = json.load(open(sys.argv[1]))
for source, dest in sorted(plan.items(), key=lambda kv: kv[1]):
    if dest.startswith(sys.argv[2] + '/'):
        print('%s\t%s' % (source, dest))
EOF
)
[ -f "$DESTDIR$datadir/keymaps/en-us" ] || die "QEMU's install plan has no keymaps"

# --- Man pages and documentation ------------------------------------------

# is_installed PROGRAM: whether a program of that name went to bin or libexec.
is_installed() {
    local f
    for f in "${installed[@]}"; do
        case "$f" in "$bindir/$1" | "$libexecdir/$1") return 0 ;; esac
    done
    return 1
}
for page in "$build"/man/*.[1-8]; do
    [ -e "$page" ] || continue
    name=${page##*/}
    # A program's page only when the program is installed.
    case "$name" in
    *.1|*.8) is_installed "${name%.*}" || continue ;;
    esac
    put 644 "$page" "$mandir/man${name##*.}/$name"
done
while IFS= read -r -d '' rst; do
    put 644 "$rst" "$docdir/${rst#"$repo"/docs/}"
done < <(find "$repo/docs/system" -name '*.rst' -print0)
for xml in "$repo"/tests/libvirt/xml/*.xml; do
    # The examples name the emulator at the default prefix.
    install -d "$DESTDIR$docdir/libvirt"
    sed "s|<emulator>/usr/local/bin/|<emulator>$bindir/|" "$xml" \
        >"$DESTDIR$docdir/libvirt/${xml##*/}"
    installed+=("$docdir/libvirt/${xml##*/}")
done

# --- ACL files of the privileged helpers ----------------------------------

# acl FILE TEXT: a commented ACL that allows nothing, unless one exists.
acl() {
    if [ -e "$DESTDIR$1" ]; then
        say "kept $DESTDIR$1"
        return
    fi
    install -d "$DESTDIR$(dirname "$1")"
    printf '%s\n' "$2" >"$DESTDIR$1"
    chmod 644 "$DESTDIR$1"
    installed+=("$1")
}
acl "$bridge_acl" "# qemu-bridge-helper: the bridges unprivileged users may attach
# taps to (-netdev bridge, libvirt's <interface type='bridge'> in session
# mode).  One rule a line: allow BRIDGE, deny BRIDGE, allow all, deny all,
# include FILE.  Nothing is allowed until a line says so, e.g.
#allow br0"
if [ -e "$DESTDIR$libexecdir/qemu-filter-bridge-helper" ] && [ -n "$filter_bridge_acl" ]; then
    acl "$filter_bridge_acl" "# qemu-filter-bridge-helper: the host adapters -netdev filter-bridge may
# bridge guests onto.  One rule a line: allow IFNAME, deny IFNAME,
# allow all, deny all; deny wins; a line that is none of these makes the
# helper refuse everything.  Nothing is allowed until a line says so, e.g.
#allow eth0"
fi

# --- The privileged step --------------------------------------------------

steps=()
bridge_helper=$DESTDIR$libexecdir/qemu-bridge-helper
filter_bridge_helper=$DESTDIR$libexecdir/qemu-filter-bridge-helper
if command -v setcap >/dev/null; then
    steps+=("setcap cap_net_admin+ep $bridge_helper")
else
    steps+=("chown root:root $bridge_helper" "chmod 4755 $bridge_helper")
fi
if [ -e "$filter_bridge_helper" ]; then
    steps+=("chown root:root $filter_bridge_helper" "chmod 4755 $filter_bridge_helper")
fi
if [ "$(id -u)" = 0 ]; then
    for step in "${steps[@]}"; do
        # shellcheck disable=SC2086 # a command line
        $step || die "privileged step failed: $step"
    done
    say "privileged helpers: ${steps[*]}"
else
    echo "install: the privileged helpers need, as root:"
    printf '    %s\n' "${steps[@]}"
fi

say "${#installed[@]} files under ${DESTDIR:-}$PREFIX"
[ "$PREFIX" = "$configured_prefix" ] ||
    say "relocated from the configured prefix $configured_prefix (QEMU finds its files from where it is)"
say "ACLs: $bridge_acl${filter_bridge_acl:+ and $filter_bridge_acl} (edit to allow bridges/adapters)"
