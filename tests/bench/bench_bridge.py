#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""make bench-bridge: -netdev filter-bridge beside the usual alternatives,
one table each from one run.

The same namespace network as the tests (tests/bridge/fbnet.py: a LAN
bridge with dnsmasq and a peer, the host's adapter h1 with its own
address), built afresh for each of three ways to put a guest on h1's LAN:

  filter-bridge   -netdev filter-bridge, QEMU as nobody, the helper
                  setuid root
  tap+bridge      the usual root setup: h1 enslaved to a Linux bridge
                  that takes over the host's address, the guest's tap a
                  port of it (QEMU as root, -netdev tap)
  macvtap         macvtap in bridge mode on h1 (QEMU as root, -netdev
                  tap,fd= on /dev/tapN); the kernel keeps the host and
                  its macvtaps apart, so there is no host path

1. iperf3 through the same TCG guest with the same dec21140a, to the
   LAN peer and to the host's own address, each way (the guest's
   iperf3 against servers in the peer and host namespaces).

2. The host-side path alone: fb-client (tests/bridge/fb-client.c) in
   place of QEMU writes 64-byte and 1514-byte frames into the same
   kind of tap as fast as it takes them, to the peer's MAC (the wire
   path) and to the host's (the host path); frames per second written
   (the kernel's whole path runs in the write), and for the wire the
   frames per second the peer received.

Each figure is the median of --rounds (the modes in turn; for the load
tool, every measurement alternates between them); the load average
before and after is printed with them.  The machine this runs
on is usually shared: treat the figures as that.  Figures, not a test.
Needs root (namespaces).
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, 'bridge'))
sys.path.insert(0, os.path.join(TESTS, 'guest'))

import fbnet                                    # noqa: E402
from fbnet import HOST_IP, HOST_MAC, PEER_IP, PEER_MAC, Lan   # noqa: E402
from guest import Guest, ensure_images, qemu_binary        # noqa: E402

MODES = ['filter-bridge', 'tap+bridge', 'macvtap']
GUEST_MAC = '00:03:ff:7b:00:99'
LOAD_MAC = '00:03:ff:7b:00:98'


def loadavg():
    with open('/proc/loadavg') as f:
        return ' '.join(f.read().split()[:3])


class Setup:
    """One mode's network, QEMU wrapper and -netdev."""

    def __init__(self, mode, tag):
        self.mode = mode
        self.lan = Lan(tag)
        self.lan.start_dhcp()
        self.load_tap = None
        self.load_dev = None
        h = self.lan.host
        if mode == 'filter-bridge':
            self.qemu = self.lan.write_wrapper('qemu', qemu_binary())
            self.netdev = 'filter-bridge,id=n0,ifname=h1,helper=' + self.lan.helper
        elif mode == 'tap+bridge':
            for argv in (['link', 'add', 'brh', 'address', HOST_MAC, 'type', 'bridge'],
                         ['addr', 'flush', 'dev', 'h1'],
                         ['link', 'set', 'h1', 'master', 'brh'],
                         ['link', 'set', 'brh', 'up'],
                         ['addr', 'add', HOST_IP + '/24', 'dev', 'brh'],
                         ['tuntap', 'add', 'dev', 'tapb', 'mode', 'tap'],
                         ['link', 'set', 'tapb', 'master', 'brh', 'up'],
                         ['tuntap', 'add', 'dev', 'tapl', 'mode', 'tap'],
                         ['link', 'set', 'tapl', 'master', 'brh', 'up']):
                fbnet.run(['ip', '-n', h] + argv)
            self.qemu = self._root_wrapper('')
            self.netdev = 'tap,id=n0,ifname=tapb,script=no,downscript=no'
            self.load_tap = 'tapl'
        else:
            devs = {}
            for name, mac in (('mvt0', GUEST_MAC), ('mvt1', LOAD_MAC)):
                fbnet.run(['ip', '-n', h, 'link', 'add', 'link', 'h1', 'name', name,
                           'address', mac, 'type', 'macvtap', 'mode', 'bridge'])
                fbnet.run(['ip', '-n', h, 'link', 'set', name, 'up'])
                idx = self.lan.nsrun(h, ['cat', '/sys/class/net/%s/ifindex' % name]
                                     ).stdout.strip()
                devs[name] = '/dev/tap' + idx
                self._wait_dev(devs[name])
            self.qemu = self._root_wrapper('exec 3<>%s; ' % devs['mvt0'])
            self.netdev = 'tap,id=n0,fd=3'
            self.load_dev = devs['mvt1']

    @staticmethod
    def _wait_dev(path):
        for _ in range(50):
            if os.path.exists(path):
                return
            time.sleep(0.1)
        raise RuntimeError('%s did not appear' % path)

    def _root_wrapper(self, prelude):
        path = os.path.join(self.lan.dir, 'qemu-root')
        with open(path, 'w') as f:
            f.write('#!/bin/sh\nexec ip netns exec %s sh -c \'%sexec "$0" "$@"\' %s "$@"\n'
                    % (self.lan.host, prelude, qemu_binary()))
        os.chmod(path, 0o755)
        return path

    def iperf(self, server, seconds, name):
        """tx (guest sends) and rx Mbit/s against an iperf3 in @server's
        namespace; None where the guest got nothing through."""
        ns, addr = server
        srv = self.lan.spawn(['ip', 'netns', 'exec', ns, 'iperf3', '-s', '-B', addr,
                              '-p', '5201'])
        time.sleep(0.5)
        g = Guest(qemu=self.qemu, name='bench-bridge-' + name, scenario='iperf',
                  args={'server': addr, 'port': 5201, 'seconds': seconds},
                  devices=['-netdev', self.netdev,
                           '-device', 'dec21140a,netdev=n0,mac=' + GUEST_MAC],
                  timeout=60 + 4 * seconds)
        r = g.run()
        self.lan.stop(srv)
        out = {}
        for d in ('tx', 'rx'):
            try:
                out[d] = float(r.values.get(d + '.mbps'))
            except (TypeError, ValueError):
                out[d] = None
        return out

    def peer_rx(self):
        out = fbnet.run(['ip', '-n', self.lan.peer, '-s', '-j', 'link', 'show', 'p1']).stdout
        return int(re.search(r'"rx":\{"bytes":\d+,"packets":(\d+)', out).group(1))

    def blast(self, dst, size, seconds):
        """(frames/s written, frames/s the peer received) for fb-client
        writing @size-byte frames to @dst for @seconds."""
        client = fbnet.fb_client_binary()
        args = ['--mac=' + LOAD_MAC, '--dst=' + dst, '--blast=%d' % size,
                '--seconds=%g' % seconds]
        if self.mode == 'filter-bridge':
            argv = self.lan.wrap([client, '--helper=' + self.lan.helper, '--ifname=h1']
                                 + args)
        elif self.load_tap:
            argv = ['ip', 'netns', 'exec', self.lan.host, client,
                    '--tap=' + self.load_tap] + args
        else:
            argv = ['ip', 'netns', 'exec', self.lan.host, client,
                    '--open=' + self.load_dev] + args
        before = self.peer_rx()
        out = fbnet.run(argv, timeout=seconds + 30).stdout
        time.sleep(0.3)
        after = self.peer_rx()
        m = re.search(r'rate frames=(\d+) seconds=([\d.]+)', out)
        if not m:
            raise RuntimeError('fb-client: %s' % out)
        secs = float(m.group(2))
        return int(m.group(1)) / secs, (after - before) / secs

    def close(self):
        self.lan.close()


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, unit=''):
    if v is None:
        return 'no path'
    if unit == 'k':
        return '%.0f k' % (v / 1000)
    return '%.0f' % v


def ratio(a, b):
    return '%.2fx' % (a / b) if a and b else '-'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seconds', type=int, default=8, help='per iperf3 direction')
    ap.add_argument('--rounds', type=int, default=1, help='iperf3 rounds')
    ap.add_argument('--blast-seconds', type=float, default=2)
    ap.add_argument('--blast-rounds', type=int, default=5)
    ap.add_argument('--skip-iperf', action='store_true')
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit('bench-bridge: needs root (network namespaces)')
    fbnet.deps()
    ensure_images()
    print('bench-bridge: load average %s before; the machine may be shared with '
          'other work, so the figures are as good as it was quiet' % loadavg())

    thr = {(m, row): [] for m in MODES for row in range(4)}
    fps = {}
    tag = 'fbb%d' % (os.getpid() % 1000)
    # iperf3: one mode's network at a time, since QEMU's -netdev tap
    # tries /dev/tap<ifindex> (macvtap) first, and ifindexes repeat
    # across namespaces while /dev does not.
    for rnd in range(0 if args.skip_iperf else args.rounds):
        order = MODES[rnd % 3:] + MODES[:rnd % 3]
        for mode in order:
            s = Setup(mode, '%s%d' % (tag, rnd))
            try:
                name = mode.replace('+', '-')
                peer = s.iperf((s.lan.peer, PEER_IP), args.seconds, name + '-peer')
                host = s.iperf((s.lan.host, HOST_IP), args.seconds, name + '-host')
            finally:
                s.close()
            for row, v in enumerate((peer['tx'], peer['rx'], host['tx'], host['rx'])):
                thr[(mode, row)].append(v)
            print('# round %d %s: peer %s, host %s' % (rnd + 1, mode, peer, host),
                  flush=True)
    # The load tool: no QEMU, so the three networks coexist and every
    # measurement alternates between the modes, which spreads whatever
    # else the machine does evenly over them.
    setups = []
    try:
        for i, mode in enumerate(MODES):
            setups.append(Setup(mode, '%sl%d' % (tag, i)))
        for path, dst in (('wire', PEER_MAC), ('host', HOST_MAC)):
            for size in (64, 1514):
                for rnd in range(args.blast_rounds):
                    for s in setups[rnd % 3:] + setups[:rnd % 3]:
                        if s.mode == 'macvtap' and path == 'host':
                            continue
                        w, r = s.blast(dst, size, args.blast_seconds)
                        fps.setdefault((s.mode, path, size), []).append((w, r))
                print('# %s %d B: %s' % (path, size, {
                    m: [int(x[0]) for x in fps.get((m, path, size), [])]
                    for m in MODES}), flush=True)
    finally:
        for s in setups:
            s.close()

    print()
    print('iperf3 through one TCG guest, dec21140a, Mbit/s (median of %d, %d s each):'
          % (args.rounds, args.seconds))
    print('| path | filter-bridge | tap+bridge | macvtap | filter-bridge / tap+bridge |')
    print('|---|---|---|---|---|')
    names = ['guest -> LAN peer', 'LAN peer -> guest', "guest -> host's address",
             "host's address -> guest"]
    for row, name in enumerate(names):
        v = [med(thr[(m, row)]) for m in MODES]
        print('| %s | %s | %s | %s | %s |' % (name, fmt(v[0]), fmt(v[1]), fmt(v[2]),
                                              ratio(v[0], v[1])))
    print()
    print('Host-side path alone, fb-client writing frames into the tap, frames/s '
          '(median of %d, %g s each; written / received by the peer):'
          % (args.blast_rounds, args.blast_seconds))
    print('| path | frame | filter-bridge | tap+bridge | macvtap | filter-bridge / tap+bridge |')
    print('|---|---|---|---|---|---|')
    for path in ('wire', 'host'):
        for size in (64, 1514):
            cells = []
            written = []
            for mode in MODES:
                runs = fps.get((mode, path, size))
                if not runs:
                    cells.append('no path')
                    written.append(None)
                    continue
                w = med([r[0] for r in runs])
                rcv = med([r[1] for r in runs])
                written.append(w)
                cells.append('%s / %s' % (fmt(w, 'k'), fmt(rcv, 'k')) if path == 'wire'
                             else fmt(w, 'k'))
            print('| guest -> %s | %d B | %s | %s | %s | %s |'
                  % ('wire' if path == 'wire' else 'host', size, cells[0], cells[1],
                     cells[2], ratio(written[0], written[1])))
    print()
    print('load average %s after' % loadavg())


if __name__ == '__main__':
    main()
