# SPDX-License-Identifier: GPL-2.0-only
"""migration/...: live migration (src/migrate.c) of the test guest's migrate
test (tests/guest/test_migrate.c) kite -> kite over unix: and tcp:, its status
and auto-converge, faults (a target killed, a connection cut or corrupted at
chosen records, cancel at each phase, a wrong version), the same guest
migrated by QEMU (the harness checked on a VMM nobody here wrote), and a TCP
connection of the default Linux guest across snapshot -> restore and a live
migration.

What a user sees is what is checked: PUT /vm/migrate answers 202, GET
/vm/migrate's state/phase/error, the exit status and stderr of both kites,
GET /vm on the target, the guest's progress lines (KITE-MIG pass=P cpu1=M)
on either side, and a snapshot of the VM that runs afterwards whose memory
holds the migrate test's page pattern (all pages equal but for one edge).

A proxy (Proxy below) sits between source and target where a test needs to
slow the stream down, cut it or corrupt it at a chosen record: it parses the
stream (src/migrate.h: "KITEMIG1", version, page size, then records {type,
CRC32, length, payload}).

Entry point: tests(res, kite, elf, only).  Standard library only.
"""

import os
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

import snapshot_tests as st
from snapshot_tests import Fail, Skip, Vm, api, check_memory, file_digest, rising, write_disk

MIG_HDR = struct.Struct('<8sII')            # magic, version, page size
REC_HDR = struct.Struct('<IIQ')             # type, CRC32 of the payload, length
REC_CONFIG, REC_PAGES, REC_ZEROS, REC_STATE, REC_END = 1, 2, 3, 4, 5
REC_NAMES = {1: 'CONFIG', 2: 'PAGES', 3: 'ZEROS', 4: 'STATE', 5: 'END'}
WAITING = re.compile(r'^kite: waiting for a migration on (\S+)$')


# ---------------------------------------------------------------- a proxy

def _recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        b = s.recv(min(n - len(buf), 1 << 20))
        if not b:
            return None
        buf += b
    return bytes(buf)


class Proxy:
    """Listens on tcp:127.0.0.1:PORT (self.uri) for the source, connects to
    the target at target_uri, and forwards the stream record by record.

    rate        bytes/s from source to target (None: as fast as it goes)
    cut         None, 'after-config', ('pages', N) (after N bytes of PAGES
                records), 'before-end' (all but END), 'no-ack' (everything,
                but the target's answer never reaches the source)
    corrupt     None, ('pages', k) (a byte of the k-th PAGES record's page
                data), 'state' (a byte of the STATE record), each with the
                record's CRC left as it was; ('state', 'recrc') or
                ('gpa', 'recrc') with the record CRC fixed up, so the
                receiver's next line of defence is tested
    freeze()    stop reading from the source (its sends block)
    """

    def __init__(self, target_uri, rate=None, cut=None, corrupt=None, mirror=None,
                 hold_state=False):
        self.target_uri, self.rate, self.cut, self.corrupt = target_uri, rate, cut, corrupt
        self.hold_state = hold_state        # keep STATE (and what follows) from the target
        # mirror=(lo, hi): the guest memory [lo, hi) as the target gets it, page by
        # page (the last version of each page wins), until END.
        self.mirror = mirror
        self.image = bytearray(mirror[1] - mirror[0]) if mirror else None
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(('127.0.0.1', 0))
        self.ls.listen(1)
        self.uri = f'tcp:127.0.0.1:{self.ls.getsockname()[1]}'
        self.records = {}           # type -> count forwarded
        self.page_bytes = 0
        self.events = []            # what happened, for messages
        self.done = threading.Event()
        self.frozen = threading.Event()
        self.src = self.dst = None
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def freeze(self):
        self.frozen.set()

    def _connect_target(self):
        if self.target_uri.startswith('unix:'):
            d = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            d.connect(self.target_uri[5:])
        else:
            host, port = self.target_uri[4:].rsplit(':', 1)
            d = socket.create_connection((host, int(port)))
        return d

    def _back(self):
        """Target -> source: the one-word answer (and a message)."""
        try:
            while True:
                b = self.dst.recv(4096)
                if not b:
                    break
                if self.cut == 'no-ack':
                    self.events.append(f'held back the answer {b[:4].hex()}')
                    self._close()
                    return
                self.src.sendall(b)
        except OSError:
            pass
        try:
            self.src.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _close(self):
        for s in (self.src, self.dst):
            if s:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def _send(self, data):
        if self.rate:
            t0 = time.monotonic()
            self.dst.sendall(data)
            want = len(data) / self.rate
            spent = time.monotonic() - t0
            if spent < want:
                time.sleep(want - spent)
        else:
            self.dst.sendall(data)

    def _run(self):
        try:
            self.ls.settimeout(120)
            self.src, _ = self.ls.accept()
            self.ls.close()
            self.dst = self._connect_target()
            threading.Thread(target=self._back, daemon=True).start()
            hdr = _recv_exact(self.src, MIG_HDR.size)
            if hdr is None:
                self.events.append('the source closed before the header')
                return
            self._send(hdr)
            while True:
                while self.frozen.is_set():
                    time.sleep(0.05)
                rh = _recv_exact(self.src, REC_HDR.size)
                if rh is None:
                    self.events.append('the source closed the stream')
                    return
                typ, crc, length = REC_HDR.unpack(rh)
                payload = _recv_exact(self.src, length) if length else b''
                if payload is None:
                    self.events.append('the source closed in a record')
                    return
                n = self.records.get(typ, 0) + 1
                if typ == REC_STATE and self.hold_state:
                    self.events.append('holding STATE back')
                    while self.src.recv(65536):
                        pass
                    self.events.append('the source closed the stream')
                    return
                if typ == REC_END and self.cut == 'before-end':
                    self.events.append('cut before END')
                    return
                payload, rh = self._maybe_corrupt(typ, n, rh, payload)
                self._send(rh + payload)
                if self.image is not None and typ in (REC_PAGES, REC_ZEROS):
                    self._apply(typ, payload)
                self.records[typ] = n
                if typ == REC_PAGES:
                    self.page_bytes += len(payload)
                if typ == REC_CONFIG and self.cut == 'after-config':
                    self.events.append('cut after CONFIG')
                    return
                if (typ == REC_PAGES and isinstance(self.cut, tuple) and
                        self.page_bytes >= self.cut[1]):
                    self.events.append(f'cut after {self.page_bytes} bytes of pages')
                    return
                if typ == REC_END:
                    self.events.append('forwarded END')
                    # The answer goes back (or is held back); the source's GO
                    # after READY comes forward, until the source closes.
                    self.src.settimeout(10)
                    try:
                        while True:
                            b = self.src.recv(4096)
                            if not b:
                                break
                            self._send(b)
                    except OSError:
                        pass
                    return
        except OSError as e:
            self.events.append(f'{type(e).__name__}: {e}')
        finally:
            if self.cut != 'no-ack' or not self.records.get(REC_END):
                self._close()
            self.done.set()

    def _apply(self, typ, payload):
        lo, hi = self.mirror
        cnt = struct.unpack_from('<I', payload)[0]
        gpas = struct.unpack_from(f'<{cnt}Q', payload, 4)
        data = memoryview(payload)[4 + 8 * cnt:]
        for i, g in enumerate(gpas):
            if lo <= g < hi:
                off = g - lo
                if typ == REC_PAGES:
                    self.image[off:off + 4096] = data[i * 4096:(i + 1) * 4096]
                else:
                    self.image[off:off + 4096] = bytes(4096)

    def _maybe_corrupt(self, typ, n, rh, payload):
        c = self.corrupt
        if not c:
            return payload, rh
        hit = None
        if c == ('pages', n) and typ == REC_PAGES:
            cnt = struct.unpack_from('<I', payload)[0]
            hit = 4 + 8 * cnt + 100             # in the first page's data
        elif c in ('state', ('state', 'recrc')) and typ == REC_STATE:
            hit = len(payload) // 2
        elif c == ('gpa', 'recrc') and typ == REC_PAGES and n == 3:
            hit = 4 + 6                         # the first gpa's byte 2: far outside RAM
        if hit is None:
            return payload, rh
        b = bytearray(payload)
        b[hit] ^= 0x40
        self.events.append(f'flipped a bit at byte {hit} of {REC_NAMES[typ]} record {n}')
        if isinstance(c, tuple) and c[-1] == 'recrc':
            typ_, _, length = REC_HDR.unpack(rh)
            rh = REC_HDR.pack(typ_, zlib.crc32(bytes(b)), length)
        self.corrupt = None
        return bytes(b), rh

    def close(self):
        self._close()
        try:
            self.ls.close()
        except OSError:
            pass


# ---------------------------------------------------------------- the tests

def stderr_lines(vm):
    """kite's stderr without the 'waiting for a migration' line."""
    with vm.cv:
        return [l.rstrip('\r') for l in vm.err if l.strip() and not WAITING.match(l)]


class Suite(st.Suite):
    MEM = '512M'
    MEM_BYTES = 512 << 20
    SMALL, SMALL_BYTES = '256M', 256 << 20      # the fault tests

    def __init__(self, res, kite, elf, only, linux_guest=True):
        super().__init__(res, kite, elf, only)
        self.linux_guest = linux_guest
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp = tempfile.mkdtemp(prefix='kite-mig-')
        self.proxies = []

    def run_test(self, name, fn):
        try:
            super().run_test(name, fn)
        finally:
            for p in self.proxies:
                p.close()
            self.proxies = []

    # ------------------------------------------------------------ helpers

    def target(self, label, uri, api=True, prefix=None, extra=()):
        """kite run --incoming uri; waits for its 'waiting' line."""
        sock = None
        cmd = [self.kite, 'run', '--incoming', uri] + list(extra)
        if api:
            self.n += 1
            sock = self.path(f'api{self.n}.sock')
            cmd += ['--api-socket', sock]
        v = Vm(label, list(prefix or []) + cmd, sock)
        self.vms.append(v)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            with v.cv:
                if any(WAITING.match(l) for l in v.err):
                    return v
            if v.p.poll() is not None:
                time.sleep(0.1)
                raise Fail(f'{label}: kite --incoming exited with {v.p.returncode} before it '
                           f'listened: {" ".join(v.err)[:300]}')
            time.sleep(0.02)
        raise Fail(f'{label}: no "kite: waiting for a migration on {uri}" line within 10 s')

    def unix_uri(self, name='mig.sock'):
        return 'unix:' + self.path(name)

    @staticmethod
    def free_port():
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
        s.close()
        return port

    def start_migration(self, src, uri, max_downtime_ms=None):
        body = {'uri': uri}
        if max_downtime_ms is not None:
            body['max_downtime_ms'] = max_downtime_ms
        code, js, raw = api(src.sock, 'PUT', '/vm/migrate', body)
        if code != 202:
            raise Fail(f'PUT /vm/migrate {body}: {code} {raw.strip()}, expected 202')
        return js

    def poll(self, src, until=None, timeout=120, every=0.05):
        """GET /vm/migrate until the state is not active (or until(js) is true, or
        the source exits: a completed migration ends it).  Returns (history, last)."""
        hist = []
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                code, js, raw = api(src.sock, 'GET', '/vm/migrate', timeout=10)
            except OSError:
                if src.p.poll() is not None:
                    return hist, None
                time.sleep(every)
                continue
            if code == 503 and 'has stopped' in raw:
                # The VM stopped (a completed migration ends it): the exit says the rest.
                try:
                    src.p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
                if src.p.poll() is not None:
                    return hist, None
            if code != 200 or not isinstance(js, dict):
                raise Fail(f'GET /vm/migrate: {code} {raw.strip()}')
            hist.append(js)
            if js.get('state') != 'active' or (until and until(js)):
                return hist, js
            time.sleep(every)
        raise Fail(f'the migration was still active after {timeout}s: {hist[-1] if hist else None}')

    def expect_source_survives(self, src, hist, last, states, hdr, mem_bytes, what):
        """After a failed/cancelled migration: GET /vm/migrate's state, an error
        for a failure, GET /vm running, the guest still making progress, and a
        snapshot of it with the page pattern intact."""
        if last is None:
            raise Fail(f'{what}: the source exited ({src.p.returncode}) instead of keeping the VM')
        if last.get('state') not in states:
            raise Fail(f'{what}: GET /vm/migrate says {last}, expected state {"/".join(states)}')
        if last.get('state') == 'failed' and not last.get('error'):
            raise Fail(f'{what}: a failed migration without an error: {last}')
        code, info, raw = api(src.sock, 'GET', '/vm')
        if code != 200 or (info or {}).get('state') != 'running':
            raise Fail(f'{what}: GET /vm on the source afterwards: {code} {raw.strip()}')
        n = len(src.progress())
        prog = src.wait_progress(n + 3, timeout=20)
        rising(prog[n - 1:], f'{what}: the source afterwards')
        snap = self.path(f'after-{len(self.vms)}-{int(time.monotonic() * 1000)}')
        self.snapshot(src, snap)
        saved, _, where = check_memory(snap, hdr, mem_bytes)
        if saved < prog[n - 1][1]:
            raise Fail(f'{what}: the snapshot afterwards holds pass {saved}, the guest printed '
                       f'{prog[n - 1][1]} before it')
        shutil.rmtree(snap, ignore_errors=True)
        return f'{last["state"]} ({last.get("error") or last.get("phase")}); source runs on, {where}'

    def expect_target_fails(self, tgt, pattern, what, timeout=30):
        """The target exits non-zero with one clear line on stderr."""
        try:
            tgt.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Fail(f'{what}: the target still runs {timeout}s later')
        for t in tgt.threads:
            t.join(timeout=5)
        lines = stderr_lines(tgt)
        if tgt.p.returncode == 0 or tgt.p.returncode < 0:
            raise Fail(f'{what}: the target exited with {tgt.p.returncode}, expected a non-zero '
                       f'status of its own; stderr: {lines}')
        if len(lines) != 1 or not re.search(pattern, lines[0]):
            raise Fail(f'{what}: the target\'s stderr is {lines}, expected one line matching '
                       f'/{pattern}/')
        if tgt.progress():
            raise Fail(f'{what}: the failed target printed progress lines: the guest ran there')
        return f'target: exit {tgt.p.returncode}, "{lines[0]}"'

    # ----------------------------------------------------- kite -> kite

    def live(self, transport, disk=False, buf='256M'):
        extra = []
        if disk:
            img = self.path('disk.img')
            disk_sum = write_disk(img)
            extra = ['--disk', img]
        src = self.boot('source', cpus=2, buf=buf, extra=extra + ['-v'])
        src.wait_progress(3)
        hdr = src.header()
        uri = self.unix_uri() if transport == 'unix' else f'tcp:127.0.0.1:{self.free_port()}'
        tgt = self.target('target', uri)
        self.start_migration(src, uri)
        t0 = time.monotonic()
        hist, last = self.poll(src)
        if last is not None and last.get('state') != 'completed':
            tl = '\n'.join(stderr_lines(tgt))
            raise Fail(f'the migration ended {last.get("state")}: {last.get("error")}; target: '
                       f'{tl[:400]}')
        try:
            rc = src.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            raise Fail('the source did not exit within 30 s of the migration')
        for t in src.threads:
            t.join(timeout=5)
        if rc != 0:
            raise Fail(f'the source exited with {rc} after the migration, expected 0')
        m = None
        for l in src.err:
            m = re.search(r'completed: downtime (\d+) ms, (\d+) ms in all', l) or m
        src_prog = src.progress()
        last_pass, last_cpu1 = src_prog[-1][1], src_prog[-1][2].get(1, 0)
        info = tgt.wait_api(timeout=30)
        if info.get('state') != 'running' or info.get('vcpus') != 2:
            raise Fail(f'GET /vm on the target: {info}')
        if disk and not any(d.get('type') == 'virtio-blk' for d in info.get('devices', [])):
            raise Fail(f'the target has no virtio-blk: {info.get("devices")}')
        prog = tgt.wait_progress(4)
        if tgt.header():
            raise Fail('the guest booted again on the target (it printed its start line)')
        if prog[0][1] < last_pass or prog[0][2].get(1, 0) < last_cpu1:
            raise Fail(f'the target continues at pass {prog[0][1]} cpu1={prog[0][2].get(1)}, '
                       f'the source had printed pass {last_pass} cpu1={last_cpu1}')
        rising(prog, 'the target')
        st.console_clean(tgt)
        gap = prog[0][0] - src_prog[-1][0]
        snap = self.path('target-snap')
        self.snapshot(tgt, snap)
        saved, cpus, where = check_memory(snap, hdr, self.MEM_BYTES)
        if saved < prog[0][1]:
            raise Fail(f'the target\'s snapshot holds pass {saved} < {prog[0][1]}')
        n = len(tgt.progress())
        rising(tgt.wait_progress(n + 2)[n - 1:], 'the target after its snapshot')
        code = tgt.stop()
        if code != 128 + signal.SIGTERM:
            raise Fail(f'the target exited with {code} after SIGTERM, expected 143')
        if disk and file_digest(img) != disk_sum:
            raise Fail('the disk image changed across the migration')
        iters = max((h.get('iterations', 0) for h in hist), default=0)
        down = f'downtime {m.group(1)} ms of {m.group(2)} ms' if m else 'no downtime line'
        return (f'{iters} passes, {down}, console gap {gap:.2f}s; source pass {last_pass} -> '
                f'target {prog[0][1]}..{prog[-1][1]}; target snapshot: {where}')

    def t_converge(self):
        """A writer that dirties the whole 256M buffer about every few ms, and
        max_downtime_ms 5: auto-converge must show, and the migration end."""
        src = self.boot('source', cpus=2, buf='256M', extra=['-v'])
        src.wait_progress(2)
        uri = self.unix_uri()
        tgt = self.target('target', uri)
        self.start_migration(src, uri, max_downtime_ms=5)
        hist, last = self.poll(src, timeout=180, every=0.02)
        thr = [h for h in hist if h.get('throttle_percent', 0) > 0]
        notes = [h['note'] for h in hist if h.get('note')]
        m = None
        src.p.wait(timeout=60) if last is None or last.get('state') == 'completed' else None
        for l in src.err:
            m = re.search(r'completed: downtime (\d+) ms, (\d+) ms in all', l) or m
        if last is not None and last.get('state') != 'completed':
            raise Fail(f'the migration ended {last.get("state")}: {last.get("error")} after '
                       f'{last.get("iterations")} passes, throttle {last.get("throttle_percent")}%')
        if src.p.returncode != 0:
            raise Fail(f'the source exited with {src.p.returncode}')
        if not thr or not notes:
            raise Fail(f'no throttle_percent > 0 or note seen in {len(hist)} GETs (last: '
                       f'{hist[-1] if hist else None})')
        tgt.wait_api(timeout=30)
        rising(tgt.wait_progress(3), 'the target')
        peak = max(h['throttle_percent'] for h in thr)
        iters = max(h.get('iterations', 0) for h in hist)
        return (f'{iters} passes, throttle up to {peak}%, note "{notes[-1]}"; ' +
                (f'downtime {m.group(1)} ms (asked 5) of {m.group(2)} ms' if m else
                 'no downtime line'))

    # ----------------------------------------------------------- faults

    def fault_setup(self, buf='32M', rate=48 << 20, cut=None, corrupt=None, max_downtime_ms=None,
                    target_api=False, hold_state=False):
        src = self.boot('source', cpus=2, mem=self.SMALL, buf=buf)
        src.wait_progress(2)
        hdr = src.header()
        tgt_uri = self.unix_uri(f'mig{len(self.vms)}.sock')
        tgt = self.target('target', tgt_uri, api=target_api)
        px = Proxy(tgt_uri, rate=rate, cut=cut, corrupt=corrupt, hold_state=hold_state)
        self.proxies.append(px)
        self.start_migration(src, px.uri, max_downtime_ms)
        return src, hdr, tgt, px

    def t_kill_target(self):
        src, hdr, tgt, px = self.fault_setup(rate=16 << 20, max_downtime_ms=1)
        hist, last = self.poll(src, until=lambda js: js.get('phase') == 'precopy' and
                               js.get('bytes_sent', 0) > (8 << 20))
        if last is None or last.get('state') != 'active':
            raise Fail(f'the migration was not in precopy with 8 MiB sent: {last}')
        tgt.kill()
        hist, last = self.poll(src, timeout=30)
        return (f'killed in precopy after {hist[0].get("bytes_sent", 0) >> 20} MiB: ' +
                self.expect_source_survives(src, hist, last, ('failed',), hdr, self.SMALL_BYTES,
                                            'target killed'))

    def t_cut(self, cut, pattern):
        src, hdr, tgt, px = self.fault_setup(cut=cut, rate=None if cut == 'before-end' else 48 << 20)
        hist, last = self.poll(src, timeout=60)
        a = self.expect_source_survives(src, hist, last, ('failed',), hdr, self.SMALL_BYTES,
                                        f'cut {cut}')
        b = self.expect_target_fails(tgt, pattern, f'cut {cut}')
        return f'proxy: {"; ".join(px.events)}; {a}; {b}'

    def t_corrupt(self, corrupt, pattern):
        src, hdr, tgt, px = self.fault_setup(corrupt=corrupt, rate=None)
        hist, last = self.poll(src, timeout=60)
        if not any('flipped' in e for e in px.events):
            raise Fail(f'the proxy found nothing to corrupt: {px.events}')
        a = self.expect_source_survives(src, hist, last, ('failed',), hdr, self.SMALL_BYTES,
                                        f'corrupt {corrupt}')
        b = self.expect_target_fails(tgt, pattern, f'corrupt {corrupt}')
        return f'proxy: {"; ".join(px.events)}; {a}; {b}'

    def t_no_ack(self):
        """Everything reaches the target, the target's answer does not reach the
        source.  At most one of the two may run the guest afterwards: two copies
        of one VM writing to the same disk and network is the worst outcome."""
        src, hdr, tgt, px = self.fault_setup(cut='no-ack', rate=None)
        hist, last = self.poll(src, timeout=90)
        time.sleep(1.5)
        src_runs = src.p.poll() is None and len(src.wait_progress(len(src.progress()) + 2,
                                                                  timeout=5)) > 0
        tgt_lines = len(tgt.progress())
        time.sleep(1.5)
        tgt_runs = tgt.p.poll() is None and len(tgt.progress()) > tgt_lines
        state = (last or {}).get('state')
        if src_runs and tgt_runs:
            raise Fail(f'both run the guest: the source resumed after the lost answer (GET '
                       f'/vm/migrate: {state}, {(last or {}).get("error")}) while the target '
                       f'runs it too (progress lines on both)')
        return f'source runs: {src_runs}, target runs: {tgt_runs}; migration {state}'

    def t_cancel(self, phase):
        if phase == 'connecting':
            return self.t_cancel_connecting()
        if phase == 'precopy':
            src, hdr, tgt, px = self.fault_setup(rate=16 << 20, max_downtime_ms=1)
            hist, last = self.poll(src, until=lambda js: js.get('phase') == 'precopy' and
                                   js.get('bytes_sent', 0) > (8 << 20))
        else:
            # Converges after the first pass (10 s allowed), then stop-and-copy
            # sends the dirty 32 MiB at 32 MiB/s; the proxy freezes there, or holds
            # STATE back if it gets that far (phase "waiting for the target").
            src, hdr, tgt, px = self.fault_setup(rate=32 << 20, max_downtime_ms=10000,
                                                 hold_state=True)
            hist, last = self.poll(src, until=lambda js: js.get('phase') not in (
                'precopy', 'connecting'), every=0.01)
            px.freeze()
            phase = (last or {}).get('phase', phase)
        if last is None or last.get('state') != 'active' or last.get('phase') != phase:
            raise Fail(f'could not catch the migration in {phase}: {last}')
        time.sleep(0.3)
        code, js, raw = api(src.sock, 'PUT', '/vm/migrate/cancel')
        if code not in (200, 202):
            raise Fail(f'PUT /vm/migrate/cancel: {code} {raw.strip()}')
        t0 = time.monotonic()
        hist, last = self.poll(src, timeout=20)
        took = time.monotonic() - t0
        a = self.expect_source_survives(src, hist, last, ('cancelled',), hdr, self.SMALL_BYTES,
                                        f'cancel in {phase}')
        b = self.expect_target_fails(tgt, r'ended early|stream', f'cancel in {phase}')
        return f'cancelled in "{phase}" in {took:.2f}s: {a}; {b}'

    def t_cancel_connecting(self):
        """connect() that hangs: a listener whose accept queue is full drops SYNs."""
        ls = socket.socket()
        ls.bind(('127.0.0.1', 0))
        ls.listen(0)
        port = ls.getsockname()[1]
        fillers = []
        try:
            for _ in range(2):
                c = socket.socket()
                c.setblocking(False)
                c.connect_ex(('127.0.0.1', port))
                fillers.append(c)
            time.sleep(0.2)
            src = self.boot('source', cpus=1, mem=self.SMALL, buf='16M')
            src.wait_progress(1)
            hdr = src.header()
            self.start_migration(src, f'tcp:127.0.0.1:{port}')
            time.sleep(1.0)
            code, js, raw = api(src.sock, 'GET', '/vm/migrate')
            if (js or {}).get('phase') != 'connecting':
                raise Fail(f'not in "connecting" 1 s after the start: {raw.strip()}')
            code, js, raw = api(src.sock, 'PUT', '/vm/migrate/cancel')
            if code not in (200, 202):
                raise Fail(f'PUT /vm/migrate/cancel: {code} {raw.strip()}')
            t0 = time.monotonic()
            try:
                hist, last = self.poll(src, timeout=10)
            except Fail as e:
                raise Fail(f'cancel in "connecting" did not take within 10 s: {e}')
            took = time.monotonic() - t0
            return (f'cancelled in {took:.2f}s: ' +
                    self.expect_source_survives(src, hist, last, ('cancelled',), hdr,
                                                self.SMALL_BYTES, 'cancel while connecting'))
        finally:
            for c in fillers:
                c.close()
            ls.close()

    def t_wrong_version(self):
        uri = self.unix_uri('version.sock')
        tgt = self.target('target', uri, api=False)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(uri[5:])
            s.sendall(MIG_HDR.pack(b'KITEMIG1', 99, 4096))
            # A well-formed (empty) CONFIG record after it: only the version is wrong.
            s.sendall(REC_HDR.pack(REC_CONFIG, zlib.crc32(b''), 0))
            note = self.expect_target_fails(tgt, r'version', 'version 99', timeout=10)
        finally:
            s.close()
        return note

    def t_garbage(self):
        uri = self.unix_uri('garbage.sock')
        tgt = self.target('target', uri, api=False)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(uri[5:])
            s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
            s.shutdown(socket.SHUT_WR)
            note = self.expect_target_fails(tgt, r'migration stream', 'an HTTP request', timeout=10)
        finally:
            s.close()
        return note

    def t_target_api_while_waiting(self):
        """The target's --api-socket: does it answer while kite waits for the source?"""
        uri = self.unix_uri('wait.sock')
        tgt = self.target('target', uri)
        time.sleep(0.5)
        if not os.path.exists(tgt.sock):
            return 'no API socket while waiting for the source (it appears once the stream starts)'
        code, js, raw = api(tgt.sock, 'GET', '/vm', timeout=5)
        return f'GET /vm while waiting: {code} {raw.strip()[:100]}'

    def t_stream_memory(self):
        """The guest memory the target receives, rebuilt from the stream at END (the
        moment the source paused, before the guest overwrites anything there):
        the page pattern must be intact.  A snapshot taken on the target later
        cannot tell: the guest rewrites every page of its buffer within
        milliseconds."""
        src = self.boot('source', cpus=2, mem=self.SMALL, buf='32M')
        src.wait_progress(2)
        hdr = src.header()
        tgt_uri = self.unix_uri('mirror.sock')
        tgt = self.target('target', tgt_uri)
        px = Proxy(tgt_uri, mirror=(hdr['info'], hdr['buf'] + hdr['size']))
        self.proxies.append(px)
        self.start_migration(src, px.uri)
        hist, last = self.poll(src, every=0.02)
        if last is not None and last.get('state') != 'completed':
            raise Fail(f'the migration ended {last.get("state")}: {last.get("error")}')
        if not px.done.wait(30) or not px.records.get(REC_END):
            raise Fail(f'the proxy saw no END: {px.events}')
        tgt.wait_api(timeout=30)
        snap = self.path('stream-image')
        os.mkdir(snap)
        with open(os.path.join(snap, 'memory'), 'wb') as f:
            f.truncate(self.SMALL_BYTES)
            f.seek(hdr['info'])
            f.write(px.image)
        pre = [h for h in hist if h.get('phase') == 'precopy' and h.get('iterations')]
        said = pre[-1] if pre else {}
        sent = hist[-1].get('bytes_sent', 0) if hist else 0
        try:
            saved, _, where = check_memory(snap, hdr, self.SMALL_BYTES)
        except Fail as e:
            raise Fail(f'the memory the target received is not the guest\'s at the pause: {e} '
                       f'(the last precopy pass reported {said.get("remaining_bytes", 0) >> 10} '
                       f'KiB dirty; {sent >> 10} KiB sent in all, {px.page_bytes >> 10} KiB '
                       f'in PAGES records)')
        return f'{where} at the pause; {px.records.get(REC_PAGES, 0)} PAGES records'

    def t_disk_same_path(self):
        return self.live('unix', disk=True, buf='64M')

    # ------------------------------------------------------------- QEMU

    def t_qemu(self):
        qemu = shutil.which('qemu-system-x86_64')
        if not qemu:
            raise Skip('qemu-system-x86_64 is not installed')
        from cases import QEMU_BASE
        import json as _json
        mem_bytes = 512 << 20
        base = [qemu] + QEMU_BASE + ['-m', '512M', '-smp', '2', '-kernel', self.elf,
                                     '-append', 'test=migrate buf=64M cpus=2']
        qs, qt = self.path('qmp-src.sock'), self.path('qmp-dst.sock')
        inc = self.path('qemu-mig.sock')
        src = Vm('qemu-source', base + ['-qmp', f'unix:{qs},server=on,wait=off'])
        self.vms.append(src)
        src.wait_progress(3)
        hdr = src.header()
        tgt = Vm('qemu-target', base + ['-qmp', f'unix:{qt},server=on,wait=off',
                                        '-incoming', f'unix:{inc}'])
        self.vms.append(tgt)

        def qmp(path, *cmds):
            """Run QMP commands; returns their answers."""
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(30)
            s.connect(path)
            f = s.makefile('rwb')
            f.readline()                            # greeting

            def call(cmd, args=None):
                f.write(_json.dumps({'execute': cmd, **({'arguments': args} if args else {})})
                        .encode() + b'\n')
                f.flush()
                while True:
                    r = _json.loads(f.readline())
                    if 'return' in r or 'error' in r:
                        return r
            call('qmp_capabilities')
            out = [call(c, a) for c, a in cmds]
            s.close()
            return out

        for _ in range(100):
            if os.path.exists(qt) and os.path.exists(inc):
                break
            if tgt.p.poll() is not None:
                raise Fail(f'the QEMU target exited: {" ".join(tgt.err)[:300]}')
            time.sleep(0.05)
        # QEMU 7.2 sends at 32 MiB/s unless told otherwise.
        r = qmp(qs, ('migrate-set-parameters', {'max-bandwidth': 1 << 30}),
                ('migrate', {'uri': f'unix:{inc}'}))[-1]
        if 'error' in r:
            raise Skip(f'QEMU refuses to migrate microvm here: {r["error"].get("desc")}')
        t0 = time.monotonic()
        while True:
            r = qmp(qs, ('query-migrate', None))[0].get('return', {})
            if r.get('status') in ('completed', 'failed', 'cancelled'):
                break
            if time.monotonic() - t0 > 120:
                raise Fail(f'QEMU migration still {r.get("status")} after 120 s')
            time.sleep(0.1)
        took = time.monotonic() - t0
        if r.get('status') != 'completed':
            reason = r.get('error-desc', r)
            raise Fail(f'QEMU migration {r.get("status")}: {reason}')
        src_prog = src.progress()
        last_pass = src_prog[-1][1]
        prog = tgt.wait_progress(4)
        if prog[0][1] < last_pass:
            raise Fail(f'QEMU target continues at pass {prog[0][1]} < source {last_pass}')
        rising(prog, 'the QEMU target')
        # The target's memory: info page and buffer through pmemsave, placed into a
        # sparse image of the guest's RAM so check_memory() reads it as a snapshot.
        snap = self.path('qemu-snap')
        os.mkdir(snap)
        dump = self.path('qemu-dump')
        start, length = hdr['info'], hdr['buf'] + hdr['size'] - hdr['info']
        r = qmp(qt, ('stop', None), ('pmemsave', {'val': start, 'size': length, 'filename': dump}),
                ('cont', None))
        if any('error' in x for x in r):
            raise Fail(f'QMP stop/pmemsave/cont on the target: {r}')
        with open(dump, 'rb') as f, open(os.path.join(snap, 'memory'), 'wb') as g:
            g.truncate(mem_bytes)
            g.seek(start)
            shutil.copyfileobj(f, g)
        os.unlink(dump)
        saved, _, where = check_memory(snap, hdr, mem_bytes)
        if saved < prog[0][1]:
            raise Fail(f'QEMU target memory at pass {saved} < {prog[0][1]}')
        n = len(tgt.progress())
        rising(tgt.wait_progress(n + 2)[n - 1:], 'the QEMU target after pmemsave')
        return (f'completed in {took:.1f}s; source pass {last_pass} '
                f'-> target {prog[0][1]}..{prog[-1][1]}; target memory: {where}')

    # ------------------------------------------------------------ Linux

    def t_linux_tcp(self):
        return linux_tcp(self)

    def run(self):
        tests = [
            ('migration/target-api-while-waiting', self.t_target_api_while_waiting),
            ('migration/kite-unix-cpus2-buf256M', lambda: self.live('unix')),
            ('migration/kite-tcp-cpus2-buf256M', lambda: self.live('tcp')),
            ('migration/stream-memory-intact-at-pause', self.t_stream_memory),
            ('migration/kite-disk-same-path', self.t_disk_same_path),
            ('migration/auto-converge-downtime5ms', self.t_converge),
            ('migration/fault-kill-target-precopy', self.t_kill_target),
            ('migration/fault-cut-after-config', lambda: self.t_cut(
                'after-config', r'ended early')),
            ('migration/fault-cut-in-pages', lambda: self.t_cut(('pages', 16 << 20),
                                                               r'ended early')),
            ('migration/fault-cut-before-end', lambda: self.t_cut('before-end', r'ended early')),
            ('migration/fault-answer-lost', self.t_no_ack),
            ('migration/corrupt-page-data', lambda: self.t_corrupt(('pages', 2),
                                                                  r'CRC mismatch.*type 2')),
            ('migration/corrupt-state', lambda: self.t_corrupt('state', r'CRC mismatch.*type 4')),
            ('migration/corrupt-state-record-crc-fixed', lambda: self.t_corrupt(
                ('state', 'recrc'), r'(?i)state.*(corrupt|CRC)')),
            ('migration/corrupt-gpa-record-crc-fixed', lambda: self.t_corrupt(
                ('gpa', 'recrc'), r'not guest RAM')),
            ('migration/cancel-connecting', lambda: self.t_cancel('connecting')),
            ('migration/cancel-precopy', lambda: self.t_cancel('precopy')),
            ('migration/cancel-stop-and-copy', lambda: self.t_cancel('stop-and-copy')),
            ('migration/refuse-version-99', self.t_wrong_version),
            ('migration/refuse-not-a-stream', self.t_garbage),
            ('migration/qemu-microvm-cpus2', self.t_qemu),
        ]
        for name, fn in tests:
            self.run_test(name, fn)
        for name in LINUX_TESTS:
            if self.want(name) and not self.linux_guest:
                self.res.skip(name, '--no-linux given')
        if self.linux_guest and any(self.want(n) for n in LINUX_TESTS):
            linux_tcp(self)


# ---------------------------------------------------------------- Linux

LINUX_TESTS = ('migration/linux-tcp-live-same-netns', 'migration/linux-tcp-live-other-netns',
               'migration/linux-tcp-snapshot-restore')

# The host side: a server in the namespace the guest's TAP is bridged to.  It
# reads the guest's counter lines ("N\n", one every 0.2 s) and sends "HOST-SAYS
# K" lines back every 0.5 s; it reports what it got as JSON lines on stdout.
TCP_SERVER = r'''
import json, socket, sys, threading, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.77.0.1", 5001)); s.listen(1); s.settimeout(300)
print(json.dumps({"ev": "listening"}), flush=True)
c, _ = s.accept()
print(json.dumps({"ev": "accepted"}), flush=True)
def talk():
    k = 0
    while True:
        try:
            c.sendall(b"HOST-SAYS %d\n" % k)
        except OSError as e:
            print(json.dumps({"ev": "send-error", "err": str(e)}), flush=True)
            return
        k += 1
        time.sleep(0.5)
threading.Thread(target=talk, daemon=True).start()
buf = b""
while True:
    try:
        b = c.recv(4096)
    except OSError as e:
        print(json.dumps({"ev": "recv-error", "err": str(e)}), flush=True)
        break
    if not b:
        print(json.dumps({"ev": "eof"}), flush=True)
        break
    buf += b
    while b"\n" in buf:
        line, buf = buf.split(b"\n", 1)
        print(json.dumps({"ev": "line", "v": line.decode(errors="replace"),
                          "t": time.monotonic()}), flush=True)
'''

GUEST_CMD = ('ip link set eth0 up && ip addr add 10.77.0.2/24 dev eth0 && '
             'i=0; while true; do echo $i; i=$((i+1)); sleep 0.2; done | nc 10.77.0.1 5001')


class HostServer:
    def __init__(self, ns):
        import json as _json
        self._json = _json
        self.p = subprocess.Popen(['ip', 'netns', 'exec', ns, 'python3', '-c', TCP_SERVER],
                                  stdout=subprocess.PIPE, text=True)
        self.events = []
        self.cv = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for l in self.p.stdout:
            try:
                ev = self._json.loads(l)
            except ValueError:
                continue
            ev['at'] = time.monotonic()
            with self.cv:
                self.events.append(ev)
                self.cv.notify_all()

    def counters(self):
        with self.cv:
            return [int(e['v']) for e in self.events if e['ev'] == 'line' and e['v'].isdigit()]

    def errors(self):
        with self.cv:
            return [e for e in self.events if e['ev'] in ('eof', 'recv-error', 'send-error')]

    def wait(self, pred, timeout, what):
        end = time.monotonic() + timeout
        with self.cv:
            while not pred():
                left = end - time.monotonic()
                if left <= 0:
                    raise Fail(f'{what} (host saw {self.counters()[-5:]}, errors {self.errors()})')
                self.cv.wait(min(left, 0.5))

    def more(self, n, timeout, what):
        """n more counter lines, consecutive, after those seen so far."""
        have = len(self.counters())
        self.wait(lambda: len(self.counters()) >= have + n or self.errors(), timeout, what)
        if self.errors():
            raise Fail(f'{what}: the connection broke: {self.errors()}')
        c = self.counters()
        gaps = [(a, b) for a, b in zip(c, c[1:]) if b != a + 1]
        if gaps:
            raise Fail(f'{what}: the counter stream has gaps/repeats {gaps[:5]}')
        return c[-1]

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()


def guest_says(vm, k_min):
    """HOST-SAYS lines the guest printed with K >= k_min."""
    with vm.cv:
        return [int(m.group(1)) for _, l in vm.out
                for m in [re.match(r'^HOST-SAYS (\d+)', l)] if m and int(m.group(1)) >= k_min]


def host_says_sent(vm):
    got = guest_says(vm, 0)
    return got[-1] if got else -1


def linux_tcp(suite):
    """One boot of the default Linux guest: its TCP connection to a host-side server
    across (a) live migration to a target in the same netns (the same TAP name:
    the source still holds it), (b) live migration to a target in another netns
    with its own TAP on the same L2, (c) pause + snapshot -> kill -> restore."""
    import linux
    names = [n for n in LINUX_TESTS if suite.want(n)]
    g = linux.default_guest()
    if not g:
        for n in names:
            suite.res.skip(n, f'the default Linux guest is not built in {linux.cache_dir()}/guest')
        return
    if os.geteuid() != 0 or not shutil.which('ip'):
        for n in names:
            suite.res.skip(n, 'needs root and iproute2 for network namespaces and TAPs')
        return
    tag = os.getpid() % 100000
    nsh, ns1, ns2 = f'kmh{tag}', f'kma{tag}', f'kmb{tag}'
    server = None
    results = {}
    vms_before = len(suite.vms)

    def sh(ns, *cmds):
        for c in cmds:
            subprocess.run(['ip', 'netns', 'exec', ns] + c.split(), check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def report(name, fn):
        if name not in names:
            return
        t0 = time.monotonic()
        try:
            suite.res.ok(name, time.monotonic() - t0, ' ' + (fn() or ''))
            results[name] = True
        except Skip as e:
            suite.res.skip(name, str(e))
        except Exception as e:  # noqa: BLE001
            logs = '\n'.join(v.log() for v in suite.vms[vms_before:])
            msg = str(e) if isinstance(e, Fail) else f'{type(e).__name__}: {e}'
            suite.res.fail(name, msg, logs)
            results[name] = False

    try:
        # nsh: the host side (10.77.0.1 on bridge br0); ns1/ns2: where a kite runs,
        # each with a TAP "ktap0" bridged to a veth into nsh.
        for ns in (nsh, ns1, ns2):
            subprocess.run(['ip', 'netns', 'add', ns], check=True)
        sh(nsh, 'ip link add br0 type bridge', 'ip addr add 10.77.0.1/24 dev br0',
           'ip link set br0 up', 'ip link set lo up')
        for i, ns in ((1, ns1), (2, ns2)):
            sh(nsh, f'ip link add vh{i} type veth peer name vk{i}',
               f'ip link set vk{i} netns {ns}', f'ip link set vh{i} master br0',
               f'ip link set vh{i} up')
            sh(ns, 'ip tuntap add ktap0 mode tap', 'ip link add kbr type bridge',
               'ip link set ktap0 master kbr', f'ip link set vk{i} master kbr',
               'ip link set ktap0 up', f'ip link set vk{i} up', 'ip link set kbr up',
               'ip link set lo up')
        server = HostServer(nsh)
        server.wait(lambda: any(e['ev'] == 'listening' for e in server.events), 10,
                    'the host-side server did not start')
        a = suite.vm('linux-a', ['--memory', '256M', '--cpus', '2', '--net', 'tap=ktap0',
                                 '-e', linux.run_arg(GUEST_CMD)],
                     prefix=['ip', 'netns', 'exec', ns1])
        a.wait_api(timeout=30)
        server.wait(lambda: len(server.counters()) >= 5, linux.BOOT_TIMEOUT + 30,
                    'the guest\'s counter stream did not reach the host')
        server.more(3, 10, 'before anything')

        cur = {'vm': a, 'ns': ns1}

        def snap_restore():
            v = cur['vm']
            code, js, raw = api(v.sock, 'PUT', '/vm/pause')
            if code != 200:
                raise Fail(f'PUT /vm/pause: {code} {raw.strip()}')
            snap = suite.path('linux-snap')
            suite.snapshot(v, snap)
            before = server.counters()[-1]
            k = host_says_sent(v)
            v.kill()
            time.sleep(2)       # the host keeps sending into the void meanwhile
            r = suite.vm('linux-restored', ['--restore', snap],
                         prefix=['ip', 'netns', 'exec', cur['ns']])
            r.wait_api(timeout=30)
            cur['vm'] = r
            last = server.more(5, 20, 'after the restore')
            end = time.monotonic() + 10
            while not guest_says(r, k + 1) and time.monotonic() < end:
                time.sleep(0.2)
            if not guest_says(r, k + 1):
                raise Fail(f'the restored guest printed no HOST-SAYS line after {k}: the '
                           f'host -> guest direction is dead')
            return (f'counter {before} -> {last} without a gap; host lines continue at '
                    f'{guest_says(r, k + 1)[0]}')

        def migrate_to(ns, expect_fail):
            v = cur['vm']
            uri = suite.unix_uri(f'linux-{ns}.sock')
            tgt = suite.target(f'linux-target-{ns}', uri, prefix=['ip', 'netns', 'exec', ns])
            suite.start_migration(v, uri)
            hist, last = suite.poll(v, timeout=120)
            if last is not None:
                try:
                    tgt.p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
                msg = (f'migration {last.get("state")}: {last.get("error")}; target exit '
                       f'{tgt.p.returncode}: {stderr_lines(tgt)}')
                # The source must carry on either way, both directions of the connection.
                k = host_says_sent(v)
                try:
                    server.more(3, 10, 'guest -> host')
                    msg += '; the source carries on (guest -> host)'
                except Fail as e:
                    msg += f'; and the source does not carry on: {e}'
                time.sleep(1.5)
                msg += ('; host -> guest works' if guest_says(v, k + 1) else
                        '; host -> guest is dead too')
                raise Fail(msg)
            if v.p.wait(timeout=30) != 0:
                raise Fail(f'the source exited with {v.p.returncode}')
            cur['vm'], cur['ns'] = tgt, ns
            tgt.wait_api(timeout=30)
            before = server.counters()[-1]
            k = host_says_sent(v)
            last = server.more(5, 20, 'after the migration')
            end = time.monotonic() + 10
            while not guest_says(tgt, k + 1) and time.monotonic() < end:
                time.sleep(0.2)
            if not guest_says(tgt, k + 1):
                raise Fail(f'the target printed no HOST-SAYS line after {k}')
            return f'counter {before} -> {last} without a gap, host lines continue on the target'

        # Live migrations first: a failed one leaves the source running; a failed
        # restore would leave no VM for what follows.
        report('migration/linux-tcp-live-same-netns', lambda: migrate_to(ns1, True))
        report('migration/linux-tcp-live-other-netns', lambda: migrate_to(ns2, False))
        report('migration/linux-tcp-snapshot-restore', snap_restore)
    except (subprocess.CalledProcessError, Fail, Skip) as e:
        why = e.stderr.decode().strip() if isinstance(e, subprocess.CalledProcessError) and \
            e.stderr else str(e)
        logs = '\n'.join(v.log() for v in suite.vms[vms_before:])
        for n in names:
            if n not in results:
                suite.res.fail(n, f'set-up: {why}', logs)
    finally:
        for v in suite.vms[vms_before:]:
            v.kill()
        if server:
            server.kill()
        for ns in (ns1, ns2, nsh):
            subprocess.run(['ip', 'netns', 'del', ns], stderr=subprocess.DEVNULL)


def tests(res, kite, elf, only=None, linux_guest=True):
    if not os.path.exists('/dev/kvm'):
        res.skip('migration', '/dev/kvm is missing')
        return
    if not elf or not os.path.exists(elf):
        res.fail('migration', f'{elf} is missing: run ./setup.sh first')
        return
    s = Suite(res, kite, elf, only, linux_guest)
    try:
        s.run()
    finally:
        s.cleanup()


if __name__ == '__main__':
    from harness import standalone
    standalone('kite migration tests', tests)
