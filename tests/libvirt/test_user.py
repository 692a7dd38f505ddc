#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""dec21140a on libvirt's user-mode interfaces, with a real libvirt.

Domains from the documented XML:

- xml/user.xml: one <interface type='user'><model type='dec21140a'/>.
  Linux binds tulip to PCI 1011:0009 rev 0x20, sees the MAC libvirt
  chose, gets a lease and pings the gateway.  Then a second card is
  plugged in at run time (virsh attach-device xml/hotplug-nic.xml
  --live: PCI hotplug on the pc machine); the guest finds it, binds tulip
  and gets a lease through it; virsh detach-interface takes it out again
  and the guest sees it go.
- xml/user-q35.xml: the same on the q35 machine, where libvirt puts the
  card behind a pcie-root-port and hotplug uses a spare one.
- xml/four-nics.xml: four cards, each its own MAC and subnet; the fourth
  starts with <link state='down'/> and the guest sees no carrier on it
  until virsh domif-setlink brings it up; then the first card's link is
  set down and up again and the guest notices both (Linux's tulip looks
  at the PHY every 3 s while the link is down, every 60 s while it is
  up).
- The Virtual PC MAC scheme (libvirt always passes mac=, so the card never
  derives its 00:03:ff address by itself): xml/vpc-mac.xml gets a UUID of
  our choosing and, in <mac>, what `vpcnet-mac --uuid UUID --id net0`
  prints; the guest has that address, libvirt lists it, DHCP works.
  xml/vpc-mac-override.xml removes libvirt's mac= with <qemu:override>:
  the card derives its address from the domain's UUID and its id net0,
  and it is the one vpcnet-mac predicts (tool and device agree under the
  -uuid and id libvirt passes), while libvirt still lists its own.  The
  tool is $VPCNET_MAC, else $VPCNET_BUILD/vpcnet-mac (build/vpcnet-mac).

All five domains run side by side.  Prints TAP.
"""

import os
import subprocess
import sys
import time
import uuid

# No __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness                                    # noqa: E402
from tap import Tap                               # noqa: E402

PCI_21140A = '1011:0009 0x20'


def check_nic(tap, dom, iface, mac, what):
    """PCI identity, driver and MAC of one card as the guest saw them."""
    r = dom.result()
    tap.equal(dom.get(iface + '.pci'), PCI_21140A,
              '%s: the guest sees PCI 1011:0009 rev 0x20 (%s)' % (what, iface), r)
    tap.equal(dom.get(iface + '.driver'), 'tulip', '%s: Linux binds tulip' % what, r)
    tap.equal(dom.get(iface + '.mac'), mac, '%s: the guest has the MAC libvirt set' % what, r)


def lease_ok(dom, iface, subnet):
    return (dom.get(iface + '.dhcp') == 'ok' and
            (dom.get(iface + '.ip') or '').startswith(subnet) and
            dom.get(iface + '.ping') == 'ok')


def one_nic_and_hotplug(tap, daemon, dom):
    what = dom.xml_name
    macs = harness.domain_macs(dom.live_xml())
    tap.ok(dom.do('nics') == 0 and dom.get('nics') == 'eth0',
           '%s: one Ethernet interface (%s)' % (what, dom.get('nics')), dom.result())
    check_nic(tap, dom, 'eth0', macs[0] if macs else None, what)
    dom.do('up eth0 10')
    dom.do('lease eth0', timeout=90)
    tap.ok(lease_ok(dom, 'eth0', '10.0.2.'),
           '%s: DHCP lease %s from libvirt\'s user network, ping the gateway'
           % (what, dom.get('eth0.ip')), dom.result())

    attach = daemon.virsh('attach-device', dom.name,
                          os.path.join(harness.XML_DIR, 'hotplug-nic.xml'), '--live',
                          check=False)
    macs_after = harness.domain_macs(dom.live_xml())
    new_mac = next((m for m in macs_after if m not in macs), None)
    tap.ok(attach.returncode == 0 and new_mac,
           '%s: virsh attach-device --live of a dec21140a (libvirt gave it %s)'
           % (what, new_mac),
           detail=attach.stderr)
    appeared = dom.do('appear 30', timeout=45) == 0
    new = dom.get('new.iface')
    tap.ok(appeared and new == 'eth1', '%s, hot-plugged: the guest finds a new card (%s)'
           % (what, new), dom.result())
    if not appeared:
        return
    check_nic(tap, dom, new, new_mac, what + ', hot-plugged')
    dom.do('up %s 10' % new)
    dom.do('lease %s' % new, timeout=90)
    tap.ok(lease_ok(dom, new, '10.0.2.'),
           '%s, hot-plugged: DHCP lease %s and ping through the new card'
           % (what, dom.get(new + '.ip')),
           dom.result())

    detach = daemon.virsh('detach-interface', dom.name, 'user', '--mac', new_mac, '--live',
                          check=False)
    tap.ok(detach.returncode == 0, '%s: virsh detach-interface --live of the hot-plugged '
           'card' % what, detail=detach.stderr)
    gone = dom.do('vanish %s 30' % new, timeout=45) == 0
    tap.ok(gone, '%s: the guest sees the card go (%s)' % (what, dom.get(new + '.vanish')),
           dom.result())
    left = harness.domain_macs(dom.live_xml())
    tap.equal(left, macs, '%s: libvirt lists the first card only, again' % what)


def four_nics_and_link(tap, daemon, dom):
    macs = harness.domain_macs(dom.live_xml())
    dom.do('nics')
    ifaces = (dom.get('nics') or '').split()
    tap.equal(ifaces, ['eth0', 'eth1', 'eth2', 'eth3'],
              'four-nics.xml: four Ethernet interfaces', dom.result())
    guest_macs = [dom.get(i + '.mac') for i in ifaces]
    tap.ok(len(ifaces) == 4 and
           all(dom.get(i + '.pci') == PCI_21140A and dom.get(i + '.driver') == 'tulip'
               for i in ifaces),
           'four-nics.xml: all four are 1011:0009 rev 0x20 with tulip', dom.result())
    tap.ok(len(set(guest_macs)) == 4 and guest_macs == macs,
           'four-nics.xml: four distinct MACs, the ones libvirt set, in order: %s'
           % ' '.join(str(m) for m in guest_macs), dom.result(),
           detail='libvirt: %s' % ' '.join(macs))
    if len(ifaces) != 4 or len(macs) != 4:
        return
    for i in ifaces:
        dom.do('up %s 6' % i, timeout=30)
    getlink = daemon.virsh('domif-getlink', dom.name, macs[3], check=False).stdout.split()
    tap.equal(getlink[-1:], ['down'], "libvirt reports the fourth card's link down")
    # Linux shows carrier at "ip link set up", before it has looked; its
    # first media tick, 3 s later, reads the PHY.
    no_carrier = dom.do('carrier eth3 0 10', timeout=30) == 0
    connected = all(dom.do('carrier %s 1 1' % i, timeout=30) == 0 for i in ifaces[:3])
    tap.ok(no_carrier and connected,
           "<link state='down'/>: the guest sees no carrier on the fourth card only",
           dom.result())

    # tulip has just read the PHY and looks again in 60 s while the link
    # is up: pull the first card's cable now, and do the rest meanwhile.
    daemon.virsh('domif-setlink', dom.name, macs[0], 'down')
    pulled = time.monotonic()
    daemon.virsh('domif-setlink', dom.name, macs[3], 'up')
    noticed = dom.do('carrier eth3 1 20', timeout=40) == 0
    tap.ok(no_carrier and noticed,
           'virsh domif-setlink IF up: the guest sees carrier on the fourth card (after %s s)'
           % dom.get('eth3.carrier.seconds'), dom.result())
    for i in ifaces[1:]:
        dom.do('lease %s' % i, timeout=90)
    down = dom.do('carrier eth0 0 75', timeout=100) == 0
    tap.ok(down, 'virsh domif-setlink IF down: the guest loses carrier on the first card '
           '(%.0f s after the command)' % (time.monotonic() - pulled), dom.result())
    daemon.virsh('domif-setlink', dom.name, macs[0], 'up')
    up = dom.do('carrier eth0 1 20', timeout=40) == 0
    tap.ok(down and up, 'virsh domif-setlink IF up: the guest sees carrier again (after %s s)'
           % dom.get('eth0.carrier.seconds'), dom.result())
    dom.do('lease eth0', timeout=90)
    tap.ok(all(lease_ok(dom, i, '10.0.1%d.' % n) for n, i in enumerate(ifaces)),
           'every card gets a lease in its own subnet: %s'
           % ' '.join(str(dom.get(i + '.ip')) for i in ifaces), dom.result())


def vpcnet_mac_tool():
    return os.environ.get('VPCNET_MAC') or os.path.join(harness.build_dir(), 'vpcnet-mac')


def vpcnet_mac(domain_uuid, card_id):
    """What vpcnet-mac prints for a domain's card, or raises RuntimeError."""
    tool = vpcnet_mac_tool()
    try:
        proc = subprocess.run([tool, '--uuid', domain_uuid, '--id', card_id],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    except OSError as e:
        raise RuntimeError('%s: %s' % (tool, e.strerror))
    if proc.returncode != 0:
        raise RuntimeError('%s failed (%d): %s' % (tool, proc.returncode, proc.stderr.strip()))
    return proc.stdout.strip()


def vpc_mac_scheme(tap, daemon, dom):
    scheme_mac = dom.root.find('./devices/interface/mac').get('address')
    dom.do('nics')
    tap.equal(harness.domain_macs(dom.live_xml()), [scheme_mac],
              'vpc-mac.xml: libvirt lists the vpcnet-mac address %s' % scheme_mac)
    tap.equal(dom.get('eth0.mac'), scheme_mac,
              'vpc-mac.xml: the guest has the vpcnet-mac address', dom.result())
    dom.do('up eth0 10')
    dom.do('lease eth0', timeout=90)
    tap.ok(lease_ok(dom, 'eth0', '10.0.2.'),
           'vpc-mac.xml: DHCP lease %s and ping with that address' % dom.get('eth0.ip'),
           dom.result())


def vpc_mac_override(tap, daemon, dom):
    dom.do('nics')
    domain_uuid = daemon.virsh('domuuid', dom.name).stdout.strip()
    try:
        predicted = vpcnet_mac(domain_uuid, 'net0')
    except RuntimeError as e:
        predicted = str(e)
    derived = dom.get('eth0.mac')
    tap.ok(derived is not None and derived == predicted,
           "vpc-mac-override.xml: the card derived %s itself, what vpcnet-mac predicts for "
           "the domain's UUID and id net0" % derived, dom.result(),
           detail='vpcnet-mac: %s' % predicted)
    listed = harness.domain_macs(dom.live_xml())
    tap.ok(listed and listed[0] != derived,
           'vpc-mac-override.xml: libvirt still lists its own %s (the documented caveat)'
           % (listed[0] if listed else None))


def main():
    tap = Tap()
    with harness.Libvirtd('user') as daemon:
        single = harness.TestDomain(daemon, 'user.xml', memory_mib=256)
        q35 = harness.TestDomain(daemon, 'user-q35.xml', memory_mib=256)
        four = harness.TestDomain(daemon, 'four-nics.xml', memory_mib=256)
        doms = [single, q35, four]
        flows = [(one_nic_and_hotplug, single), (one_nic_and_hotplug, q35),
                 (four_nics_and_link, four)]
        scheme_uuid = str(uuid.uuid4())
        try:
            scheme_mac = vpcnet_mac(scheme_uuid, 'net0')
        except RuntimeError as e:
            scheme_mac = None
            tap.ok(False, 'vpcnet-mac prints an address', detail='%s (`make` builds '
                   'build/vpcnet-mac: net/vpcnet/vpcnet-mac.c, scripts/make/dec21140a.mk)'
                   % e)
        if scheme_mac:
            tap.ok(scheme_mac.startswith('00:03:ff:') and len(scheme_mac) == 17,
                   'vpcnet-mac --uuid UUID --id net0 prints a Virtual PC address: %s'
                   % scheme_mac)

            def fill_in(root):
                root.find('uuid').text = scheme_uuid
                root.find('./devices/interface/mac').set('address', scheme_mac)

            scheme = harness.TestDomain(daemon, 'vpc-mac.xml', memory_mib=256, edit=fill_in)
            override = harness.TestDomain(daemon, 'vpc-mac-override.xml', memory_mib=256)
            doms += [scheme, override]
            flows += [(vpc_mac_scheme, scheme), (vpc_mac_override, override)]
        names = ', '.join(d.xml_name for d in doms)
        try:
            harness.start_all(doms)
        except harness.VirshError as e:
            tap.ok(False, 'virsh define and start of %s' % names, detail=str(e))
            return tap.done()
        tap.ok(all(d.state() == 'running' for d in doms),
               'virsh define and start of %s' % names)

        def flow(fn, dom):
            def run(rec):
                fn(rec, daemon, dom)
                dom.end()
                r = dom.join(60)
                rec.ok(r.rc == 0 and r.qemu_status == 'shut off',
                       '%s: the guest finished and libvirt reports it shut off' % dom.name, r)
            run.__name__ = fn.__name__
            return run

        harness.run_flows(tap, [flow(fn, dom) for fn, dom in flows])
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
