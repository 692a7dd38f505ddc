#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The filter bridge's kernel path, with stand-in guests (no QEMU).

Two "guests" are network namespaces whose tap gx is relayed by fb-client
(tests/bridge/fb-client.c), each its own process running as nobody, to a
tap the real setuid helper made and steered (fbnet.py has the network).
Their Linux stacks then prove, against the host namespace's own address,
a peer on the LAN and each other:

- the helper: refused with a clear error naming the ACL file when the
  file is missing, denies the adapter or does not allow it;
- all three paths both ways: ping and a TCP transfer (checked with
  sha256) with the LAN peer, with the host's own address (host to guest
  and guest to host, over IPv4 and IPv6, the host's adapter with its
  offloads on) and between the two guests;
- a capture on the LAN end of the host's cable holds no unicast between
  host and guests or between the guests, and every broadcast a guest
  sent exactly once;
- a broadcast from one guest reaches the host, the peer and the other
  guest once each, and not its sender; so does one from the host;
- a frame of a non-IP ethertype, and an 802.1Q-tagged frame (VLAN 42),
  pass both ways unchanged;
- a frame with a spoofed source MAC is dropped and counted; with
  mac-spoof it passes;
- a second guest with the same MAC is refused, naming the first;
- stale registry records (a dead keeper, a reused pid) are removed by
  the next helper;
- SIGKILL of both relays leaves no tcx program, promiscuity, tap or
  registry record;
- Wi-Fi mode behind a simulated access point (only the host's MAC may
  send): two guests reach the peer and each other, the peer sees only
  the host's MAC, ARP and NDP name it, a non-IP frame is dropped.
"""

import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'guest'))

import fbnet                                    # noqa: E402
from fbnet import (HOST_IP, HOST_IP6, HOST_MAC, PEER_IP, PEER_IP6,  # noqa: E402
                   PEER_MAC, Lan, frames_between)
from tap import Tap                             # noqa: E402

G1_MAC, G1_IP, G1_IP6 = '00:03:ff:7b:00:11', '10.77.0.11', 'fd77::11'
G2_MAC, G2_IP, G2_IP6 = '00:03:ff:7b:00:12', '10.77.0.12', 'fd77::12'
FBRAW = os.path.join(HERE, 'fbraw.py')
ETH_TEST = '88b5'       # IEEE local experimental ethertype
TCP_BYTES = 4 << 20

tap = Tap()


def ping(lan, ns, addr, count=3):
    proc = lan.nsrun(ns, ['ping', '-c', str(count), '-i', '0.2', '-W', '2', addr],
                     check=False)
    m = re.search(r'(\d+) received', proc.stdout)
    return int(m.group(1)) if m else 0


def raw(ns, *args):
    return ['ip', 'netns', 'exec', ns, sys.executable, FBRAW] + list(args)


def tcp(lan, server_ns, client_ns, addr, port, upload=True):
    """A TCP transfer of TCP_BYTES to (upload) or from a server in
    @server_ns at @addr; True when both ends saw the same sha256."""
    if upload:
        srv = lan.spawn(raw(server_ns, 'tcp-serve', addr, str(port)))
        lan.read_line(srv, 'listening', 10)
        cli = lan.nsrun(client_ns, [sys.executable, FBRAW, 'tcp-send', addr, str(port),
                                    str(TCP_BYTES)], check=False, timeout=90)
        out = lan.stop(srv) if srv.poll() is None else Lan.collect(srv)
        sent = re.search(r'sent (\w+) (\d+)', cli.stdout)
        got = re.search(r'got (\w+) (\d+)', cli.stdout)
    else:
        srv = lan.spawn(raw(server_ns, 'tcp-source', addr, str(port), str(TCP_BYTES)))
        lan.read_line(srv, 'listening', 10)
        cli = lan.nsrun(client_ns, [sys.executable, FBRAW, 'tcp-sink', addr, str(port)],
                        check=False, timeout=90)
        out = Lan.collect(srv, 30)
        sent = re.search(r'sent (\w+) (\d+)', out)
        got = re.search(r'got (\w+) (\d+)', cli.stdout)
    ok = bool(sent and got and sent.groups() == got.groups() and
              int(got.group(2)) == TCP_BYTES)
    return ok, 'client: %s server: %s' % (cli.stdout.strip(), (out or '').strip())


def counters(lan, client):
    """Ask a relay for its guest's kernel counters (SIGUSR1)."""
    os.kill(client.pid, signal.SIGUSR1)
    m = lan.read_line(client, r'^counters (.*)', 5)
    if not m:
        return {}
    return dict(kv.split('=') for kv in m.group(1).split())


def broadcast_once(lan, sender_ns, sender_if, sender_mac, listeners, payload):
    """Send one broadcast of ETH_TEST from @sender_ns and count, per
    listener (name -> (ns, iface)), how many copies carrying @payload
    arrived."""
    procs = {}
    for name, (ns, iface) in listeners.items():
        procs[name] = lan.spawn(raw(ns, 'recv', iface, ETH_TEST, '3'))
        lan.read_line(procs[name], 'listening', 10)
    lan.nsrun(sender_ns, [sys.executable, FBRAW, 'send', sender_if, 'ff:ff:ff:ff:ff:ff',
                          sender_mac, ETH_TEST, payload])
    got = {}
    for name, proc in procs.items():
        out = Lan.collect(proc, 20)
        got[name] = sum(1 for line in out.splitlines()
                        if line.startswith('got ') and payload in line)
    return got


def test_acl(lan):
    lan.set_acl(None)
    c = lan.start_client('g1', G1_MAC, relay=False, extra=['--sink'])
    tap.ok(c.status == 'error' and '/etc/qemu/filter-bridge.conf' in c.detail and
           'refused' in c.detail, 'no ACL file: refused, naming the file', detail=c.detail)
    lan.stop(c)
    lan.set_acl('allow all\ndeny h1\n')
    c = lan.start_client('g1', G1_MAC, relay=False, extra=['--sink'])
    tap.ok(c.status == 'error' and 'line 2 denies h1' in c.detail and
           '/etc/qemu/filter-bridge.conf' in c.detail, 'ACL deny line wins', detail=c.detail)
    lan.stop(c)
    lan.set_acl('allow eth9\n')
    c = lan.start_client('g1', G1_MAC, relay=False, extra=['--sink'])
    tap.ok(c.status == 'error' and "no line allows h1" in c.detail,
           'ACL that does not allow the adapter refuses it', detail=c.detail)
    lan.stop(c)
    lan.set_acl('allow h1\n')


def test_wired(lan):
    g1 = lan.add_guest_ns('g1', G1_MAC, G1_IP, G1_IP6)
    g2 = lan.add_guest_ns('g2', G2_MAC, G2_IP, G2_IP6)
    c1 = lan.start_client('g1', G1_MAC)
    c2 = lan.start_client('g2', G2_MAC)
    tap.ok(c1.status == 'ready' and c2.status == 'ready',
           'two stand-in guests attached (fb-client as nobody, helper setuid)',
           detail='%s / %s' % (c1.detail, c2.detail))
    tap.equal(lan.promiscuity(), 2, 'h1 is promiscuous once per guest')
    tap.equal(lan.tcx_programs(), (2, 4), 'tcx programs on h1 (ingress, egress)')
    path, names = lan.registry()
    tap.equal(names, sorted(['00-03-ff-7b-00-11', '00-03-ff-7b-00-12']),
              'registry records both guests')

    cap = lan.start_capture()
    tap.equal(ping(lan, g1, PEER_IP), 3, 'guest -> LAN peer: ping')
    tap.equal(ping(lan, lan.peer, G2_IP), 3, 'LAN peer -> guest: ping')
    tap.equal(ping(lan, g1, HOST_IP), 3, "guest -> host's own address: ping")
    tap.equal(ping(lan, lan.host, G1_IP), 3, 'host -> guest: ping')
    tap.equal(ping(lan, g1, HOST_IP6), 3, "guest -> host's own IPv6 address: ping")
    tap.equal(ping(lan, lan.host, G2_IP6), 3, 'host -> guest over IPv6: ping')
    tap.equal(ping(lan, g1, G2_IP), 3, 'guest -> guest (two processes): ping')
    tap.equal(ping(lan, g2, G1_IP6), 3, 'guest -> guest over IPv6: ping')

    ok, why = tcp(lan, lan.peer, g1, PEER_IP, 5001, upload=True)
    tap.ok(ok, 'TCP guest -> LAN peer, 4 MiB intact', detail=why)
    ok, why = tcp(lan, lan.peer, g2, PEER_IP, 5002, upload=False)
    tap.ok(ok, 'TCP LAN peer -> guest, 4 MiB intact', detail=why)
    ok, why = tcp(lan, lan.host, g1, HOST_IP, 5003, upload=True)
    tap.ok(ok, "TCP guest -> host's own address, 4 MiB intact", detail=why)
    ok, why = tcp(lan, lan.host, g1, HOST_IP, 5004, upload=False)
    tap.ok(ok, 'TCP host -> guest (host offloads on), 4 MiB intact', detail=why)
    ok, why = tcp(lan, g2, lan.host, G2_IP6, 5005, upload=True)
    tap.ok(ok, 'TCP host -> guest over IPv6, 4 MiB intact', detail=why)
    ok, why = tcp(lan, g1, g2, G1_IP, 5006, upload=True)
    tap.ok(ok, 'TCP guest -> guest, 4 MiB intact', detail=why)

    # one broadcast each way, counted at every party
    listeners = {'host': (lan.host, 'h1'), 'peer': (lan.peer, 'p1'),
                 'g1': (g1, 'gx'), 'g2': (g2, 'gx')}
    got = broadcast_once(lan, g1, 'gx', G1_MAC, listeners, 'b1b1b1b1')
    tap.equal(got, {'host': 1, 'peer': 1, 'g1': 0, 'g2': 1},
              "a guest's broadcast: once to host, peer, other guest; not echoed")
    got = broadcast_once(lan, lan.host, 'h1', HOST_MAC, listeners, 'b2b2b2b2')
    tap.equal(got, {'host': 0, 'peer': 1, 'g1': 1, 'g2': 1},
              "the host's broadcast: once to the peer and each guest")
    got = broadcast_once(lan, lan.peer, 'p1', PEER_MAC, listeners, 'b3b3b3b3')
    tap.equal(got, {'host': 1, 'peer': 0, 'g1': 1, 'g2': 1},
              "the wire's broadcast: once to the host and each guest")

    # a non-IP ethertype, unicast, both ways
    rx = lan.spawn(raw(lan.peer, 'recv', 'p1', ETH_TEST, '3'))
    lan.read_line(rx, 'listening', 10)
    lan.nsrun(g2, [sys.executable, FBRAW, 'send', 'gx', PEER_MAC, G2_MAC, ETH_TEST,
                   'c0ffee' * 10])
    out = Lan.collect(rx, 20)
    want = PEER_MAC.replace(':', '') + G2_MAC.replace(':', '') + ETH_TEST + 'c0ffee' * 10
    tap.ok(('got ' + want) in out, 'raw non-IP frame guest -> LAN peer, unchanged',
           detail=out)
    rx = lan.spawn(raw(g1, 'recv', 'gx', ETH_TEST, '3'))
    lan.read_line(rx, 'listening', 10)
    lan.nsrun(lan.peer, [sys.executable, FBRAW, 'send', 'p1', G1_MAC, PEER_MAC, ETH_TEST,
                         'feed' * 20])
    out = Lan.collect(rx, 20)
    tap.ok('feed' * 20 in out, 'raw non-IP frame LAN peer -> guest', detail=out)

    # 802.1Q: a tagged frame (VLAN 42) both ways, unchanged
    vlan = '8100' + '002a' + ETH_TEST      # TPID, TCI 42, inner type
    rx = lan.spawn(raw(lan.peer, 'recv', 'p1', ETH_TEST, '3'))
    lan.read_line(rx, 'listening', 10)
    lan.nsrun(g1, [sys.executable, FBRAW, 'send', 'gx', PEER_MAC, G1_MAC, '8100',
                   '002a' + ETH_TEST + '7a99ed' * 10])
    out = Lan.collect(rx, 20)
    want = PEER_MAC.replace(':', '') + G1_MAC.replace(':', '') + vlan + '7a99ed' * 10
    tap.ok(('got ' + want) in out, '802.1Q-tagged frame guest -> LAN peer, unchanged',
           detail=out)
    rx = lan.spawn(raw(g2, 'recv', 'gx', ETH_TEST, '3'))
    lan.read_line(rx, 'listening', 10)
    lan.nsrun(lan.peer, [sys.executable, FBRAW, 'send', 'p1', G2_MAC, PEER_MAC, '8100',
                         '002a' + ETH_TEST + '7a99ee' * 10])
    out = Lan.collect(rx, 20)
    want = G2_MAC.replace(':', '') + PEER_MAC.replace(':', '') + vlan + '7a99ee' * 10
    tap.ok(('got ' + want) in out, '802.1Q-tagged frame LAN peer -> guest, unchanged',
           detail=out)

    frames = lan.stop_capture(cap)
    guests = [G1_MAC, G2_MAC]
    leaks = frames_between(frames, [HOST_MAC], guests) + \
        frames_between(frames, [G1_MAC], [G2_MAC])
    tap.ok(not leaks and len(frames) > 100,
           'LAN capture: no host<->guest or guest<->guest unicast (%d frames seen)'
           % len(frames), detail='\n'.join(leaks[:20]))
    tagged = [f for _, f in frames if f[12:14] == b'\x81\x00' and
              f[14:16] == (42).to_bytes(2, 'big')]
    tap.equal(len(tagged), 2, 'the two VLAN 42 frames crossed the wire tagged')
    b1 = [f for _, f in frames if f[0:6] == b'\xff' * 6 and bytes.fromhex('b1b1b1b1') in f]
    tap.equal(len(b1), 1, "the guest's broadcast crossed the wire exactly once")

    # a spoofed source MAC
    before = counters(lan, c1)
    rx = lan.spawn(raw(lan.peer, 'recv', 'p1', ETH_TEST, '2'))
    lan.read_line(rx, 'listening', 10)
    lan.nsrun(g1, [sys.executable, FBRAW, 'send', 'gx', PEER_MAC, '00:03:ff:66:66:66',
                   ETH_TEST, 'bad0' * 10, '3'])
    out = Lan.collect(rx, 20)
    after = counters(lan, c1)
    dropped = int(after.get('drop-spoofed-source', 0)) - \
        int(before.get('drop-spoofed-source', 0))
    tap.ok('bad0' not in out and dropped == 3,
           'spoofed source MAC: dropped, counted (%d)' % dropped, detail=out)
    tap.ok(int(after.get('tx-host', 0)) > 0 and int(after.get('rx-host', 0)) > 0 and
           int(after.get('tx-wire', 0)) > 0 and int(after.get('rx-wire', 0)) > 0 and
           int(after.get('rx-guest', 0)) > 0,
           'per-path counters count every path', detail=str(after))

    # mac-spoof=on: a bridge in the guest may send other sources
    rx = lan.spawn(raw(lan.peer, 'recv', 'p1', ETH_TEST, '6'))
    lan.read_line(rx, 'listening', 10)
    spoof = lan.start_client('g2', '00:03:ff:7b:00:61', relay=False,
                             extra=['--mac-spoof', '--blast=60', '--seconds=1',
                                    '--src=00:03:ff:66:66:77', '--dst=' + PEER_MAC])
    out = Lan.collect(spoof, 20)
    got = Lan.collect(rx, 20)
    tap.ok('rate frames=' in out and ('got ' + PEER_MAC.replace(':', '') +
                                      '0003ff666677') in got,
           'mac-spoof: frames from another source MAC pass',
           detail='%s\n%s' % (out, got[:300]))

    # a duplicate MAC, from a third process
    dup = lan.start_client('g2', G1_MAC, relay=False, extra=['--sink'])
    tap.ok(dup.status == 'error' and 'already in use' in dup.detail and
           str(c1.pid) in dup.detail,
           'a second guest with the same MAC is refused, naming the first',
           detail=dup.detail)
    lan.stop(dup)

    # stale records: a dead keeper, and a live pid that is not the keeper
    path, _ = lan.registry()
    stale = {'00-03-ff-7b-00-51': 'keeper=999999 start=1',
             '00-03-ff-7b-00-52': 'keeper=1 start=1'}
    for name, who in stale.items():
        with open(os.path.join(path, name), 'w') as f:
            f.write('vpcnet-filter-bridge v=1 mac=%s %s qemu=1 uid=0 tap=x '
                    'tap-ifindex=1 mode=wired\n' % (name.replace('-', ':'), who))
    c3 = lan.start_client('g2', '00:03:ff:7b:00:51', relay=False, extra=['--sink'])
    _, names = lan.registry()
    tap.ok(c3.status == 'ready' and '00-03-ff-7b-00-52' not in names,
           'stale registry records removed by the next helper', detail=str(names))
    lan.stop(c3)

    # SIGKILL: nothing may stay behind
    os.killpg(c1.pid, signal.SIGKILL)
    time.sleep(0.5)
    tap.equal(lan.promiscuity(), 1, 'SIGKILL of one relay: its promiscuity is gone')
    tap.equal(ping(lan, g2, PEER_IP), 3, 'the other guest still works')
    os.killpg(c2.pid, signal.SIGKILL)
    problems = lan.wait_clean()
    tap.ok(not problems, 'SIGKILL of the last relay: no tcx program, promiscuity, '
           'tap or registry record left', detail='\n'.join(problems))
    lan.stop(c1)
    lan.stop(c2)


def test_wifi(lan):
    lan.wifi_access_point()
    g1, g2 = lan.ns('g1'), lan.ns('g2')
    c1 = lan.start_client('g1', G1_MAC, extra=['--wifi=on', '--ip=' + G1_IP,
                                               '--ip=' + G1_IP6])
    c2 = lan.start_client('g2', G2_MAC, extra=['--wifi=on', '--ip=' + G2_IP,
                                               '--ip=' + G2_IP6])
    tap.ok(c1.status == 'ready' and c2.status == 'ready' and 'mode=wifi' in
           ''.join(c1.seen), 'Wi-Fi: two stand-in guests attached',
           detail='%s / %s' % (c1.detail, c2.detail))
    tap.equal(lan.promiscuity(), 0, 'Wi-Fi: the adapter is not made promiscuous')
    for ns in (g1, g2, lan.peer, lan.host):
        fbnet.run(['ip', '-n', ns, 'neigh', 'flush', 'all'], check=False)
    drops0 = lan.ap_drops()
    cap = lan.start_capture()
    tap.equal(ping(lan, g1, PEER_IP), 3, 'Wi-Fi: guest -> LAN peer: ping')
    tap.equal(ping(lan, lan.peer, G2_IP), 3, 'Wi-Fi: LAN peer -> guest: ping')
    tap.equal(ping(lan, g1, PEER_IP6), 3, 'Wi-Fi: guest -> LAN peer over IPv6 (NDP)')
    tap.equal(ping(lan, g1, G2_IP), 3, 'Wi-Fi: guest -> guest: ping')
    tap.equal(ping(lan, lan.host, G1_IP), 3, 'Wi-Fi: host -> guest: ping')
    ok, why = tcp(lan, lan.peer, g2, PEER_IP, 5011, upload=False)
    tap.ok(ok, 'Wi-Fi: TCP LAN peer -> guest, 4 MiB intact', detail=why)
    neigh = fbnet.run(['ip', '-n', lan.peer, 'neigh', 'show']).stdout.lower()
    tap.ok(G1_MAC not in neigh and G2_MAC not in neigh and HOST_MAC in neigh,
           "Wi-Fi: the peer's ARP and NDP tables name only the host's MAC",
           detail=neigh)

    rx = lan.spawn(raw(lan.peer, 'recv', 'p1', ETH_TEST, '2'))
    lan.read_line(rx, 'listening', 10)
    lan.nsrun(g1, [sys.executable, FBRAW, 'send', 'gx', PEER_MAC, G1_MAC, ETH_TEST,
                   'abcd' * 10])
    out = Lan.collect(rx, 20)
    k = counters(lan, c1)
    tap.ok('abcd' not in out and int(k.get('drop-wifi-non-ip', 0)) == 1,
           'Wi-Fi: a non-IP frame is dropped before the air, and counted',
           detail='%s %s' % (out, k))
    frames = lan.stop_capture(cap)
    foreign = sorted({f[6:12].hex(':') for d, f in frames
                      if d == 'in' and f[6:12] != bytes.fromhex(HOST_MAC.replace(':', ''))})
    tap.ok(not foreign and lan.ap_drops() == drops0,
           'Wi-Fi: every frame on the air came from the host MAC; the access '
           'point dropped none', detail='%s, AP drops %r, before %r' %
           (foreign, lan.ap_drops(), drops0))
    tap.ok(int(k.get('wifi-steered', 0)) > 0 and int(k.get('wifi-rewritten', 0)) > 0,
           'Wi-Fi: counters show rewriting and steering', detail=str(k))
    lan.stop(c1)
    lan.stop(c2)
    problems = lan.wait_clean()
    tap.ok(not problems, 'Wi-Fi: nothing left behind', detail='\n'.join(problems))


def main():
    if os.geteuid() != 0:
        tap.ok(False, 'the namespace tests need root')
        return tap.done()
    fbnet.deps()
    with Lan('fbn%d' % (os.getpid() % 10000)) as lan:
        test_acl(lan)
        test_wired(lan)
        test_wifi(lan)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
