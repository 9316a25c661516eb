#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Host side of the test guest's virtio-pci cases (tests/guest/cases.py,
VIRTIO_CASES): disk images with a known pattern that are checked after the
run, a private network namespace with a TAP device and a responder on its
host end, a socket for the virtio console.  Runs each case under QEMU
microvm (pcie=on) and under kite.

Standalone:  python3 tests/virtio_cases.py [--qemu-only] [--only REGEX]
From tests/run.py: run_virtio_cases(res, kite, elf, only, qemu=True).

Standard library only.  The network cases need root (ip netns, /dev/net/tun).
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'guest'))
sys.path.insert(0, os.path.join(ROOT, 'tests'))


# ------------------------------------------------------------ disk images
# Sector s of a pattern with seed S: 128 little-endian u32 words
#   w[0] = s, w[1] = S, w[i] = (i * 0x9E3779B1 + S) ^ (s * 0x85EBCA77 + 1)
# (test_virtio_blk.c computes the same).
SEED_DISK = 0x4B534944     # "DISK": the image as the harness made it
SEED_WRITE = 0x54495257    # "WRIT": what the guest writes
M32 = 0xFFFFFFFF
_REPEAT = sum(1 << (32 * j) for j in range(126))


def _tail_int(seed):
    return int.from_bytes(b''.join(((i * 0x9E3779B1 + seed) & M32).to_bytes(4, 'little')
                                   for i in range(2, 128)), 'little')


def pattern_sectors(first, count, seed):
    tail = _tail_int(seed)
    out = bytearray()
    for s in range(first, first + count):
        k = ((s * 0x85EBCA77) + 1) & M32
        out += struct.pack('<II', s & M32, seed)
        out += (tail ^ (k * _REPEAT)).to_bytes(504, 'little')
    return bytes(out)


def make_disk(path, sectors):
    with open(path, 'wb') as f:
        step = 4096
        for first in range(0, sectors, step):
            f.write(pattern_sectors(first, min(step, sectors - first), SEED_DISK))


def check_disk(path, sectors, out, readonly):
    """The image after the run: the guest's KITE-BLK-* lines say what it
    changed; everything else must still hold the original pattern.
    Returns None or the reason."""
    if os.path.getsize(path) != sectors * 512:
        return f'image size changed to {os.path.getsize(path)} bytes'
    changes = {}
    for kind, first, count in re.findall(r'KITE-BLK-(WRITE|ZEROES|DISCARD) (\d+) (\d+)', out):
        changes[kind] = (int(first), int(count))
    if readonly and changes:
        return f'the guest reported changes {changes} on a read-only disk'
    if not readonly and 'WRITE' not in changes:
        return 'the guest did not report its write (KITE-BLK-WRITE)'
    zero = bytes(512)
    with open(path, 'rb') as f:
        data = f.read()
    step = 4096
    for first in range(0, sectors, step):
        n = min(step, sectors - first)
        want = pattern_sectors(first, n, SEED_DISK)
        got = data[first * 512:(first + n) * 512]
        if got == want:
            in_change = any(a < first + n and first < a + c for a, c in changes.values())
            if not in_change:
                continue
        for s in range(first, first + n):
            g = got[(s - first) * 512:(s - first + 1) * 512]
            orig = want[(s - first) * 512:(s - first + 1) * 512]
            kind = next((k for k, (a, c) in changes.items() if a <= s < a + c), None)
            if kind == 'WRITE':
                ok = g == pattern_sectors(s, 1, SEED_WRITE)
                what = 'the pattern the guest wrote'
            elif kind == 'ZEROES':
                ok = g == zero
                what = 'zeros (WRITE_ZEROES)'
            elif kind == 'DISCARD':
                ok = g in (zero, orig)
                what = 'zeros or the original data (DISCARD)'
            else:
                ok = g == orig
                what = 'the original pattern (the guest did not write there)'
            if not ok:
                return f'sector {s} of the image does not hold {what}'
    return None


# ------------------------------------------------------------ network
ETH_TYPE = 0x88B5
PACKET_OUTGOING = 4


def responder(iface, report):
    """Runs in the namespace: answers the guest's frames (see test_virtio_net.c)
    and appends one JSON line per frame to `report`."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_TYPE))
    s.bind((iface, ETH_TYPE))
    me = s.getsockname()[4]
    rep = open(report, 'a', buffering=1)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print('READY', flush=True)
    while True:
        data, addr = s.recvfrom(65536)
        if addr[2] == PACKET_OUTGOING or len(data) < 30 or data[14:22] != b'KITENET\0':
            continue
        src = data[6:12]
        seq, kind, dlen = struct.unpack_from('<IHH', data, 22)
        body = data[30:30 + dlen]
        ev = dict(src=src.hex(':'), seq=seq, kind=kind, dlen=dlen, frame=len(data))
        if kind == 1:
            ev['ok'] = len(body) == dlen and all(b == ((seq * 7 + j) & 0xFF)
                                                  for j, b in enumerate(body))
            reply = bytes(b ^ 0xA5 for b in body)
            s.send(src + me + struct.pack('>H', ETH_TYPE) + b'KITENET\0' +
                   struct.pack('<IHH', seq, 2, dlen) + reply)
        elif kind == 3:
            ev['ok'] = True
            for i in range(seq):
                n = 100 + (i * 37) % 1300
                s.send(src + me + struct.pack('>H', ETH_TYPE) + b'KITENET\0' +
                       struct.pack('<IHH', i, 4, n) + bytes((i + j) & 0xFF for j in range(n)))
        rep.write(json.dumps(ev) + '\n')


class NetNS:
    """A network namespace with one TAP device and the responder on it."""

    def __init__(self, tmp):
        self.name = f'kite-vt-{os.getpid()}-{int(time.monotonic() * 1000) % 100000}'
        self.tap = 'ktap0'
        self.report = os.path.join(tmp, 'net-report.jsonl')
        self.proc = None

    def __enter__(self):
        def ip(*a):
            subprocess.run(['ip'] + list(a), check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
        ip('netns', 'add', self.name)
        try:
            ip('-n', self.name, 'tuntap', 'add', 'dev', self.tap, 'mode', 'tap')
            subprocess.run(['ip', 'netns', 'exec', self.name, 'sysctl', '-qw',
                            f'net.ipv6.conf.{self.tap}.disable_ipv6=1'],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            ip('-n', self.name, 'link', 'set', self.tap, 'up')
            self.proc = subprocess.Popen(
                ['ip', 'netns', 'exec', self.name, sys.executable, os.path.abspath(__file__),
                 '--responder', self.tap, '--report', self.report],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            line = self.proc.stdout.readline().decode()
            if 'READY' not in line:
                raise RuntimeError(f'responder did not start: {line}{self.proc.stdout.read().decode()}')
        except BaseException:
            self.__exit__()
            raise
        return self

    def prefix(self):
        return ['ip', 'netns', 'exec', self.name]

    def events(self):
        try:
            with open(self.report) as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def __exit__(self, *exc):
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        subprocess.run(['ip', 'netns', 'del', self.name], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


def check_net(ns, net):
    ev = ns.events()
    mac = net['mac'].lower()
    req = [e for e in ev if e['kind'] == 1]
    if not req:
        return 'the responder saw no frame from the guest'
    bad = [e for e in req if not e['ok'] or e['src'] != mac]
    if bad:
        return f'bad echo requests at the host end of the TAP: {bad[:3]}'
    seqs = {e['seq'] for e in req}
    if seqs != set(range(net['frames'])):
        return f'echo requests seen for {len(seqs)} sequence numbers, expected {net["frames"]}'
    if net.get('burst') and not any(e['kind'] == 3 and e['seq'] == net['burst'] for e in ev):
        return 'the responder saw no burst request'
    return None


# ------------------------------------------------------------ console
class ConsoleSocket:
    """A Unix socket server the VMM's console chardev connects to; collects
    what the guest writes and sends `input` once asked to."""

    def __init__(self, tmp):
        self.path = os.path.join(tmp, 'console.sock')
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(self.path)
        self.srv.listen(1)
        self.conn = None
        self.data = b''
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.srv.settimeout(120)
        try:
            self.conn, _ = self.srv.accept()
        except OSError:
            return
        while True:
            try:
                chunk = self.conn.recv(4096)
            except OSError:
                break
            if not chunk:
                break
            with self.lock:
                self.data += chunk

    def send(self, data):
        for _ in range(100):
            if self.conn:
                self.conn.sendall(data)
                return True
            time.sleep(0.05)
        return False

    def text(self):
        self.thread.join(2)
        with self.lock:
            return self.data.decode('utf-8', 'replace')

    def close(self):
        for s in (self.conn, self.srv):
            try:
                if s:
                    s.close()
            except OSError:
                pass


# ------------------------------------------------------------ running a case
def fill(s, ctx):
    for k, v in ctx.items():
        s = s.replace('{' + k + '}', str(v))
    return s


def run_vm(cmd, timeout, on_line=None, stdin=None):
    """Runs cmd; calls on_line(text so far) on each output chunk.
    Returns (status, output, seconds, timed_out)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True)
    out = b''
    timed_out = False
    import select
    end = t0 + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            timed_out = True
            os.killpg(p.pid, signal.SIGKILL)
            break
        r, _, _ = select.select([p.stdout], [], [], min(left, 0.5))
        if r:
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            out += chunk
            if on_line:
                on_line(out.decode('utf-8', 'replace'), p)
    rest = p.stdout.read() if not timed_out else b''
    p.wait()
    out += rest or b''
    return p.returncode, out.decode('utf-8', 'replace'), time.monotonic() - t0, timed_out


def qemu_base(cases_mod):
    base = list(cases_mod.QEMU_BASE)
    i = base.index('-M') + 1
    if 'pcie=on' not in base[i]:
        base[i] += ',pcie=on'
    return base


def run_case(res, vmm, case, elf, kite=None, base=None):
    name = f'guest-{vmm}/{case["name"]}'
    tmp = tempfile.mkdtemp(prefix='kite-virtio-')
    ns = con = None
    try:
        ctx = dict(tmp=tmp)
        disk = case.get('disk')
        if disk:
            ctx['disk'] = os.path.join(tmp, 'disk.img')
            ctx['sectors'] = disk['size_mib'] * 2048
            ctx['serial'] = disk.get('serial', '')
            make_disk(ctx['disk'], ctx['sectors'])
            with open(ctx['disk'], 'rb') as f:
                before = f.read()
        net = case.get('net')
        if net:
            ns = NetNS(tmp).__enter__()
            ctx['tap'] = ns.tap
            ctx['mac'] = net['mac']
        console = case.get('console')
        if console:
            ctx['token'] = console.get('token', '')
        use_sock = console and (vmm == 'qemu' or console.get('kite_out') == 'socket')
        if use_sock:
            con = ConsoleSocket(tmp)
            ctx['console_sock'] = con.path

        cmdline = fill(case['cmdline'], ctx)
        if vmm == 'qemu':
            cmd = [shutil.which('qemu-system-x86_64')] + base + [
                '-m', case['memory'], '-smp', str(case['cpus']), '-kernel', elf,
                '-append', cmdline] + [fill(a, ctx) for a in case['qemu_args']]
        else:
            cmd = [kite, 'run', '--kernel', elf, '--memory', case['memory'],
                   '--cpus', str(case['cpus']), '--cmdline', cmdline] + \
                  [fill(a, ctx) for a in case['kite_args']]
        if ns:
            cmd = ns.prefix() + cmd

        # console input: sent once the guest says it is ready for it
        sent = []
        stdin_in = console and console.get('token') and vmm == 'kite' and \
            console.get('kite_in') == 'stdin'

        def on_line(text, proc):
            if not console or not console.get('token') or sent or 'KITE-CONSOLE-READY' not in text:
                return
            line = f'KITE-CONSOLE-IN {console["token"]}\n'.encode()
            if stdin_in:
                proc.stdin.write(line)
                proc.stdin.flush()
            elif con:
                con.send(line)
            sent.append(True)

        status, out, secs, timed_out = run_vm(cmd, case['timeout'], on_line, stdin=stdin_in)
        con_text = con.text() if con else out

        why = None
        if timed_out:
            why = f'timed out after {case["timeout"]}s'
        elif [e for e in case['expect'] if e not in out]:
            why = f'missing output {[e for e in case["expect"] if e not in out]!r} (exit status {status})'
        elif 'KITE-TEST-FAIL' in out:
            why = 'the guest reported a failure'
        elif status != 0:
            why = f'exit status {status}, expected 0'
        elif disk:
            if disk.get('readonly'):
                with open(ctx['disk'], 'rb') as f:
                    if f.read() != before:
                        why = 'the read-only disk image changed'
            else:
                why = check_disk(ctx['disk'], ctx['sectors'], out, False)
        if not why and net:
            why = check_net(ns, net)
        if not why and console:
            want = [fill(e, ctx) for e in console.get('expect', [])]
            missing = [e for e in want if e not in con_text]
            if missing:
                where = 'console socket' if con else 'VMM output'
                why = f'missing on the virtio console ({where}): {missing!r}'
                out += f'\n--- console output ---\n{con_text[-2000:]}'
        if why:
            res.fail(name, why, out)
        else:
            res.ok(name, secs)
            if res.verbose:
                print(''.join(f'    | {l}\n' for l in out.rstrip().splitlines()), end='')
                if con:
                    print(f'    | --- console: {len(con_text)} bytes: {con_text[:60]!r}...')
    except Exception as e:  # noqa: BLE001 - a broken harness is a failed test
        res.fail(name, f'harness error: {e!r}')
    finally:
        if con:
            con.close()
        if ns:
            ns.__exit__()
        shutil.rmtree(tmp, ignore_errors=True)


def run_virtio_cases(res, kite, elf, only, qemu=True, kite_side=True):
    import cases as cases_mod
    cases = getattr(cases_mod, 'VIRTIO_CASES', [])
    for case in cases:
        name = f'guest-kite/{case["name"]}'
        if not kite_side or (only and not re.search(only, name)):
            continue
        if case.get('kite_skip'):
            res.skip(name, case['kite_skip'])
        else:
            run_case(res, 'kite', case, elf, kite=kite)
    if not qemu:
        return
    qemu_bin = shutil.which('qemu-system-x86_64')
    for case in cases:
        name = f'guest-qemu/{case["name"]}'
        if only and not re.search(only, name):
            continue
        if not qemu_bin:
            res.skip(name, 'qemu-system-x86_64 is not installed')
        elif case.get('qemu_skip'):
            res.skip(name, case['qemu_skip'])
        elif case.get('net') and os.geteuid() != 0:
            res.skip(name, 'needs root for a network namespace and a TAP device')
        else:
            run_case(res, 'qemu', case, elf, base=qemu_base(cases_mod))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--build', default=os.path.join(ROOT, 'build'))
    ap.add_argument('--only', help='run only cases whose name matches this regex')
    ap.add_argument('--qemu-only', action='store_true', help='skip the kite side')
    ap.add_argument('--no-qemu', action='store_true', help='skip the QEMU side')
    ap.add_argument('-v', '--verbose', action='store_true', help="show passing cases' output")
    ap.add_argument('--responder', metavar='IFACE', help=argparse.SUPPRESS)
    ap.add_argument('--report', help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.responder:
        responder(args.responder, args.report)
        return 0
    import run as runner
    res = runner.Results(args.verbose)
    kite = os.path.join(args.build, 'src', 'kite')
    elf = os.path.join(args.build, 'tests', 'guest', 'kite-testguest.elf')
    t0 = time.monotonic()
    run_virtio_cases(res, kite, elf, args.only, qemu=not args.no_qemu,
                     kite_side=not args.qemu_only)
    print(f'\n# {time.monotonic() - t0:.1f}s; failed: {", ".join(res.failures) or "none"}')
    print(f'{res.passed} passed, {res.failed} failed, {res.skipped} skipped')
    return 1 if res.failed else 0


if __name__ == '__main__':
    sys.exit(main())
