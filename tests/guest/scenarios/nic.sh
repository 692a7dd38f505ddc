#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# nic: what the driver made of the card, a DHCP lease, a ping, and
# optionally a checked transfer each way over HTTP.
#
# Arguments (vpcnet.args):
#   get=URL     download URL, report its size and sha256
#   put=HOST:PORT  send put_mb MiB of random data over TCP, report the
#               sha256 we sent and the sha256 the host answers with
#   put_mb=N    size of the upload (default 20)
#
# Results: driver, mac, carrier, chip, mii, duplex (kernel log lines),
# dhcp, ip, ping, get.bytes, get.sha256, put.sha256, put.reply, and at
# the end dmesg.debug (tulip's debug lines seen: boot with
# tulip.dyndbg=+p tulip.tulip_debug=2 for them) and dmesg.stop_failed
# (how often the driver found the chip not stopping when told).

# shellcheck source=../lib.sh
. /usr/lib/vpcnet/lib.sh

iface=$(first_eth)
[ -n "$iface" ] || { result error no-interface; exit 1; }
iface_up "$iface"
# Linux settles duplex from the PHY's link partner on its media timer.
n=0
while [ $n -lt 50 ] && ! dmesg | grep -q 'duplex based on MII'; do
    usleep 100000
    n=$((n + 1))
done
result chip "$(dmesg | grep -m1 'Tulip rev' | sed 's/^\[[^]]*\] //')"
result mii "$(dmesg | grep -m1 'MII transceiver' | sed 's/^\[[^]]*\] //')"
result duplex "$(dmesg | grep -m1 'duplex based on MII' | sed 's/^\[[^]]*\] //')"

if dhcp_lease "$iface" 5; then
    result dhcp ok
else
    result dhcp fail
    exit 1
fi
result ip "$(iface_addr "$iface")"
ping_check "$(lease_field "$iface" router)" 3 || exit 1

url=$(arg get)
if [ -n "$url" ]; then
    wget -q -O /tmp/get "$url"
    result get.sha256 "$(sha256sum /tmp/get | cut -d' ' -f1)"
    result get.bytes "$(wc -c < /tmp/get)"
    rm -f /tmp/get
fi

dest=$(arg put)
if [ -n "$dest" ]; then
    dd if=/dev/urandom of=/tmp/put bs=1048576 count="$(arg put_mb 20)" 2>/dev/null
    result put.sha256 "$(sha256sum /tmp/put | cut -d' ' -f1)"
    # The host closes after answering, which ends nc.
    result put.reply "$(nc "${dest%:*}" "${dest##*:}" </tmp/put)"
    rm -f /tmp/put
fi
dmesg_count dmesg.debug 'tulip_up(), irq'
dmesg_count dmesg.stop_failed 'tulip_stop_rxtx() failed'
exit 0
