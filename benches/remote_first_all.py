#!/usr/bin/env python3
"""What open + first article would fetch over HTTP, for EVERY key of an archive, from its layout.

    python3 benches/remote_first_all.py ARCHIVE [--bound 262144] [--json]

A remote quire reader (`quire get URL KEY`, spec §1) fetches the first 16 KiB of the file, then
the index nodes on the key's path, then the blocks holding its lead and body, and the dictionary
(past the first 16 KiB) when one of those blocks needs it (codec 2). This replays every key's
lookup through the independent reader of spec/reader (written from the spec alone), recording
the ranges it reads, with its node and block caches emptied before each key; per key:
16 KiB + the bytes of those ranges past the first 16 KiB. Prints how many keys fit the bound,
the median and max, and the largest keys. benches/remote-curve.sh measures 5 keys against
nginx's log; this covers all of them (no server: the ranges are those the reader asks for).
Needs `zstandard` (pip), as spec/reader does.
"""

import argparse
import json
import os
import statistics as st
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "spec", "reader"))
import quire_spec_reader as qr  # noqa: E402

PRELUDE = 16384


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("archive")
    ap.add_argument("--bound", type=int, default=256 * 1024)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--key", action="append", help="only these keys (repeatable); each printed")
    a = ap.parse_args()
    arc = qr.Archive(a.archive)
    reads = []
    orig_read = arc._read

    def recording(offset, length, kind, where):
        reads.append((offset, length))
        return orig_read(offset, length, kind, where)

    arc._read = recording
    used_dict = [False]
    orig_decode = arc._decode_block

    def decode(r):
        if r.codec == 2:
            used_dict[0] = True
        return orig_decode(r)

    arc._decode_block = decode
    dsec = arc.sec[qr.SEC_DICT]
    dict_past = max(0, dsec.end - max(dsec.offset, PRELUDE)) if dsec.length else 0
    keys = [arc._find_number(i).key for i in range(arc.entry_count)]
    if a.key:
        keys = [k.encode() for k in a.key]
    out = []
    for k in keys:
        arc._blocks.clear()
        arc._block_bytes = 0
        arc._nodes.clear()
        reads.clear()
        used_dict[0] = False
        e = arc.get(k)
        body = e.body
        fetched = PRELUDE + sum(max(0, o + n - max(o, PRELUDE)) for o, n in reads
                                if not (o == dsec.offset and n == dsec.length))
        if used_dict[0]:
            fetched += dict_past
        out.append((fetched, k.decode("utf-8", "replace"), len(body)))
        if a.key:
            print(f"{k.decode()}: {fetched:,} B (body {len(body):,})")
    sizes = [f for f, _, _ in out]
    fit = sum(1 for f in sizes if f <= a.bound)
    worst = sorted(out, reverse=True)[:5]
    res = dict(archive=os.path.basename(a.archive), keys=len(out), fit=fit, bound=a.bound,
               median=st.median(sizes), max=max(sizes), dict_fetched=dict_past,
               worst=[dict(key=k, bytes=f, body=b) for f, k, b in worst])
    if a.json:
        print(json.dumps(res))
    else:
        print(f"{res['archive']}: {fit} of {len(out)} keys ({fit / len(out):.1%}) fetch ≤ {a.bound:,} B; "
              f"median {res['median']:,.0f}, max {res['max']:,}; largest: "
              + "; ".join(f"{w['key']} {w['bytes']:,} (body {w['body']:,})" for w in res["worst"]))


if __name__ == "__main__":
    main()
