#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# libvirt: a guest the host drives step by step over the control channel
# while it changes the domain from outside (tests/libvirt: virsh
# domif-setlink, attach-interface, detach-interface).  Each host message
# "do N COMMAND ARGS" runs one command; its results are reported, then
# "done.N <exit code>".  The host waits for done.N before its next step.
#
# Commands (IF is an interface name such as eth0; results under "IF."):
#   nics                 report the Ethernet interfaces: "nics" (their
#                        names), and per interface its PCI identity
#                        (IF.pci "vendor:device rev"), IF.driver, IF.mac
#   up IF SECONDS        set IF up, wait that long for carrier: IF.carrier 1|0
#   carrier IF 0|1 SECS  wait until IF's carrier reads 0|1:
#                        IF.carrier.wait ok|timeout, IF.carrier.seconds
#   lease IF             DHCP on IF: IF.dhcp ok|fail, IF.dhcp.* (lease),
#                        IF.ip, and a ping of the lease's router, if it
#                        names one (IF.ping ok|fail)
#   ping IF ADDR         IF.ping ok|fail, IF.ping.received
#   appear SECONDS       wait for an Ethernet interface that "nics" did not
#                        list (a card hot-plugged since): new.iface, and
#                        the "nics" results for it
#   vanish IF SECONDS    wait until IF is gone: IF.vanish ok|timeout
#   serve PORT TEXT      serve TEXT as /token over HTTP on PORT (busybox
#                        httpd, in the background): serve ok|fail
#   fetch URL            HTTP GET (10 s timeout): fetch ok|fail, fetch.body
#                        (its first line)
#   end                  finish (exit code 0)
#
# The channel carries no blanks or commas inside an argument.

# shellcheck source=../lib.sh
. /usr/lib/vpcnet/lib.sh

host_channel_open || { result error no-control-channel; exit 1; }

known=""

# pci_identity IF: "vendor:device rev" of IF's PCI function, e.g.
# "1011:0009 0x20".
pci_identity() {
    local dev="/sys/class/net/$1/device" v d r
    v=$(cat "$dev/vendor" 2>/dev/null) || return 1
    d=$(cat "$dev/device" 2>/dev/null)
    r=$(cat "$dev/revision" 2>/dev/null)
    echo "${v#0x}:${d#0x} $r"
}

report_nic() {
    result "$1.pci" "$(pci_identity "$1")"
    nic_info "$1" "$1."
}

# wait_state IF WANT SECONDS: until IF's carrier reads WANT; prints the
# seconds it took (tenths).
wait_state() {
    local n=0
    while [ "$(cat "/sys/class/net/$1/carrier" 2>/dev/null)" != "$2" ]; do
        [ $n -ge $(($3 * 10)) ] && return 1
        usleep 100000
        n=$((n + 1))
    done
    echo "$((n / 10)).$((n % 10))"
}

run_command() {
    local cmd="$1" iface t router n new=""
    shift
    case "$cmd" in
    nics)
        known=$(eth_ifaces | tr '\n' ' ')
        result nics "$known"
        for iface in $known; do
            report_nic "$iface"
        done
        ;;
    up)
        ip link set "$1" up || return 1
        if wait_carrier "$1" "$2"; then
            result "$1.carrier" 1
        else
            result "$1.carrier" 0
        fi
        ;;
    carrier)
        if t=$(wait_state "$1" "$2" "$3"); then
            result "$1.carrier.wait" ok
            result "$1.carrier.seconds" "$t"
        else
            result "$1.carrier.wait" timeout
            return 1
        fi
        ;;
    lease)
        if dhcp_lease "$1" 5 "$1.dhcp."; then
            result "$1.dhcp" ok
        else
            result "$1.dhcp" fail
            return 1
        fi
        result "$1.ip" "$(iface_addr "$1")"
        router=$(lease_field "$1" router)
        [ -z "$router" ] || ping_check_on "$1" "$router"
        ;;
    ping)
        ping_check_on "$1" "$2"
        ;;
    appear)
        n=0
        while :; do
            for iface in $(eth_ifaces); do
                case " $known " in
                *" $iface "*) ;;
                *) new=$iface ;;
                esac
            done
            [ -n "$new" ] && break
            [ $n -ge $(($1 * 10)) ] && { result new.iface none; return 1; }
            usleep 100000
            n=$((n + 1))
        done
        known="$known $new"
        result new.iface "$new"
        # udev is absent: give the driver a moment to finish probing.
        wait_for_iface "$new" 5
        report_nic "$new"
        ;;
    vanish)
        n=0
        while [ -e "/sys/class/net/$1" ]; do
            [ $n -ge $(($2 * 10)) ] && { result "$1.vanish" timeout; return 1; }
            usleep 100000
            n=$((n + 1))
        done
        result "$1.vanish" ok
        ;;
    serve)
        mkdir -p /tmp/www
        echo "$2" >/tmp/www/token
        if httpd -p "$1" -h /tmp/www; then
            result serve ok
        else
            result serve fail
            return 1
        fi
        ;;
    fetch)
        rm -f /tmp/fetch
        # (busybox 1.35 wget crashes with -T; bound it from outside)
        if timeout 10 wget -q -O /tmp/fetch "$1"; then
            result fetch ok
            result fetch.body "$(head -n1 /tmp/fetch)"
        else
            result fetch fail
            return 1
        fi
        ;;
    *)
        log "unknown command: $cmd $*"
        return 127
        ;;
    esac
}

# ping_check_on IF ADDR: ping ADDR out of IF (several interfaces may
# share a subnet), results under "IF.".
ping_check_on() {
    local out received
    out=$(ping -I "$1" -c 3 -w 11 "$2" 2>&1)
    echo "$out" >"$VPCNET_CONSOLE"
    received=$(echo "$out" | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
    result "$1.ping.received" "${received:-0}"
    if [ "${received:-0}" -gt 0 ]; then
        result "$1.ping" ok
        return 0
    fi
    result "$1.ping" fail
    return 1
}

while line=$(host_wait do 300); do
    # shellcheck disable=SC2086 # the line is words: N COMMAND ARGS
    set -- $line
    step=$1
    shift
    [ "$1" = end ] && { result "done.$step" 0; exit 0; }
    run_command "$@"
    result "done.$step" $?
done
result error host-silent
exit 1
