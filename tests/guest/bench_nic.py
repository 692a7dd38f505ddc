#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""make bench-nic: iperf3 through dec21140a and the NICs a user would pick
instead (QEMU's tulip, e1000, rtl8139), on the same backend (-netdev
user), printed side by side with each model's ratio to dec21140a.  The
guest is the test harness's Linux under TCG; the server is the host's
iperf3 on 127.0.0.1, which the guest reaches as 10.0.2.2.

The machine may be shared, so the models run interleaved, --rounds times
(each round in a rotated order), and the table gives each model's median
and its range; the load average before and after is printed with it.
Besides throughput it prints, per model and direction, what the guest
counted: interrupts, frames per interrupt, NAPI polls out of budget,
missed frames.  Options:

  --trace    a second, instrumented run per model (-trace into a file):
             host-side counts of interrupts raised, CSR accesses, receive
             buffers unavailable (RU), re-polls and frames, per frame
  --perf     perf record the QEMU process (--perf-freq Hz) during each
             run and report the host CPU time spent in the model's own
             functions per frame moved (symbols dec21140a_*, or tulip_*,
             plus zlib's crc32 for dec21140a, which is its FCS); the
             default when perf is installed and allowed to record,
             --no-perf to leave it out
  --directions tx or rx
             one direction only, so that --trace counts belong to it
  --variant NAME=QEMU
             another QEMU binary (say, one built from an earlier version
             of the model); a model given as MODEL@NAME in --models runs
             on it, interleaved with the rest, for an A/B of a change

Figures, not a test: nothing here passes or fails on speed.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from guest import Guest, ensure_images, free_port, number as num   # noqa: E402

MODELS = ['dec21140a', 'tulip', 'e1000', 'rtl8139']
DIRECTIONS = ['tx', 'rx']
COUNTERS = ['irq', 'rx_packets', 'tx_packets', 'rx_dropped', 'rx_missed_errors',
            'rx_errors', 'softnet_processed', 'softnet_squeezed', 'cpu_busy',
            'cpu_softirq']

# Host-side trace events counted by --trace, per model.
TRACE_EVENTS = {
    'dec21140a': ['dec21140a_irq', 'dec21140a_csr_read', 'dec21140a_csr_write',
                  'dec21140a_rx_unavailable', 'dec21140a_rx_repoll',
                  'dec21140a_rx_frame', 'dec21140a_rx_drop', 'dec21140a_tx_frame'],
    'tulip': ['tulip_irq', 'tulip_reg_read', 'tulip_reg_write', 'tulip_receive',
              'tulip_rx_state'],
}
# The model's own code, for --perf: symbol prefixes (and helpers only it uses).
PERF_SYMBOLS = {
    'dec21140a': (r'^dec21140a_', r'^crc32(_z)?$'),
    'tulip': (r'^tulip_',),
    'e1000': (r'^e1000_', r'^set_', r'^mac_'),
    'rtl8139': (r'^rtl8139_',),
}




def loadavg():
    with open('/proc/loadavg') as f:
        return ' '.join(f.read().split()[:3])


class ThreadClock:
    """CPU time of the guest's QEMU per thread (the vCPU, "CPU 0/TCG",
    and everything else: the main loop, slirp, the device's receive
    path and bottom halves), snapshotted when the guest reports the
    start and the end of each direction.  Unlike throughput, CPU time per
    frame holds up on a loaded machine."""

    def __init__(self, directions=DIRECTIONS):
        # The scenario's results mark where each direction starts and ends.
        self.marks = {'VPCNET-RESULT dhcp ok': directions[0]}
        for i, d in enumerate(directions):
            self.marks['VPCNET-RESULT %s.mbps' % d] = (directions[i + 1]
                                                      if i + 1 < len(directions) else None)
        self.pid = None
        self.snaps = []         # (direction starting or None, {role: seconds})

    def on_line(self, line):
        for mark, starts in self.marks.items():
            if mark in line:
                if self.pid is None:
                    self.pid = qemu_child_pid()
                if self.pid:
                    self.snaps.append((starts, self._sample()))

    def _sample(self):
        hz = os.sysconf('SC_CLK_TCK')
        roles = {'vcpu': 0.0, 'other': 0.0, 'vcpu_switches': 0, 'other_switches': 0}
        task_dir = '/proc/%d/task' % self.pid
        try:
            tids = os.listdir(task_dir)
        except OSError:
            return roles
        for tid in tids:
            try:
                with open('%s/%s/comm' % (task_dir, tid)) as f:
                    comm = f.read().strip()
                with open('%s/%s/stat' % (task_dir, tid)) as f:
                    fields = f.read().rsplit(')', 1)[1].split()
            except OSError:
                continue
            secs = (int(fields[11]) + int(fields[12])) / hz
            role = 'vcpu' if '/TCG' in comm else 'other'
            roles[role] += secs
            try:
                with open('%s/%s/status' % (task_dir, tid)) as f:
                    status = f.read()
                roles[role + '_switches'] += sum(
                    int(n) for n in re.findall(r'_ctxt_switches:\s+(\d+)', status))
            except OSError:
                pass
        return roles

    def per_direction(self):
        """{direction: {role: CPU seconds}} between consecutive marks."""
        out = {}
        for (starts, a), (_, b) in zip(self.snaps, self.snaps[1:]):
            if starts:
                out[starts] = {k: b[k] - a[k] for k in a}
        return out


def qemu_child_pid():
    """Our child QEMU: the newest qemu-system-x86_64 whose parent is us."""
    out = subprocess.run(['ps', '-o', 'pid=,ppid=', '--sort=-start_time',
                          '-C', 'qemu-system-x86'], capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        pid, ppid = line.split()
        if int(ppid) == os.getpid():
            return int(pid)
    return None


class PerfRecorder:
    """perf record -p the guest's QEMU once it is up, until it exits."""

    def __init__(self, freq):
        self.freq = freq
        self.data = tempfile.NamedTemporaryFile(prefix='bench-nic-', suffix='.perf',
                                                delete=False).name
        self.proc = None

    def on_line(self, line):
        # The scenario reports its lease just before iperf3 starts.
        if self.proc is None and 'VPCNET-RESULT dhcp ok' in line:
            pid = qemu_child_pid()
            if pid:
                self.proc = subprocess.Popen(
                    ['perf', 'record', '-q', '-F', str(self.freq), '-p', str(pid),
                     '-o', self.data], stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL)

    def finish(self):
        if self.proc:
            self.proc.wait(timeout=60)

    def own_seconds(self, model):
        """CPU seconds sampled in the model's own functions, and in all."""
        if not self.proc:
            return None, None
        out = subprocess.run(['perf', 'report', '-i', self.data, '--stdio',
                              '--no-children', '--sort', 'symbol', '-F',
                              'sample,symbol'], capture_output=True, text=True).stdout
        own = total = 0
        patterns = [re.compile(p) for p in PERF_SYMBOLS.get(model, ())]
        for line in out.splitlines():
            m = re.match(r'\s*(\d+)\s+\[\.\]\s+(\S+)', line)
            if not m:
                continue
            samples, sym = int(m.group(1)), m.group(2)
            total += samples
            if any(p.search(sym) for p in patterns):
                own += samples
        os.unlink(self.data)
        return own / self.freq, total / self.freq


def perf_usable():
    """Whether perf is installed and may record a process of ours."""
    if not shutil.which('perf'):
        return False
    with tempfile.NamedTemporaryFile(prefix='bench-nic-', suffix='.perf') as f:
        return subprocess.run(['perf', 'record', '-q', '-o', f.name, 'true'],
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode == 0


IRQ_CAUSES = ((0x01, 'TI'), (0x04, 'TU'), (0x40, 'RI'), (0x80, 'RU'))


def trace_counts(path, model):
    """Count the events of an instrumented run (log backend lines); each
    rise of the interrupt line also counts under the CSR5 bits it came
    with (irq_RI, irq_TU, ...)."""
    counts = {}
    level = 0

    def raised(csr5):
        counts['irq_raised'] = counts.get('irq_raised', 0) + 1
        for bit, name in IRQ_CAUSES:
            if csr5 and int(csr5.group(1), 16) & bit:
                counts['irq_' + name] = counts.get('irq_' + name, 0) + 1

    with open(path, errors='replace') as f:
        for line in f:
            m = re.match(r'(?:\d+@[\d.]+:)?(\w+) (.*)', line)
            if not m:
                continue
            name, rest = m.group(1), m.group(2)
            if model == 'dec21140a' and name == 'dec21140a_irq':
                new = 1 if rest.startswith('level 1') else 0
                if new and not level:
                    raised(re.search(r'csr5 0x([0-9a-f]+)', rest))
                level = new
                continue
            if model == 'tulip' and name == 'tulip_irq':
                new = 1 if rest.endswith(' assert') else 0
                if new and not level:
                    raised(re.search(r'mask 0x([0-9a-f]+)', rest))
                level = new
                continue
            if name == 'dec21140a_csr_write' or name == 'tulip_reg_write':
                csr = re.search(r'CSR(\d+)', rest)
                key = 'write_csr%s' % (csr.group(1) if csr else '?')
                counts[key] = counts.get(key, 0) + 1
                if model == 'dec21140a' and re.search(r'CSR5 <- 0x000000c0', rest):
                    counts['napi_ack'] = counts.get('napi_ack', 0) + 1
                continue
            if name in ('dec21140a_csr_read', 'tulip_reg_read'):
                counts['reads'] = counts.get('reads', 0) + 1
                continue
            if name == 'tulip_rx_state' and 'SUSPENDED' in rest:
                counts['rx_unavailable'] = counts.get('rx_unavailable', 0) + 1
                continue
            short = name.replace('dec21140a_', '').replace('tulip_', '')
            counts[short] = counts.get(short, 0) + 1
    return counts


def split_model(model):
    """'dec21140a@old' -> ('dec21140a', 'old'); 'tulip' -> ('tulip', None)."""
    device, _, variant = model.partition('@')
    return device, variant or None


def run_one(model, opts, iperf3, perf=None, trace=None, clock=None):
    device, variant = split_model(model)
    qemu = opts.variants[variant] if variant else None
    port = free_port()
    server = subprocess.Popen([iperf3, '-s', '-B', '127.0.0.1', '-p', str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    devices = ['-name', 'bench-nic,debug-threads=on',
               '-device', device + ',netdev=n0', '-netdev', 'user,id=n0']

    def on_line(line):
        for watcher in (perf, clock):
            if watcher:
                watcher.on_line(line)

    if trace:
        for event in TRACE_EVENTS.get(device, []):
            devices += ['-trace', 'enable=%s,file=%s' % (event, trace)]
    try:
        result = Guest(qemu=qemu, devices=devices, scenario='iperf',
                       name='bench-%s%s' % (model.replace('@', '-'),
                                            '-trace' if trace else ''),
                       args={'port': port, 'seconds': opts.seconds,
                             'directions': '+'.join(opts.directions)},
                       on_line=on_line,
                       timeout=120 + 4 * opts.seconds).run()
    finally:
        server.terminate()
        server.wait()
        if perf:
            perf.finish()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seconds', type=int, default=10)
    parser.add_argument('--models', default=','.join(MODELS))
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--directions', default='tx,rx',
                        help='tx, rx or both (the default): which iperf3 runs')
    parser.add_argument('--trace', action='store_true')
    parser.add_argument('--perf', action=argparse.BooleanOptionalAction,
                        default=None)
    parser.add_argument('--perf-freq', type=int, default=999)
    parser.add_argument('--variant', action='append', default=[],
                        metavar='NAME=QEMU')
    opts = parser.parse_args()
    models = opts.models.split(',')
    opts.directions = [d for d in DIRECTIONS if d in opts.directions.split(',')]
    if not opts.directions:
        sys.exit('bench-nic: --directions: tx, rx or tx,rx')
    opts.variants = {}
    for v in opts.variant:
        name, sep, path = v.partition('=')
        if not sep or not os.access(path, os.X_OK):
            sys.exit('bench-nic: --variant %s: want NAME=an executable QEMU' % v)
        opts.variants[name] = os.path.abspath(path)
    for model in models:
        variant = split_model(model)[1]
        if variant and variant not in opts.variants:
            sys.exit('bench-nic: %s: no --variant %s=QEMU' % (model, variant))

    iperf3 = shutil.which('iperf3')
    if not iperf3:
        sys.exit('bench-nic: the host needs iperf3 (make bench-nic installs it)')
    if opts.perf and not perf_usable():
        sys.exit('bench-nic: --perf needs perf (Debian package linux-perf), '
                 'allowed to record (kernel.perf_event_paranoid)')
    if opts.perf is None:
        opts.perf = perf_usable()
        if not opts.perf:
            print('# no usable perf: the model\'s own CPU time per frame is left out')
    ensure_images()
    load_before = loadavg()
    runs = {m: [] for m in models}      # model -> [Result values]
    perf_cost = {m: [] for m in models}  # model -> [(own s, all s, frames)]
    for r in range(opts.rounds):
        order = models[r % len(models):] + models[:r % len(models)]
        for model in order:
            perf = PerfRecorder(opts.perf_freq) if opts.perf else None
            clock = ThreadClock(opts.directions)
            result = run_one(model, opts, iperf3, perf=perf, clock=clock)
            v = dict(result.values)
            v['log'] = result.log_path
            for d, roles in clock.per_direction().items():
                for role, secs in roles.items():
                    v['%s.host_%s' % (d, role)] = secs
            runs[model].append(v)
            if perf:
                own, total = perf.own_seconds(split_model(model)[0])
                frames = sum(num(v.get('%s.%s' % (d, c))) or 0 for d in opts.directions
                             for c in ('rx_packets', 'tx_packets'))
                if own is not None and frames:
                    perf_cost[model].append((own, total, frames))
            print('# round %d %-14s %s Mbit/s (load %s)'
                  % (r + 1, model, ' '.join('%s %s' % (d, v.get(d + '.mbps'))
                                            for d in opts.directions), loadavg()),
                  flush=True)
    load_after = loadavg()

    def fig(model, key):
        vals = [num(v.get(key)) for v in runs[model]]
        return [x for x in vals if x is not None]

    def med(vals):
        return statistics.median(vals) if vals else None

    base = models[0] if models and split_model(models[0])[0] == 'dec21140a' else None
    print('\nbench-nic: iperf3 over -netdev user, TCG guest, %d s per direction, '
          '%d round(s) interleaved' % (opts.seconds, opts.rounds))
    print('load average %s before, %s after, %d CPUs'
          % (load_before, load_after, os.cpu_count()))
    print('%-14s %16s %16s %10s %10s' % ('model', 'tx Mbit/s', 'rx Mbit/s',
                                         'tx vs dec', 'rx vs dec'))

    def span(vals):
        if not vals:
            return 'n/a'
        if len(vals) == 1:
            return '%.0f' % vals[0]
        return '%.0f (%.0f-%.0f)' % (med(vals), min(vals), max(vals))

    def ratio(v, b):
        return '%.2f' % (v / b) if v and b else 'n/a'

    for model in models:
        tx, rx = fig(model, 'tx.mbps'), fig(model, 'rx.mbps')
        btx = med(fig(base, 'tx.mbps')) if base else None
        brx = med(fig(base, 'rx.mbps')) if base else None
        print('%-14s %16s %16s %10s %10s' % (model, span(tx), span(rx),
                                             ratio(med(tx), btx), ratio(med(rx), brx)))

    print('\nwhat the guest counted (medians per run; frames = rx + tx packets),')
    print('and the host CPU its QEMU used per frame: the vCPU thread, and the')
    print('others (main loop: slirp, the device\'s receive path, bottom halves),')
    print('and the context switches of each per 1000 frames:')
    print('%-14s %-3s %9s %9s %10s %9s %9s %8s %9s %9s %8s %8s' % (
        'model', 'dir', 'frames/s', 'irq/s', 'frames/irq', 'squeezed', 'missed',
        'cpu busy', 'vcpu us', 'other us', 'vcpu cs', 'other cs'))
    for model in models:
        for d in opts.directions:
            frames = [(num(v.get(d + '.rx_packets')) or 0) + (num(v.get(d + '.tx_packets')) or 0)
                      for v in runs[model]]
            irq = fig(model, d + '.irq')
            busy = fig(model, d + '.cpu_busy')
            secs = opts.seconds

            def per_frame(role, scale=1e6):
                vals = [num(v.get('%s.host_%s' % (d, role))) / f * scale
                        for v, f in zip(runs[model], frames)
                        if f and num(v.get('%s.host_%s' % (d, role))) is not None]
                return '%.1f' % med(vals) if vals else 'n/a'
            print('%-14s %-3s %9.0f %9.0f %10s %9s %9s %7s%% %9s %9s %8s %8s' % (
                model, d, med(frames) / secs if frames else 0,
                med(irq) / secs if irq else 0,
                '%.1f' % (med(frames) / med(irq)) if irq and med(irq) else 'n/a',
                '%.0f' % med(fig(model, d + '.softnet_squeezed'))
                if fig(model, d + '.softnet_squeezed') else 'n/a',
                '%.0f' % med(fig(model, d + '.rx_missed_errors'))
                if fig(model, d + '.rx_missed_errors') else 'n/a',
                '%.0f' % (med(busy) / secs) if busy else 'n/a',
                per_frame('vcpu'), per_frame('other'),
                per_frame('vcpu_switches', 1e3), per_frame('other_switches', 1e3)))

    if opts.perf:
        print('\nhost CPU in the model\'s own functions (perf record -F %d, self time):'
              % opts.perf_freq)
        print('%-14s %14s %14s %12s' % ('model', 'us per frame', 'share of QEMU',
                                        'frames'))
        for model in models:
            costs = perf_cost[model]
            if not costs:
                print('%-14s %14s' % (model, 'n/a'))
                continue
            own = med([c[0] / c[2] * 1e6 for c in costs])
            share = med([c[0] / c[1] * 100 for c in costs if c[1]])
            print('%-14s %14.2f %13.1f%% %12.0f' % (model, own, share,
                                                    med([c[2] for c in costs])))

    if opts.trace:
        print('\nhost-side counts from an instrumented run (-trace), per 1000 frames:')
        for model in models:
            if split_model(model)[0] not in TRACE_EVENTS:
                continue
            path = tempfile.NamedTemporaryFile(prefix='bench-nic-', suffix='.trace',
                                               delete=False).name
            try:
                result = run_one(model, opts, iperf3, trace=path)
                counts = trace_counts(path, split_model(model)[0])
            finally:
                os.unlink(path)
            v = result.values
            frames = sum(num(v.get('%s.%s' % (d, c))) or 0 for d in opts.directions
                         for c in ('rx_packets', 'tx_packets'))
            if not frames:
                print('  %s: no frames, see %s' % (model, result.log_path))
                continue
            print('  %-14s (%.0f frames, %s Mbit/s traced): %s' % (
                model, frames, ' '.join('%s %s' % (d, v.get(d + '.mbps'))
                                        for d in opts.directions),
                ', '.join('%s %.1f' % (k, counts[k] * 1000 / frames)
                          for k in sorted(counts))))

    for model in models:
        for v in runs[model]:
            if any(v.get(d + '.mbps') is None for d in opts.directions):
                print('  %s: no figure, see %s' % (model, v['log']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
