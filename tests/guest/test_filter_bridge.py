#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Real guests on -netdev filter-bridge: Linux under TCG with dec21140a
cards, each in its own QEMU running as nobody with no capability, the
helper setuid root (tests/bridge/fbnet.py builds the network: a LAN
bridge with dnsmasq and a peer, and the host's adapter h1 with its own
address).

Wired, guests A and B at once:
- each gets a lease from the LAN's dnsmasq under its own 00:03:ff MAC
  (checked in dnsmasq's lease file);
- A pings the LAN peer and moves 2 MiB each way over HTTP with it;
- A pings the host's own address, the host pings A, and 1 MiB goes each
  way between A and the host's own address over HTTP (A serving too);
- B, another QEMU, pings A and downloads from A's httpd;
- B sends a frame of a non-IP ethertype that reaches the peer;
- A sends frames with a spoofed source MAC: none reaches the peer, and
  `info network` counts them;
- a third QEMU with A's MAC is refused with a clear error;
- the host pulls the LAN cable (the adapter loses carrier) and plugs it
  back: A sees its carrier go and return;
- a NIC hot-plugged into A's QEMU (netdev_add, device_add) is attached,
  and device_del with netdev_del take its programs and record away;
- a capture on the LAN end of the host's cable, all along, holds no
  unicast between the host and a guest or between the guests;
- B's QEMU is killed with SIGKILL: its record, programs and promiscuity
  go; once A is done too nothing of the filter bridge is left.

Wi-Fi, guests C and D with wifi=on, behind a simulated access point that
drops every source MAC but the host adapter's: each still gets a lease
of its own (distinct client identifiers in the lease file) and reaches
the peer, the host and the other.

Prints TAP.
"""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'bridge'))

import fbnet                                        # noqa: E402
import guest                                        # noqa: E402
from fbnet import HOST_IP, HOST_MAC, PEER_IP, PEER_MAC, Lan  # noqa: E402
from guest import Guest, qemu_binary                # noqa: E402
from tap import Tap                                 # noqa: E402

MAC_A = '00:03:ff:7b:00:a1'
MAC_B = '00:03:ff:7b:00:b1'
MAC_C = '00:03:ff:7b:00:c1'
MAC_D = '00:03:ff:7b:00:d1'
SPOOFED = '00:03:ff:66:66:01'
FBRAW = os.path.join(os.path.dirname(HERE), 'bridge', 'fbraw.py')
ETH_TEST = '88b5'
BIG = 2 << 20
KIB = 1024

tap = Tap()


def guest_images(lan):
    """The test guest with fb-guest-send in /usr/bin: the standard
    initramfs with a second cpio archive appended (the kernel unpacks
    both)."""
    guest.ensure_images()
    sender = os.path.join(fbnet.BUILD, 'lib', 'tests', 'bridge', 'fb-guest-send')
    if not os.path.exists(sender):
        raise RuntimeError('fb-guest-send is not built (run make)')
    d = os.path.join(lan.dir, 'guest')
    root = os.path.join(d, 'extra', 'usr', 'bin')
    os.makedirs(root)
    subprocess.check_call(['cp', sender, root])
    extra = subprocess.run('cd %s && echo usr/bin/fb-guest-send | cpio -o -H newc '
                           '--quiet | gzip -1' % os.path.join(d, 'extra'),
                           shell=True, check=True, stdout=subprocess.PIPE).stdout
    with open(os.path.join(guest.GUEST_DIR, 'initrd.img'), 'rb') as f:
        base = f.read()
    with open(os.path.join(d, 'initrd.img'), 'wb') as f:
        f.write(base + extra)
    os.symlink(os.path.join(guest.GUEST_DIR, 'vmlinuz'), os.path.join(d, 'vmlinuz'))
    for p in (d, os.path.join(d, 'initrd.img')):
        os.chmod(p, 0o755 if os.path.isdir(p) else 0o644)
    return d


class Vm:
    """One guest: its QEMU (run as nobody through the Lan's wrapper), its
    control and monitor sockets in a directory nobody may write."""

    def __init__(self, lan, qemu, name, mac, extra_netdev='', args=None):
        self.lan = lan
        self.name = name
        self.mac = mac
        self.dir = os.path.join(lan.dir, 'vm-' + name)
        os.mkdir(self.dir)
        os.chmod(self.dir, 0o777)
        self.monitor = os.path.join(self.dir, 'monitor.sock')
        devices = ['-netdev', 'filter-bridge,id=n0,ifname=h1,helper=%s%s'
                   % (lan.helper, extra_netdev),
                   '-device', 'dec21140a,netdev=n0,mac=' + mac,
                   '-monitor', 'unix:%s,server=on,wait=off' % self.monitor]
        self.g = Guest(qemu=qemu, devices=devices, scenario='filter-bridge',
                       control=True, control_dir=self.dir, name='fb-' + name,
                       timeout=420, args=args)

    def start(self):
        self.g.start()
        return self

    def ready(self, timeout=120):
        return self.g.wait_result('ready', timeout) is not None

    def step(self, name, key, *args, timeout=90):
        """Run one step of the scenario; its results (all of them)."""
        self.g.send('step', ' '.join((name, key) + args))
        self.g.wait_result(key + '.done', timeout)
        return self.g.values

    def get(self, key):
        return self.g.values.get(key)

    def ip(self):
        return self.get('dhcp.ip')

    def hmp(self, command):
        import socket
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(self.monitor)
        out = b''
        while b'(qemu)' not in out:
            out += s.recv(4096)
        s.sendall(command.encode() + b'\n')
        out = b''
        while out.count(b'(qemu)') < 1:
            out += s.recv(4096)
        s.close()
        return out.decode(errors='replace')

    def finish(self, timeout=60):
        self.g.send('step', 'done end')
        return self.g.join(timeout)


def served(proc, timeout=30):
    m = Lan.read_line(proc, r'(served|got) (\w+) (\d+)', timeout)
    return (m.group(2), int(m.group(3))) if m else None


def raw(ns, *args):
    return ['ip', 'netns', 'exec', ns, sys.executable, FBRAW] + list(args)


def wired(lan, qemu):
    host_http = lan.spawn(raw(lan.host, 'http-serve', HOST_IP, '8000'))
    peer_http = lan.spawn(raw(lan.peer, 'http-serve', PEER_IP, '8000'))
    lan.read_line(host_http, 'listening', 10)
    lan.read_line(peer_http, 'listening', 10)
    cap = lan.start_capture()
    a = Vm(lan, qemu, 'a', MAC_A).start()
    b = Vm(lan, qemu, 'b', MAC_B).start()
    up = a.ready() and b.ready()
    tap.ok(up and a.get('dhcp') == 'ok' and b.get('dhcp') == 'ok',
           'two guests (two QEMUs, unprivileged) got DHCP leases',
           detail='A %s, B %s' % (a.g.values, b.g.values))
    leases = {mac: ip for mac, ip, _ in lan.leases()}
    tap.ok(leases.get(MAC_A) == a.ip() and leases.get(MAC_B) == b.ip() and a.ip(),
           "dnsmasq's lease file has each lease under the guest's own 00:03:ff MAC",
           detail='leases %r, A %s, B %s' % (leases, a.ip(), b.ip()))

    v = a.step('ping', 'peer', PEER_IP)
    tap.equal(v.get('peer.ping'), 'ok', 'guest -> LAN peer: ping')
    v = a.step('fetch', 'peerget', 'http://%s:8000/blob/%d' % (PEER_IP, BIG))
    s = served(peer_http)
    tap.ok(s and v.get('peerget.sha256') == s[0] and v.get('peerget.size') == str(BIG),
           'TCP LAN peer -> guest: 2 MiB over HTTP, intact', detail='%s %s' % (s, v))
    v = a.step('upload', 'peerput', 'http://%s:8000/upload' % PEER_IP, str(BIG // KIB))
    s = served(peer_http)
    tap.ok(s and v.get('peerput.sha256') == s[0] and s[1] == BIG,
           'TCP guest -> LAN peer: 2 MiB over HTTP, intact', detail='%s %s' % (s, v))

    v = a.step('ping', 'host', HOST_IP)
    tap.equal(v.get('host.ping'), 'ok', "guest -> host's own address: ping")
    out = lan.nsrun(lan.host, ['ping', '-c', '3', '-W', '2', a.ip()], check=False).stdout
    tap.ok(' 0% packet loss' in out, 'host -> guest: ping', detail=out)
    v = a.step('fetch', 'hostget', 'http://%s:8000/blob/%d' % (HOST_IP, KIB * KIB))
    s = served(host_http)
    tap.ok(s and v.get('hostget.sha256') == s[0],
           "TCP host's own address -> guest: 1 MiB, intact", detail='%s %s' % (s, v))
    v = a.step('upload', 'hostput', 'http://%s:8000/upload' % HOST_IP, str(KIB))
    s = served(host_http)
    tap.ok(s and v.get('hostput.sha256') == s[0],
           "TCP guest -> host's own address: 1 MiB, intact", detail='%s %s' % (s, v))
    v = a.step('serve', 'srv', str(KIB))
    out = lan.nsrun(lan.host, [sys.executable, '-c',
                               'import hashlib, urllib.request; print(hashlib.sha256('
                               'urllib.request.urlopen("http://%s:8080/blob", timeout=60)'
                               '.read()).hexdigest())' % a.ip()], check=False).stdout.strip()
    tap.ok(out == v.get('srv.sha256'), "TCP host's own stack fetches from the guest's "
           'httpd: 1 MiB, intact', detail='%s %s' % (out, v.get('srv.sha256')))

    v = b.step('ping', 'a', a.ip())
    tap.equal(v.get('a.ping'), 'ok', 'guest B -> guest A (separate QEMUs): ping')
    v = b.step('fetch', 'aget', 'http://%s:8080/blob' % a.ip())
    tap.ok(v.get('aget.sha256') == a.get('srv.sha256'),
           "TCP guest A -> guest B: A's 1 MiB over HTTP, intact", detail=str(v))

    rx = lan.spawn(raw(lan.peer, 'recv', 'p1', ETH_TEST, '4'))
    lan.read_line(rx, 'listening', 10)
    b.step('raw', 'nonip', PEER_MAC, '-', ETH_TEST, 'c0ffee' * 10, '1')
    out = Lan.collect(rx, 20)
    want = PEER_MAC.replace(':', '') + MAC_B.replace(':', '') + ETH_TEST + 'c0ffee' * 10
    tap.ok('got ' + want in out, 'a raw non-IP ethertype frame from the guest reaches '
           'the LAN peer, unchanged', detail=out)

    rx = lan.spawn(raw(lan.peer, 'recv', 'p1', ETH_TEST, '4'))
    lan.read_line(rx, 'listening', 10)
    v = a.step('raw', 'spoof', PEER_MAC, SPOOFED, ETH_TEST, 'bad0' * 10, '3')
    out = Lan.collect(rx, 20)
    info = a.hmp('info network')
    m = re.search(r'qemu drops: spoofed-source=(\d+)', info)
    tap.ok('bad0' not in out and m and int(m.group(1)) == 3 and
           v.get('spoof.sent') == 'sent 3',
           'a spoofed source MAC is dropped, and counted in info network',
           detail='%s\n%s' % (out, info))
    tap.ok('mode=wired' in info and 'ifname=h1' in info and 'to-host=' in info and
           re.search(r'from-guests=[1-9]', info) is not None,
           'info network shows adapter, mode and per-path counters', detail=info)

    # a third QEMU with A's MAC: refused once its machine is built
    dup = subprocess.run([qemu, '-machine', 'pc', '-accel', 'tcg', '-nodefaults',
                          '-display', 'none', '-S', '-netdev',
                          'filter-bridge,id=n0,ifname=h1,helper=' + lan.helper,
                          '-device', 'dec21140a,netdev=n0,mac=' + MAC_A],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=60)
    tap.ok(dup.returncode == 1 and 'already in use on host adapter h1' in dup.stdout,
           'a second guest with the same MAC is refused with a clear error',
           detail=dup.stdout)

    # the cable: carrier gone and back, as the guest sees it
    a.g.send('step', 'carrier car')
    time.sleep(1)
    lan.nsrun(lan.lan, ['ip', 'link', 'set', 'lh', 'down'])
    # QEMU follows the adapter at once (netlink); the guest's driver later
    deadline = time.monotonic() + 10
    info = a.hmp('info network')
    while 'link=no-carrier' not in info and time.monotonic() < deadline:
        time.sleep(0.2)
        info = a.hmp('info network')
    tap.ok(re.search(r'type=filter-bridge.*link=no-carrier', info),
           'the adapter loses carrier: QEMU unplugs the NIC\'s cable', detail=info)
    # up to a minute: the driver polls the PHY every 60 s while the link is up
    down = a.g.wait_result('car.down', 100)
    lan.nsrun(lan.lan, ['ip', 'link', 'set', 'lh', 'up'])
    upv = a.g.wait_result('car.up', 40)
    a.g.wait_result('car.done', 10)
    tap.ok(down == 'ok' and upv == 'ok',
           'the adapter loses carrier: the guest sees it; and it comes back',
           detail='down %s up %s' % (down, upv))

    # a NIC plugged in later: netdev_add, device_add; netdev_del undoes it
    hot_mac = '00:03:ff:7b:00:a2'
    a.hmp('netdev_add filter-bridge,id=hp0,ifname=h1,helper=' + lan.helper)
    a.hmp('device_add dec21140a,netdev=hp0,mac=%s,id=hpnic' % hot_mac)
    hot = hot_mac.replace(':', '-')
    deadline = time.monotonic() + 10
    while hot not in (lan.registry()[1] or []) and time.monotonic() < deadline:
        time.sleep(0.2)
    info = a.hmp('info network')
    tap.ok(hot in (lan.registry()[1] or []) and
           re.search(r'hp0: .*type=filter-bridge.*link=up', info),
           'a hot-plugged NIC is attached (netdev_add, device_add)', detail=info)
    # the netdev goes once the NIC does (QEMU keeps a netdev its NIC
    # still holds), and the guest's kernel lets the card go by ACPI
    a.hmp('device_del hpnic')
    a.hmp('netdev_del hp0')
    deadline = time.monotonic() + 20
    while hot in (lan.registry()[1] or []) and time.monotonic() < deadline:
        time.sleep(0.2)
    tap.ok(hot not in (lan.registry()[1] or []) and lan.tcx_programs() == (2, 4),
           'device_del and netdev_del take its programs and record away',
           detail='%r %r' % (lan.registry(), lan.tcx_programs()))

    frames = lan.stop_capture(cap)
    leaks = fbnet.frames_between(frames, [HOST_MAC], [MAC_A, MAC_B]) + \
        fbnet.frames_between(frames, [MAC_A], [MAC_B])
    tap.ok(not leaks and len(frames) > 100,
           'LAN capture: no host<->guest or guest<->guest unicast (%d frames)'
           % len(frames), detail='\n'.join(leaks[:20]))

    # SIGKILL of B's QEMU (its pid from the registry)
    path, names = lan.registry()
    qpid = None
    with open(os.path.join(path, MAC_B.replace(':', '-'))) as f:
        qpid = int(re.search(r'qemu=(\d+)', f.read()).group(1))
    os.kill(qpid, signal.SIGKILL)
    b.g.join(30)
    time.sleep(1)
    _, names = lan.registry()
    tap.ok(names == [MAC_A.replace(':', '-')] and lan.promiscuity() == 1 and
           lan.tcx_programs() == (1, 2) and len(lan.taps()) == 1,
           "QEMU killed with SIGKILL: its record, programs, tap and promiscuity go",
           detail='records %r promiscuity %r tcx %r taps %r' %
           (names, lan.promiscuity(), lan.tcx_programs(), lan.taps()))
    v = a.step('ping', 'peer2', PEER_IP)
    tap.equal(v.get('peer2.ping'), 'ok', 'the other guest carries on')
    ra = a.finish()
    tap.ok(ra.rc == 0, 'guest A finished its scenario', ra)
    problems = lan.wait_clean()
    tap.ok(not problems, 'no tcx program, tap, promiscuity or record left',
           detail='\n'.join(problems))
    lan.stop(host_http)
    lan.stop(peer_http)


def wifi(lan, qemu):
    # the LAN forgets the wired guests before the access point comes
    for ns in (lan.peer, lan.lan, lan.host):
        fbnet.run(['ip', '-n', ns, 'neigh', 'flush', 'all'], check=False)
    lan.wifi_access_point()
    drops0 = lan.ap_drops()
    cap = lan.start_capture()
    # C's DHCP client sends no client identifier: QEMU adds one
    c = Vm(lan, qemu, 'c', MAC_C, ',wifi=on', args={'clientid': 'off'}).start()
    d = Vm(lan, qemu, 'd', MAC_D, ',wifi=on').start()
    up = c.ready() and d.ready()
    tap.ok(up and c.get('dhcp') == 'ok' and d.get('dhcp') == 'ok' and
           c.ip() != d.ip(), 'Wi-Fi: two guests got leases of their own',
           detail='C %s, D %s' % (c.g.values, d.g.values))
    # on the air both guests are the host's MAC: leases go by client id
    ids = {cid: (mac, ip) for mac, ip, cid in lan.leases()}
    tap.ok(ids.get('01:' + MAC_C) == (HOST_MAC, c.ip()) and
           ids.get('01:' + MAC_D) == (HOST_MAC, d.ip()),
           "Wi-Fi: each lease is under the guest's own client identifier (QEMU "
           "gave C its own) and the host's MAC", detail=str(ids))
    v = c.step('ping', 'peer', PEER_IP)
    tap.equal(v.get('peer.ping'), 'ok', 'Wi-Fi: guest -> LAN peer: ping')
    v = d.step('ping', 'peer', PEER_IP)
    tap.equal(v.get('peer.ping'), 'ok', 'Wi-Fi: the other guest -> LAN peer: ping')
    v = c.step('ping', 'd', d.ip())
    tap.equal(v.get('d.ping'), 'ok', 'Wi-Fi: guest -> guest: ping')
    v = d.step('ping', 'host', HOST_IP)
    tap.equal(v.get('host.ping'), 'ok', "Wi-Fi: guest -> host's own address: ping")
    info = c.hmp('info network')
    tap.ok('mode=wifi' in info and re.search(r'learned-dhcp=1', info) and
           re.search(r'steered=[1-9]', info),
           'Wi-Fi: info network shows the mode, learning and steering', detail=info)
    frames = lan.stop_capture(cap)
    foreign = sorted({f[6:12].hex(':') for dirn, f in frames
                      if dirn == 'in' and f[6:12] != bytes.fromhex(HOST_MAC.replace(':', ''))})
    tap.ok(not foreign and lan.ap_drops() == drops0,
           'Wi-Fi: only the host MAC went on the air; the access point dropped nothing',
           detail='%s, AP drops (from, to the station) %r, before %r' %
           (foreign, lan.ap_drops(), drops0))
    for vm in (c, d):
        r = vm.finish()
        tap.ok(r.rc == 0, 'Wi-Fi: guest %s finished' % vm.name, r)
    problems = lan.wait_clean()
    tap.ok(not problems, 'Wi-Fi: nothing left behind', detail='\n'.join(problems))


def main():
    if os.geteuid() != 0:
        tap.ok(False, 'the filter-bridge guest tests need root (namespaces)')
        return tap.done()
    fbnet.deps()
    with Lan('fbg%d' % (os.getpid() % 10000)) as lan:
        guest.GUEST_DIR = guest_images(lan)
        qemu = lan.write_wrapper('qemu', qemu_binary())
        lan.start_dhcp()
        wired(lan, qemu)
        wifi(lan, qemu)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
