#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Servers and clients that netns.py runs inside the test namespaces.

    nsservice.py MODE ARGS...

One program, many small roles, so that a namespace needs nothing but the
Python that runs the tests (no third-party modules).  Servers print
"ready" on stdout once they listen, then one line per event; clients
print one JSON object with what they saw and exit 0 (exit 1 when the
check they make failed, so a shell can tell too).

Servers
  http ADDR PORT DIR        HTTP/1.1 file server (threads, backlog 1024);
                            ADDR "::" is dual-stack
  banner ADDR PORT TEXT     TCP: every accepted connection gets TEXT and
                            is closed; prints "accept PEER"
  udpecho ADDR PORT TEXT    UDP: answers every datagram with TEXT + data
  halfclose ADDR PORT N     TCP: reads until the peer's FIN, then sends
                            "SHA256-OF-WHAT-CAME\\n" and N bytes
                            (pattern()), then closes
  shutfirst ADDR PORT N     TCP: sends N bytes and shuts its write side,
                            then reads until EOF; prints
                            "received LEN SHA256"

Clients
  get HOST PORT PATH SHA256 [N]
                            N connections at once (default 1), each
                            GET PATH; every body checked by sha256
  connect HOST PORT [TIMEOUT]
                            one connect; reports "banner", "refused",
                            "timeout", "reset" or "error" and how long
  udp HOST PORT TEXT [TIMEOUT]
                            one datagram, one answer ("refused" when an
                            ICMP port unreachable comes back)
  halfclose-client HOST PORT N
                            sends N random bytes, shuts its write side,
                            checks the digest and pattern that come back
  shutfirst-client HOST PORT N SEND
                            reads N pattern bytes to EOF, then sends SEND
                            random bytes and closes; prints their digest
  many HOST PORT N [CONNECT_TIMEOUT] [REQUEST_TIMEOUT]
                            opens N connections (at most 512 handshakes
                            in flight; 60 s), prints {"connected": N} and
                            waits for a line on stdin, then sends an HTTP
                            GET on every connection and reads each answer
                            to EOF (30 s; the server is nat-httpd)
"""

import errno
import hashlib
import http.server
import json
import os
import selectors
import socket
import socketserver
import sys
import threading
import time


def pattern(n):
    """n bytes of a fixed pattern both ends can compute."""
    block = bytes(range(256)) * 256
    out = bytearray()
    while len(out) < n:
        out += block[:n - len(out)]
    return bytes(out)


def say(*words):
    print(*words, flush=True)


def family_of(addr):
    return socket.AF_INET6 if ':' in addr else socket.AF_INET


def listener(addr, port, kind=socket.SOCK_STREAM, backlog=1024):
    s = socket.socket(family_of(addr), kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family_of(addr) == socket.AF_INET6 and addr == '::':
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind((addr, port))
    if kind == socket.SOCK_STREAM:
        s.listen(backlog)
    return s


def read_to_eof(sock, limit=1 << 31):
    chunks, total = [], 0
    while total < limit:
        data = sock.recv(1 << 16)
        if not data:
            break
        chunks.append(data)
        total += len(data)
    return b''.join(chunks)


def serve_threads(sock, handler):
    """Accept forever, one thread per connection."""
    say('ready')
    while True:
        conn, peer = sock.accept()
        threading.Thread(target=handler, args=(conn, peer), daemon=True).start()


# ---- servers ----

def mode_http(addr, port, directory):
    class Handler(http.server.SimpleHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def __init__(self, *a, **kw):
            super().__init__(*a, directory=directory, **kw)

        def log_message(self, *args):
            pass

    class Server(http.server.ThreadingHTTPServer):
        address_family = family_of(addr)
        request_queue_size = 1024
        daemon_threads = True

        def server_bind(self):
            if self.address_family == socket.AF_INET6 and addr == '::':
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            socketserver.TCPServer.server_bind(self)

    server = Server((addr, int(port)), Handler)
    say('ready')
    server.serve_forever()


def mode_banner(addr, port, text):
    def handle(conn, peer):
        say('accept %s' % peer[0])
        try:
            conn.sendall(text.encode() + b'\n')
        finally:
            conn.close()
    serve_threads(listener(addr, int(port)), handle)


def mode_udpecho(addr, port, text):
    s = listener(addr, int(port), socket.SOCK_DGRAM)
    say('ready')
    while True:
        data, peer = s.recvfrom(65536)
        say('datagram %s' % peer[0])
        s.sendto(text.encode() + b' ' + data, peer)


def mode_halfclose(addr, port, n):
    reply = pattern(int(n))

    def handle(conn, peer):
        try:
            got = read_to_eof(conn)
            say('halfclose %s received %d' % (peer[0], len(got)))
            # Answer a little after the FIN, not in the same instant: a
            # translator that tears the flow down shortly after the
            # guest's FIN loses what follows.
            time.sleep(0.2)
            conn.sendall(hashlib.sha256(got).hexdigest().encode() + b'\n' + reply)
        finally:
            conn.close()
    serve_threads(listener(addr, int(port)), handle)


def mode_shutfirst(addr, port, n):
    payload = pattern(int(n))

    def handle(conn, peer):
        try:
            conn.sendall(payload)
            conn.shutdown(socket.SHUT_WR)
            got = read_to_eof(conn)
            say('received %d %s' % (len(got), hashlib.sha256(got).hexdigest()))
        finally:
            conn.close()
    serve_threads(listener(addr, int(port)), handle)


# ---- clients ----

def finish(result, good):
    result['ok'] = bool(good)
    print(json.dumps(result), flush=True)
    sys.exit(0 if good else 1)


def http_get_many(host, port, path, n, timeout=60):
    """n connections opened at once, then a GET on each; returns bodies."""
    socks = []
    for _ in range(n):
        s = socket.socket(family_of(host), socket.SOCK_STREAM)
        s.settimeout(timeout)
        socks.append(s)
    errors = []
    host_hdr = '[%s]' % host if ':' in host else host
    request = ('GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n'
               % (path, host_hdr)).encode()
    # Connect all first (threads, so the handshakes overlap), then ask.
    connected = [False] * n

    def connect(i):
        try:
            socks[i].connect((host, int(port)))
            connected[i] = True
        except OSError as e:
            errors.append('connect %d: %s' % (i, e))
    threads = [threading.Thread(target=connect, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    open_at_once = sum(connected)
    bodies = [None] * n

    def fetch(i):
        if not connected[i]:
            return
        try:
            socks[i].sendall(request)
            raw = read_to_eof(socks[i])
            head, _, body = raw.partition(b'\r\n\r\n')
            status = head.split(b'\r\n', 1)[0].decode(errors='replace')
            if ' 200 ' not in status + ' ':
                errors.append('get %d: %s' % (i, status))
                return
            bodies[i] = body
        except OSError as e:
            errors.append('get %d: %s' % (i, e))
        finally:
            socks[i].close()
    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return bodies, open_at_once, errors


def mode_get(host, port, path, want_sha, n='1'):
    n = int(n)
    start = time.monotonic()
    bodies, open_at_once, errors = http_get_many(host, port, path, n)
    good = sum(1 for b in bodies
               if b is not None and hashlib.sha256(b).hexdigest() == want_sha)
    bad_digest = sum(1 for b in bodies
                     if b is not None and hashlib.sha256(b).hexdigest() != want_sha)
    finish({'connections': n, 'open_at_once': open_at_once,
            'correct': good, 'wrong_content': bad_digest,
            'errors': errors[:5], 'error_count': len(errors),
            'seconds': round(time.monotonic() - start, 3)},
           good == n and open_at_once == n)


def mode_connect(host, port, timeout='3'):
    s = socket.socket(family_of(host), socket.SOCK_STREAM)
    s.settimeout(float(timeout))
    start = time.monotonic()
    result = {}
    try:
        s.connect((host, int(port)))
        data = s.recv(4096)
        result = {'result': 'banner' if data else 'closed',
                  'banner': data.decode(errors='replace').strip()}
    except ConnectionRefusedError:
        result = {'result': 'refused'}
    except ConnectionResetError:
        result = {'result': 'reset'}
    except socket.timeout:
        result = {'result': 'timeout'}
    except OSError as e:
        result = {'result': 'error', 'errno': errno.errorcode.get(e.errno, str(e.errno)),
                  'error': str(e)}
    finally:
        s.close()
    result['seconds'] = round(time.monotonic() - start, 3)
    finish(result, result['result'] == 'banner')


def mode_udp(host, port, text, timeout='3'):
    """A connected UDP socket, so that an ICMP port unreachable coming
    back shows as ECONNREFUSED ("refused")."""
    s = socket.socket(family_of(host), socket.SOCK_DGRAM)
    s.settimeout(float(timeout))
    start = time.monotonic()
    try:
        s.connect((host, int(port)))
        s.send(text.encode())
        data = s.recv(65536)
        result = {'result': 'answer', 'answer': data.decode(errors='replace')}
    except ConnectionRefusedError:
        result = {'result': 'refused'}
    except socket.timeout:
        result = {'result': 'timeout'}
    except OSError as e:
        result = {'result': 'error', 'error': str(e)}
    result['seconds'] = round(time.monotonic() - start, 3)
    finish(result, result['result'] == 'answer')


def mode_halfclose_client(host, port, n):
    n = int(n)
    sent = os.urandom(n)
    s = socket.create_connection((host, int(port)), timeout=20)
    s.sendall(sent)
    s.shutdown(socket.SHUT_WR)
    got = read_to_eof(s)
    s.close()
    line, _, rest = got.partition(b'\n')
    digest_ok = line.decode(errors='replace') == hashlib.sha256(sent).hexdigest()
    want = pattern(n)
    finish({'sent': n, 'received': len(rest), 'server_saw_all': digest_ok,
            'reply_intact': rest == want}, digest_ok and rest == want)


def mode_shutfirst_client(host, port, n, send):
    n, send = int(n), int(send)
    s = socket.create_connection((host, int(port)), timeout=20)
    got = read_to_eof(s)
    data = os.urandom(send)
    s.sendall(data)
    s.close()
    finish({'received': len(got), 'intact': got == pattern(n),
            'sent_sha256': hashlib.sha256(data).hexdigest(), 'sent': send},
           got == pattern(n))


def mode_many(host, port, n, connect_timeout='60', request_timeout='30'):
    """N concurrent connections; memory is measured while all are open.
    Opening them and the request round each have their own time limit."""
    n, start = int(n), time.monotonic()
    deadline = start + float(connect_timeout)
    sel = selectors.DefaultSelector()
    pending, established, failed = {}, [], []
    to_open = n
    fam = family_of(host)
    while (to_open or pending) and time.monotonic() < deadline:
        while to_open and len(pending) < 512:
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setblocking(False)
            err = s.connect_ex((host, int(port)))
            if err not in (0, errno.EINPROGRESS):
                failed.append(errno.errorcode.get(err, str(err)))
                s.close()
            else:
                pending[s.fileno()] = s
                sel.register(s, selectors.EVENT_WRITE)
            to_open -= 1
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            sel.unregister(s)
            del pending[s.fileno()]
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                failed.append(errno.errorcode.get(err, str(err)))
                s.close()
            else:
                established.append(s)
    connect_seconds = time.monotonic() - start
    for s in pending.values():          # still opening when time ran out
        sel.unregister(s)
        s.close()
    failed += ['connect timeout'] * len(pending)
    say(json.dumps({'connected': len(established), 'failed': len(failed),
                    'failures': sorted(set(failed))[:5],
                    'seconds': round(connect_seconds, 2)}))
    sys.stdin.readline()
    deadline = time.monotonic() + float(request_timeout)
    # One HTTP request on every connection, all in flight at once; the
    # server (nat-httpd) answers and closes.
    msg = b'GET / HTTP/1.0\r\n\r\n'
    want = {}
    for s in established:
        try:
            s.send(msg)
            want[s.fileno()] = b''
            sel.register(s, selectors.EVENT_READ)
        except OSError as e:
            failed.append('send: %s' % errno.errorcode.get(e.errno, e.errno))
    done = 0
    while want and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except OSError as e:
                failed.append('recv: %s' % errno.errorcode.get(e.errno, e.errno))
                sel.unregister(s)
                del want[s.fileno()]
                continue
            if data:
                want[s.fileno()] += data
                continue
            if want[s.fileno()].startswith(b'HTTP/1.1 200 '):
                done += 1
            else:
                failed.append('no answer before EOF')
            sel.unregister(s)
            del want[s.fileno()]
    if want:
        failed += ['no answer in time'] * len(want)
    for s in established:
        s.close()
    finish({'connections': n, 'established': len(established),
            'connect_seconds': round(connect_seconds, 2),
            'completed': done, 'failed': len(failed),
            'failures': {f: failed.count(f) for f in sorted(set(failed))}}, done == n)


MODES = {'http': mode_http, 'banner': mode_banner, 'udpecho': mode_udpecho,
         'halfclose': mode_halfclose, 'shutfirst': mode_shutfirst,
         'get': mode_get, 'connect': mode_connect,
         'udp': mode_udp, 'halfclose-client': mode_halfclose_client,
         'shutfirst-client': mode_shutfirst_client, 'many': mode_many}


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in MODES:
        sys.exit('usage: nsservice.py MODE ARGS... (modes: %s)' % ' '.join(MODES))
    MODES[sys.argv[1]](*sys.argv[2:])


if __name__ == '__main__':
    main()
