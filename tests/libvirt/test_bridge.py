#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""-netdev filter-bridge from domain XML, with a real libvirt.

The LAN is tests/bridge/fbnet.py's: namespaces of our own holding a LAN
bridge with dnsmasq as its DHCP server (router: the peer), a peer host
and the "host" whose adapter h1 is cabled to the LAN.  libvirtd runs as
nobody in the host namespace, in a mount namespace where
/etc/qemu/filter-bridge.conf allows h1 (so the machine's /etc is never
touched); its QEMU runs the setuid copy of qemu-filter-bridge-helper
that fbnet makes.

xml/filter-bridge.xml is defined with two changes besides the usual
(harness.py): ifname=eth0 becomes h1, and helper= names that setuid
copy (the build tree's helper is not setuid; an installed one is found
in PREFIX/libexec).  The guest binds tulip, gets a lease from the LAN's
DHCP server for the MAC libvirt set, and pings the peer (its router) and
the host's own address on h1; once the domain is shut off, nothing of
the filter bridge is left on h1.

Prints TAP.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'bridge'))

import harness                                    # noqa: E402
import fbnet                                      # noqa: E402
from tap import Tap                               # noqa: E402

PCI_21140A = '1011:0009 0x20'


def main():
    tap = Tap()
    fbnet.deps()
    with fbnet.Lan('vpclv') as lan:
        lan.start_dhcp()

        def to_lan(root):
            for arg in root.iter('{%s}arg' % harness.QEMU_NS):
                value = arg.get('value')
                if value.startswith('filter-bridge,'):
                    arg.set('value', value.replace('ifname=eth0', 'ifname=h1')
                            + ',helper=' + lan.helper)

        with harness.Libvirtd('filter-bridge',
                              wrap=lambda argv: lan.wrap(argv, user=None)) as daemon:
            dom = harness.TestDomain(daemon, 'filter-bridge.xml', memory_mib=256, edit=to_lan)
            try:
                dom.start()
            except harness.VirshError as e:
                tap.ok(False, 'virsh define and start of filter-bridge.xml', detail=str(e)
                       + '\n' + daemon.qemu_log(dom.name)[-2000:])
                return tap.done()
            tap.ok(True, 'virsh define and start of filter-bridge.xml')
            macs = harness.domain_macs(dom.live_xml())
            dom.do('nics')
            tap.ok(dom.get('eth0.pci') == PCI_21140A and dom.get('eth0.driver') == 'tulip' and
                   macs and dom.get('eth0.mac') == macs[0],
                   'the guest has a dec21140a (tulip) with the MAC libvirt set, %s'
                   % dom.get('eth0.mac'), dom.result())
            dom.do('up eth0 15')
            tap.equal(dom.get('eth0.carrier'), '1', 'carrier: the host adapter is up',
                      dom.result())
            dom.do('lease eth0', timeout=90)
            ip = dom.get('eth0.ip') or ''
            leased = [lease for lease in lan.leases() if lease[0] == dom.get('eth0.mac')]
            tap.ok(dom.get('eth0.dhcp') == 'ok' and ip.startswith(fbnet.SUBNET + '.') and
                   leased and leased[0][1] == ip,
                   "a lease %s from the LAN's DHCP server, for the guest's own MAC" % ip,
                   dom.result(), detail='dnsmasq leases: %r' % (lan.leases(),))
            tap.equal(dom.get('eth0.ping'), 'ok',
                      'the guest pings the peer on the LAN (%s)' % fbnet.PEER_IP, dom.result())
            host = dom.do('ping eth0 %s' % fbnet.HOST_IP, timeout=40) == 0
            tap.ok(host, "the guest pings the host's own address on the adapter (%s)"
                   % fbnet.HOST_IP, dom.result())
            dom.end()
            r = dom.join(60)
            tap.ok(r.rc == 0 and r.qemu_status == 'shut off',
                   'the guest finished and libvirt reports it shut off', r)
            problems = lan.wait_clean()
            tap.ok(not problems, 'nothing of the filter bridge is left on the adapter',
                   detail='; '.join(problems))
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
