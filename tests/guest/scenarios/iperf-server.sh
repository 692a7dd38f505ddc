#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# iperf-server: the far end of a guest-to-guest iperf3 run (make
# bench-switch); the other guest runs the iperf scenario against it.
# Gets an address, serves iperf3 and never finishes: the host ends the
# boot once the client is done.
#
# Arguments: port=N (default 5201); dhcpd=ADDR when nobody serves DHCP on
# the segment (-netdev dgram): take ADDR/24 and lease ADDR's .10 to .50
# with busybox udhcpd; without it, get a lease like the client does.
# Results: dhcp, ip, iperf.ready (the server listens).

# shellcheck source=../lib.sh
. /usr/lib/vpcnet/lib.sh

iface=$(first_eth)
[ -n "$iface" ] || { result error no-interface; exit 1; }
nic_info "$iface"
ip link set "$iface" up
wait_carrier "$iface" 15

port=$(arg port 5201)
dhcpd=$(arg dhcpd)
if [ -n "$dhcpd" ]; then
    net=${dhcpd%.*}
    ip addr add "$dhcpd/24" dev "$iface"
    cat >/tmp/udhcpd.conf <<EOF
start $net.10
end $net.50
interface $iface
lease_file /tmp/udhcpd.leases
option subnet 255.255.255.0
EOF
    : >/tmp/udhcpd.leases
    udhcpd -S /tmp/udhcpd.conf || { result dhcpd fail; exit 1; }
    result dhcp static
else
    dhcp_lease "$iface" 5 || { result dhcp fail; exit 1; }
    result dhcp ok
fi
result ip "$(iface_addr "$iface")"

iperf3 -s -p "$port" >"$VPCNET_CONSOLE" 2>&1 &
server=$!
n=0
while ! netstat -ltn 2>/dev/null | grep -q ":$port "; do
    [ $n -ge 50 ] && { result iperf.ready fail; exit 1; }
    usleep 100000
    n=$((n + 1))
done
result iperf.ready ok
wait "$server"
result iperf.exit $?
exit 1
