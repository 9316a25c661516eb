# SPDX-License-Identifier: GPL-2.0-only
"""Linux guest tests: kite's default guest (guest/build.sh) end to end, and a
suite that boots Debian's stock kernel where hardware KVM is present.

The default guest's /init (guest/initramfs/init) prints KITE-INIT early, runs
the base64-encoded shell command given as kite.run=... on the kernel command
line, prints "KITE-EXIT <status>" and powers off; without kite.run it prints
KITE-INIT-READY and starts a shell on the console."""

import base64
import os
import re
import select
import signal
import subprocess
import time

PVM_HOST = os.path.exists('/sys/module/kvm_pvm')

# The kernel command line kite uses for the default guest (src/main.c
# DEFAULT_CMDLINE) and the flags its compat profile adds on kvm-pvm hosts.
DEFAULT_CMDLINE = 'console=ttyS0 reboot=k panic=-1'
COMPAT_FLAGS = ('noxsave nofsgsbase nopku noinvpcid '
                'clearcpuid=popcnt,rdrand,rdseed,erms,fsrm,serialize,rdpid,clflushopt,clwb,smap')
# The boot-time flags kite's compat profile puts before the command line
# (src/arch/x86/compat.h COMPAT_SPEED_FLAGS).
COMPAT_SPEED_FLAGS = 'quiet noreplace-smp percpu_alloc=page rodata=off retain_initrd rootfstype=ramfs'
# QEMU's CPU model equivalent to kite's compat profile (bench/linux-boot).
QEMU_CPU = ('host,-arch-capabilities,-cx16,-pcid,kvm-pv-ipi=off' if PVM_HOST
            else 'host')

BOOT_TIMEOUT = 120 if PVM_HOST else 30


def cache_dir():
    c = os.environ.get('KITE_CACHE')
    if c:
        return c
    x = os.environ.get('XDG_CACHE_HOME')
    if x:
        return os.path.join(x, 'kite')
    return os.path.join(os.path.expanduser('~'), '.cache', 'kite')


def default_guest():
    d = os.path.join(cache_dir(), 'guest')
    k, i = os.path.join(d, 'vmlinux'), os.path.join(d, 'initramfs.cpio')
    if os.path.exists(k) and os.path.exists(i):
        return {'kernel': k, 'initrd': i, 'dir': d}
    return None


def run_arg(command):
    """The kernel command-line argument that makes /init run `command`."""
    return 'kite.run=' + base64.b64encode(command.encode()).decode()


def bench_cmdline():
    """The command line kite gives the default guest, for every VMM."""
    if PVM_HOST:
        return f'{COMPAT_SPEED_FLAGS} {DEFAULT_CMDLINE} {COMPAT_FLAGS}'
    return DEFAULT_CMDLINE


def boot(kite, args, timeout=BOOT_TIMEOUT, stdin_script=None, ready=b'KITE-INIT-READY',
         prefix=None):
    """Run kite (under `prefix`, e.g. ip netns exec NS); if stdin_script is
    given, type it once `ready` appears.  stdin_script may also be a list of
    (pattern, text) steps: each text is typed once its regex pattern appears
    in the output that came after the previous step was typed (a callable
    instead of a text is called instead).  Returns
    (status, output, seconds, timed_out)."""
    t0 = time.monotonic()
    p = subprocess.Popen(list(prefix or []) + [kite, 'run'] + args, stdin=subprocess.PIPE if stdin_script else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    buf = b''
    if isinstance(stdin_script, str):
        steps = [(re.escape(ready.decode()), stdin_script)]
    else:
        steps = list(stdin_script or [])
    mark = 0
    fd = p.stdout.fileno()
    timed_out = False
    while True:
        left = timeout - (time.monotonic() - t0)
        if left <= 0:
            timed_out = True
            os.killpg(p.pid, signal.SIGKILL)
            break
        r, _, _ = select.select([fd], [], [], min(left, 1.0))
        if r:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            buf += chunk
        while steps and re.search(steps[0][0].encode(), buf[mark:]):
            mark = len(buf)
            act = steps.pop(0)[1]
            if callable(act):
                act()
                continue
            try:
                p.stdin.write(act.encode())
                p.stdin.flush()
            except BrokenPipeError:
                steps = []
    status = p.wait()
    return status, buf.decode('utf-8', 'replace'), time.monotonic() - t0, timed_out


def check(res, name, status, out, secs, timed_out, want_status, patterns):
    if timed_out:
        res.fail(name, f'timed out after {secs:.0f} s', out)
        return
    for pat in patterns:
        if not re.search(pat, out, re.M):
            res.fail(name, f'output lacks /{pat}/ (exit status {status})', out)
            return
    if status != want_status:
        res.fail(name, f'exit status {status}, expected {want_status}', out)
        return
    res.ok(name, secs)


def default_guest_tests(res, kite, only):
    g = default_guest()
    names = ['linux/run-cpus1', 'linux/run-cpus2', 'linux/shell-poweroff',
             'linux/api-shutdown-powers-off',
             'linux/reboot-exit', 'linux/panic-sysrq', 'linux/panic-init-exits']
    names = [n for n in names if not only or re.search(only, n)]
    if not names:
        return
    if not g:
        for n in names:
            res.fail(n, f'the default guest is not built in {cache_dir()}/guest: run ./setup.sh')
        return
    base = ['--memory', '256M']

    def want(n):
        return n in names

    for cpus in (1, 2):
        n = f'linux/run-cpus{cpus}'
        if not want(n):
            continue
        cmd = 'echo NPROC=$(nproc); grep MemTotal /proc/meminfo; uname -r; exit 7'
        st, out, secs, to = boot(kite, base + ['--cpus', str(cpus), '-e', run_arg(cmd)])
        m = re.search(r'MemTotal:\s+(\d+) kB', out)
        if not to and m and not (200 * 1024 <= int(m.group(1)) <= 256 * 1024):
            res.fail(n, f'MemTotal {m.group(1)} kB for --memory 256M', out)
            continue
        # /init reports the command's status; the guest then powers off (kite: 0).
        check(res, n, st, out, secs, to, 0,
              [r'KITE-INIT', rf'^NPROC={cpus}\s*$', r'MemTotal:\s+\d+ kB', r'^KITE-EXIT 7\s*$'])

    if want('linux/shell-poweroff'):
        # Interactive, as a user types it: the shell on the console has job
        # control (Ctrl-C stops a foreground `sleep 1000`, or the boot times
        # out), and a plain `poweroff` (busybox init as PID 1) ends the VM
        # with status 0.
        steps = [(r'KITE-INIT-READY[\s\S]*# ', 'echo SLEEP""ING; sleep 1000\n'),
                 (r'SLEEPING\r?\n', '\x03'),
                 (r'# ', 'echo TYPED-$((6*7))\npoweroff\n')]
        st, out, secs, to = boot(kite, base, stdin_script=steps)
        check(res, 'linux/shell-poweroff', st, out, secs, to, 0,
              [r'KITE-INIT-READY', r'SLEEPING', r'TYPED-42'])

    if want('linux/api-shutdown-powers-off'):
        # PUT /vm/shutdown presses the ACPI power button; the guest kernel
        # (patch 0007) runs /sbin/poweroff: busybox init powers off.
        import tempfile
        from api_tests import call
        with tempfile.TemporaryDirectory(prefix='kite-linux-api-') as tmp:
            sock = os.path.join(tmp, 'api.sock')
            answers = []

            def press():
                try:
                    answers.append(call(sock, 'PUT', '/vm/shutdown').status)
                except OSError as e:
                    answers.append(f'no answer: {e}')
            steps = [(r'KITE-INIT-READY[\s\S]*# ', press)]
            st, out, secs, to = boot(kite, base + ['--api-socket', sock], stdin_script=steps)
        if answers != [202] and not to:
            res.fail('linux/api-shutdown-powers-off', f'PUT /vm/shutdown answered {answers}, '
                     'expected [202]', out)
        else:
            check(res, 'linux/api-shutdown-powers-off', st, out, secs, to, 0,
                  [r'KITE-INIT-READY', r'going down|Power down'])

    if want('linux/reboot-exit'):
        st, out, secs, to = boot(kite, base + ['--on-reboot=exit', '-e', run_arg('reboot -f')])
        check(res, 'linux/reboot-exit', st, out, secs, to, 3, [r'KITE-INIT'])

    if want('linux/panic-sysrq'):
        st, out, secs, to = boot(kite, base + ['-e', run_arg('echo c > /proc/sysrq-trigger')])
        check(res, 'linux/panic-sysrq', st, out, secs, to, 5, [r'Kernel panic', r'guest kernel panicked'])

    if want('linux/panic-init-exits'):
        # init exiting panics the kernel: busybox with no applet prints its help and exits.
        st, out, secs, to = boot(kite, base + ['-e', 'rdinit=/bin/busybox'])
        check(res, 'linux/panic-init-exits', st, out, secs, to, 5,
              [r'Attempted to kill init', r'guest kernel panicked'])


def stock_kernel_tests(res, kite, only):
    """Debian's stock linux-image-amd64 (bzImage + modules): needs hardware KVM."""
    name = 'linux-stock/boot'
    if only and not re.search(only, name):
        return
    if PVM_HOST:
        res.skip(name, 'kvm-pvm host (no VT-x): guest kernel code is emulated, and Debian\'s '
                 'XZ-compressed kernel never leaves its decompressor here; this suite runs '
                 'on hardware KVM')
        return
    d = os.path.join(cache_dir(), 'stock')
    k, i = os.path.join(d, 'vmlinuz'), os.path.join(d, 'initramfs.cpio')
    if not (os.path.exists(k) and os.path.exists(i)):
        res.fail(name, f'the stock kernel is not prepared in {d}: run guest/stock.sh')
        return
    cmd = 'echo NPROC=$(nproc); grep MemTotal /proc/meminfo; exit 7'
    for cpus in (1, 2):
        st, out, secs, to = boot(kite, ['--kernel', k, '--initrd', i, '--memory', '512M',
                                        '--cmdline', DEFAULT_CMDLINE,
                                        '--cpus', str(cpus), '-e', run_arg(cmd)], timeout=60)
        check(res, f'{name}-cpus{cpus}', st, out, secs, to, 0,
              [r'KITE-INIT', rf'^NPROC={cpus}\s*$', r'^KITE-EXIT 7\s*$'])
