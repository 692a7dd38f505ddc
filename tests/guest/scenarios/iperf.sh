#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# iperf: throughput to the host's iperf3 server, guest sending (tx) and
# guest receiving (rx, iperf3 -R), with what the driver and the kernel
# counted meanwhile, so a benchmark can say where the time went.
#
# Arguments: server=ADDR, port=N, seconds=N (default 10), directions=
# tx+rx (the default: both, in that order), tx or rx.
# Results: dhcp, tx.mbps, rx.mbps (receiver-side figures); per direction
# D, the changes over its run of: D.irq (the interface's interrupts in
# /proc/interrupts), D.rx_packets, D.tx_packets, D.rx_dropped,
# D.rx_missed_errors, D.rx_errors, D.rx_fifo_errors (the driver's
# counters), D.softnet_processed, D.softnet_squeezed (/proc/net/softnet_stat:
# frames NAPI handed up, polls that ran out of budget or time), D.cpu_busy
# (hundredths of the guest CPU's time not idle, from /proc/stat) and
# D.cpu_softirq.

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

# counters: one line of "name value" pairs for the interface and the CPU.
counters() {
    local s="/sys/class/net/$iface/statistics" c
    # The interface's line in /proc/interrupts: the sum of its CPU columns.
    awk -v ifc="$iface:" -v ifn="$iface" '
        { for (i = 2; i <= NF; i++) if ($i == ifn || $i == ifc) hit = 1 }
        hit { n = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i;
              print "irq", n; exit }' /proc/interrupts
    for c in rx_packets tx_packets rx_dropped rx_missed_errors rx_errors rx_fifo_errors; do
        echo "$c $(cat "$s/$c")"
    done
    # softnet_stat: hex columns, per CPU: processed, dropped, time_squeeze.
    awk 'function hex(s,  i, n, c) { n = 0; s = tolower(s)
             for (i = 1; i <= length(s); i++) {
                 c = index("0123456789abcdef", substr(s, i, 1)) - 1; n = n * 16 + c }
             return n }
         { p += hex($1); q += hex($3) }
         END { print "softnet_processed", p; print "softnet_squeezed", q }' \
        /proc/net/softnet_stat
    # /proc/stat cpu: user nice system idle iowait irq softirq
    awk '/^cpu / { print "cpu_busy", $2 + $3 + $4 + $7 + $8; print "cpu_softirq", $8; exit }' \
        /proc/stat
}

# report_delta DIR BEFORE AFTER: results DIR.name for each counter.
report_delta() {
    echo "$2" >/tmp/counters.before
    echo "$3" | while read -r name value; do
        old=$(awk -v n="$name" '$1 == n { print $2 }' /tmp/counters.before)
        result "$1.$name" $((value - ${old:-0}))
    done
}

for dir in $(arg directions tx+rx | tr + ' '); do
    flags=
    [ "$dir" = rx ] && flags=-R
    before=$(counters)
    out=$(iperf3 -c "$server" -p "$port" -t "$secs" -f m $flags 2>&1)
    after=$(counters)
    echo "$out" >"$VPCNET_CONSOLE"
    result "$dir.mbps" "$(echo "$out" | mbps)"
    report_delta "$dir" "$before" "$after"
done
exit 0
