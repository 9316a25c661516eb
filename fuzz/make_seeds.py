#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Write a few well-formed inputs for virtq_fuzz (see the layout at the top
of virtq_fuzz.c) into a corpus directory: usage make_seeds.py DIR."""
import os
import struct
import sys

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


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(out, 'seed-' + name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
