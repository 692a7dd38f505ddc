# SPDX-License-Identifier: GPL-2.0-or-later
"""The filter-bridge test network: namespaces, the helper, the ACL.

    with Lan('fbt') as lan:             # namespaces TAG-lan, TAG-host, TAG-peer
        lan.start_dhcp()                # dnsmasq on the LAN bridge
        g = lan.add_guest_ns('g1', MAC1, '10.77.0.11')   # for fb-client
        client = lan.start_client('g1', MAC1)
        ...

Topology (everything inside namespaces this module creates):

    TAG-lan   a Linux bridge br0 (10.77.0.254, the LAN's DHCP server with
              dnsmasq) with two ports: lh, cabled to the host's adapter,
              and lp, cabled to the peer
    TAG-host  the host: adapter h1 (10.77.0.1, fd77::1) with its own
              address, where QEMU (or fb-client) runs unprivileged
    TAG-peer  a peer host on the LAN: p1 (10.77.0.3, fd77::3)
    TAG-NAME  (add_guest_ns) a stand-in guest: a tap gx whose kernel stack
              is the guest, relayed to the helper's tap by fb-client

The helper is copied, setuid root, into a private directory, with an ACL
file allowing h1; every process that runs the helper is started in a
mount namespace of its own where that file is overlaid on /etc/qemu
(wrap()), so the machine's /etc is never touched.  Processes run as
nobody, with no capability: setpriv --reuid/--regid/--inh-caps=-all.

Wi-Fi is simulated on the LAN side (wifi_access_point()): nft bridge
rules on lh drop every frame from the host's adapter whose source MAC is
not the adapter's, and every unicast frame to it for another MAC, as an
access point does for its one associated station.

close() kills what was started, deletes the namespaces and the private
directory; leftovers() reports what the filter bridge left on h1
(tcx programs, promiscuity, taps, registry records).
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get('VPCNET_BUILD') or os.path.join(REPO, 'build')

SUBNET = '10.77.0'
HOST_IP = SUBNET + '.1'
PEER_IP = SUBNET + '.3'
LAN_IP = SUBNET + '.254'
HOST_IP6 = 'fd77::1'
PEER_IP6 = 'fd77::3'
HOST_MAC = '02:77:00:00:00:01'
PEER_MAC = '02:77:00:00:00:03'
LAN_MAC = '02:77:00:00:00:fe'
DHCP_FIRST = SUBNET + '.100'
DHCP_LAST = SUBNET + '.150'
NOBODY = 65534
REGISTRY = '/run/vpcnet-filter-bridge'


def run(argv, check=True, **kw):
    """Run argv; its CompletedProcess (text, stdout+stderr captured)."""
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, **kw)
    if check and proc.returncode != 0:
        raise RuntimeError('%s failed (%d): %s' % (' '.join(argv), proc.returncode,
                                                   proc.stdout.strip()))
    return proc


def helper_binary():
    """The helper as `make` built it, beside the emulator."""
    for path in (os.path.join(BUILD, 'qemu-build', 'qemu-filter-bridge-helper'),
                 os.path.join(BUILD, 'lib', 'net', 'vpcnet', 'bridge',
                              'qemu-filter-bridge-helper')):
        if os.path.exists(path):
            return os.path.realpath(path)
    raise RuntimeError('qemu-filter-bridge-helper is not built (run make)')


def fb_client_binary():
    path = os.path.join(BUILD, 'lib', 'tests', 'bridge', 'fb-client')
    if not os.path.exists(path):
        raise RuntimeError('fb-client is not built (run make)')
    return path


def deps():
    """Install the suite's packages (scripts/deps.d/bridge)."""
    run([os.path.join(REPO, 'scripts', 'deps.sh'), 'bridge'])


class Lan:
    """The test network; see the module's doc."""

    def __init__(self, tag, acl='allow h1\n'):
        self.tag = tag
        self.lan = tag + '-lan'
        self.host = tag + '-host'
        self.peer = tag + '-peer'
        self.namespaces = []
        self.procs = []
        self.dir = tempfile.mkdtemp(prefix='vpcnet-%s-' % tag)
        os.chmod(self.dir, 0o755)
        self.lease_file = os.path.join(self.dir, 'dnsmasq.leases')
        self.dnsmasq = None
        self._setup_privileged(acl)
        try:
            self._setup_network()
        except Exception:
            self.close()
            raise

    # -- the helper, the ACL and the wrapper ---------------------------

    def _setup_privileged(self, acl):
        bindir = os.path.join(self.dir, 'bin')
        os.mkdir(bindir, 0o755)
        self.helper = os.path.join(bindir, 'qemu-filter-bridge-helper')
        shutil.copy(helper_binary(), self.helper)
        os.chown(self.helper, 0, 0)
        os.chmod(self.helper, 0o4755)
        self.acl_root = os.path.join(self.dir, 'etc-overlay')
        os.makedirs(os.path.join(self.acl_root, 'qemu'), 0o755)
        self.acl_file = os.path.join(self.acl_root, 'qemu', 'filter-bridge.conf')
        self.set_acl(acl)

    def set_acl(self, text):
        """The ACL file the helper reads as /etc/qemu/filter-bridge.conf
        (None: no file at all)."""
        if text is None:
            if os.path.exists(self.acl_file):
                os.unlink(self.acl_file)
            return
        with open(self.acl_file, 'w') as f:
            f.write(text)
        os.chmod(self.acl_file, 0o644)

    def wrap(self, argv, netns=None, user=NOBODY):
        """argv run in @netns (default: the host's), as @user with no
        capability, in a mount namespace where the ACL is /etc/qemu."""
        prefix = ['unshare', '--mount', '--propagation', 'private', '--',
                  'sh', '-c',
                  'mount -t overlay vpcnet-acl -o lowerdir="$0":/etc /etc && '
                  'exec "$@"', self.acl_root,
                  'ip', 'netns', 'exec', netns or self.host]
        if user is not None:
            prefix += ['setpriv', '--reuid=%d' % user, '--regid=%d' % user,
                       '--clear-groups', '--inh-caps=-all']
        return prefix + list(argv)

    def write_wrapper(self, name, program):
        """A script that runs @program as wrap() does: for harnesses that
        take one executable (the guest tests' QEMU)."""
        path = os.path.join(self.dir, name)
        words = ' '.join("'%s'" % w.replace("'", "'\\''")
                         for w in self.wrap([program]))
        with open(path, 'w') as f:
            f.write('#!/bin/sh\nexec %s "$@"\n' % words)
        os.chmod(path, 0o755)
        return path

    # -- namespaces ------------------------------------------------------

    def ns(self, name):
        return '%s-%s' % (self.tag, name)

    def _add_ns(self, name):
        run(['ip', 'netns', 'del', name], check=False)
        run(['ip', 'netns', 'add', name])
        self.namespaces.append(name)
        run(['ip', '-n', name, 'link', 'set', 'lo', 'up'])

    def nsrun(self, ns, argv, check=True, timeout=60):
        return run(['ip', 'netns', 'exec', ns] + list(argv), check=check,
                   timeout=timeout)

    def _setup_network(self):
        for ns in (self.lan, self.host, self.peer):
            self._add_ns(ns)
        ip = lambda ns, *a: run(['ip', '-n', ns] + list(a))   # noqa: E731
        ip(self.lan, 'link', 'add', 'br0', 'address', LAN_MAC, 'type', 'bridge')
        ip(self.lan, 'link', 'add', 'lh', 'type', 'veth', 'peer', 'name', 'h1',
           'netns', self.host)
        ip(self.lan, 'link', 'add', 'lp', 'type', 'veth', 'peer', 'name', 'p1',
           'netns', self.peer)
        for port in ('lh', 'lp'):
            ip(self.lan, 'link', 'set', port, 'master', 'br0', 'up')
        ip(self.lan, 'link', 'set', 'br0', 'up')
        ip(self.lan, 'addr', 'add', LAN_IP + '/24', 'dev', 'br0')
        for ns, dev, mac, a4, a6 in ((self.host, 'h1', HOST_MAC, HOST_IP, HOST_IP6),
                                     (self.peer, 'p1', PEER_MAC, PEER_IP, PEER_IP6)):
            self.sysctl(ns, 'net.ipv6.conf.all.accept_dad', 0)
            self.sysctl(ns, 'net.ipv6.conf.default.accept_dad', 0)
            ip(ns, 'link', 'set', dev, 'address', mac, 'up')
            ip(ns, 'addr', 'add', a4 + '/24', 'dev', dev)
            ip(ns, 'addr', 'add', a6 + '/64', 'dev', dev, 'nodad')
            # ping sockets for anyone (the namespace default is none)
            self.sysctl(ns, 'net.ipv4.ping_group_range', '0 2147483647')

    def sysctl(self, ns, key, value):
        self.nsrun(ns, ['sysctl', '-q', '-w', '%s=%s' % (key, value)])

    def add_guest_ns(self, name, mac, ip4, ip6=None):
        """A stand-in guest: namespace TAG-NAME with a tap gx (MAC @mac,
        address @ip4/24) for fb-client --relay."""
        ns = self.ns(name)
        self._add_ns(ns)
        self.sysctl(ns, 'net.ipv6.conf.all.accept_dad', 0)
        self.sysctl(ns, 'net.ipv6.conf.default.accept_dad', 0)
        run(['ip', '-n', ns, 'tuntap', 'add', 'dev', 'gx', 'mode', 'tap'])
        run(['ip', '-n', ns, 'link', 'set', 'gx', 'address', mac, 'up'])
        run(['ip', '-n', ns, 'addr', 'add', ip4 + '/24', 'dev', 'gx'])
        if ip6:
            run(['ip', '-n', ns, 'addr', 'add', ip6 + '/64', 'dev', 'gx', 'nodad'])
        return ns

    # -- processes -------------------------------------------------------

    def spawn(self, argv, **kw):
        """Start a process (its own process group) and keep it for close()."""
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True, **kw)
        self.procs.append(proc)
        return proc

    @staticmethod
    def read_line(proc, pattern, timeout=20):
        """Wait for a line of proc's output matching @pattern (a regex);
        the match, or None at EOF or timeout.  Lines read are kept in
        proc.seen.  Reads the pipe itself (os.read), so that select()
        never misses lines sitting in a buffer."""
        import select
        deadline = time.monotonic() + timeout
        if not hasattr(proc, 'seen'):
            proc.seen = []
            proc.pending = b''
        fd = proc.stdout.fileno()
        while True:
            while b'\n' in proc.pending:
                raw, proc.pending = proc.pending.split(b'\n', 1)
                line = raw.decode(errors='replace')
                proc.seen.append(line)
                m = re.search(pattern, line)
                if m:
                    return m
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if not select.select([fd], [], [], left)[0]:
                continue
            data = os.read(fd, 65536)
            if not data:
                return None
            proc.pending += data

    @staticmethod
    def collect(proc, timeout=30):
        """Wait for @proc to exit; all its output read_line() has not
        consumed."""
        out, _ = proc.communicate(timeout=timeout)
        return getattr(proc, 'pending', b'').decode(errors='replace') + (out or '')

    def stop(self, proc, sig=signal.SIGTERM):
        """End @proc (its whole group); its remaining output."""
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
        return getattr(proc, 'pending', b'').decode(errors='replace') + (out or '')

    def start_client(self, guest, mac, extra=(), relay=True):
        """fb-client as nobody in the host namespace: the helper, then a
        relay to guest namespace TAG-@guest's tap.  Returns the process
        once it printed "ready" (or its "error" line)."""
        argv = [fb_client_binary(), '--helper=' + self.helper, '--ifname=h1',
                '--mac=' + mac] + list(extra)
        if relay:
            argv.append('--relay=%s:gx' % self.ns(guest))
        # fb-client opens the guest's tap as root, then becomes nobody
        proc = self.spawn(self.wrap(argv + ['--user=nobody'], user=None))
        m = self.read_line(proc, r'^(ready|error) ?(.*)')
        proc.status = m.group(1) if m else None
        proc.detail = m.group(2) if m else ' | '.join(getattr(proc, 'seen', []))
        return proc

    def start_dhcp(self):
        """dnsmasq on br0: leases DHCP_FIRST..DHCP_LAST, router PEER_IP."""
        pid_file = os.path.join(self.dir, 'dnsmasq.pid')
        self.dnsmasq = self.spawn(['ip', 'netns', 'exec', self.lan, 'dnsmasq',
                                   '--no-daemon', '--conf-file=/dev/null', '--port=0',
                                   '--interface=br0', '--bind-interfaces',
                                   '--dhcp-range=%s,%s,255.255.255.0,1h'
                                   % (DHCP_FIRST, DHCP_LAST),
                                   '--dhcp-option=3,' + PEER_IP,
                                   '--dhcp-leasefile=' + self.lease_file,
                                   '--pid-file=' + pid_file, '--user=root'])
        if not self.read_line(self.dnsmasq, r'sockets bound|DHCP, IP range', 10):
            raise RuntimeError('dnsmasq did not start: %s'
                               % ' | '.join(getattr(self.dnsmasq, 'seen', [])))

    def leases(self):
        """dnsmasq's leases: a list of (mac, ip, client_id)."""
        try:
            with open(self.lease_file) as f:
                lines = f.read().splitlines()
        except OSError:
            return []
        out = []
        for line in lines:
            w = line.split()
            if len(w) >= 5:
                out.append((w[1], w[2], w[4]))
        return out

    def start_capture(self, iface='lh', ns=None):
        """Record what crosses @iface (default: the LAN end of the host's
        cable) until stop_capture()."""
        path = os.path.join(self.dir, 'capture-%s.txt' % iface)
        proc = self.spawn(['ip', 'netns', 'exec', ns or self.lan, sys.executable,
                           os.path.join(HERE, 'fbraw.py'), 'capture', iface, path])
        if not self.read_line(proc, 'capturing', 10):
            raise RuntimeError('capture did not start')
        proc.path = path
        return proc

    def stop_capture(self, proc):
        """The frames captured: a list of (direction, bytes)."""
        time.sleep(0.3)
        self.stop(proc)
        frames = []
        with open(proc.path) as f:
            for line in f:
                d, h = line.split()
                frames.append((d, bytes.fromhex(h)))
        return frames

    def wifi_access_point(self):
        """nft bridge rules on lh: only the host adapter's MAC may send,
        and only frames for it (or multicast) are delivered to it."""
        rules = '''
table bridge vpcnet_ap {
  chain forward {
    type filter hook forward priority 0; policy accept;
    iifname "lh" ether saddr != %(mac)s counter drop
    oifname "lh" ether daddr != %(mac)s ether daddr & 01:00:00:00:00:00 == 00:00:00:00:00:00 counter drop
  }
  chain input {
    type filter hook input priority 0; policy accept;
    iifname "lh" ether saddr != %(mac)s counter drop
  }
  chain output {
    type filter hook output priority 0; policy accept;
    oifname "lh" ether daddr != %(mac)s ether daddr & 01:00:00:00:00:00 == 00:00:00:00:00:00 counter drop
  }
}
''' % {'mac': HOST_MAC}
        path = os.path.join(self.dir, 'ap.nft')
        with open(path, 'w') as f:
            f.write(rules)
        self.nsrun(self.lan, ['nft', '-f', path])

    def ap_drops(self):
        """What the simulated access point dropped: (frames from the host's
        adapter with a source other than its MAC, frames to it for a MAC
        other than its own)."""
        out = self.nsrun(self.lan, ['nft', '-j', 'list', 'table', 'bridge',
                                    'vpcnet_ap']).stdout
        from_station = to_station = 0
        for item in json.loads(out).get('nftables', []):
            rule = item.get('rule')
            if not rule:
                continue
            packets = sum(e['counter'].get('packets', 0)
                          for e in rule.get('expr', []) if 'counter' in e)
            if 'saddr' in json.dumps(rule.get('expr')):
                from_station += packets
            else:
                to_station += packets
        return from_station, to_station

    # -- what the filter bridge leaves behind ----------------------------

    def promiscuity(self, ns=None, dev='h1'):
        out = run(['ip', '-n', ns or self.host, '-d', '-j', 'link', 'show', dev]).stdout
        return json.loads(out)[0].get('promiscuity')

    def tcx_programs(self, ns=None, dev='h1'):
        out = self.nsrun(ns or self.host, [fb_client_binary(), '--query=' + dev]).stdout
        m = re.search(r'ingress=(-?\d+) egress=(-?\d+)', out)
        return (int(m.group(1)), int(m.group(2))) if m else None

    def taps(self, ns=None):
        out = run(['ip', '-n', ns or self.host, '-o', 'link', 'show']).stdout
        return re.findall(r'^\d+: (vpcfb\d+)', out, re.M)

    def netns_inode(self, ns=None):
        return os.stat('/run/netns/' + (ns or self.host)).st_ino

    def registry(self, ns=None):
        """Our adapter's registry directory and the records in it."""
        ifindex = int(self.nsrun(ns or self.host,
                                 ['cat', '/sys/class/net/h1/ifindex']).stdout)
        path = os.path.join(REGISTRY, '%d.%d' % (self.netns_inode(ns), ifindex))
        try:
            names = sorted(n for n in os.listdir(path) if n != 'lock')
        except FileNotFoundError:
            return path, None
        return path, names

    def leftovers(self):
        """What the filter bridge left on the host adapter; [] if nothing."""
        problems = []
        progs = self.tcx_programs()
        if progs != (0, 0):
            problems.append('tcx programs on h1 (ingress, egress): %r' % (progs,))
        p = self.promiscuity()
        if p:
            problems.append('h1 promiscuity %r' % p)
        taps = self.taps()
        if taps:
            problems.append('taps %s' % ' '.join(taps))
        path, names = self.registry()
        if names is not None:
            problems.append('registry %s holds %r' % (path, names))
        return problems

    def wait_clean(self, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            problems = self.leftovers()
            if not problems or time.monotonic() > deadline:
                return problems
            time.sleep(0.2)

    # -- the end -----------------------------------------------------------

    def close(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                proc.communicate(timeout=10)
            except (subprocess.TimeoutExpired, ValueError):
                pass
        self.procs = []
        for ns in reversed(self.namespaces):
            run(['ip', 'netns', 'del', ns], check=False)
        self.namespaces = []
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def frames_between(frames, macs_a, macs_b):
    """Unicast frames in a capture from a MAC in @macs_a to one in
    @macs_b or back: (src, dst) pairs as text."""
    a = {bytes.fromhex(m.replace(':', '')) for m in macs_a}
    b = {bytes.fromhex(m.replace(':', '')) for m in macs_b}
    leaks = []
    for _, f in frames:
        if len(f) < 14:
            continue
        dst, src = f[0:6], f[6:12]
        if (src in a and dst in b) or (src in b and dst in a):
            leaks.append('%s->%s type %04x' % (src.hex(':'), dst.hex(':'),
                                               int.from_bytes(f[12:14], 'big')))
    return leaks
