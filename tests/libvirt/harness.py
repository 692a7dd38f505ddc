# SPDX-License-Identifier: GPL-2.0-or-later
"""Drive a real libvirt: a private libvirtd and test guests defined from
the domain XML files the documentation shows.

Theory of operation
-------------------

Libvirtd   Debian's libvirtd 9.0 in session mode, as an unprivileged user
           (nobody when we are root, else ourselves), with HOME and every
           XDG directory in one temporary directory: no systemd, no
           virtlogd (qemu.conf says stdio_handler = "file"), nothing shared
           with the host's libvirt.  virsh talks to it through its socket
           (qemu+unix:///session?socket=...).  On exit every domain is
           destroyed, the daemon is stopped by its pid, and any process
           whose environment still points into the temporary directory
           (a QEMU, a qemu-vswitch the QEMU started) is killed by its pid;
           then the directory goes.  A Sentinel process does the same if
           the test itself is killed.

TestDomain One boot of the Linux test guest (tests/guest) as a libvirt
           domain.  The XML comes from a file in tests/libvirt/xml/, the
           same file docs/system/libvirt.rst includes, and is changed only
           where a test must differ from a user's machine:
             - <emulator> is the QEMU under test;
             - the user's <disk> and <boot> give way to a direct kernel
               boot of the test guest (<kernel>, <initrd>, <cmdline>);
             - two serial ports replace any the file has: ttyS0 a file
               (the console, which carries the guest's VPCNET-RESULT lines)
               and ttyS1 a unix socket libvirt listens on (the control
               channel of tests/guest/lib.sh's host_wait);
             - on_poweroff/on_reboot/on_crash destroy the domain, so a
               finished guest is "shut off";
             - a domain with <qemu:commandline> gets
               <qemu:env name='XDG_RUNTIME_DIR'> pointing at the daemon's
               private runtime directory: libvirt gives QEMU no
               XDG_RUNTIME_DIR, and -netdev internal would otherwise share
               /tmp/vpcnet-UID with anything else running as that user.
           The console file is followed like tests/guest's Console follows
           QEMU's stdout; results, the control channel (send, and do() for
           the "libvirt" scenario's numbered commands) and Result are those
           of tests/guest/guest.py.
"""

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, 'tests', 'guest'))

from guest import (CHANNEL_LINE, DONE_LINE, GUEST_DIR,   # noqa: E402
                   RESULT_LINE, ANSI_ESCAPE, Result, ensure_images)

XML_DIR = os.path.join(HERE, 'xml')
LOG_DIR = os.path.join(REPO, 'build', 'test-logs')
QEMU_NS = 'http://libvirt.org/schemas/domain/qemu/1.0'
ET.register_namespace('qemu', QEMU_NS)

# After VPCNET-DONE the guest powers off and libvirt destroys the domain.
POWEROFF_GRACE = 10


def build_dir():
    return os.environ.get('VPCNET_BUILD') or os.path.join(REPO, 'build')


def emulator_under_test():
    """The QEMU binary the domains run: $QEMU or build/qemu-system-x86_64,
    with symlinks resolved (libvirt caches its probe by path)."""
    qemu = os.environ.get('QEMU') or os.path.join(build_dir(), 'qemu-system-x86_64')
    return os.path.realpath(qemu)


def install_packages():
    """Debian's libvirt (scripts/deps.d/libvirt), when missing."""
    proc = subprocess.run([os.path.join(REPO, 'scripts', 'deps.sh'), 'libvirt'],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise RuntimeError('scripts/deps.sh libvirt failed:\n' + proc.stdout)


class VirshError(RuntimeError):
    pass


# The sentinel's program: wait for the test to end (EOF on the pipe, also
# when the test is killed outright), then kill by pid every process whose
# environment points into one of the directories, and remove them.
_SENTINEL = r"""
import os, shutil, signal, sys, time
fd, dirs = int(sys.argv[1]), sys.argv[2:]
while os.read(fd, 4096):
    pass
markers = [('=' + d + '/').encode() for d in dirs]
for _ in range(20):
    found = []
    for pid in os.listdir('/proc'):
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                with open('/proc/%s/environ' % pid, 'rb') as f:
                    env = f.read()
            except OSError:
                continue
            if any(m in env for m in markers):
                found.append(int(pid))
    if not found:
        break
    for pid in found:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    time.sleep(0.1)
for d in dirs:
    shutil.rmtree(d, ignore_errors=True)
"""


class Sentinel:
    """Cleans up after the test even when it is killed (check.py's timeout
    kills only the test's own process): a process of its own session
    that waits for the test to exit, then kills whatever runs with its
    environment in DIRS and removes DIRS.  After a normal exit it finds
    nothing left to do."""

    def __init__(self, *dirs):
        r, self._w = os.pipe()
        self.proc = subprocess.Popen([sys.executable, '-c', _SENTINEL, str(r)] + list(dirs),
                                     pass_fds=(r,), start_new_session=True,
                                     stdin=subprocess.DEVNULL)
        os.close(r)

    def close(self):
        """Let the sentinel run now and wait for it."""
        if self._w is not None:
            os.close(self._w)
            self._w = None
            self.proc.wait()


class Libvirtd:
    """A private libvirtd in session mode; see the module comment.

        with Libvirtd() as daemon:
            daemon.virsh('list', '--all')

    wrap, when given, turns the daemon's command line into the one to run
    (to start it, and so its QEMUs, in a network namespace); qemu_conf is
    more of qemu.conf (bridge_helper = "...").
    """

    def __init__(self, label='libvirt', wrap=None, qemu_conf=''):
        self.label = label
        self.wrap = wrap
        self.qemu_conf = qemu_conf
        self.dir = None
        self.proc = None
        self.uid = self.gid = None
        self.runtime_dir = None
        self.uri = None
        self.domains = []       # TestDomains started, stopped by close()

    # --- lifetime ------------------------------------------------------

    def __enter__(self):
        install_packages()
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def _start(self):
        if os.geteuid() == 0:
            user = pwd.getpwnam('nobody')
            self.uid, self.gid = user.pw_uid, user.pw_gid
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
        self.dir = tempfile.mkdtemp(prefix='vpcnet-libvirt-')
        os.chmod(self.dir, 0o755)   # traversable: QEMU reads the guest files here
        self.sentinel = Sentinel(self.dir)
        dirs = {'HOME': 'home', 'XDG_CONFIG_HOME': 'config', 'XDG_CACHE_HOME': 'cache',
                'XDG_RUNTIME_DIR': 'run', 'XDG_DATA_HOME': 'data'}
        self.env = {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'LC_ALL': 'C'}
        for var, sub in dirs.items():
            path = os.path.join(self.dir, sub)
            os.mkdir(path, 0o700)
            self.env[var] = path
        self.runtime_dir = self.env['XDG_RUNTIME_DIR']
        os.mkdir(self.path('work'), 0o755)      # consoles, guest images
        os.makedirs(self.path('config', 'libvirt'))
        with open(self.path('config', 'libvirt', 'qemu.conf'), 'w') as f:
            # Without virtlogd (a systemd-socket-activated daemon) QEMU's
            # stdout and file chardevs are plain files.
            f.write('stdio_handler = "file"\n' + self.qemu_conf)
        for root, subdirs, files in os.walk(self.dir):
            for name in [root] + [os.path.join(root, n) for n in subdirs + files]:
                os.chown(name, self.uid, self.gid)
        self.log_path = os.path.join(LOG_DIR, 'libvirtd-%s.log' % self.label)
        os.makedirs(LOG_DIR, exist_ok=True)
        log = open(self.log_path, 'w')
        argv = ['/usr/sbin/libvirtd']
        if os.geteuid() == 0:
            argv = ['setpriv', '--reuid=%d' % self.uid, '--regid=%d' % self.gid,
                    '--clear-groups'] + argv
        if self.wrap:
            argv = self.wrap(argv)
        self.proc = subprocess.Popen(argv, env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        sock = os.path.join(self.runtime_dir, 'libvirt', 'libvirt-sock')
        self.uri = 'qemu+unix:///session?socket=' + sock
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError('libvirtd exited with %s; see %s'
                                   % (self.proc.returncode, self.log_path))
            # `virsh list` answers once the daemon is ready (`virsh
            # version` would probe the stock QEMU, which is not installed).
            if os.path.exists(sock) and self.virsh('list', check=False).returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError('libvirtd did not answer within 30 s; see %s'
                                   % self.log_path)
            time.sleep(0.1)

    def close(self):
        for dom in self.domains:
            dom.stop()
        self.domains = []
        if self.proc is not None and self.proc.poll() is None:
            out = self.virsh('list', '--name', check=False).stdout
            for name in out.split():
                self.virsh('destroy', name, check=False)
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None
        if self.dir:
            self._kill_leftovers()
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
            self.sentinel.close()

    def processes(self):
        """Pids of the processes whose environment points into our
        directory: libvirtd, its QEMUs, the qemu-vswitch daemons they
        started.  Nobody else has our temporary directory."""
        marker = ('=' + self.dir + '/').encode()
        found = []
        for pid in os.listdir('/proc'):
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            try:
                with open('/proc/%s/environ' % pid, 'rb') as f:
                    env = f.read()
            except OSError:
                continue
            if marker in env:
                found.append(int(pid))
        return found

    def _kill_leftovers(self):
        """Kill, by pid, what processes() finds (QEMUs libvirt could not
        destroy, switch daemons)."""
        for _ in range(20):
            found = self.processes()
            if not found:
                return
            for pid in found:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)

    # --- use -----------------------------------------------------------

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def virsh(self, *args, check=True, timeout=120):
        """Run virsh against this daemon; a CompletedProcess (text).  With
        check, a failure raises VirshError carrying virsh's message."""
        argv = ['virsh', '-q', '-c', self.uri] + [str(a) for a in args]
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=timeout,
                              env=dict(os.environ, LC_ALL='C'))
        if check and proc.returncode != 0:
            raise VirshError('virsh %s: %s' % (' '.join(argv[4:]),
                                               (proc.stderr or proc.stdout).strip()))
        return proc

    def qemu_log(self, name):
        """What libvirt logged for domain NAME (QEMU's command line, its
        stderr)."""
        try:
            with open(self.path('cache', 'libvirt', 'qemu', 'log', name + '.log'),
                      errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def run_as_user(self, argv, **kw):
        """Run argv as the daemon's user, with its environment (so the
        clean-up finds what it leaves running); a CompletedProcess."""
        if os.geteuid() == 0:
            argv = ['setpriv', '--reuid=%d' % self.uid, '--regid=%d' % self.gid,
                    '--clear-groups'] + list(argv)
        return subprocess.run(argv, env=self.env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              **kw)

    def give(self, path):
        """Hand a file or directory we created over to the daemon's user."""
        os.chown(path, self.uid, self.gid)


def load_xml(name):
    """Parse tests/libvirt/xml/NAME (the documented file)."""
    return ET.parse(os.path.join(XML_DIR, name)).getroot()


def domain_macs(xml_text):
    """The MAC addresses of a domain's <interface> elements, in order."""
    root = ET.fromstring(xml_text)
    return [m.get('address') for m in root.findall('./devices/interface/mac')]


class _FileConsole:
    """The attributes guest.Result reads from a console."""

    def __init__(self, log_path):
        self.log_path = log_path
        self.lines = []
        self.timed_out = False
        self.exit_status = None
        self.duration = 0.0
        self.error = None


class DomainResult(Result):
    """guest.Result, also for a domain still running (a check made
    between two steps of the "libvirt" scenario)."""

    def __init__(self, console, values, rc, running):
        super().__init__(console, values, rc)
        self.running = running

    def summary(self):
        if self.running:
            return 'domain running, %.1fs after virsh start' % self.duration
        return super().summary()


class TestDomain:
    """The test guest as a libvirt domain (see the module comment).

    daemon     the Libvirtd
    xml        file name in tests/libvirt/xml/, or an Element
    name       the domain's name (default: the file's <name>)
    scenario   tests/guest/scenarios/NAME.sh (default: libvirt, driven
               with do())
    args       vpcnet.args
    emulator   QEMU binary (default: the one under test)
    edit       callable(root) to change the XML further (a test's own MAC)
    """

    def __init__(self, daemon, xml, name=None, scenario='libvirt', args=None,
                 timeout=240, emulator=None, edit=None, memory_mib=None):
        self.daemon = daemon
        self.root = load_xml(xml) if isinstance(xml, str) else xml
        self.xml_name = xml if isinstance(xml, str) else 'domain XML'
        if name:
            self.root.find('name').text = name
        self.name = self.root.find('name').text
        self.scenario = scenario
        self.args = dict(args or {})
        self.timeout = timeout
        self.emulator = emulator or emulator_under_test()
        self.memory_mib = memory_mib
        if edit:
            edit(self.root)
        self.console_path = daemon.path('work', self.name + '.console')
        self.control_path = daemon.path('work', self.name + '.control')
        self.log_path = os.path.join(LOG_DIR, 'libvirt-%s.log'
                                     % re.sub(r'[^\w.-]+', '_', self.name))
        self.values = {}
        self.finished = False
        self._cond = threading.Condition()
        self._outbox = []
        self._channel_ready = False
        self._control_sock = None
        self._thread = None
        self._result = None
        self._stop = threading.Event()
        self._step = 0
        self.console = _FileConsole(self.log_path)

    # --- XML -----------------------------------------------------------

    def kernel_cmdline(self):
        words = ['console=ttyS0', 'quiet', 'panic=-1', 'vpcnet.scenario=' + self.scenario]
        if self.args:
            words.append('vpcnet.args=' + ','.join('%s=%s' % kv for kv in self.args.items()))
        return ' '.join(words)

    def test_xml(self):
        """The documented XML with the test's changes (module comment)."""
        root = self.root
        devices = root.find('devices')
        emulator = devices.find('emulator')
        if emulator is None:
            emulator = ET.SubElement(devices, 'emulator')
        emulator.text = self.emulator
        if self.memory_mib:
            for tag in ('memory', 'currentMemory'):
                el = root.find(tag)
                if el is not None:
                    el.set('unit', 'MiB')
                    el.text = str(self.memory_mib)
        os_el = root.find('os')
        for tag in ('boot', 'kernel', 'initrd', 'cmdline'):
            for el in os_el.findall(tag):
                os_el.remove(el)
        for tag, text in (('kernel', os.path.join(GUEST_DIR, 'vmlinuz')),
                          ('initrd', os.path.join(GUEST_DIR, 'initrd.img')),
                          ('cmdline', self.kernel_cmdline())):
            ET.SubElement(os_el, tag).text = text
        for tag in ('disk', 'serial', 'console'):
            for el in devices.findall(tag):
                devices.remove(el)
        serial = ET.SubElement(devices, 'serial', type='file')
        ET.SubElement(serial, 'source', path=self.console_path)
        ET.SubElement(serial, 'target', port='0')
        serial = ET.SubElement(devices, 'serial', type='unix')
        ET.SubElement(serial, 'source', mode='bind', path=self.control_path)
        ET.SubElement(serial, 'target', port='1')
        for event in ('on_poweroff', 'on_reboot', 'on_crash'):
            el = root.find(event)
            if el is None:
                el = ET.SubElement(root, event)
            el.text = 'destroy'
        cmdline = root.find('{%s}commandline' % QEMU_NS)
        if cmdline is not None:
            for env in cmdline.findall('{%s}env' % QEMU_NS):
                if env.get('name') == 'XDG_RUNTIME_DIR':
                    cmdline.remove(env)
            ET.SubElement(cmdline, '{%s}env' % QEMU_NS, name='XDG_RUNTIME_DIR',
                          value=self.daemon.runtime_dir)
        return ET.tostring(root, encoding='unicode')

    # --- lifetime ------------------------------------------------------

    def define(self):
        ensure_images()
        path = self.daemon.path('work', self.name + '.xml')
        with open(path, 'w') as f:
            f.write(self.test_xml())
        self.daemon.virsh('define', path)

    def start(self):
        """Define and start the domain and follow its console in a thread;
        join() returns the Result."""
        self.define()
        for p in (self.console_path, self.control_path):
            if os.path.exists(p):
                os.unlink(p)
        self._started = time.monotonic()
        try:
            self.daemon.virsh('start', self.name)
        except VirshError as e:
            # QEMU's own words are in libvirt's log of the domain.
            raise VirshError('%s\nlibvirt\'s log of %s ends:\n%s' % (
                e, self.name, self.daemon.qemu_log(self.name)[-1500:]))
        self.daemon.domains.append(self)
        self._thread = threading.Thread(target=self._follow, daemon=True,
                                        name='domain-' + self.name)
        self._thread.start()
        return self

    def run(self):
        return self.start().join()

    def state(self):
        return self.daemon.virsh('domstate', self.name, check=False).stdout.strip()

    def _follow(self):
        deadline = self._started + self.timeout
        done_at = None
        checked = 0.0
        partial = b''
        f = None
        with open(self.log_path, 'w', errors='replace') as log:
            log.write('# libvirt domain %s, console %s\n' % (self.name, self.console_path))
            try:
                while True:
                    now = time.monotonic()
                    if f is None and os.path.exists(self.console_path):
                        f = open(self.console_path, 'rb')
                    data = f.read(65536) if f else b''
                    if data:
                        log.write(data.decode('utf-8', 'replace'))
                        log.flush()
                        partial += data
                        *complete, partial = partial.split(b'\n')
                        for raw in complete:
                            line = ANSI_ESCAPE.sub('', raw.decode('utf-8', 'replace'))
                            line = line.replace('\r', '').rstrip()
                            self.console.lines.append(line)
                            if self._on_line(line) and done_at is None:
                                done_at = now
                        continue
                    if self._stop.is_set():
                        break
                    if now >= deadline:
                        self.console.timed_out = True
                        log.write('\n# harness: timeout after %ds\n' % self.timeout)
                        break
                    if done_at is not None and now > done_at + POWEROFF_GRACE:
                        break
                    # Ended (powered off, destroyed)?  Read what is left first.
                    if now - checked >= 1.0:
                        checked = now
                        if self.state() in ('shut off', 'crashed'):
                            if f is None and os.path.exists(self.console_path):
                                continue    # one more read of what is left
                            if f is None or not f.read(1):
                                break
                            f.seek(-1, os.SEEK_CUR)
                            continue
                    time.sleep(0.1)
            finally:
                if f:
                    f.close()
                if self.state() != 'shut off':
                    self.daemon.virsh('destroy', self.name, check=False)
                    log.write('\n# harness: destroyed the domain\n')
                    self.console.exit_status = 'destroyed by the harness'
                else:
                    self.console.exit_status = 'shut off'

                self.console.duration = time.monotonic() - self._started
                log.write('\n# harness: domain %s after %.1fs\n'
                          % (self.console.exit_status, self.console.duration))
                log.write('# --- libvirt\'s QEMU log ---\n' + self.daemon.qemu_log(self.name))
                with self._cond:
                    if self._control_sock is not None:
                        self._control_sock.close()
                        self._control_sock = None
                    self.finished = True
                    self._cond.notify_all()

    def _on_line(self, line):
        m = RESULT_LINE.search(line)
        if m:
            with self._cond:
                self.values[m.group(1)] = m.group(2).strip()
                self._cond.notify_all()
            return False
        if CHANNEL_LINE.search(line):
            with self._cond:
                self._channel_ready = True
                self._cond.notify_all()
                try:
                    self._flush_outbox()
                except OSError as e:
                    self.console.lines.append('# harness: control port: %s' % e)
            return False
        m = DONE_LINE.search(line)
        if m:
            self.rc = int(m.group(1))
            return True
        return False

    def join(self, timeout=None):
        """Wait for the guest to end (it powers off after its scenario);
        its Result.  The domain stays defined (undefine() removes it)."""
        if self._thread is None:
            raise RuntimeError('domain %s was not started' % self.name)
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join()
        if self._result is None:
            self._result = DomainResult(self.console, dict(self.values),
                                        getattr(self, 'rc', None), False)
        return self._result

    def stop(self):
        """End the boot now: the domain is destroyed, join() returns."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def undefine(self):
        self.daemon.virsh('undefine', self.name, check=False)

    # --- talking to the guest ------------------------------------------

    def send(self, key, value=''):
        """As guest.Guest.send: "key value" to the scenario's host_wait."""
        line = ('%s %s' % (key, value)).rstrip()
        if '\n' in line or not re.match(r'[\w.-]+$', key):
            raise ValueError('cannot send %r' % line)
        with self._cond:
            self._outbox.append(line + '\n')
            if self._channel_ready:
                self._flush_outbox()

    def _flush_outbox(self):
        if self._control_sock is None:
            self._control_sock = socket.socket(socket.AF_UNIX)
            self._control_sock.settimeout(10)
            self._control_sock.connect(self.control_path)
        while self._outbox:
            self._control_sock.sendall(self._outbox.pop(0).encode())

    def wait_result(self, key, timeout):
        """The value KEY once the guest reports it; None on timeout or
        when the guest ends first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while key not in self.values:
                left = deadline - time.monotonic()
                if self.finished or left <= 0:
                    return None
                self._cond.wait(left)
            return self.values[key]

    def wait_channel(self):
        """Wait (up to the boot's timeout) until the scenario listens on
        the control channel; whether it does."""
        with self._cond:
            while not self._channel_ready and not self.finished:
                left = self._started + self.timeout - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return self._channel_ready

    def do(self, command, timeout=60):
        """Run one command of the "libvirt" scenario; its exit code (0 is
        success), or None when the guest did not answer in time.  The
        timeout counts from when the guest is listening: booting (slow
        with several guests on two cores) is the boot timeout's."""
        self.wait_channel()
        self._step += 1
        self.send('do', '%d %s' % (self._step, command))
        rc = self.wait_result('done.%d' % self._step, timeout)
        return None if rc is None else int(rc)

    def end(self):
        """Tell the "libvirt" scenario to finish; the guest powers off."""
        self._step += 1
        self.send('do', '%d end' % self._step)

    def get(self, key, default=None):
        with self._cond:
            return self.values.get(key, default)

    def result(self):
        """A Result of what the guest reported so far (for diagnostics of
        a check made while it runs)."""
        with self._cond:
            running = not self.finished
            if running:
                self.console.duration = time.monotonic() - self._started
            return DomainResult(self.console, dict(self.values), getattr(self, 'rc', None),
                                running)

    def live_xml(self):
        return self.daemon.virsh('dumpxml', self.name).stdout


def start_all(domains):
    """Start several domains (their boots then run in parallel)."""
    for d in domains:
        d.start()
    return domains


class RecordingTap:
    """Stands in for a Tap in a thread: keeps the checks for replay(), so
    that flows on different domains run at once and still print in order."""

    def __init__(self):
        self.calls = []

    def ok(self, condition, *args, **kwargs):
        self.calls.append(('ok', (condition,) + args, kwargs))
        return bool(condition)

    def equal(self, got, want, *args, **kwargs):
        self.calls.append(('equal', (got, want) + args, kwargs))
        return got == want

    def diag(self, *lines):
        self.calls.append(('diag', lines, {}))

    def replay(self, tap):
        for method, args, kwargs in self.calls:
            getattr(tap, method)(*args, **kwargs)


def run_flows(tap, flows):
    """Run callables flow(recording_tap) side by side, then print their
    checks flow by flow.  A flow that raises counts as a failed check."""
    recorders = [RecordingTap() for _ in flows]

    def body(flow, rec):
        try:
            flow(rec)
        except Exception as e:      # noqa: BLE001 - reported as a failure
            rec.ok(False, '%s raised %s' % (getattr(flow, '__name__', 'flow'),
                                            type(e).__name__), detail=str(e))

    threads = [threading.Thread(target=body, args=(f, r), daemon=True)
               for f, r in zip(flows, recorders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for rec in recorders:
        rec.replay(tap)
