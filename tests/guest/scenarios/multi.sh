#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# multi: every Ethernet interface gets its own lease and pings its own
# gateway (each NIC sits on its own network).
#
# Results: count, and per interface N (0-based, name order): nic.N.driver,
# nic.N.mac, nic.N.dhcp ok|fail, nic.N.ip, nic.N.ping ok|fail;
# dmesg.stop_failed, dmesg.debug (see nic.sh).

# shellcheck source=../lib.sh
. /usr/lib/vpcnet/lib.sh

n=0
rc=0
for iface in $(eth_ifaces); do
    p="nic.$n."
    nic_info "$iface" "$p"
    ip link set "$iface" up
    wait_carrier "$iface" 15
    if dhcp_lease "$iface" 5 "${p}dhcp."; then
        result "${p}dhcp" ok
        result "${p}ip" "$(iface_addr "$iface")"
        out=$(ping -I "$iface" -c 2 -w 9 "$(lease_field "$iface" router)" 2>&1)
        if echo "$out" | grep -q ' [1-9][0-9]* packets received'; then
            result "${p}ping" ok
        else
            result "${p}ping" fail
            rc=1
        fi
    else
        result "${p}dhcp" fail
        rc=1
    fi
    n=$((n + 1))
done
result count "$n"
dmesg_count dmesg.debug 'tulip_up(), irq'
dmesg_count dmesg.stop_failed 'tulip_stop_rxtx() failed'
exit $rc
