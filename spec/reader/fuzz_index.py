#!/usr/bin/env python3
"""Mutate the index nodes of each sample (bytes of a node in INDEX, or of the root) and fix the
whole checksum chain above the change (the node's CRC in its parent, up to the root, the
prelude CRC and INDEX's section CRC), so that hostile indexes reach the parsers, the walks and
the lookups (§6.4, §12). Every result must be accepted or rejected with a QuireError, within a
time bound: never another exception, never a hang.

    python3 fuzz_index.py DIR [mutations per file]
"""
import collections
import os
import random
import struct
import sys
import tempfile
import time

import quire_spec_reader as q


def nodes_of(path):
    """(offset in the file, length, parent) of every node, the root first; parent is an index
    into the list, or None for the root."""
    a = q.open_archive(path)
    idx = a.sec[q.SEC_INDEX].offset
    plen = a.prelude_len
    out = [(a.root_offset, plen - 4 - a.root_offset, None, a.root)]
    i = 0
    while i < len(out):
        node = out[i][3]
        if isinstance(node, q.Branch):
            for ch in node.children:
                child = a._load_child(node, ch)
                out.append((idx + ch.offset, ch.len, i, child))
        i += 1
    a.close()
    return [(o, ln, p) for o, ln, p, _ in out]


def refix(b, nodes, k, old):
    """Node k changed (its old bytes: old): fix its CRC in its parent, and so on up; then the
    prelude CRC and INDEX's section CRC."""
    while nodes[k][2] is not None:
        o, ln, p = nodes[k]
        po, pl, _ = nodes[p]
        old_crc = struct.pack("<I", q.crc32(old))
        new_crc = struct.pack("<I", q.crc32(bytes(b[o:o + ln])))
        parent = bytes(b[po:po + pl])
        at = parent.find(old_crc)
        if at < 0:
            return
        old = parent
        b[po + at:po + at + 4] = new_crc
        k = p
    pl = struct.unpack_from("<I", b, 14)[0]
    sc = struct.unpack_from("<H", b, 18)[0]
    for i in range(sc):
        r = 96 + 32 * i
        sid, _, off, ln = struct.unpack_from("<I4sQQ", b, r)
        if sid == q.SEC_INDEX:
            struct.pack_into("<I", b, r + 24, q.crc32(bytes(b[off:off + ln])) if ln else 0)
    struct.pack_into("<I", b, pl - 4, q.crc32(bytes(b[:pl - 4])))


def main(d, n=300):
    rng = random.Random(11)
    tmp = tempfile.mktemp(suffix=".quire")
    bad = 0
    for name in sorted(os.listdir(d)):
        if not name.endswith(".quire"):
            continue
        path = os.path.join(d, name)
        try:
            nodes = nodes_of(path)
        except q.QuireError:
            continue
        data = open(path, "rb").read()
        kinds = collections.Counter()
        slowest = 0.0
        for _ in range(n):
            b = bytearray(data)
            k = rng.randrange(len(nodes))
            o, ln, _ = nodes[k]
            old = bytes(b[o:o + ln])
            for _ in range(rng.choice((1, 1, 2, 3))):
                pos = o + rng.randrange(ln)
                r = rng.random()
                if r < 0.4:
                    b[pos] ^= 1 << rng.randrange(8)
                elif r < 0.7:
                    b[pos] = rng.choice((0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)))
                else:
                    b[pos] = (b[pos] + rng.choice((-1, 1))) & 0xFF
            refix(b, nodes, k, old)
            open(tmp, "wb").write(b)
            t0 = time.time()
            try:
                q.check(tmp)
                kinds["accepted"] += 1
            except q.QuireError as e:
                kinds[e.kind] += 1
            except Exception as e:  # noqa: BLE001 - a crash is what this looks for
                bad += 1
                print(f"{name}: node {k}: CRASH {type(e).__name__}: {e}")
            slowest = max(slowest, time.time() - t0)
        print(name, dict(kinds), f"slowest {slowest:.2f} s")
    os.unlink(tmp)
    print("crashes:", bad)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 300))
