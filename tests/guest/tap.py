# SPDX-License-Identifier: GPL-2.0-or-later
"""A tiny TAP producer for the guest tests.

    tap = Tap()
    tap.ok(result.values.get('dhcp') == 'ok', 'tulip: DHCP lease', result)
    tap.skip('iperf3 throughput', 'iperf3 not in the initramfs')
    sys.exit(tap.done())

Each check prints "ok N - name" or "not ok N - name".  A failing check
given a boot result (anything with log_path and tail()) adds "# ..."
diagnostics: where the console log is and its last lines.  done() prints
the plan "1..N" and returns the exit status: 1 if anything failed.
"""

import sys


class Tap:
    """Numbered TAP output on stdout, with a tally of failures."""

    def __init__(self, out=None):
        self.out = out or sys.stdout
        self.count = 0
        self.failures = 0

    def diag(self, *lines):
        """Print TAP diagnostics, one "# " line per text line."""
        for text in lines:
            for line in str(text).splitlines() or ['']:
                self.out.write('# %s\n' % line)
        self.out.flush()

    def ok(self, condition, name, result=None, detail=None, tail=15):
        """Record one check.  On failure, explain with detail and result."""
        self.count += 1
        name = ' '.join(str(name).split())     # keep the TAP line one line
        if condition:
            self.out.write('ok %d - %s\n' % (self.count, name))
            self.out.flush()
            return True
        self.failures += 1
        self.out.write('not ok %d - %s\n' % (self.count, name))
        if detail:
            self.diag(detail)
        if result is not None:
            self.diag_result(result, tail)
        self.out.flush()
        return False

    def equal(self, got, want, name, result=None):
        """Record a check that got == want, showing both on failure."""
        return self.ok(got == want, name, result,
                       detail='got %r, want %r' % (got, want))

    def skip(self, name, reason):
        """Record a check that could not run (check.py counts it as failed)."""
        self.count += 1
        self.out.write('ok %d - %s # SKIP %s\n' % (self.count, name, reason))
        self.out.flush()

    def diag_result(self, result, tail=15):
        """Point at the console log of a boot and quote its last lines."""
        log_path = getattr(result, 'log_path', None)
        if log_path:
            self.diag('console log: %s' % log_path)
        summary = getattr(result, 'summary', None)
        if callable(summary):
            self.diag(summary())
        lines = result.tail(tail) if hasattr(result, 'tail') else []
        if lines:
            self.diag('last %d console lines:' % len(lines))
            self.diag(*['  | ' + line for line in lines])

    def done(self):
        """Print the plan; return the process exit status."""
        self.out.write('1..%d\n' % self.count)
        self.out.flush()
        return 1 if self.failures or self.count == 0 else 0
