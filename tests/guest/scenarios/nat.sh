#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# nat: a guest behind three -netdev nat netdevs (tests/guest/test_nat.py).
# The card with MAC mac0 (a dec21140a) is on a nat netdev with
# host-loopback=on, the one with mac1 (an e1000) on one with the
# defaults, where the host is closed, and the one with mac2 (a
# virtio-net) on a third with host-loopback=on.
#
# Arguments (vpcnet.args):
#   mac0, mac1, mac2  the three cards
#   name          a name the host's resolver knows (via the virtual DNS)
#   url           where to download /blob from (by name)
#   url2          where to download /small from through mac2
#   up_addr, up_port  where to upload 4 MB to through mac2
#   lo_port       a server on the host's 127.0.0.1
#   host_addrs    the host's own addresses, '+'-separated ...
#   host_port     ... where a server listens too
#   outside       an address outside the host to ping
#   fwd_port      the guest port the host forwards to (default 8080)
#
# Results: lb.*, cl.* and vio.* (nic_info of the cards), dhcp0.*, dhcp1.*
# and dhcp2.* (their leases), dhcp ok|fail, small ok|fail, small.sha256,
# up.sha256, up ok|fail, resolv, dns.addr, gw.ping*, outside.ping*,
# open.gateway (through mac0's netdev), closed.gateway (through mac1's),
# closed.N.cl and closed.N.lb (host address N through either), fwd.token,
# fwd.ready, fwd.host, download ok|fail, download.sha256,
# download.bytes, download.seconds.  Each probe is "refused" (an RST came
# at once), "open" or what nc said.  Host messages: up_checked, fwd_done.

# shellcheck source=../lib.sh
. /usr/lib/vpcnet/lib.sh

host_channel_open || { result error no-control-channel; exit 1; }

# iface_by_mac MAC: the interface with that address.
iface_by_mac() {
    for i in $(eth_ifaces); do
        [ "$(cat "/sys/class/net/$i/address")" = "$1" ] && echo "$i"
    done
}

# probe KEY ADDR PORT: connect to ADDR:PORT and report how that went.
probe() {
    local out rc
    out=$(timeout 10 nc -w 5 "$2" "$3" </dev/null 2>&1)
    rc=$?
    echo "probe $1 $2:$3: rc $rc: $out" >"$VPCNET_CONSOLE"
    case "$out" in
    *refused*) result "$1" refused ;;
    *) if [ "$rc" = 0 ]; then result "$1" open; else result "$1" "rc $rc: $out"; fi ;;
    esac
}

lb=$(iface_by_mac "$(arg mac0)")
cl=$(iface_by_mac "$(arg mac1)")
vio=$(iface_by_mac "$(arg mac2)")
if [ -z "$lb" ] || [ -z "$cl" ] || [ -z "$vio" ]; then
    log "no cards $(arg mac0), $(arg mac1), $(arg mac2) (have: $(eth_ifaces))"
    dump_dmesg
    result error no-interface
    exit 1
fi
nic_info "$lb" lb.
nic_info "$cl" cl.
nic_info "$vio" vio.
for i in "$lb" "$cl" "$vio"; do
    ip link set "$i" up
done
for i in "$lb" "$cl" "$vio"; do
    wait_carrier "$i" 10
done

# The others first: the last lease sets the default route and
# /etc/resolv.conf, and those are to be mac0's.
status=0
dhcp_lease "$cl" 5 dhcp1. || status=1
dhcp_lease "$vio" 5 dhcp2. || status=1
dhcp_lease "$lb" 5 dhcp0. || status=1
if [ $status = 0 ]; then
    result dhcp ok
else
    result dhcp fail
    dump_dmesg 10
    exit 1
fi
result resolv "$(grep nameserver /etc/resolv.conf | paste -s -d ' ')"

# The virtio-net card carries TCP too (on its own subnet's route).
if wget -q -O /tmp/small "$(arg url2)/small"; then
    result small ok
else
    result small fail
    status=1
fi
result small.sha256 "$(sha256sum /tmp/small | cut -d' ' -f1)"
rm -f /tmp/small
# And the other way: the guest's TCP hands the virtio-net 64 KiB segments.
dd if=/dev/urandom of=/tmp/up bs=65536 count=64 2>/dev/null
result up.sha256 "$(sha256sum /tmp/up | cut -d' ' -f1)"
if timeout 60 nc "$(arg up_addr)" "$(arg up_port)" </tmp/up >/dev/null; then
    result up ok
else
    result up fail
fi
rm -f /tmp/up
result up.checked "$(host_wait up_checked 30)"

# A name, through the virtual DNS server and the host's resolver.
out=$(nslookup "$(arg name)" 2>&1)
echo "$out" >"$VPCNET_CONSOLE"
result dns.addr "$(echo "$out" | awk '/^Name:/ { n = 1 } n && /^Address/ { print $2; exit }')"

# The gateway answers pings itself; the outside is reached through the
# host's ICMP socket.
ping_check "$(lease_field "$lb" router)" 3 gw.
ping_check "$(arg outside)" 3 outside.

# The host's own services.  Through the host-loopback netdev the gateway
# is the host's loopback; through the other it is closed.
gw1=$(lease_field "$cl" router)
probe open.gateway "$(lease_field "$lb" router)" "$(arg lo_port)"
probe closed.gateway "$gw1" "$(arg lo_port)"
# The host's own addresses are closed through either.
n=0
for addr in $(arg host_addrs | tr '+' ' '); do
    ip route add "$addr/32" via "$gw1" dev "$cl"
    probe "closed.$n.cl" "$addr" "$(arg host_port)"
    ip route del "$addr/32" via "$gw1" dev "$cl"
    probe "closed.$n.lb" "$addr" "$(arg host_port)"
    n=$((n + 1))
done

# A server in the guest, reached from the host through a forward.
mkdir -p /www
token=$(cat /proc/sys/kernel/random/uuid)
echo "$token" >/www/token
httpd -p "$(arg fwd_port 8080)" -h /www
result fwd.token "$token"
result fwd.ready 1
result fwd.host "$(host_wait fwd_done 60)"

# Last, the big download, by name, from the host's loopback.
start=$(cut -d' ' -f1 /proc/uptime)
if wget -q -O /tmp/blob "$(arg url)/blob"; then
    result download ok
else
    result download fail
    status=1
fi
end=$(cut -d' ' -f1 /proc/uptime)
result download.seconds "$(echo "$start $end" | awk '{ printf "%.1f", $2 - $1 }')"
result download.bytes "$(wc -c </tmp/blob)"
result download.sha256 "$(sha256sum /tmp/blob | cut -d' ' -f1)"
rm -f /tmp/blob

exit $status
