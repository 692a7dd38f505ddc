#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The Virtual PC MAC scheme under libvirt, with vpcnet-mac.

libvirt passes mac= for every NIC, so a dec21140a in a libvirt domain
never derives its 00:03:ff address by itself.  Two documented ways back:

- xml/vpc-mac.xml: the domain gets a UUID of our choosing and <mac> the
  address `vpcnet-mac --uuid UUID --id net0` prints; the guest must see
  exactly that address, libvirt must list it, and the card must work
  (DHCP lease).
- xml/vpc-mac-override.xml: <qemu:override> removes libvirt's mac=, the
  card derives its address from the domain's UUID and its id net0, and
  that address must be the one vpcnet-mac predicts (the tool and the
  device agree, under the -uuid and id libvirt passes).

The tool is $VPCNET_MAC, else $VPCNET_BUILD/vpcnet-mac (build/vpcnet-mac,
which `make` links).  Prints TAP.
"""

import os
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness                                    # noqa: E402
from tap import Tap                               # noqa: E402


def vpcnet_mac_tool():
    return os.environ.get('VPCNET_MAC') or os.path.join(harness.build_dir(), 'vpcnet-mac')


def vpcnet_mac(tool, domain_uuid, card_id):
    proc = subprocess.run([tool, '--uuid', domain_uuid, '--id', card_id],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise RuntimeError('%s failed (%d): %s' % (tool, proc.returncode, proc.stderr.strip()))
    return proc.stdout.strip()


def main():
    tap = Tap()
    tool = vpcnet_mac_tool()
    if not os.access(tool, os.X_OK):
        tap.ok(False, 'vpcnet-mac is built', detail='%s is missing: `make` builds it '
               '(net/vpcnet/vpcnet-mac.c, linked by scripts/make/dec21140a.mk)' % tool)
        return tap.done()
    scheme_uuid = str(uuid.uuid4())
    try:
        scheme_mac = vpcnet_mac(tool, scheme_uuid, 'net0')
    except RuntimeError as e:
        tap.ok(False, 'vpcnet-mac prints an address', detail=str(e))
        return tap.done()
    tap.ok(scheme_mac.startswith('00:03:ff:') and len(scheme_mac) == 17,
           'vpcnet-mac --uuid UUID --id net0 prints a Virtual PC address: %s' % scheme_mac)

    def fill_in(root):
        root.find('uuid').text = scheme_uuid
        root.find('./devices/interface/mac').set('address', scheme_mac)

    with harness.Libvirtd('mac') as daemon:
        scheme = harness.TestDomain(daemon, 'vpc-mac.xml', memory_mib=256, edit=fill_in)
        override = harness.TestDomain(daemon, 'vpc-mac-override.xml', memory_mib=256)
        doms = [scheme, override]
        try:
            harness.start_all(doms)
        except harness.VirshError as e:
            tap.ok(False, 'virsh define and start of vpc-mac.xml and vpc-mac-override.xml',
                   detail=str(e))
            return tap.done()
        for d in doms:
            d.do('nics')

        listed = harness.domain_macs(scheme.live_xml())
        tap.equal(listed, [scheme_mac], 'vpc-mac.xml: libvirt lists the vpcnet-mac address')
        tap.equal(scheme.get('eth0.mac'), scheme_mac,
                  'vpc-mac.xml: the guest has the vpcnet-mac address', scheme.result())
        scheme.do('up eth0 10')
        scheme.do('lease eth0', timeout=90)
        tap.ok(scheme.get('eth0.dhcp') == 'ok' and scheme.get('eth0.ping') == 'ok',
               'vpc-mac.xml: DHCP lease %s and ping with that address'
               % scheme.get('eth0.ip'), scheme.result())

        override_uuid = daemon.virsh('domuuid', override.name).stdout.strip()
        try:
            predicted = vpcnet_mac(tool, override_uuid, 'net0')
        except RuntimeError as e:
            predicted = None
            tap.diag(str(e))
        derived = override.get('eth0.mac')
        tap.ok(derived is not None and derived == predicted,
               'vpc-mac-override.xml: the card derived %s itself, what vpcnet-mac predicts '
               'for the domain\'s UUID and id net0' % derived, override.result(),
               detail='vpcnet-mac: %s' % predicted)
        libvirt_idea = harness.domain_macs(override.live_xml())
        tap.ok(libvirt_idea and libvirt_idea[0] != derived,
               'vpc-mac-override.xml: libvirt still lists its own %s (the documented caveat)'
               % (libvirt_idea[0] if libvirt_idea else None))

        for d in doms:
            d.end()
        for d in doms:
            r = d.join(60)
            tap.ok(r.rc == 0 and r.qemu_status == 'shut off',
                   '%s: the guest finished and libvirt reports it shut off' % d.name, r)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
