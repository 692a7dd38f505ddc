#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# smoke: the first Ethernet interface comes up, gets a DHCP lease and can
# ping the gateway.
#
# Arguments (vpcnet.args):
#   iface=NAME    interface to use (default: the first Ethernet interface)
#   dhcp_tries=N  DHCP discovers before giving up (default 5)
#   ping=ADDR     address to ping (default: the DHCP router, else 10.0.2.2)
#   count=N       echo requests to send (default 3)
#
# Results: iface, driver, mac, [speed, duplex], carrier, dhcp ok|fail,
# dhcp.* lease fields, ip, ping ok|fail, ping.received.

# shellcheck source=../lib.sh
. /usr/lib/vpcnet/lib.sh

iface=$(arg iface "$(first_eth)")
if [ -z "$iface" ] || [ ! -e "/sys/class/net/$iface" ]; then
    log "no Ethernet interface (have: $(cd /sys/class/net && echo *))"
    dump_dmesg
    result error no-interface
    result dhcp fail
    exit 1
fi
result iface "$iface"

ip link set "$iface" up
# DHCP copes with a late link, but record whether the driver saw one.
if wait_carrier "$iface" 10; then
    result carrier 1
else
    result carrier 0
fi
nic_info "$iface"

status=0
if dhcp_lease "$iface" "$(arg dhcp_tries 5)"; then
    result dhcp ok
else
    result dhcp fail
    dump_dmesg 10
    status=1
fi
result ip "$(iface_addr "$iface")"

# Only the gateway by default: slirp answers it itself, so nothing leaves
# the host.
target=$(arg ping "$(lease_field "$iface" router)")
ping_check "${target:-10.0.2.2}" "$(arg count 3)" || status=1

exit $status
