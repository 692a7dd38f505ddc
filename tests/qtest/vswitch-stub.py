#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A stand-in for qemu-vswitch, for testing -netdev internal without the
# real daemon: it speaks the port protocol of
# docs/interop/vpcnet-vswitch-protocol.rst, answers HELLO with WELCOME and
# floods every frame to every other joined port (no learning, no DHCP).
# It takes qemu-vswitch's command line, so helper=PATH can start it.
#
# By default it does not agree to batching, whatever the HELLO asks, so
# a client behind it takes its one-FRAME-per-frame path.  With --batch
# it agrees when asked (VSW_WELCOME_BATCH), and then sends batched ports
# FRAMES (a FRAME's frame, or a FRAMES as it came) and unbatched ports
# one FRAME per frame, as qemu-vswitch does.
#
#   vswitch-stub.py --network NAME [--daemonize] [--dhcp off]
#                   [--dhcp-start A --dhcp-end B]
#                   [--welcome-status N] [--config-differs] [--refuse-dup]
#                   [--batch | --no-batch] [--log FILE]

import argparse
import fcntl
import os
import select
import socket
import struct
import sys

FRAME, HELLO, WELCOME, REFUSED, FRAMES = 0, 1, 2, 3, 4
DUP_WARN, HELLO_BATCH = 1 << 1, 1 << 2
WELCOME_BATCH = 1 << 1


def socket_path(network):
    run = os.environ.get('XDG_RUNTIME_DIR')
    if run:
        d = os.path.join(run, 'vpcnet')
    elif os.geteuid() == 0:
        d = '/run/vpcnet'
    else:
        d = '/tmp/vpcnet-%d' % os.geteuid()
    os.makedirs(d, mode=0o700, exist_ok=True)
    return os.path.join(d, network + '.sock')


def msg(mtype, payload):
    return struct.pack('<BBH', mtype, 0, len(payload)) + payload


def unpack_frames(payload):
    """The frames of a FRAMES payload, or None when it is malformed."""
    out, off = [], 0
    while off < len(payload):
        if len(payload) - off < 2:
            return None
        n = struct.unpack_from('<H', payload, off)[0]
        if not 14 <= n <= 9018 or off + 2 + n > len(payload):
            return None
        out.append(payload[off + 2:off + 2 + n])
        off += 2 + n
    return out or None


class Port:
    def __init__(self, conn, port_id):
        self.conn = conn
        self.port_id = port_id
        self.joined = False
        self.mac = None
        self.dup_warn = False
        self.batch = False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--network', required=True)
    ap.add_argument('--daemonize', action='store_true')
    ap.add_argument('--dhcp')
    ap.add_argument('--dhcp-start')
    ap.add_argument('--dhcp-end')
    ap.add_argument('--welcome-status', type=int, default=0)
    ap.add_argument('--config-differs', action='store_true')
    ap.add_argument('--refuse-dup', action='store_true')
    ap.add_argument('--batch', action='store_true',
                    help='agree to batching (FRAMES) when asked')
    ap.add_argument('--no-batch', dest='batch', action='store_false',
                    help='never agree to batching (the default)')
    ap.add_argument('--log')
    args = ap.parse_args()

    log = open(args.log, 'a', buffering=1) if args.log else sys.stderr
    path = socket_path(args.network)
    # One switch per network, like qemu-vswitch: a second one bows out.
    lock = open(path[:-len('.sock')] + '.lock', 'w')
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        print('stub: network %s already served' % args.network, file=log)
        sys.exit(0)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    lsock.bind(path)
    os.chmod(path, 0o600)
    lsock.listen(16)
    print('stub: listening on %s argv=%s' % (path, sys.argv[1:]), file=log)

    if args.daemonize:
        # The parent exits 0 once the socket listens, like qemu-vswitch.
        if os.fork() > 0:
            os._exit(0)
        os.setsid()
    # Tests stop the switch by the pid it leaves beside its socket and,
    # as qemu-vswitch does, in the lock file it holds.
    lock.seek(0)
    lock.truncate()
    lock.write('%d\n' % os.getpid())
    lock.flush()
    with open(path[:-len('.sock')] + '.pid', 'w') as f:
        f.write('%d\n' % os.getpid())
        # Let go of QEMU's stdio, or a pipe on it never sees EOF.
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)

    ports = {}
    next_id = 1
    while True:
        rl, _, _ = select.select([lsock] + [p.conn for p in ports.values()],
                                 [], [])
        for r in rl:
            if r is lsock:
                conn, _ = lsock.accept()
                ports[conn.fileno()] = Port(conn, next_id)
                next_id += 1
                continue
            port = ports[r.fileno()]
            try:
                data = r.recv(65540)
            except OSError:
                data = b''
            if not data:
                print('stub: port %d left' % port.port_id, file=log)
                del ports[r.fileno()]
                r.close()
                continue
            mtype, _, length = struct.unpack_from('<BBH', data)
            payload = data[4:]
            if length != len(payload):
                print('stub: bad length', file=log)
                continue
            if mtype == HELLO:
                magic, ver, flags, start, end, label = struct.unpack(
                    '<4sHHII32s', payload)
                port.dup_warn = bool(flags & DUP_WARN)
                port.batch = args.batch and bool(flags & HELLO_BATCH)
                print('stub: HELLO %s v%d flags %#x label %s' %
                      (magic, ver, flags, label.rstrip(b'\0').decode()),
                      file=log)
                status = args.welcome_status
                wflags = 1 if args.config_differs else 0
                if port.batch:
                    wflags |= WELCOME_BATCH
                text = b'' if status == 0 else b'stub says no'
                r.send(msg(WELCOME, struct.pack('<HHI', status, wflags,
                                                port.port_id) + text))
                if status:
                    del ports[r.fileno()]
                    r.close()
                else:
                    port.joined = True
            elif mtype in (FRAME, FRAMES) and port.joined:
                if mtype == FRAMES:
                    frames = unpack_frames(payload) if port.batch else None
                    if frames is None:
                        print('stub: port %d: bad FRAMES, closing' %
                              port.port_id, file=log)
                        del ports[r.fileno()]
                        r.close()
                        continue
                else:
                    frames = [payload]
                src = frames[0][6:12]
                if port.mac is None:
                    port.mac = src
                    dup = [p for p in ports.values()
                           if p is not port and p.mac == src]
                    if dup and args.refuse_dup and not port.dup_warn:
                        print('stub: refusing port %d, dup MAC' %
                              port.port_id, file=log)
                        r.send(msg(REFUSED, struct.pack('<H', 3) +
                                   b'MAC in use by another port'))
                        del ports[r.fileno()]
                        r.close()
                        continue
                batched = msg(FRAMES, b''.join(struct.pack('<H', len(f)) + f
                                               for f in frames))
                for p in ports.values():
                    if p is not port and p.joined:
                        out = ([batched] if p.batch else
                               [msg(FRAME, f) for f in frames])
                        try:
                            for m in out:
                                p.conn.send(m, socket.MSG_DONTWAIT)
                        except OSError:
                            pass


if __name__ == '__main__':
    main()
