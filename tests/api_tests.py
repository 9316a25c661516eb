# SPDX-License-Identifier: GPL-2.0-only
"""The control API (kite run --api-socket PATH), end to end: kite runs the
test guest, Python talks HTTP/1.1 over the unix socket.  Entry point:
tests(res, kite, elf, only), called by tests/run.py; every test is named
api/...  The guest is hostile and so is every client: each malformed request
must get its 4xx with a JSON {"error": ...}, and the VM must keep running."""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time

MEMORY = 64 << 20


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over an AF_UNIX stream socket."""

    def __init__(self, path, timeout=15):
        super().__init__('localhost', timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class Reply:
    def __init__(self, status, headers, data):
        self.status = status
        self.headers = headers
        self.data = data
        try:
            self.json = json.loads(data) if data else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return f'{self.status} {self.data[:300]!r}'


def call(sock, method, path, body=None, headers=None, chunked=False, conn=None):
    c = conn or UnixHTTPConnection(sock)
    try:
        if isinstance(body, dict):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        c.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
        r = c.getresponse()
        return Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        if conn is None:
            c.close()


class Kite:
    """kite run in the background, its output collected by a thread."""

    def __init__(self, kite, args):
        self.t0 = time.monotonic()
        self.p = subprocess.Popen([kite, 'run'] + args, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        self.buf = b''
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        while True:
            chunk = os.read(self.p.stdout.fileno(), 65536)
            if not chunk:
                return
            with self.lock:
                self.buf += chunk

    def output(self):
        with self.lock:
            return self.buf.decode('utf-8', 'replace')

    def count(self, needle):
        with self.lock:
            return self.buf.count(needle.encode())

    def wait_for(self, needle, count=1, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.count(needle) >= count:
                return True
            if self.p.poll() is not None:
                self.reader.join(2)
                return self.count(needle) >= count
            time.sleep(0.02)
        return False

    def wait_socket(self, path, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.p.poll() is not None:
                return False
            try:
                if stat.S_ISSOCK(os.lstat(path).st_mode):
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    try:
                        s.connect(path)
                        return True
                    except OSError:
                        pass
                    finally:
                        s.close()
            except FileNotFoundError:
                pass
            time.sleep(0.02)
        return False

    def wait(self, timeout):
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        """SIGTERM (then SIGKILL); returns the exit status."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        if self.wait(10) is None:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait()
        self.reader.join(5)
        return self.p.returncode

    def alive(self):
        return self.p.poll() is None


class Checker:
    """One test name per check; honours `only`."""

    def __init__(self, res, only):
        self.res = res
        self.only = only

    def want(self, name):
        return not self.only or re.search(self.only, name)

    def check(self, name, fn, kite=None):
        if not self.want(name):
            return None
        t0 = time.monotonic()
        try:
            why = fn()
        except Exception as e:  # noqa: BLE001 - any exception is a failure of this test
            why = f'{type(e).__name__}: {e}'
        if why:
            self.res.fail(name, why, kite.output() if kite else None)
        else:
            self.res.ok(name, time.monotonic() - t0)
        return not why


def is_error(r, status, pattern=None):
    """'' if r is `status` with a JSON {"error": "..."} (matching pattern), else why not."""
    if r.status != status:
        return f'HTTP {r.status}, expected {status}: {r.data[:300]!r}'
    if not r.headers.get('content-type', '').startswith('application/json'):
        return f'Content-Type {r.headers.get("content-type")!r}, expected application/json'
    if not isinstance(r.json, dict) or not isinstance(r.json.get('error'), str) or not r.json['error']:
        return f'body is not {{"error": "..."}}: {r.data[:300]!r}'
    if pattern and not re.search(pattern, r.json['error']):
        return f'error {r.json["error"]!r} does not match /{pattern}/'
    return ''


def status_problems(r, state=None):
    if r.status != 200 and r.status != 202:
        return f'HTTP {r.status}: {r.data[:300]!r}'
    j = r.json
    if not isinstance(j, dict):
        return f'not a JSON object: {r.data[:300]!r}'
    if state and j.get('state') != state:
        return f'state {j.get("state")!r}, expected {state!r}'
    if j.get('state') not in ('running', 'paused', 'stopping'):
        return f'bad state {j.get("state")!r}'
    if j.get('vcpus') != 1:
        return f'vcpus {j.get("vcpus")!r}, expected 1'
    mem = j.get('memory')
    if not isinstance(mem, dict) or mem.get('bytes') != MEMORY or mem.get('backend') != 'anon':
        return f'memory {mem!r}, expected {{"bytes": {MEMORY}, "backend": "anon"}}'
    devs = j.get('devices')
    if not isinstance(devs, list) or not all(
            isinstance(d, dict) and isinstance(d.get('type'), str) and isinstance(d.get('name'), str)
            and (d.get('pci_slot') is None or isinstance(d.get('pci_slot'), int)) for d in devs):
        return f'devices {devs!r}: expected a list of {{type, name, pci_slot}}'
    if not any(d['type'] == 'serial' for d in devs):
        return f'no serial device in {devs!r}'
    up = j.get('uptime_s')
    if not isinstance(up, (int, float)) or up < 0:
        return f'uptime_s {up!r}'
    return ''


# Malformed or wrong requests: (name, method, path, body, headers, chunked, status, pattern)
BIG = ' ' * (70 * 1024)
BAD_REQUESTS = [
    ('bad-json', 'PUT', '/vm/pause', '{"a": ', None, False, 400, r'malformed JSON'),
    ('not-json', 'PUT', '/vm/pause', 'pause please', None, False, 400, r'malformed JSON'),
    ('trailing-garbage', 'PUT', '/vm/pause', '{} {}', None, False, 400, r'malformed JSON'),
    ('nul-byte', 'PUT', '/vm/pause', '{}\0', None, False, 400, r'NUL'),
    ('invalid-utf8', 'PUT', '/vm/snapshot', b'{"dir": "/\xff"}', None, False, 400, r'malformed JSON'),
    ('too-deep', 'PUT', '/vm/pause', '[' * 100 + ']' * 100, None, False, 400, r'nested too deeply'),
    ('array-body', 'PUT', '/vm/pause', '[]', None, False, 400, r'must be a JSON object'),
    ('unknown-field', 'PUT', '/vm/pause', {'force': True}, None, False, 400, r"unknown field 'force'"),
    ('unknown-field-balloon', 'PUT', '/vm/balloon', {'target_bytes': 0, 'x': 1}, None, False, 400,
     r"unknown field 'x'.*target_bytes"),
    ('wrong-type-string', 'PUT', '/vm/balloon', {'target_bytes': '4096'}, None, False, 400,
     r"'target_bytes' must be an integer, not a string"),
    ('wrong-type-float', 'PUT', '/vm/balloon', {'target_bytes': 4096.5}, None, False, 400,
     r"must be an integer"),
    ('wrong-type-null', 'PUT', '/vm/balloon', {'target_bytes': None}, None, False, 400,
     r"must be an integer, not null"),
    ('negative', 'PUT', '/vm/balloon', {'target_bytes': -4096}, None, False, 400, r'at least 0'),
    ('huge-integer', 'PUT', '/vm/balloon', '{"target_bytes": 99999999999999999999999}', None, False,
     400, r'too large'),
    ('balloon-unaligned', 'PUT', '/vm/balloon', {'target_bytes': 4097}, None, False, 400,
     r'multiple of 4096'),
    ('balloon-over-memory', 'PUT', '/vm/balloon', {'target_bytes': 2 * MEMORY}, None, False, 400,
     r"more than the guest's memory"),
    ('balloon-missing-field', 'PUT', '/vm/balloon', {}, None, False, 400, r"missing field 'target_bytes'"),
    ('balloon-empty-body', 'PUT', '/vm/balloon', None, None, False, 400, r'body is empty'),
    ('snapshot-relative', 'PUT', '/vm/snapshot', {'dir': 'snap'}, None, False, 400, r'absolute'),
    ('snapshot-empty', 'PUT', '/vm/snapshot', {'dir': ''}, None, False, 400, r'empty'),
    ('snapshot-nul', 'PUT', '/vm/snapshot', '{"dir": "/tmp/a\\u0000b"}', None, False, 400, r'NUL'),
    ('snapshot-wrong-type', 'PUT', '/vm/snapshot', {'dir': ['/tmp']}, None, False, 400, r'must be a string'),
    ('migrate-bad-scheme', 'PUT', '/vm/migrate', {'uri': 'http://x'}, None, False, 400, r'tcp:HOST:PORT'),
    ('migrate-no-port', 'PUT', '/vm/migrate', {'uri': 'tcp:host'}, None, False, 400, r'port'),
    ('migrate-bad-port', 'PUT', '/vm/migrate', {'uri': 'tcp:host:65536'}, None, False, 400, r'port'),
    ('migrate-bad-host', 'PUT', '/vm/migrate', {'uri': 'tcp:ho st:80'}, None, False, 400, r'host'),
    ('migrate-bad-ipv6', 'PUT', '/vm/migrate', {'uri': 'tcp:[zz::1]:80'}, None, False, 400, r'IPv6'),
    ('migrate-relative-unix', 'PUT', '/vm/migrate', {'uri': 'unix:sock'}, None, False, 400, r'absolute'),
    ('migrate-downtime-zero', 'PUT', '/vm/migrate', {'uri': 'tcp:h:1', 'max_downtime_ms': 0}, None,
     False, 400, r'max_downtime_ms.*at least 1'),
    ('migrate-missing-uri', 'PUT', '/vm/migrate', {'max_downtime_ms': 10}, None, False, 400,
     r"missing field 'uri'"),
    ('oversize-body', 'PUT', '/vm/pause', BIG, None, False, 400, r'larger than 65536'),
    ('oversize-chunked', 'PUT', '/vm/pause', (BIG[:8192].encode(),) * 9, None, True, 400,
     r'larger than 65536'),
    ('get-with-body', 'GET', '/vm', '{}', None, False, 400, r'takes no request body'),
    ('unknown-path', 'GET', '/vm/frobnicate', None, None, False, 404, r'no such path'),
    ('unknown-path-root', 'GET', '/', None, None, False, 404, r'no such path'),
    ('trailing-slash', 'GET', '/vm/', None, None, False, 404, r'no such path'),
    ('wrong-method-post', 'POST', '/vm/pause', None, None, False, 405, r'takes PUT'),
    ('wrong-method-delete', 'DELETE', '/vm', None, None, False, 405, r'takes GET'),
    ('wrong-method-get', 'GET', '/vm/shutdown', None, None, False, 405, r'takes PUT'),
    ('resume-when-running', 'PUT', '/vm/resume', None, None, False, 409, r'not paused'),
    # No --balloon here (bodies validated first, above): 409; balloon_tests() has one.
    ('balloon-no-device', 'PUT', '/vm/balloon', {'target_bytes': 4096}, None, False, 409,
     r'no balloon device.*--balloon'),
    ('balloon-status-no-device', 'GET', '/vm/balloon', None, None, False, 409,
     r'no balloon device.*--balloon'),
    # Migration (tests/migration_tests.py migrates for real): nothing running yet.
    ('migrate-cancel-none', 'PUT', '/vm/migrate/cancel', None, None, False, 409,
     r'no migration is running'),
]


def session_tests(ck, kite, elf, tmp):
    """One VM (the test guest, halted after its verdict) and many requests."""
    sock = os.path.join(tmp, 'api.sock')
    # A stale socket (bound, nobody listening) must be replaced.
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(sock)
    stale.close()
    k = Kite(kite, ['--kernel', elf, '--memory', '64M', '--cmdline', 'test=hello hold=1',
                    '--on-reboot=exit', '--api-socket', sock])
    try:
        up = k.wait_socket(sock) and k.wait_for('KITE-HOLD')
        if not up:
            ck.res.fail('api/starts', 'no socket or the guest did not start', k.output())
            return
        ck.check('api/starts', lambda: '', k)

        def mode():
            m = stat.S_IMODE(os.lstat(sock).st_mode)
            return '' if m == 0o600 else f'mode {m:o}, expected 600'
        ck.check('api/socket-mode-0600', mode, k)
        ck.check('api/stale-socket-replaced', lambda: '', k)   # it started on a stale socket
        ck.check('api/status', lambda: status_problems(call(sock, 'GET', '/vm'), 'running'), k)

        def pause_resume():
            r = call(sock, 'PUT', '/vm/pause')
            why = status_problems(r, 'paused')
            why = why or status_problems(call(sock, 'GET', '/vm'), 'paused')
            why = why or is_error(call(sock, 'PUT', '/vm/pause'), 409, r'already paused')
            why = why or is_error(call(sock, 'PUT', '/vm/shutdown'), 409, r'paused')
            why = why or status_problems(call(sock, 'PUT', '/vm/resume', '{}'), 'running')
            why = why or status_problems(call(sock, 'GET', '/vm'), 'running')
            return why
        ck.check('api/pause-resume', pause_resume, k)

        for name, method, path, body, headers, chunked, status, pattern in BAD_REQUESTS:
            def one(method=method, path=path, body=body, headers=headers, chunked=chunked,
                    status=status, pattern=pattern):
                why = is_error(call(sock, method, path, body, headers, chunked), status, pattern)
                if not why and status == 405:
                    r = call(sock, method, path, body, headers, chunked)
                    why = '' if r.headers.get('allow') else 'no Allow header'
                if not why and not k.alive():
                    why = 'kite exited'
                return why or status_problems(call(sock, 'GET', '/vm'), 'running')
            ck.check(f'api/bad/{name}', one, k)

        def raw_garbage():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(2)
            s.connect(sock)
            s.sendall(b'\x00\xffNOT HTTP AT ALL\r\n\r\n')
            try:
                s.recv(4096)          # MHD's own 400, or a hang-up: either is fine
            except OSError:
                pass
            s.close()
            # A client that connects and says nothing must not block the others.
            idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            idle.connect(sock)
            try:
                return status_problems(call(sock, 'GET', '/vm'), 'running')
            finally:
                idle.close()
        ck.check('api/bad/not-http', raw_garbage, k)

        def keep_alive():
            c = UnixHTTPConnection(sock)
            try:
                for _ in range(5):
                    why = status_problems(call(sock, 'GET', '/vm', conn=c), 'running')
                    if why:
                        return why
                return ''
            finally:
                c.close()
        ck.check('api/keep-alive', keep_alive, k)

        def parallel():
            out = []

            def worker():
                for _ in range(10):
                    out.append(call(sock, 'GET', '/vm').status)
            ts = [threading.Thread(target=worker) for _ in range(8)]
            for t in ts:
                t.start()
            for t in ts:
                t.join(60)
            return '' if out.count(200) == 80 else f'statuses {sorted(set(out))}, {len(out)} answers'
        ck.check('api/parallel-clients', parallel, k)

        def snapshot():
            d = os.path.join(tmp, 'snap')
            r = call(sock, 'PUT', '/vm/snapshot', {'dir': d})
            if r.status == 501:
                return 'SKIP'
            why = status_problems(r, 'running')
            if not why:
                missing = [f for f in ('state', 'memory') if not os.path.exists(os.path.join(d, f))]
                why = f'{d} lacks {missing}' if missing else ''
            return why or is_error(call(sock, 'PUT', '/vm/snapshot', {'dir': os.path.join(tmp, 'no', 'such')}),
                                   400)
        if ck.want('api/snapshot'):
            t0 = time.monotonic()
            why = snapshot()
            if why == 'SKIP':
                ck.res.skip('api/snapshot', 'PUT /vm/snapshot answers 501 (not implemented)')
            elif why:
                ck.res.fail('api/snapshot', why, k.output())
            else:
                ck.res.ok('api/snapshot', time.monotonic() - t0)

        def shutdown_accepted():
            r = call(sock, 'PUT', '/vm/shutdown')
            return status_problems(r) if r.status == 202 else f'HTTP {r.status}, expected 202: {r!r}'
        ck.check('api/shutdown-accepted', shutdown_accepted, k)

        ck.check('api/vm-still-running', lambda: '' if k.alive() else 'kite exited', k)
        status = k.stop()

        def removed():
            if status != 128 + signal.SIGTERM:
                return f'exit status {status} after SIGTERM, expected 143'
            return f'{sock} still exists' if os.path.lexists(sock) else ''
        ck.check('api/socket-removed-at-exit', removed, k)
        # Only the guest's lines and nothing from the API at the default log level.
        noise = [l for l in k.output().splitlines()
                 if l.strip() and not l.startswith('KITE-') and 'received signal' not in l]
        ck.check('api/quiet', lambda: f'unexpected output: {noise[:5]}' if noise else '', k)
    finally:
        k.stop()
    # That the press powers a guest off: linux/api-shutdown-powers-off (the
    # test guest has no SCI handler).


BALLOON_KEYS = {'target_bytes', 'actual_bytes', 'driver', 'stats', 'stats_age_ms',
                'released_bytes', 'reported_bytes', 'bad_pfns'}


def balloon_problems(r, target):
    """'' if r is a 200 BalloonStatus with this target and no driver (the test guest has none)."""
    if r.status != 200 or not isinstance(r.json, dict):
        return f'HTTP {r.status}, expected 200: {r!r}'
    j = r.json
    if set(j) != BALLOON_KEYS:
        return f'keys {sorted(j)}, expected {sorted(BALLOON_KEYS)}'
    if j['target_bytes'] != target:
        return f'target_bytes {j["target_bytes"]}, expected {target}'
    if j['actual_bytes'] != 0 or j['driver'] is not False or j['stats'] != {} or \
            j['stats_age_ms'] is not None:
        return f'a guest without a balloon driver: {j}'
    return ''


def balloon_tests(ck, kite, elf, tmp):
    """--balloon with the test guest, which has no balloon driver: the API
    side (tests/balloon_tests.py drives a Linux guest's balloon)."""
    name = 'api/balloon'
    if not ck.want(name):
        return
    sock = os.path.join(tmp, 'balloon.sock')
    k = Kite(kite, ['--kernel', elf, '--memory', '64M', '--cmdline', 'test=hello hold=1',
                    '--balloon', '--api-socket', sock])
    try:
        def run():
            if not (k.wait_socket(sock) and k.wait_for('KITE-HOLD')):
                return 'no socket or the guest did not start'
            r = call(sock, 'GET', '/vm')
            devs = [d.get('type') for d in (r.json or {}).get('devices', [])]
            if 'virtio-balloon' not in devs:
                return f'GET /vm lists no virtio-balloon: {devs}'
            why = balloon_problems(call(sock, 'GET', '/vm/balloon'), 0)
            why = why or balloon_problems(call(sock, 'PUT', '/vm/balloon',
                                               {'target_bytes': 16 << 20}), 16 << 20)
            why = why or balloon_problems(call(sock, 'GET', '/vm/balloon'), 16 << 20)
            why = why or balloon_problems(call(sock, 'PUT', '/vm/balloon',
                                               {'target_bytes': MEMORY}), MEMORY)
            why = why or is_error(call(sock, 'PUT', '/vm/balloon', {'target_bytes': MEMORY + 4096}),
                                  400, r"more than the guest's memory")
            # Paused: the target can still change (the guest sees it when it runs).
            why = why or status_problems(call(sock, 'PUT', '/vm/pause'), 'paused')
            why = why or balloon_problems(call(sock, 'PUT', '/vm/balloon', {'target_bytes': 0}), 0)
            why = why or balloon_problems(call(sock, 'GET', '/vm/balloon'), 0)
            why = why or status_problems(call(sock, 'PUT', '/vm/resume'), 'running')
            if why:
                return why
            # A snapshot keeps the device and its target; --restore brings both back.
            why = balloon_problems(call(sock, 'PUT', '/vm/balloon', {'target_bytes': 8 << 20}), 8 << 20)
            snap = os.path.join(tmp, 'balloon-snap')
            why = why or status_problems(call(sock, 'PUT', '/vm/snapshot', {'dir': snap}), 'running')
            if why:
                return why
            k.stop()
            sock2 = os.path.join(tmp, 'balloon2.sock')
            k2 = Kite(kite, ['--restore', snap, '--api-socket', sock2])
            try:
                if not k2.wait_socket(sock2):
                    return f'--restore did not come up: {k2.output()[-500:]!r}'
                why = balloon_problems(call(sock2, 'GET', '/vm/balloon'), 8 << 20)
                return why or ('' if k2.alive() else 'the restored kite exited')
            finally:
                k2.stop()
        ck.check(name, run, k)
    finally:
        k.stop()


def reset_tests(ck, kite, elf, tmp):
    """PUT /vm/reset with --on-reboot=exit: exit status 3."""
    if not ck.want('api/reset-exit'):
        return
    sock = os.path.join(tmp, 'reset.sock')
    k = Kite(kite, ['--kernel', elf, '--memory', '64M', '--cmdline', 'test=hello hold=1',
                    '--on-reboot=exit', '--api-socket', sock])
    try:
        def reset():
            if not (k.wait_socket(sock) and k.wait_for('KITE-HOLD')):
                return 'no socket or the guest did not start'
            r = call(sock, 'PUT', '/vm/reset')
            if r.status != 202:
                return f'HTTP {r.status}, expected 202: {r!r}'
            st = k.wait(10)
            if st is None:
                return 'kite did not exit within 10 s of the reset'
            if st != 3:
                return f'exit status {st}, expected 3'
            return f'{sock} still exists' if os.path.lexists(sock) else ''
        ck.check('api/reset-exit-status-3', reset, k)
    finally:
        k.stop()


def restart_tests(ck, kite, elf, tmp):
    """The test guest resets itself in a loop (--on-reboot=restart): the API
    outlives each VM, and pausing visibly stops the guest."""
    names = ('api/requests-across-restarts', 'api/pause-stops-guest', 'api/resume-continues-guest')
    if not any(ck.want(n) for n in names):
        return
    sock = os.path.join(tmp, 'loop.sock')
    k = Kite(kite, ['--kernel', elf, '--memory', '64M', '--cmdline', 'test=reset',
                    '--on-reboot=restart', '--api-socket', sock])
    try:
        if not (k.wait_socket(sock) and k.wait_for('KITE-RESET', 3)):
            for n in names:
                ck.res.fail(n, 'no socket or the guest did not reset 3 times', k.output())
            return

        def across():
            bad = []
            for _ in range(40):
                r = call(sock, 'GET', '/vm')
                if r.status != 200 or status_problems(r):
                    bad.append(repr(r))
            return f'{len(bad)} of 40 failed: {bad[:3]}' if bad else ''
        ck.check('api/requests-across-restarts', across, k)

        def pause():
            for _ in range(50):         # 409 while a VM is stopping for its reset
                r = call(sock, 'PUT', '/vm/pause')
                if r.status == 200:
                    break
                if r.status != 409:
                    return f'HTTP {r.status}: {r!r}'
            else:
                return 'pause kept answering 409'
            why = status_problems(r, 'paused')
            if why:
                return why
            time.sleep(0.3)             # output already on its way
            before = k.count('KITE-RESET')
            time.sleep(1.5)
            after = k.count('KITE-RESET')
            if after != before:
                return f'the guest printed {after - before} more KITE-RESET while paused'
            return status_problems(call(sock, 'GET', '/vm'), 'paused')
        paused = ck.check('api/pause-stops-guest', pause, k)

        def resume():
            before = k.count('KITE-RESET')
            r = call(sock, 'PUT', '/vm/resume')
            # The guest may reset right after it resumes: 'stopping' is fine too.
            why = status_problems(r) if paused else ''
            if paused and not why and r.json['state'] not in ('running', 'stopping'):
                why = f'state {r.json["state"]!r} after resume'
            if why:
                return why
            return '' if k.wait_for('KITE-RESET', before + 3, 15) else 'the guest did not go on resetting'
        ck.check('api/resume-continues-guest', resume, k)
    finally:
        k.stop()


def path_tests(ck, kite, elf, tmp):
    """What is at --api-socket PATH: one line and exit status 2 unless it is free or stale."""
    regular = os.path.join(tmp, 'regular')
    open(regular, 'w').close()
    directory = os.path.join(tmp, 'dir')
    os.mkdir(directory)
    live = os.path.join(tmp, 'live.sock')
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(live)
    listener.listen(1)
    cases = [
        ('regular-file', regular, r'exists and is not a socket'),
        ('directory', directory, r'exists and is not a socket'),
        ('in-use', live, r'in use'),
        ('no-such-directory', os.path.join(tmp, 'nope', 's'), r'cannot create --api-socket'),
        ('too-long', os.path.join(tmp, 'x' * 120), r'1 to 107 bytes'),
    ]
    try:
        for name, path, pattern in cases:
            def one(path=path, pattern=pattern):
                t = subprocess.run([kite, 'run', '--kernel', elf, '--memory', '64M', '--cmdline',
                                    'test=hello hold=1', '--api-socket', path],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, timeout=20)
                out = t.stdout.decode('utf-8', 'replace')
                lines = [l for l in out.splitlines() if l.strip()]
                if t.returncode != 2:
                    return f'exit status {t.returncode}, expected 2: {out[-500:]!r}'
                if len(lines) != 1:
                    return f'expected one line, got {len(lines)}: {lines[:5]}'
                if not re.search(pattern, out):
                    return f'{out.strip()!r} does not match /{pattern}/'
                if name == 'regular-file' and not os.path.isfile(regular):
                    return 'the regular file was removed'
                return ''
            ck.check(f'api/socket-path/{name}', one)
    finally:
        listener.close()


def tests(res, kite, elf, only):
    ck = Checker(res, only)
    if only and not re.search(only, 'api/') and not only.startswith('api'):
        return                          # as run.py's want(): a prefix or a match
    if not os.path.exists('/dev/kvm'):
        res.skip('api', '/dev/kvm is missing: the API tests run a VM')
        return
    if not elf or not os.path.exists(elf):
        res.fail('api', f'the test guest {elf} is missing')
        return
    tmp = tempfile.mkdtemp(prefix='kite-api-')
    try:
        path_tests(ck, kite, elf, tmp)
        session_tests(ck, kite, elf, tmp)
        balloon_tests(ck, kite, elf, tmp)
        reset_tests(ck, kite, elf, tmp)
        restart_tests(ck, kite, elf, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    # Standalone: python3 tests/api_tests.py BUILD_DIR [ONLY_REGEX]
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from run import Results
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__))), 'build')
    r = Results(False)
    elf_path = os.path.join(build, 'tests', 'guest', 'kite-testguest.elf')
    if not os.path.exists(elf_path):
        elf_path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                'build', 'tests', 'guest', 'kite-testguest.elf')
    tests(r, os.path.join(build, 'src', 'kite'), elf_path, sys.argv[2] if len(sys.argv) > 2 else None)
    print(f'{r.passed} passed, {r.failed} failed, {r.skipped} skipped')
    sys.exit(1 if r.failed else 0)
