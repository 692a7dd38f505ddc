#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# link: the host pulls the cable and plugs it back; the guest notices.
# Linux's tulip polls the PHY, every 60 s while the link is up and every
# 3 s while it is down, so noticing a pulled cable can take a minute.
#
# Results: carrier.initial, ready down|up, carrier.down ok|timeout with
# down.seconds, carrier.up ok|timeout with up.seconds.

# shellcheck source=../lib.sh
. /usr/lib/vpcnet/lib.sh

iface=$(first_eth)
[ -n "$iface" ] || { result error no-interface; exit 1; }
ip link set "$iface" up
wait_carrier "$iface" 15 && result carrier.initial 1

# wait_state WANT SECONDS: wait until carrier reads WANT; prints seconds.
wait_state() {
    local s=0
    while [ "$(cat "/sys/class/net/$iface/carrier")" != "$1" ]; do
        [ $s -ge "$2" ] && return 1
        sleep 1
        s=$((s + 1))
    done
    echo $s
}

result ready down
if t=$(wait_state 0 90); then
    result carrier.down ok
    result down.seconds "$t"
else
    result carrier.down timeout
fi
result ready up
if t=$(wait_state 1 30); then
    result carrier.up ok
    result up.seconds "$t"
else
    result carrier.up timeout
fi
exit 0
