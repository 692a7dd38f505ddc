#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Raw frames and small TCP transfers inside a network namespace, for the
filter-bridge tests (run as `ip netns exec NS python3 fbraw.py ...`).

  send IFACE DST SRC ETHERTYPE PAYLOAD_HEX [COUNT]
        send COUNT (default 1) Ethernet frames from IFACE, as given
  recv IFACE ETHERTYPE SECONDS
        print "got HEX" for each frame of that ethertype (or 802.1Q-tagged
        with it inside) IFACE receives within SECONDS, then "done N"
        (PACKET_OUTGOING copies excluded)
  capture IFACE PATH
        record every frame IFACE sees, both ways, until SIGTERM/SIGINT:
        one line "DIRECTION HEX" each (in/out), flushed as it goes

Frames are shown as on the wire: an 802.1Q tag the kernel moved into
packet metadata on receive is put back in place.
  tcp-serve ADDR PORT
        print "listening", accept one connection, read it to the end,
        answer "got SHA LEN" of what came, and print that line too
  tcp-send ADDR PORT NBYTES
        connect, send NBYTES of random data, shut down writing, print
        "sent SHA LEN" and the server's reply line
  tcp-source ADDR PORT NBYTES
        accept one connection and send NBYTES of random data to it;
        print "listening", then "sent SHA LEN"
  tcp-sink ADDR PORT
        connect, read to the end, print "got SHA LEN"
  http-serve ADDR PORT
        an HTTP server until SIGTERM: GET /blob/N answers N random
        bytes and prints "served SHA N"; POST /upload prints and answers
        "got SHA N" of the body; prints "listening" first

Addresses may be IPv4 or IPv6.
"""

import hashlib
import os
import select
import signal
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40


def mac_bytes(text):
    return bytes(int(x, 16) for x in text.replace('-', ':').split(':'))


def raw_socket(iface, proto=ETH_P_ALL):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(proto))
    s.bind((iface, proto))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    return s


def receive(s):
    """One frame as it was on the wire (an 802.1Q tag the kernel took
    into metadata is put back) and its packet type."""
    data, anc, _, addr = s.recvmsg(65536, 256)
    for level, kind, value in anc:
        if level == SOL_PACKET and kind == PACKET_AUXDATA and len(value) >= 20:
            status = int.from_bytes(value[0:4], 'little')
            tci = int.from_bytes(value[16:18], 'little')
            tpid = int.from_bytes(value[18:20], 'little')
            if status & TP_STATUS_VLAN_VALID:
                if not status & TP_STATUS_VLAN_TPID_VALID:
                    tpid = 0x8100
                data = data[:12] + tpid.to_bytes(2, 'big') + \
                    tci.to_bytes(2, 'big') + data[12:]
    return data, addr[2]


def cmd_send(iface, dst, src, ethertype, payload_hex, count='1'):
    frame = mac_bytes(dst) + mac_bytes(src) + int(ethertype, 16).to_bytes(2, 'big') \
        + bytes.fromhex(payload_hex)
    frame += b'\0' * max(0, 60 - len(frame))
    s = raw_socket(iface)
    for _ in range(int(count)):
        s.send(frame)
        time.sleep(0.01)
    print('sent %d' % int(count), flush=True)


def cmd_recv(iface, ethertype, seconds):
    # ETH_P_ALL: a tagged frame for no VLAN device of ours loses its tag
    # before protocol sockets see it
    proto = int(ethertype, 16).to_bytes(2, 'big')
    s = raw_socket(iface)
    deadline = time.monotonic() + float(seconds)
    print('listening', flush=True)
    n = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        if not select.select([s], [], [], left)[0]:
            continue
        data, pkttype = receive(s)
        if pkttype == PACKET_OUTGOING or (
                data[12:14] != proto and
                not (data[12:14] == b'\x81\x00' and data[16:18] == proto)):
            continue
        n += 1
        print('got %s' % data.hex(), flush=True)
    print('done %d' % n, flush=True)


def cmd_capture(iface, path):
    s = raw_socket(iface)
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    signal.signal(signal.SIGINT, lambda *a: stop.append(1))
    with open(path, 'w') as out:
        print('capturing', flush=True)
        while not stop:
            try:
                if not select.select([s], [], [], 0.2)[0]:
                    continue
                data, pkttype = receive(s)
            except InterruptedError:
                continue
            out.write('%s %s\n' % ('out' if pkttype == PACKET_OUTGOING else 'in',
                                   data.hex()))
            out.flush()


def family(addr):
    return socket.AF_INET6 if ':' in addr else socket.AF_INET


def listen(addr, port):
    srv = socket.socket(family(addr), socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, int(port)))
    srv.listen(1)
    srv.settimeout(60)
    print('listening', flush=True)
    conn, _ = srv.accept()
    conn.settimeout(60)
    return conn


def connect(addr, port):
    deadline = time.monotonic() + 20
    while True:
        try:
            return socket.create_connection((addr, int(port)), timeout=20)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def read_all(conn):
    h = hashlib.sha256()
    n = 0
    while True:
        data = conn.recv(65536)
        if not data:
            return h.hexdigest(), n
        h.update(data)
        n += len(data)


def cmd_tcp_serve(addr, port):
    conn = listen(addr, port)
    sha, n = read_all(conn)
    conn.sendall(('got %s %d\n' % (sha, n)).encode())
    conn.close()
    print('got %s %d' % (sha, n), flush=True)


def cmd_tcp_send(addr, port, nbytes):
    data = os.urandom(int(nbytes))
    conn = connect(addr, port)
    conn.sendall(data)
    conn.shutdown(socket.SHUT_WR)
    reply = conn.recv(200).decode().strip()
    print('sent %s %d' % (hashlib.sha256(data).hexdigest(), len(data)))
    print(reply, flush=True)


def cmd_tcp_source(addr, port, nbytes):
    data = os.urandom(int(nbytes))
    conn = listen(addr, port)
    conn.sendall(data)
    conn.close()
    print('sent %s %d' % (hashlib.sha256(data).hexdigest(), len(data)), flush=True)


def cmd_tcp_sink(addr, port):
    conn = connect(addr, port)
    sha, n = read_all(conn)
    print('got %s %d' % (sha, n), flush=True)


def cmd_http_serve(addr, port):
    import http.server

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            parts = self.path.strip('/').split('/')
            if len(parts) != 2 or parts[0] != 'blob' or not parts[1].isdigit():
                self.send_error(404)
                return
            data = os.urandom(int(parts[1]))
            self.send_response(200)
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            print('served %s %d' % (hashlib.sha256(data).hexdigest(), len(data)),
                  flush=True)

        def do_POST(self):
            n = int(self.headers.get('Content-Length', 0))
            data = b''
            while len(data) < n:
                chunk = self.rfile.read(n - len(data))
                if not chunk:
                    break
                data += chunk
            line = 'got %s %d' % (hashlib.sha256(data).hexdigest(), len(data))
            body = (line + '\n').encode()
            self.send_response(200)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            print(line, flush=True)

        def log_message(self, *args):
            pass

    class Server(http.server.ThreadingHTTPServer):
        address_family = family(addr)

    srv = Server((addr, int(port)), Handler)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    print('listening', flush=True)
    srv.serve_forever()


COMMANDS = {
    'send': cmd_send, 'recv': cmd_recv, 'capture': cmd_capture,
    'tcp-serve': cmd_tcp_serve, 'tcp-send': cmd_tcp_send,
    'tcp-source': cmd_tcp_source, 'tcp-sink': cmd_tcp_sink,
    'http-serve': cmd_http_serve,
}

if __name__ == '__main__':
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](*sys.argv[2:])
