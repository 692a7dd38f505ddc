#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# carrier: how each Ethernet interface's carrier evolves after
# `ip link set IF up`, sampled every 100 ms.  Linux's tulip reports
# carrier as soon as the interface is up, before it has looked, and
# corrects it on its first media timer tick (3 s later): a card with its
# cable in stays at 1, one "Not connected" (no netdev) drops to 0.
#
# Arguments: seconds=N, how long to watch (default 12).
# Results: count; per interface N (0-based, name order): nic.N.mac,
# nic.N.changes (each change as VALUE@MS, milliseconds after `ip link set
# up`, the first sample included), nic.N.carrier (the value at the end);
# dmesg.stop_failed, dmesg.debug (see nic.sh).

# shellcheck source=../lib.sh
. /usr/lib/vpcnet/lib.sh

# uptime_ms: the time since boot, in milliseconds (busybox date has only
# seconds; /proc/uptime has hundredths).
uptime_ms() {
    awk '{ split($1, t, "."); print t[1] * 1000 + t[2] * 10 }' /proc/uptime
}

watch=$(($(arg seconds 12) * 1000))
ifaces=$(eth_ifaces)
n=0
for iface in $ifaces; do
    result "nic.$n.mac" "$(cat "/sys/class/net/$iface/address")"
    n=$((n + 1))
done
result count "$n"

# All up at once, then sample them together; the log of changes of each
# interface is kept in $VPCNET_RUN/carrier.IFACE.
start=$(uptime_ms)
for iface in $ifaces; do
    ip link set "$iface" up
    : >"$VPCNET_RUN/carrier.$iface"
done
while :; do
    now=$(($(uptime_ms) - start))
    [ "$now" -lt "$watch" ] || break
    for iface in $ifaces; do
        value=$(cat "/sys/class/net/$iface/carrier" 2>/dev/null)
        last=$(tail -n1 "$VPCNET_RUN/carrier.$iface" | cut -d@ -f1)
        [ "$value" = "$last" ] || echo "$value@$now" >>"$VPCNET_RUN/carrier.$iface"
    done
    usleep 100000
done

n=0
for iface in $ifaces; do
    result "nic.$n.changes" "$(cat "$VPCNET_RUN/carrier.$iface")"
    result "nic.$n.carrier" "$(cat "/sys/class/net/$iface/carrier" 2>/dev/null)"
    n=$((n + 1))
done
dmesg_count dmesg.debug 'tulip_up(), irq'
dmesg_count dmesg.stop_failed 'tulip_stop_rxtx() failed'
exit 0
