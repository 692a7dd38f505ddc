#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""make bench-nat: user-mode NAT engines side by side (issue 8).

Engines, each run on the guest namespace of a tests/nat/netns.py
Topology and measured against servers in its "internet" namespace
(reached through the host namespace, so no engine maps host loopback):

  vpcnet-nat    build/vpcnet-nat (its rows say "not built" until it is)
  slirp4netns   Debian's (libslirp 4.7)
  pasta         built here from trixie's passt source package
                (build/bench/passt; it needs only libc), run as root
                with --runas 0
  veth          no NAT at all: the guest routed through the host
                namespace on a veth pair, the kernel's own path, as the
                reference

Table 1, TCP throughput: iperf3 (-t SECONDS -O 1) from the guest to the
outside (namespace->outside) and back (-R, outside->namespace) at guest
MTU 1500 and 65520, with the engine process's CPU seconds (utime+stime
from /proc/PID/stat, all threads) per GB that arrived.  A run that does
not finish in SECONDS+15 s is killed and counted as stalled: a cell with
stalls says how many, and what was left (pasta's namespace->outside
direction is known to stall on this kernel).

Table 2, at MTU 1500: request/response latency with sockperf ping-pong
(TCP and UDP; sockperf reports half the round trip, in microseconds; p50
and p99), connections per second (wrk -t1 -c16 against nat-httpd, a
small epoll server of ours, tests/nat/nat-httpd.c, that answers once and
closes, so every request is a new connection), and 10,000 concurrent TCP
connections from the guest (all opened, then one request/response on
each, answered by nat-httpd): how many completed, and the engine's
resident memory with all of them open (and the growth over its idle
size), on an engine started afresh for it.

Every figure is the median of --reps runs (3), the runs interleaved
(ABCD ABCD ABCD) so that noise from other work on the machine falls on
every engine alike.  The machine this runs on may be shared: the figures
are for comparing engines within one run, not absolutes.  Figures, not a
test: nothing passes or fails on speed.

Table 3, a TCG guest (tests/guest, one vCPU): the same Linux guest with a
dec21140a and then a virtio-net-pci, each on -netdev nat and on -netdev
user, runs iperf3 (-t --tcg-seconds, 8) to the host and back (-R,
tests/guest/scenarios/iperf.sh) against an iperf3 server on the host's
127.0.0.1, which it reaches through the gateway 10.0.2.2: -netdev nat
with host-loopback=on, -netdev user as it always does, so both netdevs
take the same path.  The runs are interleaved (nat, user, nat, user,
for each NIC in every rep) and each cell is the median of --reps; the
guest's CPU is the limit there.  With each figure, the QEMU process's
CPU seconds (utime+stime from /proc/PID/stat) per GB the host's iperf3
server counted, and the part of it outside the vCPU thread (the main
loop, where the netdev and the NIC's receive path run).  The load
average before and after is printed with it.  --parts tcg runs it
alone.
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
# Import netns and guest without leaving __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(REPO, 'tests', 'nat'))
sys.path.insert(0, os.path.join(REPO, 'tests', 'guest'))

import netns                                        # noqa: E402
from netns import INET4, raise_nofile               # noqa: E402
import guest                                        # noqa: E402

BUILD = os.path.join(REPO, 'build')
BENCH = os.path.join(BUILD, 'bench')
DOWNLOADS = os.path.join(BENCH, 'downloads')
PASST_DIR = os.path.join(BENCH, 'passt')
HTTPD_SRC = os.path.join(REPO, 'tests', 'nat', 'nat-httpd.c')
HTTPD = os.path.join(BENCH, 'nat-httpd')

# trixie's passt, pinned like scripts/fetch-qemu.sh pins QEMU.
PASST_SUITE = 'trixie'
PASST_VERSION = '0.0~git20250503.587980c-2+deb13u1'
PASST_FILES = {
    'passt_0.0~git20250503.587980c.orig.tar.xz':
        '69d5eb843f7d648c2cc60bfbca6ea7b5014c6b6f07cdee362c2a8cf490515a49',
    'passt_0.0~git20250503.587980c-2+deb13u1.debian.tar.xz':
        'f8d9fdfc1ba89e7dde48705ae68d1dfa8a40477cb85184d41194487f2902b77d',
}

IPERF_PORT = 5201
SOCKPERF_UDP_PORT = 11111
SOCKPERF_TCP_PORT = 11112
HTTPD_PORT = 8080
# The many-connections row: time limits for opening them all and for the
# request round on them.
MANY_CONNECT_S = 45
MANY_REQUEST_S = 20
MTUS = (1500, 65520)
# --parts: what runs in the namespaces, and the TCG guest rows ('tcg').
REQUEST_PARTS = ('latency', 'cps', 'many')
NETNS_PARTS = ('throughput',) + REQUEST_PARTS
PARTS = NETNS_PARTS + ('tcg',)
ENGINE_ORDER = ('vpcnet-nat', 'slirp4netns', 'pasta', 'veth')
DIRECTION = {'tcp-out': 'namespace->outside', 'tcp-in': 'outside->namespace'}
LABELS = {'vpcnet-nat': 'vpcnet-nat', 'slirp4netns': 'slirp4netns',
          'pasta': 'pasta', 'veth': 'veth (no NAT)'}


def log(msg):
    print('bench-nat: ' + msg, file=sys.stderr, flush=True)


# ---- building what we compare against ----

def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def ensure_passt_source():
    """trixie's passt source files in DOWNLOADS, checked against PASST_FILES."""
    os.makedirs(DOWNLOADS, exist_ok=True)
    have = all(os.path.exists(os.path.join(DOWNLOADS, f)) for f in PASST_FILES)
    if not have:
        showsrc = subprocess.run(['apt-cache', 'showsrc', 'passt'], text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
        if 'Version: %s\n' % PASST_VERSION not in showsrc:
            lists = subprocess.run('grep -rls "deb-src\\|Types:.*deb-src" /etc/apt/sources.list '
                                   '/etc/apt/sources.list.d/ 2>/dev/null | xargs -r grep -l %s'
                                   % PASST_SUITE, shell=True, text=True,
                                   stdout=subprocess.PIPE).stdout.strip()
            if not lists:
                log('adding a deb-src entry for Debian %s (passt source)' % PASST_SUITE)
                with open('/etc/apt/sources.list.d/vpcnet-passt-src.sources', 'w') as f:
                    f.write('Types: deb-src\nURIs: http://deb.debian.org/debian\n'
                            'Suites: %s\nComponents: main\nSigned-By: '
                            '/usr/share/keyrings/debian-archive-keyring.gpg\n' % PASST_SUITE)
            subprocess.run(['apt-get', 'update', '-qq'], check=False)
        # apt may fail on the .dsc while fetching the tarballs, which are
        # all we use; their digests are checked below.
        subprocess.run(['apt-get', 'source', '--download-only', '-qq',
                        'passt=' + PASST_VERSION], cwd=DOWNLOADS, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for name, want in PASST_FILES.items():
        path = os.path.join(DOWNLOADS, name)
        if not os.path.exists(path):
            raise RuntimeError('passt source %s could not be fetched from Debian %s'
                               % (name, PASST_SUITE))
        got = sha256(path)
        if got != want:
            raise RuntimeError('%s: sha256 %s, expected %s' % (path, got, want))


def build_pasta():
    """build/bench/passt/pasta from trixie's passt with Debian's patches,
    as Debian builds it (with the AVX2 variant where the CPU has it).
    Cached: rebuilt only when the pinned version changes."""
    stamp = os.path.join(PASST_DIR, '.vpcnet-built')
    pasta = os.path.join(PASST_DIR, 'pasta')
    try:
        with open(stamp) as f:
            if f.read().strip() == PASST_VERSION and os.path.exists(pasta):
                return pasta
    except OSError:
        pass
    ensure_passt_source()
    log('building pasta %s in %s' % (PASST_VERSION, os.path.relpath(PASST_DIR, REPO)))
    tmp = PASST_DIR + '.tmp'
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    orig = [f for f in PASST_FILES if '.orig.' in f][0]
    debian = [f for f in PASST_FILES if '.debian.' in f][0]
    subprocess.run(['tar', '-C', tmp, '--strip-components=1', '-xf',
                    os.path.join(DOWNLOADS, orig)], check=True)
    subprocess.run(['tar', '-C', tmp, '-xf', os.path.join(DOWNLOADS, debian)], check=True)
    with open(os.path.join(tmp, 'debian', 'patches', 'series')) as f:
        series = [l.strip() for l in f if l.strip() and not l.startswith('#')]
    for patch in series:
        with open(os.path.join(tmp, 'debian', 'patches', patch)) as f:
            subprocess.run(['patch', '-s', '-p1'], stdin=f, cwd=tmp, check=True)
    targets = ['passt', 'pasta']
    with open('/proc/cpuinfo') as f:
        if ' avx2' in f.read():
            targets += ['passt.avx2', 'pasta.avx2']
    subprocess.run(['make', '-j2', 'VERSION=' + PASST_VERSION] + targets, cwd=tmp,
                   check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(PASST_DIR, ignore_errors=True)
    os.rename(tmp, PASST_DIR)
    with open(stamp, 'w') as f:
        f.write(PASST_VERSION + '\n')
    return pasta


def build_httpd():
    if (not os.path.exists(HTTPD)
            or os.path.getmtime(HTTPD) < os.path.getmtime(HTTPD_SRC)):
        os.makedirs(BENCH, exist_ok=True)
        subprocess.run(['cc', '-O2', '-Wall', '-o', HTTPD, HTTPD_SRC], check=True)
    return HTTPD


# ---- one measurement each ----

def guest_run(topo, argv, timeout):
    """Run in the guest namespace; (returncode or 'timeout', stdout, stderr)."""
    try:
        proc = topo.run('guest', argv, check=False, timeout=timeout)
        return proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors='replace') if isinstance(e.stdout, bytes) else (e.stdout or '')
        return 'timeout', out, ''


def iperf(topo, engine, reverse, seconds):
    """One iperf3 run; {'gbps', 'cpu_per_gb'} or {'error'}."""
    server = topo.spawn('inet', ['iperf3', '-s', '-1', '-B', INET4, '-p', str(IPERF_PORT)],
                        name='iperf3-server')
    try:
        topo.wait_listening('inet', 'tcp', IPERF_PORT)
        cpu0 = engine.cpu_seconds()
        argv = ['iperf3', '-c', INET4, '-p', str(IPERF_PORT), '-t', str(seconds), '-O', '1',
                '-J', '--connect-timeout', '5000'] + (['-R'] if reverse else [])
        rc, out, err = guest_run(topo, argv, seconds + 16)
        cpu1 = engine.cpu_seconds()
    finally:
        server.stop()
    if rc == 'timeout':
        return {'error': 'stalled', 'detail': 'no result in %ds' % (seconds + 16)}
    try:
        result = json.loads(out)
    except ValueError:
        return {'error': 'no JSON (rc %s)' % rc, 'detail': (out + err)[-300:]}
    if 'error' in result:
        return {'error': 'iperf3: ' + result['error'][:60]}
    received = result['end']['sum_received']
    gb = received['bytes'] / 1e9
    res = {'gbps': received['bits_per_second'] / 1e9}
    intervals = result.get('intervals', [])
    # A second in which (almost) nothing moved: the flow stalled.
    idle = [i for i in intervals if not i['sum'].get('omitted')
            and i['sum']['bits_per_second'] < 1e6]
    if idle:
        res['stalled'] = '%d s of %d at < 1 Mbit/s' % (len(idle), seconds)
    if cpu0 is not None and cpu1 is not None and gb > 0:
        # The CPU clock ran for the omitted first second (-O 1) too, so
        # count what moved in it as well.
        total = sum(i['sum']['bytes'] for i in intervals) / 1e9
        res['cpu_per_gb'] = (cpu1 - cpu0) / max(total, gb)
    return res


def sockperf(topo, tcp, seconds):
    port = SOCKPERF_TCP_PORT if tcp else SOCKPERF_UDP_PORT
    argv = ['sockperf', 'ping-pong', '-i', INET4, '-p', str(port), '-t', str(seconds)]
    if tcp:
        argv.append('--tcp')
    rc, out, err = guest_run(topo, argv, seconds + 15)
    text = re.sub(r'\x1b\[[0-9;]*m', '', out + err)
    p50 = re.search(r'percentile 50\.000 =\s*([\d.]+)', text)
    p99 = re.search(r'percentile 99\.000 =\s*([\d.]+)', text)
    if rc != 0 or not p50 or not p99:
        return {'error': 'stalled' if rc == 'timeout' else 'sockperf rc %s' % rc,
                'detail': text[-300:]}
    return {'p50': float(p50.group(1)), 'p99': float(p99.group(1))}


def time_wait(topo, port):
    """The guest's TCP sockets to port in TIME_WAIT, or None."""
    rc, out, _ = guest_run(topo, ['ss', '-Htan', 'state', 'time-wait',
                                  'dport = :%d' % port], 15)
    return len(out.splitlines()) if rc == 0 else None


def wrk(topo, seconds, port):
    """wrk against nat-httpd on port, a port no run before used: the
    guest's TIME_WAIT sockets (60 s) from an earlier engine's run must not
    slow this one's connect() down, as they did when every run shared
    one port (about 600 conn/s for every engine, veth included)."""
    argv = ['wrk', '-t1', '-c16', '-d%ds' % seconds, 'http://%s:%d/' % (INET4, port)]
    rc, out, err = guest_run(topo, argv, seconds + 15)
    m = re.search(r'Requests/sec:\s*([\d.]+)', out)
    if rc != 0 or not m:
        return {'error': 'stalled' if rc == 'timeout' else 'wrk rc %s' % rc,
                'detail': (out + err)[-300:]}
    errors = re.search(r'Socket errors: (.*)', out)
    # Left in the guest by this run: where the guest closed first.
    res = {'cps': float(m.group(1))}
    waiting = time_wait(topo, port)
    if waiting is not None:
        res['time_wait'] = waiting
    if errors:
        res['note'] = 'wrk socket errors: ' + errors.group(1)
    return res


def many(topo, engine, n, idle, port):
    """n concurrent connections; completed count and the engine's memory
    (idle: its VmRSS in kB right after it started)."""
    client = topo.spawn('guest', [sys.executable, netns.SERVICE, 'many', INET4,
                                  port, n, MANY_CONNECT_S, MANY_REQUEST_S],
                        name='many', stdin=True, preexec_fn=raise_nofile)
    try:
        line = client.wait_line(r'"connected"', timeout=MANY_CONNECT_S + 15)
        if line is None:
            return {'error': 'did not connect', 'detail': client.errors()[-300:]}
        opened = json.loads(line)
        mem = engine.memory_kib()
        client.popen.stdin.write('go\n')
        client.popen.stdin.flush()
        final = client.wait_line(r'"completed"', timeout=MANY_REQUEST_S + 15)
        if final is None:
            return {'error': 'no result', 'detail': client.errors()[-300:]}
        res = json.loads(final)
    finally:
        client.stop()
    out = {'completed': res['completed'], 'n': n, 'established': opened['connected'],
           'open_s': opened['seconds']}
    if res['completed'] < n:
        out['note'] = '%d connections: %s' % (n, ', '.join(
            '%s %d' % kv for kv in sorted(res.get('failures', {}).items())))
    if mem.get('VmRSS') is not None:
        out['rss_mb'] = mem['VmRSS'] / 1024
        out['growth_mb'] = (mem['VmRSS'] - (idle or 0)) / 1024
    return out


# ---- running it all ----

class Bench:
    def __init__(self, args, engines):
        self.args = args
        self.engines = engines          # kind -> binary or None (not built)
        self.results = {}               # (test, kind, mtu) -> [run results]
        self.tcg = None                 # what tcg_guests() measured

    def add(self, key, res):
        self.results.setdefault(key, []).append(res)
        if 'error' in res:
            log('%s: %s %s' % ('/'.join(map(str, key)), res['error'], res.get('detail', '')))

    def start(self, topo, kind, mtu):
        e = netns.Engine(topo, kind, self.engines[kind], mtu=mtu, ipv6=False,
                         host_loopback=False, many_fds=True)
        e.start()
        e.idle_kib = e.memory_kib().get('VmRSS')
        got = json.loads(topo.run('guest', ['ip', '-j', 'link', 'show', netns.TAP]).stdout)
        if got and got[0].get('mtu') != mtu:
            log('%s: asked for MTU %d, the guest has %s' % (kind, mtu, got[0].get('mtu')))
        return e

    def run(self):
        a = self.args
        runnable = [k for k in ENGINE_ORDER if self.engines.get(k)]
        if set(a.parts) & set(NETNS_PARTS):
            with netns.Topology(services=False, outside_mtu=65520) as topo:
                self.topo = topo
                self.servers(topo)
                for rep in range(a.reps):
                    if 'throughput' in a.parts:
                        for mtu in MTUS:
                            for kind in runnable:
                                log('run %d/%d: %s, MTU %d: iperf3'
                                    % (rep + 1, a.reps, kind, mtu))
                                self.throughput(topo, kind, mtu)
                    if set(a.parts) & set(REQUEST_PARTS):
                        for kind in runnable:
                            log('run %d/%d: %s: latency, connections' % (rep + 1, a.reps, kind))
                            self.requests(topo, kind)
        if 'tcg' in a.parts:
            self.tcg = tcg_guests(a)

    def servers(self, topo):
        topo.spawn('inet', ['sockperf', 'server', '-i', INET4, '-p', str(SOCKPERF_UDP_PORT)],
                   name='sockperf-udp')
        topo.spawn('inet', ['sockperf', 'server', '--tcp', '-i', INET4,
                            '-p', str(SOCKPERF_TCP_PORT)], name='sockperf-tcp')
        self.http_ports = 0
        topo.wait_listening('inet', 'udp', SOCKPERF_UDP_PORT)
        topo.wait_listening('inet', 'tcp', SOCKPERF_TCP_PORT)

    def http_server(self, topo):
        """A nat-httpd on a port of its own, for one measurement."""
        self.http_ports += 1
        port = HTTPD_PORT + self.http_ports
        topo.spawn('inet', [HTTPD, INET4, str(port)], name='nat-httpd-%d' % port,
                   ready='^ready$', preexec_fn=raise_nofile)
        return port

    def throughput(self, topo, kind, mtu):
        try:
            e = self.start(topo, kind, mtu)
        except netns.EngineError as err:
            for d in ('in', 'out'):
                self.add(('tcp-' + d, kind, mtu), {'error': 'engine did not start',
                                                   'detail': str(err)})
            return
        try:
            # outside->namespace first: a stalled namespace->outside run
            # must not take the other direction down with it.
            self.add(('tcp-in', kind, mtu), iperf(topo, e, True, self.args.seconds))
            self.add(('tcp-out', kind, mtu), iperf(topo, e, False, self.args.seconds))
        finally:
            e.stop()

    def requests(self, topo, kind):
        a = self.args
        try:
            e = self.start(topo, kind, 1500)
        except netns.EngineError as err:
            for t in ('rr-tcp', 'rr-udp', 'cps', 'many'):
                self.add((t, kind, 1500), {'error': 'engine did not start',
                                           'detail': str(err)})
            return
        try:
            if 'latency' in a.parts:
                self.add(('rr-tcp', kind, 1500), sockperf(topo, True, a.seconds))
                self.add(('rr-udp', kind, 1500), sockperf(topo, False, a.seconds))
            if 'cps' in a.parts:
                self.add(('cps', kind, 1500), wrk(topo, a.seconds, self.http_server(topo)))
        finally:
            e.stop()
        if 'many' not in a.parts:
            return
        # A fresh engine: what wrk's thousands of connections left behind
        # (libslirp keeps closed sockets' buffers a while) must not count.
        try:
            e = self.start(topo, kind, 1500)
        except netns.EngineError as err:
            self.add(('many', kind, 1500), {'error': 'engine did not start',
                                            'detail': str(err)})
            return
        try:
            self.add(('many', kind, 1500), many(topo, e, a.conns, e.idle_kib,
                                                self.http_server(topo)))
        finally:
            e.stop()

    # ---- the table ----

    def cell(self, key, field, fmt, unit=''):
        runs = self.results.get(key, [])
        ok = [r[field] for r in runs if field in r]
        bad = [r['error'] for r in runs if 'error' in r]
        if not runs:
            return '-'
        if not ok:
            return '%s (%d/%d)' % (sorted(set(bad))[0], len(bad), len(runs))
        text = fmt % statistics.median(ok) + unit
        if bad:
            text += ' [%d/%d %s]' % (len(bad), len(runs), sorted(set(bad))[0])
        stalled = [r for r in runs if 'stalled' in r]
        if stalled and field == 'gbps':
            text += ' [%d/%d stalled]' % (len(stalled), len(runs))
        return text

    def print_tables(self):
        a = self.args
        kinds = [k for k in ENGINE_ORDER if k in self.engines]
        if 'throughput' in a.parts:
            self.print_throughput(kinds)
        if set(a.parts) & set(REQUEST_PARTS):
            self.print_requests(kinds)
        if 'tcg' in a.parts:
            print()
            for line in tcg_guest_rows(a, self.tcg):
                print(line)
        print()
        print('The machine may be shared with other work: compare engines within this run; '
              'the absolute figures are noisy.')

    def print_throughput(self, kinds):
        a = self.args
        print()
        print('bench-nat: TCP throughput, iperf3 -t %d -O 1 between the guest namespace and '
              'the "internet" namespace; median of %d interleaved runs' % (a.seconds, a.reps))
        print('  Gbit/s, and the engine process\'s CPU seconds per GB moved (utime+stime)')
        hdr = '%-15s %6s  %-22s %9s  %-22s %9s' % ('engine', 'MTU', 'namespace->outside',
                                                   'CPU s/GB', 'outside->namespace',
                                                   'CPU s/GB')
        print(hdr)
        print('-' * len(hdr))
        for mtu in MTUS:
            for kind in kinds:
                if not self.engines[kind]:
                    print('%-15s %6d  %s' % (LABELS[kind], mtu, self.why_not[kind]))
                    continue
                cols = []
                for d in ('out', 'in'):
                    key = ('tcp-' + d, kind, mtu)
                    cols.append(self.cell(key, 'gbps', '%.2f'))
                    cols.append('-' if kind == 'veth' else self.cell(key, 'cpu_per_gb', '%.2f'))
                print('%-15s %6d  %-22s %9s  %-22s %9s' % ((LABELS[kind], mtu) + tuple(cols)))
        stalls = sorted({'%s MTU %d %s: %s' % (k[1], k[2], DIRECTION[k[0]], r['stalled'])
                         for k, rs in self.results.items() for r in rs if 'stalled' in r})
        for n in stalls[:8]:
            print('  stalled: ' + n)

    def print_requests(self, kinds):
        a = self.args
        print()
        print('bench-nat: requests at MTU 1500; median of %d interleaved runs' % a.reps)
        print('  latency: sockperf ping-pong -t %d, half round trip in us, p50 / p99;'
              ' conn/s: wrk -t1 -c16 -d%ds, one connection per request;' % (a.seconds, a.seconds))
        print('  %d connections: opened from the guest at once (limit %d s), then one'
              ' request/response on each (limit %d s): how many completed, how many were'
              ' open, how long opening took; engine RSS with all open (growth over its idle'
              ' RSS), a fresh engine' % (a.conns, MANY_CONNECT_S, MANY_REQUEST_S))
        print('  each wrk and many-connections run has a server port of its own; TIME_WAIT:'
              ' the guest\'s sockets in that state after the wrk run (the guest closed first)')
        hdr = '%-15s  %-17s  %-17s  %-10s  %-9s  %s' % (
            'engine', 'TCP latency us', 'UDP latency us', 'conn/s', 'TIME_WAIT',
            '%d connections' % a.conns)
        print(hdr)
        print('-' * len(hdr))
        for kind in kinds:
            if not self.engines[kind]:
                print('%-15s  %s' % (LABELS[kind], self.why_not[kind]))
                continue
            lat = []
            for t in ('rr-tcp', 'rr-udp'):
                key = (t, kind, 1500)
                p50, p99 = self.cell(key, 'p50', '%.1f'), self.cell(key, 'p99', '%.1f')
                lat.append(p50 if p50 == p99 else '%s / %s' % (p50, p99))
            cps = self.cell(('cps', kind, 1500), 'cps', '%.0f')
            key = ('many', kind, 1500)
            many_txt = '%s done, %s open in %s s' % (
                self.cell(key, 'completed', '%d'), self.cell(key, 'established', '%d'),
                self.cell(key, 'open_s', '%.1f'))
            if key not in self.results:
                many_txt = '-'
            elif kind != 'veth':
                many_txt += ', %s MB (+%s)' % (self.cell(key, 'rss_mb', '%.1f'),
                                               self.cell(key, 'growth_mb', '%.1f'))
            tw = self.cell(('cps', kind, 1500), 'time_wait', '%d')
            print('%-15s  %-17s  %-17s  %-10s  %-9s  %s' % (LABELS[kind], lat[0], lat[1], cps,
                                                            tw, many_txt))
        notes = sorted({'%s: %s' % (k[1], r['note']) for k, rs in self.results.items()
                        for r in rs if 'note' in r})
        for n in notes[:10]:
            print('  note: ' + n)


# ---- the TCG guest rows ----

# The NICs, each with the guest driver modules it needs, and the netdevs
# they run on, in the order each rep runs them.  The gateway 10.0.2.2 is
# the host's loopback for both: -netdev nat must be told so
# (host-loopback=on), -netdev user does it by default.
TCG_NICS = (('dec21140a', ('tulip',)), ('virtio-net-pci', ('virtio_pci', 'virtio_net')))
TCG_NETDEVS = (('nat', 'nat,id=n0,host-loopback=on'), ('user', 'user,id=n0'))
TCG_DIRECTIONS = (('tx', 'guest->host'), ('rx', 'host->guest'))


def loadavg():
    with open('/proc/loadavg') as f:
        return ' '.join(f.read().split()[:3])


class QemuClock:
    """CPU time of the guest's QEMU, snapshotted at the iperf scenario's
    marks: its lease (tx starts), tx.mbps (tx is over, rx starts) and
    rx.mbps (rx is over).  Each snapshot is utime+stime of the whole
    process and of its vCPU thread ("CPU 0/TCG", so named by -name
    debug-threads=on)."""

    MARKS = {'VPCNET-RESULT dhcp ok': 'start', 'VPCNET-RESULT tx.mbps ': 'tx',
             'VPCNET-RESULT rx.mbps ': 'rx'}

    def __init__(self, qemu):
        self.exe = os.path.realpath(qemu)
        self.pid = None
        self.snaps = {}         # mark -> (process seconds, vCPU seconds)

    def find(self):
        """Our child QEMU: Guest.run() starts it from this process."""
        for name in os.listdir('/proc'):
            if not name.isdigit():
                continue
            try:
                with open('/proc/%s/stat' % name) as f:
                    ppid = int(f.read().rsplit(')', 1)[1].split()[1])
                exe = os.readlink('/proc/%s/exe' % name)
            except (OSError, ValueError, IndexError):
                continue
            # A binary relinked meanwhile reads "PATH (deleted)".
            if ppid == os.getpid() and exe.split(' (deleted)')[0] == self.exe:
                return int(name)
        return None

    @staticmethod
    def ticks(stat_path):
        with open(stat_path) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return int(fields[11]) + int(fields[12])

    def sample(self):
        hz = os.sysconf('SC_CLK_TCK')
        total = self.ticks('/proc/%d/stat' % self.pid)
        vcpu = 0
        task_dir = '/proc/%d/task' % self.pid
        for tid in os.listdir(task_dir):
            try:
                with open('%s/%s/comm' % (task_dir, tid)) as f:
                    if '/TCG' in f.read():
                        vcpu += self.ticks('%s/%s/stat' % (task_dir, tid))
            except OSError:
                continue        # a thread that just ended
        return total / hz, vcpu / hz

    def on_line(self, line):
        for mark, name in self.MARKS.items():
            if mark in line:
                if self.pid is None:
                    self.pid = self.find()
                if self.pid is not None:
                    try:
                        self.snaps[name] = self.sample()
                    except OSError:
                        pass

    def spent(self, direction):
        """(process, vCPU) CPU seconds over one direction's run, or None."""
        begin = self.snaps.get('start' if direction == 'tx' else 'tx')
        end = self.snaps.get(direction)
        if begin is None or end is None:
            return None
        return end[0] - begin[0], end[1] - begin[1]


class HostIperf:
    """iperf3 -s -J on the host's 127.0.0.1 for one guest boot, which runs
    two tests on it (tx, then rx with -R).  stop() returns the bytes that
    each test moved, from the server's own JSON report of it."""

    def __init__(self):
        self.port = guest.free_port()
        self.out = tempfile.TemporaryFile(mode='w+')
        self.proc = subprocess.Popen(['iperf3', '-s', '-J', '-B', '127.0.0.1',
                                      '-p', str(self.port)],
                                     stdout=self.out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.proc.poll() is None:
            if subprocess.run(['ss', '-Hltn', 'sport = :%d' % self.port], text=True,
                              stdout=subprocess.PIPE).stdout.strip():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError('the host iperf3 server did not listen on 127.0.0.1:%d'
                           % self.port)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.seek(0)
        text = self.out.read()
        self.out.close()
        moved = {}
        decoder, pos = json.JSONDecoder(), 0
        while True:
            while pos < len(text) and text[pos].isspace():
                pos += 1
            if pos >= len(text):
                break
            try:
                report, pos = decoder.raw_decode(text, pos)
            except ValueError:
                break
            start = report.get('start', {}).get('test_start', {})
            end = report.get('end', {})
            # The receiver's count: the server's for tx, the guest's for
            # rx, of which the server knows what it sent.
            if start.get('reverse') == 0 and 'sum_received' in end:
                moved['tx'] = end['sum_received']['bytes']
            elif start.get('reverse') == 1 and 'sum_sent' in end:
                moved['rx'] = end['sum_sent']['bytes']
        return moved


def tcg_guest_run(qemu, nic, modules, netdev, seconds, name):
    """One boot of the iperf scenario; {direction: {'mbps', 'cpu_per_gb',
    'other_per_gb'} or {'error', 'detail'}}."""
    server = HostIperf()
    clock = QemuClock(qemu)
    devices = ['-name', 'bench-nat,debug-threads=on',
               '-device', nic + ',netdev=n0', '-netdev', netdev]
    try:
        result = guest.Guest(qemu=qemu, devices=devices, scenario='iperf', name=name,
                             modules=list(modules), on_line=clock.on_line,
                             args={'port': server.port, 'seconds': seconds},
                             timeout=120 + 4 * seconds).run()
    finally:
        moved = server.stop()
    out = {}
    for d, _ in TCG_DIRECTIONS:
        mbps = guest.number(result.values.get(d + '.mbps'))
        if mbps is None:
            out[d] = {'error': 'no figure', 'detail': '%s, see %s' % (
                result.summary(), os.path.relpath(result.log_path, REPO))}
            continue
        res = {'mbps': mbps}
        spent = clock.spent(d)
        gb = moved.get(d, 0) / 1e9
        if spent is not None and gb > 0:
            res['cpu_per_gb'] = spent[0] / gb
            res['other_per_gb'] = (spent[0] - spent[1]) / gb
        out[d] = res
    return out


def tcg_guests(args):
    """The TCG guest rows' runs, interleaved: in every rep, each NIC on
    nat, then on user."""
    qemu = guest.qemu_binary()
    tcg = {'results': {}, 'load_before': loadavg()}
    if not os.access(qemu, os.X_OK):
        tcg['error'] = 'no QEMU at %s (make builds it)' % os.path.relpath(qemu, REPO)
        return tcg
    try:
        guest.ensure_images()
    except RuntimeError as e:
        tcg['error'] = 'the guest images could not be built: %s' % str(e)[-300:]
        return tcg
    built = os.stat(qemu).st_mtime
    for rep in range(args.reps):
        for nic, modules in TCG_NICS:
            for netdev, netdev_arg in TCG_NETDEVS:
                log('run %d/%d: TCG guest, %s on -netdev %s: iperf3'
                    % (rep + 1, args.reps, nic, netdev))
                try:
                    res = tcg_guest_run(qemu, nic, modules, netdev_arg, args.tcg_seconds,
                                        'bench-nat-%s-%s-%d' % (nic, netdev, rep + 1))
                except RuntimeError as e:
                    res = {d: {'error': 'not run', 'detail': str(e)} for d, _ in TCG_DIRECTIONS}
                for d, r in res.items():
                    tcg['results'].setdefault((nic, netdev, d), []).append(r)
                    if 'error' in r:
                        log('%s/%s/%s: %s %s' % (nic, netdev, d, r['error'], r['detail']))
                log('  %s Mbit/s guest->host, %s host->guest (load %s)'
                    % (res['tx'].get('mbps'), res['rx'].get('mbps'), loadavg()))
    tcg['load_after'] = loadavg()
    tcg['rebuilt'] = os.stat(qemu).st_mtime != built
    return tcg


def tcg_guest_rows(args, tcg):
    """The TCG guest rows of issue 8's benchmark, as lines to print."""
    lines = [
        'bench-nat: a TCG guest (tests/guest, one vCPU) with -netdev nat beside -netdev user,'
        ' iperf3 -t %d both ways; median of %d interleaved runs (nat, user, nat, user)'
        % (args.tcg_seconds, args.reps),
        '  to an iperf3 server on the host\'s 127.0.0.1 through the gateway 10.0.2.2'
        ' (-netdev nat,host-loopback=on; -netdev user does it by default)',
        '  Mbit/s (receiver side; median and range), and the QEMU process\'s CPU seconds'
        ' per GB moved (utime+stime; in brackets: all threads but the vCPU)',
        '  load average %s before, %s after, %d CPUs'
        % (tcg['load_before'], tcg.get('load_after', '-'), os.cpu_count()),
    ]
    if 'error' in tcg:
        lines.append('  not measured: ' + tcg['error'])
        return lines
    results = tcg['results']

    def field(key, name):
        return [r[name] for r in results.get(key, []) if name in r]

    def failures(key):
        runs = results.get(key, [])
        bad = [r['error'] for r in runs if 'error' in r]
        return '[%d/%d %s]' % (len(bad), len(runs), bad[0]) if bad else ''

    def mbps_cell(key):
        vals = field(key, 'mbps')
        if not vals:
            return failures(key) or '-'
        text = '%.0f' % statistics.median(vals)
        if len(vals) > 1:
            text += ' (%.0f-%.0f)' % (min(vals), max(vals))
        return (text + ' ' + failures(key)).strip()

    def cpu_cell(key):
        total, other = field(key, 'cpu_per_gb'), field(key, 'other_per_gb')
        if not total:
            return '-'
        return '%.1f (%.1f)' % (statistics.median(total), statistics.median(other))

    fmt = '%-15s %-6s  %-22s %-13s  %-22s %-13s'
    hdr = fmt % ('NIC', 'netdev', 'guest->host Mbit/s', 'CPU s/GB', 'host->guest Mbit/s',
                 'CPU s/GB')
    lines += [hdr, '-' * len(hdr)]
    for nic, _ in TCG_NICS:
        for netdev, _ in TCG_NETDEVS:
            cols = []
            for d, _ in TCG_DIRECTIONS:
                cols += [mbps_cell((nic, netdev, d)), cpu_cell((nic, netdev, d))]
            lines.append(fmt % ((nic, netdev) + tuple(cols)))
    for nic, _ in TCG_NICS:
        ratios = []
        for d, label in TCG_DIRECTIONS:
            nat, user = field((nic, 'nat', d), 'mbps'), field((nic, 'user', d), 'mbps')
            ratio = (statistics.median(nat) / statistics.median(user)
                     if nat and user and statistics.median(user) else None)
            ratios.append('%s %s' % (label, '%.2f' % ratio if ratio else 'n/a'))
        lines.append('  nat/user, %s: %s' % (nic, ', '.join(ratios)))
    details = sorted({'%s on %s, %s: %s' % (k[0], k[1], k[2], r['detail'])
                      for k, rs in results.items() for r in rs if 'detail' in r})
    for d in details[:6]:
        lines.append('  failed: ' + d)
    if tcg.get('rebuilt'):
        lines.append('  note: %s was rebuilt during these runs'
                     % os.path.relpath(guest.qemu_binary(), REPO))
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--seconds', type=int, default=3, help='length of each timed run')
    ap.add_argument('--conns', type=int, default=10000)
    ap.add_argument('--engines', default=','.join(ENGINE_ORDER))
    ap.add_argument('--parts', default=','.join(PARTS),
                    help='what to run, of %s (tcg: the TCG guest rows)' % ','.join(PARTS))
    ap.add_argument('--tcg-seconds', type=int, default=8,
                    help='length of each iperf3 run in the TCG guest')
    ap.add_argument('--vpcnet-nat', default=os.path.join(BUILD, 'vpcnet-nat'))
    args = ap.parse_args()
    args.parts = args.parts.split(',')
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        ap.error('--parts: unknown %s (choose from %s)' % (','.join(sorted(unknown)),
                                                           ','.join(PARTS)))
    if os.geteuid() != 0:
        sys.exit('bench-nat: needs root (network namespaces, veth, tap)')
    for group in ('nat', 'bench-nat'):
        subprocess.run([os.path.join(REPO, 'scripts', 'deps.sh'), group], check=True)
    # The TCG rows alone need none of the namespace engines.
    wanted = args.engines.split(',') if set(args.parts) & set(NETNS_PARTS) else []
    engines, why_not = {}, {}
    for kind in ENGINE_ORDER:
        if kind not in wanted:
            continue
        if kind == 'vpcnet-nat':
            ok = os.access(args.vpcnet_nat, os.X_OK)
            engines[kind] = args.vpcnet_nat if ok else None
            why_not[kind] = 'not built (%s)' % os.path.relpath(args.vpcnet_nat, REPO)
        elif kind == 'slirp4netns':
            engines[kind] = shutil.which('slirp4netns')
            why_not[kind] = 'slirp4netns not installed'
        elif kind == 'pasta':
            try:
                engines[kind] = build_pasta()
            except (RuntimeError, subprocess.CalledProcessError) as e:
                engines[kind] = None
                why_not[kind] = 'could not be built: %s' % e
        else:
            engines[kind] = 'veth'
    if wanted:
        build_httpd()
        versions = subprocess.run(['slirp4netns', '--version'], text=True,
                                  stdout=subprocess.PIPE).stdout.split('\n')
        log('slirp4netns %s, %s; pasta %s' % (versions[0].split()[-1],
                                             ' '.join(versions[2].split()[:2])
                                             if len(versions) > 2 else '', PASST_VERSION))
    bench = Bench(args, engines)
    bench.why_not = why_not
    start = time.monotonic()
    bench.run()
    bench.print_tables()
    print('(%d s)' % (time.monotonic() - start))


if __name__ == '__main__':
    main()
