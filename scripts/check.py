#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Run every vpcnet test and print one closing line "N passed, N failed".
#
#   check.py [SUITE ...]     (default: all suites; see SUITES below)
#
# Every test program speaks TAP ("ok N - name" / "not ok N - name"); a
# program that dies, times out or prints no result counts as one failure,
# and so does a skipped case: a test that cannot run is not a pass.

import glob
import json
import os
import re
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(TOP, 'build')
QEMU_BUILD = os.path.join(BUILD, 'qemu-build')
LIB_BUILD = os.path.join(BUILD, 'lib')
LOGS = os.path.join(BUILD, 'test-logs')

TAP_RESULT = re.compile(r'^(not ok|ok)\b\s*\d*\s*-?\s*(.*)$')


class Tally:
    def __init__(self):
        self.passed = 0
        self.failed = []

    def run(self, label, argv, env=None, timeout=600, cwd=TOP):
        """Run one TAP-speaking program and count its cases."""
        os.makedirs(LOGS, exist_ok=True)
        log_path = os.path.join(LOGS, re.sub(r'[^\w.-]+', '_', label) + '.log')
        start = time.monotonic()
        cases_ok = cases_bad = 0
        with open(log_path, 'w') as log:
            try:
                proc = subprocess.run(argv, cwd=cwd, env=env, timeout=timeout,
                                      stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True,
                                      errors='replace')
                out, rc = proc.stdout, proc.returncode
            except subprocess.TimeoutExpired as e:
                out = (e.stdout or b'').decode(errors='replace') \
                    if isinstance(e.stdout, bytes) else (e.stdout or '')
                rc = 'timeout after %ds' % timeout
            log.write(out)
        for line in out.splitlines():
            m = TAP_RESULT.match(line.strip())
            if not m:
                continue
            name = m.group(2)
            if m.group(1) == 'ok' and '# SKIP' not in name.upper():
                cases_ok += 1
            else:
                cases_bad += 1
                self.failed.append('%s: %s' % (label, name))
        if rc != 0 and cases_bad == 0:
            cases_bad = 1
            self.failed.append('%s: exited with %s' % (label, rc))
        elif cases_ok + cases_bad == 0:
            cases_bad = 1
            self.failed.append('%s: ran no test' % label)
        self.passed += cases_ok
        status = 'ok' if cases_bad == 0 else 'FAIL'
        print('%-5s %-48s %3d passed %3d failed %6.1fs' %
              (status, label, cases_ok, cases_bad, time.monotonic() - start),
              flush=True)
        if cases_bad:
            print('      log: %s' % os.path.relpath(log_path, TOP))
            for line in out.splitlines()[-15:]:
                print('      | ' + line)


def in_suite(test, name):
    """Meson names suites "project:suite"."""
    return any(s.split(':')[-1] == name for s in test.get('suite', []))


def suite_unit(t):
    """Unit tests of the QEMU-independent library (top-level meson.build)."""
    tests = json.loads(subprocess.check_output(
        ['meson', 'introspect', '--tests', LIB_BUILD]))
    for test in tests:
        if in_suite(test, 'fuzz'):
            continue
        args = test.get('args', [])
        # Meson runs tests in the build directory (or their workdir) and
        # gives paths of built programs relative to it.
        t.run('unit/' + test['name'], test['cmd'] + args +
              ([] if '--tap' in args else ['--tap']),
              timeout=test.get('timeout', 300) or 300,
              cwd=test.get('workdir') or LIB_BUILD)


def qemu_env():
    env = dict(os.environ)
    env['QTEST_QEMU_BINARY'] = os.path.join(QEMU_BUILD, 'qemu-system-x86_64')
    env['QTEST_QEMU_IMG'] = ''
    env.setdefault('G_TEST_DBUS_DAEMON', '/bin/true')
    # Where qtests find their data files (g_test_build_filename).
    env['G_TEST_SRCDIR'] = os.path.join(TOP, 'tests', 'qtest')
    return env


def our_qos_paths(qos_test):
    """The qos-test paths that exercise our devices and backends."""
    out = subprocess.check_output([qos_test, '-l'], env=qemu_env(), text=True)
    ours = ('/dec21140a',)
    return [p for p in out.split() if p.startswith('/') and any(o in p for o in ours)]


def suite_qtest(t):
    """qtests: libqos-graph tests of our devices, then standalone qtests."""
    qos_test = os.path.join(QEMU_BUILD, 'tests', 'qtest', 'qos-test')
    paths = our_qos_paths(qos_test)
    if not paths:
        t.failed.append('qtest: qos-test lists no dec21140a test')
        print('FAIL  qos-test lists no dec21140a test')
        return
    argv = [qos_test, '--tap', '-k']
    for p in paths:
        argv += ['-p', p]
    t.run('qtest/qos-dec21140a', argv, env=qemu_env(), timeout=300)
    for src in sorted(glob.glob(os.path.join(TOP, 'tests', 'qtest', '*-test.c'))):
        name = os.path.basename(src)[:-2]
        binary = os.path.join(QEMU_BUILD, 'tests', 'qtest', name)
        if os.path.exists(binary):
            t.run('qtest/' + name, [binary, '--tap', '-k'], env=qemu_env(),
                  timeout=300)


def suite_guest(t):
    """Real Linux and iPXE guests booted under TCG."""
    env = dict(os.environ)
    env['QEMU'] = os.path.join(BUILD, 'qemu-system-x86_64')
    build = os.path.join(TOP, 'tests', 'guest', 'build-guest.sh')
    rc = subprocess.call([build, os.path.join(BUILD, 'guest')], cwd=TOP)
    if rc != 0:
        t.failed.append('guest: building the guest image failed')
        print('FAIL  building the guest image')
        return
    for script in sorted(glob.glob(os.path.join(TOP, 'tests', 'guest', 'test_*.py'))):
        t.run('guest/' + os.path.basename(script)[:-3],
              [sys.executable, script], env=env, timeout=900)


def suite_fuzz(t):
    """Fuzz targets of the library, each for a bounded time."""
    tests = json.loads(subprocess.check_output(
        ['meson', 'introspect', '--tests', LIB_BUILD]))
    for test in tests:
        if in_suite(test, 'fuzz'):
            t.run('fuzz/' + test['name'], test['cmd'] + test.get('args', []),
                  timeout=600)


def script_suite(directory, timeout=900):
    """A suite of TAP-speaking scripts, tests/DIRECTORY/test_*.py, each
    run with QEMU and BUILD in its environment.  A directory without
    scripts (a feature not built yet) contributes nothing."""
    def run(t):
        env = dict(os.environ)
        env['QEMU'] = os.path.join(BUILD, 'qemu-system-x86_64')
        env['VPCNET_BUILD'] = BUILD
        pattern = os.path.join(TOP, 'tests', directory, 'test_*.py')
        for script in sorted(glob.glob(pattern)):
            t.run(directory + '/' + os.path.basename(script)[:-3],
                  [sys.executable, script], env=env, timeout=timeout)
    return run


# In the order `make check` runs them.  Suites whose tests run in network
# namespaces of their own (nat, bridge) and the real-libvirt suite are
# scripts in their own directories.
SUITES = {'unit': suite_unit, 'fuzz': suite_fuzz, 'qtest': suite_qtest,
          'nat': script_suite('nat'), 'bridge': script_suite('bridge'),
          'guest': suite_guest, 'libvirt': script_suite('libvirt')}


def main():
    names = sys.argv[1:] or list(SUITES)
    for name in names:
        if name not in SUITES:
            print('check.py: unknown suite %r; suites: %s'
                  % (name, ' '.join(SUITES)), file=sys.stderr)
            return 2
    t = Tally()
    for name in names:
        SUITES[name](t)
    if t.failed:
        print('\nFailed:')
        for f in t.failed:
            print('  ' + f)
    print('%d passed, %d failed' % (t.passed, len(t.failed)))
    return 1 if t.failed else 0


if __name__ == '__main__':
    sys.exit(main())
