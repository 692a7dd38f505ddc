#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""make bench-nic: iperf3 through dec21140a and the NICs a user would pick
instead (QEMU's tulip, e1000, rtl8139), on the same backend (-netdev
user), in one run, printed side by side with each model's ratio to
dec21140a.  The guest is the test harness's Linux under TCG; the server
is the host's iperf3 on 127.0.0.1, which the guest reaches as 10.0.2.2.

Figures, not a test: nothing here passes or fails on speed.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from guest import Guest, ensure_images   # noqa: E402

MODELS = ['dec21140a', 'tulip', 'e1000', 'rtl8139']


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seconds', type=int, default=10)
    parser.add_argument('--models', default=','.join(MODELS))
    opts = parser.parse_args()

    iperf3 = shutil.which('iperf3')
    if not iperf3:
        sys.exit('bench-nic: the host needs iperf3 (make bench-nic installs it)')
    ensure_images()
    rows = []
    for model in opts.models.split(','):
        port = free_port()
        server = subprocess.Popen([iperf3, '-s', '-B', '127.0.0.1', '-p', str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        try:
            result = Guest(devices=['-device', model + ',netdev=n0',
                                    '-netdev', 'user,id=n0'],
                           scenario='iperf', name='bench-' + model,
                           args={'port': port, 'seconds': opts.seconds},
                           timeout=120 + 4 * opts.seconds).run()
        finally:
            server.terminate()
            server.wait()
        tx = result.values.get('tx.mbps')
        rx = result.values.get('rx.mbps')
        rows.append((model, float(tx) if tx else None, float(rx) if rx else None,
                     result.log_path))

    base = rows[0] if rows and rows[0][0] == 'dec21140a' else None
    print('\nbench-nic: iperf3 over -netdev user, TCG guest, %d s per direction'
          % opts.seconds)
    print('%-10s %12s %12s %12s %12s' % ('model', 'tx Mbit/s', 'rx Mbit/s',
                                        'tx vs dec', 'rx vs dec'))

    def fmt(v):
        return '%.0f' % v if v is not None else 'n/a'

    def ratio(v, b):
        return '%.2f' % (v / b) if v and b else 'n/a'

    for model, tx, rx, log in rows:
        print('%-10s %12s %12s %12s %12s' % (
            model, fmt(tx), fmt(rx),
            ratio(tx, base[1] if base else None), ratio(rx, base[2] if base else None)))
    for model, tx, rx, log in rows:
        if tx is None or rx is None:
            print('  %s: no figure, see %s' % (model, log))
    return 0


if __name__ == '__main__':
    sys.exit(main())
