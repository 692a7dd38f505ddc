#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# iperf: throughput to the host's iperf3 server, guest sending (tx) and
# guest receiving (rx, iperf3 -R).
#
# Arguments: server=ADDR, port=N, seconds=N (default 10).
# Results: dhcp, tx.mbps, rx.mbps (receiver-side figures).

# shellcheck source=../lib.sh
. /usr/lib/vpcnet/lib.sh

iface=$(first_eth)
[ -n "$iface" ] || { result error no-interface; exit 1; }
nic_info "$iface"
ip link set "$iface" up
wait_carrier "$iface" 15
dhcp_lease "$iface" 5 || { result dhcp fail; exit 1; }
result dhcp ok

server=$(arg server 10.0.2.2)
port=$(arg port 5201)
secs=$(arg seconds 10)

# The receiver's summary line: "... 123 Mbits/sec ... receiver".
mbps() {
    sed -n 's/.* \([0-9.]*\) Mbits\/sec.*receiver.*/\1/p' | tail -n1
}

out=$(iperf3 -c "$server" -p "$port" -t "$secs" -f m 2>&1)
echo "$out" >"$VPCNET_CONSOLE"
result tx.mbps "$(echo "$out" | mbps)"
out=$(iperf3 -c "$server" -p "$port" -t "$secs" -f m -R 2>&1)
echo "$out" >"$VPCNET_CONSOLE"
result rx.mbps "$(echo "$out" | mbps)"
exit 0
