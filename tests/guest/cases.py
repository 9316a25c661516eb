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
          qemu_skip_on_pvm=None, timeout=60, kite_exit_on_pvm=None, expect_on_pvm=None):
    test = cmdline.split()[0].split('=', 1)[1]
    return dict(name=name, cmdline=cmdline,
                expect=expect if expect is not None else [f'KITE-TEST-PASS {test}'],
                memory=memory, cpus=cpus,
                kite_exit=kite_exit, kite_args=list(kite_args or []),
                qemu_exit=qemu_exit, qemu_args=list(qemu_args or []),
                qemu_skip=qemu_skip, qemu_skip_on_pvm=qemu_skip_on_pvm,
                kite_exit_on_pvm=kite_exit_on_pvm, expect_on_pvm=expect_on_pvm,
                timeout=timeout)


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
