#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Drive qemu-vswitch over its socket the way QEMU does: start it on a
# private XDG_RUNTIME_DIR, join ports with HELLO, send and receive
# frames (one per FRAME message, or batched in FRAMES messages), talk
# DHCP to it, and check its files, lock, --list, idle exit and the
# leases it keeps across a restart, all with the daemon locked down
# (no_new_privs, seccomp, Landlock: /proc/PID/status says so) as it is
# once set up, and once with --no-sandbox.  Prints TAP.
#
#   test-vswitch-daemon.py PATH-TO-qemu-vswitch

import ctypes
import os
import re
import select
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time

FRAME, HELLO, WELCOME, REFUSED, FRAMES, LIST = 0, 1, 2, 3, 4, 16
DHCP_OFF, DUP_WARN, BATCH = 1 << 0, 1 << 1, 1 << 2
WELCOME_BATCH = 1 << 1
BCAST = b'\xff' * 6
RANGE = ('169.254.0.16', '169.254.10.254')
QUIET = 0.3         # seconds of silence that count as "nothing came"

VSWITCH = os.path.abspath(sys.argv[1])
RUNDIR = tempfile.mkdtemp(prefix='vsw-test-')
ENV = dict(os.environ, XDG_RUNTIME_DIR=RUNDIR)
DIR = os.path.join(RUNDIR, 'vpcnet')

results = []
procs = []


def ok(cond, what, detail=''):
    results.append(bool(cond))
    print('%s %d - %s' % ('ok' if cond else 'not ok', len(results), what))
    if not cond and detail:
        for line in str(detail).splitlines():
            print('# ' + line)
    sys.stdout.flush()
    return cond


def mac(n):
    return bytes([0x00, 0x03, 0xff, 0x00, 0x00, n])


def ip2int(a):
    return struct.unpack('!I', socket.inet_aton(a))[0]


def msg(mtype, payload=b''):
    return struct.pack('<BBH', mtype, 0, len(payload)) + payload


def records(frames):
    """A FRAMES payload: each frame behind its little-endian length."""
    return b''.join(struct.pack('<H', len(f)) + f for f in frames)


def unpack_frames(payload):
    """The frames of a FRAMES payload; raises ValueError if malformed."""
    out, off = [], 0
    while off < len(payload):
        if len(payload) - off < 2:
            raise ValueError('trailing byte')
        n = struct.unpack_from('<H', payload, off)[0]
        if not 14 <= n <= 9018 or off + 2 + n > len(payload):
            raise ValueError('bad record at %d: %d' % (off, n))
        out.append(payload[off + 2:off + 2 + n])
        off += 2 + n
    if not out:
        raise ValueError('no record')
    return out


def sock_path(net):
    return os.path.join(DIR, net + '.sock')


def start(net, *args, wait=True):
    log = open(os.path.join(RUNDIR, net + '.log'), 'ab')
    p = subprocess.Popen([VSWITCH, '--network', net, '--foreground'] +
                         list(args), env=ENV, stdout=log, stderr=log)
    procs.append(p)
    deadline = time.time() + 5
    while wait and time.time() < deadline and not answers(net):
        time.sleep(0.02)
    return p


def answers(net):
    """Whether a daemon accepts connections for @net (not a stale socket)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        s.connect(sock_path(net))
        return True
    except OSError:
        return False
    finally:
        s.close()


def stop(p, sig=signal.SIGTERM):
    if p.poll() is None:
        p.send_signal(sig)
    try:
        return p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.wait()


def proc_status(pid):
    """/proc/PID/status as a dict of its fields."""
    out = {}
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            key, _, value = line.partition(':')
            out[key] = value.strip()
    return out


def sandboxed(pid):
    """Whether @pid runs with no_new_privs and a seccomp filter."""
    st = proc_status(pid)
    return st.get('NoNewPrivs') == '1' and st.get('Seccomp') == '2'


def landlock_abi():
    """The kernel's Landlock ABI (landlock_create_ruleset's version), or 0."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(ctypes.c_long(444), None, ctypes.c_size_t(0),
                       ctypes.c_uint32(1))
    return max(abi, 0)


def daemon_log(net):
    with open(os.path.join(RUNDIR, net + '.log'), errors='replace') as f:
        return f.read()


class Client:
    """One port: a SOCK_SEQPACKET connection that said HELLO."""

    def __init__(self, net, label, flags=0, start=0, end=0, hello=True):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.s.connect(sock_path(net))
        self.welcome = None
        if hello:
            self.s.send(msg(HELLO, struct.pack(
                '<4sHH', b'VPCN', 1, flags) +
                struct.pack('!II', start, end) +
                label.encode().ljust(32, b'\0')))
            self.welcome = self.recv()

    def recv(self, timeout=2.0):
        """The next message as (type, payload); 'eof'; or None."""
        r, _, _ = select.select([self.s], [], [], timeout)
        if not r:
            return None
        try:
            m = self.s.recv(65540)
        except ConnectionResetError:
            return 'eof'
        if not m:
            return 'eof'
        assert len(m) >= 4 and struct.unpack('<H', m[2:4])[0] == len(m) - 4
        return m[0], m[4:]

    def status(self):
        """WELCOME as (status, flags, port_id, text)."""
        if not self.welcome or self.welcome == 'eof':
            return None
        t, p = self.welcome
        if t != WELCOME:
            return None
        st, fl, pid = struct.unpack('<HHI', p[:8])
        return st, fl, pid, p[8:].decode(errors='replace')

    def send(self, frame):
        self.s.send(msg(FRAME, frame))

    def send_frames(self, frames):
        """Send @frames in one FRAMES message."""
        self.s.send(msg(FRAMES, records(frames)))

    def frames(self, quiet=QUIET):
        """Every frame that arrives until @quiet seconds pass without one."""
        return [f for _, f in self.typed_frames(quiet)]

    def typed_frames(self, quiet=QUIET):
        """Like frames(), as (message type, frame), FRAMES unpacked."""
        out = []
        while True:
            m = self.recv(quiet)
            if m is None or m == 'eof':
                return out
            if m[0] == FRAME:
                out.append((FRAME, m[1]))
            elif m[0] == FRAMES:
                out += [(FRAMES, f) for f in unpack_frames(m[1])]

    def close(self):
        self.s.close()


def eth(dst, src, tag):
    return dst + src + b'\x88\xb5' + tag.ljust(46, b'\0')


def csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def dhcp_frame(client_mac, mtype, xid, requested=None, server=None):
    """A broadcast DHCP request from @client_mac, without UDP checksum."""
    bootp = struct.pack('!BBBBIHHIIII', 1, 1, 6, 0, xid, 0, 0, 0, 0, 0, 0)
    bootp += client_mac.ljust(16, b'\0') + b'\0' * 192
    opts = b'\x63\x82\x53\x63' + bytes([53, 1, mtype])
    if requested:
        opts += bytes([50, 4]) + socket.inet_aton(requested)
    if server:
        opts += bytes([54, 4]) + socket.inet_aton(server)
    payload = (bootp + opts + b'\xff').ljust(300, b'\0')
    udp = struct.pack('!HHHH', 68, 67, 8 + len(payload), 0) + payload
    hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0, 64, 17,
                      0, b'\0' * 4, b'\xff' * 4)
    hdr = hdr[:10] + struct.pack('!H', csum(hdr)) + hdr[12:]
    return BCAST + client_mac + b'\x08\x00' + hdr + udp


def dhcp_parse(frame):
    """(message type, yiaddr, server id) of a DHCP reply, or None."""
    if len(frame) < 14 + 20 + 8 + 240 or frame[12:14] != b'\x08\x00':
        return None
    ihl = (frame[14] & 15) * 4
    udp = 14 + ihl
    if struct.unpack('!H', frame[udp + 2:udp + 4])[0] != 68:
        return None
    m = frame[udp + 8:]
    yiaddr = socket.inet_ntoa(m[16:20])
    opts, i, mtype, server = m[240:], 0, None, None
    while i < len(opts) and opts[i] != 255:
        if opts[i] == 0:
            i += 1
            continue
        code, ln = opts[i], opts[i + 1]
        val = opts[i + 2:i + 2 + ln]
        if code == 53:
            mtype = val[0]
        elif code == 54:
            server = socket.inet_ntoa(val)
        i += 2 + ln
    return mtype, yiaddr, server


def in_range(addr):
    return ip2int(RANGE[0]) <= ip2int(addr) <= ip2int(RANGE[1])


def dhcp_lease(c, n, xid):
    """DISCOVER and REQUEST from client @c with MAC @n: the ACKed address."""
    c.send(dhcp_frame(mac(n), 1, xid))
    offer = [dhcp_parse(f) for f in c.frames()]
    offer = [o for o in offer if o and o[0] == 2]
    if not offer:
        return None, None
    addr, server = offer[0][1], offer[0][2]
    c.send(dhcp_frame(mac(n), 3, xid, requested=addr, server=server))
    ack = [dhcp_parse(f) for f in c.frames()]
    ack = [a for a in ack if a and a[0] == 5]
    return addr, ack[0][1] if ack else None


def run_list(net):
    r = subprocess.run([VSWITCH, '--network', net, '--list'], env=ENV,
                       capture_output=True, text=True, timeout=10)
    return r.returncode, r.stdout + r.stderr


def test_switching():
    d = start('lan')
    st_dir = os.stat(DIR)
    st_sock = os.stat(sock_path('lan'))
    ok(stat.S_IMODE(st_dir.st_mode) == 0o700, 'directory mode is 0700',
       oct(st_dir.st_mode))
    ok(stat.S_ISSOCK(st_sock.st_mode) and
       stat.S_IMODE(st_sock.st_mode) == 0o600, 'socket mode is 0600',
       oct(st_sock.st_mode))
    st = proc_status(d.pid)
    ok(st.get('NoNewPrivs') == '1' and st.get('Seccomp') == '2',
       'the daemon runs locked down: NoNewPrivs 1, Seccomp 2 (filter)',
       (st.get('NoNewPrivs'), st.get('Seccomp')))
    abi = landlock_abi()
    want = ('Landlock ABI %d: files only in %s' % (abi, DIR) if abi
            else 'file system not restricted')
    ok('sandbox: seccomp allowlist of' in daemon_log('lan') and
       want in daemon_log('lan'),
       'and says so: seccomp, and Landlock when the kernel has it (ABI %d)'
       % abi, daemon_log('lan'))

    a, b, c = (Client('lan', 'vm%s/net0' % x) for x in 'abc')
    sts = [x.status() for x in (a, b, c)]
    ok(all(s and s[0] == 0 and s[1] == 0 for s in sts) and
       len({s[2] for s in sts}) == 3,
       'three clients get WELCOME status 0, distinct port ids', sts)

    a.send(eth(BCAST, mac(1), b'bcast'))
    fb, fc, fa = b.frames(), c.frames(), a.frames()
    ok(len(fb) == 1 and len(fc) == 1 and fb[0][14:19] == b'bcast' and
       not fa, 'a broadcast from A reaches B and C, not A',
       (len(fa), len(fb), len(fc)))

    b.send(eth(mac(1), mac(2), b'to-a'))
    fa, fc, fb = a.frames(), c.frames(), b.frames()
    ok(len(fa) == 1 and fa[0][14:18] == b'to-a' and not fc and not fb,
       'unicast to the learned A reaches only A', (len(fa), len(fb), len(fc)))

    c.send(eth(mac(9), mac(3), b'unknown'))
    fa, fb = a.frames(), b.frames()
    ok(len(fa) == 1 and len(fb) == 1, 'unknown unicast is flooded')

    c.send(dhcp_frame(mac(3), 1, 0x1234))
    fc, fa, fb = c.frames(), a.frames(), b.frames()
    offer = dhcp_parse(fc[0]) if len(fc) == 1 else None
    ok(offer and offer[0] == 2 and in_range(offer[1]),
       'DHCP DISCOVER gets an OFFER in %s-%s' % RANGE, offer)
    ok(not fa and not fb, 'the DISCOVER is not flooded to the others',
       (len(fa), len(fb)))
    addr, acked = dhcp_lease(c, 3, 0x1235)
    ok(addr and acked == addr, 'REQUEST gets an ACK for the offered address',
       (addr, acked))

    rc, out = run_list('lan')
    ok(rc == 0 and all(('vm%s/net0' % x) in out for x in 'abc') and
       '00:03:ff:00:00:01' in out and str(acked) in out and 'bound' in out,
       '--list shows the ports and the lease', out)

    second = subprocess.run([VSWITCH, '--network', 'lan', '--foreground'],
                            env=ENV, capture_output=True, text=True,
                            timeout=10)
    ok(second.returncode != 0 and 'already served' in second.stderr,
       'a second daemon on the network refuses to start',
       (second.returncode, second.stderr))
    ok(os.path.exists(sock_path('lan')) and d.poll() is None,
       'the first daemon still serves', daemon_log('lan'))

    # A message that lies about its length: closed, counted.
    bad = Client('lan', 'liar')
    bad.s.send(struct.pack('<BBH', FRAME, 0, 100) + eth(BCAST, mac(7), b''))
    ok(bad.recv() == 'eof' and 'protocol error' in daemon_log('lan'),
       'a lying header is a protocol error: port closed')
    bad.close()

    hello = Client('lan', '', hello=False)
    hello.s.send(msg(HELLO, b'VPCX' + b'\0' * 44))
    st = hello.welcome = hello.recv()
    st = hello.status()
    ok(st and st[0] == 1 and hello.recv() == 'eof',
       'a bad HELLO gets status 1 and is closed', st)
    hello.close()

    dup = Client('lan', 'dup')
    dup.send(eth(BCAST, mac(1), b'dup'))
    m = dup.recv()
    ok(m not in (None, 'eof') and m[0] == REFUSED and
       struct.unpack('<H', m[1][:2])[0] == 3 and dup.recv() == 'eof',
       'a port whose MAC is live elsewhere is REFUSED with status 3', m)
    dup.close()
    ok(not a.frames() and not b.frames(), 'the refused frame went nowhere')

    warn = Client('lan', 'dup-warn', flags=DUP_WARN)
    warn.send(eth(BCAST, mac(1), b'warn'))
    ok(warn.recv(QUIET) is None and len(b.frames()) == 1 and
       'warning' in daemon_log('lan'),
       'with DUP_WARN it stays, with a warning logged')
    warn.close()

    differ = Client('lan', 'differ', flags=DHCP_OFF)
    st = differ.status()
    ok(st and st[0] == 0 and st[1] & 1,
       'a HELLO asking for other settings joins with CONFIG_DIFFERS', st)
    differ.close()

    # Killed without warning, restarted: the lease is still there.
    for x in (a, b, c):
        x.close()
    stop(d, signal.SIGKILL)
    d = start('lan')
    rc, out = run_list('lan')
    ok(rc == 0 and str(acked) in out and '00:03:ff:00:00:03' in out,
       'a restarted daemon loaded the lease file', out)
    c = Client('lan', 'vmc/net0')
    c.send(dhcp_frame(mac(3), 1, 0x4321))
    offers = [dhcp_parse(f) for f in c.frames()]
    ok(offers and offers[0] and offers[0][1] == acked,
       'and re-offers the same address', (acked, offers))
    c.close()

    rc = stop(d)
    ok(rc == 0 and not os.path.exists(sock_path('lan')),
       'SIGTERM: clean exit, socket removed', rc)


def test_sighup():
    """SIGHUP ends the daemon as SIGTERM does, saving what it leased."""
    d = start('hup')
    c = Client('hup', 'h')
    addr, acked = dhcp_lease(c, 0x44, 0x4444)
    c.close()
    rc = stop(d, signal.SIGHUP)
    with open(os.path.join(DIR, 'hup.leases')) as f:
        leases = f.read()
    ok(rc == 0 and acked and not os.path.exists(sock_path('hup')) and
       re.search(r'^00:03:ff:00:00:44 %s bound ' % re.escape(acked), leases,
                 re.M),
       'SIGHUP: clean exit, socket removed, the lease saved',
       (rc, acked, leases))


def test_no_sandbox():
    """--no-sandbox: the same daemon, not locked down."""
    d = start('nosbx', '--no-sandbox')
    st = proc_status(d.pid)
    ok(st.get('NoNewPrivs') == '0' and st.get('Seccomp') == '0' and
       'sandbox: off (--no-sandbox)' in daemon_log('nosbx'),
       '--no-sandbox: NoNewPrivs 0, Seccomp 0, and it says so',
       (st.get('NoNewPrivs'), st.get('Seccomp'), daemon_log('nosbx')))
    a, b = Client('nosbx', 'a'), Client('nosbx', 'b')
    a.send(eth(BCAST, mac(0x51), b'free'))
    ok(len(b.frames()) == 1, 'and switches as usual')
    a.close()
    b.close()
    ok(stop(d) == 0 and not os.path.exists(sock_path('nosbx')),
       'and exits cleanly on SIGTERM')


def protocol_errors(net):
    """The daemon's count of protocol errors, from --list."""
    rc, out = run_list(net)
    for line in out.splitlines():
        if 'protocol errors' in line:
            return int(line.rsplit(' ', 1)[1])
    return None


def test_batching():
    d = start('batch')
    a = Client('batch', 'batch-a', flags=BATCH)
    b = Client('batch', 'batch-b', flags=BATCH | DUP_WARN)
    p = Client('batch', 'plain-p')
    sts = [x.status() for x in (a, b, p)]
    ok(all(s and s[0] == 0 for s in sts) and sts[0][1] == WELCOME_BATCH and
       sts[1][1] == WELCOME_BATCH and sts[2][1] == 0,
       'WELCOME carries BATCH for the clients that asked, only them', sts)

    # Batched to plain: one FRAME per frame, in order; batched to
    # batched: FRAMES.
    bc = [eth(BCAST, mac(0x21), b'bc%d' % i) for i in range(3)]
    a.send_frames(bc)
    fp, fb, fa = p.typed_frames(), b.typed_frames(), a.typed_frames()
    ok(fp == [(FRAME, f) for f in bc],
       'a FRAMES broadcast from a batched port reaches a plain port as '
       'FRAME messages, in order', fp)
    ok(fb == [(FRAMES, f) for f in bc] and not fa,
       'and a batched port as FRAMES, not the sender', (fb, fa))

    # Plain to batched: FRAMES.
    pf = eth(BCAST, mac(0x23), b'plain')
    p.send(pf)
    fa, fb, fp = a.typed_frames(), b.typed_frames(), p.typed_frames()
    ok(fa == [(FRAMES, pf)] and fb == [(FRAMES, pf)] and not fp,
       'a FRAME from a plain port reaches batched ports as FRAMES', (fa, fb))

    # B is learned; then a batch of many small frames from A to B.
    b.send_frames([eth(mac(0x21), mac(0x22), b'learn')])
    ok(len(a.frames()) == 1, 'batched unicast to a learned batched port')
    big = [eth(mac(0x22), mac(0x21), struct.pack('!I', i)) for i in range(900)]
    a.send_frames(big)
    got = b.typed_frames()
    ok([f for _, f in got] == big and all(t == FRAMES for t, _ in got),
       'a FRAMES of 900 small frames arrives complete and in order',
       '%d frames, first bad at %s' % (len(got), next(
           (i for i, (g, f) in enumerate(zip(got, big)) if g[1] != f), None)))
    ok(not p.frames(), 'and goes to nobody else')

    # Many small frames to the plain port, in two FRAMES messages.
    few = [eth(mac(0x23), mac(0x21), struct.pack('!I', i)) for i in range(200)]
    a.send_frames(few[:150])
    a.send_frames(few[150:])
    got = p.typed_frames()
    ok(got == [(FRAME, f) for f in few],
       '200 frames batched to a plain port arrive as 200 FRAMEs, in order',
       len(got))

    rc, out = run_list('batch')
    ok(rc == 0 and any('batch-a' in line and 'batched' in line
                       for line in out.splitlines()) and
       not any('plain-p' in line and 'batched' in line
               for line in out.splitlines()),
       '--list marks the batched ports', out)

    # Malformed FRAMES: that connection is closed and counted, no other.
    cases = [
        ('a zero-length record', BATCH, msg(FRAMES, b'\0\0')),
        ('a trailing byte', BATCH,
         msg(FRAMES, records([eth(BCAST, mac(0x31), b'x')]) + b'\x01')),
        ('a record of 9019 bytes', BATCH,
         msg(FRAMES, struct.pack('<H', 9019) + b'\0' * 9019)),
        ('a record past the end', BATCH,
         msg(FRAMES, struct.pack('<H', 100) + b'\0' * 60)),
        ('an empty payload', BATCH, msg(FRAMES)),
        ('FRAMES without batching agreed', 0,
         msg(FRAMES, records([eth(BCAST, mac(0x32), b'y')]))),
    ]
    for what, flags, data in cases:
        before = protocol_errors('batch')
        bad = Client('batch', 'bad', flags=flags | DUP_WARN)
        bad.s.send(data)
        closed = bad.recv() == 'eof'
        bad.close()
        after = protocol_errors('batch')
        ok(closed and before is not None and after == before + 1,
           'FRAMES with %s: that port is closed, one protocol error '
           'counted' % what, (closed, before, after))
        # Frames in front of a bad record may have been switched.
        for x in (a, b, p):
            x.frames(0.05)
    log = daemon_log('batch')
    ok('malformed FRAMES' in log and 'batching was not agreed' in log,
       'the daemon logs what was wrong', log[-2000:])
    a.send_frames([eth(mac(0x22), mac(0x21), b'still')])
    p.send(eth(mac(0x22), mac(0x23), b'here'))
    got = b.frames()
    ok(sorted(got) == sorted([eth(mac(0x22), mac(0x21), b'still'),
                              eth(mac(0x22), mac(0x23), b'here')]),
       'the other ports still switch', got)
    for x in (a, b, p):
        x.close()
    stop(d)


def rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def test_stuck_port():
    """A port that never reads costs the others nothing: its socket and
    then its queue fill, its frames are dropped and counted, and the
    daemon's memory stays bounded."""
    d = start('stuck')
    a, b, c = (Client('stuck', x) for x in ('sender', 'reader', 'stuck'))
    rounds, per_round, size = 100, 50, 1000
    rss_before = rss_kib(d.pid)
    got = 0
    for r in range(rounds):
        for i in range(per_round):
            a.send(eth(BCAST, mac(0x31), b'%d.%d' % (r, i)).ljust(size, b'x'))
        for i in range(per_round):
            m = b.recv(2.0)
            if m in (None, 'eof') or m[0] != FRAME or len(m[1]) != size:
                break
            got += 1
    sent = rounds * per_round
    ok(got == sent, 'a reading port gets all %d frames while another port '
       'reads nothing' % sent, 'got %d' % got)
    rc, out = run_list('stuck')
    drops = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 6 and f[1] in ('sender', 'reader', 'stuck'):
            drops[f[1]] = int(f[-1])
    ok(rc == 0 and drops.get('reader') == 0 and
       drops.get('stuck', 0) > 0,
       'the stuck port\'s frames are dropped and counted, the reader\'s not',
       out)
    growth = rss_kib(d.pid) - rss_before
    ok(growth < 8 * 1024, 'the daemon grew by %d KiB, under 8 MiB, for %d '
       'frames it could not deliver' % (growth, drops.get('stuck', 0)))
    for x in (a, b, c):
        x.close()
    stop(d)


def test_join_burst():
    """More clients than may wait to join at once (16), all arriving while
    the daemon is busy: the extra ones wait in the backlog and join too,
    rather than being accepted and closed, which a starting QEMU would
    take for a refusal."""
    d = start('burst')
    os.kill(d.pid, signal.SIGSTOP)
    clients = [Client('burst', 'vm%d' % i, hello=False) for i in range(24)]
    for i, c in enumerate(clients):
        c.s.send(msg(HELLO, struct.pack('<4sHH', b'VPCN', 1, 0) +
                     struct.pack('!II', 0, 0) +
                     (b'vm%d' % i).ljust(32, b'\0')))
    os.kill(d.pid, signal.SIGCONT)
    joined = 0
    for c in clients:
        c.welcome = c.recv(3.0)
        st = c.status()
        joined += bool(st and st[0] == 0)
        c.close()
    ok(joined == 24, '24 clients arriving at once all join', joined)
    stop(d)


def test_dhcp_off():
    d = start('nodhcp', '--dhcp', 'off')
    a, b, c = (Client('nodhcp', x, flags=DHCP_OFF) for x in 'abc')
    disc = dhcp_frame(mac(1), 1, 0x99)
    a.send(disc)
    fb, fc, fa = b.frames(), c.frames(), a.frames()
    ok(fb == [disc] and fc == [disc] and not fa,
       'with --dhcp off a DISCOVER reaches the other clients untouched',
       (len(fa), len(fb), len(fc)))
    ok(all(x.status()[1] == 0 for x in (a, b, c)),
       'dhcp=off HELLOs match a --dhcp off daemon')
    for x in (a, b, c):
        x.close()
    stop(d)


def test_reserve():
    d = start('resv', '--reserve', '00:03:ff:00:00:07=169.254.9.9',
              '--lease-time', '120')
    c = Client('resv', 'r')
    ok(dhcp_lease(c, 7, 0x77) == ('169.254.9.9', '169.254.9.9'),
       '--reserve: the reserved MAC is offered and given its address')
    rc, out = run_list('resv')
    ok(rc == 0 and 'lease 120 s' in out and
       re.search(r'169\.254\.9\.9 +00:03:ff:00:00:07 +bound +expires in '
                 r'1[0-2][0-9] s +reserved', out),
       '--list shows the lease time and the reserved lease', out)
    c.close()
    stop(d)
    for args, what in ((['--reserve', '00:03:ff:00:00=169.254.9.9'],
                        'MAC=ADDR'),
                       (['--reserve', '00:03:ff:00:00:07=10.0.0.1'],
                        'not a free host of the subnet'),
                       (['--lease-time', '59'], '60 to 31536000')):
        r = subprocess.run([VSWITCH, '--network', 'resv2'] + args, env=ENV,
                           capture_output=True, text=True, timeout=10)
        ok(r.returncode == 1 and what in r.stderr,
           'refused: %s' % ' '.join(args), r.stderr)


def test_idle():
    d = start('idle', '--idle-timeout', '1')
    a = Client('idle', 'a')
    time.sleep(1.5)
    ok(d.poll() is None, 'a daemon with a port does not exit when idle')
    a.close()
    try:
        rc = d.wait(5)
    except subprocess.TimeoutExpired:
        rc = None
    ok(rc == 0 and not os.path.exists(sock_path('idle')),
       'idle for --idle-timeout 1: exits and removes its socket', rc)


def test_daemonize():
    r = subprocess.run([VSWITCH, '--network', 'bg', '--daemonize',
                        '--idle-timeout', '5'], env=ENV, timeout=10)
    try:
        a = Client('bg', 'a')
        st = a.status()
    except OSError as e:
        a, st = None, e
    ok(r.returncode == 0 and st and st[0] == 0,
       '--daemonize returns once the socket accepts ports', (r, st))
    with open(os.path.join(DIR, 'bg.lock')) as f:
        pid = int(f.read().strip() or 0)
    ok(pid and sandboxed(pid),
       'the detached daemon runs locked down (NoNewPrivs 1, Seccomp 2)',
       pid and proc_status(pid))
    again = subprocess.run([VSWITCH, '--network', 'bg', '--daemonize'],
                           env=ENV, timeout=10, capture_output=True)
    ok(again.returncode == 0,
       '--daemonize on a served network leaves it be and exits 0', again)
    with open(os.path.join(DIR, 'bg.lock')) as f:
        pid = int(f.read().strip() or 0)
    if a:
        a.close()
    if pid:
        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + 5
        while time.time() < deadline and os.path.exists(sock_path('bg')):
            time.sleep(0.05)
    ok(pid and not os.path.exists(sock_path('bg')),
       'the daemon named in the lock file exits on SIGTERM', pid)


def test_usage():
    r = subprocess.run([VSWITCH, '--network', '../x'], env=ENV,
                       capture_output=True, text=True, timeout=10)
    ok(r.returncode == 1 and 'bad network name' in r.stderr,
       'a bad network name is refused', r.stderr)
    r = subprocess.run([VSWITCH, '--network', 'none', '--list'], env=ENV,
                       capture_output=True, text=True, timeout=10)
    ok(r.returncode == 1 and 'no qemu-vswitch' in r.stderr,
       '--list without a daemon says so', r.stderr)


def test_none_killed():
    """No daemon of the tests above died of its seccomp filter (SIGSYS)."""
    rcs = [p.poll() for p in procs]
    ok(procs and -signal.SIGSYS not in rcs and None not in rcs,
       'every daemon started here has exited, none by SIGSYS', rcs)


def main():
    try:
        test_usage()
        test_switching()
        test_batching()
        test_stuck_port()
        test_join_burst()
        test_dhcp_off()
        test_reserve()
        test_sighup()
        test_no_sandbox()
        test_idle()
        test_daemonize()
        test_none_killed()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        print('1..%d' % len(results))
        shutil.rmtree(RUNDIR, ignore_errors=True)
    return 0 if all(results) else 1


if __name__ == '__main__':
    sys.exit(main())
