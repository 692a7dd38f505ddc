#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A real Linux guest behind -netdev nat (scenarios/nat.sh).

One boot, under -sandbox on, with three cards on three nat netdevs:

- a dec21140a (Linux tulip) on n0, with host-loopback=on and a port
  forward from the host's 127.0.0.1;
- an e1000 on n1, net=10.0.3.0/24, with the defaults: the host closed;
- a virtio-net on n2, net=10.0.4.0/24, host-loopback=on.

Both netdevs read a resolv.conf of ours that names a dnsmasq on a
loopback address, which knows one test name.  The guest checks:

- DHCP: 10.0.2.15 with router 10.0.2.2 and DNS 10.0.2.3 on n0,
  10.0.3.15 on n1, 10.0.4.15 on n2;
- through the virtio-net, which uses a virtio-net header with the nat
  netdev: a 1 MB download, and a 4 MB upload that the guest's TCP hands
  over in TSO frames ("info network" on a monitor socket counts them);
- DNS by name through 10.0.2.3 (the forwarder reaches the loopback
  resolver, which the guest itself could not);
- ping of the gateway (answered by the translator) and of an address
  outside the host: a network namespace of ours behind a veth pair
  (the translator's ICMP socket: a ping socket, or a raw one as root);
- the host's services: a server on 127.0.0.1 is reached through n0's
  gateway (host-loopback=on) and refused through n1's; servers on the
  host's own addresses (the veth's, and the host's first global one)
  are refused through both, and see no connection;
- a forward: the host fetches a token from the guest's httpd through
  127.0.0.1:PORT;
- a 20 MB download, by name, from an HTTP server on the host's
  loopback, checked by sha256.

Everything stays on loopback and in the namespace, which is removed at
the end, as are dnsmasq and the temporary directory.  Prints TAP.
"""

import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from guest import REPO, Guest, ReportServer, free_port   # noqa: E402
from tap import Tap                           # noqa: E402

MAC0 = '00:03:ff:4e:41:01'      # the dec21140a, on n0
MAC1 = '52:54:00:4e:41:02'      # the e1000, on n1
MAC2 = '52:54:00:4e:41:03'      # the virtio-net, on n2
NAME = 'files.vpcnet.test'
FWD_GUEST_PORT = 8080
BLOB_BYTES = 20 << 20
SMALL_BYTES = 1 << 20
UP_BYTES = 4 << 20
SANDBOX = 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny'


def run(*argv):
    subprocess.run(argv, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def first_global_ipv4():
    """The host's first global IPv4 address, or None."""
    out = subprocess.run(['ip', '-4', '-o', 'addr', 'show', 'scope', 'global'],
                         stdout=subprocess.PIPE, text=True).stdout
    for line in out.splitlines():
        words = line.split()
        if 'inet' in words:
            return words[words.index('inet') + 1].split('/')[0]
    return None


class Listener:
    """A TCP server on (addr, port) that counts the connections it gets."""

    def __init__(self, addr, port=0):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, port))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self):
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


class Outside:
    """A network namespace behind a veth pair: an address outside the
    host to ping.  The host's end is one of the host's own addresses."""

    def __init__(self):
        pid = os.getpid()
        base = 4 * (pid % 63)
        self.ns = 'vpcnet-gnat-%d' % pid
        self.veth = 'vgnat%d' % (pid % 100000)
        self.host_addr = '198.51.100.%d' % (base + 1)
        self.addr = '198.51.100.%d' % (base + 2)
        run('ip', 'netns', 'add', self.ns)
        try:
            run('ip', 'link', 'add', self.veth, 'type', 'veth', 'peer', 'name', 'eth0',
                'netns', self.ns)
            run('ip', 'addr', 'add', self.host_addr + '/30', 'dev', self.veth)
            run('ip', 'link', 'set', self.veth, 'up')
            for cmd in (['ip', 'addr', 'add', self.addr + '/30', 'dev', 'eth0'],
                        ['ip', 'link', 'set', 'eth0', 'up'],
                        ['ip', 'link', 'set', 'lo', 'up']):
                run('ip', 'netns', 'exec', self.ns, *cmd)
        except BaseException:
            self.close()
            raise

    def close(self):
        subprocess.run(['ip', 'link', 'del', self.veth], stderr=subprocess.DEVNULL)
        subprocess.run(['ip', 'netns', 'del', self.ns], stderr=subprocess.DEVNULL)


class Resolver:
    """dnsmasq on a loopback address, knowing NAME (as the gateway), and
    a resolv.conf that names it."""

    def __init__(self, tmp):
        self.addr = '127.77.%d.53' % (os.getpid() % 250 + 1)
        self.resolv_conf = os.path.join(tmp, 'resolv.conf')
        with open(self.resolv_conf, 'w') as f:
            f.write('# test_nat.py\nnameserver %s\n' % self.addr)
        self.log = open(os.path.join(REPO, 'build', 'test-logs', 'guest-nat-dnsmasq.log'), 'w')
        self.proc = subprocess.Popen(
            ['dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv',
             '--no-hosts', '--bind-interfaces', '--listen-address=' + self.addr,
             '--port=53', '--address=/%s/10.0.2.2' % NAME, '--log-queries',
             '--log-facility=-', '--pid-file='],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 5
        while not self._listening():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError('dnsmasq did not start (build/test-logs/'
                                   'guest-nat-dnsmasq.log)')
            time.sleep(0.05)

    def _listening(self):
        with socket.socket() as s:
            return s.connect_ex((self.addr, 53)) == 0

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
        self.log.close()


class UploadSink:
    """A TCP server on 127.0.0.1 that takes one connection, reads
    UP_BYTES from it, closes it, and keeps their sha256."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(1)
        self.sock.settimeout(120)
        self.port = self.sock.getsockname()[1]
        self.received = 0
        self.sha256 = None
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        h = hashlib.sha256()
        with conn:
            conn.settimeout(60)
            try:
                while self.received < UP_BYTES:
                    data = conn.recv(min(65536, UP_BYTES - self.received))
                    if not data:
                        break
                    h.update(data)
                    self.received += len(data)
            except OSError:
                pass
        self.sha256 = h.hexdigest()

    def wait(self, timeout):
        self._thread.join(timeout)

    def close(self):
        self.sock.close()


def hmp(path, command, timeout=10):
    """Run one HMP command on the monitor socket at path; its output."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(path)
        buf = b''
        while not buf.endswith(b'(qemu) '):
            buf += s.recv(4096)
        s.sendall(command.encode() + b'\n')
        buf = b''
        while not buf.endswith(b'(qemu) '):
            data = s.recv(4096)
            if not data:
                break
            buf += data
    text = buf.decode(errors='replace').replace('\r', '')
    # The command echoed, then its output, then the next prompt.
    return '\n'.join(text.split('\n')[1:-1])


def fetch_token(port, timeout=10):
    """GET /token from the guest's httpd through the forward."""
    with urllib.request.urlopen('http://127.0.0.1:%d/token' % port, timeout=timeout) as r:
        return r.read().decode().strip()


def main():
    tap = Tap()
    subprocess.run([os.path.join(REPO, 'scripts', 'deps.sh'), 'guest-nat'], check=True,
                   stdout=subprocess.DEVNULL)
    os.makedirs(os.path.join(REPO, 'build', 'test-logs'), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='vpcnet-guest-nat-')
    blob = os.urandom(BLOB_BYTES)
    small = os.urandom(SMALL_BYTES)
    cleanups = [lambda: shutil.rmtree(tmp, ignore_errors=True)]
    try:
        outside = Outside()
        cleanups.append(outside.close)
        resolver = Resolver(tmp)
        cleanups.append(resolver.close)
        lo_server = Listener('127.0.0.1')
        cleanups.append(lo_server.close)
        host_addrs = [outside.host_addr]
        extra = first_global_ipv4()
        if extra and extra != outside.host_addr:
            host_addrs.append(extra)
        host_port = free_port()
        addr_servers = [Listener(a, host_port) for a in host_addrs]
        for s in addr_servers:
            cleanups.append(s.close)
        fwd_port = free_port()
        sink = UploadSink()
        cleanups.append(sink.close)
        monitor = os.path.join(tmp, 'monitor.sock')
        server = ReportServer(files={'/blob': blob, '/small': small}).__enter__()
        cleanups.append(lambda: server.__exit__(None, None, None))

        devices = [
            '-sandbox', SANDBOX,
            '-monitor', 'unix:%s,server=on,wait=off' % monitor,
            '-netdev', 'nat,id=n0,host-loopback=on,resolv-conf=%s,hostfwd=tcp:127.0.0.1:%d-:%d'
            % (resolver.resolv_conf, fwd_port, FWD_GUEST_PORT),
            '-device', 'dec21140a,netdev=n0,mac=' + MAC0,
            '-netdev', 'nat,id=n1,net=10.0.3.0/24,resolv-conf=' + resolver.resolv_conf,
            '-device', 'e1000,netdev=n1,mac=' + MAC1,
            '-netdev', 'nat,id=n2,net=10.0.4.0/24,host-loopback=on,resolv-conf='
            + resolver.resolv_conf,
            '-device', 'virtio-net-pci,netdev=n2,mac=' + MAC2,
        ]
        args = {
            'mac0': MAC0, 'mac1': MAC1, 'mac2': MAC2, 'name': NAME,
            'url': 'http://%s:%d' % (NAME, server.port),
            'url2': 'http://10.0.4.2:%d' % server.port,
            'up_addr': '10.0.4.2', 'up_port': sink.port,
            'lo_port': lo_server.port, 'host_addrs': '+'.join(host_addrs),
            'host_port': host_port, 'outside': outside.addr,
            'fwd_port': FWD_GUEST_PORT,
        }
        tap.diag('host addresses %s, outside %s, resolver %s'
                 % (' '.join(host_addrs), outside.addr, resolver.addr))
        start = time.monotonic()
        g = Guest(devices=devices, scenario='nat', args=args, name='nat', timeout=180,
                  control=True,
                  modules=['tulip', 'e1000', 'virtio_pci', 'virtio_net']).start()
        fwd_got = fwd_error = None
        info = ''
        try:
            if g.wait_result('up', 120):
                sink.wait(30)
                try:
                    info = hmp(monitor, 'info network')
                except OSError as e:
                    info = 'monitor: %s' % e
                g.send('up_checked', 'yes')
            if g.wait_result('fwd.ready', 120):
                try:
                    fwd_got = fetch_token(fwd_port)
                except OSError as e:
                    fwd_error = str(e)
                g.send('fwd_done', 'fetched' if fwd_got else 'failed')
        finally:
            r = g.join(150)
        tap.diag('guest run: %.1fs, download %s s'
                 % (time.monotonic() - start, r.values.get('download.seconds')))
        v = r.values

        tap.equal((v.get('lb.driver'), v.get('cl.driver'), v.get('vio.driver')),
                  ('tulip', 'e1000', 'virtio_net'),
                  'the dec21140a (tulip), the e1000 and the virtio-net, each on a nat '
                  'netdev', r)
        tap.equal((v.get('dhcp0.ip'), v.get('dhcp0.router'), v.get('dhcp0.dns')),
                  ('10.0.2.15', '10.0.2.2', '10.0.2.3'),
                  'DHCP on n0: 10.0.2.15, router 10.0.2.2, DNS 10.0.2.3', r)
        tap.equal((v.get('dhcp0.mask'), v.get('dhcp0.lease')), ('24', '86400'),
                  'DHCP on n0: mask /24, a one-day lease', r)
        tap.equal((v.get('dhcp1.ip'), v.get('dhcp1.router'), v.get('dhcp1.dns')),
                  ('10.0.3.15', '10.0.3.2', '10.0.3.3'),
                  'DHCP on n1 (net=10.0.3.0/24): 10.0.3.15, router .2, DNS .3', r)
        tap.equal((v.get('dhcp2.ip'), v.get('dhcp2.router')), ('10.0.4.15', '10.0.4.2'),
                  'DHCP on n2 (net=10.0.4.0/24) through the virtio-net', r)
        tap.equal((v.get('small'), v.get('small.sha256')),
                  ('ok', hashlib.sha256(small).hexdigest()),
                  'a 1 MB download through the virtio-net, intact', r)
        tap.equal((v.get('up'), sink.received, sink.sha256),
                  ('ok', UP_BYTES, v.get('up.sha256')),
                  'a 4 MB upload through the virtio-net, intact', r)
        m = re.search(r'virtio-net header (\d+) bytes.*from the guest (\d+) TSO frames', info)
        if m:
            tap.diag(m.group(0))
        tap.ok(m is not None and m.group(1) == '12' and int(m.group(2)) > 0,
               'the virtio-net uses a 12-byte header with n2, and the upload came in '
               'TSO frames', r, detail='info network:\n' + info)
        tap.equal(v.get('dns.addr'), '10.0.2.2',
                  'DNS: %s resolved through 10.0.2.3 by the loopback resolver' % NAME, r)
        tap.equal((v.get('gw.ping'), v.get('gw.ping.received')), ('ok', '3'),
                  'ping: the gateway answers', r)
        tap.equal((v.get('outside.ping'), v.get('outside.ping.received')), ('ok', '3'),
                  'ping: %s outside the host answers through the ICMP socket'
                  % outside.addr, r)
        tap.equal(v.get('open.gateway'), 'open',
                  'host-loopback=on: the gateway reaches a server on the host\'s 127.0.0.1', r)
        tap.equal(v.get('closed.gateway'), 'refused',
                  'the host closed by default: the gateway refuses, for the 127.0.0.1 '
                  'server', r)
        tap.equal(lo_server.accepted, 1,
                  'the 127.0.0.1 server saw only the host-loopback connection', r)
        for i, addr in enumerate(host_addrs):
            tap.equal((v.get('closed.%d.cl' % i), v.get('closed.%d.lb' % i)),
                      ('refused', 'refused'),
                      'the host\'s own address %s is refused through both netdevs' % addr, r)
        tap.equal([s.accepted for s in addr_servers], [0] * len(addr_servers),
                  'the servers on the host\'s addresses saw no connection', r)
        tap.ok(fwd_got is not None and fwd_got == v.get('fwd.token'),
               'a forward: the host reached the guest\'s httpd at 127.0.0.1:%d' % fwd_port, r,
               detail='fetched %r (%s), the guest served %r'
               % (fwd_got, fwd_error, v.get('fwd.token')))
        tap.equal((v.get('download'), v.get('download.bytes')), ('ok', str(BLOB_BYTES)),
                  'a 20 MB download by name from the host\'s loopback', r)
        tap.equal(v.get('download.sha256'), hashlib.sha256(blob).hexdigest(),
                  'the download is intact (sha256)', r)
        tap.equal(r.rc, 0, 'the scenario finished cleanly', r)
    finally:
        for c in reversed(cleanups):
            c()
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
