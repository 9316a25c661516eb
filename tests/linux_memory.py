# SPDX-License-Identifier: GPL-2.0-only
"""Guest memory: backends (anon, memfd, hugetlb with 2 MiB and 1 GiB pages,
file), prefault, --stats, guest NUMA seen by Linux, and bad --memory/--numa
input.

- cli/memory-*, cli/numa-*: bad input is refused with exit status 2 and one
  line (like run.py's cli_tests).
- memory/*: kite's test guest on each backend.  With hold=1 the guest halts
  after its verdict, the test samples the host (the huge page pool's free
  count, kite's HugetlbPages, the file, /proc/PID/maps) and stops kite with
  SIGTERM.
- linux/numa-*, linux/hugetlb-*: kite's default Linux guest (one boot each
  for NUMA and for hugetlb; several checks per boot).

The test reserves huge pages itself (/proc/sys/vm/nr_hugepages for 2 MiB
pages, sysfs for 1 GiB pages) and shrinks the pool by as much afterwards
(the old value, unless someone else resized the pool meanwhile).

Entry point: tests(res, kite, elf, only, linux_guest=True)."""

import contextlib
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import tempfile
import time

from harness import cli_case, run

import linux

MIB = 1 << 20
GIB = 1 << 30
HOLD_TIMEOUT = 120


def _want(only, name):
    return not only or re.search(only, name)


# ---------------------------------------------------------------- host side

def meminfo():
    """/proc/meminfo as {key: int} (kB values as given, counts as counts)."""
    out = {}
    with open('/proc/meminfo') as f:
        for line in f:
            k, v = line.split(':', 1)
            out[k] = int(v.split()[0])
    return out


def _pool_paths(page_kib):
    d = f'/sys/kernel/mm/hugepages/hugepages-{page_kib}kB'
    nr = '/proc/sys/vm/nr_hugepages' if page_kib == meminfo().get('Hugepagesize') else \
        os.path.join(d, 'nr_hugepages')
    return d, nr


def _pool(page_kib, what):
    with open(f'/sys/kernel/mm/hugepages/hugepages-{page_kib}kB/{what}') as f:
        return int(f.read())


def hugepages_free(page_kib=2048):
    """Free pages in the pool: HugePages_Free (/proc/meminfo) for the default
    size.  Pages reserved by a mapping (not yet faulted) count as free."""
    if page_kib == meminfo().get('Hugepagesize'):
        return meminfo()['HugePages_Free']
    return _pool(page_kib, 'free_hugepages')


def hugepages_resv(page_kib=2048):
    return _pool(page_kib, 'resv_hugepages')


def hugepages_avail(page_kib=2048):
    """Pages nobody has claimed: free minus reserved."""
    return hugepages_free(page_kib) - hugepages_resv(page_kib)


def process_hugetlb(pid):
    """HugetlbPages of a process (/proc/PID/status), in bytes."""
    with open(f'/proc/{pid}/status') as f:
        m = re.search(r'^HugetlbPages:\s+(\d+) kB', f.read(), re.M)
    return int(m.group(1)) * 1024 if m else None


@contextlib.contextmanager
def hugepages(count, page_kib=2048):
    """Grows the pool by `count` pages; yields None, or why it could not (the
    caller skips).  The old pool size is written back in any case."""
    d, nr = _pool_paths(page_kib)
    if os.geteuid() != 0:
        yield 'needs root to reserve huge pages'
        return
    if not os.path.isdir(d):
        yield f'the host has no {page_kib} kB huge pages ({d} missing)'
        return
    with open(nr) as f:
        old = int(f.read())
    grown = 0
    try:
        avail0 = hugepages_avail(page_kib)
        with open(nr, 'w') as f:
            f.write(str(old + count))
        with open(nr) as f:
            grown = int(f.read()) - old
        avail = hugepages_avail(page_kib)
        if avail < count:
            yield (f'could make only {avail - avail0} of {count} {page_kib} kB huge pages '
                   f'available (host memory fragmented or short)')
        else:
            yield None
    finally:
        # Undo our growth only: someone else may have resized the pool
        # meanwhile (without that, this writes back the old value).
        with open(nr) as f:
            now = int(f.read())
        with open(nr, 'w') as f:
            f.write(str(max(0, now - grown)))


def _size_bytes(num, unit):
    mult = {'K': 1 << 10, 'M': MIB, 'G': GIB, 'T': 1 << 40}[unit[0].upper()]
    return float(num) * mult


SIZE_RE = r'(\d+(?:\.\d+)?)\s*([KMGT])(?:i?B)?\b'


def stats_line(out):
    """kite --stats' memory line, e.g. 'kite: memory: 4.0 GiB guest RAM, 1.2 GiB
    populated, 2 MiB pages (hugetlb)' (format loose): the last line that has
    'memory' and 'populated'."""
    lines = [l for l in out.splitlines() if re.search(r'(?i)memory', l) and 'populated' in l]
    return lines[-1] if lines else None


def check_stats(line, guest_bytes, populated=None, page=None, backend=None):
    """None if the --stats line fits, else why.  populated: 'all' (within 2 MiB
    of guest_bytes), 'some' (less than guest_bytes), None (any)."""
    if not line:
        return 'no --stats line with "memory" and "populated"'
    sizes = [_size_bytes(n, u) for n, u in re.findall(SIZE_RE, line)]
    if not any(abs(s - guest_bytes) <= guest_bytes * 0.01 for s in sizes):
        return f'the --stats line does not give the guest size {guest_bytes >> 20} MiB: {line!r}'
    m = re.search(SIZE_RE + r'\s+populated', line) or re.search(r'populated\D*' + SIZE_RE, line)
    if not m:
        return f'no populated size in the --stats line: {line!r}'
    pop = _size_bytes(m.group(1), m.group(2))
    if populated == 'all' and abs(pop - guest_bytes) > max(2 * MIB, guest_bytes * 0.01):
        return f'populated {pop / MIB:.0f} MiB, expected all {guest_bytes >> 20} MiB: {line!r}'
    if populated == 'some' and not 0 <= pop < guest_bytes:
        return f'populated {pop / MIB:.0f} MiB, expected less than {guest_bytes >> 20} MiB: {line!r}'
    if page and not re.search(page, line):
        return f'the --stats line does not name the page size /{page}/: {line!r}'
    if backend and backend not in line:
        return f'the --stats line does not name the backend {backend!r}: {line!r}'
    return None


# ---------------------------------------------------------------- test guest

def hold_run(kite, args, timeout=HOLD_TIMEOUT, on_hold=None):
    """kite run ARGS (a test guest command line with hold=1): once KITE-HOLD
    appears, on_hold(pid) samples the host; then SIGTERM.  Returns (status,
    output, seconds, timed_out, on_hold's result or None if never held)."""
    t0 = time.monotonic()
    p = subprocess.Popen([kite, 'run'] + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True)
    fd = p.stdout.fileno()
    buf, sample, timed_out = b'', None, False
    while True:
        left = timeout - (time.monotonic() - t0)
        if left <= 0:
            timed_out = True
            break
        r, _, _ = select.select([fd], [], [], min(left, 1.0))
        if r:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            buf += chunk
        if b'KITE-HOLD' in buf:
            time.sleep(0.2)     # let kite's vCPU settle in HLT
            sample = on_hold(p.pid) if on_hold else True
            p.send_signal(signal.SIGTERM)
            break
    try:
        rest, _ = p.communicate(timeout=15)
        buf += rest
    except subprocess.TimeoutExpired:
        timed_out = True
    if timed_out:
        os.killpg(p.pid, signal.SIGKILL)
        rest, _ = p.communicate()
        buf += rest
    return p.returncode, buf.decode('utf-8', 'replace'), time.monotonic() - t0, timed_out, sample


def guest_verdict(out, status, timed_out, test, want_status):
    """None if the test guest passed `test` and kite exited with want_status."""
    if timed_out:
        return 'timed out'
    if f'KITE-TEST-PASS {test}' not in out:
        m = re.search(r'KITE-TEST-FAIL .*', out)
        return m.group(0) if m else f'no KITE-TEST-PASS {test} (exit status {status})'
    if status != want_status:
        return f'exit status {status}, expected {want_status}'
    return None


def _report(res, name, why, secs, out):
    if why:
        res.fail(name, why, out)
    else:
        res.ok(name, secs)


def _hugetlb_hold(res, name, kite, elf, mem, page_kib, tries=3):
    """A test guest (test=memmap: one word per 2 MiB of all RAM) on hugetlb
    pages of page_kib: it passes; while it holds, kite maps exactly mem of
    hugetlb memory (HugetlbPages in /proc/PID/status) and the pool's free
    count is down by exactly mem / page; after exit it is back up.  Other
    processes on the host may use the same pool: a run during which the pool
    changed by itself (free count before != after) is repeated, up to
    `tries` times; if it never holds still, only kite's own count is checked."""
    size = int(_size_bytes(mem[:-1], mem[-1]))
    pages = size // (page_kib * 1024)
    hp = '2M' if page_kib == 2048 else '1G'
    cmdline = f'test=memmap mem={mem} hold=1'
    with hugepages(pages + (4 if page_kib == 2048 else 0), page_kib) as why_not:
        if why_not:
            res.skip(name, why_not)
            return
        for attempt in range(tries):
            before = hugepages_free(page_kib)
            st, out, secs, to, held = hold_run(
                kite, ['--kernel', elf, '--memory', f'{mem},hugepages={hp}', '--cmdline', cmdline],
                on_hold=lambda pid: (hugepages_free(page_kib), hugepages_resv(page_kib),
                                     process_hugetlb(pid)))
            time.sleep(0.2)
            after = hugepages_free(page_kib)
            why = guest_verdict(out, st, to, 'memmap', 128 + signal.SIGTERM)
            if why:
                break
            if held is None:
                why = 'the guest never printed KITE-HOLD'
                break
            during, resv, mine = held
            if mine != size:
                why = (f'kite maps {mine} bytes of hugetlb memory (HugetlbPages), expected '
                       f'{size} ({mem})')
                break
            steady = after == before
            if steady and before - during != pages:
                why = (f'{page_kib} kB huge pages free went {before} -> {during} while the guest '
                       f'ran (resv {resv}): down by {before - during}, expected {pages}')
                break
            if steady:
                break
        note = '' if why or steady else \
            " (pool used by others meanwhile: checked kite's HugetlbPages only)"
        if why:
            res.fail(name, why, out)
        else:
            res.ok(name, secs, note)


def guest_backend_tests(res, kite, elf, only):
    # 2 MiB hugetlb pages: every 2 MiB of RAM touched by test=memmap.
    n = 'memory/hugetlb-2M'
    if _want(only, n):
        _hugetlb_hold(res, n, kite, elf, '256M', 2048)

    # 6 GiB on 2 MiB pages: the guest sees all of it (RAM above 4 GiB too).
    n = 'memory/hugetlb-2M-6G'
    if _want(only, n):
        _hugetlb_hold(res, n, kite, elf, '6G', 2048)

    # 1 GiB pages, where the host has them.
    n = 'memory/hugetlb-1G'
    if _want(only, n):
        with open('/proc/cpuinfo') as f:
            has_1g = ' pdpe1gb' in f.read()
        if not has_1g:
            res.skip(n, 'the host CPU has no 1 GiB pages (pdpe1gb)')
        else:
            _hugetlb_hold(res, n, kite, elf, '2G', 1048576)

    # memfd: a shared mapping of a memfd holds guest RAM.
    n = 'memory/memfd'
    if _want(only, n):
        def memfd_maps(pid):
            total = 0
            with open(f'/proc/{pid}/maps') as f:
                for line in f:
                    if '/memfd:' in line:
                        a, b = line.split()[0].split('-')
                        total += int(b, 16) - int(a, 16)
            return total
        st, out, secs, to, held = hold_run(
            kite, ['--kernel', elf, '--memory', '256M,backend=memfd',
                   '--cmdline', 'test=cpl3 hold=1'], on_hold=memfd_maps)
        why = guest_verdict(out, st, to, 'cpl3', 128 + signal.SIGTERM)
        if not why and held is None:
            why = 'the guest never printed KITE-HOLD'
        if not why and held < 256 * MIB:
            why = f'kite maps {held >> 20} MiB of memfd ("/memfd:" in /proc/PID/maps), expected 256 MiB'
        _report(res, n, why, secs, out)

    # file: kite creates the file; guest RAM is in it (shared mapping): test=cpl3
    # leaves i * K + 1 in the words from 16 MiB (guest-physical = file offset).
    n = 'memory/file'
    if _want(only, n):
        tmp = tempfile.mkdtemp(prefix='kite-mem-')
        try:
            path = os.path.join(tmp, 'guest.ram')

            def file_state(pid):
                if not os.path.exists(path):
                    return None, b''
                with open(path, 'rb') as f:
                    f.seek(16 * MIB)
                    return os.path.getsize(path), f.read(16)
            st, out, secs, to, held = hold_run(
                kite, ['--kernel', elf, '--memory', f'256M,backend=file,path={path}',
                       '--cmdline', 'test=cpl3 hold=1'], on_hold=file_state)
            why = guest_verdict(out, st, to, 'cpl3', 128 + signal.SIGTERM)
            k = 0x9E3779B97F4A7C15
            want = struct.pack('<QQ', 1, (k + 1) & ((1 << 64) - 1))
            if not why and held is None:
                why = 'the guest never printed KITE-HOLD'
            elif not why and held[0] is None:
                why = f'{path} does not exist while the guest runs'
            elif not why and held[0] != 256 * MIB:
                why = f'{path} is {held[0]} bytes, expected {256 * MIB}'
            elif not why and held[1] != want:
                why = (f'{path} holds {held[1].hex()} at 16 MiB, the guest wrote {want.hex()} '
                       f'there (not a shared mapping of the file?)')
            _report(res, n, why, secs, out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    # --stats: anon, not prefaulted (test=hello touches little of the 256 MiB).
    n = 'memory/stats-anon'
    if _want(only, n):
        st, out, secs, to = run([kite, 'run', '--kernel', elf, '--memory', '256M', '--stats',
                                  '--cmdline', 'test=hello'], 60)
        why = guest_verdict(out, st, to, 'hello', 0) or \
            check_stats(stats_line(out), 256 * MIB, populated='some')
        _report(res, n, why, secs, out)

    # prefault: all of it populated before the guest starts.
    n = 'memory/stats-prefault'
    if _want(only, n):
        st, out, secs, to = run([kite, 'run', '--kernel', elf, '--memory', '256M,prefault',
                                  '--stats', '--cmdline', 'test=hello'], 60)
        why = guest_verdict(out, st, to, 'hello', 0) or \
            check_stats(stats_line(out), 256 * MIB, populated='all')
        _report(res, n, why, secs, out)

    # hugetlb accounting: memmap touches every 2 MiB page.
    n = 'memory/stats-hugetlb'
    if _want(only, n):
        with hugepages(128 + 4) as why_not:
            if why_not:
                res.skip(n, why_not)
            else:
                st, out, secs, to = run([kite, 'run', '--kernel', elf,
                                          '--memory', '256M,hugepages=2M', '--stats',
                                          '--cmdline', 'test=memmap mem=256M'], 60)
                why = guest_verdict(out, st, to, 'memmap', 0) or \
                    check_stats(stats_line(out), 256 * MIB, populated='all',
                                page=r'2 ?Mi?B|2M', backend='hugetlb')
                _report(res, n, why, secs, out)

    # NUMA on the shared backends: each node's memory comes from the backend.
    numa = ['--cpus', '2', '--numa', 'node=0,cpus=0,memory=128M',
            '--numa', 'node=1,cpus=1,memory=128M', '--numa-distance', '0:1=21']
    numa_cmd = 'test=numa numa=0:0:128M,1:1:128M dist=10,21,21,10'
    n = 'memory/numa-memfd'
    if _want(only, n):
        st, out, secs, to = run([kite, 'run', '--kernel', elf, '--memory', '256M,backend=memfd']
                                 + numa + ['--cmdline', numa_cmd], 60)
        _report(res, n, guest_verdict(out, st, to, 'numa', 0), secs, out)
    n = 'memory/numa-hugetlb'
    if _want(only, n):
        with hugepages(128 + 4) as why_not:
            if why_not:
                res.skip(n, why_not)
            else:
                st, out, secs, to = run([kite, 'run', '--kernel', elf,
                                          '--memory', '256M,hugepages=2M,prefault']
                                         + [a.replace(',memory=', ',host-node=0,memory=')
                                            for a in numa]
                                         + ['--cpu-affinity', '--cmdline', numa_cmd], 60)
                _report(res, n, guest_verdict(out, st, to, 'numa', 0), secs, out)


# ---------------------------------------------------------------- bad input

def cli_tests(res, kite, elf, only):
    """Bad --memory/--numa input: exit status 2, one line, never a guest run."""
    tmp = tempfile.mkdtemp(prefix='kite-cli-mem-')
    try:
        small = os.path.join(tmp, 'small.ram')
        with open(small, 'wb') as f:
            f.truncate(1 * MIB)
        k = ['--kernel', elf]
        two = ['--memory', '256M', '--cpus', '2']
        n0, n1 = 'node=0,cpus=0,memory=128M', 'node=1,cpus=1,memory=128M'
        cases = [
            ('memory-backend-unknown', k + ['--memory', '256M,backend=bogus'], r'bogus|backend'),
            ('memory-option-unknown', k + ['--memory', '256M,colour=blue'], r'colour'),
            ('memory-hugepages-size', k + ['--memory', '256M,hugepages=3M'], r'3M|hugepages'),
            ('memory-not-page-multiple-2M', k + ['--memory', '255M,hugepages=2M'],
             r'(?i)multiple|2 ?Mi?B|page size'),
            ('memory-not-page-multiple-1G', k + ['--memory', '1536M,hugepages=1G'],
             r'(?i)multiple|1 ?Gi?B|page size'),
            ('memory-file-no-path', k + ['--memory', '256M,backend=file'], r'path'),
            ('memory-file-cannot-create',
             k + ['--memory', '256M,backend=file,path=/nonexistent-kite-dir/guest.ram'],
             r'/nonexistent-kite-dir/guest\.ram'),
            ('memory-file-too-small', k + ['--memory', f'256M,backend=file,path={small}'],
             r'small\.ram'),
            ('numa-memory-sum', k + two + ['--numa', n0, '--numa', 'node=1,cpus=1,memory=64M'],
             r'(?i)192|256|add up|sum|total'),
            ('numa-cpu-in-two-nodes',
             k + two + ['--numa', 'node=0,cpus=0-1,memory=128M', '--numa', n1], r'(?i)cpu\D*1\b'),
            ('numa-cpu-in-no-node',
             k + ['--memory', '256M', '--cpus', '3', '--numa', n0, '--numa', n1], r'(?i)cpu.*\b2\b'),
            ('numa-cpu-beyond-cpus',
             k + two + ['--numa', n0, '--numa', 'node=1,cpus=1-3,memory=128M'],
             r'(?i)cpu\D*[23]\b'),
            ('numa-cpu-affinity-no-host-node',
             k + two + ['--numa', n0, '--numa', n1, '--cpu-affinity'], r'(?i)host.node'),
            ('numa-node-twice', k + two + ['--numa', n0, '--numa', 'node=0,cpus=1,memory=128M'],
             r'(?i)node'),
            ('numa-host-node-missing',
             k + two + ['--numa', n0 + ',host-node=7', '--numa', n1], r'(?i)host.node|\b7\b'),
            ('numa-distance-below-10', k + two + ['--numa', n0, '--numa', n1,
                                                   '--numa-distance', '0:1=9'], r'(?i)distance'),
            ('numa-distance-local', k + two + ['--numa', n0, '--numa', n1,
                                                '--numa-distance', '0:0=20'], r'(?i)distance'),
            ('numa-distance-unknown-node', k + two + ['--numa', n0, '--numa', n1,
                                                       '--numa-distance', '0:7=20'],
             r'(?i)distance|node'),
            ('numa-distance-garbage', k + two + ['--numa', n0, '--numa', n1,
                                                  '--numa-distance', '0:1=far'], r'(?i)distance'),
        ]
        for name, args, pattern in cases:
            if _want(only, f'cli/{name}'):
                cli_case(res, f'cli/{name}', [kite, 'run'] + args, pattern)

        # Not enough free huge pages: the message gives both counts.
        name = 'cli/memory-hugepages-not-enough'
        if _want(only, name):
            free = hugepages_avail(2048)
            need = max(free + 16, 64)
            cli_case(res, name, [kite, 'run'] + k + ['--memory', f'{need * 2}M,hugepages=2M'],
                      rf'(?s)(?=.*\b{need}\b)(?=.*\b{free}\b)')

        # Free pages that another process has reserved (mapped, not touched yet)
        # are not available: kite must count free minus reserved.
        name = 'cli/memory-hugepages-reserved-by-others'
        if _want(only, name):
            with hugepages(64) as why_not:
                if why_not:
                    res.skip(name, why_not)
                else:
                    import mmap
                    fd = os.memfd_create('kite-test-holder', os.MFD_HUGETLB)
                    try:
                        os.ftruncate(fd, 48 * 2 * MIB)
                        m = mmap.mmap(fd, 48 * 2 * MIB, mmap.MAP_SHARED)
                        try:
                            free = hugepages_avail(2048)
                            need = free + 16
                            cli_case(res, name, [kite, 'run'] + k +
                                      ['--memory', f'{need * 2}M,hugepages=2M'],
                                      rf'(?s)(?=.*\b{need}\b)(?=.*\b{free}\b)')
                        finally:
                            m.close()
                    finally:
                        os.close(fd)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- Linux guest

# 2 nodes of different sizes, one vCPU each, a non-default distance.
LINUX_NUMA_NODES = [('0', 192 * MIB), ('1', 320 * MIB)]
LINUX_NUMA_DIST = 21
LINUX_NUMA_CMD = (
    'for n in /sys/devices/system/node/node[0-9]*; do i=${n##*node}; '
    'echo "NODE$i CPUS=$(cat $n/cpulist) DIST=$(cat $n/distance) '
    'MEM=$(sed -n "s/.*MemTotal: *\\([0-9]*\\) kB/\\1/p" $n/meminfo)"; done; '
    'echo ONLINE=$(cat /sys/devices/system/node/online); grep MemTotal /proc/meminfo')


def linux_numa_args():
    args = ['--memory', f'{sum(s for _, s in LINUX_NUMA_NODES) >> 20}M',
            '--cpus', str(len(LINUX_NUMA_NODES))]
    for i, (cpus, size) in enumerate(LINUX_NUMA_NODES):
        args += ['--numa', f'node={i},cpus={cpus},memory={size >> 20}M']
    return args + ['--numa-distance', f'0:1={LINUX_NUMA_DIST}']


def linux_numa_checks(out):
    """{test name: None or why} from the guest's output."""
    nodes = {int(m.group(1)): m for m in
             re.finditer(r'^NODE(\d+) CPUS=(\S*) DIST=([\d ]*?) MEM=(\d*)\s*$', out, re.M)}
    n = len(LINUX_NUMA_NODES)
    got = ', '.join(f'node{i}: cpus {m.group(2)!r} distance {m.group(3)!r} MemTotal {m.group(4)} kB'
                    for i, m in sorted(nodes.items()))
    checks = {}
    if sorted(nodes) != list(range(n)):
        why = f'the guest has nodes {sorted(nodes)}, expected 0..{n - 1} ({got})'
        return {k: why for k in ('linux/numa-cpulist', 'linux/numa-meminfo', 'linux/numa-distance')}
    online = re.search(r'^ONLINE=(\S+)', out, re.M)
    bad = [i for i, (cpus, _) in enumerate(LINUX_NUMA_NODES) if nodes[i].group(2) != cpus]
    checks['linux/numa-cpulist'] = (
        f'cpulist differs ({got})' if bad else
        None if online and online.group(1) == f'0-{n - 1}' else
        f'nodes online: {online.group(1) if online else None}, expected 0-{n - 1}')
    why = None
    for i, (_, size) in enumerate(LINUX_NUMA_NODES):
        kb = int(nodes[i].group(4) or 0)
        # Node 0 holds the kernel image, the initramfs and early allocations;
        # every node holds its own struct pages (1/64 of its memory).
        low = size * (0.70 if i == 0 else 0.90) / 1024
        if not low <= kb <= size / 1024:
            why = (f'node{i} MemTotal {kb} kB, expected {int(low)}..{size >> 10} kB for '
                   f'{size >> 20} MiB ({got})')
            break
    checks['linux/numa-meminfo'] = why
    want = [' '.join(str(10 if i == j else LINUX_NUMA_DIST) for j in range(n)) for i in range(n)]
    checks['linux/numa-distance'] = None if all(
        nodes[i].group(3).strip() == want[i] for i in range(n)) else \
        f'distances {[nodes[i].group(3) for i in range(n)]}, expected {want} ({got})'
    return checks


def linux_numa_tests(res, kite, only):
    names = [n for n in ('linux/numa-cpulist', 'linux/numa-meminfo', 'linux/numa-distance')
             if _want(only, n)]
    if not names:
        return
    st, out, secs, to = linux.boot(kite, linux_numa_args() + ['-e', linux.run_arg(LINUX_NUMA_CMD)])
    if to or st != 0 or not re.search(r'^KITE-EXIT 0\s*$', out, re.M):
        for n in names:
            res.fail(n, f'the guest did not finish (exit status {st}, timed out: {to})', out)
        return
    checks = linux_numa_checks(out)
    for n in names:
        _report(res, n, checks[n], secs, out)


def linux_hugetlb_tests(res, kite, only):
    """Linux on 2 MiB hugetlb pages, prefaulted: the pool's free count is down
    by exactly guest size / 2 MiB while it runs; --stats says so at exit."""
    names = [n for n in ('linux/hugetlb-2M-prefault', 'linux/memory-stats') if _want(only, n)]
    if not names:
        return
    size = 256 * MIB
    pages = size // (2 * MIB)
    with hugepages(pages + 4) as why_not:
        if why_not:
            for n in names:
                res.skip(n, why_not)
            return
        before = hugepages_free()
        cmd = 'echo KITE-MEM-UP; sleep 4; echo KITE-MEM-DONE'
        t0 = time.monotonic()
        p = subprocess.Popen([kite, 'run', '--memory', f'{size >> 20}M,hugepages=2M,prefault',
                              '--stats', '-e', linux.run_arg(cmd)],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, start_new_session=True)
        fd, buf, during, to = p.stdout.fileno(), b'', None, False
        while True:
            left = linux.BOOT_TIMEOUT - (time.monotonic() - t0)
            if left <= 0:
                to = True
                os.killpg(p.pid, signal.SIGKILL)
                break
            r, _, _ = select.select([fd], [], [], min(left, 1.0))
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                buf += chunk
            if during is None and re.search(rb'^KITE-MEM-UP\s*$', buf, re.M):
                during = hugepages_free()
        st = p.wait()
        secs = time.monotonic() - t0
        out = buf.decode('utf-8', 'replace')
        time.sleep(0.2)
        after = hugepages_free()
    if to or st != 0 or not re.search(r'^KITE-EXIT 0\s*$', out, re.M):
        for n in names:
            res.fail(n, f'the guest did not finish (exit status {st}, timed out: {to})', out)
        return
    if 'linux/hugetlb-2M-prefault' in names:
        why = None
        if during is None:
            why = 'never saw KITE-MEM-UP'
        elif before - during != pages:
            why = (f'HugePages_Free went {before} -> {during} while Linux ran: down by '
                   f'{before - during}, expected {pages}')
        elif after != before:
            why = f'HugePages_Free is {after} after kite exited, {before} before'
        _report(res, 'linux/hugetlb-2M-prefault', why, secs, out)
    if 'linux/memory-stats' in names:
        _report(res, 'linux/memory-stats',
                check_stats(stats_line(out), size, populated='all', page=r'2 ?Mi?B|2M',
                            backend='hugetlb'), secs, out)


# ---------------------------------------------------------------- entry point

def tests(res, kite, elf, only, linux_guest=True):
    """Everything above; linux_guest=False leaves out the Linux boots."""
    if elf and os.path.exists(elf):
        cli_tests(res, kite, elf, only)
        if os.path.exists('/dev/kvm'):
            guest_backend_tests(res, kite, elf, only)
    if linux_guest and os.path.exists('/dev/kvm') and linux.default_guest():
        linux_numa_tests(res, kite, only)
        linux_hugetlb_tests(res, kite, only)
