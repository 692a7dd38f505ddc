#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# link: the host pulls the cable and plugs it back, once per round; the
# guest notices.  Linux's tulip has no link interrupt on the 21140: its
# media timer reads the PHY every 60 s while the link is up and every
# 3 s while it is down, so noticing a pulled cable can take a minute.
#
# Arguments: rounds=N (default 1).
# Results: carrier.initial; per round R (0-based): "ready down.R" and
# "ready up.R" when the host should act, carrier.down.R ok|timeout with
# down.seconds.R, carrier.up.R ok|timeout with up.seconds.R; then
# dmesg.stop_failed, dmesg.debug (see nic.sh).

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

r=0
while [ $r -lt "$(arg rounds 1)" ]; do
    result ready "down.$r"
    if t=$(wait_state 0 90); then
        result "carrier.down.$r" ok
        result "down.seconds.$r" "$t"
    else
        result "carrier.down.$r" timeout
    fi
    result ready "up.$r"
    if t=$(wait_state 1 30); then
        result "carrier.up.$r" ok
        result "up.seconds.$r" "$t"
    else
        result "carrier.up.$r" timeout
    fi
    r=$((r + 1))
done
dmesg_count dmesg.debug 'tulip_up(), irq'
dmesg_count dmesg.stop_failed 'tulip_stop_rxtx() failed'
exit 0
