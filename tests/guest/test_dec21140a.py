#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Real guests on the dec21140a: Linux's tulip driver and iPXE.

- Linux binds tulip, sees a DS21140 rev 32 (the 21140A), finds the MII PHY
  and sets full duplex from its link partner; DHCP and ping over
  -netdev user; 24 MiB down and 20 MiB up with their sha256 checked.
- Four cards at once, each on its own network, each with a lease.
- Address filtering seen from inside: more than 14 multicast groups put
  the chip in hash mode; joined groups pass, others do not; foreign
  unicast passes only in promiscuous mode.
- The host pulls the cable (QMP set_link) and plugs it back, by the
  NIC's id (what libvirt sends) and by the netdev's; the guest notices
  each.
- A card with no netdev ("Not connected") shows no carrier; one beside it
  with a netdev comes up on the driver's first link check.
- No boot logs tulip_stop_rxtx() failing (the driver's debug messages are
  on, and shown to be).
- iPXE gets a DHCP lease through the card.

Prints TAP.
"""

import hashlib
import http.server
import os
import random
import re
import socket
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from guest import Guest, Ipxe, qmp_connect   # noqa: E402
from tap import Tap             # noqa: E402

GUEST_MAC = '00:03:ff:12:34:56'
# tulip's netdev_dbg() messages, "tulip_stop_rxtx() failed" among them, are
# dynamic debug: switch them on, and tulip_debug=2 adds "tulip_up()" at
# every open, which shows they are on.
TULIP_DEBUG = 'tulip.dyndbg=+p tulip.tulip_debug=2'
DOWNLOAD_BYTES = 24 * 1024 * 1024
UPLOAD_BYTES = 20 * 1024 * 1024


class UploadSink:
    """Accepts one TCP connection, reads exactly UPLOAD_BYTES, answers with
    their sha256 and closes (so the guest's nc ends)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(1)
        self.sock.settimeout(200)
        self.port = self.sock.getsockname()[1]
        self.received = (0, None)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(200)
            digest, got = hashlib.sha256(), 0
            while got < UPLOAD_BYTES:
                chunk = conn.recv(min(1 << 16, UPLOAD_BYTES - got))
                if not chunk:
                    break
                digest.update(chunk)
                got += len(chunk)
            self.received = (got, digest.hexdigest())
            conn.sendall(digest.hexdigest().encode() + b'\n')

    def close(self):
        self.sock.close()
        self.thread.join(5)


class TransferServer(http.server.ThreadingHTTPServer):
    """GET /blob serves DOWNLOAD_BYTES of seeded random data."""

    def __init__(self):
        self.blob = random.Random(21140).randbytes(DOWNLOAD_BYTES)
        self.blob_sha256 = hashlib.sha256(self.blob).hexdigest()
        super().__init__(('127.0.0.1', 0), TransferHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def port(self):
        return self.server_address[1]

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()


class TransferHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = self.server.blob if self.path == '/blob' else b''
        self.send_response(200 if body else 404)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


def user_net(i=0, net=None, nic_id=None):
    opts = 'user,id=n%d' % i + (',net=' + net if net else '')
    nic = 'dec21140a,netdev=n%d' % i + (',id=' + nic_id if nic_id else '')
    return ['-device', nic, '-netdev', opts]


def check_driver_stops(tap, result, what):
    """The driver's stop sequence never failed in this boot."""
    v = result.values
    tap.ok(int(v.get('dmesg.debug') or 0) >= 1,
           '%s: tulip debug messages are on (tulip_up() logged)' % what, result)
    tap.equal(v.get('dmesg.stop_failed'), '0',
              '%s: no "tulip_stop_rxtx() failed" in dmesg' % what, result)


def check_linux_basics(tap):
    sink = UploadSink()
    with TransferServer() as server:
        result = Guest(devices=user_net() + ['-global', 'dec21140a.mac=' + GUEST_MAC],
                       scenario='nic', name='dec21140a-nic', timeout=240,
                       append=TULIP_DEBUG, args={'get': 'http://10.0.2.2:%d/blob' % server.port,
                             'put': '10.0.2.2:%d' % sink.port,
                             'put_mb': UPLOAD_BYTES >> 20}).run()
    sink.close()
    v = result.values
    tap.equal(v.get('driver'), 'tulip', 'Linux binds tulip to the dec21140a', result)
    tap.ok('DS21140 Tulip rev 32' in v.get('chip', ''),
           'Linux names a DS21140 rev 32 (21140A): %r' % v.get('chip'), result)
    tap.ok(GUEST_MAC in v.get('chip', ''), 'the MAC comes from the SROM', result)
    tap.ok(re.search(r'MII transceiver #1 config 3100 status 782d', v.get('mii', '')),
           'Linux finds the MII PHY with link up: %r' % v.get('mii'), result)
    tap.ok('full-duplex' in v.get('duplex', '') and '41e1' in v.get('duplex', ''),
           'Linux sets full duplex from the link partner: %r' % v.get('duplex'), result)
    tap.equal(v.get('carrier'), '1', 'carrier is up', result)
    tap.ok(v.get('dhcp') == 'ok' and v.get('ip', '').startswith('10.0.2.'),
           'DHCP lease over -netdev user (%s)' % v.get('ip'), result)
    tap.equal(v.get('ping'), 'ok', 'ping the gateway', result)
    tap.ok(v.get('get.bytes') == str(DOWNLOAD_BYTES) and
           v.get('get.sha256') == server.blob_sha256,
           '24 MiB download arrives intact (%s bytes)' % v.get('get.bytes'), result)
    up = sink.received
    tap.ok(up[0] == UPLOAD_BYTES and v.get('put.sha256') == up[1] and
           v.get('put.reply') == up[1],
           '20 MiB upload arrives intact (%d bytes)' % up[0], result)
    check_driver_stops(tap, result, 'one card')


def check_four_nics(tap):
    devices = []
    for i in range(4):
        devices += user_net(i, '10.0.%d.0/24' % (10 + i))
    result = Guest(devices=devices, scenario='multi', name='dec21140a-four',
                   timeout=180, append=TULIP_DEBUG).run()
    v = result.values
    tap.equal(v.get('count'), '4', 'four dec21140a cards appear', result)
    macs = set()
    for i in range(4):
        p = 'nic.%d.' % i
        macs.add(v.get(p + 'mac'))
        tap.ok(v.get(p + 'driver') == 'tulip' and v.get(p + 'dhcp') == 'ok' and
               v.get(p + 'ip', '').startswith('10.0.%d.' % (10 + i)) and
               v.get(p + 'ping') == 'ok',
               'card %d: tulip, lease in 10.0.%d.0/24, ping' % (i, 10 + i), result)
    tap.ok(len(macs) == 4 and all(m and m.startswith('00:03:ff:') for m in macs),
           'four distinct 00:03:ff default MACs: %s' % sorted(m or '' for m in macs),
           result)
    check_driver_stops(tap, result, 'four cards')


def hash_index(mac):
    crc = 0xffffffff
    for byte in bytes.fromhex(mac.replace(':', '')):
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0xedb88320 if crc & 1 else 0)
    return crc & 0x1ff


def solicited_node(last24):
    return '33:33:ff:%02x:%02x:%02x' % ((last24 >> 16) & 0xff, (last24 >> 8) & 0xff,
                                        last24 & 0xff)


def check_filtering(tap):
    # Groups the guest joins: fd00::1:N (N read as hex digits by ip),
    # the link-local address's group, all-nodes, IPv4 all-hosts.
    mac = bytes.fromhex(GUEST_MAC.replace(':', ''))
    joined = [solicited_node(0x010000 | int(str(n), 16)) for n in range(1, 21)]
    joined += [solicited_node(int.from_bytes(mac[3:], 'big')),
               '33:33:00:00:00:01', '01:00:5e:00:00:01', 'ff:ff:ff:ff:ff:ff']
    used = {hash_index(g) for g in joined}
    unjoined = next(g for g in ('33:33:ff:%02x:00:00' % i for i in range(0x40, 0x80))
                    if hash_index(g) not in used)
    targets = {'joined': joined[4], 'unjoined': unjoined,
               'foreign': '02:00:00:00:99:01', 'promisc': '02:00:00:00:99:01'}

    host = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    host.bind(('127.0.0.1', 0))
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(('127.0.0.1', 0))
    qemu_port = probe.getsockname()[1]
    probe.close()
    trace = tempfile.NamedTemporaryFile(prefix='dec21140a-filter-', suffix='.trace',
                                        delete=False)
    trace.close()

    def on_line(line):
        m = re.search(r'VPCNET-RESULT ready (\w+)', line)
        if m and m.group(1) in targets:
            dst = bytes.fromhex(targets[m.group(1)].replace(':', ''))
            frame = dst + bytes.fromhex('020000009902') + b'\x88\xb5' + bytes(50)
            for _ in range(10):
                host.sendto(frame, ('127.0.0.1', qemu_port))

    devices = ['-device', 'dec21140a,netdev=n0,mac=' + GUEST_MAC,
               '-netdev', 'socket,id=n0,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d'
               % (host.getsockname()[1], qemu_port),
               '-trace', 'dec21140a_setup_frame,file=' + trace.name]
    result = Guest(devices=devices, scenario='filter', name='dec21140a-filter',
                   timeout=120, on_line=on_line, append=TULIP_DEBUG).run()
    host.close()
    v = result.values
    with open(trace.name) as f:
        setup = f.read()
    os.unlink(trace.name)
    tap.ok(int(v.get('groups', 0)) > 14, 'the guest joined %s multicast groups'
           % v.get('groups'), result)
    tap.ok('filter type 1' in setup, 'Linux switched the chip to hash filtering', result,
           detail=setup.strip().splitlines()[-3:])
    tap.equal(v.get('rx.joined'), '10', 'frames to a joined group arrive', result)
    tap.equal(v.get('rx.unjoined'), '0', 'frames to a group not joined are filtered',
              result)
    tap.equal(v.get('rx.foreign'), '0', "another station's unicast is filtered", result)
    tap.equal(v.get('rx.promisc'), '10', 'in promiscuous mode it arrives', result)
    check_driver_stops(tap, result, 'filtering')


# set_link by the NIC's id (libvirt's domif-setlink sends it), then by
# the netdev's.
LINK_ROUNDS = ['net0', 'n0']


def check_link(tap):
    qmp_path = os.path.join(tempfile.gettempdir(), 'vpcnet-link-%d.qmp' % os.getpid())
    qmp = []                    # connected once the guest is up
    replies = []

    def on_line(line):
        m = re.search(r'VPCNET-RESULT ready (down|up)\.(\d+)', line)
        if m:
            name = LINK_ROUNDS[int(m.group(2))]
            if not qmp:
                qmp.append(qmp_connect(qmp_path))
            replies.append((name, m.group(1),
                            qmp[0].cmd_raw('set_link', {'name': name,
                                                        'up': m.group(1) == 'up'})))

    result = Guest(devices=user_net(nic_id='net0') +
                   ['-qmp', 'unix:%s,server=on,wait=off' % qmp_path],
                   scenario='link', name='dec21140a-link', timeout=300,
                   args={'rounds': len(LINK_ROUNDS)}, append=TULIP_DEBUG,
                   on_line=on_line).run()
    for q in qmp:
        q.close()
    v = result.values
    tap.equal(v.get('carrier.initial'), '1', 'the link starts up', result)
    tap.ok(len(replies) == 2 * len(LINK_ROUNDS) and
           all('return' in r for _, _, r in replies),
           'QMP set_link off, then on, by %s' % ' then by '.join(LINK_ROUNDS),
           result, detail=replies)
    for r, name in enumerate(LINK_ROUNDS):
        what = 'the NIC' if name == 'net0' else 'the netdev'
        tap.equal(v.get('carrier.down.%d' % r), 'ok',
                  'set_link %s off (%s): the guest notices the cable pulled '
                  '(after %s s)' % (name, what, v.get('down.seconds.%d' % r)), result)
        tap.equal(v.get('carrier.up.%d' % r), 'ok',
                  'set_link %s on (%s): the guest notices the cable plugged back '
                  '(after %s s)' % (name, what, v.get('up.seconds.%d' % r)), result)
    check_driver_stops(tap, result, 'link changes')


def carrier_changes(text):
    """"1@70 0@3050" -> [(1, 70), (0, 3050)]."""
    changes = []
    for item in (text or '').split():
        value, _, ms = item.partition('@')
        changes.append((int(value), int(ms)))
    return changes


def check_not_connected(tap):
    """Two cards: nic.0 on -netdev user, nic.1 with no netdev at all.
    Linux shows carrier on both as soon as they are up, before it has
    looked; its first media tick, 3 s later, takes it off the second."""
    devices = ['-device', 'dec21140a,netdev=n0,addr=05.0', '-netdev', 'user,id=n0',
               '-device', 'dec21140a,addr=06.0']
    result = Guest(devices=devices, scenario='carrier', name='dec21140a-carrier',
                   timeout=120, append=TULIP_DEBUG, args={'seconds': 12}).run()
    v = result.values
    tap.equal(v.get('count'), '2', 'two cards, one not connected', result)
    connected = carrier_changes(v.get('nic.0.changes'))
    unplugged = carrier_changes(v.get('nic.1.changes'))
    tap.ok(connected and connected[-1][0] == 1 and
           all(value == 1 for value, _ in connected) and v.get('nic.0.carrier') == '1',
           'the connected card has carrier from ip link set up on (%s)'
           % v.get('nic.0.changes'), result)
    drop = next((ms for value, ms in unplugged if value == 0), None)
    tap.ok(unplugged and unplugged[-1][0] == 0 and v.get('nic.1.carrier') == '0' and
           drop is not None and drop <= 6000,
           'the "Not connected" card has no carrier from the first media tick on '
           '(%s ms after ip link set up; changes %s)' % (drop, v.get('nic.1.changes')),
           result)
    check_driver_stops(tap, result, 'not connected')


def check_ipxe(tap):
    result = Ipxe(devices=user_net(), name='ipxe-dec21140a', timeout=90).run()
    lease = result.lease or {}
    tap.ok((lease.get('ip') or '').startswith('10.0.2.') and lease.get('gateway') == '10.0.2.2',
           'iPXE gets a DHCP lease through the dec21140a (%s, chip %s)'
           % (lease.get('ip'), lease.get('chip')), result)
    tap.equal(result.done, 'ok', 'iPXE script ran to its end', result)


def main():
    tap = Tap()
    check_linux_basics(tap)
    check_four_nics(tap)
    check_filtering(tap)
    check_link(tap)
    check_not_connected(tap)
    check_ipxe(tap)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
