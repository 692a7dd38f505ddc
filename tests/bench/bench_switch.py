#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""make bench-switch: qemu-vswitch against vde_switch and -netdev dgram.

Part 1, frames: vswitch-load (tests/bench/vswitch-load.c) joins two ports
of each switch and blasts unicast frames of 64 and 1514 bytes from one to
the other: qemu-vswitch through its port protocol, once with one FRAME
message per frame (unbatched, as a client that does not ask for batching)
and once batched (both ports negotiate FRAMES, the sender packs PACK
frames per message, as -netdev internal does with what a NIC sends in one
main-loop pass), vde_switch through libvdeplug, and the UDP multicast
transport of -netdev dgram (no switch process: the kernel's loopback).
Printed: frames/s and Gbit/s received, drops, and the CPU the switch
process used; then whether the issue's targets are met by batched
qemu-vswitch (at least 1 Mpps at 64 bytes and at least twice vde_switch),
with the unbatched figures beside them.

Part 2, guests: two Linux guests (TCG, dec21140a NICs) run iperf3 across
-netdev internal (the switch's DHCP), then across -netdev dgram multicast
(the server guest runs udhcpd), both directions.

Everything runs in a private network namespace (unshare -n, with lo up
and a multicast route) so no multicast leaves it, with a fresh
XDG_RUNTIME_DIR for the switch's sockets.  Figures, not a test: nothing
passes or fails on speed.  On a small machine the load tool's sender and
receiver compete with the switch for the same cores; the CPU columns say
who was short of it.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, 'tests', 'guest'))

from guest import Guest, RESULT_LINE, ensure_images   # noqa: E402

BUILD = os.path.join(REPO, 'build')
LOAD_TOOL = os.path.join(BUILD, 'lib', 'tests', 'bench', 'vswitch-load')
VSWITCH = os.path.join(BUILD, 'lib', 'net', 'vpcnet', 'qemu-vswitch')
NETNS_ENV = 'VPCNET_BENCH_NETNS'

PACK = 32           # frames per FRAMES message in the batched runs
# (row key, name in the table, vswitch-load --peer, extra arguments)
PEERS = [('vswitch', 'qemu-vswitch', 'vswitch', []),
         ('vswitch-batch', 'qemu-vswitch x%d' % PACK, 'vswitch',
          ['--pack', str(PACK)]),
         ('vde', 'vde_switch', 'vde', []),
         ('mcast', 'dgram multicast', 'mcast', [])]
TOOL_PEER = {key: tool for key, _, tool, _ in PEERS}
EXTRA_ARGS = {key: extra for key, _, _, extra in PEERS}
SIZES = [64, 1514]
# The figure the targets judge: batched qemu-vswitch.
TARGET_ROW = 'vswitch-batch'
MCAST_LOAD = '239.255.86.1:5001'
MCAST_GUESTS = ('239.255.86.2', 5002)
TARGET_MPPS = 1.0
TARGET_VS_VDE = 2.0


def log(msg):
    print('bench-switch: ' + msg, flush=True)


def enter_netns():
    """Re-run this script in a private network namespace; returns its exit
    status, or None when no namespace can be had (then run here)."""
    unshare = shutil.which('unshare')
    if not unshare:
        return None
    cmd = [unshare, '-n'] if os.geteuid() == 0 else [unshare, '-rn']
    if subprocess.run(cmd + ['true'], stderr=subprocess.DEVNULL).returncode:
        return None
    env = dict(os.environ, **{NETNS_ENV: '1'})
    return subprocess.run(cmd + [sys.executable] + sys.argv, env=env).returncode


def setup_lo():
    """lo up, multicast on and a route for 224.0.0.0/4 through it."""
    for args in (['link', 'set', 'lo', 'up'],
                 ['link', 'set', 'lo', 'multicast', 'on'],
                 ['route', 'replace', '224.0.0.0/4', 'dev', 'lo']):
        proc = subprocess.run(['ip'] + args, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        if proc.returncode:
            return 'ip %s: %s' % (' '.join(args), proc.stdout.strip())
    return None


def wait_for(path, proc, what, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError('%s did not come up (%s)' % (what, path))
        time.sleep(0.05)


def stop(proc):
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Switches:
    """The switch daemons of part 1, one of each, for the whole part."""

    def __init__(self, tmp, want_vde):
        self.tmp = tmp
        self.procs = {}
        self.errors = {}
        self.vswitch_log = open(os.path.join(tmp, 'qemu-vswitch.log'), 'w')
        proc = subprocess.Popen([VSWITCH, '--network', 'load', '--foreground',
                                 '--idle-timeout', '0'],
                                stdout=self.vswitch_log, stderr=subprocess.STDOUT)
        self.procs['vswitch'] = proc
        wait_for(os.path.join(os.environ['XDG_RUNTIME_DIR'], 'vpcnet', 'load.sock'),
                 proc, 'qemu-vswitch')
        vde = shutil.which('vde_switch')
        if not want_vde:
            self.errors['vde'] = 'vswitch-load was built without libvdeplug'
        elif not vde:
            self.errors['vde'] = 'vde_switch not installed (package vde2)'
        else:
            # In the foreground vde_switch reads commands from stdin: keep
            # it open (and silent) for as long as the switch should run.
            proc = subprocess.Popen([vde, '--sock', os.path.join(tmp, 'vde')],
                                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            self.procs['vde'] = proc
            wait_for(os.path.join(tmp, 'vde', 'ctl'), proc, 'vde_switch')

    def target(self, peer):
        if peer == 'vswitch':
            return 'load'
        if peer == 'vde':
            return os.path.join(self.tmp, 'vde')
        return MCAST_LOAD

    def error(self, key):
        """Why row @key cannot run (its switch is missing, or a run of it
        failed), or None."""
        return self.errors.get(key)

    def close(self):
        for proc in self.procs.values():
            stop(proc)
        self.vswitch_log.close()


def run_load(switches, key, size, seconds, perf=None):
    """One vswitch-load run for row @key: a dict of its key=value figures,
    or of 'error'."""
    peer = TOOL_PEER[key]
    cmd = [LOAD_TOOL, '--peer', peer, '--target', switches.target(peer),
           '--size', str(size), '--seconds', str(seconds)] + EXTRA_ARGS[key]
    proc = switches.procs.get(peer)
    if proc:
        cmd += ['--switch-pid', str(proc.pid)]
    recorder = None
    if perf and proc:
        recorder = subprocess.Popen(['perf', 'record', '-g', '-q', '-o', perf,
                                     '-p', str(proc.pid), '--', 'sleep',
                                     str(seconds + 1)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, timeout=seconds + 30)
    if recorder:
        recorder.wait()
    if out.returncode:
        return {'error': (out.stderr.strip() or 'exit status %d' % out.returncode)}
    fig = {}
    for word in out.stdout.split():
        key, _, value = word.partition('=')
        fig[key] = value
    return fig


def part_frames(opts, netns_error):
    tmp = os.environ['XDG_RUNTIME_DIR']
    want_vde = 'vde' in subprocess.run([LOAD_TOOL, '--peers'], stdout=subprocess.PIPE,
                                       text=True).stdout.split()
    log('load runs: %s x %s bytes x %d, %g s each'
        % ('/'.join(k for k, _, _, _ in PEERS), '/'.join(map(str, SIZES)),
           opts.repeat, opts.seconds))
    switches = Switches(tmp, want_vde)
    if netns_error:
        switches.errors['mcast'] = netns_error
    runs = {(k, s): [] for k, _, _, _ in PEERS for s in SIZES}
    try:
        for rep in range(opts.repeat):
            # Round-robin, so that a busy moment of the machine spreads
            # over the peers instead of hitting one.
            for size in SIZES:
                for key, _, _, _ in PEERS:
                    if switches.error(key):
                        continue
                    perf = opts.perf if (rep == 0 and size == 64 and
                                         key == TARGET_ROW) else None
                    fig = run_load(switches, key, size, opts.seconds, perf)
                    if 'error' in fig:
                        switches.errors.setdefault(key, fig['error'])
                    else:
                        runs[key, size].append(fig)
    finally:
        switches.close()
    return runs, switches.errors


def median_run(figs):
    """The run with the median rate, and (min, max) of the rates."""
    figs = sorted(figs, key=lambda f: float(f['pps']))
    rates = [float(f['pps']) for f in figs]
    return figs[(len(figs) - 1) // 2], (rates[0], rates[-1])


def print_frames(opts, runs, errors):
    print()
    print('bench-switch: one sender, one receiver (vswitch-load), %g s per run, '
          'median of %d; %d CPUs, load average %s'
          % (opts.seconds, opts.repeat, os.cpu_count(),
             ' '.join('%.2f' % v for v in os.getloadavg())))
    print('Frames are Ethernet without FCS; Gbit/s counts their bytes.  CPU is % '
          'of one core during the run.')
    print('qemu-vswitch: one FRAME message per frame; qemu-vswitch x%d: batched, '
          '%d frames per FRAMES message' % (PACK, PACK))
    print()
    head = ('%-16s %6s %7s %15s %7s %14s %7s %7s %7s %9s'
            % ('peer', 'frame', 'Mpps', 'Mpps min-max', 'Gbit/s', 'drops',
               'switch', 'sender', 'recvr', 'ns/frame'))
    print(head)
    print('-' * len(head))
    best = {}
    for size in SIZES:
        for peer, name, _, _ in PEERS:
            figs = runs[peer, size]
            if not figs:
                print('%-16s %6d %7s  (%s)'
                      % (name, size, 'n/a', errors.get(peer, 'no run')))
                continue
            fig, (lo, hi) = median_run(figs)
            mpps = float(fig['pps']) / 1e6
            best[peer, size] = mpps
            drops = '%s (%.1f%%)' % (fig['drops'], float(fig['drop_pct']))
            sw_cpu = ('%.0f%%' % (100 * float(fig['switch_cpu']))
                      if 'switch_cpu' in fig else '-')
            ns = fig.get('switch_ns_per_frame', '-')
            print('%-16s %6d %7.3f %15s %7.2f %14s %7s %6.0f%% %6.0f%% %9s'
                  % (name, size, mpps, '%.3f-%.3f' % (lo / 1e6, hi / 1e6),
                     float(fig['gbps']), drops, sw_cpu,
                     100 * float(fig['tx_cpu']), 100 * float(fig['rx_cpu']), ns))
    print()
    print('Targets (from the issue), judged on batched qemu-vswitch (x%d); '
          'unbatched in brackets:' % PACK)

    def unbatched(size, vde=None):
        vs = best.get(('vswitch', size))
        if vs is None:
            return ''
        if vde is None:
            return ' [unbatched %.3f Mpps]' % vs
        return ' [unbatched %.2fx]' % (vs / vde) if vde else ''

    vs64 = best.get((TARGET_ROW, 64))
    if vs64 is None:
        print('  qemu-vswitch >= %.0f Mpps at 64 bytes: no figure%s'
              % (TARGET_MPPS, unbatched(64)))
    else:
        print('  qemu-vswitch >= %.0f Mpps at 64 bytes: %.3f Mpps: %s%s'
              % (TARGET_MPPS, vs64, 'met' if vs64 >= TARGET_MPPS else 'NOT met',
                 unbatched(64)))
    for size in SIZES:
        vs, vde = best.get((TARGET_ROW, size)), best.get(('vde', size))
        if vs is None or not vde:
            print('  qemu-vswitch >= %.0fx vde_switch at %d bytes: no figure'
                  % (TARGET_VS_VDE, size))
            continue
        ratio = vs / vde
        print('  qemu-vswitch >= %.0fx vde_switch at %d bytes: %.2fx: %s%s'
              % (TARGET_VS_VDE, size, ratio,
                 'met' if ratio >= TARGET_VS_VDE else 'NOT met',
                 unbatched(size, vde)))
    print()
    print('CPU per frame: what the switch process spent per frame it took in, and the')
    print('rate one core of its own would allow at that cost (an estimate, not a run):')
    cost = {}
    for size in SIZES:
        for peer, name, _, _ in PEERS:
            figs = runs[peer, size]
            if not figs or 'switch_ns_per_frame' not in figs[0]:
                continue
            fig, _ = median_run(figs)
            ns = float(fig['switch_ns_per_frame'])
            if ns <= 0:
                continue
            cost[peer, size] = ns
            print('  %-16s %5d bytes: %5.0f ns/frame, %.2f Mpps per core; '
                  'waited for a CPU %.0f%% of the run'
                  % (name, size, ns, 1e3 / ns, 100 * float(fig['switch_wait'])))
    for size in SIZES:
        for key, name, _, _ in PEERS[:2]:
            if (key, size) in cost and ('vde', size) in cost:
                print('  per CPU, %s does %.2fx the work of vde_switch at %d bytes'
                      % (name, cost['vde', size] / cost[key, size], size))
    if opts.perf:
        print('  profile of batched qemu-vswitch at 64 bytes: perf report -i %s'
              % opts.perf)


def guest_pair(name, server_dev, client_dev, server_args, seconds):
    """Boot the iperf3 server guest, then the client guest against it;
    returns (client Result or None, server address, problem)."""
    ready = threading.Event()
    found = {}

    def on_line(line):
        m = RESULT_LINE.search(line)
        if m:
            found[m.group(1)] = m.group(2).strip()
            if m.group(1) == 'iperf.ready':
                ready.set()

    server = Guest(devices=server_dev, scenario='iperf-server', args=server_args,
                   name='bench-switch-%s-server' % name, on_line=on_line,
                   timeout=180 + 4 * seconds)
    server_result = []
    thread = threading.Thread(target=lambda: server_result.append(server.run()))
    thread.start()
    try:
        deadline = time.monotonic() + 150
        while not ready.is_set() and thread.is_alive() and time.monotonic() < deadline:
            ready.wait(0.5)
        if found.get('iperf.ready') != 'ok':
            return None, None, ('server guest not ready (iperf.ready=%s), see %s'
                                % (found.get('iperf.ready'),
                                   server.console.log_path if server.console else '?'))
        addr = found.get('ip')
        client = Guest(devices=client_dev, scenario='iperf',
                       args={'server': addr, 'port': 5201, 'seconds': seconds},
                       name='bench-switch-%s-client' % name,
                       timeout=150 + 4 * seconds).run()
        return client, addr, None
    finally:
        server.stop()
        thread.join()


def nic(mac):
    return ['-device', 'dec21140a,netdev=n0,mac=' + mac]


def part_guests(opts, netns_error):
    rows = []
    tmp = os.environ['XDG_RUNTIME_DIR']
    vlog = open(os.path.join(tmp, 'qemu-vswitch-guests.log'), 'w')
    daemon = subprocess.Popen([VSWITCH, '--network', 'guests', '--foreground',
                               '--idle-timeout', '0'],
                              stdout=vlog, stderr=subprocess.STDOUT)
    try:
        wait_for(os.path.join(tmp, 'vpcnet', 'guests.sock'), daemon, 'qemu-vswitch')
        internal = ['-netdev', 'internal,id=n0,network=guests']
        rows.append(('internal (qemu-vswitch)',) + guest_pair(
            'internal', nic('00:03:ff:00:00:01') + internal,
            nic('00:03:ff:00:00:02') + internal, {}, opts.guest_seconds))
    finally:
        stop(daemon)
        vlog.close()
    if netns_error:
        rows.append(('dgram multicast', None, None, netns_error))
    else:
        host, port = MCAST_GUESTS
        dgram = ['-netdev', 'dgram,id=n0,remote.type=inet,remote.host=%s,'
                 'remote.port=%d,local.type=inet,local.host=127.0.0.1,local.port=0'
                 % (host, port)]
        rows.append(('dgram multicast',) + guest_pair(
            'dgram', nic('00:03:ff:00:00:03') + dgram,
            nic('00:03:ff:00:00:04') + dgram, {'dhcpd': '10.86.0.1'},
            opts.guest_seconds))
    return rows


def print_guests(opts, rows):
    print()
    print('bench-switch: two guests (TCG, dec21140a), iperf3 %d s per direction; '
          'A runs the client, B the server' % opts.guest_seconds)
    print('%-26s %14s %14s' % ('netdev', 'A->B Mbit/s', 'B->A Mbit/s'))
    problems = []
    for name, result, addr, problem in rows:
        tx = result.values.get('tx.mbps') if result else None
        rx = result.values.get('rx.mbps') if result else None
        print('%-26s %14s %14s' % (name, tx or 'n/a', rx or 'n/a'))
        if problem:
            problems.append('  %s: %s' % (name, problem))
        elif not tx or not rx:
            problems.append('  %s: no figure (%s), see %s'
                            % (name, result.summary(), result.log_path))
    for p in problems:
        print(p)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seconds', type=float, default=3,
                        help='seconds per load run (default 3)')
    parser.add_argument('--repeat', type=int, default=3,
                        help='runs per peer and size; the median is shown')
    parser.add_argument('--guest-seconds', type=int, default=10,
                        help='iperf3 seconds per direction (default 10)')
    parser.add_argument('--only', choices=['frames', 'guests'],
                        help='run one part only')
    parser.add_argument('--perf', metavar='FILE',
                        help='perf record qemu-vswitch during its first '
                        'batched 64-byte run into FILE')
    parser.add_argument('--no-netns', action='store_true', help=argparse.SUPPRESS)
    opts = parser.parse_args()

    if os.environ.get(NETNS_ENV) != '1' and not opts.no_netns:
        status = enter_netns()
        if status is not None:
            return status
        log('cannot enter a private network namespace (unshare -n); '
            'skipping -netdev dgram multicast')
    netns_error = None
    if os.environ.get(NETNS_ENV) == '1':
        netns_error = setup_lo()
    else:
        netns_error = 'no private network namespace (unshare -n failed)'

    for path in (LOAD_TOOL, VSWITCH):
        if not os.access(path, os.X_OK):
            sys.exit('bench-switch: %s is missing (make bench-switch builds it)' % path)
    if opts.perf:
        opts.perf = os.path.abspath(opts.perf)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix='vpcnet-bench-') as tmp:
        os.chmod(tmp, 0o700)
        os.environ['XDG_RUNTIME_DIR'] = tmp
        if opts.only != 'guests':
            runs, errors = part_frames(opts, netns_error)
            print_frames(opts, runs, errors)
        if opts.only != 'frames':
            ensure_images()
            log('two guests on -netdev internal, then on -netdev dgram')
            rows = part_guests(opts, netns_error)
            print_guests(opts, rows)
    print('\nbench-switch: %.0f s in all' % (time.monotonic() - started))
    return 0


if __name__ == '__main__':
    sys.exit(main())
