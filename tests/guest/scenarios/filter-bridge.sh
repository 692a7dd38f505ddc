#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# filter-bridge: a guest on -netdev filter-bridge, driven step by step by
# the host (tests/guest/test_filter_bridge.py) over the control channel.
# It brings its interface up, gets a DHCP lease, then runs each step the
# host sends as "step NAME KEY ARGS..." and reports under KEY, until
# "step done".
#
# Steps:
#   ping KEY ADDR            KEY.ping ok|fail, KEY.ping.received
#   fetch KEY URL            download; KEY.sha256, KEY.size
#   upload KEY URL KIB       POST KIB KiB of random data; KEY.sha256,
#                            KEY.size, KEY.reply (the server's answer)
#   serve KEY KIB            httpd on port 8080 serving /blob (KIB KiB of
#                            random data); KEY.sha256
#   raw KEY DST SRC TYPE HEX COUNT
#                            fb-guest-send (SRC "-": our MAC); KEY.sent
#   carrier KEY              wait up to 90 s for the carrier to drop,
#                            then up to 30 s for it to return: KEY.down
#                            and KEY.up ok|timeout.  Linux's tulip has no
#                            link interrupt on the 21140: its media timer
#                            reads the PHY every 60 s while the link is up
#                            and every 3 s while it is down.
#   done KEY                 end the scenario
#
# Arguments (vpcnet.args): dhcp_tries=N (default 8); clientid=off: the
# DHCP client sends no client identifier.
#
# Results before the steps: carrier, mac, dhcp ok|fail, dhcp.* (lease).
# Every step ends with "KEY.done 1", which the host waits for.

# shellcheck source=../lib.sh
. /usr/lib/vpcnet/lib.sh

host_channel_open || { result error no-control-channel; exit 1; }
iface=$(first_eth)
[ -n "$iface" ] || { result error no-interface; exit 1; }
iface_up "$iface"
if [ "$(arg clientid)" = off ]; then
    # as dhcp_lease, without a client identifier (-C)
    VPCNET_DHCP_PREFIX=dhcp. udhcpc -C -i "$iface" -s /etc/udhcpc.script \
        -n -q -t "$(arg dhcp_tries 8)" -T 2 -A 1 >"$VPCNET_CONSOLE" 2>&1
else
    dhcp_lease "$iface" "$(arg dhcp_tries 8)"
fi
if [ $? = 0 ]; then
    result dhcp ok
else
    result dhcp fail
fi
report_addr "$iface"
result ready 1

# wait_carrier_is VALUE SECONDS
wait_carrier_is() {
    local n=0
    while [ "$(cat "/sys/class/net/$iface/carrier" 2>/dev/null)" != "$1" ]; do
        [ "$n" -ge "$(($2 * 10))" ] && return 1
        usleep 100000
        n=$((n + 1))
    done
}

while :; do
    line=$(host_wait step 600) || { result error host-silent; exit 1; }
    # shellcheck disable=SC2086 # words on purpose
    set -- $line
    name=$1
    key=$2
    shift 2
    case "$name" in
    ping)
        ping_check "$1" 3 "$key."
        ;;
    fetch)
        rm -f /tmp/fetched
        wget -q -O /tmp/fetched "$1"
        result "$key.sha256" "$(sha256sum /tmp/fetched 2>/dev/null | cut -d' ' -f1)"
        result "$key.size" "$(wc -c </tmp/fetched 2>/dev/null)"
        ;;
    upload)
        # busybox wget posts a file as a string: no NUL bytes
        tr -d '\000' </dev/urandom | head -c $(($2 * 1024)) >/tmp/upload
        result "$key.sha256" "$(sha256sum /tmp/upload | cut -d' ' -f1)"
        result "$key.size" "$(wc -c </tmp/upload)"
        result "$key.reply" "$(wget -q -O - --post-file=/tmp/upload "$1" 2>&1)"
        ;;
    serve)
        mkdir -p /www
        dd if=/dev/urandom of=/www/blob bs=1024 count="$1" 2>/dev/null
        result "$key.sha256" "$(sha256sum /www/blob | cut -d' ' -f1)"
        httpd -p 8080 -h /www
        ;;
    raw)
        result "$key.sent" "$(/usr/bin/fb-guest-send "$iface" "$@" 2>&1)"
        ;;
    carrier)
        if wait_carrier_is 0 90; then
            result "$key.down" ok
        else
            result "$key.down" timeout
        fi
        if wait_carrier_is 1 30; then
            result "$key.up" ok
        else
            result "$key.up" timeout
        fi
        ;;
    done)
        result "$key.done" 1
        exit 0
        ;;
    *)
        log "unknown step $name"
        ;;
    esac
    result "$key.done" 1
done
