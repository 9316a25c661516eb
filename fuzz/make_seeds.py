#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Write a few well-formed inputs for a fuzz target (see the layout at the top
of its .c file) into a corpus directory: usage make_seeds.py DIR [TARGET],
TARGET virtq_fuzz (the default), vpci_fuzz, state_fuzz or migstream_fuzz."""
import os
import struct
import sys
import zlib

NEXT, WRITE, INDIRECT = 1, 2, 4
DESC, AVAIL, USED, TABLE = 0x000, 0x100, 0x200, 0x300


def header(nops, r0_pages=1, hole=1, r1_pages=1, max_log2=8):
    return bytes([r0_pages - 1, hole, r1_pages - 1, max_log2, nops])


def queue(size_log2, event_idx=0):
    # size: 1 << size_log2; each ring: kind 2 = a 16-byte unit as a u16.
    q = bytes([size_log2])
    for addr in (DESC, AVAIL, USED):
        q += bytes([2]) + struct.pack('<H', addr // 16)
    return q + bytes([event_idx])


def op(code, *args):
    return bytes([code] + list(args) + [0] * (7 - len(args)))


def image(descs=(), table=(), avail=(), size=8, extra=None):
    img = bytearray(0x1000)
    for i, (addr, length, flags, nxt) in enumerate(descs):
        struct.pack_into('<QIHH', img, DESC + 16 * i, addr, length, flags, nxt)
    for i, (addr, length, flags, nxt) in enumerate(table):
        struct.pack_into('<QIHH', img, TABLE + 16 * i, addr, length, flags, nxt)
    struct.pack_into('<HH', img, AVAIL, 0, len(avail))
    for i, head in enumerate(avail):
        struct.pack_into('<H', img, AVAIL + 4 + 2 * (i % size), head)
    if extra:
        img += extra
    return bytes(img)


def seeds():
    pop = op(0, 4, 0, 8, 0)
    yield 'simple', (header(3) + queue(3) + pop + op(6) + pop +
                     image([(0x400, 16, NEXT, 1), (0x500, 32, WRITE, 0)], avail=[0]))
    yield 'indirect', (header(3) + queue(3) + pop + pop + op(6) +
                       image([(TABLE, 48, INDIRECT, 0), (0x700, 4, NEXT, 2),
                              (TABLE, 48, INDIRECT, 0)],
                             table=[(0x400, 16, NEXT, 1), (0x500, 8, WRITE | NEXT, 2),
                                    (0x600, 8, WRITE, 0)],
                             avail=[0, 1]))
    ops = (op(2, 0, 0, 4, 0) + op(2) + op(3, 0, 9) + op(6) + op(7, 1) + op(8, 20, 1) +
           op(4, 0) + pop + op(3, 0, 1) + op(6) + op(11))
    yield 'event_idx', (header(len(ops) // 8) + queue(3, event_idx=1) + ops +
                        image([(0x400 + 0x40 * i, 64, WRITE, 0) for i in range(8)],
                              avail=[0, 1, 2, 3]))
    # A buffer in region 1 (at 0x2000, past a one-page hole) and one reconfigure.
    ops = pop + op(9, 3, 0, 0, 0x80, 0, 0x80, 0) + pop
    yield 'region1', (header(len(ops) // 8) + queue(3) + ops +
                      image([(0x2000, 64, 0, 1), (0x2040, 64, WRITE, 0)], avail=[0],
                            extra=bytes(0x1000)))


# ---- vpci_fuzz ----

def vpci_ring_layout(size_log2, base, q):
    """Where vpci_fuzz's driver_init (opcode 12) puts queue q."""
    size = 1 << size_log2
    desc_b, avail_b, used_b = 16 * size, 6 + 2 * size, 6 + 8 * size
    stride = (desc_b + avail_b + used_b + 64 + 15) // 16 * 16
    desc = base + q * stride
    avail = desc + desc_b
    used = (avail + avail_b + 3) // 4 * 4
    return desc, avail, used


def vpci_chain(img, size_log2, base, q, bufs):
    """One chain of (addr, len, flags) made available on queue q."""
    desc, avail, _ = vpci_ring_layout(size_log2, base, q)
    for i, (addr, length, flags) in enumerate(bufs):
        nxt = NEXT if i + 1 < len(bufs) else 0
        struct.pack_into('<QIHH', img, desc + 16 * i, addr, length, flags | nxt, i + 1)
    struct.pack_into('<HHH', img, avail, 0, 1, 0)


def vpci_seeds():
    hdr = lambda nops: bytes([3, 0, 0, nops])           # 16 KiB + 4 KiB of RAM
    base, size_log2 = 0x1000, 3
    init = lambda dev, msix=True: op(12, dev, size_log2 | (0x80 if msix else 0),
                                     (base // 16) & 0xff, (base // 16) >> 8)
    # rng: init, a 64-byte request, a kick through MMIO, the I/O thread, save/restore.
    img = bytearray(0x4000)
    vpci_chain(img, size_log2, base, 0, [(0x2000, 64, WRITE)])
    notify = op(2, 0, 0x00, 0x30, 1, 0, 0, 0)           # BAR + 0x3000, 2 bytes
    ops = init(0) + notify + op(10, 0) + op(0, 0, 0x14, 0, 0) + op(15, 0, 5, 0, 1)
    yield 'rng', hdr(len(ops) // 8) + ops + bytes(img)
    # the same with INTx: the ISR read lowers the line.
    ops = init(0, msix=False) + notify + op(10, 0) + op(0, 0, 0x00, 0x10, 0)
    yield 'rng-intx', hdr(len(ops) // 8) + ops + bytes(img)
    # console: output (a kick of the transmit queue), input, a drain of the pipe.
    img = bytearray(0x4000)
    img[0x2000:0x2005] = b'hello'
    vpci_chain(img, size_log2, base, 1, [(0x2000, 5, 0)])
    vpci_chain(img, size_log2, base, 0, [(0x2800, 32, WRITE)])
    ops = (init(1) + op(11, 1, 1) + op(13, 1, 10, ord('x')) + op(11, 1, 0) + op(14, 1, 3) +
           op(15, 1, 9, 0, 0))
    yield 'console', hdr(len(ops) // 8) + ops + bytes(img)
    # config space: memory decoding off and on, a BAR move, the PCI_CFG window
    # (the cap at 0x90: + 4 bar 0, + 8 offset 0x14 = device_status, + 12 length 1, + 16 data).
    ops = (op(7, 0, 0x04, 1, 0, 0) + op(7, 0, 0x04, 1, 2, 0) +
           op(7, 0, 0x14, 2, 0, 0, 0, 0x20) + op(6, 1, 0x10, 0, 2) +
           op(7, 0, 0x98, 2, 0x14, 0, 0, 0) + op(7, 0, 0x9c, 2, 1, 0, 0, 0) +
           op(7, 0, 0xa0, 0, 3) + op(9, 1, 0xa0, 0, 0))
    yield 'config', hdr(len(ops) // 8) + ops + bytes(0x1000)


# ---- state_fuzz ----
# Sizes the "config" section records (src/vm_config_state.c checks them):
# sizeof(struct blk_opts), sizeof(struct net_opts), sizeof(struct numa_config)
# on x86-64 Linux.  If they change, these seeds are still valid inputs; the
# fuzzer finds the new sizes by itself.
BLK_OPTS, NET_OPTS, NUMA_CONFIG, NUMA_NODE, NUMA_NODES = 4119, 23, 2704, 152, 16


def config_payload(ncpus=1, mem=256 << 20, disks=(), nets=(), numa=None,
                   kernel=b'/boot/vmlinux', initrd=None, cmdline=b'console=ttyS0'):
    def s(v):
        return struct.pack('<I', 0xffffffff) if v is None else struct.pack('<I', len(v)) + v
    p = struct.pack('<IIIQIII', ncpus, 1, 1, mem, 0, 0, 0)          # host profile, restart
    p += struct.pack('<II', BLK_OPTS, len(disks))
    for path, ro, serial in disks:
        p += path.ljust(4096, b'\0') + bytes([ro, 0]) + serial.ljust(21, b'\0')
    p += struct.pack('<II', NET_OPTS, len(nets))
    for tap in nets:
        p += tap.ljust(16, b'\0') + bytes(6) + b'\0'
    p += struct.pack('<I', NUMA_CONFIG) + (numa or bytes(NUMA_CONFIG))
    return p + s(kernel) + s(initrd) + s(cmdline)


def numa_two_nodes(mem):
    """Two nodes of mem/2, vCPU 0 in node 0, vCPU 1 in node 1, distance 20."""
    c = bytearray(NUMA_CONFIG)
    struct.pack_into('<I', c, 0, 2)
    for n in range(2):
        struct.pack_into('<B7xQiI', c, 8 + n * NUMA_NODE, 1, mem // 2, -1, 1)
        struct.pack_into('<II', c, 8 + n * NUMA_NODE + 24, n, n)
    dist = 8 + NUMA_NODES * NUMA_NODE
    for a in range(2):
        for b in range(2):
            c[dist + a * NUMA_NODES + b] = 10 if a == b else 20
    return bytes(c)


def state_image(sections):
    """A complete state image (src/state/format.h) with the CRCs right."""
    body = b''
    for sid, ver, data in sections:
        h = sid.ljust(32, b'\0') + struct.pack('<IIQ', ver, 0, len(data))
        crc = zlib.crc32(h + data)
        body += sid.ljust(32, b'\0') + struct.pack('<IIQ', ver, crc, len(data)) + data
    h = struct.pack('<8sII16sQI', b'KITESTAT', 1, len(sections), b'x86_64', 0x1234, 0)
    return h + struct.pack('<I', zlib.crc32(h)) + body


def state_seeds():
    # Byte 0 = 2: the rest is a config payload the harness wraps.
    yield 'config-min', b'\x02' + config_payload()
    yield 'config-disk-net', b'\x02' + config_payload(
        ncpus=2, disks=[(b'/tmp/disk.img', 0, b'serial-1'), (b'/tmp/ro.img', 1, b'')],
        nets=[b'ktap0'], initrd=b'/boot/initrd')
    yield 'config-numa', b'\x02' + config_payload(ncpus=2, numa=numa_two_nodes(256 << 20))
    # Byte 0 = 0/1: a whole image (1: the harness fixes the CRCs).
    img = state_image([(b'config', 1, config_payload(ncpus=2)), (b'cpu0', 3, bytes(64)),
                       (b'unknown-section', 9, b'skipped')])
    yield 'image', b'\x00' + img
    yield 'image-fixcrc', b'\x01' + img


# ---- migstream_fuzz ----

def migstream_seeds():
    def rec(pages, gpas, well_formed=False, data=None):
        p = struct.pack('<I', len(gpas)) + b''.join(struct.pack('<Q', g) for g in gpas)
        if pages:
            p += data if data is not None else b''.join(bytes([i + 1]) * 4096
                                                         for i in range(len(gpas)))
        return bytes([(1 if pages else 0) | (2 if well_formed else 0)]) + \
            struct.pack('<I', len(p)) + p
    layout = bytes([3, 1, 3])       # 4 pages at 0, a one-page hole, 4 pages at 0x5000
    yield 'pages', layout + rec(True, [0x0, 0x1000, 0x5000]) + rec(False, [0x1000])
    yield 'zeros', layout + rec(False, [0x2000, 0x8000, 0x2000])
    yield 'hole', layout + rec(True, [0x4000]) + rec(True, [0x3000, 0x8000])
    yield 'misaligned', layout + rec(False, [0x1800]) + rec(True, [0x9000])


TARGETS = {'virtq_fuzz': seeds, 'vpci_fuzz': vpci_seeds, 'state_fuzz': state_seeds,
           'migstream_fuzz': migstream_seeds}


def main():
    out = sys.argv[1]
    target = sys.argv[2] if len(sys.argv) > 2 else 'virtq_fuzz'
    os.makedirs(out, exist_ok=True)
    for name, data in TARGETS[target]():
        with open(os.path.join(out, 'seed-' + name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
