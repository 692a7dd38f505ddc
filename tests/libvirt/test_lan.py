#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""dec21140a cards on a LAN, from libvirt: -netdev filter-bridge and
-netdev nat from domain XML, and virsh attach-interface onto a Linux
bridge.

The LAN is tests/bridge/fbnet.py's: namespaces of our own holding a LAN
bridge with dnsmasq as its DHCP server (router: the peer), a peer host
and the "host" whose adapter h1 is cabled to the LAN.  In the host
namespace we add a Linux bridge, brlv (10.88.0.1/24), with a dnsmasq of
its own.  libvirtd runs as nobody in the host namespace, in a mount
namespace where /etc/qemu/filter-bridge.conf is overlaid to allow h1, so
the machine's /etc is never touched.  Both helpers are setuid copies in
the LAN's private directory; qemu-bridge-helper reads its ACL relative to
where it is (../etc/qemu/bridge.conf), which allows brlv.  QEMU runs the
filter-bridge helper itself, so qemu.conf turns libvirt's seccomp sandbox
off (its spawn=deny forbids that).  Two domains run side by side:

- xml/filter-bridge.xml, with two changes besides the usual
  (harness.py): ifname=eth0 becomes h1, and helper= names the setuid
  copy (the build tree's helper is not setuid; an installed one is found
  in PREFIX/libexec).  The guest binds tulip, gets a lease from the
  LAN's DHCP server for the MAC libvirt set, and pings the peer (its
  router) and the host's own address on h1.  Then `virsh
  attach-interface DOMAIN bridge brlv --model dec21140a --live`: libvirt
  in session mode runs qemu-bridge-helper (qemu.conf's bridge_helper)
  for the tap; the guest finds the new card, gets a lease from brlv's
  dnsmasq and pings the host there; `virsh detach-interface DOMAIN
  bridge --mac MAC --live` takes it out and the guest sees it go.
- xml/nat.xml as it is: the guest gets 10.0.2.15 from the translator and
  pings its gateway, fetches a page from the LAN's peer (which sees the
  host's address), cannot reach the host's own 127.0.0.1 through the
  gateway (nothing connects), and the host's 127.0.0.1:2222 (in the
  host namespace) reaches the guest's port 22, as does a forward added
  at run time with HMP hostfwd_add.
- Once the domains are shut off, nothing of the filter bridge is left on
  h1.

Prints TAP.
"""

import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# No __pycache__ in the source tree.
sys.dont_write_bytecode = True
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


class HttpServer:
    """python3 -m http.server in a namespace, serving a token file; its
    log (one line per request, the client's address first) is kept."""

    def __init__(self, lan, ns, addr, port, token):
        self.lan = lan
        self.dir = os.path.join(lan.dir, 'www-%s-%d' % (ns, port))
        os.makedirs(self.dir)
        with open(os.path.join(self.dir, 'token'), 'w') as f:
            f.write(token + '\n')
        self.proc = lan.spawn(['ip', 'netns', 'exec', ns, sys.executable, '-u', '-m',
                               'http.server', '--bind', addr, '--directory', self.dir,
                               str(port)])
        if not lan.read_line(self.proc, r'Serving HTTP', 10):
            raise RuntimeError('http.server in %s did not start: %s'
                               % (ns, ' | '.join(getattr(self.proc, 'seen', []))))

    def clients(self):
        """The addresses that made requests so far."""
        while self.lan.read_line(self.proc, r'"GET ', 0.5):
            pass
        return [line.split()[0] for line in getattr(self.proc, 'seen', [])
                if '"GET ' in line]


def shared_networking(tap, daemon, dom, lan, fwd_port):
    """nat.xml: DHCP, the gateway, the LAN through NAT, the host closed,
    the port forward."""
    dom.do('nics')
    macs = harness.domain_macs(dom.live_xml())
    tap.ok(dom.get('eth0.pci') == PCI_21140A and dom.get('eth0.driver') == 'tulip' and
           macs and dom.get('eth0.mac') == macs[0],
           'nat.xml: a dec21140a (tulip) with the MAC libvirt set, %s' % dom.get('eth0.mac'),
           dom.result())
    dom.do('up eth0 10')
    dom.do('lease eth0', timeout=90)
    tap.ok(dom.get('eth0.dhcp') == 'ok' and dom.get('eth0.ip') == '10.0.2.15' and
           dom.get('eth0.dhcp.router') == '10.0.2.2' and dom.get('eth0.dhcp.dns') == '10.0.2.3'
           and dom.get('eth0.ping') == 'ok',
           'nat.xml: lease %s (router %s, DNS %s) from the translator, which answers a ping '
           'of the gateway' % (dom.get('eth0.ip'), dom.get('eth0.dhcp.router'),
                               dom.get('eth0.dhcp.dns')), dom.result())

    peer_web = HttpServer(lan, lan.peer, fbnet.PEER_IP, 8080, 'from-the-lan')
    dom.do('fetch http://%s:8080/token' % fbnet.PEER_IP, timeout=40)
    clients = peer_web.clients()
    tap.ok(dom.get('fetch.body') == 'from-the-lan' and clients == [fbnet.HOST_IP],
           "nat.xml: the guest fetches from the LAN's peer, which sees the host's address "
           '(%s)' % ' '.join(clients), dom.result())

    host_web = HttpServer(lan, lan.host, '127.0.0.1', 8081, 'host-loopback')
    closed = dom.do('fetch http://10.0.2.2:8081/token', timeout=40) != 0
    tap.ok(closed and host_web.clients() == [],
           "nat.xml: the host itself is closed: the gateway does not reach the host's "
           '127.0.0.1, which sees no connection', dom.result())

    token = 'forwarded-%d' % os.getpid()
    dom.do('serve 22 %s' % token)
    fetch = lan.nsrun(lan.host, [sys.executable, '-c',
                                 'import urllib.request, sys; print(urllib.request.urlopen('
                                 'sys.argv[1], timeout=10).read().decode().strip())',
                                 'http://127.0.0.1:%d/token' % fwd_port], check=False)
    tap.equal(fetch.stdout.strip(), token,
              "nat.xml: the host's 127.0.0.1:%d reaches the guest's port 22 (hostfwd)"
              % fwd_port, dom.result())

    # A forward added at run time, as libvirt.rst shows it.
    added = daemon.virsh('qemu-monitor-command', '--hmp', dom.name,
                         'hostfwd_add shared0 tcp:127.0.0.1:%d-:22' % (fwd_port + 1),
                         check=False)
    fetch = lan.nsrun(lan.host, [sys.executable, '-c',
                                 'import urllib.request, sys; print(urllib.request.urlopen('
                                 'sys.argv[1], timeout=10).read().decode().strip())',
                                 'http://127.0.0.1:%d/token' % (fwd_port + 1)], check=False)
    tap.ok(added.returncode == 0 and fetch.stdout.strip() == token,
           'nat.xml: virsh qemu-monitor-command --hmp DOMAIN \'hostfwd_add shared0 ...\' '
           'adds a forward that works', detail=added.stdout + added.stderr + fetch.stdout)


def main():
    tap = Tap()
    fbnet.deps()
    with fbnet.Lan('vpclv') as lan:
        lan.start_dhcp()
        bridge_helper = setup_linux_bridge(lan)
        fwd_port = 2222

        def to_lan(root):
            for arg in root.iter('{%s}arg' % harness.QEMU_NS):
                value = arg.get('value')
                if value.startswith('filter-bridge,'):
                    arg.set('value', value.replace('ifname=eth0', 'ifname=h1')
                            + ',helper=' + lan.helper)

        # QEMU runs the filter-bridge helper itself, which libvirt's
        # sandbox (spawn=deny) forbids: off, as libvirt.rst says.
        with harness.Libvirtd('lan', wrap=lambda argv: lan.wrap(argv, user=None),
                              qemu_conf='bridge_helper = "%s"\nseccomp_sandbox = 0\n'
                              % bridge_helper) as daemon:
            bridged = harness.TestDomain(daemon, 'filter-bridge.xml', memory_mib=256,
                                         edit=to_lan)
            shared = harness.TestDomain(daemon, 'nat.xml', memory_mib=256)
            try:
                harness.start_all([bridged, shared])
            except harness.VirshError as e:
                tap.ok(False, 'virsh define and start of filter-bridge.xml and nat.xml',
                       detail=str(e))
                return tap.done()
            tap.ok(True, 'virsh define and start of filter-bridge.xml and nat.xml')

            def bridge_flow(rec):
                filter_bridge(rec, bridged, harness.domain_macs(bridged.live_xml()), lan)
                attach_to_bridge(rec, daemon, bridged)

            def nat_flow(rec):
                shared_networking(rec, daemon, shared, lan, fwd_port)

            harness.run_flows(tap, [bridge_flow, nat_flow])
            for d in (bridged, shared):
                d.end()
            for d in (bridged, shared):
                r = d.join(60)
                tap.ok(r.rc == 0 and r.qemu_status == 'shut off',
                       '%s: the guest finished and libvirt reports it shut off' % d.name, r)
            started = time.monotonic()
            problems = lan.wait_clean()
            tap.ok(not problems, 'nothing of the filter bridge is left on the adapter '
                   '(%.1f s after)' % (time.monotonic() - started),
                   detail='; '.join(problems))
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
