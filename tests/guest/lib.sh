# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=dash
#
# Shell helpers for the guest's /init, the udhcpc script and scenarios
# (busybox ash).  Installed in the guest as /usr/lib/vpcnet/lib.sh; a
# scenario starts with
#
#     . /usr/lib/vpcnet/lib.sh
#
# Result protocol: each finding is one console line
#
#     VPCNET-RESULT <key> <value>
#
# The key has no blanks; the value is the rest of the line (newlines are
# folded into blanks).  The host collects them into a dict, so a key
# reported twice keeps its last value.

VPCNET_RUN=/run/vpcnet
# Results go straight to the console, so that a result reported from
# inside $(...) or a pipeline still reaches the host.
VPCNET_CONSOLE=${VPCNET_CONSOLE:-/dev/console}

# result KEY VALUE...: report one finding to the host.
result() {
    local key="$1"
    shift
    printf 'VPCNET-RESULT %s %s\n' "$key" "$(echo "$*" | tr '\n' ' ' | sed 's/ *$//')" \
        >"$VPCNET_CONSOLE"
}

# log MESSAGE...: a human-readable line in the console log (not parsed).
log() {
    echo "vpcnet: $*" >"$VPCNET_CONSOLE"
}

# dump_dmesg [LINES]: the end of the kernel log, into the console log
# (init keeps kernel messages off the console while scenarios run).
dump_dmesg() {
    dmesg | tail -n "${1:-25}" | sed 's/^/dmesg: /' >"$VPCNET_CONSOLE"
}

# dmesg_count KEY PATTERN: report as KEY how many kernel log lines match
# PATTERN (a basic regex), and copy those lines into the console log.
dmesg_count() {
    result "$1" "$(dmesg | grep -c -- "$2")"
    dmesg | grep -- "$2" | sed 's/^/dmesg: /' >"$VPCNET_CONSOLE"
}

# arg KEY [DEFAULT]: value of KEY from vpcnet.args=key=value,key=value.
arg() {
    local line
    if [ -f "$VPCNET_RUN/args" ]; then
        line=$(grep -m1 "^$1=" "$VPCNET_RUN/args")
        if [ -n "$line" ]; then
            echo "${line#*=}"
            return 0
        fi
    fi
    echo "${2:-}"
}

# eth_ifaces: Ethernet interfaces backed by a device, in name order.
eth_ifaces() {
    local dev name
    for dev in /sys/class/net/*; do
        name=${dev##*/}
        # type 1 is ARPHRD_ETHER; a device link excludes virtual ones.
        [ "$(cat "$dev/type" 2>/dev/null)" = 1 ] || continue
        [ -e "$dev/device" ] || continue
        echo "$name"
    done | sort
}

# first_eth: the first Ethernet interface, or nothing.
first_eth() {
    eth_ifaces | head -n1
}

# wait_for_iface IFACE SECONDS: wait until IFACE exists.
wait_for_iface() {
    local n=0
    while [ ! -e "/sys/class/net/$1" ]; do
        [ "$n" -ge "$(($2 * 10))" ] && return 1
        usleep 100000
        n=$((n + 1))
    done
}

# wait_carrier IFACE SECONDS: wait until the link of IFACE (already up) is up.
wait_carrier() {
    local n=0
    while [ "$(cat "/sys/class/net/$1/carrier" 2>/dev/null)" != 1 ]; do
        [ "$n" -ge "$(($2 * 10))" ] && return 1
        usleep 100000
        n=$((n + 1))
    done
}

# nic_info IFACE [PREFIX]: report driver, MAC address and, when the driver
# exposes them, link speed and duplex, under keys PREFIX<name>.
nic_info() {
    local iface="$1" prefix="${2:-}" sys="/sys/class/net/$1" value
    value=$(readlink "$sys/device/driver" 2>/dev/null)
    result "${prefix}driver" "${value##*/}"
    result "${prefix}mac" "$(cat "$sys/address" 2>/dev/null)"
    # Reading speed fails (EINVAL) or gives -1 when the driver cannot tell.
    value=$(cat "$sys/speed" 2>/dev/null) && [ -n "$value" ] && [ "$value" != -1 ] &&
        result "${prefix}speed" "$value"
    value=$(cat "$sys/duplex" 2>/dev/null) && [ -n "$value" ] && [ "$value" != unknown ] &&
        result "${prefix}duplex" "$value"
    return 0
}

# iface_up IFACE: report what nic_info finds, set IFACE up and report
# "carrier 1" once its link is up within 15 s, else "carrier 0".
iface_up() {
    nic_info "$1"
    ip link set "$1" up
    if wait_carrier "$1" 15; then
        result carrier 1
    else
        result carrier 0
    fi
}

# report_addr IFACE: report IFACE's IPv4 address with prefix ("addr"),
# the default route or "none" ("route.default") and the routing table
# on one line ("routes").
report_addr() {
    local route
    result addr "$(ip -4 -o addr show dev "$1" | awk '{ print $4; exit }')"
    # (busybox ip prints every route for "ip route show default")
    route=$(ip route | grep '^default')
    result route.default "${route:-none}"
    result routes "$(ip route | sed 's/ *$//' | paste -s -d ';')"
}

# dhcp_lease IFACE [TRIES] [PREFIX]: get a lease with udhcpc, at most TRIES
# discovers two seconds apart.  /etc/udhcpc.script configures IFACE, reports
# the lease fields under PREFIX (default "dhcp.") and keeps them in
# /run/vpcnet/lease.IFACE for lease_field.
dhcp_lease() {
    local iface="$1" tries="${2:-5}"
    VPCNET_DHCP_PREFIX=${3:-dhcp.} udhcpc -i "$iface" -s /etc/udhcpc.script \
        -n -q -t "$tries" -T 2 -A 1 >"$VPCNET_CONSOLE" 2>&1
}

# lease_field IFACE FIELD: a field (ip, mask, router, dns, lease, serverid)
# of the lease dhcp_lease got on IFACE.
lease_field() {
    local line
    line=$(grep -m1 "^$2=" "$VPCNET_RUN/lease.$1" 2>/dev/null) || return 1
    echo "${line#*=}"
}

# iface_addr IFACE: the first IPv4 address of IFACE, without prefix length.
iface_addr() {
    ip -4 -o addr show dev "$1" 2>/dev/null | awk '{ split($4, a, "/"); print a[1]; exit }'
}

# ping_check TARGET COUNT [PREFIX]: ping TARGET COUNT times (bounded by a
# deadline), report PREFIX"ping" ok|fail and the number of replies.
ping_check() {
    local target="$1" count="$2" prefix="${3:-}" out received
    out=$(ping -c "$count" -w $((count * 2 + 5)) "$target" 2>&1)
    echo "$out" >"$VPCNET_CONSOLE"
    received=$(echo "$out" | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
    result "${prefix}ping.received" "${received:-0}"
    if [ "${received:-0}" -gt 0 ]; then
        result "${prefix}ping" ok
        return 0
    fi
    result "${prefix}ping" fail
    return 1
}

# arp_check IFACE TARGET COUNT [PREFIX]: send COUNT ARP requests for
# TARGET out of IFACE, report PREFIX"arp.received" (the replies);
# succeed when one came.
arp_check() {
    local out received
    out=$(arping -I "$1" -c "$3" -w $(($3 + 1)) "$2" 2>&1)
    echo "$out" >"$VPCNET_CONSOLE"
    received=$(echo "$out" | sed -n 's/^Received \([0-9]*\) response.*/\1/p')
    result "${4:-}arp.received" "${received:-0}"
    [ "${received:-0}" -gt 0 ]
}

# Host control channel (a Guest run with control=True): the host writes
# "KEY VALUE" lines to the guest's second serial port, ttyS1.
VPCNET_CONTROL=${VPCNET_CONTROL:-/dev/ttyS1}

# host_channel_open: open the control port on fd 8 and tell the host,
# which holds its messages until then (the port drops what arrives
# before it is opened).  Call once, in the scenario's own shell.
host_channel_open() {
    exec 8<>"$VPCNET_CONTROL" || return 1
    stty -F "$VPCNET_CONTROL" -echo -icrnl 2>/dev/null
    echo "VPCNET-CHANNEL ready" >"$VPCNET_CONSOLE"
}

# host_wait KEY [SECONDS]: wait (default 60 s) for the host to send KEY;
# print its value.  Lines for other keys are kept for their own host_wait.
host_wait() {
    local key="$1" end line k now
    [ -e /proc/self/fd/8 ] || { log "host_wait: no control channel"; return 1; }
    end=$(($(cut -d. -f1 /proc/uptime) + ${2:-60}))
    log "waiting for the host: $key"
    while [ ! -f "$VPCNET_RUN/host.$key" ]; do
        now=$(cut -d. -f1 /proc/uptime)
        [ "$now" -lt "$end" ] || return 1
        # shellcheck disable=SC3045 # busybox ash has read -t
        IFS= read -r -t $((end - now)) line <&8 || continue
        k=${line%% *}
        [ -n "$k" ] || continue
        if [ "$k" = "$line" ]; then
            printf '\n' >"$VPCNET_RUN/host.$k"
        else
            printf '%s\n' "${line#* }" >"$VPCNET_RUN/host.$k"
        fi
    done
    cat "$VPCNET_RUN/host.$key"
    rm -f "$VPCNET_RUN/host.$key"
}
