#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Smoke test with real clients: a Linux guest and iPXE each bring up a NIC
on -netdev user, get a DHCP lease from slirp and reach the gateway.

The NIC lists below name QEMU's own devices, which prove the harness; our
dec21140a joins them as one more line each (Linux binds it to "tulip").

Runs standalone (python3 tests/guest/test_smoke.py, QEMU=... to pick the
emulator) or from `make check-guest`; prints TAP.
"""

import ipaddress
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from guest import Guest, Ipxe   # noqa: E402
from tap import Tap             # noqa: E402

SLIRP_NET = ipaddress.ip_network('10.0.2.0/24')
SLIRP_GATEWAY = '10.0.2.2'

# (label, QEMU -device model, Linux driver expected to bind)
LINUX_NICS = [
    ('tulip', 'tulip', 'tulip'),
]

# (label, QEMU -device model) for iPXE's own drivers
IPXE_NICS = [
    ('e1000', 'e1000'),
]


def in_slirp_net(address):
    try:
        return ipaddress.ip_address(address or '') in SLIRP_NET
    except ValueError:
        return False


def check_linux(tap, label, model, driver):
    result = Guest(devices=['-device', model + ',netdev=n0', '-netdev', 'user,id=n0'],
                   scenario='smoke', name='smoke-' + label, timeout=90).run()
    values = result.values
    tap.ok(result.rc == 0, '%s: Linux smoke scenario completed with exit code 0' % label,
           result)
    tap.ok(values.get('dhcp') == 'ok' and in_slirp_net(values.get('ip')),
           '%s: DHCP lease in %s (got %s)' % (label, SLIRP_NET, values.get('ip')), result)
    tap.ok(values.get('ping') == 'ok',
           '%s: ping %s (%s of 3 replies)' % (label, SLIRP_GATEWAY,
                                              values.get('ping.received', 0)), result)
    tap.equal(values.get('driver'), driver, '%s: Linux driver %s bound' % (label, driver),
              result)


def check_ipxe(tap, label, model):
    result = Ipxe(devices=['-device', model + ',netdev=n0', '-netdev', 'user,id=n0'],
                  name='ipxe-' + label, timeout=60).run()
    lease = result.lease or {}
    tap.ok(in_slirp_net(lease.get('ip')) and lease.get('gateway') == SLIRP_GATEWAY,
           '%s: iPXE DHCP lease in %s reported to the host (got %s)'
           % (label, SLIRP_NET, lease.get('ip')), result)
    tap.equal(result.done, 'ok', '%s: iPXE script ran to its end' % label, result)


def main():
    tap = Tap()
    for label, model, driver in LINUX_NICS:
        check_linux(tap, label, model, driver)
    for label, model in IPXE_NICS:
        check_ipxe(tap, label, model)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
