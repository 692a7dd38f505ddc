#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Namespace tests of a user-mode NAT engine (issue 8), TAP output.

The engine is VPCNET_NAT_ENGINE: a path to vpcnet-nat (the default,
$VPCNET_BUILD/vpcnet-nat, i.e. build/vpcnet-nat), or "slirp4netns" (or a
path to it), or "pasta".  It runs in slirp4netns's calling convention in
the host namespace of a netns.Topology and serves the guest namespace,
where the real Linux stack and real tools (curl, wget, dig, ping, the
Python clients of nsservice.py) talk through it to an "internet"
namespace (HTTP server, dnsmasq, ping target).  See netns.py for the
picture.  A missing engine binary is a failure, not a skip.

Engine runs, each with its own cases:

  A  MTU 1500, --enable-ipv6, host loopback closed (vpcnet-nat's
     default: no option; slirp4netns gets --disable-host-loopback),
     forwards tcp 9000 -> guest 7000 and udp 9001 -> guest 7001,
     --netns-type=path.  Addressing, downloads, 100 connections,
     half-close both ways, UDP, DNS (UDP, TCP, NXDOMAIN, forwarder
     following resolv.conf, a loopback resolver, no resolver), ping v4/v6,
     IPv6 TCP, forwards, the host namespace's own services closed.
  B  MTU 65520, host loopback open (vpcnet-nat --enable-host-loopback;
     slirp4netns by default), the PID form of the target, run without
     CAP_NET_RAW in a host namespace whose ping_group_range allows root:
     addressing at 65520, a 20 MB download, 10.0.2.2 reaches the host's
     127.0.0.1, ping through a ping socket.
  C  Without CAP_NET_RAW, ping_group_range at the kernel default: ping
     cannot work; the engine must say so (stderr mentions ping or ICMP).
  D  A forward whose host port is taken: a clear error naming the port.

Every run ends with the engine leaving when its --exit-fd is closed.
The whole file takes well under two minutes.
"""

import hashlib
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, 'tests', 'guest'))

import netns                     # noqa: E402
from netns import (INET4, INET6, WWW, HTTP_PORT, GUEST4, GATEWAY4,  # noqa: E402
                   VDNS4, TAP, HostFwd)
from tap import Tap              # noqa: E402

FILES = {'f1m': 1 << 20, 'f20m': 20 << 20}
FILES.update({'p%d' % i: 64 << 10 for i in range(10)})
FWD_TCP = HostFwd('tcp', 9000, 7000)
FWD_UDP = HostFwd('udp', 9001, 7001)
GUEST_BANNER = 'guest-service'
NO_RAW = ['setpriv', '--bounding-set', '-net_raw', '--']
PING_ALL = (0, 2147483647)
KERNEL_DEFAULT_PING = (1, 0)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


class Suite:
    def __init__(self, tap, topo, kind, binary):
        self.tap, self.topo, self.kind, self.binary = tap, topo, kind, binary
        self.engine = None

    # ---- helpers ----

    def ok(self, cond, name, detail=None):
        if not cond and self.engine is not None and not self.engine.alive():
            detail = '%s\nengine died: %s' % (detail or '', self.engine.proc.errors()
                                              if self.engine.proc else '')
        return self.tap.ok(cond, name, detail=detail)

    def client_ok(self, name, res):
        return self.ok(res.get('ok'), name, json.dumps(res))

    def guest(self, argv, timeout=60):
        try:
            return self.topo.run('guest', argv, check=False, timeout=timeout)
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(argv, 124, '', 'timed out after %ds' % timeout)

    def engine_up(self, label, **kw):
        e = netns.Engine(self.topo, self.kind, self.binary, **kw)
        try:
            e.start()
        except netns.EngineError as err:
            self.tap.ok(False, '%s: engine starts and signals ready' % label,
                        detail='%s\ncommand: %s' % (err, ' '.join(e.argv)))
            return None
        self.tap.ok(True, '%s: engine starts and signals ready on --ready-fd' % label)
        self.engine = e
        return e

    def engine_down(self, label):
        e, self.engine = self.engine, None
        alive = e.alive()
        how = e.stop()
        self.tap.ok(alive, '%s: engine still running after its cases' % label,
                    detail=e.proc.errors() if e.proc else None)
        if e.kind in ('slirp4netns', 'vpcnet-nat'):
            self.tap.ok(how == 'exit-fd', '%s: engine exits when its --exit-fd is closed'
                        % label, detail='stopped by %s' % how)

    def download(self, label, tool, url, name, extra=()):
        out = os.path.join(self.topo.tmp, 'dl-%s-%s' % (tool, name))
        if tool == 'curl':
            argv = ['curl', '-sS', '--max-time', '60', '-o', out] + list(extra) + [url]
        else:
            argv = ['wget', '-q', '--timeout=30', '--tries=1', '-O', out] + list(extra) + [url]
        start = time.monotonic()
        proc = self.guest(argv, timeout=90)
        took = time.monotonic() - start
        got = sha256_file(out) if os.path.exists(out) else None
        size = os.path.getsize(out) if got else 0
        if os.path.exists(out):
            os.unlink(out)
        self.ok(proc.returncode == 0 and got == self.topo.sha256[name],
                '%s: %s %s%s (%d MB), sha256 matches'
                % (label, tool, ''.join(a + ' ' for a in extra), url, FILES[name] >> 20),
                detail='rc %d, %d bytes in %.1fs, sha256 %s, want %s\n%s'
                % (proc.returncode, size, took, got, self.topo.sha256[name],
                   proc.stderr.strip()))

    def dig(self, server, name, qtype='A', tcp=False, timeout=3):
        argv = ['dig', '+time=%d' % timeout, '+tries=1', '@' + server, name, qtype]
        if tcp:
            argv.insert(1, '+tcp')
        start = time.monotonic()
        proc = self.guest(argv, timeout=timeout + 5)
        status = re.search(r'status: (\w+)', proc.stdout)
        answers = re.findall(r'^%s\.\s+\d+\s+IN\s+%s\s+(\S+)' % (re.escape(name), qtype),
                             proc.stdout, re.M)
        return {'status': status.group(1) if status else None, 'answers': answers,
                'seconds': round(time.monotonic() - start, 2),
                'output': proc.stdout.strip()[-600:] + proc.stderr.strip()}

    def ping(self, target, v6=False, count=3):
        argv = ['ping'] + (['-6'] if v6 else []) + ['-n', '-c', str(count), '-i', '0.2',
                                                    '-w', '5', target]
        proc = self.guest(argv, timeout=10)
        m = re.search(r'(\d+) received', proc.stdout)
        return (int(m.group(1)) if m else 0), proc.stdout.strip()[-400:] + proc.stderr

    def wait_ipv6(self, timeout=8):
        """A global address from the engine's router advertisement."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.guest(['ip', '-6', '-j', 'addr', 'show', 'dev', TAP]).stdout
            addrs = [a for i in json.loads(out or '[]') for a in i.get('addr_info', [])
                     if a.get('scope') == 'global' and not a.get('tentative')]
            route = self.guest(['ip', '-6', 'route', 'show', 'default']).stdout
            if addrs and route.strip():
                return addrs, route.strip()
            time.sleep(0.2)
        return [], ''

    def check_configure(self, label, mtu):
        link = json.loads(self.guest(['ip', '-j', 'addr', 'show', 'dev', TAP]).stdout or '[]')
        lo = json.loads(self.guest(['ip', '-j', 'link', 'show', 'dev', 'lo']).stdout or '[]')
        v4 = [(a['local'], a['prefixlen']) for i in link for a in i.get('addr_info', [])
              if a.get('family') == 'inet']
        route = self.guest(['ip', 'route', 'show', 'default']).stdout.strip()
        info = link[0] if link else {}
        self.ok(v4 == [(GUEST4, 24)] and 'UP' in info.get('flags', [])
                and info.get('mtu') == mtu and route.startswith('default via %s dev %s'
                                                                % (GATEWAY4, TAP))
                and lo and 'UP' in lo[0].get('flags', []),
                '%s: --configure: %s up, %s/24, default via %s, MTU %d, lo up'
                % (label, TAP, GUEST4, GATEWAY4, mtu),
                detail='addresses %s, flags %s, mtu %s, route %r, lo %s'
                % (v4, info.get('flags'), info.get('mtu'), route,
                   lo[0].get('flags') if lo else None))

    def closed(self, label, host, port, what):
        """The guest's connection to one of the host's own services fails,
        at once, and the service never sees it."""
        before = self.topo.host_service_accepts()
        res = self.topo.client('guest', 'connect', host, port, 3)
        after = self.topo.host_service_accepts()
        self.ok(res.get('result') != 'banner' and after == before,
                '%s: guest cannot reach %s (%s:%d)' % (label, what, host, port),
                detail=json.dumps(res))
        self.ok(res.get('result') in ('refused', 'reset', 'error') and res['seconds'] < 1.5,
                '%s: that connection is refused at once (RST or ICMP unreachable), '
                'not left to time out' % label, detail=json.dumps(res))

    # ---- the runs ----

    def run_a(self):
        label = 'A'
        e = self.engine_up(label, mtu=1500, ipv6=True, host_loopback=False,
                           hostfwds=[FWD_TCP, FWD_UDP])
        if not e:
            return
        t = self.topo
        self.check_configure(label, 1500)
        addrs, route = self.wait_ipv6()
        self.ok(bool(addrs) and route, '%s: IPv6: a global address and a default route '
                'from router advertisements' % label,
                detail='addresses %s, route %r' % (addrs, route))
        # Downloads, by name (the guest resolves www.nat.test through
        # 10.0.2.3) and by address.
        self.download(label, 'curl', 'http://%s:%d/f1m' % (WWW, HTTP_PORT), 'f1m', ['-4'])
        self.download(label, 'curl', 'http://%s:%d/f20m' % (INET4, HTTP_PORT), 'f20m')
        self.download(label, 'wget', 'http://%s:%d/f1m' % (INET4, HTTP_PORT), 'f1m')
        self.download(label, 'wget', 'http://%s:%d/f20m' % (WWW, HTTP_PORT), 'f20m', ['-4'])
        res = t.client('guest', 'get', INET4, HTTP_PORT, '/p3', t.sha256['p3'], 100,
                       timeout=90)
        self.client_ok('%s: 100 connections open at once, every one gets its 64 KB intact'
                       % label, res)
        res = t.client('guest', 'halfclose-client', INET4, netns.HALFCLOSE_PORT, 1 << 20)
        self.client_ok('%s: half-close: the guest shuts its write side after 1 MB, the '
                       'server still answers with 1 MB that arrives intact' % label, res)
        mark = len(t.shutfirst.lines)
        res = t.client('guest', 'shutfirst-client', INET4, netns.SHUTFIRST_PORT, 1 << 20,
                       256 << 10)
        line = t.shutfirst.wait_line('^received ', timeout=5, start=mark)
        want = 'received %d %s' % (256 << 10, res.get('sent_sha256'))
        self.ok(res.get('ok') and line == want,
                '%s: half-close: the server shuts its write side after 1 MB, the guest '
                'still sends 256 KB that arrive intact' % label,
                detail='%s; server: %r' % (json.dumps(res), line))
        res = t.client('guest', 'udp', INET4, netns.UDP_ECHO_PORT, 'hello')
        self.ok(res.get('answer') == 'inet-echo hello',
                '%s: UDP datagram to the internet and its answer' % label, json.dumps(res))
        res = t.client('guest', 'udp', INET4, 9999, 'anyone', 3)
        self.ok(res.get('result') == 'refused',
                '%s: UDP to a closed port: the ICMP port unreachable reaches the guest'
                % label, json.dumps(res))
        self.dns_cases(label)
        self.ping_cases(label, v6=True)
        self.download(label, 'curl', 'http://[%s]:%d/f1m' % (INET6, HTTP_PORT), 'f1m', ['-6'])
        self.download(label, 'curl', 'http://%s:%d/f20m' % (WWW, HTTP_PORT), 'f20m', ['-6'])
        self.forward_cases(label, e)
        self.closed_cases(label)
        self.resolver_cases(label)
        self.engine_down(label)

    def dns_cases(self, label):
        t = self.topo
        before = len(t.dns_queries())
        r = self.dig(VDNS4, WWW, 'A')
        self.ok(r['status'] == 'NOERROR' and r['answers'] == [INET4],
                '%s: DNS over UDP through %s: %s A %s' % (label, VDNS4, WWW, INET4),
                detail=json.dumps(r))
        queries = t.dns_queries()[before:]
        self.ok(any('query[A] %s from %s' % (WWW, netns.LINK4_HOST) in q for q in queries),
                '%s: that query reached dnsmasq from the host namespace (the engine '
                'forwarded it to the host resolv.conf server)' % label,
                detail='\n'.join(queries) or 'dnsmasq logged no query')
        r = self.dig(VDNS4, WWW, 'AAAA')
        self.ok(r['status'] == 'NOERROR' and r['answers'] == [INET6],
                '%s: DNS over UDP: %s AAAA %s' % (label, WWW, INET6), detail=json.dumps(r))
        r = self.dig(VDNS4, WWW, 'A', tcp=True)
        self.ok(r['status'] == 'NOERROR' and r['answers'] == [INET4],
                '%s: DNS over TCP through %s' % (label, VDNS4), detail=json.dumps(r))
        r = self.dig(VDNS4, 'nowhere.' + netns.ZONE, 'A')
        self.ok(r['status'] == 'NXDOMAIN',
                '%s: DNS: a name that does not exist is NXDOMAIN' % label, detail=json.dumps(r))
        proc = self.guest(['getent', 'ahostsv4', WWW])
        self.ok(proc.returncode == 0 and INET4 in proc.stdout,
                '%s: the guest resolver (nameserver %s) finds %s' % (label, VDNS4, WWW),
                detail=proc.stdout + proc.stderr)

    def resolver_cases(self, label):
        """The forwarder follows the host's resolv.conf (changed in place)."""
        t = self.topo
        try:
            for server, answer, what in (
                    (netns.DNS4_ALT, netns.ALT_ANSWER, 'another server'),
                    (netns.DNS_HOST_LO, netns.HOST_LO_ANSWER,
                     'a resolver on the host loopback')):
                t.set_host_resolvers(server)
                deadline, r = time.monotonic() + 6, {}
                while time.monotonic() < deadline:
                    r = self.dig(VDNS4, WWW, 'A', timeout=1)
                    if r['answers'] == [answer]:
                        break
                    time.sleep(0.3)
                self.ok(r.get('answers') == [answer],
                        '%s: DNS forwarder follows resolv.conf changed to %s (%s)'
                        % (label, what, server), detail=json.dumps(r))
            t.set_host_resolvers()
            time.sleep(1.5)
            r = self.dig(VDNS4, WWW, 'A', timeout=3)
            self.ok(r['status'] == 'SERVFAIL' and r['seconds'] < 2,
                    '%s: DNS with no resolver in resolv.conf: a SERVFAIL at once, not a '
                    'timeout' % label, detail=json.dumps(r))
        finally:
            t.set_host_resolvers(netns.DNS4)

    def ping_cases(self, label, v6):
        got, out = self.ping(INET4)
        self.ok(got == 3, '%s: ping %s, 3 of 3 replies (engine as root, the host '
                'namespace\'s ping_group_range at the kernel default)' % (label, INET4),
                detail=out)
        if v6:
            got, out = self.ping(INET6, v6=True)
            self.ok(got == 3, '%s: ping -6 %s, 3 of 3 replies' % (label, INET6), detail=out)

    def forward_cases(self, label, e):
        t = self.topo
        self.ok(not e.fwd_errors, '%s: forwards set up: %s, %s' % (label, FWD_TCP, FWD_UDP),
                detail='; '.join(e.fwd_errors))
        t.service('guest', 'banner', '0.0.0.0', FWD_TCP.guest_port, GUEST_BANNER,
                  name='guest-banner')
        t.service('guest', 'udpecho', '0.0.0.0', FWD_UDP.guest_port, 'guest-echo',
                  name='guest-udpecho')
        res = t.client('inet', 'connect', netns.LINK4_HOST, FWD_TCP.host_port, 5)
        self.ok(res.get('banner') == GUEST_BANNER,
                '%s: TCP forward: the internet reaches the guest\'s server at %s:%d'
                % (label, netns.LINK4_HOST, FWD_TCP.host_port), detail=json.dumps(res))
        res = t.client('host', 'connect', '127.0.0.1', FWD_TCP.host_port, 5)
        self.ok(res.get('banner') == GUEST_BANNER,
                '%s: TCP forward: the host reaches it on 127.0.0.1:%d'
                % (label, FWD_TCP.host_port), detail=json.dumps(res))
        res = t.client('inet', 'udp', netns.LINK4_HOST, FWD_UDP.host_port, 'ping', 5)
        self.ok(res.get('answer') == 'guest-echo ping',
                '%s: UDP forward: a datagram to %s:%d reaches the guest and its answer '
                'comes back' % (label, netns.LINK4_HOST, FWD_UDP.host_port),
                detail=json.dumps(res))

    def closed_cases(self, label):
        t = self.topo
        # The services are there: the host namespace itself reaches them.
        res = [t.client('host', 'connect', a, p, 3) for a, p in
               (('127.0.0.1', netns.HOST_LO_PORT), (netns.LINK4_HOST, netns.HOST_ADDR_PORT),
                (netns.LINK6_HOST, netns.HOST_ADDR_PORT))]
        self.ok(all(r.get('ok') for r in res), '%s: control: the host namespace\'s own '
                'services answer inside it' % label, detail=json.dumps(res))
        self.closed(label, GATEWAY4, netns.HOST_LO_PORT,
                    'the host\'s loopback through the gateway address')
        self.closed(label, netns.LINK4_HOST, netns.HOST_ADDR_PORT,
                    'the host\'s own IPv4 address')
        self.closed(label, netns.LINK6_HOST, netns.HOST_ADDR_PORT,
                    'the host\'s own IPv6 address')

    def run_b(self):
        label = 'B'
        t = self.topo
        t.set_ping_group_range('host', *PING_ALL)
        try:
            e = self.engine_up(label, mtu=65520, ipv6=False, host_loopback=True,
                               target='pid', extra=[], wrapper=NO_RAW)
            if not e:
                return
            self.check_configure(label, 65520)
            self.download(label, 'curl', 'http://%s:%d/f20m' % (INET4, HTTP_PORT), 'f20m')
            before = t.host_service_accepts()
            res = t.client('guest', 'connect', GATEWAY4, netns.HOST_LO_PORT, 3)
            self.ok(res.get('banner') == netns.HOST_LO_BANNER
                    and t.host_service_accepts() == before + 1,
                    '%s: host loopback enabled: %s:%d reaches the host\'s 127.0.0.1:%d'
                    % (label, GATEWAY4, netns.HOST_LO_PORT, netns.HOST_LO_PORT),
                    detail=json.dumps(res))
            got, out = self.ping(INET4)
            self.ok(got == 3, '%s: ping %s, 3 of 3, from an engine without CAP_NET_RAW '
                    '(ping sockets: ping_group_range "0 2147483647")' % (label, INET4),
                    detail=out)
            self.engine_down(label)
        finally:
            t.set_ping_group_range('host', *KERNEL_DEFAULT_PING)

    def run_c(self):
        label = 'C'
        e = self.engine_up(label, ipv6=False, wrapper=NO_RAW)
        if not e:
            return
        got, out = self.ping(INET4, count=2)
        time.sleep(0.5)
        err = e.proc.errors() if e.proc else ''
        said = re.findall(r'(?i)icmp|ping', err)
        self.ok(got == 0 and said, '%s: no CAP_NET_RAW and no ping sockets: ping gets no '
                'reply and the engine says why on stderr' % label,
                detail='%d replies; engine stderr: %r' % (got, err[-500:]))
        self.engine_down(label)

    def run_d(self):
        label = 'D'
        taken = HostFwd('tcp', netns.HOST_LO_PORT, 7000, host_addr='127.0.0.1')
        e = netns.Engine(self.topo, self.kind, self.binary, ipv6=False, hostfwds=[taken])
        try:
            e.start()
            err = '; '.join(e.fwd_errors)
            failed = bool(e.fwd_errors)
        except netns.EngineError as x:
            err, failed = str(x), True
        finally:
            e.stop()
        self.ok(failed and str(netns.HOST_LO_PORT) in err,
                '%s: a forward to a taken host port (127.0.0.1:%d) is a clear error '
                'naming it' % (label, netns.HOST_LO_PORT), detail=err or 'no error')


def main():
    tap = Tap()
    if os.geteuid() != 0:
        tap.ok(False, 'runs as root (namespaces, veth, tap)')
        return tap.done()
    deps = subprocess.run([os.path.join(REPO, 'scripts', 'deps.sh'), 'nat'],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if not tap.ok(deps.returncode == 0, 'scripts/deps.sh nat installs the test tools',
                  detail=deps.stdout[-1000:]):
        return tap.done()
    kind, binary = netns.engine_from_env()
    tap.diag('engine: %s (%s)' % (binary, kind))
    if kind == 'veth' or not tap.ok(binary and os.access(binary, os.X_OK),
                                    'engine binary %s is there' % binary,
                                    detail='set VPCNET_NAT_ENGINE, or build it with make'):
        return tap.done()
    start = time.monotonic()
    with netns.Topology(files=FILES) as topo:
        suite = Suite(tap, topo, kind, binary)
        for run in (suite.run_a, suite.run_b, suite.run_c, suite.run_d):
            try:
                run()
            finally:
                if suite.engine is not None:
                    suite.engine.stop()
                    suite.engine = None
    tap.diag('took %.1fs' % (time.monotonic() - start))
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
