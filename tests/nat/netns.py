# SPDX-License-Identifier: GPL-2.0-or-later
"""Network namespaces for testing and measuring user-mode NAT engines.

Theory of operation
-------------------
A Topology is three network namespaces with names unique to this process
(vpcnat<PID>x<N>inet, ...host, ...guest), created with `ip netns add` and
removed again by close(), which runs even when a test fails, raises or is
interrupted (SIGINT raises KeyboardInterrupt; SIGTERM and SIGHUP are
turned into SystemExit while a Topology is open).  A later run also sweeps
namespaces whose owning PID is gone (a run killed with SIGKILL).

    guest ns                host ns                       inet ns
    (empty; the engine      the NAT engine runs here;     "the internet"
     creates tap0 and       resolv.conf -> dnsmasq        lo: 198.51.100.10 HTTP :8080,
     configures it)         127.0.0.1:8081 banner           ping target, UDP echo :8053,
                            192.0.2.2:8082 banner           half-close servers :8090/:8091
                            veth 192.0.2.2/24 ---------- veth 192.0.2.1/24
                            2001:db8:1::2/64             2001:db8:1::1/64
                            default via 192.0.2.1,       lo: 198.51.100.53 and
                            2001:db8:1::1                  2001:db8:100::53 dnsmasq,
                                                           2001:db8:100::10 HTTP

The inet namespace's servers sit on its loopback device, routed to from
the host namespace through the veth, so they are "somewhere else" as seen
from the engine.  dnsmasq is authoritative for nat.test (www.nat.test has
an A and an AAAA record; other names in the zone are NXDOMAIN) and logs
every query with its source address.  Programs run in a namespace through
`ip netns exec`, which bind-mounts /etc/netns/NAME/resolv.conf over
/etc/resolv.conf: the host namespace's resolver is the dnsmasq, the
guest's is the engine's virtual DNS address 10.0.2.3.

An Engine starts a NAT engine in the host namespace on the guest
namespace, in slirp4netns's calling convention:

    ENGINE --configure --mtu N [--enable-ipv6] [host loopback option]
           --ready-fd R --exit-fd E --netns-type=path /run/netns/GUEST tap0

(or PID tap0 with target='pid').  It waits until the engine writes to
the ready fd (EOF first means it died: its stderr is in the error), and
stops it by closing the exit fd, falling back to SIGTERM and SIGKILL.
Kinds: "slirp4netns" (Debian's; port forwards through its --api-socket
JSON add_hostfwd), "vpcnet-nat" (forwards as --hostfwd in -netdev user's
syntax; host loopback off by default, --enable-host-loopback to map the
gateway to the host's loopback), "pasta" (passt's namespace mode, run as
root with --runas 0; it daemonizes when ready and is stopped by PID) and
"veth" (no engine: the guest is routed through the host namespace on a
veth pair, the kernel's own path, as a benchmark reference).

Only root can do this (namespaces, veth, tap).  Nothing here needs a
module outside Python's standard library.
"""

import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SERVICE = os.path.join(HERE, 'nsservice.py')
PREFIX = 'vpcnat'

# The outside world (inet ns) and the link to it.
INET4 = '198.51.100.10'          # HTTP server, UDP echo, ping target
INET6 = '2001:db8:100::10'
DNS4 = '198.51.100.53'           # dnsmasq, authoritative for ZONE
DNS6 = '2001:db8:100::53'
# Two more resolvers, each giving www a different answer, so a test can
# tell which one the engine's forwarder asked: another server outside,
# and one on the host namespace's loopback (as systemd-resolved's).
DNS4_ALT, ALT_ANSWER = '198.51.100.54', '198.51.100.11'
DNS_HOST_LO, HOST_LO_ANSWER = '127.0.0.53', '198.51.100.12'
LINK4_INET, LINK4_HOST = '192.0.2.1', '192.0.2.2'
LINK6_INET, LINK6_HOST = '2001:db8:1::1', '2001:db8:1::2'
ZONE = 'nat.test'
WWW = 'www.' + ZONE
HTTP_PORT = 8080
UDP_ECHO_PORT = 8053
HALFCLOSE_PORT = 8090            # guest half-closes first
SHUTFIRST_PORT = 8091            # server half-closes first
# The host namespace's own services, which the guest must not reach.
HOST_LO_PORT = 8081              # on 127.0.0.1 and ::1
HOST_ADDR_PORT = 8082            # on LINK4_HOST and LINK6_HOST
HOST_LO_BANNER = 'host-loopback-service'
HOST_ADDR_BANNER = 'host-address-service'
# What the engine gives the guest (slirp4netns's defaults).
GUEST4 = '10.0.2.100'
GUEST_PREFIX = 24
GATEWAY4 = '10.0.2.2'
VDNS4 = '10.0.2.3'
TAP = 'tap0'

_counter = [0]
_open = []                      # Topologies not closed yet


def log(msg):
    if os.environ.get('VPCNET_NETNS_DEBUG'):
        sys.stderr.write('netns: %s\n' % msg)


def sh(argv, check=True, timeout=60, input=None):
    """Run a command; returns CompletedProcess with text stdout/stderr."""
    log(' '.join(argv))
    proc = subprocess.run(argv, input=input, timeout=timeout, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if check and proc.returncode != 0:
        raise RuntimeError('%s: exit %d: %s' % (' '.join(argv), proc.returncode,
                                                proc.stderr.strip()))
    return proc


def pid_alive(pid):
    """Running (a zombie waiting for its parent to reap it is not)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] not in ('Z', 'X')
    except (OSError, IndexError):
        return False


def _ns_pids(ns):
    out = sh(['ip', 'netns', 'pids', ns], check=False).stdout
    return [int(p) for p in out.split() if p.isdigit()]


def _kill_ns_processes(ns):
    """End what is left in a namespace of ours (only we started anything
    in it).  Each by its PID: TERM, then KILL."""
    pids = _ns_pids(ns)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            pids = [p for p in pids if pid_alive(p)]
            if not pids:
                return
            time.sleep(0.05)


def _remove_ns(ns):
    _kill_ns_processes(ns)
    sh(['ip', 'netns', 'del', ns], check=False)
    shutil.rmtree('/etc/netns/' + ns, ignore_errors=True)
    try:
        os.rmdir('/etc/netns')
    except OSError:
        pass


def sweep_stale():
    """Remove namespaces left by runs of ours that were killed outright."""
    out = sh(['ip', 'netns', 'list'], check=False).stdout
    for line in out.splitlines():
        name = line.split()[0] if line.split() else ''
        m = re.match(r'%s(\d+)x\d+(inet|host|guest)$' % PREFIX, name)
        if m and int(m.group(1)) != os.getpid() and not pid_alive(int(m.group(1))):
            log('removing stale namespace %s' % name)
            _remove_ns(name)


def _on_signal(signum, frame):
    raise SystemExit(128 + signum)


class Proc:
    """A process in a namespace, its stdout collected line by line."""

    def __init__(self, name, argv, stdin=False, pass_fds=(), preexec_fn=None):
        self.name = name
        self.argv = argv
        self.lines = []
        self.stderr = tempfile.TemporaryFile(mode='w+')
        self.cond = threading.Condition()
        log('spawn %s: %s' % (name, ' '.join(argv)))
        self.popen = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=self.stderr,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            text=True, start_new_session=True, pass_fds=pass_fds,
            preexec_fn=preexec_fn)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    @property
    def pid(self):
        return self.popen.pid

    def _read(self):
        for line in self.popen.stdout:
            with self.cond:
                self.lines.append(line.rstrip('\n'))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_line(self, regex, timeout=10, start=0):
        """The first line from index start matching regex, or None."""
        pat = re.compile(regex)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines[start:]:
                    if pat.search(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or (self.popen.poll() is not None
                                 and not self.reader.is_alive()):
                    return None
                self.cond.wait(min(left, 0.2))

    def errors(self):
        self.stderr.seek(0)
        return self.stderr.read()[-2000:]

    def stop(self, timeout=3):
        """TERM its process group, then KILL; returns the exit code."""
        if self.popen.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self.popen.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.popen.wait(timeout)
                    break
                except subprocess.TimeoutExpired:
                    continue
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        return self.popen.returncode


class Topology:
    """guest, host and inet namespaces with the inet side's servers.

    files: {name: size} served by HTTP from the inet ns; their digests in
    self.sha256.  services=False leaves out dnsmasq and the small servers
    (a benchmark starts its own).  outside_mtu: MTU of the host-inet veth.
    """

    def __init__(self, files=None, services=True, outside_mtu=1500):
        _counter[0] += 1
        base = '%s%dx%d' % (PREFIX, os.getpid(), _counter[0])
        self.ns = {role: base + role for role in ('inet', 'host', 'guest')}
        self.files = dict(files or {})
        self.sha256 = {}
        self.services = services
        self.outside_mtu = outside_mtu
        self.procs = []
        self.tmp = None
        self.dns_log = None
        self.old_handlers = {}
        self.started = False

    # ---- names and commands ----

    def path(self, role):
        return '/run/netns/' + self.ns[role]

    def exec_argv(self, role, argv):
        return ['ip', 'netns', 'exec', self.ns[role]] + list(argv)

    def run(self, role, argv, check=True, timeout=60, input=None):
        return sh(self.exec_argv(role, argv), check=check, timeout=timeout,
                  input=input)

    def spawn(self, role, argv, name=None, ready=None, timeout=10, **kw):
        """Start a process in a namespace, stopped by close(); with ready,
        wait for a stdout line matching it."""
        argv = [str(a) for a in argv]
        proc = Proc(name or argv[0], self.exec_argv(role, argv), **kw)
        self.procs.append(proc)
        if ready and proc.wait_line(ready, timeout) is None:
            raise RuntimeError('%s did not start: %s' % (proc.name, proc.errors()))
        return proc

    def service(self, role, mode, *args, name=None):
        return self.spawn(role, [sys.executable, SERVICE, mode] + [str(a) for a in args],
                          name=name or mode, ready='^ready$')

    def client(self, role, mode, *args, timeout=60):
        """Run an nsservice client; returns its JSON result (ok False and
        the error when it produced none)."""
        try:
            proc = self.run(role, [sys.executable, SERVICE, mode] + [str(a) for a in args],
                            check=False, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {'ok': False, 'result': 'client timed out after %ds' % timeout}
        for line in reversed(proc.stdout.splitlines()):
            if line.startswith('{'):
                return json.loads(line)
        return {'ok': False, 'result': 'no result', 'stderr': proc.stderr[-800:]}

    def sysctl(self, role, key, value):
        self.run(role, ['sysctl', '-q', '-w', '%s=%s' % (key, value)])

    def set_ping_group_range(self, role, low, high):
        self.sysctl(role, 'net.ipv4.ping_group_range', '%d %d' % (low, high))

    def wait_listening(self, role, proto, port, addr=None, timeout=10):
        flag = '-Hltn' if proto == 'tcp' else '-Hlun'
        if addr:
            expr = 'src %s:%d' % ('[%s]' % addr if ':' in addr else addr, port)
        else:
            expr = 'sport = :%d' % port
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.run(role, ['ss', flag, expr], check=False).stdout
            if out.strip():
                return True
            time.sleep(0.05)
        raise RuntimeError('nothing listens on %s port %d in %s' % (proto, port, role))

    def dns_queries(self):
        """dnsmasq's query log lines so far."""
        try:
            with open(self.dns_log) as f:
                return [l for l in f.read().splitlines() if ' query[' in l]
        except OSError:
            return []

    # ---- life cycle ----

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def start(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGHUP):
                self.old_handlers[sig] = signal.signal(sig, _on_signal)
        _open.append(self)
        self.started = True
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def _build(self):
        sweep_stale()
        self.tmp = tempfile.mkdtemp(prefix='vpcnat-')
        for role, ns in self.ns.items():
            sh(['ip', 'netns', 'add', ns])
        inet, host = self.ns['inet'], self.ns['host']
        for role in ('inet', 'host'):
            sh(['ip', '-n', self.ns[role], 'link', 'set', 'lo', 'up'])
        sh(['ip', '-n', host, 'link', 'add', 'veth-inet', 'mtu', str(self.outside_mtu),
            'type', 'veth', 'peer', 'name', 'veth-host', 'mtu', str(self.outside_mtu),
            'netns', inet])
        for ns, dev, a4, a6 in ((host, 'veth-inet', LINK4_HOST, LINK6_HOST),
                                (inet, 'veth-host', LINK4_INET, LINK6_INET)):
            sh(['ip', '-n', ns, 'addr', 'add', a4 + '/24', 'dev', dev])
            sh(['ip', '-n', ns, 'addr', 'add', a6 + '/64', 'dev', dev, 'nodad'])
            sh(['ip', '-n', ns, 'link', 'set', dev, 'up'])
        for a in (INET4 + '/32', DNS4 + '/32', DNS4_ALT + '/32'):
            sh(['ip', '-n', inet, 'addr', 'add', a, 'dev', 'lo'])
        for a in (INET6 + '/128', DNS6 + '/128'):
            sh(['ip', '-n', inet, 'addr', 'add', a, 'dev', 'lo', 'nodad'])
        sh(['ip', '-n', host, 'route', 'add', 'default', 'via', LINK4_INET])
        sh(['ip', '-n', host, '-6', 'route', 'add', 'default', 'via', LINK6_INET])
        # Resolvers as `ip netns exec` shows them (bind-mounted resolv.conf).
        for role, server in (('host', DNS4), ('guest', VDNS4), ('inet', DNS4)):
            d = '/etc/netns/' + self.ns[role]
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, 'resolv.conf'), 'w') as f:
                f.write('nameserver %s\n' % server)
        self._make_files()
        if self.services:
            self._start_services()
        self.wait_route()

    def wait_route(self):
        """The veth is usable (no DAD with nodad; the link comes up at once,
        but make sure before the first test)."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self.run('host', ['ping', '-c', '1', '-W', '1', INET4],
                        check=False).returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError('the inet namespace is not reachable from the host namespace')

    def _make_files(self):
        import hashlib
        self.www = os.path.join(self.tmp, 'www')
        os.makedirs(self.www)
        for name, size in self.files.items():
            h = hashlib.sha256()
            with open(os.path.join(self.www, name), 'wb') as f:
                left = size
                while left:
                    chunk = os.urandom(min(left, 1 << 20))
                    f.write(chunk)
                    h.update(chunk)
                    left -= len(chunk)
            self.sha256[name] = h.hexdigest()

    def _start_services(self):
        self.service('inet', 'http', '::', HTTP_PORT, self.www, name='httpd')
        # UDP servers bind each address: a wildcard socket would answer from
        # whatever source address routing picks, not the one asked.
        for addr in (INET4, INET6):
            self.service('inet', 'udpecho', addr, UDP_ECHO_PORT, 'inet-echo',
                         name='udpecho-' + addr)
        self.service('inet', 'halfclose', '::', HALFCLOSE_PORT, 1 << 20, name='halfclose')
        self.shutfirst = self.service('inet', 'shutfirst', '::', SHUTFIRST_PORT, 1 << 20,
                                      name='shutfirst')
        self.dns_log = os.path.join(self.tmp, 'dnsmasq.log')
        self._dnsmasq('inet', [DNS4, DNS6], INET4, INET6, log=self.dns_log)
        self._dnsmasq('inet', [DNS4_ALT], ALT_ANSWER)
        self._dnsmasq('host', [DNS_HOST_LO], HOST_LO_ANSWER)
        self.host_services = []
        for addr, port, text in (('127.0.0.1', HOST_LO_PORT, HOST_LO_BANNER),
                                 ('::1', HOST_LO_PORT, HOST_LO_BANNER),
                                 (LINK4_HOST, HOST_ADDR_PORT, HOST_ADDR_BANNER),
                                 (LINK6_HOST, HOST_ADDR_PORT, HOST_ADDR_BANNER)):
            self.host_services.append(
                self.service('host', 'banner', addr, port, text, name='host-%s' % addr))

    def _dnsmasq(self, role, listen, answer4, answer6=None, log=None):
        record = ','.join([WWW, answer4] + ([answer6] if answer6 else []))
        argv = ['dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null',
                '--no-resolv', '--no-hosts', '--no-poll', '--bind-interfaces',
                '--user=root', '--group=root', '--pid-file=', '--port=53',
                '--local=/%s/' % ZONE, '--host-record=' + record]
        argv += ['--listen-address=' + a for a in listen]
        if log:
            argv += ['--log-queries=extra', '--log-facility=' + log]
        self.spawn(role, argv, name='dnsmasq-' + listen[0])
        for proto in ('udp', 'tcp'):
            self.wait_listening(role, proto, 53, addr=listen[0])

    def set_host_resolvers(self, *servers):
        """Rewrite the host namespace's resolv.conf in place (the engine
        sees it through a bind mount of this very inode)."""
        with open('/etc/netns/%s/resolv.conf' % self.ns['host'], 'w') as f:
            f.write(''.join('nameserver %s\n' % s for s in servers))

    def host_service_accepts(self):
        """How many connections the host namespace's own services took."""
        return sum(len([l for l in p.lines if l.startswith('accept')])
                   for p in getattr(self, 'host_services', []))

    def close(self):
        if not self.started:
            return
        self.started = False
        # A second Ctrl-C must not cut the cleanup short.
        main = threading.current_thread() is threading.main_thread()
        old_int = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
        try:
            for proc in reversed(self.procs):
                proc.stop()
            for ns in self.ns.values():
                _remove_ns(ns)
            if self.tmp:
                shutil.rmtree(self.tmp, ignore_errors=True)
        finally:
            if self in _open:
                _open.remove(self)
            for sig, handler in self.old_handlers.items():
                signal.signal(sig, handler)
            if main:
                signal.signal(signal.SIGINT, old_int)


# ---- engines ----

class HostFwd:
    """One host-to-guest forward: a listener in the host ns to the guest."""

    def __init__(self, proto, host_port, guest_port, host_addr='0.0.0.0',
                 guest_addr=GUEST4):
        self.proto, self.host_addr, self.host_port = proto, host_addr, int(host_port)
        self.guest_addr, self.guest_port = guest_addr, int(guest_port)

    def netdev_user(self):
        """-netdev user's hostfwd= syntax."""
        def br(a):
            return '[%s]' % a if ':' in a else a
        return '%s:%s:%d-%s:%d' % (self.proto, br(self.host_addr), self.host_port,
                                   br(self.guest_addr), self.guest_port)

    def __repr__(self):
        return self.netdev_user()


def engine_from_env(default=None):
    """(kind, binary) from VPCNET_NAT_ENGINE: "slirp4netns", "pasta", a
    path to vpcnet-nat (the default: $VPCNET_BUILD/vpcnet-nat)."""
    build = os.environ.get('VPCNET_BUILD') or os.path.join(REPO, 'build')
    spec = os.environ.get('VPCNET_NAT_ENGINE') or default or os.path.join(build, 'vpcnet-nat')
    return resolve_engine(spec)


def resolve_engine(spec):
    base = os.path.basename(spec)
    if base.startswith('slirp4netns'):
        kind = 'slirp4netns'
    elif base.startswith('pasta'):
        kind = 'pasta'
    elif base == 'veth':
        return 'veth', None
    else:
        kind = 'vpcnet-nat'
    if '/' in spec:
        binary = spec if os.path.isabs(spec) else os.path.join(REPO, spec)
    else:
        binary = shutil.which(spec) or spec
    return kind, binary


def raise_nofile():
    """For engines measured with many connections: the hard fd limit."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class EngineError(RuntimeError):
    pass


class Engine:
    """A NAT engine in topo's host namespace serving its guest namespace.

    mtu, ipv6, host_loopback (the gateway address reaches the host's
    loopback), hostfwds (HostFwd list), target 'path' (--netns-type=path)
    or 'pid' (the PID of a process in the guest namespace); extra: more
    engine options; wrapper: a command the engine is exec'd through (e.g.
    setpriv dropping a capability); many_fds: raise RLIMIT_NOFILE to its
    hard limit.
    """

    def __init__(self, topo, kind, binary, mtu=1500, ipv6=True, host_loopback=False,
                 hostfwds=(), target='path', extra=(), wrapper=(), many_fds=False):
        self.topo, self.kind, self.binary = topo, kind, binary
        self.mtu, self.ipv6, self.host_loopback = mtu, ipv6, host_loopback
        self.hostfwds = list(hostfwds)
        self.target, self.extra, self.wrapper = target, list(extra), list(wrapper)
        self.many_fds = many_fds
        self.proc = None
        self.pid = None
        self.exit_w = None
        self.fwd_errors = []
        self.holder = None
        self.api_socket = None
        self.pidfile = None
        self.argv = []
        self.stopped_by = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    # ---- start ----

    def _target_args(self):
        if self.target == 'pid':
            self.holder = self.topo.spawn('guest', ['sleep', 'infinity'], name='ns-holder')
            return [str(self.holder.pid), TAP]
        return ['--netns-type=path', self.topo.path('guest'), TAP]

    def start(self, timeout=15):
        if self.kind == 'veth':
            return self._start_veth()
        if self.kind == 'pasta':
            return self._start_pasta(timeout)
        if not self.binary or not os.path.exists(self.binary):
            raise EngineError('%s: no such engine binary' % self.binary)
        ready_r, ready_w = os.pipe()
        exit_r, exit_w = os.pipe()
        argv = [self.binary, '--configure', '--mtu', str(self.mtu),
                '--ready-fd', str(ready_w), '--exit-fd', str(exit_r)]
        if self.ipv6:
            argv.append('--enable-ipv6')
        if self.kind == 'slirp4netns':
            if not self.host_loopback:
                argv.append('--disable-host-loopback')
            self.api_socket = os.path.join(self.topo.tmp, 'slirp-%d.sock' % id(self))
            argv += ['--api-socket', self.api_socket]
        else:
            # vpcnet-nat: closed by default (no option), opened on request.
            if self.host_loopback:
                argv.append('--enable-host-loopback')
            for fwd in self.hostfwds:
                argv += ['--hostfwd', fwd.netdev_user()]
        argv = self.wrapper + argv + self.extra + self._target_args()
        self.argv = argv
        try:
            self.proc = self.topo.spawn('host', argv, name=self.kind,
                                        pass_fds=(ready_w, exit_r),
                                        preexec_fn=raise_nofile if self.many_fds else None)
        finally:
            os.close(ready_w)
            os.close(exit_r)
        self.exit_w = exit_w
        self.pid = self.proc.pid
        try:
            ready = self._wait_ready(ready_r, timeout)
        finally:
            os.close(ready_r)
        if not ready:
            err = self.proc.errors()
            self.stop()
            raise EngineError('%s did not signal ready on --ready-fd within %ds: %s'
                              % (self.kind, timeout, err.strip() or '(no stderr)'))
        if self.kind == 'slirp4netns':
            for fwd in self.hostfwds:
                self._slirp_add_hostfwd(fwd)
        return self

    def _wait_ready(self, fd, timeout):
        r, _, _ = select.select([fd], [], [], timeout)
        if not r:
            return False
        return len(os.read(fd, 16)) > 0

    def _slirp_add_hostfwd(self, fwd):
        if ':' in fwd.host_addr or ':' in fwd.guest_addr:
            self.fwd_errors.append('%s: slirp4netns forwards IPv4 only' % fwd)
            return
        req = {'execute': 'add_hostfwd',
               'arguments': {'proto': fwd.proto, 'host_addr': fwd.host_addr,
                             'host_port': fwd.host_port, 'guest_addr': fwd.guest_addr,
                             'guest_port': fwd.guest_port}}
        reply = self.api(req)
        if 'return' not in reply:
            self.fwd_errors.append('slirp4netns add_hostfwd: %s' % json.dumps(reply))

    def api(self, request):
        """One slirp4netns API request (it wants SHUT_WR after each)."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect(self.api_socket)
            s.sendall(json.dumps(request).encode())
            s.shutdown(socket.SHUT_WR)
            data = b''
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        finally:
            s.close()
        return json.loads(data.decode() or '{}')

    def _start_pasta(self, timeout):
        if not self.binary or not os.path.exists(self.binary):
            raise EngineError('%s: no such engine binary (make bench-nat builds it)'
                              % self.binary)
        self.pidfile = os.path.join(self.topo.tmp, 'pasta-%d.pid' % id(self))
        argv = [self.binary, '--config-net', '--quiet', '--runas', '0',
                '--pid', self.pidfile, '-I', TAP, '-m', str(self.mtu),
                '-a', GUEST4, '-n', str(GUEST_PREFIX), '-g', GATEWAY4,
                '--dns-forward', VDNS4, '-T', 'none', '-U', 'none']
        tcp = [f for f in self.hostfwds if f.proto == 'tcp']
        udp = [f for f in self.hostfwds if f.proto == 'udp']
        for opt, fwds in (('-t', tcp), ('-u', udp)):
            if not fwds:
                argv += [opt, 'none']
            for f in fwds:
                bind = '' if f.host_addr in ('0.0.0.0', '::') else f.host_addr + '/'
                argv += [opt, '%s%d:%d' % (bind, f.host_port, f.guest_port)]
        if not self.host_loopback:
            argv.append('--no-map-gw')
        if not self.ipv6:
            argv.append('-4')
        argv = self.wrapper + argv + self.extra + ['--netns', self.topo.path('guest')]
        self.argv = argv
        # pasta forks into the background once it is set up: its first
        # process exiting 0 is the ready signal, the PID file the daemon.
        starter = self.topo.spawn('host', argv, name='pasta-start',
                                  preexec_fn=raise_nofile if self.many_fds else None)
        try:
            rc = starter.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            starter.stop()
            raise EngineError('pasta did not daemonize within %ds: %s'
                              % (timeout, starter.errors()))
        if rc != 0:
            raise EngineError('pasta exited %d: %s' % (rc, starter.errors().strip()))
        with open(self.pidfile) as f:
            self.pid = int(f.read().split()[0])
        return self

    def _start_veth(self):
        t = self.topo
        host, guest = t.ns['host'], t.ns['guest']
        sh(['ip', '-n', host, 'link', 'add', 'veth-guest', 'mtu', str(self.mtu), 'type',
            'veth', 'peer', 'name', TAP, 'mtu', str(self.mtu), 'netns', guest])
        sh(['ip', '-n', host, 'addr', 'add', '%s/%d' % (GATEWAY4, GUEST_PREFIX),
            'dev', 'veth-guest'])
        sh(['ip', '-n', host, 'link', 'set', 'veth-guest', 'up'])
        sh(['ip', '-n', guest, 'addr', 'add', '%s/%d' % (GUEST4, GUEST_PREFIX), 'dev', TAP])
        sh(['ip', '-n', guest, 'link', 'set', TAP, 'up'])
        sh(['ip', '-n', guest, 'link', 'set', 'lo', 'up'])
        sh(['ip', '-n', guest, 'route', 'add', 'default', 'via', GATEWAY4])
        t.sysctl('host', 'net.ipv4.ip_forward', 1)
        sh(['ip', '-n', t.ns['inet'], 'route', 'add', '10.0.2.0/24', 'via', LINK4_HOST])
        self.argv = ['(veth, routed through the host namespace)']
        return self

    # ---- measuring ----

    def cpu_seconds(self):
        """utime + stime of the engine process (all its threads)."""
        if not self.pid:
            return None
        try:
            with open('/proc/%d/stat' % self.pid) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

    def memory_kib(self):
        """{'VmRSS': kB, 'VmHWM': kB} of the engine process."""
        out = {}
        if not self.pid:
            return out
        try:
            with open('/proc/%d/status' % self.pid) as f:
                for line in f:
                    key, _, val = line.partition(':')
                    if key in ('VmRSS', 'VmHWM'):
                        out[key] = int(val.split()[0])
        except OSError:
            pass
        return out

    def alive(self):
        if self.kind == 'veth':
            return True
        if self.proc is not None:
            return self.proc.popen.poll() is None
        return bool(self.pid) and pid_alive(self.pid)

    # ---- stop ----

    def stop(self, timeout=5):
        """Stop the engine; returns how: 'exit-fd', 'sigterm', 'sigkill',
        'exited N' (it had died already) or 'n/a'."""
        if self.stopped_by:
            return self.stopped_by
        how = 'n/a'
        if self.kind == 'veth':
            sh(['ip', '-n', self.topo.ns['host'], 'link', 'del', 'veth-guest'], check=False)
            sh(['ip', '-n', self.topo.ns['inet'], 'route', 'del', '10.0.2.0/24'],
               check=False)
        elif self.kind == 'pasta':
            how = self._stop_pid(timeout)
        elif self.proc is not None:
            rc = self.proc.popen.poll()
            if rc is not None:
                how = 'exited %d' % rc
            else:
                os.close(self.exit_w)
                self.exit_w = None
                try:
                    self.proc.popen.wait(timeout)
                    how = 'exit-fd'
                except subprocess.TimeoutExpired:
                    rc = self.proc.stop()
                    how = 'sigterm' if rc == -signal.SIGTERM else 'sigkill'
        if self.exit_w is not None:
            os.close(self.exit_w)
            self.exit_w = None
        if self.holder is not None:
            self.holder.stop()
        self.stopped_by = how
        return how

    def _stop_pid(self, timeout):
        if not self.pid or not pid_alive(self.pid):
            return 'exited'
        for sig, name in ((signal.SIGTERM, 'sigterm'), (signal.SIGKILL, 'sigkill')):
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                return name
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if not pid_alive(self.pid):
                    return name
                time.sleep(0.05)
        return 'sigkill'
