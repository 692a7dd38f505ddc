#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""-netdev internal from domain XML, with a real libvirt.

Two domains on the internal network "lab" boot side by side, each
joining it one of the two documented ways:

- xml/internal-vm1.xml: a libvirt-managed <interface> (libvirt picks its
  PCI slot and MAC) whose frontend <qemu:override> rewires to the
  -netdev internal that <qemu:commandline> adds;
- xml/internal-vm2.xml: card and backend both through
  <qemu:commandline>; libvirt sets no mac=, so the card derives its
  00:03:ff address itself, the one vpcnet-mac predicts.

libvirt runs QEMU under -sandbox on,...,spawn=deny (its default with a
QEMU built with seccomp), so QEMU cannot start the network's switch
itself: as libvirt.rst says, the switch is started beforehand, as the
user QEMU runs as, with --idle-timeout 0 (test_install has QEMU start it,
with libvirt's sandbox off).  Both guests get leases from its DHCP
server (169.254.0.0/16), ping each other, and the switch lists both
ports.

Prints TAP.
"""

import os
import subprocess
import sys

# No __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness                                    # noqa: E402
from tap import Tap                               # noqa: E402

PCI_21140A = '1011:0009 0x20'


def main():
    tap = Tap()
    with harness.Libvirtd('internal') as daemon:
        qemu_vswitch = os.path.join(harness.build_dir(), 'qemu-vswitch')
        switch = daemon.run_as_user([qemu_vswitch, '--network', 'lab', '--idle-timeout', '0',
                                     '--daemonize'], timeout=30)
        tap.ok(switch.returncode == 0, 'qemu-vswitch --network lab --idle-timeout 0 '
               '--daemonize, as the user QEMU runs as', detail=switch.stdout)
        vm1 = harness.TestDomain(daemon, 'internal-vm1.xml', memory_mib=256)
        vm2 = harness.TestDomain(daemon, 'internal-vm2.xml', memory_mib=256)
        doms = [vm1, vm2]
        try:
            harness.start_all(doms)
        except harness.VirshError as e:
            tap.ok(False, 'virsh define and start of internal-vm1.xml and internal-vm2.xml',
                   detail=str(e))
            return tap.done()
        tap.ok(True, 'virsh define and start of internal-vm1.xml and internal-vm2.xml')
        vm1_macs = harness.domain_macs(vm1.live_xml())
        for d in doms:
            d.do('nics')
        for d in doms:
            tap.ok(d.get('nics') == 'eth0' and d.get('eth0.pci') == PCI_21140A and
                   d.get('eth0.driver') == 'tulip',
                   '%s: one dec21140a (1011:0009 rev 0x20) with tulip' % d.name, d.result())
        tap.ok(vm1_macs and vm1.get('eth0.mac') == vm1_macs[0],
               'vm1 (<interface> + <qemu:override>): the MAC libvirt set, %s'
               % vm1.get('eth0.mac'), vm1.result())
        tap.ok((vm2.get('eth0.mac') or '').startswith('00:03:ff:'),
               'vm2 (<qemu:commandline> only): the card derived a Virtual PC MAC, %s'
               % vm2.get('eth0.mac'), vm2.result())
        tool = os.environ.get('VPCNET_MAC') or os.path.join(harness.build_dir(), 'vpcnet-mac')
        vm2_uuid = daemon.virsh('domuuid', vm2.name).stdout.strip()
        try:
            predicted = subprocess.run([tool, '--uuid', vm2_uuid, '--id', 'lab0-nic'],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       text=True).stdout.strip()
        except OSError as e:
            predicted = '%s: %s' % (tool, e.strerror)
        tap.equal(vm2.get('eth0.mac'), predicted,
                  'vm2: vpcnet-mac predicts that address from the UUID and the id lab0-nic',
                  vm2.result())
        for d in doms:
            d.do('up eth0 10')
        for d in doms:
            d.do('lease eth0', timeout=90)
        for d in doms:
            tap.ok(d.get('eth0.dhcp') == 'ok' and
                   (d.get('eth0.ip') or '').startswith('169.254.'),
                   '%s: lease %s from the internal network\'s DHCP server'
                   % (d.name, d.get('eth0.ip')), d.result())
        for src, dst in ((vm1, vm2), (vm2, vm1)):
            peer = dst.get('eth0.ip')
            ok = peer is not None and src.do('ping eth0 %s' % peer, timeout=40) == 0
            tap.ok(ok, '%s pings %s at %s' % (src.name, dst.name, peer), src.result())

        listing = subprocess.run([qemu_vswitch, '--network', 'lab', '--list'],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 env=dict(os.environ, XDG_RUNTIME_DIR=daemon.runtime_dir))
        macs = [vm1.get('eth0.mac'), vm2.get('eth0.mac')]
        tap.ok(listing.returncode == 0 and all(m and m in listing.stdout for m in macs),
               'qemu-vswitch --list: the switch has both ports',
               detail=listing.stdout)

        for d in doms:
            d.end()
        for d in doms:
            r = d.join(60)
            tap.ok(r.rc == 0 and r.qemu_status == 'shut off',
                   '%s: the guest finished and libvirt reports it shut off' % d.name, r)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
