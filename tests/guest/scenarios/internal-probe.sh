#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# internal-probe: a guest on one internal network gets its lease, then
# tries to reach addresses the host names (guests on another internal
# network): ARP requests and pings, all of which should go unanswered.
#
# Host message: targets IP+IP+...
#
# Results: mac, carrier, dhcp ok|fail, dhcp.* (lease), addr,
# route.default, routes, and per target N (0-based): probe.N.ip,
# probe.N.arp.received (ARP replies), probe.N.ping (echo replies
# received), probe.N.neigh (the neighbour entry afterwards).

# shellcheck source=../lib.sh
. /usr/lib/vpcnet/lib.sh

host_channel_open || { result error no-control-channel; exit 1; }
iface=$(first_eth)
[ -n "$iface" ] || { result error no-interface; exit 1; }
iface_up "$iface"
if dhcp_lease "$iface" 5; then
    result dhcp ok
else
    result dhcp fail
    exit 1
fi
report_addr "$iface"

targets=$(host_wait targets 120) || { result error no-targets; exit 1; }
n=0
for target in $(echo "$targets" | tr '+' ' '); do
    p="probe.$n."
    result "${p}ip" "$target"
    arp_check "$iface" "$target" 3 "$p"
    out=$(ping -c 3 -w 4 "$target" 2>&1)
    echo "$out" >"$VPCNET_CONSOLE"
    received=$(echo "$out" | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
    result "${p}ping" "${received:-0}"
    result "${p}neigh" "$(ip neigh show "$target" dev "$iface")"
    n=$((n + 1))
done
result probes "$n"
exit 0
