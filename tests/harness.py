# SPDX-License-Identifier: GPL-2.0-only
"""What every test module of tests/ needs: running a command with a timeout,
and the bad-input check (exit status 2 and one clear line).  Standard
library only."""

import os
import re
import signal
import subprocess
import time


def run(cmd, timeout, stdin=subprocess.DEVNULL, env=None, preexec=None):
    """Run cmd; return (status, combined output, seconds, timed_out)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, env=env,
                         start_new_session=True, preexec_fn=preexec)
    try:
        out, _ = p.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        timed_out = True
    secs = time.monotonic() - t0
    return p.returncode, out.decode('utf-8', 'replace'), secs, timed_out


def cli_case(res, name, cmd, pattern):
    status, out, secs, timed_out = run(cmd, 20)
    lines = [l for l in out.splitlines() if l.strip()]
    if timed_out:
        res.fail(name, 'hung (killed after 20s)', out)
    elif status != 2:
        res.fail(name, f'exit status {status}, expected 2', out)
    elif len(lines) != 1:
        res.fail(name, f'expected one line of output, got {len(lines)}', out)
    elif not re.search(pattern, out):
        res.fail(name, f'message does not match /{pattern}/', out)
    else:
        res.ok(name, secs)


def standalone(description, tests):
    """`python3 tests/X_tests.py [--build DIR] [--only RE]`: run one module's
    tests(res, kite, elf, only) alone, as tests/run.py would, and exit 1 if any failed."""
    import argparse
    import sys
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    sys.path.insert(0, os.path.join(here, 'guest'))
    from run import Results
    ap = argparse.ArgumentParser(description=f'{description} (also run by tests/run.py)')
    ap.add_argument('--build', default=os.path.join(os.path.dirname(here), 'build'))
    ap.add_argument('--only')
    a = ap.parse_args()
    r = Results(False)
    tests(r, os.path.join(a.build, 'src', 'kite'),
          os.path.join(a.build, 'tests', 'guest', 'kite-testguest.elf'), a.only)
    print(f'{r.passed} passed, {r.failed} failed, {r.skipped} skipped')
    sys.exit(1 if r.failed else 0)
