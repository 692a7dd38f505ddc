#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# filter: address filtering as the guest sees it.  The interface joins
# more multicast groups than the 21140A's 16-entry perfect filter holds
# (20 IPv6 addresses, one solicited-node group each), so Linux switches
# the chip to hash filtering.  For each phase the host sends frames to one
# kind of destination while we count what the driver received.
#
# Phases: joined (a joined group), unjoined (a group we did not join),
# foreign (another station's unicast), promisc (the same in promiscuous
# mode).  Results: groups, ready <phase>, rx.<phase>, dmesg.stop_failed,
# dmesg.debug (see nic.sh).

# shellcheck source=../lib.sh
. /usr/lib/vpcnet/lib.sh

iface=$(first_eth)
[ -n "$iface" ] || { result error no-interface; exit 1; }
ip link set "$iface" up
for n in $(seq 1 20); do
    ip -6 addr add "fd00::1:$n/64" dev "$iface"
done
sleep 2
result groups "$(grep -c " $iface " /proc/net/dev_mcast)"

rx() {
    cat "/sys/class/net/$iface/statistics/rx_packets"
}

for phase in joined unjoined foreign promisc; do
    [ "$phase" = promisc ] && ip link set "$iface" promisc on
    before=$(rx)
    result ready "$phase"
    sleep "$(arg wait 3)"
    result "rx.$phase" $(($(rx) - before))
done
dmesg_count dmesg.debug 'tulip_up(), irq'
dmesg_count dmesg.stop_failed 'tulip_stop_rxtx() failed'
exit 0
