#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""`make install` into a temporary DESTDIR, then libvirt runs the result.

- `make install DESTDIR=D` (PREFIX=/usr/local) puts the emulator,
  qemu-vswitch, vpcnet-mac, the helpers, QEMU's keymaps, the man pages,
  the docs with the libvirt XML examples and the helpers' ACL files where
  scripts/install.sh says; run as root it also does the privileged step
  (qemu-bridge-helper gets CAP_NET_ADMIN, the filter-bridge helper is
  setuid root), otherwise it prints it.
- The installed emulator finds its data directory (keymaps) relative to
  itself (-L help), and so does one installed with another PREFIX, from
  the same build.
- A domain defined from the installed XML example of the internal
  network, with <emulator> the installed binary, boots and gets a lease
  from the switch daemon QEMU started, the installed qemu-vswitch.

Prints TAP.
"""

import os
import shutil
import subprocess
import sys
import tempfile

# No __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness                                    # noqa: E402
from tap import Tap                               # noqa: E402

REPO = harness.REPO


def make_install(destdir, prefix=None):
    argv = ['make', '-s', '-C', REPO, 'install', 'DESTDIR=' + destdir]
    if prefix:
        argv.append('PREFIX=' + prefix)
    # A make of its own, not a sub-make of `make check` (whose jobserver
    # descriptors do not reach us).
    env = {k: v for k, v in os.environ.items()
           if k not in ('MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'MAKEOVERRIDES')}
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=1800, env=env)


def data_dirs(qemu):
    """QEMU's firmware and data search path (-L help)."""
    proc = subprocess.run([qemu, '-L', 'help'], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=60)
    return [os.path.normpath(d) for d in proc.stdout.split()]


def has_capability(path):
    try:
        return bool(os.getxattr(path, 'security.capability'))
    except OSError:
        return False


def check_files(tap, root, prefix, make_out):
    def path(*parts):
        return os.path.join(root + prefix, *parts)

    programs = ['bin/qemu-system-x86_64', 'bin/qemu-vswitch', 'bin/vpcnet-mac',
                'libexec/qemu-bridge-helper']
    missing = [p for p in programs if not os.access(path(p), os.X_OK)]
    tap.ok(not missing, 'the emulator, qemu-vswitch, vpcnet-mac and qemu-bridge-helper '
           'are installed', detail='missing: %s' % ' '.join(missing))
    keymaps = path('share/qemu/keymaps')
    tap.ok(os.path.isfile(os.path.join(keymaps, 'en-us')) and
           len(os.listdir(keymaps)) > 30, 'keymaps in share/qemu/keymaps')
    pages = ['man1/qemu-vswitch.1', 'man1/vpcnet-mac.1', 'man7/vpcnet.7']
    if os.path.exists(path('libexec/qemu-filter-bridge-helper')):
        pages.append('man8/qemu-filter-bridge-helper.8')
    if os.path.exists(path('bin/vpcnet-nat')):
        pages.append('man1/vpcnet-nat.1')
    bad = []
    for page in pages:
        try:
            with open(path('share/man', page)) as f:
                if '\n.TH ' not in f.read():
                    bad.append(page + ' (no .TH)')
        except OSError:
            bad.append(page)
    tap.ok(not bad, 'man pages %s' % ' '.join(pages), detail='bad: %s' % ' '.join(bad))
    examples = path('share/doc/vpcnet/libvirt')
    emulators = set()
    for name in sorted(os.listdir(examples)) if os.path.isdir(examples) else []:
        root_el = harness.ET.parse(os.path.join(examples, name)).getroot()
        el = root_el.find('./devices/emulator')
        if el is not None:
            emulators.add(el.text)
    tap.ok(emulators == {prefix + '/bin/qemu-system-x86_64'},
           'the installed libvirt examples name %s/bin/qemu-system-x86_64' % prefix,
           detail='they name %s' % sorted(emulators))

    helper = path('libexec/qemu-bridge-helper')
    filter_helper = path('libexec/qemu-filter-bridge-helper')
    if os.geteuid() == 0:
        st = os.stat(helper) if os.path.exists(helper) else None
        tap.ok(st is not None and (has_capability(helper) or
                                   (st.st_uid == 0 and st.st_mode & 0o4000)),
               'qemu-bridge-helper: CAP_NET_ADMIN (or setuid root) given by make install')
        if os.path.exists(filter_helper):
            st = os.stat(filter_helper)
            tap.ok(st.st_uid == 0 and st.st_mode & 0o4000,
                   'qemu-filter-bridge-helper: setuid root given by make install')
    else:
        tap.ok('need, as root:' in make_out and helper in make_out,
               'make install prints the privileged step for root', detail=make_out)
    return filter_helper


def check_acls(tap, root, make_out, filter_helper):
    acls = []
    for line in make_out.splitlines():
        if line.startswith('install: ACLs: '):
            words = line[len('install: ACLs: '):].split()
            acls = [w for w in words if w.startswith('/')]
    want = 2 if os.path.exists(filter_helper) else 1
    ok = len(acls) == want
    for acl in acls:
        try:
            with open(root + acl) as f:
                rules = [ln for ln in f if ln.strip() and not ln.lstrip().startswith('#')]
            ok = ok and rules == []
        except OSError:
            ok = False
    tap.ok(ok, 'ACL files that allow nothing yet: %s' % ' '.join(acls), detail=make_out)


def boot_installed(tap, root, prefix):
    """The installed internal-vm1.xml with the installed emulator: one
    guest on the network is enough to need the firmware, the card and
    the switch daemon, and to get a lease from it."""
    emulator = os.path.join(root + prefix, 'bin', 'qemu-system-x86_64')
    example = os.path.join(root + prefix, 'share/doc/vpcnet/libvirt/internal-vm1.xml')
    # QEMU starts the switch itself only without libvirt's sandbox
    # (spawn=deny); libvirt.rst says so.
    with harness.Libvirtd('install', qemu_conf='seccomp_sandbox = 0\n') as daemon:
        dom = harness.TestDomain(daemon, harness.ET.parse(example).getroot(),
                                 emulator=emulator, memory_mib=256)
        try:
            dom.start()
        except harness.VirshError as e:
            tap.ok(False, 'virsh define and start of the installed internal-vm1.xml, '
                   '<emulator> the installed QEMU', detail=str(e))
            return
        tap.ok(True, 'virsh define and start of the installed internal-vm1.xml, '
               '<emulator> the installed QEMU')
        dom.do('nics')
        dom.do('up eth0 10')
        dom.do('lease eth0', timeout=90)
        tap.ok(dom.get('eth0.driver') == 'tulip' and dom.get('eth0.dhcp') == 'ok' and
               (dom.get('eth0.ip') or '').startswith('169.254.'),
               "the guest's dec21140a gets a lease %s from the internal network"
               % dom.get('eth0.ip'), dom.result())
        switches = []
        for pid in daemon.processes():
            try:
                switches.append(os.readlink('/proc/%d/exe' % pid))
            except OSError:
                pass
        want = os.path.join(root + prefix, 'bin', 'qemu-vswitch')
        tap.ok(want in switches, 'the switch daemon QEMU started is the installed '
               'qemu-vswitch', detail='running: %s' % ' '.join(switches))
        dom.end()
        r = dom.join(60)
        tap.ok(r.rc == 0 and r.qemu_status == 'shut off',
               'the guest finished and libvirt reports it shut off', r)


def main():
    tap = Tap()
    root = tempfile.mkdtemp(prefix='vpcnet-destdir-')
    other = tempfile.mkdtemp(prefix='vpcnet-destdir-opt-')
    # The staged setuid helpers go even if this test is killed.
    sentinel = harness.Sentinel(root, other)
    try:
        # libvirt's QEMU runs as nobody and must reach the installed files.
        os.chmod(root, 0o755)
        proc = make_install(root)
        tap.ok(proc.returncode == 0, 'make install DESTDIR=%s' % root, detail=proc.stdout)
        if proc.returncode != 0:
            return tap.done()
        prefix = '/usr/local'
        filter_helper = check_files(tap, root, prefix, proc.stdout)
        check_acls(tap, root, proc.stdout, filter_helper)
        emulator = os.path.join(root + prefix, 'bin', 'qemu-system-x86_64')
        dirs = data_dirs(emulator)
        tap.ok(os.path.join(root + prefix, 'share', 'qemu') in dirs and
               '/usr/share/seabios' in dirs,
               'the installed QEMU looks for data in its own share/qemu and for firmware '
               "in Debian's directories", detail='-L help: %s' % ' '.join(dirs))

        proc = make_install(other, '/opt/vpcnet')
        dirs = data_dirs(os.path.join(other, 'opt/vpcnet/bin/qemu-system-x86_64'))
        tap.ok(proc.returncode == 0 and
               os.path.join(other, 'opt/vpcnet/share/qemu') in dirs and
               os.path.isfile(os.path.join(other, 'opt/vpcnet/share/qemu/keymaps/en-us')),
               'make install PREFIX=/opt/vpcnet from the same build: that QEMU finds its '
               'data in /opt/vpcnet/share/qemu', detail=proc.stdout + '\n-L help: '
               + ' '.join(dirs))
        # qemu-bridge-helper reads PREFIX/etc/qemu/bridge.conf, relocated
        # like QEMU's data: the installed file must be where it looks.
        probe = subprocess.run([os.path.join(other, 'opt/vpcnet/libexec/qemu-bridge-helper'),
                                '--br=vpcnet-none', '--fd=0'], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        acl = os.path.join(other, 'opt/vpcnet/etc/qemu/bridge.conf')
        tap.ok(os.path.isfile(acl) and 'access denied by acl file' in probe.stdout,
               'the /opt/vpcnet qemu-bridge-helper reads the installed '
               '/opt/vpcnet/etc/qemu/bridge.conf (and it denies)', detail=probe.stdout)

        boot_installed(tap, root, prefix)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(other, ignore_errors=True)
        sentinel.close()
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
