# SPDX-License-Identifier: GPL-2.0-only
"""snapshot/...: pause/resume, snapshots and `kite run --restore` with the test
guest's migrate test (tests/guest/test_migrate.c), driven through the control
API (--api-socket, HTTP/1.1 + JSON on a unix socket).

The guest keeps incrementing the first byte of every 4 KiB page of a buffer,
pass after pass, counts passes in its info page and prints
`KITE-MIG pass=N cpu1=M` about every 0.5 s.  So the host can tell whether a
VM runs (the lines keep coming, the counters rise), and whether a memory
image is consistent: every page's first byte is P mod 256 or P+1 mod 256 for
the saved pass counter P, with at most one edge (where the writer was).

Entry point: tests(res, kite, elf, only).  While kite has no --api-socket, or
PUT /vm/snapshot answers 501, the tests that need it are skipped with that
reason.  Standard library only.
"""

import hashlib
import http.client
import json
import mmap
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import zlib

PROGRESS = re.compile(r'^KITE-MIG pass=(\d+)((?: cpu\d+=\d+)*)(?: tsc=(\d+))?\s*$')
HEADER = re.compile(r'^KITE-MIG buf=0x([0-9a-f]+) size=0x([0-9a-f]+) info=0x([0-9a-f]+) cpus=(\d+)'
                    r' tsc_khz=(\d+)')
MIG_MAGIC = 0x3147494D4554494B          # "KITEMIG1", test_migrate.c
STATE_HEADER = struct.Struct('<8sII16sQII')  # src/state/format.h: struct state_header
PAGE = 4096


class Skip(Exception):
    """A test that cannot run yet (reason in the message)."""


class Fail(Exception):
    """A failed check (reason in the message)."""


# ---------------------------------------------------------------- the API

class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__('localhost', timeout=timeout)
        self._unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self._unix_path)
        self.sock = s


def api(sock, method, path, body=None, timeout=60):
    """One request; returns (status, parsed JSON or None, raw text)."""
    c = _UnixHTTPConnection(sock, timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        headers = {'Content-Type': 'application/json'} if data is not None else {}
        c.request(method, path, body=data, headers=headers)
        r = c.getresponse()
        raw = r.read().decode('utf-8', 'replace')
        try:
            js = json.loads(raw) if raw.strip() else None
        except ValueError:
            js = None
        return r.status, js, raw
    finally:
        c.close()


# ---------------------------------------------------------------- a VM

class Vm:
    """A kite process; its stdout (the guest's serial console) and stderr are
    collected line by line, with the time each line arrived."""

    def __init__(self, label, cmd, sock=None):
        self.label = label
        self.cmd = cmd
        self.sock = sock
        self.out = []           # (monotonic time, line) from stdout
        self.err = []           # lines from stderr
        self.cv = threading.Condition()
        self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, start_new_session=True)
        self.threads = [threading.Thread(target=self._reader, args=(self.p.stdout, self.out), daemon=True),
                        threading.Thread(target=self._reader, args=(self.p.stderr, self.err), daemon=True)]
        for t in self.threads:
            t.start()

    def _reader(self, f, into):
        for raw in iter(f.readline, b''):
            line = raw.decode('utf-8', 'replace').rstrip('\n')
            with self.cv:
                into.append((time.monotonic(), line) if into is self.out else line)
                self.cv.notify_all()
        with self.cv:
            self.cv.notify_all()

    def log(self):
        with self.cv:
            lines = [l for _, l in self.out] + ['(stderr)'] + list(self.err)
        return f'[{self.label}] ' + ' '.join(self.cmd) + '\n' + '\n'.join(lines[-40:])

    def header(self):
        with self.cv:
            for _, l in self.out:
                m = HEADER.match(l)
                if m:
                    return dict(buf=int(m.group(1), 16), size=int(m.group(2), 16),
                                info=int(m.group(3), 16), cpus=int(m.group(4)),
                                tsc_khz=int(m.group(5)))
        return None

    def progress(self):
        """[(time, pass, {cpu: count}, guest TSC)] from the progress lines so far."""
        res = []
        with self.cv:
            for t, l in self.out:
                m = PROGRESS.match(l)
                if m:
                    cpus = {int(a): int(b) for a, b in re.findall(r'cpu(\d+)=(\d+)', m.group(2))}
                    res.append((t, int(m.group(1)), cpus, int(m.group(3) or 0)))
        return res

    def wait_progress(self, n, timeout=20):
        """Wait until there are n progress lines; Fail if not."""
        end = time.monotonic() + timeout
        with self.cv:
            while True:
                got = len(self.progress())
                if got >= n:
                    return self.progress()
                if self.p.poll() is not None and not any(t.is_alive() for t in self.threads):
                    raise Fail(f'{self.label}: kite exited with status {self.p.returncode} '
                               f'after {got} progress lines (wanted {n})')
                left = end - time.monotonic()
                if left <= 0:
                    raise Fail(f'{self.label}: {got} progress lines after {timeout}s, wanted {n}')
                self.cv.wait(min(left, 0.5))

    def wait_api(self, timeout=15):
        """Wait until GET /vm answers; Skip if kite does not know --api-socket."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.p.poll() is not None:
                time.sleep(0.1)
                err = '\n'.join(self.err)
                if self.p.returncode == 2 and re.search(r"unknown option '--api-socket'|unrecognized",
                                                        err):
                    raise Skip('kite has no --api-socket yet')
                raise Fail(f'{self.label}: kite exited with status {self.p.returncode} before '
                           f'its API answered: {err.strip()[:300]}')
            if os.path.exists(self.sock):
                try:
                    st, js, raw = api(self.sock, 'GET', '/vm', timeout=5)
                    if st == 200:
                        return js
                except OSError:
                    pass
            time.sleep(0.05)
        raise Fail(f'{self.label}: GET /vm did not answer within {timeout}s')

    def stop(self, timeout=15):
        """SIGTERM, then SIGKILL; returns the exit status."""
        if self.p.poll() is None:
            try:
                self.p.send_signal(signal.SIGTERM)
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
        for t in self.threads:
            t.join(timeout=5)
        return self.p.returncode

    def kill(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except OSError:
                pass
            self.p.wait()


def rising(prog, what):
    """Counters never go back from line to line, and rise over the lines.  (A line
    may repeat the pass: right after a restore the guest faults its memory in
    and can spend a whole period on less than one pass.)"""
    for (_, p0, c0, _), (_, p1, c1, _) in zip(prog, prog[1:]):
        if p1 < p0:
            raise Fail(f'{what}: pass counter went back {p0} -> {p1}')
        for cpu, v in c0.items():
            if c1.get(cpu, -1) < v:
                raise Fail(f'{what}: cpu{cpu} counter went back {v} -> {c1.get(cpu)}')
    if prog[-1][1] <= prog[0][1]:
        raise Fail(f'{what}: pass counter stuck at {prog[0][1]} over {len(prog)} lines')
    for cpu, v in prog[0][2].items():
        if prog[-1][2].get(cpu, -1) <= v:
            raise Fail(f'{what}: cpu{cpu} counter stuck at {v} over {len(prog)} lines')


def console_clean(vm):
    """A restored VM's console: progress lines only; the first line may be the
    rest of one the snapshot cut in the middle."""
    with vm.cv:
        lines = [l for _, l in vm.out]
    for i, l in enumerate(lines):
        if PROGRESS.match(l):
            continue
        if i == 0 and re.fullmatch(r'[A-Za-z0-9=\- ]+', l) and 'KITE-MIG' not in l[1:]:
            continue
        raise Fail(f'{vm.label}: unexpected console line {i + 1} after the restore: {l!r}')


def file_digest(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def check_memory(snap, hdr, mem_bytes):
    """DIR/memory against the migrate test's pattern; returns (pass, {cpu: count}, where)."""
    path = os.path.join(snap, 'memory')
    st = os.stat(path)
    if st.st_size != mem_bytes:
        raise Fail(f'{path} is {st.st_size} bytes, the guest has {mem_bytes}')
    with open(path, 'rb') as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        info = mm[hdr['info']:hdr['info'] + PAGE]
        firsts = mm[hdr['buf']:hdr['buf'] + hdr['size']:PAGE]
    magic, passes, _pos, buf, size, ncpus = struct.unpack_from('<6Q', info)
    if magic != MIG_MAGIC:
        raise Fail(f'no migrate test magic at {hdr["info"]:#x} in the memory file ({magic:#x})')
    if (buf, size, ncpus) != (hdr['buf'], hdr['size'], hdr['cpus']):
        raise Fail(f'info page says buf={buf:#x} size={size:#x} cpus={ncpus}, the console said '
                   f'{hdr}')
    cpus = {k: struct.unpack_from('<Q', info, 64 * k)[0] for k in range(1, ncpus)}
    lo, hi = passes & 0xFF, (passes + 1) & 0xFF
    edges = [i for i in range(1, len(firsts)) if firsts[i] != firsts[i - 1]]
    if len(edges) > 1:
        raise Fail(f'{len(edges)} edges in the buffer pattern (pages {edges[:5]}...; values '
                   f'{[firsts[i] for i in edges[:5]]}), expected at most one; pass counter {passes}')
    k = edges[0] if edges else (len(firsts) if firsts[0] == hi else 0)
    if any(b != hi for b in firsts[:k]) or any(b != lo for b in firsts[k:]):
        raise Fail(f'buffer pattern {firsts[0]}..{firsts[-1]} (edge at page {k}) does not match '
                   f'the pass counter {passes} (expected {hi} below the edge, {lo} above)')
    return passes, cpus, f'pass {passes}, writer at page {k} of {len(firsts)}'


def write_disk(path, size=4 << 20):
    data = random.Random(0x6B697465).randbytes(size)
    with open(path, 'wb') as f:
        f.write(data)
    return hashlib.sha256(data).hexdigest()


def run_cmd(cmd, timeout=30):
    """(status, stdout, stderr, timed_out)."""
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        timed_out = True
    return p.returncode, out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace'), timed_out


# ---------------------------------------------------------------- the tests

class Suite:
    MEM = '256M'
    MEM_BYTES = 256 << 20

    def __init__(self, res, kite, elf, only):
        self.res, self.kite, self.elf, self.only = res, kite, elf, only
        self.tmp = tempfile.mkdtemp(prefix='kite-snap-')
        self.vms = []
        self.no_api = None          # reason the API tests are skipped
        self.base = None            # (snapshot dir, header, pass) for restore-twice/refusals
        self.disk_snap = None       # (snapshot dir, disk image) of a VM with a disk
        self.n = 0

    def want(self, name):
        return not self.only or re.search(self.only, name)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def vm(self, label, args, api=True, prefix=None):
        sock = None
        cmd = [self.kite, 'run'] + args
        if api:
            self.n += 1
            sock = self.path(f'api{self.n}.sock')
            cmd += ['--api-socket', sock]
        v = Vm(label, (prefix or []) + cmd, sock)
        self.vms.append(v)
        return v

    def boot(self, label, cpus=1, mem=None, buf='32M', extra=(), api=True, prefix=None):
        args = ['--kernel', self.elf, '--memory', mem or self.MEM, '--cpus', str(cpus),
                '--cmdline', f'test=migrate buf={buf} cpus={cpus}'] + list(extra)
        v = self.vm(label, args, api=api, prefix=prefix)
        if api:
            try:
                v.wait_api()
            except Skip as e:
                self.no_api = str(e)
                raise
        return v

    def snapshot(self, v, d, expect_ok=True):
        """PUT /vm/snapshot; Skip while it answers 501."""
        st, js, raw = api(v.sock, 'PUT', '/vm/snapshot', {'dir': d}, timeout=120)
        if st == 501:
            self.no_api = f'PUT /vm/snapshot answers 501: {(js or {}).get("error", raw).strip()}'
            raise Skip(self.no_api)
        if expect_ok and st != 200:
            raise Fail(f'PUT /vm/snapshot {d}: {st} {raw.strip()}')
        return st, js, raw

    def run_test(self, name, fn):
        if not self.want(name):
            return
        if self.no_api and getattr(fn, 'needs_api', True):
            self.res.skip(name, self.no_api)
            return
        t0 = time.monotonic()
        vms_before = len(self.vms)
        try:
            note = fn() or ''
            self.res.ok(name, time.monotonic() - t0, f' {note}' if note else '')
        except Skip as e:
            self.res.skip(name, str(e))
        except Fail as e:
            logs = '\n'.join(v.log() for v in self.vms[vms_before:])
            self.res.fail(name, str(e), logs)
        except Exception as e:  # noqa: BLE001 - a harness error is a failure, not a crash
            logs = '\n'.join(v.log() for v in self.vms[vms_before:])
            self.res.fail(name, f'{type(e).__name__}: {e}', logs)
        finally:
            for v in self.vms[vms_before:]:
                v.kill()

    # -------------------------------------------------------- pause/resume

    def t_pause_resume(self):
        v = self.boot('vm', cpus=2)
        v.wait_progress(2)
        st, js, raw = api(v.sock, 'PUT', '/vm/pause')
        if st != 200:
            raise Fail(f'PUT /vm/pause: {st} {raw.strip()}')
        st, js, raw = api(v.sock, 'GET', '/vm')
        if st != 200 or (js or {}).get('state') != 'paused':
            raise Fail(f'GET /vm after pause: {st} {raw.strip()}')
        st2, _, raw2 = api(v.sock, 'PUT', '/vm/pause')
        if st2 != 409:
            raise Fail(f'a second PUT /vm/pause answered {st2} {raw2.strip()}, expected 409')
        time.sleep(0.2)             # a line already on its way
        n_paused = len(v.progress())
        time.sleep(1.2)
        if len(v.progress()) != n_paused:
            raise Fail(f'{len(v.progress()) - n_paused} progress lines while paused')
        st, js, raw = api(v.sock, 'PUT', '/vm/resume')
        if st != 200 or (js or {}).get('state') != 'running':
            raise Fail(f'PUT /vm/resume: {st} {raw.strip()}')
        prog = v.wait_progress(n_paused + 3)
        rising(prog, 'across pause/resume')
        if not prog[-1][2].get(1):
            raise Fail('no cpu1 counter in the progress lines')
        return f'pass {prog[n_paused - 1][1]} -> {prog[-1][1]}, cpu1 counting'

    # ------------------------------------ snapshot while paused, overwrite

    def t_snapshot_paused(self):
        v = self.boot('vm', cpus=1)
        v.wait_progress(2)
        hdr = v.header()
        st, js, raw = api(v.sock, 'PUT', '/vm/pause')
        if st != 200:
            raise Fail(f'PUT /vm/pause: {st} {raw.strip()}')
        time.sleep(0.2)
        n = len(v.progress())
        last = v.progress()[-1][1]
        snap = self.path('paused')
        t0 = time.monotonic()
        st, js, raw = self.snapshot(v, snap)
        took = time.monotonic() - t0
        if (js or {}).get('state') != 'paused':
            raise Fail(f'PUT /vm/snapshot of a paused VM answered {raw.strip()}: not paused')
        first, _, _ = check_memory(snap, hdr, self.MEM_BYTES)
        if first < last:
            raise Fail(f'the snapshot holds pass {first}, the guest printed {last} before')
        time.sleep(1.0)
        if len(v.progress()) != n:
            raise Fail('the paused VM ran after the snapshot (progress lines appeared)')
        st, js, raw = api(v.sock, 'PUT', '/vm/resume')
        if st != 200:
            raise Fail(f'PUT /vm/resume: {st} {raw.strip()}')
        v.wait_progress(n + 2)
        # Again into the same directory, running: the new snapshot replaces the old one.
        self.snapshot(v, snap)
        second, _, _ = check_memory(snap, hdr, self.MEM_BYTES)
        if second <= first:
            raise Fail(f'the second snapshot in {snap} holds pass {second}, the first {first}')
        left = sorted(f for f in os.listdir(self.tmp) if f.startswith('paused'))
        if left != ['paused']:
            raise Fail(f'left next to the snapshot: {left}')
        rising(v.wait_progress(len(v.progress()) + 2), 'after two snapshots')
        return f'paused snapshot at pass {first} in {took:.2f}s, replaced by pass {second}'

    # ---------------------------------------------- snapshot -> restore

    def t_snapshot_restore(self):
        disk = self.path('disk.img')
        disk_sum = write_disk(disk)
        v = self.boot('original', cpus=2, extra=['--disk', disk])
        v.wait_progress(2)
        hdr = v.header()
        snap = self.path('snap')
        before, tsc_before = v.progress()[-1][1], v.progress()[-1][3]
        t_snap = time.monotonic()
        self.snapshot(v, snap)
        for f in ('state', 'memory'):
            if not os.path.isfile(os.path.join(snap, f)):
                raise Fail(f'no {f} file in {snap}: {os.listdir(snap)}')
        saved, cpus, where = check_memory(snap, hdr, self.MEM_BYTES)
        if saved < before:
            raise Fail(f'the snapshot holds pass {saved}, the guest had printed pass {before} before')
        if not cpus.get(1):
            raise Fail('cpu1\'s counter is 0 in the snapshot')
        # The original keeps running after the snapshot.
        n = len(v.progress())
        rising(v.wait_progress(n + 2), 'the original after the snapshot')
        st = v.stop()
        if st != 128 + signal.SIGTERM:
            raise Fail(f'the original exited with {st} after SIGTERM, expected 143')
        if file_digest(disk) != disk_sum:
            raise Fail('the disk image changed while the original ran')
        mem_sum = file_digest(os.path.join(snap, 'memory'))
        time.sleep(max(0.0, 4 - (time.monotonic() - t_snap)))   # >= 4 s down

        r = self.vm('restored', ['--restore', snap])
        down = time.monotonic() - t_snap
        info = r.wait_api()
        if info.get('state') != 'running' or info.get('vcpus') != 2:
            raise Fail(f'GET /vm on the restored VM: {info}')
        if not any(d.get('type') == 'virtio-blk' for d in info.get('devices', [])):
            raise Fail(f'the restored VM has no virtio-blk: {info.get("devices")}')
        prog = r.wait_progress(4)
        if r.header():
            raise Fail('the restored guest booted again (it printed its start line)')
        if prog[0][1] < saved:
            raise Fail(f'the restored guest printed pass {prog[0][1]}, the snapshot holds {saved}')
        if prog[0][2].get(1, 0) < cpus[1]:
            raise Fail(f'the restored cpu1 counter {prog[0][2].get(1)} < saved {cpus[1]}')
        rising(prog, 'the restored VM')
        console_clean(r)
        # The guest's TSC across save and restore: from the last line before the
        # snapshot to the first after the restore, at most two periods of running.
        tsc_gap = (prog[0][3] - tsc_before) / (hdr['tsc_khz'] * 1000.0)
        if prog[0][3] < tsc_before:
            raise Fail(f'the guest TSC went backwards across snapshot/restore: {tsc_before} '
                       f'-> {prog[0][3]} ({tsc_gap:.2f} s)')
        st = r.stop()
        if st != 128 + signal.SIGTERM:
            raise Fail(f'the restored VM exited with {st} after SIGTERM, expected 143')
        if file_digest(disk) != disk_sum:
            raise Fail('the disk image is not byte-identical after the restored VM ran')
        if file_digest(os.path.join(snap, 'memory')) != mem_sum:
            raise Fail('the snapshot\'s memory file changed while the restored VM ran')
        return (f'{where}; restored at pass {prog[0][1]}, cpu1 {cpus[1]} -> {prog[-1][2][1]}; '
                f'guest TSC advanced {tsc_gap:.2f} s over {down:.1f} s down')

    # ------------------------------------------- a snapshot for the others

    def base_snapshot(self):
        if self.base:
            return self.base
        v = self.boot('base', cpus=1)
        v.wait_progress(1)
        hdr = v.header()
        snap = self.path('base')
        self.snapshot(v, snap)
        saved, _, _ = check_memory(snap, hdr, self.MEM_BYTES)
        v.stop()
        self.base = (snap, hdr, saved)
        return self.base

    def t_restore_twice(self):
        snap, _, saved = self.base_snapshot()
        mem_sum = file_digest(os.path.join(snap, 'memory'))
        a = self.vm('restore-1', ['--restore', snap], api=False)
        b = self.vm('restore-2', ['--restore', snap], api=False)
        pa, pb = a.wait_progress(4), b.wait_progress(4)
        for label, p in (('first', pa), ('second', pb)):
            if p[0][1] < saved:
                raise Fail(f'the {label} restored VM printed pass {p[0][1]} < saved {saved}')
            rising(p, f'the {label} restored VM')
        console_clean(a)
        console_clean(b)
        for v in (a, b):
            if v.stop() != 128 + signal.SIGTERM:
                raise Fail(f'{v.label} exited with {v.p.returncode} after SIGTERM, expected 143')
        if file_digest(os.path.join(snap, 'memory')) != mem_sum:
            raise Fail('the snapshot\'s memory file changed while two VMs ran from it')
        return f'from pass {saved}: {pa[-1][1]} and {pb[-1][1]}'

    # ------------------------------------------------ bad snapshot targets

    def t_bad_dir(self):
        v = self.boot('vm', cpus=1)
        v.wait_progress(1)
        afile = self.path('a-file')
        with open(afile, 'w') as f:
            f.write('not a directory\n')
        notes = []
        for d, why in ((self.path('no/such/parent/snap'), 'a missing parent'),
                       (afile, 'a regular file'),
                       ('', 'an empty path')):
            st, js, raw = self.snapshot(v, d, expect_ok=False)
            if not (400 <= st < 500) or not isinstance(js, dict) or not js.get('error'):
                raise Fail(f'PUT /vm/snapshot into {why} ({d!r}): {st} {raw.strip()}, expected '
                           '4xx with a JSON error')
            notes.append(str(st))
        with open(afile) as f:
            if f.read() != 'not a directory\n':
                raise Fail('the regular file given as the snapshot directory was changed')
        s2, info, raw2 = api(v.sock, 'GET', '/vm')
        if s2 != 200 or (info or {}).get('state') != 'running':
            raise Fail(f'GET /vm after the refused snapshots: {s2} {raw2.strip()}')
        n = len(v.progress())
        rising(v.wait_progress(n + 2)[n - 1:], 'the VM after the refused snapshots')
        return '/'.join(notes)

    # ------------------------------- a snapshot of a restored VM, in place

    def t_resnapshot_in_place(self):
        snap, hdr, saved = self.base_snapshot()
        r = self.vm('restored', ['--restore', snap])
        r.wait_api()
        r.wait_progress(2)
        # Into the directory it was restored from (its memory file is mapped).
        self.snapshot(r, snap)
        again, _, _ = check_memory(snap, hdr, self.MEM_BYTES)
        if again <= saved:
            raise Fail(f'the new snapshot holds pass {again}, the one restored from {saved}')
        n = len(r.progress())
        rising(r.wait_progress(n + 2)[n - 1:], 'the restored VM after its own snapshot')
        r.stop()
        r2 = self.vm('restored-again', ['--restore', snap], api=False)
        p = r2.wait_progress(4)
        if p[0][1] < again:
            raise Fail(f'restored from the new snapshot at pass {p[0][1]} < {again}')
        rising(p, 'the VM restored from the new snapshot')
        console_clean(r2)
        self.base = (snap, hdr, again)
        return f'pass {saved} -> snapshot at {again} -> restored at {p[0][1]}'

    # ---------------------------------------------------------- refusals

    def refusal(self, args, pattern, timeout=10):
        status, out, err, timed_out = run_cmd([self.kite, 'run'] + args, timeout)
        lines = [l for l in err.splitlines() if l.strip()]
        log = f'$ kite run {" ".join(args)}\n{out}(stderr)\n{err}'
        if timed_out:
            raise Fail(f'not refused: kite still ran after {timeout}s (killed)\n' + log[-2000:])
        if status != 2:
            raise Fail(f'exit status {status}, expected 2' +
                       (f' (signal {-status})' if status < 0 else '') + '\n' + log)
        if len(lines) != 1:
            raise Fail(f'{len(lines)} lines on stderr, expected one\n{log}')
        if not re.search(pattern, err):
            raise Fail(f'message does not match /{pattern}/: {lines[0]}')
        return lines[0]

    def broken_copy(self, name, state=None, memory='link'):
        """A snapshot directory from the base one: state bytes, memory linked/absent/resized."""
        snap = self.base_snapshot()[0]
        d = self.path(name)
        os.mkdir(d)
        with open(os.path.join(snap, 'state'), 'rb') as f:
            data = f.read()
        with open(os.path.join(d, 'state'), 'wb') as f:
            f.write(state(data) if state else data)
        if memory == 'link':
            os.link(os.path.join(snap, 'memory'), os.path.join(d, 'memory'))
        elif memory is not None:
            with open(os.path.join(d, 'memory'), 'wb') as f:
                f.truncate(memory)
        return d

    def t_refuse_corrupt(self):
        def flip(b):
            b = bytearray(b)
            b[len(b) // 2] ^= 0x40
            return bytes(b)
        return self.refusal(['--restore', self.broken_copy('corrupt', flip)], r'CRC|corrupt')

    def t_refuse_truncated(self):
        return self.refusal(['--restore', self.broken_copy('truncated', lambda b: b[:len(b) // 2])],
                            r'truncated|short')

    def t_refuse_version(self):
        def bump(b):
            h = list(STATE_HEADER.unpack_from(b))
            h[1] += 1
            h[6] = zlib.crc32(STATE_HEADER.pack(*h)[:STATE_HEADER.size - 4])
            return STATE_HEADER.pack(*h) + b[STATE_HEADER.size:]
        return self.refusal(['--restore', self.broken_copy('version', bump)], r'version')

    def t_refuse_no_memory(self):
        return self.refusal(['--restore', self.broken_copy('nomem', memory=None)], r'memory')

    def t_refuse_memory_size(self):
        return self.refusal(['--restore', self.broken_copy('memsize', memory=self.MEM_BYTES // 2)],
                            r'memory.*(size|128)|size')

    def t_refuse_with_option(self, opt, value):
        snap = self.base[0] if self.base else self.path('no-such-snapshot')
        return self.refusal(['--restore', snap, opt, value], r'--restore', timeout=5)

    def disk_snapshot(self):
        if not self.disk_snap:
            disk = self.path('disk2.img')
            write_disk(disk)
            v = self.boot('with-disk', cpus=1, extra=['--disk', disk])
            v.wait_progress(1)
            snap = self.path('with-disk')
            self.snapshot(v, snap)
            v.stop()
            self.disk_snap = (snap, disk)
        return self.disk_snap

    def t_refuse_disk(self, size):
        """The snapshot's disk image gone (size None) or of another size."""
        snap, disk = self.disk_snapshot()
        os.rename(disk, disk + '.away')
        try:
            if size is not None:
                with open(disk, 'wb') as f:
                    f.truncate(size)
            return self.refusal(['--restore', snap], r'disk2\.img|sectors|disk')
        finally:
            if os.path.exists(disk):
                os.unlink(disk)
            os.rename(disk + '.away', disk)

    # ------------------------------------------------- a full filesystem

    def t_full_fs(self):
        if os.geteuid() != 0 or not shutil.which('unshare'):
            raise Skip('needs root and unshare for a private tmpfs')
        mnt = self.path('small')
        os.mkdir(mnt)
        # A small guest: its snapshot is ~2 MiB of data (image, page tables, 64 KiB buffer).
        mem, mem_bytes = '128M', 128 << 20
        prefix_cmd = None

        # Measure the snapshot first (outside the tmpfs) to size the tmpfs: one fits, two don't.
        probe = self.boot('probe', mem=mem, buf='64K')
        probe.wait_progress(1)
        m = self.path('measure')
        self.snapshot(probe, m)
        used = sum(os.stat(os.path.join(m, f)).st_blocks * 512 for f in ('state', 'memory'))
        probe.stop()
        size_kib = (used * 3 // 2 + 8192) // 4096 * 4
        prefix_cmd = ['unshare', '--mount', '--propagation', 'private', 'sh', '-c',
                      f'mount -t tmpfs -o size={size_kib}k none {mnt} && exec "$@"', 'sh']
        v = self.boot('vm', mem=mem, buf='64K', prefix=prefix_cmd)
        v.wait_progress(1)
        inside = f'/proc/{v.p.pid}/root{mnt}'     # the tmpfs, as kite sees it
        snap = os.path.join(mnt, 'snap')
        self.snapshot(v, snap)
        keep = self.path('kept')
        shutil.copytree(os.path.join(inside, 'snap'), keep)
        sums = {f: file_digest(os.path.join(keep, f)) for f in ('state', 'memory')}
        # Pass the previous snapshot; the second copy does not fit next to the first.
        n = len(v.progress())
        v.wait_progress(n + 1)
        st, js, raw = self.snapshot(v, snap, expect_ok=False)
        if st == 200:
            raise Fail(f'a snapshot into a full {size_kib} KiB tmpfs (snapshot: {used} bytes) '
                       f'succeeded')
        if not (400 <= st < 600) or not isinstance(js, dict) or not js.get('error'):
            raise Fail(f'PUT /vm/snapshot on a full filesystem: {st} {raw.strip()}, expected '
                       '4xx/5xx with a JSON error')
        if not re.search(r'space|ENOSPC', js['error'], re.I):
            raise Fail(f'the error does not say the disk is full: {js["error"]}')
        s2, info, raw2 = api(v.sock, 'GET', '/vm')
        if s2 != 200 or (info or {}).get('state') != 'running':
            raise Fail(f'GET /vm after the failed snapshot: {s2} {raw2.strip()}')
        n = len(v.progress())
        rising(v.wait_progress(n + 2)[n - 1:], 'the VM after the failed snapshot')
        left = sorted(os.listdir(inside))
        if left != ['snap']:
            raise Fail(f'the tmpfs holds {left} after the failed snapshot, expected only snap/')
        for f, s in sums.items():
            if file_digest(os.path.join(inside, 'snap', f)) != s:
                raise Fail(f'the previous snapshot\'s {f} changed after the failed snapshot')
        # A retry into a directory with room succeeds.
        retry = self.path('retry')
        self.snapshot(v, retry)
        check_memory(retry, v.header(), mem_bytes)
        v.stop()
        # And the kept snapshot still restores.
        r = self.vm('kept-restored', ['--restore', keep], api=False)
        rising(r.wait_progress(4), 'the VM restored from the kept snapshot')
        r.stop()
        return f'{st}: {js["error"]}'

    def run(self):
        for name, fn in [
            ('snapshot/pause-resume', self.t_pause_resume),
            ('snapshot/snapshot-while-paused-then-overwrite', self.t_snapshot_paused),
            ('snapshot/snapshot-restore-cpus2-disk', self.t_snapshot_restore),
            ('snapshot/restore-twice', self.t_restore_twice),
            ('snapshot/refuse-corrupt-state', self.t_refuse_corrupt),
            ('snapshot/refuse-truncated-state', self.t_refuse_truncated),
            ('snapshot/refuse-wrong-version', self.t_refuse_version),
            ('snapshot/refuse-missing-memory', self.t_refuse_no_memory),
            ('snapshot/refuse-memory-wrong-size', self.t_refuse_memory_size),
            ('snapshot/refuse-missing-disk', lambda: self.t_refuse_disk(None)),
            ('snapshot/refuse-resized-disk', lambda: self.t_refuse_disk(1 << 20)),
            ('snapshot/full-filesystem', self.t_full_fs),
            ('snapshot/bad-directory', self.t_bad_dir),
            ('snapshot/resnapshot-restored-vm-in-place', self.t_resnapshot_in_place),
        ]:
            self.run_test(name, fn)
        # Option checks come before the snapshot is read: these run without the API too.
        # (512M and 1 are the defaults of --memory and --cpus.)
        for opt, value in (('--memory', '256M'), ('--memory', '512M'), ('--cpus', '1'),
                           ('--cpu-profile', 'host')):
            fn = lambda opt=opt, value=value: self.t_refuse_with_option(opt, value)  # noqa: E731
            fn.needs_api = False
            self.run_test(f'snapshot/refuse-restore-with{opt[1:]}-{value}', fn)

    def cleanup(self):
        for v in self.vms:
            v.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)


def tests(res, kite, elf, only=None):
    if not os.path.exists('/dev/kvm'):
        res.skip('snapshot', '/dev/kvm is missing')
        return
    if not elf or not os.path.exists(elf):
        res.fail('snapshot', f'{elf} is missing: run ./setup.sh first')
        return
    s = Suite(res, kite, elf, only)
    try:
        s.run()
    finally:
        s.cleanup()


if __name__ == '__main__':
    from harness import standalone
    standalone('kite snapshot tests', tests)
