# SPDX-License-Identifier: GPL-2.0-only
"""virtio-balloon with kite's default Linux guest (CONFIG_VIRTIO_BALLOON=y),
driven through the control API: one boot, several checks, each reported as
its own balloon/... test.

The guest first turns free page reporting off (page_reporting_order above
the largest order; what it reported while it booted is released already),
so that what the host sees while the balloon inflates is the balloon's
doing.  It fills and frees 48 MiB (now backed by the host: the balloon takes
those pages first; populating guest memory costs ~2 ms a page on kvm-pvm
hosts, hence no more) and waits until its free memory drops by the
balloon's size.  The host sets a 64 MiB target (PUT /vm/balloon), waits for
the guest's `actual` to reach it, compares its RSS, reads the statistics,
and deflates (target 0).  The guest turns reporting on again and sees its
memory come back; the deflate frees pages in large blocks, which the guest
reports: the host must see them."""

import os
import re
import shutil
import tempfile
import time

import linux
from api_tests import Kite, call

MEMORY_MIB = 256
TARGET = 64 << 20
FILL_MIB = 48

NAMES = ['balloon/driver', 'balloon/inflate', 'balloon/host-rss', 'balloon/guest-memory',
         'balloon/stats', 'balloon/deflate', 'balloon/page-reporting', 'balloon/quiet']

# Builtins only where it matters (fork/exec and page faults are slow on kvm-pvm hosts).
GUEST_SCRIPT = r'''
P=/sys/module/page_reporting/parameters/page_reporting_order
read -r O <$P; echo 11 >$P
mf() { while read -r k v u; do case $k in MemFree:) F=$v;; MemTotal:) T=$v;; esac; done </proc/meminfo; }
up() { read -r U _ </proc/uptime; }
dd if=/dev/zero of=/dev/shm/fill bs=1M count=%(fill)d 2>/dev/null; rm /dev/shm/fill
mf; F0=$F; up; echo "KITE-BALLOON-READY up=$U total=$T free=$F"
i=0; while [ $i -lt 60 ]; do mf; [ $F -lt $((F0 - %(drop)d)) ] && break; sleep 1; i=$((i + 1)); done
up; echo "KITE-BALLOON-INFLATED up=$U total=$T free=$F"
echo $O >$P
i=0; while [ $i -lt 60 ]; do mf; [ $F -gt $((F0 - %(back)d)) ] && break; sleep 1; i=$((i + 1)); done
up; echo "KITE-BALLOON-DEFLATED up=$U total=$T free=$F"
sleep 6
up; echo KITE-BALLOON-DONE up=$U
sleep 4
'''


def _rss_kib(pid):
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def _poll(sock, pred, timeout):
    """GET /vm/balloon until pred(json) holds; returns the last reply."""
    end = time.monotonic() + timeout
    while True:
        r = call(sock, 'GET', '/vm/balloon')
        if r.status == 200 and r.json and pred(r.json):
            return r
        if time.monotonic() > end:
            return r
        time.sleep(0.25)


def _field(out, marker, key):
    m = re.search(rf'{marker} up=\S+ total=(\d+) free=(\d+)', out)
    return int(m.group(1 if key == 'total' else 2)) if m else None


def tests(res, kite, elf, only):
    del elf                     # the Linux guest, not the test guest
    names = [n for n in NAMES if not only or re.search(only, n)]
    if not names:
        return
    if not os.path.exists('/dev/kvm'):
        res.skip('balloon', '/dev/kvm is missing')
        return
    g = linux.default_guest()
    if not g:
        for n in names:
            res.fail(n, f'the default guest is not built in {linux.cache_dir()}/guest: run ./setup.sh')
        return
    results = {}

    def put(name, why):
        results.setdefault(name, why)

    tmp = tempfile.mkdtemp(prefix='kite-balloon-')
    sock = os.path.join(tmp, 'api.sock')
    script = GUEST_SCRIPT % {'fill': FILL_MIB, 'drop': (TARGET >> 10) * 3 // 4,
                             'back': (TARGET >> 10) // 4}
    t0 = time.monotonic()
    k = Kite(kite, ['--kernel', g['kernel'], '--initrd', g['initrd'], '--memory', f'{MEMORY_MIB}M',
                    '--balloon', '--api-socket', sock, '-e', linux.run_arg(script)])
    try:
        boot = linux.BOOT_TIMEOUT + 60
        if not (k.wait_socket(sock) and k.wait_for('KITE-BALLOON-READY', timeout=boot)):
            for n in names:
                res.fail(n, 'no socket or the guest did not get ready', k.output())
            return
        t_ready = time.monotonic() - t0
        rss0 = _rss_kib(k.p.pid)
        r = _poll(sock, lambda j: j.get('driver') is True, 10)
        if r.status != 200 or not r.json or r.json.get('driver') is not True:
            put('balloon/driver', f'GET /vm/balloon: {r!r}: no driver running the device')
        else:
            put('balloon/driver', '' if r.json.get('target_bytes') == 0 and
                r.json.get('actual_bytes') == 0 else f'initial state {r.json}')
        r = call(sock, 'PUT', '/vm/balloon', {'target_bytes': TARGET})
        if r.status != 200 or not r.json or r.json.get('target_bytes') != TARGET:
            put('balloon/inflate', f'PUT /vm/balloon: {r!r}')
        t1 = time.monotonic()
        r = _poll(sock, lambda j: j.get('actual_bytes') == TARGET, 30)
        if not r.json or r.json.get('actual_bytes') != TARGET:
            put('balloon/inflate', f'actual_bytes did not reach {TARGET} in 30 s: {r!r}')
        else:
            put('balloon/inflate', '' if r.json.get('released_bytes', 0) >= TARGET * 3 // 4 else
                f'the host released only {r.json.get("released_bytes")} bytes: {r.json}')
        inflate_s = time.monotonic() - t1
        time.sleep(0.5)
        rss1 = _rss_kib(k.p.pid)
        drop = rss0 - rss1
        want = (FILL_MIB << 10) // 3      # measured: about half the fill
        put('balloon/host-rss', '' if drop >= want else
            f'kite RSS {rss0} KiB -> {rss1} KiB: dropped {drop} KiB, expected at least {want} KiB')
        # Stats: the earlier GETs asked for fresh ones.
        r = _poll(sock, lambda j: 'total_memory' in j.get('stats', {}) and
                  'free_memory' in j.get('stats', {}), 10)
        st = (r.json or {}).get('stats', {})
        tot = st.get('total_memory', 0)
        if not (MEMORY_MIB // 2 << 20 <= tot <= MEMORY_MIB << 20):
            put('balloon/stats', f'stats {st} (total_memory {tot}), reply {r!r}')
        elif not isinstance(r.json.get('stats_age_ms'), int):
            put('balloon/stats', f'stats_age_ms {r.json.get("stats_age_ms")!r}')
        else:
            put('balloon/stats', '')
        if not k.wait_for('KITE-BALLOON-INFLATED', timeout=70):
            put('balloon/guest-memory', 'the guest did not print KITE-BALLOON-INFLATED')
        r = call(sock, 'PUT', '/vm/balloon', {'target_bytes': 0})
        r = _poll(sock, lambda j: j.get('actual_bytes') == 0, 30)
        put('balloon/deflate', '' if r.json and r.json.get('actual_bytes') == 0 else
            f'actual_bytes did not go back to 0 in 30 s: {r!r}')
        if not k.wait_for('KITE-BALLOON-DONE', timeout=130):
            put('balloon/page-reporting', 'the guest did not print KITE-BALLOON-DONE')
        r = call(sock, 'GET', '/vm/balloon')
        put('balloon/page-reporting', '' if r.json and r.json.get('reported_bytes', 0) >= 4 << 20
            else f'nothing (or under 4 MiB) reported after freeing {FILL_MIB} MiB: {r!r}')
        k.wait(30)
        out = k.output()
        f0, f1 = _field(out, 'KITE-BALLOON-READY', 'free'), _field(out, 'KITE-BALLOON-INFLATED', 'free')
        t0k, t1k = _field(out, 'KITE-BALLOON-READY', 'total'), _field(out, 'KITE-BALLOON-INFLATED', 'total')
        f2 = _field(out, 'KITE-BALLOON-DEFLATED', 'free')
        if None in (f0, f1, t0k, t1k, f2):
            put('balloon/guest-memory', 'no meminfo lines from the guest')
        else:
            # With DEFLATE_ON_OOM the balloon's pages stay in MemTotal: MemFree drops.
            gone = (f0 - f1) + (t0k - t1k)
            put('balloon/guest-memory', '' if gone >= (TARGET >> 10) * 3 // 4 and f2 > f1 else
                f'guest MemFree {f0} -> {f1} -> {f2} kB, MemTotal {t0k} -> {t1k} kB')
        print(f'    balloon: ready after {t_ready:.0f} s, inflate {inflate_s:.1f} s, kite RSS {rss0} -> '
              f'{rss1} KiB, done after {time.monotonic() - t0:.0f} s', flush=True)
        noise = [line for line in out.splitlines()
                 if line.startswith('kite:') and not line.startswith('kite: note:')]
        put('balloon/quiet', f'kite said: {noise[:5]}' if noise else '')
        secs = time.monotonic() - t0
        for n in names:
            why = results.get(n, 'not checked')
            if why:
                res.fail(n, why, out)
            else:
                res.ok(n, secs)
    finally:
        k.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    # Standalone: python3 tests/balloon_tests.py BUILD_DIR [ONLY_REGEX]
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from run import Results
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__))), 'build')
    rr = Results(False)
    tests(rr, os.path.join(build, 'src', 'kite'), None, sys.argv[2] if len(sys.argv) > 2 else None)
    print(f'{rr.passed} passed, {rr.failed} failed, {rr.skipped} skipped')
    sys.exit(1 if rr.failed else 0)
