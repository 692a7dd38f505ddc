#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# internal: one guest of two on a -netdev internal network (each guest
# its own QEMU).  Gets an address, learns its peer's from the host over
# the control channel (the host sends "peer IP" once both have theirs)
# and pings and ARPs it.  Optionally stays pinging while the host kills the
# network's switch daemon, and renews its lease afterwards.
#
# Arguments (vpcnet.args):
#   dhcp_tries=N  DHCP discovers, two seconds apart (default 5)
#   static=A/P    after DHCP (expected to fail, as with dhcp=off), set
#                 this address; without it the lease is the address
#   outage=1      the daemon-kill stage below (DHCP then comes from a
#                 udhcpc that keeps running)
#
# Host messages: peer IP; with outage=1 also go, killed, renew.
#
# Results: carrier, mac, dhcp ok|fail, dhcp.seconds, dhcp.* (lease),
# addr (address/prefix on the interface), route.default (none or the
# route), routes, ping ok|fail with ping.received, arp.received (ARP
# replies from the peer).  With outage=1:
# cping.ready, cping.resume ok|timeout, cping.resume.seconds,
# cping.transmitted, cping.received, cping.max_gap (most echo requests
# lost in a row), cping.after_gap (replies after those), renew ok|fail, renew.ip, renew.via unicast|broadcast,
# rediscover ok|fail, rediscover.* (lease), after.ping ok|fail.  (The
# renewal reports dhcp.* again.)

# shellcheck source=../lib.sh
. /usr/lib/vpcnet/lib.sh

host_channel_open || { result error no-control-channel; exit 1; }
iface=$(first_eth)
[ -n "$iface" ] || { result error no-interface; exit 1; }
iface_up "$iface"

uptime_ds() {
    # Tenths of a second since boot.
    awk '{ printf "%d\n", $1 * 10 }' /proc/uptime
}

seconds_since() {
    local ds=$(($(uptime_ds) - $1))
    echo "$((ds / 10)).$((ds % 10))"
}

# wait_lease SECONDS: until udhcpc's script has recorded a lease.
wait_lease() {
    local n=0
    until lease_field "$iface" ip >/dev/null; do
        [ $n -ge $(($1 * 10)) ] && return 1
        usleep 100000
        n=$((n + 1))
    done
}

lease_file=$VPCNET_RUN/lease.$iface
outage=$(arg outage)
t0=$(uptime_ds)
if [ "$outage" = 1 ]; then
    # A client that stays, so that it can renew after the outage.
    udhcpc -f -i "$iface" -s /etc/udhcpc.script -t 5 -T 2 -A 1 >/tmp/udhcpc.log 2>&1 &
    udhcpc_pid=$!
    if wait_lease 30; then
        result dhcp ok
    else
        result dhcp fail
    fi
elif dhcp_lease "$iface" "$(arg dhcp_tries 5)"; then
    result dhcp ok
else
    result dhcp fail
fi
result dhcp.seconds "$(seconds_since "$t0")"

static=$(arg static)
if [ -n "$static" ]; then
    ip -4 addr flush dev "$iface"
    ip addr add "$static" dev "$iface"
fi
report_addr "$iface"
[ -n "$(iface_addr "$iface")" ] || exit 1

peer=$(host_wait peer 120) || { result error no-peer; exit 1; }
ping_check "$peer" 3 || exit 1
# The probe the guest on another network uses, here where it must work.
arp_check "$iface" "$peer" 3
# The DHCP server's address resolves: clients renew by unicast to it.
arp_check "$iface" 169.254.0.1 2 server.

[ "$outage" = 1 ] || exit 0

# Continuous ping while the host kills the switch daemon.
replies() {
    grep -c 'bytes from' /tmp/cping
}

# wait_replies N SECONDS: until /tmp/cping holds N replies.
wait_replies() {
    local n=0
    while [ "$(replies)" -lt "$1" ]; do
        [ $n -ge $(($2 * 10)) ] && return 1
        usleep 100000
        n=$((n + 1))
    done
}

host_wait go 120 >/dev/null || { result error no-go; exit 1; }
ping -i 0.2 "$peer" >/tmp/cping 2>&1 &
ping_pid=$!
if wait_replies 5 20; then
    result cping.ready ok
else
    result cping.ready fail
    kill "$ping_pid"
    exit 1
fi

host_wait killed 60 >/dev/null || { result error no-killed; kill "$ping_pid"; exit 1; }
t0=$(uptime_ds)
mark=$(replies)
if wait_replies $((mark + 5)) 30; then
    result cping.resume ok
else
    result cping.resume timeout
fi
result cping.resume.seconds "$(seconds_since "$t0")"
kill -INT "$ping_pid"
wait "$ping_pid"
cat /tmp/cping >"$VPCNET_CONSOLE"
result cping.transmitted "$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' /tmp/cping)"
result cping.received "$(sed -n 's/.* \([0-9]*\) packets received.*/\1/p' /tmp/cping)"
# The longest run of lost echo requests, and the replies after it.
sed -n 's/.*seq=\([0-9]*\) .*/\1/p' /tmp/cping | awk '
    NR > 1 && $1 - last - 1 > gap { gap = $1 - last - 1; after = 0 }
    { last = $1; after++ }
    END { print gap + 0, after + 0 }' >/tmp/gap
result cping.max_gap "$(cut -d' ' -f1 /tmp/gap)"
result cping.after_gap "$(cut -d' ' -f2 /tmp/gap)"

# DHCP with the restarted daemon, once the host has looked at its lease
# table: the running client renews (SIGUSR1: a REQUEST for its address,
# unicast to the server, then broadcast if that goes unanswered), then a
# new client starts over with a DISCOVER.
host_wait renew 60 >/dev/null || { result error no-renew; exit 1; }
rm -f "$lease_file"
logged=$(wc -l </tmp/udhcpc.log)
kill -USR1 "$udhcpc_pid"
if wait_lease 20; then
    result renew ok
    result renew.ip "$(lease_field "$iface" ip)"
else
    result renew fail
fi
if tail -n +$((logged + 1)) /tmp/udhcpc.log | grep -q 'broadcasting renew'; then
    result renew.via broadcast
else
    result renew.via unicast
fi
kill "$udhcpc_pid"
wait "$udhcpc_pid"
cat /tmp/udhcpc.log >"$VPCNET_CONSOLE"
if dhcp_lease "$iface" 5 rediscover.; then
    result rediscover ok
else
    result rediscover fail
fi
ping_check "$peer" 3 after. || exit 1
exit 0
