#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""kite's test runner: unit tests, command-line checks, and guest tests under
kite and (as a cross-check) under QEMU.  Prints one line per test and ends
with "N passed, N failed, N skipped".  Exit status 0 only if nothing failed."""

import argparse
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from harness import cli_case, run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'guest'))
sys.path.insert(0, os.path.join(ROOT, 'tests'))

PVM_HOST = os.path.exists('/sys/module/kvm_pvm')


class Results:
    def __init__(self, verbose):
        self.passed = self.failed = self.skipped = 0
        self.failures = []
        self.verbose = verbose

    def ok(self, name, secs=None, note=''):
        self.passed += 1
        t = f' ({secs:.2f}s)' if secs is not None else ''
        print(f'PASS {name}{t}{note}', flush=True)

    def fail(self, name, why, log=None):
        self.failed += 1
        self.failures.append(name)
        print(f'FAIL {name}: {why}', flush=True)
        if log:
            lines = log.rstrip().splitlines()
            for line in lines[-25:]:
                print(f'    | {line}', flush=True)

    def skip(self, name, why):
        self.skipped += 1
        print(f'SKIP {name}: {why}', flush=True)


# ---------------------------------------------------------------- unit tests

CMOCKA_RESULT = re.compile(r'^\[\s+(OK|FAILED|SKIPPED|ERROR)\s+\] (\S+)\s*$')


def unit_tests(res, build, label, timeout=300):
    d = os.path.join(build, 'tests', 'unit')
    if not os.path.isdir(d):
        res.fail(f'{label}', f'no unit tests built in {d}')
        return
    exes = sorted(f for f in os.listdir(d)
                  if f.startswith('test_') and os.access(os.path.join(d, f), os.X_OK)
                  and os.path.isfile(os.path.join(d, f)))
    if not exes:
        res.fail(label, f'no test_* executables in {d}')
    for exe in exes:
        status, out, secs, timed_out = run([os.path.join(d, exe)], timeout)
        seen = 0
        for line in out.splitlines():
            m = CMOCKA_RESULT.match(line)
            if not m:
                continue
            seen += 1
            name = f'{label}/{exe}/{m.group(2)}'
            if m.group(1) == 'OK':
                res.ok(name)
            elif m.group(1) == 'SKIPPED':
                res.skip(name, 'skipped by the test')
            else:
                res.fail(name, 'assertion failed', out)
        if timed_out:
            res.fail(f'{label}/{exe}', f'timed out after {timeout}s', out)
        elif status != 0 and not any(r.startswith(f'{label}/{exe}/') for r in res.failures):
            res.fail(f'{label}/{exe}', f'exited with status {status}', out)
        elif seen == 0:
            res.fail(f'{label}/{exe}', 'printed no test results', out)


# ---------------------------------------------------------------- fuzzing

def fuzz_tests(res, fuzz_build, seconds):
    d = os.path.join(fuzz_build, 'fuzz')
    targets = sorted(f for f in os.listdir(d) if f.endswith('_fuzz')
                     and os.access(os.path.join(d, f), os.X_OK)) if os.path.isdir(d) else []
    if not targets:
        res.skip('fuzz', f'no fuzz build at {fuzz_build} (./setup.sh --fuzz makes one)')
        return
    for t in targets:
        corpus = tempfile.mkdtemp(prefix=f'kite-{t}-')
        try:
            seeds = os.path.join(ROOT, 'fuzz', 'make_seeds.py')
            if t in ('virtq_fuzz', 'vpci_fuzz', 'state_fuzz', 'migstream_fuzz') and os.path.exists(seeds):
                subprocess.run([sys.executable, seeds, corpus, t], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            status, out, secs, timed_out = run(
                [os.path.join(d, t), f'-max_total_time={seconds}', '-print_final_stats=1',
                 corpus], seconds + 60)
            m = re.search(r'stat::number_of_executed_units:\s*(\d+)', out)
            if timed_out or status != 0:
                res.fail(f'fuzz/{t}', f'exit status {status}' + (' (timed out)' if timed_out else ''), out)
            else:
                res.ok(f'fuzz/{t}', secs, f' {m.group(1) if m else "?"} executions, no crash')
        finally:
            shutil.rmtree(corpus, ignore_errors=True)


# ---------------------------------------------------- command-line checks

def cli_tests(res, kite, guest_elf):
    """Bad user input: one clear line, exit status 2, never a crash or hang."""
    tmp = tempfile.mkdtemp(prefix='kite-cli-')
    try:
        garbage = os.path.join(tmp, 'g.bin')
        with open(garbage, 'wb') as f:
            f.write(os.urandom(8192))
        empty = os.path.join(tmp, 'e.bin')
        open(empty, 'wb').close()
        truncated = os.path.join(tmp, 't.bin')
        tiny = os.path.join(tmp, 's.bin')
        if guest_elf and os.path.exists(guest_elf):
            data = open(guest_elf, 'rb').read()
            open(truncated, 'wb').write(data[:elf_load_end(data) - 64])
            open(tiny, 'wb').write(data[:40])
        unreadable = os.path.join(tmp, 'u.bin')
        if guest_elf and os.path.exists(guest_elf):
            shutil.copy(guest_elf, unreadable)
        os.chmod(unreadable, 0o000) if os.path.exists(unreadable) else None
        os.chmod(tmp, 0o755)
        odd_disk = os.path.join(tmp, 'odd.img')
        with open(odd_disk, 'wb') as f:
            f.write(b'\0' * 1000)
        good_disk = os.path.join(tmp, 'good.img')
        with open(good_disk, 'wb') as f:
            f.truncate(1 << 20)
        k = guest_elf or '/nonexistent'
        cases = [
            ('missing-kernel', ['run', '--kernel', os.path.join(tmp, 'nope')], r'cannot (open|read) kernel'),
            ('no-kernel-no-default-guest', ['run'], r'default guest is not built'),
            ('cpu-profile-bad', ['run', '--kernel', k, '--cpu-profile', 'fast'], r"--cpu-profile must be"),
            ('directory-kernel', ['run', '--kernel', tmp], r'not a regular file'),
            ('empty-kernel', ['run', '--kernel', empty], r'e.bin'),
            ('garbage-kernel', ['run', '--kernel', garbage], r'not a kernel kite can boot'),
            ('truncated-kernel', ['run', '--kernel', truncated], r'truncated'),
            ('tiny-kernel', ['run', '--kernel', tiny], r'too small|truncated'),
            ('memory-zero', ['run', '--kernel', k, '--memory', '0'], r'--memory must be more than 0'),
            ('memory-garbage', ['run', '--kernel', k, '--memory', 'lots'], r"--memory 'lots' is not a size"),
            ('memory-too-big', ['run', '--kernel', k, '--memory', '16T'], r'more than this host can back'),
            ('memory-unaligned', ['run', '--kernel', k, '--memory', '3000001B'], r'multiple of 4 KiB'),
            ('cpus-zero', ['run', '--kernel', k, '--cpus', '0'], r'--cpus must be at least 1'),
            ('cpus-too-many', ['run', '--kernel', k, '--cpus', '100000'], r'more than this host.s KVM allows'),
            ('cpus-garbage', ['run', '--kernel', k, '--cpus', 'two'], r"--cpus 'two' is not a number"),
            ('unknown-option', ['run', '--kernel', k, '--frobnicate'], r"unknown option '--frobnicate'"),
            ('missing-value', ['run', '--kernel'], r"needs a value"),
            ('bad-on-reboot', ['run', '--kernel', k, '--on-reboot=maybe'], r'--on-reboot must be'),
            ('unknown-command', ['fly'], r"unknown command 'fly'"),
            ('missing-initrd', ['run', '--kernel', k, '--initrd', os.path.join(tmp, 'nope')], r'cannot (open|read) initrd'),
            # Devices (issue 4): disks, NICs, console.
            ('disk-missing', ['run', '--kernel', k, '--disk', os.path.join(tmp, 'nope.img')],
             r'nope.img does not exist'),
            ('disk-not-512', ['run', '--kernel', k, '--disk', odd_disk], r'multiple of 512'),
            ('disk-directory', ['run', '--kernel', k, '--disk', tmp], r'not a regular file|directory'),
            ('disk-bad-option', ['run', '--kernel', k, '--disk', f'{good_disk},fast'],
             r"unknown option 'fast'"),
            ('disk-bad-cache', ['run', '--kernel', k, '--disk', f'{good_disk},cache=sometimes'],
             r'cache'),
            ('disk-serial-too-long', ['run', '--kernel', k, '--disk', f'{good_disk},serial=' + 'x' * 21],
             r'serial'),
            ('disk-no-path', ['run', '--kernel', k, '--disk', ',readonly'], r'path'),
            ('net-no-tap', ['run', '--kernel', k, '--net', 'mac=52:54:00:00:00:01'], r'tap='),
            ('net-bad-mac', ['run', '--kernel', k, '--net', 'tap=kt0,mac=zz:zz'], r'mac'),
            ('net-multicast-mac', ['run', '--kernel', k, '--net', 'tap=kt0,mac=01:00:5e:00:00:01'],
             r'mac'),
            ('net-long-name', ['run', '--kernel', k, '--net', 'tap=' + 'n' * 20], r'name'),
            ('console-bad', ['run', '--kernel', k, '--console', 'vga'], r"--console must be"),
            ('profile-unwritable', ['run', '--kernel', k, '--profile-guest',
                                    os.path.join(tmp, 'no-such-dir', 'p.txt')],
             r"--profile-guest: cannot write .*No such file"),
        ]
        nobody = None
        if os.geteuid() == 0 and shutil.which('setpriv'):
            nobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']
        for name, args, pattern in cases:
            # An empty cache: 'kite run' alone must not find a default guest.
            cli_case(res, f'cli/{name}', ['env', f'KITE_CACHE={tmp}/no-cache', kite] + args, pattern)
        # An image another VM has open read-write (an OFD write lock, as kite takes).
        import fcntl
        import struct
        lock_fd = os.open(good_disk, os.O_RDWR)
        try:
            fcntl.fcntl(lock_fd, getattr(fcntl, 'F_OFD_SETLK', 37),
                        struct.pack('hhqqi4x', fcntl.F_WRLCK, 0, 0, 0, 0))
            cli_case(res, 'cli/disk-locked', ['env', f'KITE_CACHE={tmp}/no-cache', kite, 'run',
                                              '--kernel', k, '--disk', good_disk],
                     r'locked|in use')
        finally:
            os.close(lock_fd)
        if nobody and os.path.exists(unreadable):
            # An unreadable kernel: as root every file is readable, so drop to nobody.
            os.chmod(kite, os.stat(kite).st_mode | 0o005)
            cli_case(res, 'cli/unreadable-kernel', nobody + [kite, 'run', '--kernel', unreadable],
                     r'cannot read kernel')
            # As nobody, but with a /dev/kvm nobody may open (private mount namespace).
            kvm_dev = os.stat('/dev/kvm').st_rdev if os.path.exists('/dev/kvm') else None
            if kvm_dev is not None and shutil.which('unshare'):
                def as_nobody_with_kvm(args):
                    node = os.path.join(tmp, 'kvm-node')
                    inner = ' '.join(shlex.quote(a) for a in nobody + [kite] + args)
                    return ['unshare', '--mount', '--propagation', 'private', 'sh', '-c',
                            f'rm -f {node} && mknod {node} c {os.major(kvm_dev)} {os.minor(kvm_dev)} && '
                            f'chmod 666 {node} && mount --bind {node} /dev/kvm && exec {inner}']
                # A TAP nobody may create.
                cli_case(res, 'cli/net-tap-no-permission',
                         as_nobody_with_kvm(['run', '--kernel', k, '--net', 'tap=kitenope0']),
                         r"TAP 'kitenope0'")
                # An unreadable disk image.
                os.chmod(good_disk, 0o600)
                cli_case(res, 'cli/disk-unreadable',
                         as_nobody_with_kvm(['run', '--kernel', k, '--disk', good_disk]), r'good.img')
            else:
                res.skip('cli/net-tap-no-permission', 'needs /dev/kvm and unshare')
                res.skip('cli/disk-unreadable', 'needs /dev/kvm and unshare')
            # No permission on /dev/kvm (it is root-only here).
            if os.path.exists('/dev/kvm') and not (os.stat('/dev/kvm').st_mode & 0o006):
                cli_case(res, 'cli/no-kvm-permission', nobody + [kite, 'run', '--kernel', garbage_ok(tmp, guest_elf)],
                         r'no permission to open /dev/kvm.*kvm.*group')
            else:
                res.skip('cli/no-kvm-permission', '/dev/kvm is accessible to everyone on this host')
        else:
            res.skip('cli/unreadable-kernel', 'needs root and setpriv to test as an unprivileged user')
            res.skip('cli/net-tap-no-permission', 'needs root and setpriv to test as an unprivileged user')
            res.skip('cli/disk-unreadable', 'needs root and setpriv to test as an unprivileged user')
            res.skip('cli/no-kvm-permission', 'needs root and setpriv to test as an unprivileged user')
        if os.geteuid() == 0 and shutil.which('unshare'):
            # No /dev/kvm at all: an empty /dev in a private mount namespace.
            cli_case(res, 'cli/no-dev-kvm',
                     ['unshare', '--mount', '--propagation', 'private', 'sh', '-c',
                      f'mount -t tmpfs none /dev && exec {kite} run --kernel {k}'],
                     r'/dev/kvm does not exist.*modprobe')
        else:
            res.skip('cli/no-dev-kvm', 'needs root and unshare for a private mount namespace')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def elf_load_end(data):
    """End offset in the file of the last PT_LOAD segment's data."""
    import struct
    phoff, = struct.unpack_from('<Q', data, 0x20)
    phentsize, phnum = struct.unpack_from('<HH', data, 0x36)
    end = 0
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from('<IIQQQQ', data, phoff + i * phentsize)
        if p_type == 1:
            end = max(end, p_offset + p_filesz)
    return end


def garbage_ok(tmp, guest_elf):
    """A kernel readable by nobody (the permission check on /dev/kvm comes first)."""
    p = os.path.join(tmp, 'readable.elf')
    shutil.copy(guest_elf, p)
    os.chmod(p, 0o644)
    return p


# ---------------------------------------------------------------- guest tests

def expand(s, now):
    return s.replace('{epoch}', str(now))


def check_case(res, name, case, status, out, secs, timed_out, want_exit, expect=None):
    if timed_out:
        res.fail(name, f'timed out after {case.get("timeout", 60)}s', out)
        return
    missing = [e for e in (expect or case['expect']) if e not in out]
    if missing:
        res.fail(name, f'missing output {missing!r} (exit status {status})', out)
    elif 'KITE-TEST-FAIL' in out:
        res.fail(name, 'the guest reported a failure', out)
    elif status != want_exit:
        res.fail(name, f'exit status {status}, expected {want_exit}', out)
    else:
        res.ok(name, secs)


def guest_tests_kite(res, kite, elf, cases, only):
    for case in cases:
        name = f'guest-kite/{case["name"]}'
        if only and not re.search(only, name):
            continue
        now = int(time.time())
        cmd = [kite, 'run', '--kernel', elf, '--memory', case['memory'],
               '--cpus', str(case['cpus']), '--cmdline', expand(case['cmdline'], now)]
        cmd += case.get('kite_args', [])
        status, out, secs, timed_out = run(cmd, case.get('timeout', 60))
        want, expect = case.get('kite_exit', 0), None
        if PVM_HOST and case.get('kite_exit_on_pvm') is not None:
            want, expect = case['kite_exit_on_pvm'], case.get('expect_on_pvm')
        check_case(res, name, case, status, out, secs, timed_out, want, expect)


def read_until(fd, needle, count, timeout):
    """Read from fd until `needle` was seen `count` times; returns (ok, text)."""
    import select
    buf = b''
    end = time.monotonic() + timeout
    while buf.count(needle) < count:
        left = end - time.monotonic()
        if left <= 0:
            return False, buf.decode('utf-8', 'replace')
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b''
        if not chunk:
            return False, buf.decode('utf-8', 'replace')
        buf += chunk
    return True, buf.decode('utf-8', 'replace')


def profile_test(res, kite, elf, only):
    """--profile-guest: samples of vCPU 0 that bench/guest-profile attributes to
    the function the test guest spends its time in."""
    name = 'guest-kite/profile-guest'
    if only and not re.search(only, name):
        return
    import tempfile
    with tempfile.TemporaryDirectory(prefix='kite-prof-') as tmp:
        prof = os.path.join(tmp, 'p.txt')
        status, out, secs, timed_out = run([kite, 'run', '--kernel', elf, '--memory', '256M',
                                            '--cmdline', 'test=memmap mem=256M',
                                            '--profile-guest', prof], 60)
        if timed_out or status != 0:
            res.fail(name, f'exit status {status}, expected 0', out)
            return
        lines = open(prof).read().splitlines()
        bad = [line for line in lines if not re.fullmatch(r'\d+\.\d{6} [0-9a-f]+( [0-9a-f]+)*', line)]
        rep = subprocess.run([os.path.join(ROOT, 'bench', 'guest-profile'), elf, prof, '--top', '1'],
                             capture_output=True, text=True)
        m = re.search(r'^\s*(\d+)\s+([\d.]+)%\s+(\S+)', rep.stdout, re.M)
        if len(lines) < 20 or bad:
            res.fail(name, f'{len(lines)} samples (>= 20 expected), malformed: {bad[:2]}', out)
        elif rep.returncode != 0 or not m or m.group(3) != 'memmap_touch_user' or float(m.group(2)) < 50:
            res.fail(name, 'bench/guest-profile does not put most samples in the test guest\'s '
                     f'memmap_touch_user loop:\n{rep.stdout}{rep.stderr}', out)
        else:
            res.ok(name, secs)


def sigterm_after_resets(kite, elf, resets):
    """Run the test guest that resets at once, with --on-reboot=restart, and
    send kite SIGTERM as soon as KITE-RESET was printed `resets` times.
    Returns (the resets were seen, output, exit status or None when kite did
    not exit within 10 s of the signal)."""
    p = subprocess.Popen([kite, 'run', '--kernel', elf, '--memory', '64M',
                          '--on-reboot=restart', '--cmdline', 'test=reset'],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    ok, out = read_until(p.stdout.fileno(), b'KITE-RESET', resets, 30)
    p.send_signal(signal.SIGTERM)
    try:
        rest, _ = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        return ok, out + '\n(kite did not exit within 10 s of SIGTERM)', None
    return ok, out + rest.decode('utf-8', 'replace'), p.returncode


def runtime_tests_kite(res, kite, elf, only):
    """Behaviour over a VM's lifetime: restart on reset, signals, the console escape."""
    name = 'guest-kite/reset-restart-then-sigterm'
    if not only or re.search(only, name):
        t0 = time.monotonic()
        ok, out, status = sigterm_after_resets(kite, elf, 3)
        if not ok or status is None:
            res.fail(name, 'the guest did not boot 3 times with --on-reboot=restart', out)
        elif status != 128 + signal.SIGTERM:
            res.fail(name, f'exit status {status} after SIGTERM, expected 143', out)
        elif 'received signal 15' not in out:
            res.fail(name, 'no message about the signal', out)
        else:
            res.ok(name, time.monotonic() - t0)

    name = 'guest-kite/sigterm-while-restarting'
    if not only or re.search(only, name):
        # The test guest resets right after it prints KITE-RESET, so a signal
        # sent as soon as that line arrives often lands while kite handles the
        # reset: it must still stop kite (it was once dropped as "the VM is
        # stopping already" and the VM restarted forever).
        t0 = time.monotonic()
        for i in range(12):
            resets = 1 + i % 4
            ok, out, status = sigterm_after_resets(kite, elf, resets)
            if status is None:
                why = 'kite did not exit within 10 s of SIGTERM'
            elif not ok:
                why = f'the guest did not reset {resets} times'
            elif status != 128 + signal.SIGTERM:
                why = f'exit status {status} after SIGTERM, expected 143'
            else:
                continue
            res.fail(name, f'run {i + 1}: {why}', out)
            break
        else:
            res.ok(name, time.monotonic() - t0)

    name = 'guest-kite/console-ctrl-a-x'
    if not only or re.search(only, name):
        import pty
        import termios
        t0 = time.monotonic()
        master, slave = pty.openpty()
        before = termios.tcgetattr(slave)
        p = subprocess.Popen([kite, 'run', '--kernel', elf, '--memory', '64M',
                              '--on-reboot=restart', '--cmdline', 'test=reset'],
                             stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
        ok, out = read_until(master, b'KITE-RESET', 1, 30)
        raw = termios.tcgetattr(slave)
        os.write(master, b'\x01x')
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            ok = False
            out += '\n(kite did not quit on Ctrl-A x)'
        after = termios.tcgetattr(slave)
        os.close(master)
        os.close(slave)
        if not ok:
            res.fail(name, 'guest did not start or kite did not quit', out)
        elif p.returncode != 0:
            res.fail(name, f'exit status {p.returncode}, expected 0', out)
        elif raw[3] & termios.ECHO or raw[3] & termios.ICANON:
            res.fail(name, 'the terminal was not in raw mode while the guest ran', out)
        elif after != before:
            res.fail(name, 'the terminal settings were not restored', out)
        else:
            res.ok(name, time.monotonic() - t0)


def guest_tests_qemu(res, elf, cases, base, only):
    qemu = shutil.which('qemu-system-x86_64')
    for case in cases:
        name = f'guest-qemu/{case["name"]}'
        if only and not re.search(only, name):
            continue
        if not qemu:
            res.skip(name, 'qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)')
            continue
        if case.get('qemu_skip'):
            res.skip(name, case['qemu_skip'])
            continue
        if PVM_HOST and case.get('qemu_skip_on_pvm'):
            res.skip(name, 'kvm-pvm host: ' + case['qemu_skip_on_pvm'])
            continue
        now = int(time.time())
        cmd = [qemu] + (case.get('qemu_base') or base) + ['-m', case['memory'], '-smp', str(case['cpus']),
                               '-kernel', elf, '-append', expand(case['cmdline'], now)]
        cmd += case.get('qemu_args', [])
        status, out, secs, timed_out = run(cmd, case.get('timeout', 60))
        check_case(res, name, case, status, out, secs, timed_out, case.get('qemu_exit', 0))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--build', default=os.path.join(ROOT, 'build'), help='build directory')
    ap.add_argument('--asan-build', default=os.path.join(ROOT, 'build-asan'),
                    help='AddressSanitizer+UBSan build of the unit tests (used if present)')
    ap.add_argument('--only', help='run only tests whose name matches this regex')
    ap.add_argument('--fuzz-build', default=os.path.join(ROOT, 'build-fuzz'),
                    help='libFuzzer build (used if present)')
    ap.add_argument('--fuzz-seconds', type=int, default=int(os.environ.get('KITE_FUZZ_SECONDS', '30')),
                    help='seconds per fuzz target (default 30, or $KITE_FUZZ_SECONDS)')
    ap.add_argument('--no-qemu', action='store_true', help='skip the QEMU cross-check')
    ap.add_argument('--no-linux', action='store_true', help='skip the Linux guest tests')
    ap.add_argument('-v', '--verbose', action='store_true')
    args = ap.parse_args()

    res = Results(args.verbose)
    kite = os.path.join(args.build, 'src', 'kite')
    elf = os.path.join(args.build, 'tests', 'guest', 'kite-testguest.elf')
    t0 = time.monotonic()

    def want(prefix):
        return not args.only or re.search(args.only, prefix) or args.only.startswith(prefix)

    if want('unit/'):
        unit_tests(res, args.build, 'unit')
    if want('unit-asan/'):
        if os.path.isdir(os.path.join(args.asan_build, 'tests', 'unit')):
            unit_tests(res, args.asan_build, 'unit-asan')
        else:
            res.skip('unit-asan', f'no sanitizer build at {args.asan_build} '
                     '(setup.sh --asan or .ci/run makes one)')
    if want('fuzz/'):
        fuzz_tests(res, args.fuzz_build, args.fuzz_seconds)
    if not os.access(kite, os.X_OK):
        res.fail('build', f'{kite} is missing: run ./setup.sh first')
    else:
        if want('cli/'):
            cli_tests(res, kite, elf if os.path.exists(elf) else None)
        try:
            import cases as guest_cases
        except Exception as e:  # noqa: BLE001 - report any import problem as a failure
            res.fail('guest', f'cannot load tests/guest/cases.py: {e}')
            guest_cases = None
        if guest_cases and not os.path.exists(elf):
            res.fail('guest', f'{elf} is missing: run ./setup.sh first')
        elif guest_cases:
            if not os.path.exists('/dev/kvm'):
                res.skip('guest', '/dev/kvm is missing: guest tests need KVM')
            else:
                guest_tests_kite(res, kite, elf, guest_cases.CASES, args.only)
                runtime_tests_kite(res, kite, elf, args.only)
                profile_test(res, kite, elf, args.only)
                if args.no_qemu:
                    res.skip('guest-qemu', '--no-qemu given')
                else:
                    guest_tests_qemu(res, elf, guest_cases.CASES, guest_cases.QEMU_BASE, args.only)
                # virtio-pci devices: disk images, a TAP, a console socket (host side there)
                import virtio_cases
                virtio_cases.run_virtio_cases(res, kite, elf, args.only, qemu=not args.no_qemu)
                # pause/resume, snapshots and restore (the migration-test pattern)
                import snapshot_tests
                snapshot_tests.tests(res, kite, elf, args.only)
                # live migration: kite->kite, faults, QEMU, a Linux TCP connection
                import migration_tests
                migration_tests.tests(res, kite, elf, args.only, linux_guest=not args.no_linux)
                # the control API (--api-socket)
                import api_tests
                api_tests.tests(res, kite, elf, args.only)
                # memory backends, huge pages, NUMA (test guest, Linux, bad input)
                import linux_memory
                linux_memory.tests(res, kite, elf, args.only, linux_guest=not args.no_linux)
        if os.path.exists('/dev/kvm') and not args.no_linux:
            import linux
            linux.default_guest_tests(res, kite, args.only)
            import linux_virtio
            linux_virtio.tests(res, kite, args.only)
            import balloon_tests
            balloon_tests.tests(res, kite, elf, args.only)
            linux.stock_kernel_tests(res, kite, args.only)

    print(f'\n# {time.monotonic() - t0:.1f}s; failed: {", ".join(res.failures) or "none"}')
    print(f'{res.passed} passed, {res.failed} failed, {res.skipped} skipped')
    return 1 if res.failed else 0


if __name__ == '__main__':
    sys.exit(main())
