# SPDX-License-Identifier: GPL-2.0-or-later
"""Boot real network clients under QEMU (TCG) and collect what they report.

Two clients:

Guest   the Linux test guest built by build-guest.sh (Debian kernel, busybox
        initramfs).  Its /init runs /scenarios/NAME.sh and prints
        "VPCNET-RESULT <key> <value>" lines, then "VPCNET-DONE <rc>", on the
        serial console, and powers off.  run() returns a Result whose .values
        holds the results and .rc the scenario's exit code.

Ipxe    Debian's iPXE (ipxe.lkrn, booted as a kernel) running an iPXE
        script given as the initrd.  The script proves what it achieved by
        fetching URLs from an HTTP server this module runs on 127.0.0.1
        (reached from the guest as 10.0.2.2 through -netdev user): the
        requests, carrying ${net0/ip} and friends, are the result.  iPXE's
        console (BIOS text output) is copied to the serial port by SeaBIOS's
        serial console, so the log shows what iPXE printed too.

Both stream the console into build/test-logs/guest-NAME.log, enforce a
timeout by killing QEMU's process group, and never need KVM.

Several guests at once (e.g. peers on one network, each its own QEMU):
Guest.start() boots in a thread, wait_result() waits for one result as it
arrives, join() returns the Result.  The host talks back to a guest run
with control=True through a second serial port: send(key, value) delivers
"key value" lines that the guest reads with host_wait (lib.sh).

Environment: QEMU (the emulator; default build/qemu-system-x86_64),
VPCNET_GUEST_DIR (the images; default build/guest), VPCNET_GUEST_BUILD=0
(do not run build-guest.sh first), VPCNET_FIRMWARE_PATH (firmware
directories passed with -L).
"""

import collections
import http.server
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GUEST_DIR = os.environ.get('VPCNET_GUEST_DIR') or os.path.join(REPO, 'build', 'guest')
LOG_DIR = os.path.join(REPO, 'build', 'test-logs')
BUILD_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'build-guest.sh')

RESULT_LINE = re.compile(r'VPCNET-RESULT (\S+) ?(.*)$')
DONE_LINE = re.compile(r'VPCNET-DONE (-?\d+)')
# host_channel_open (lib.sh) says the guest listens on its control port.
CHANNEL_LINE = re.compile(r'VPCNET-CHANNEL ready')
# SeaBIOS's serial console and the kernel's both emit terminal escapes.
ANSI_ESCAPE = re.compile(r'\x1b(\[[0-9;?]*[A-Za-z]|[()][0-9A-Za-z]|[=>c78])')

# After VPCNET-DONE the guest powers off at once; give it this long.
POWEROFF_GRACE = 10
# How many console lines a result keeps for diagnostics.
KEPT_LINES = 400


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def number(text):
    """A scenario's result as a float, or None when it is not one."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def qemu_binary(qemu=None):
    """The emulator: the argument, else $QEMU, else the repo's build."""
    return qemu or os.environ.get('QEMU') or os.path.join(REPO, 'build', 'qemu-system-x86_64')


# QEMU's own QMP library (python/qemu/qmp), from the source tree the build
# grafted: the same client QEMU's iotests and functional tests use.
QEMU_PYTHON = os.path.join(REPO, 'build', 'qemu-src', 'python')


def qmp_connect(path, timeout=10):
    """A QMP connection to QEMU's unix socket @path, capabilities
    negotiated; every command waits @timeout seconds at most.  It is
    qemu.qmp's synchronous client: cmd_raw(name, args) returns the reply
    ('return' or 'error'), close() ends it."""
    if not os.path.isdir(os.path.join(QEMU_PYTHON, 'qemu', 'qmp')):
        raise RuntimeError('no QEMU Python library in %s: run make first' % QEMU_PYTHON)
    if QEMU_PYTHON not in sys.path:
        sys.path.insert(0, QEMU_PYTHON)
    from qemu.qmp.legacy import QEMUMonitorProtocol

    qmp = QEMUMonitorProtocol(path)
    qmp.settimeout(timeout)
    qmp.connect()
    return qmp


_images_checked = False


def ensure_images():
    """Run build-guest.sh once per process (it returns at once when the
    images are up to date), unless VPCNET_GUEST_BUILD=0."""
    global _images_checked
    if _images_checked or os.environ.get('VPCNET_GUEST_BUILD') == '0':
        return
    proc = subprocess.run([BUILD_SCRIPT, GUEST_DIR], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise RuntimeError('build-guest.sh failed:\n' + proc.stdout)
    _images_checked = True


def log_path_for(name):
    """build/test-logs/guest-NAME.log, with NAME made file-name safe."""
    os.makedirs(LOG_DIR, exist_ok=True)
    return os.path.join(LOG_DIR, 'guest-%s.log' % re.sub(r'[^\w.-]+', '_', name))


# Debian's firmware (seabios, qemu-system-data, ipxe-qemu).  QEMU run from
# its build tree looks in build/qemu-bundle instead of the configured
# --firmwarepath, and with --disable-install-blobs that holds no BIOS, so
# name the directories explicitly.
FIRMWARE_PATH = os.environ.get('VPCNET_FIRMWARE_PATH',
                               '/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu')


def firmware_args():
    args = []
    for d in FIRMWARE_PATH.split(':'):
        if d and os.path.isdir(d):
            args += ['-L', d]
    return args


def network_defaults(devices):
    """QEMU adds an e1000 on -netdev user unless told otherwise; a guest
    without network options should really have no NIC."""
    if any(a in ('-netdev', '-nic', '-net') for a in devices):
        return []
    return ['-nic', 'none']


class Console:
    """Run QEMU with its serial console on stdout, copy it to a log file and
    hand each line to a callback, until QEMU exits, the callback returns
    True (finished), stop() is called, or the timeout passes."""

    def __init__(self, cmd, log_path, timeout, env=None):
        self.cmd = cmd
        self.env = env
        self.log_path = log_path
        self.timeout = timeout
        self.lines = collections.deque(maxlen=KEPT_LINES)
        self.timed_out = False
        self.exit_status = None
        self.duration = 0.0
        self.error = None       # set when QEMU could not be started at all
        self._stop = threading.Event()

    def stop(self):
        """Ask run() to end QEMU (safe from other threads)."""
        self._stop.set()

    def run(self, on_line=None):
        start = time.monotonic()
        deadline = start + self.timeout
        finished_at = None
        with open(self.log_path, 'w', errors='replace') as log:
            log.write('# %s\n' % ' '.join(self.cmd))
            log.flush()
            try:
                # A session of its own, so the whole group can be killed.
                proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        start_new_session=True, env=self.env)
            except OSError as e:
                self.error = 'cannot run %s: %s (set QEMU=...)' % (self.cmd[0], e.strerror)
                log.write('# harness: %s\n' % self.error)
                self.lines.append(self.error)
                return
            fd = proc.stdout.fileno()
            partial = b''
            try:
                while True:
                    now = time.monotonic()
                    if self._stop.is_set():
                        break
                    if finished_at is not None and now > finished_at + POWEROFF_GRACE:
                        break
                    if now >= deadline:
                        self.timed_out = True
                        log.write('\n# harness: timeout after %ds, killing QEMU\n' % self.timeout)
                        break
                    ready, _, _ = select.select([fd], [], [], min(deadline - now, 0.2))
                    if not ready:
                        continue
                    data = os.read(fd, 65536)
                    if not data:
                        break   # QEMU exited
                    text = data.decode('utf-8', 'replace')
                    log.write(text)
                    log.flush()
                    partial += data
                    *complete, partial = partial.split(b'\n')
                    for raw in complete:
                        line = self._clean(raw)
                        self.lines.append(line)
                        if on_line and on_line(line) and finished_at is None:
                            finished_at = time.monotonic()
                if partial:
                    line = self._clean(partial)
                    self.lines.append(line)
                    if on_line:
                        on_line(line)
            finally:
                self._kill(proc)
                proc.stdout.close()
            self.exit_status = proc.returncode
            self.duration = time.monotonic() - start
            log.write('\n# harness: QEMU exit status %s after %.1fs\n'
                      % (self.exit_status, self.duration))

    @staticmethod
    def _clean(raw):
        line = raw.decode('utf-8', 'replace')
        return ANSI_ESCAPE.sub('', line).replace('\r', '').rstrip()

    @staticmethod
    def _kill(proc):
        if proc.poll() is not None:
            return
        try:
            proc.wait(timeout=0.5)   # it may be exiting on its own
            return
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


class _BootResult:
    """What every boot leaves, from its console: log_path, timed_out,
    qemu_status, duration, error (the harness's own failure), lines."""

    def __init__(self, console):
        self.log_path = console.log_path
        self.timed_out = console.timed_out
        self.qemu_status = console.exit_status
        self.duration = console.duration
        self.error = console.error
        self.lines = list(console.lines)

    def tail(self, n=15):
        """The last n console lines (without terminal escapes)."""
        return self.lines[-n:] if n else []


class Result(_BootResult):
    """What one boot of the Linux guest reported.

    values      dict of VPCNET-RESULT key -> value (last one wins)
    rc          the scenario's exit code from VPCNET-DONE, None if it never came
    log_path    the console log
    timed_out   the harness killed QEMU at the timeout
    duration    seconds from starting QEMU to its end
    """

    def __init__(self, console, values, rc):
        super().__init__(console)
        self.values = values
        self.rc = rc

    @property
    def ok(self):
        return self.rc == 0

    def get(self, key, default=None):
        return self.values.get(key, default)

    def summary(self):
        if self.error:
            return self.error
        if self.rc is not None:
            how = 'scenario exit code %d' % self.rc
        elif self.timed_out:
            how = 'no VPCNET-DONE: killed at the timeout'
        else:
            how = 'no VPCNET-DONE: QEMU exited with status %s' % self.qemu_status
        return '%s after %.1fs' % (how, self.duration)

    def __repr__(self):
        return '<Result rc=%r values=%r>' % (self.rc, self.values)


class Guest:
    """One boot of the Linux test guest running one scenario.

    devices   extra QEMU arguments: NICs and netdevs, e.g.
              ['-device', 'tulip,netdev=n0', '-netdev', 'user,id=n0']
    scenario  name of tests/guest/scenarios/NAME.sh
    args      dict passed as vpcnet.args=k=v,k=v (no blanks or commas)
    modules   driver modules to load; default: whatever matches the PCI
              devices (busybox modprobe through modules.alias)
    on_line   optional callback(line) for every console line, for tests
              that must react while the guest runs (e.g. start a server)
    control   give the guest a control port (ttyS1, a unix socket on the
              host) over which send() talks to the scenario's host_wait
    env       environment of QEMU (default: this process's)
    control_dir  where the control socket goes (default: a private
              temporary directory); for a QEMU that runs as another
              user, a directory that user may write.  Not removed.

    run() boots and waits in the calling thread.  Several guests at once:
    start() each, then wait_result() for what one reports while it runs,
    send() to tell it something, join() for its Result.
    """

    def __init__(self, qemu=None, devices=(), scenario='smoke', args=None,
                 timeout=120, name=None, modules=None, memory=256,
                 append='', on_line=None, control=False, env=None,
                 control_dir=None):
        self.qemu = qemu_binary(qemu)
        self.devices = list(devices)
        self.scenario = scenario
        self.args = dict(args or {})
        self.timeout = timeout
        self.name = name or scenario
        self.modules = list(modules or [])
        self.memory = memory
        self.append = append
        self.on_line = on_line
        self.control = control
        self.env = env
        self.console = None
        self.values = {}            # results so far, updated while it runs
        self.finished = False       # run() has returned
        self._cond = threading.Condition()
        self._thread = None
        self._result = None
        self._control_dir = control_dir
        self._own_control_dir = control_dir is None
        self._control_sock = None
        self._channel_ready = False
        self._outbox = []

    def kernel_cmdline(self):
        words = ['console=ttyS0', 'quiet', 'panic=-1', 'vpcnet.scenario=' + self.scenario]
        if self.args:
            pairs = []
            for key, value in self.args.items():
                pair = '%s=%s' % (key, value)
                if re.search(r'[\s,"]', pair):
                    raise ValueError('vpcnet.args cannot carry %r' % pair)
                pairs.append(pair)
            words.append('vpcnet.args=' + ','.join(pairs))
        if self.modules:
            words.append('vpcnet.module=' + ','.join(self.modules))
        if self.append:
            words.append(self.append)
        return ' '.join(words)

    def control_path(self):
        """The host end of the control port (a unix socket QEMU listens on)."""
        if self._control_dir is None:
            self._control_dir = tempfile.mkdtemp(prefix='vpcnet-ctl-')
        return os.path.join(self._control_dir, 'control.sock')

    def command(self):
        serial = []
        if self.control:
            # The console stays on stdio (what -nographic gives by default);
            # the second port, ttyS1 in the guest, is the control socket.
            serial = ['-serial', 'mon:stdio',
                      '-chardev', 'socket,id=vpcnet-control,server=on,wait=off,path='
                      + self.control_path(),
                      '-serial', 'chardev:vpcnet-control']
        return [self.qemu, '-machine', 'pc', '-accel', 'tcg', '-m', str(self.memory),
                '-nographic', '-no-reboot', '-vga', 'none'] + firmware_args() + serial + [
                '-kernel', os.path.join(GUEST_DIR, 'vmlinuz'),
                '-initrd', os.path.join(GUEST_DIR, 'initrd.img'),
                '-append', self.kernel_cmdline()] \
            + network_defaults(self.devices) + self.devices

    def stop(self):
        """End the boot early (from another thread, e.g. an on_line callback)."""
        if self.console:
            self.console.stop()

    def send(self, key, value=''):
        """Tell the scenario "key value" (read there with host_wait KEY).
        Needs control=True.  Held back until the guest has opened its end
        (data sent earlier would be lost when the guest opens the port), so
        it may be called at any time, from any thread."""
        line = ('%s %s' % (key, value)).rstrip()
        if not self.control or '\n' in line or not re.match(r'[\w.-]+$', key):
            raise ValueError('cannot send %r (control=%r)' % (line, self.control))
        with self._cond:
            self._outbox.append(line + '\n')
            if self._channel_ready:
                self._flush_outbox()

    def _flush_outbox(self):
        """Write the queued lines (with self._cond held)."""
        if self._control_sock is None:
            self._control_sock = socket.socket(socket.AF_UNIX)
            self._control_sock.settimeout(10)
            self._control_sock.connect(self.control_path())
        while self._outbox:
            self._control_sock.sendall(self._outbox.pop(0).encode())

    def _on_line(self, line, done):
        if self.on_line:
            self.on_line(line)
        m = RESULT_LINE.search(line)
        if m:
            with self._cond:
                self.values[m.group(1)] = m.group(2).strip()
                self._cond.notify_all()
            return False
        if self.control and CHANNEL_LINE.search(line):
            with self._cond:
                self._channel_ready = True
                try:
                    self._flush_outbox()
                except OSError as e:
                    self.console.lines.append('# harness: control port: %s' % e)
            return False
        m = DONE_LINE.search(line)
        if m and not done:
            done.append(int(m.group(1)))
            return True
        return False

    def run(self):
        ensure_images()
        done = []
        with self._cond:
            self.values = {}
            self.finished = False
        self.console = Console(self.command(), log_path_for(self.name), self.timeout,
                               env=self.env)
        try:
            self.console.run(lambda line: self._on_line(line, done))
        finally:
            with self._cond:
                if self._control_sock is not None:
                    self._control_sock.close()
                    self._control_sock = None
                self._channel_ready = False
                self.finished = True
                self._cond.notify_all()
            if self._control_dir is not None and self._own_control_dir:
                shutil.rmtree(self._control_dir, ignore_errors=True)
                self._control_dir = None
        return Result(self.console, dict(self.values), done[0] if done else None)

    def start(self):
        """Boot in a background thread; join() returns the Result."""
        ensure_images()     # here, so that guests started together share one check

        def body():
            self._result = self.run()

        self._thread = threading.Thread(target=body, name='guest-' + self.name, daemon=True)
        self._thread.start()
        return self

    def join(self, timeout=None):
        """Wait for a start()ed guest to end; its Result.  With a timeout,
        stop the guest if it has not ended by then."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            self.stop()
            self._thread.join()
        return self._result

    def wait_result(self, key, timeout):
        """Wait until the running guest reports KEY; its value, or None when
        the timeout passes or the guest ends first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while key not in self.values:
                left = deadline - time.monotonic()
                if self.finished or left <= 0:
                    return None
                self._cond.wait(left)
            return self.values[key]


class _ReportHandler(http.server.BaseHTTPRequestHandler):
    """Records every GET; serves the server's files, anything else gets a
    harmless iPXE script (iPXE's imgfetch wants a 200)."""

    def do_GET(self):
        self.server.report(self.path, self.client_address[0])
        body = self.server.files.get(self.path, b'#!ipxe\necho vpcnet: report received\n')
        self.send_response(200)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass    # requests are in the result and the log instead


class ReportServer(http.server.ThreadingHTTPServer):
    """HTTP server on 127.0.0.1 (an ephemeral port) that clients in the
    guest reach as 10.0.2.2:port through -netdev user.  Records the path
    of every GET in .requests; files maps paths to bytes to serve.

        with ReportServer(files={'/blob': data}) as server:
            url = 'http://10.0.2.2:%d' % server.port
    """

    daemon_threads = True

    def __init__(self, on_request=None, files=None):
        super().__init__(('127.0.0.1', 0), _ReportHandler)
        self.files = dict(files or {})
        self.requests = []
        self.on_request = on_request
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self):
        return self.server_address[1]

    def report(self, path, client):
        with self._lock:
            self.requests.append(path)
        if self.on_request:
            self.on_request(path)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()


# The default iPXE script: DHCP, then report the lease, then finish.  Every
# step that matters ends in a request to {url}, so the host sees how far it
# got even without a console.  ${...} are iPXE settings, expanded by iPXE.
DEFAULT_IPXE_SCRIPT = '''#!ipxe
echo vpcnet: iPXE script started
dhcp || goto failed
echo vpcnet: lease ${net0/ip} gateway ${net0/gateway}
imgfetch {url}/lease/${net0/ip}/${net0/netmask}/${net0/gateway}/${net0/mac}/${net0/chip} || goto failed
imgfetch {url}/done/ok
exit
:failed
imgfetch {url}/done/failed/${errno}
'''


class IpxeResult(_BootResult):
    """What one iPXE boot proved.

    requests   paths the script fetched from the report server, in order
    lease      dict ip/netmask/gateway/mac/chip from the /lease/... request
               (chip: the iPXE driver's name for the NIC), or None
    done       'ok', 'failed' or None (the script never finished)
    log_path, timed_out, duration, tail(): as for Result
    """

    def __init__(self, console, requests):
        super().__init__(console)
        self.requests = list(requests)
        self.lease = None
        self.done = None
        for path in self.requests:
            # iPXE percent-encodes what it expands into a URL (the MAC's ':').
            parts = [urllib.parse.unquote(p) for p in path.strip('/').split('/')]
            if parts[0] == 'lease' and len(parts) >= 5:
                self.lease = dict(zip(('ip', 'netmask', 'gateway', 'mac', 'chip'), parts[1:]))
            elif parts[0] == 'done' and len(parts) >= 2:
                self.done = parts[1]

    def summary(self):
        if self.error:
            return self.error
        if self.done:
            end = 'script ended with /done/%s' % self.done
        elif self.timed_out:
            end = 'script never reported /done: killed at the timeout'
        else:
            end = 'script never reported /done'
        return 'iPXE requests: %s; %s after %.1fs' % (
            ' '.join(self.requests) or 'none', end, self.duration)

    def __repr__(self):
        return '<IpxeResult done=%r lease=%r>' % (self.done, self.lease)


class Ipxe:
    """One boot of iPXE (ipxe.lkrn) running a script.

    devices   QEMU NIC and netdev arguments; the netdev must be -netdev user
              (or anything that forwards 10.0.2.2:port to the host's
              127.0.0.1:port) for the report requests to arrive
    script    iPXE script text; "{url}" stands for the report server's URL
              as the guest sees it.  Default: DEFAULT_IPXE_SCRIPT.
    host_ip   the host's address as seen from the guest (slirp: 10.0.2.2)

    How the script gets in: QEMU hands -initrd to ipxe.lkrn the way it does
    to Linux; iPXE registers the initrd as an image and, as it starts with
    "#!ipxe", executes it instead of its autoboot, without the Ctrl-B
    prompt.  (The -append line is run as a one-line script too, but then
    iPXE waits at its prompt first and has no labels or goto.)  How output
    gets out: this build has no serial console of its own; it prints
    through BIOS INT 10h, and with -vga none and the fw_cfg file
    etc/sercon-port SeaBIOS mirrors that to COM1.  QEMU warns that the name
    lacks "opt/"; SeaBIOS wants exactly this one.  The build has no
    poweroff command, so the run ends when the script requests /done/...
    (the harness then kills QEMU), or at the timeout.
    """

    def __init__(self, qemu=None, devices=(), script=None, timeout=60, name='ipxe',
                 memory=256, host_ip='10.0.2.2'):
        self.qemu = qemu_binary(qemu)
        self.devices = list(devices)
        self.script = script or DEFAULT_IPXE_SCRIPT
        self.timeout = timeout
        self.name = name
        self.memory = memory
        self.host_ip = host_ip

    def run(self):
        ensure_images()
        log_path = log_path_for(self.name)
        base = os.path.splitext(log_path)[0]
        script_path = base + '.ipxe'
        sercon_path = base + '.sercon'
        # etc/sercon-port holds the I/O port as a 2-byte little-endian integer.
        with open(sercon_path, 'wb') as f:
            f.write((0x3f8).to_bytes(2, 'little'))

        console = None

        def on_request(path):
            if path.startswith('/done/') and console:
                console.stop()

        def on_line(line):
            # iPXE gave up and SeaBIOS found nothing else to boot: nothing
            # more will happen, so do not wait for the timeout.
            if 'No bootable device' in line:
                console.stop()

        with ReportServer(on_request) as server:
            url = 'http://%s:%d' % (self.host_ip, server.port)
            with open(script_path, 'w') as f:
                f.write(self.script.replace('{url}', url))
            cmd = [self.qemu, '-machine', 'pc', '-accel', 'tcg', '-m', str(self.memory),
                   '-nographic', '-no-reboot', '-vga', 'none'] + firmware_args() + [
                   '-fw_cfg', 'name=etc/sercon-port,file=' + sercon_path,
                   '-kernel', os.path.join(GUEST_DIR, 'ipxe.lkrn'),
                   '-initrd', script_path] + network_defaults(self.devices) + self.devices
            console = Console(cmd, log_path, self.timeout)
            console.run(on_line)
            requests = list(server.requests)
        return IpxeResult(console, requests)
