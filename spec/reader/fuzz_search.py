#!/usr/bin/env python3
"""Mutations of the full-text index (spec/FORMAT.md §15, SEARCH) with every CRC that would
give them away recomputed: a node (the header, the root, a term page, a norms chunk, a
document page — decompressed, changed, stored raw) or POSTINGS (not re-sealed: its CRCs are in
the term records and heads). Every result must open, read every entry, and answer searches
and full verification either cleanly or with damaged_search_index alone — never a crash, a
hang or another code.

    python3 fuzz_search.py DIR_OR_ARCHIVE... [-n N]
"""

import os
import random
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import quire_spec_reader as q        # noqa: E402
import search_samples as ss          # noqa: E402

varint = ss.varint


def explode(path):
    """The archive's bytes and its SEARCH parts, decompressed: a dict."""
    data = open(path, "rb").read()
    with q.open_archive(path) as a:
        si = a.search_index()
        sec = si.sec
        body = data[sec.offset:sec.end]
        head = bytearray(body[:64])
        x = {"data": data, "head": head, "tokenizer": si.tokenizer.encode(),
             "index_crc": a.sec[q.SEC_INDEX].crc, "data_crc": a.sec[q.SEC_DATA].crc}
        x["tpages"] = [[bytearray(si._stored(p[0], p[1], p[2], p[3], "t")), p[4], p[6], p[7]]
                       for p in si.term_pages]
        x["postings"] = bytearray(body[si.postings_at:si.postings_at + si.postings_len])
        x["chunks"] = [bytearray(si._stored(c[0], c[1], c[2], c[3], "n")) for c in si.chunks]
        x["dpages"] = [[bytearray(si._stored(p[0], p[1], p[2], p[3], "d")), p[4]]
                       for p in si.doc_pages]
        x["root_extra"] = b""
    return x


def root_bytes(x):
    tok = x["tokenizer"]
    r = bytearray([16]) + varint(len(tok)) + tok
    r += varint(len(x["tpages"])) + varint(len(x["dpages"])) + varint(len(x["chunks"]))
    prev = b""
    for raw, terms, post_len, first in x["tpages"]:
        r += varint(len(raw)) + varint(len(raw)) + struct.pack("<I", ss.crc32(raw))
        r += varint(terms) + varint(post_len) + ss.front(first, prev)
        prev = first
    for raw, rows in x["dpages"]:
        r += varint(len(raw)) + varint(len(raw)) + struct.pack("<I", ss.crc32(raw))
        r += varint(rows)
    for raw in x["chunks"]:
        r += varint(len(raw)) + struct.pack("<I", ss.crc32(raw))
    return bytes(r) + x["root_extra"]


def assemble(x, root=None, seal=True):
    root = root_bytes(x) if root is None else root
    head = bytearray(x["head"])
    if seal:
        struct.pack_into("<III", head, 40, len(root), len(root), ss.crc32(root))
        struct.pack_into("<I", head, 0, ss.crc32(bytes(head[4:]) + struct.pack(
            "<II", x["index_crc"], x["data_crc"])))
    sec = (bytes(head) + root + b"".join(bytes(p[0]) for p in x["tpages"])
           + bytes(x["postings"]) + b"".join(bytes(c) for c in x["chunks"])
           + b"".join(bytes(p[0]) for p in x["dpages"]))
    return ss.set_section(x["data"], q.SEC_SEARCH, sec)


def mutate_bytes(rng, buf):
    if not buf:
        return
    op = rng.randrange(4)
    i = rng.randrange(len(buf))
    if op == 0:
        buf[i] ^= 1 << rng.randrange(8)
    elif op == 1:
        buf[i] = rng.choice((0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)))
    elif op == 2:
        del buf[i:i + rng.randint(1, 4)]
    else:
        buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 3)))


def one(rng, x):
    """A mutated archive (bytes) and what was changed."""
    x = {k: ([list(v) if isinstance(v, list) else v for v in val]
             if isinstance(val, list) else val) for k, val in x.items()}
    x["head"] = bytearray(x["head"])
    for p in x["tpages"]:
        p[0] = bytearray(p[0])
    for p in x["dpages"]:
        p[0] = bytearray(p[0])
    x["chunks"] = [bytearray(c) for c in x["chunks"]]
    x["postings"] = bytearray(x["postings"])
    where = rng.choice(["head", "root", "tpage", "tpage", "dpage", "chunk", "postings",
                        "counts"])
    if where == "head":
        i = rng.randrange(4, 64)
        if 40 <= i < 52:
            i = rng.randrange(4, 40)
        x["head"][i] ^= 1 << rng.randrange(8)
        return assemble(x), f"header byte {i}"
    if where == "root":
        r = bytearray(root_bytes(x))
        mutate_bytes(rng, r)
        return assemble(x, bytes(r)), "root"
    if where == "tpage" and x["tpages"]:
        k = rng.randrange(len(x["tpages"]))
        mutate_bytes(rng, x["tpages"][k][0])
        return assemble(x), f"term page {k}"
    if where == "dpage" and x["dpages"]:
        k = rng.randrange(len(x["dpages"]))
        mutate_bytes(rng, x["dpages"][k][0])
        return assemble(x), f"document page {k}"
    if where == "chunk" and x["chunks"]:
        k = rng.randrange(len(x["chunks"]))
        c = x["chunks"][k]
        if c:
            c[rng.randrange(len(c))] = rng.choice((0, 1, 255, rng.randrange(256)))
        return assemble(x), f"norms chunk {k}"
    if where == "postings" and x["postings"]:
        mutate_bytes(rng, x["postings"])
        return assemble(x), "POSTINGS (not re-sealed)"
    if where == "counts":
        f = rng.choice([(5, "B"), (6, "H"), (8, "H"), (16, "I"), (20, "I"), (24, "Q"), (32, "Q")])
        v = struct.unpack_from("<" + f[1], x["head"], f[0])[0]
        v = max(0, v + rng.choice((-1, 1, 2, -2)))
        try:
            struct.pack_into("<" + f[1], x["head"], f[0], v)
        except struct.error:
            pass
        return assemble(x), f"header field at {f[0]}"
    return assemble(x), "nothing"


def run_one(path, data, terms, rng):
    with open(path, "wb") as f:
        f.write(data)
    with q.open_archive(path) as a:
        for ent in a.entries():
            pass
        try:
            si = a.search_index()
            for t in terms:
                si.find_term(t)
            for _ in range(3):
                qt = rng.sample(terms, min(len(terms), rng.randint(1, 3)))
                si.search_terms(qt, 10)
            outcome = "searched"
        except q.QuireError as e:
            if e.kind != "damaged_search_index":
                raise
            outcome = "rejected"
        faults = a.verify_all()
        kinds = {e.kind for e in faults}
        if kinds - {"damaged_search_index"}:
            raise AssertionError(f"full verification gave {sorted(kinds)}")
        if outcome == "rejected" and not faults:
            raise AssertionError("a search failed but full verification found nothing")
        return outcome if not faults or outcome == "rejected" else "verify"


def main(argv):
    n = 300
    args = argv[1:]
    if "-n" in args:
        i = args.index("-n")
        n = int(args[i + 1])
        del args[i:i + 2]
    paths = []
    for p in args:
        if os.path.isdir(p):
            paths += [os.path.join(p, f) for f in sorted(os.listdir(p)) if f.endswith(".quire")]
        else:
            paths.append(p)
    rng = random.Random(11)
    bad = 0
    tmp = tempfile.mkdtemp()
    out = os.path.join(tmp, "m.quire")
    for p in paths:
        with q.open_archive(p) as a:
            if not a.has_search():
                continue
            si = a.search_index()
            terms = [st.term for k in range(len(si.term_pages)) for st in si.term_page(k)]
        x = explode(p)
        counts = {}
        for i in range(n):
            data, what = one(rng, x)
            try:
                res = run_one(out, data, terms[:50], rng)
                counts[res] = counts.get(res, 0) + 1
            except q.QuireError as e:
                print(f"FAIL {os.path.basename(p)} #{i} ({what}): {e.kind}: {e}")
                bad += 1
            except Exception as e:   # noqa: BLE001 - a crash is what we look for
                import traceback
                traceback.print_exc()
                print(f"FAIL {os.path.basename(p)} #{i} ({what}): {type(e).__name__}: {e}")
                bad += 1
        print(f"{os.path.basename(p)}: {n} mutations: {counts}")
    os.remove(out)
    os.rmdir(tmp)
    print(f"{bad} failures")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
