# SPDX-License-Identifier: GPL-2.0-only
"""Guest test cases for kite's test guest (kite-testguest.elf), run by
tests/run.py under kite and, as a cross-check, under QEMU microvm.

Each case boots the guest with `test=NAME ...` on the command line; the guest
prints diagnostics, then exactly one verdict line (KITE-TEST-PASS <name> or
KITE-TEST-FAIL <name>: <reason>) and powers off through ACPI.  `{epoch}` in a
cmdline is replaced by the runner with the host's current Unix time.

Plain module, standard library only.
"""

# QEMU 7.2 microvm loads PVH ELF kernels itself (pvh.bin), builds ACPI tables
# (hardware-reduced: power-off through the GED sleep control register) and
# has an IOAPIC and LAPIC in KVM.  rtc=on: the RTC is off under KVM by
# default.  -arch-capabilities: "-cpu host" alone aborts on kvm-pvm hosts
# ("failed to set MSR 0x10a"), and the guest does not need that MSR.
QEMU_BASE = ['-M', 'microvm,acpi=on,rtc=on,pic=on,pit=on', '-accel', 'kvm',
             '-cpu', 'host,-arch-capabilities', '-nodefaults', '-nographic',
             '-serial', 'stdio', '-no-reboot']


def _case(name, cmdline, expect=None, memory='256M', cpus=1, kite_exit=0,
          kite_args=None, qemu_exit=0, qemu_args=None, qemu_skip=None,
          qemu_skip_on_pvm=None, timeout=60, kite_exit_on_pvm=None, expect_on_pvm=None,
          qemu_base=None):
    test = cmdline.split()[0].split('=', 1)[1]
    return dict(name=name, cmdline=cmdline,
                expect=expect if expect is not None else [f'KITE-TEST-PASS {test}'],
                memory=memory, cpus=cpus,
                kite_exit=kite_exit, kite_args=list(kite_args or []),
                qemu_exit=qemu_exit, qemu_args=list(qemu_args or []),
                qemu_skip=qemu_skip, qemu_skip_on_pvm=qemu_skip_on_pvm,
                kite_exit_on_pvm=kite_exit_on_pvm, expect_on_pvm=expect_on_pvm,
                timeout=timeout, qemu_base=list(qemu_base) if qemu_base else None)


CASES = [
    _case('hello', 'test=hello', expect=['KITE-HELLO', 'KITE-TEST-PASS hello']),
    _case('poweroff', 'test=poweroff'),
    _case('acpi', 'test=acpi'),
    # Touching one word per 2 MiB makes the host back all of the RAM (THP):
    # a few seconds for 6G on our hosts.
    _case('memmap-256M', 'test=memmap mem=256M', memory='256M'),
    _case('memmap-3G', 'test=memmap mem=3G', memory='3G', timeout=120),
    _case('memmap-6G', 'test=memmap mem=6G', memory='6G', timeout=120),
    _case('smp-1', 'test=smp cpus=1', cpus=1),
    _case('smp-2', 'test=smp cpus=2', cpus=2),
    _case('smp-3', 'test=smp cpus=3', cpus=3),
    _case('smp-8', 'test=smp cpus=8', cpus=8),
    # The same with the boot CPU's LAPIC switched to x2APIC mode (MSR access).
    _case('smp-4-x2apic', 'test=smp cpus=4 x2apic=1', cpus=4),
    _case('uart_irq', 'test=uart_irq'),
    _case('uart_irq-x2apic', 'test=uart_irq x2apic=1'),
    _case('rtc', 'test=rtc epoch={epoch}'),
    _case('lapic_timer', 'test=lapic_timer'),
    _case('lapic_timer-x2apic', 'test=lapic_timer x2apic=1'),
    _case('cpl3', 'test=cpl3'),
    _case('int3', 'test=int3',
          qemu_skip_on_pvm='int3 at CPL0 cannot be emulated by the host; QEMU '
                           'stops with a KVM internal error (kite reflects it as #BP)'),
    # kite: exit status 3 for a reset with --on-reboot=exit.  QEMU microvm has
    # no i8042 unless asked for one; with -no-reboot a reset exits with 0.
    _case('reset', 'test=reset', expect=['KITE-RESET'],
          kite_exit=3, kite_args=['--on-reboot=exit'],
          qemu_exit=0, qemu_args=['-device', 'i8042']),
    # kite: exit status 4 for a triple fault; QEMU with -no-reboot: 0.
    _case('triple_fault', 'test=triple_fault', expect=['KITE-TRIPLE-FAULT'],
          kite_exit=4, qemu_exit=0),
    _case('demo', 'test=demo', memory='512M', cpus=2),
    # fwait at CPL0: on kvm-pvm hosts an emulation failure, which kite must
    # explain (instruction bytes, registers, hint) and exit 1; elsewhere it
    # just runs.
    _case('emufail', 'test=emufail', kite_args=['--cpu-profile=host'], kite_exit_on_pvm=1,
          expect_on_pvm=['KITE-EMUFAIL', 'instruction bytes at RIP: 9b', 'rip=', 'hint:'],
          qemu_skip_on_pvm='fwait at CPL0 cannot be emulated by the host; QEMU stops '
                           'with a KVM internal error'),
    # The compat profile skips fwait at CPL0: the guest carries on everywhere.
    _case('emufail-compat', 'test=emufail', kite_args=['--cpu-profile=compat'],
          qemu_skip='kite-only: tests kite\'s compat profile'),
]


# ---------------------------------------------------------------- guest NUMA
# test=numa (test_numa.c) compares the SRAT/SLIT with the expectation on its
# command line.  QEMU 7.2 microvm accepts -numa but builds no SRAT or SLIT, so
# the QEMU side runs on q35 with qboot as firmware (ACPI tables from QEMU's
# table loader, -kernel through the PVH option ROM; RSDT only, no XSDT).  The
# runner uses a case's qemu_base instead of QEMU_BASE when it has one.  q35
# puts the hole at 2 GiB when RAM >= 2.75 GiB (kite: 3 GiB); the test derives
# the split from the memory map, so both layouts pass the same expectation.
QEMU_BASE_SRAT = ['-M', 'q35', '-bios', '/usr/share/qemu/qboot.rom', '-accel', 'kvm',
                  '-cpu', 'host,-arch-capabilities', '-nodefaults', '-nographic',
                  '-serial', 'stdio', '-no-reboot']


def _numa_case(name, nodes, dist=None, host_node=None, timeout=60, kite_args=(), **kw):
    """nodes: [(cpu ranges like ['0-1', '4'], size like '128M')], node i = index i.
    dist: {(a, b): d} as given to kite (--numa-distance a:b=d; symmetric unless
    both directions are given) -> the full matrix is expected (default 10/20)
    and passed to QEMU pair by pair.  dist=None: no --numa-distance, and the
    guest expects the defaults.  host_node: every node's memory on that host
    node (kite host-node=, QEMU host-nodes=,policy=bind)."""
    n = len(nodes)
    size_mib = {'M': 1, 'G': 1024}
    total = sum(int(sz[:-1]) * size_mib[sz[-1]] for _, sz in nodes)
    matrix = [[10 if i == j else 20 for j in range(n)] for i in range(n)]
    for (a, b), d in (dist or {}).items():
        matrix[a][b] = d
        if (b, a) not in dist:
            matrix[b][a] = d
    cmdline = 'test=numa numa=' + ','.join(f'{i}:{"+".join(c)}:{sz}'
                                           for i, (c, sz) in enumerate(nodes))
    cmdline += ' dist=' + ','.join(str(matrix[i][j]) for i in range(n) for j in range(n))
    kargs, qargs = [], []
    for i, (cpus, sz) in enumerate(nodes):
        host = '' if host_node is None else f',host-node={host_node}'
        qhost = '' if host_node is None else f',host-nodes={host_node},policy=bind'
        kargs += ['--numa', f'node={i},' + ','.join(f'cpus={c}' for c in cpus) +
                  f',memory={sz}{host}']
        qargs += ['-object', f'memory-backend-ram,id=m{i},size={sz}{qhost}',
                  '-numa', f'node,nodeid={i},' + ','.join(f'cpus={c}' for c in cpus) + f',memdev=m{i}']
    for (a, b), d in (dist or {}).items():
        kargs += ['--numa-distance', f'{a}:{b}={d}']
    # QEMU builds a SLIT only with -numa dist, and wants every pair then.
    for i in range(n):
        for j in range(n):
            if i != j:
                qargs += ['-numa', f'dist,src={i},dst={j},val={matrix[i][j]}']
    ncpus = 0
    for cpus, _ in nodes:
        for c in cpus:
            ncpus = max(ncpus, int(c.split('-')[-1]) + 1)
    return _case(name, cmdline, memory=f'{total}M', cpus=ncpus, timeout=timeout,
                 kite_args=kargs + list(kite_args), qemu_args=qargs,
                 qemu_base=QEMU_BASE_SRAT, **kw)


CASES += [
    # 2 nodes, 2 vCPUs each, a non-default distance.
    _numa_case('numa-2', [(['0-1'], '128M'), (['2-3'], '128M')], dist={(0, 1): 21}),
    # No --numa-distance: kite's defaults (10 local, 20 remote) in the SLIT.
    _numa_case('numa-2-default-distance', [(['0'], '128M'), (['1'], '192M')]),
    # 4 nodes of different sizes, a node with two CPU ranges, an asymmetric
    # pair (both directions given) and a symmetric one (one direction given).
    _numa_case('numa-4', [(['0', '4'], '128M'), (['1'], '256M'), (['2'], '64M'),
                          (['3', '5'], '64M')],
               dist={(0, 3): 30, (3, 0): 40, (1, 2): 25}),
    # 4 GiB, 2 nodes: node memory split across the hole below 4 GiB (kite: node 0
    # [0, 2.5G), node 1 [2.5G, 3G) + [4G, 5G); q35: node 0 [0, 2G) + [4G, 4.5G)).
    _numa_case('numa-2-hole', [(['0'], '2560M'), (['1'], '1536M')], timeout=120),
]
# The same guest view with host placement and pinning (kite: host-node=0, the
# one host node we have, and --cpu-affinity; QEMU: policy=bind to host node 0).
CASES.append(_numa_case('numa-2-host-node', [(['0-1'], '128M'), (['2-3'], '128M')],
                        dist={(0, 1): 21}, host_node=0, kite_args=['--cpu-affinity']))


# ---------------------------------------------------------------- virtio-pci
# Cases that need host-side setup; tests/virtio_cases.py runs them (it makes
# the disk image, the network namespace with a TAP and its responder, the
# console socket, and checks them after the run).  Under QEMU the machine is
# QEMU_BASE with pcie=on (ECAM found through the DSDT's _CBA, BARs assigned
# by the guest from the _CRS window 0xC0000000-0xDFFFFFFF).
#
# Fields besides _case()'s:
#   disk:    dict(size_mib, serial, readonly): a raw image with the pattern of
#            test_virtio_blk.c; afterwards it must hold exactly what the
#            guest's KITE-BLK-* lines say it changed (read-only: unchanged)
#   net:     dict(mac, frames, burst): a TAP in a private network namespace;
#            the VMM runs inside it; the responder must have seen `frames`
#            good echo requests from `mac` (and the burst request)
#   rng:     True (documentation only: the device args are in *_args)
#   console: dict(token, expect, kite_out, kite_in): `expect` must appear on
#            the virtio console; QEMU: a Unix socket the chardev connects to;
#            kite: kite_out 'stdout' (in kite's output) or 'socket'
#            ({console_sock}), kite_in 'stdin' or 'socket' for the token line
# Placeholders in cmdline, kite_args and qemu_args: {disk} {sectors}
# {serial} {tap} {mac} {token} {console_sock} {tmp}.
def _virtio_case(name, cmdline, disk=None, net=None, rng=False, console=None,
                 kite_args=None, qemu_args=None, kite_skip=None, **kw):
    c = _case(name, cmdline, kite_args=kite_args, qemu_args=qemu_args, **kw)
    c.update(disk=disk, net=net, rng=rng, console=console, kite_skip=kite_skip)
    return c


_QEMU_DISK = ['-drive', 'if=none,id=d0,file={disk},format=raw,discard=unmap',
              '-device', 'virtio-blk-pci,drive=d0,disable-legacy=on,serial={serial}']
_QEMU_NET = ['-netdev', 'tap,id=n0,ifname={tap},script=no,downscript=no',
             '-device', 'virtio-net-pci,netdev=n0,disable-legacy=on,mac={mac}']
_QEMU_CONSOLE = ['-chardev', 'socket,id=con0,path={console_sock}',
                 '-device', 'virtio-serial-pci,disable-legacy=on',
                 '-device', 'virtconsole,chardev=con0']
_CONSOLE_EXPECT = ['KITE-CONSOLE-OUT hello from the kite test guest',
                   'KITE-CONSOLE-LONG ' + ''.join(chr(ord('a') + i % 26) for i in range(18, 2048))]

VIRTIO_CASES = [
    _virtio_case('virtio_blk', 'test=virtio_blk sectors={sectors} serial={serial}',
                 disk=dict(size_mib=32, serial='kite-vblk-0001'),
                 kite_args=['--disk', '{disk},serial={serial}'],
                 qemu_args=_QEMU_DISK),
    _virtio_case('virtio_blk-ro', 'test=virtio_blk sectors={sectors} serial={serial} ro=1',
                 disk=dict(size_mib=8, serial='kite-vblk-ro', readonly=True),
                 kite_args=['--disk', '{disk},readonly,serial={serial}'],
                 qemu_args=['-drive', 'if=none,id=d0,file={disk},format=raw,readonly=on',
                            '-device', 'virtio-blk-pci,drive=d0,disable-legacy=on,serial={serial}']),
    _virtio_case('virtio_net', 'test=virtio_net mac={mac} frames=32 burst=64',
                 net=dict(mac='52:54:00:12:34:56', frames=32, burst=64),
                 kite_args=['--net', 'tap={tap},mac={mac}'],
                 qemu_args=_QEMU_NET),
    _virtio_case('virtio_rng', 'test=virtio_rng', rng=True,
                 kite_args=['--rng'],
                 qemu_args=['-device', 'virtio-rng-pci,disable-legacy=on']),
    _virtio_case('virtio_console', 'test=virtio_console token={token}',
                 console=dict(token='k1te-c0ns0le', kite_out='stdout', kite_in='stdin',
                              expect=_CONSOLE_EXPECT + ['KITE-CONSOLE-ECHO {token}']),
                 kite_args=['--console', 'virtio'],
                 qemu_args=_QEMU_CONSOLE),
    # All four devices at once: BAR assignment and enumeration with several
    # functions on the bus; each test finds its own device.
    _virtio_case('virtio_blk-all-devices', 'test=virtio_blk sectors={sectors} serial={serial}',
                 disk=dict(size_mib=16, serial='kite-vblk-all'),
                 console=dict(token='', kite_out='stdout', expect=[]),
                 kite_args=['--disk', '{disk},serial={serial}', '--rng', '--console', 'virtio'],
                 qemu_args=_QEMU_DISK + _QEMU_CONSOLE +
                 ['-device', 'virtio-rng-pci,disable-legacy=on']),
]

# kite has both configuration mechanisms: check each one on its own.
VIRTIO_CASES += [
    _virtio_case('virtio_rng-cf8', 'test=virtio_rng pcicfg=cf8', rng=True,
                 kite_args=['--rng'],
                 qemu_skip="QEMU microvm's PCIe host bridge has no 0xCF8/0xCFC"),
    _virtio_case('virtio_rng-mcfg', 'test=virtio_rng pcicfg=mcfg', rng=True,
                 kite_args=['--rng'],
                 qemu_skip='QEMU 7.2 microvm has no MCFG table (ECAM only through the '
                           "DSDT's _CBA method)"),
]
