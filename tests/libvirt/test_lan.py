#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Bridged dec21140a cards from libvirt: -netdev filter-bridge from domain
XML, and virsh attach-interface onto a Linux bridge.

The LAN is tests/bridge/fbnet.py's: namespaces of our own holding a LAN
bridge with dnsmasq as its DHCP server (router: the peer), a peer host
and the "host" whose adapter h1 is cabled to the LAN.  In the host
namespace we add a Linux bridge, brlv (10.88.0.1/24), with a dnsmasq of
its own.  libvirtd runs as nobody in the host namespace, in a mount
namespace where /etc/qemu/filter-bridge.conf is overlaid to allow h1, so
the machine's /etc is never touched.  Both helpers are setuid copies in
the LAN's private directory; qemu-bridge-helper reads its ACL relative to
where it is (../etc/qemu/bridge.conf), which allows brlv.

- xml/filter-bridge.xml is defined with two changes besides the usual
  (harness.py): ifname=eth0 becomes h1, and helper= names the setuid
  copy (the build tree's helper is not setuid; an installed one is found
  in PREFIX/libexec).  The guest binds tulip, gets a lease from the
  LAN's DHCP server for the MAC libvirt set, and pings the peer (its
  router) and the host's own address on h1.
- `virsh attach-interface DOMAIN bridge brlv --model dec21140a --live`:
  libvirt in session mode runs qemu-bridge-helper (qemu.conf's
  bridge_helper) for the tap; the guest finds the new card, gets a lease
  from brlv's dnsmasq and pings the host there; `virsh detach-interface
  DOMAIN bridge --mac MAC --live` takes it out and the guest sees it go.
- Once the domain is shut off, nothing of the filter bridge is left on h1.

Prints TAP.
"""

import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'bridge'))

import harness                                    # noqa: E402
import fbnet                                      # noqa: E402
from tap import Tap                               # noqa: E402

PCI_21140A = '1011:0009 0x20'
BRIDGE, BRIDGE_IP, BRIDGE_NET = 'brlv', '10.88.0.1', '10.88.0.'
def setup_linux_bridge(lan):
    """brlv in the host namespace, its dnsmasq, and a setuid
    qemu-bridge-helper allowed brlv; returns the helper's path."""
    lan.nsrun(lan.host, ['ip', 'link', 'add', BRIDGE, 'type', 'bridge'])
    lan.nsrun(lan.host, ['ip', 'addr', 'add', BRIDGE_IP + '/24', 'dev', BRIDGE])
    lan.nsrun(lan.host, ['ip', 'link', 'set', BRIDGE, 'up'])
    helper = os.path.join(lan.dir, 'bin', 'qemu-bridge-helper')
    shutil.copy(os.path.realpath(os.path.join(harness.build_dir(), 'qemu-bridge-helper')),
                helper)
    os.chown(helper, 0, 0)
    os.chmod(helper, 0o4755)
    # qemu-bridge-helper reads its ACL relative to where it is
    # (get_relocated_path of the configured sysconfdir): beside the copy.
    acl_dir = os.path.join(lan.dir, 'etc', 'qemu')
    os.makedirs(acl_dir)
    with open(os.path.join(acl_dir, 'bridge.conf'), 'w') as f:
        f.write('allow %s\n' % BRIDGE)
    leases = os.path.join(lan.dir, 'brlv.leases')
    dnsmasq = lan.spawn(['ip', 'netns', 'exec', lan.host, 'dnsmasq', '--no-daemon',
                         '--conf-file=/dev/null', '--port=0', '--interface=' + BRIDGE,
                         '--bind-interfaces',
                         '--dhcp-range=%s100,%s150,255.255.255.0,1h' % (BRIDGE_NET, BRIDGE_NET),
                         '--dhcp-option=3,' + BRIDGE_IP, '--dhcp-leasefile=' + leases,
                         '--pid-file=' + os.path.join(lan.dir, 'brlv-dnsmasq.pid'),
                         '--user=root'])
    if not lan.read_line(dnsmasq, r'sockets bound|DHCP, IP range', 10):
        raise RuntimeError('dnsmasq on %s did not start: %s'
                           % (BRIDGE, ' | '.join(getattr(dnsmasq, 'seen', []))))
    return helper


def filter_bridge(tap, dom, macs, lan):
    dom.do('nics')
    tap.ok(dom.get('eth0.pci') == PCI_21140A and dom.get('eth0.driver') == 'tulip' and
           macs and dom.get('eth0.mac') == macs[0],
           'filter-bridge.xml: a dec21140a (tulip) with the MAC libvirt set, %s'
           % dom.get('eth0.mac'), dom.result())
    dom.do('up eth0 15')
    tap.equal(dom.get('eth0.carrier'), '1', 'filter-bridge.xml: carrier, the host adapter is up',
              dom.result())
    dom.do('lease eth0', timeout=90)
    ip = dom.get('eth0.ip') or ''
    leased = [lease for lease in lan.leases() if lease[0] == dom.get('eth0.mac')]
    tap.ok(dom.get('eth0.dhcp') == 'ok' and ip.startswith(fbnet.SUBNET + '.') and
           leased and leased[0][1] == ip,
           "filter-bridge.xml: a lease %s from the LAN's DHCP server, for the guest's own MAC"
           % ip, dom.result(), detail='dnsmasq leases: %r' % (lan.leases(),))
    tap.equal(dom.get('eth0.ping'), 'ok',
              'filter-bridge.xml: the guest pings the peer on the LAN (%s)' % fbnet.PEER_IP,
              dom.result())
    host = dom.do('ping eth0 %s' % fbnet.HOST_IP, timeout=40) == 0
    tap.ok(host, "filter-bridge.xml: the guest pings the host's own address on the adapter "
           "(%s)" % fbnet.HOST_IP, dom.result())


def attach_to_bridge(tap, daemon, dom):
    before = harness.domain_macs(dom.live_xml())
    attach = daemon.virsh('attach-interface', dom.name, 'bridge', BRIDGE,
                          '--model', 'dec21140a', '--live', check=False)
    new_mac = next((m for m in harness.domain_macs(dom.live_xml()) if m not in before), None)
    tap.ok(attach.returncode == 0 and new_mac,
           'virsh attach-interface DOMAIN bridge %s --model dec21140a --live (%s)'
           % (BRIDGE, new_mac), detail=attach.stderr + daemon.qemu_log(dom.name)[-800:])
    if not new_mac:
        return
    appeared = dom.do('appear 30', timeout=45) == 0
    new = dom.get('new.iface')
    tap.ok(appeared and dom.get(new + '.pci') == PCI_21140A and
           dom.get(new + '.driver') == 'tulip' and dom.get(new + '.mac') == new_mac,
           'the guest finds the new card (%s): 1011:0009 rev 0x20, tulip, MAC %s'
           % (new, dom.get('%s.mac' % new)), dom.result())
    if not appeared:
        return
    dom.do('up %s 10' % new)
    dom.do('lease %s' % new, timeout=90)
    tap.ok(dom.get(new + '.dhcp') == 'ok' and
           (dom.get(new + '.ip') or '').startswith(BRIDGE_NET) and
           dom.get(new + '.ping') == 'ok',
           'through %s: a lease %s from its dnsmasq, and a ping of the host there'
           % (BRIDGE, dom.get(new + '.ip')), dom.result())
    detach = daemon.virsh('detach-interface', dom.name, 'bridge', '--mac', new_mac, '--live',
                          check=False)
    gone = detach.returncode == 0 and dom.do('vanish %s 30' % new, timeout=45) == 0
    tap.ok(gone and harness.domain_macs(dom.live_xml()) == before,
           'virsh detach-interface DOMAIN bridge --mac MAC --live: the card goes',
           dom.result(), detail=detach.stderr)


def main():
    tap = Tap()
    fbnet.deps()
    with fbnet.Lan('vpclv') as lan:
        lan.start_dhcp()
        bridge_helper = setup_linux_bridge(lan)

        def to_lan(root):
            for arg in root.iter('{%s}arg' % harness.QEMU_NS):
                value = arg.get('value')
                if value.startswith('filter-bridge,'):
                    arg.set('value', value.replace('ifname=eth0', 'ifname=h1')
                            + ',helper=' + lan.helper)

        with harness.Libvirtd('bridge', wrap=lambda argv: lan.wrap(argv, user=None),
                              qemu_conf='bridge_helper = "%s"\n' % bridge_helper) as daemon:
            dom = harness.TestDomain(daemon, 'filter-bridge.xml', memory_mib=256, edit=to_lan)
            try:
                dom.start()
            except harness.VirshError as e:
                tap.ok(False, 'virsh define and start of filter-bridge.xml', detail=str(e)
                       + '\n' + daemon.qemu_log(dom.name)[-2000:])
                return tap.done()
            tap.ok(True, 'virsh define and start of filter-bridge.xml')
            filter_bridge(tap, dom, harness.domain_macs(dom.live_xml()), lan)
            attach_to_bridge(tap, daemon, dom)
            dom.end()
            r = dom.join(60)
            tap.ok(r.rc == 0 and r.qemu_status == 'shut off',
                   'the guest finished and libvirt reports it shut off', r)
            started = time.monotonic()
            problems = lan.wait_clean()
            tap.ok(not problems, 'nothing of the filter bridge is left on the adapter '
                   '(%.1f s after)' % (time.monotonic() - started),
                   detail='; '.join(problems))
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
