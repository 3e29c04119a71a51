#!/usr/bin/env python3
"""Mutate the title index (§14) of each archive with one: the root, a list page, a tops page or
the header, decompressed and stored again raw, with every CRC fixed (the node's in the root or
header, head_crc, the section table's, the prelude's), so that the mutation reaches the
parsers. Then: open, read every entry (must work: a damaged title index fails suggestions
only), run suggestions and full verification. Reports crashes (exceptions other than
QuireError), errors of another code than damaged_title_index, and the counts.

    fuzz_titles.py spec/vectors/titles [N]"""
import os, random, struct, sys, tempfile, time, zlib, collections
import quire_spec_reader as q

QUERIES = [("", None), ("", 3), ("", 10), ("b", 5), ("br", None), ("berlin", None),
           ("zurich", 2), ("q", 10), ("qu", None), ("北", None), ("zzzzzzzzzz", None)]


def crc(b):
    return zlib.crc32(b) & 0xFFFFFFFF


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def parts(a):
    """The title index decompressed: (trunc, tops_n, rows, root fields, list pages' raw
    bytes, tops pages' raw bytes)."""
    ti = a.titles()
    lists = [ti._stored(p[0], p[1], p[2], p[3], "x") for p in ti.pages]
    tops = [ti._stored(t[0], t[1], t[2], t[3], "x") for t in ti.tops_pages]
    return ti, lists, tops


def root_bytes(ti, lists, tops):
    b = bytearray([2]) + varint(len(lists)) + varint(len(tops))
    for p, raw in zip(ti.pages, lists):
        b += varint(len(raw)) + varint(len(raw)) + struct.pack("<I", crc(raw)) + varint(p[4])
        b += varint(len(p[5])) + p[5]
    for t, raw in zip(ti.tops_pages, tops):
        b += varint(len(raw)) + varint(len(raw)) + struct.pack("<I", crc(raw)) + varint(t[4])
    prev = b""
    for p in ti.prefixes:
        s = 0
        while s < min(len(p), len(prev)) and p[s] == prev[s]:
            s += 1
        b += varint(s) + varint(len(p) - s) + p[s:]
        prev = p
    return bytes(b)


def section(a, ti, root, lists, tops, head_mut=None):
    h = bytearray(32)
    h[4], h[5], h[6], h[7] = 1, ti.trunc, ti.tops_n, 0
    struct.pack_into("<IIIIQ", h, 8, ti.rows, len(root), len(root), crc(root), 32)
    if head_mut:
        head_mut(h)
    seal = bytes(h[4:]) + struct.pack("<II", a.sec[q.SEC_INDEX].crc, a.sec[q.SEC_DATA].crc)
    struct.pack_into("<I", h, 0, crc(seal))
    return bytes(h) + root + b"".join(lists) + b"".join(tops)


def rebuild(data, a, titles):
    """The file with TITLES replaced: offsets, lengths, CRCs, file_len and the prelude CRC."""
    pl = a.prelude_len
    pre = bytearray(data[:pl])
    body = bytearray()
    at = pl
    for i, s in enumerate(a.sections):
        content = titles if s.id == q.SEC_TITLES else data[s.offset:s.offset + s.length]
        struct.pack_into("<QQI", pre, 96 + 32 * i + 8, at, len(content),
                         crc(content) if content else 0)
        body += content
        at += len(content)
    struct.pack_into("<Q", pre, 40, at)
    struct.pack_into("<I", pre, pl - 4, crc(bytes(pre[:pl - 4])))
    return bytes(pre) + bytes(body)


def mutate(rng, raw):
    b = bytearray(raw)
    for _ in range(rng.choice((1, 1, 2, 3))):
        r = rng.random()
        if not b:
            b.append(rng.randrange(256))
            continue
        pos = rng.randrange(len(b))
        if r < 0.4:
            b[pos] ^= 1 << rng.randrange(8)
        elif r < 0.6:
            b[pos] = rng.choice((0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)))
        elif r < 0.75:
            b[pos] = (b[pos] + rng.choice((-1, 1))) & 0xFF
        elif r < 0.9:
            del b[pos]
        else:
            b.insert(pos, rng.randrange(256))
    return bytes(b)


def main(d, n=300):
    rng = random.Random(11)
    tmp = tempfile.mktemp(suffix=".quire")
    bad = 0
    for name in sorted(os.listdir(d)):
        if not name.endswith(".quire"):
            continue
        data = open(os.path.join(d, name), "rb").read()
        with q.open_archive(os.path.join(d, name)) as a:
            ti, lists, tops = parts(a)
            # the rebuild itself (raw nodes) must read and answer as the original
            same = rebuild(data, a, section(a, ti, root_bytes(ti, lists, tops), lists, tops))
            want = [a.suggest(*x) for x in QUERIES]
            nkeys = a.entry_count
        open(tmp, "wb").write(same)
        with q.open_archive(tmp) as b:
            assert [b.suggest(*x) for x in QUERIES] == want, "the raw rebuild answers otherwise"
            assert b.verify_all() == [], b.verify_all()
        kinds = collections.Counter()
        slow = 0
        for _ in range(n):
            ls, ts = list(lists), list(tops)
            head_mut = None
            root = None
            what = rng.choice(("root", "list", "list", "tops", "header") if ts else
                              ("root", "list", "list", "header"))
            if what == "list":
                k = rng.randrange(len(ls))
                ls[k] = mutate(rng, ls[k])
            elif what == "tops":
                k = rng.randrange(len(ts))
                ts[k] = mutate(rng, ts[k])
            elif what == "root":
                root = mutate(rng, root_bytes(ti, ls, ts))
            else:
                pos = rng.randrange(4, 32)
                val = rng.choice((0, 1, 0xFF, rng.randrange(256)))
                def head_mut(h, pos=pos, val=val):
                    h[pos] = val
            if root is None:
                root = root_bytes(ti, ls, ts)
            with q.open_archive(os.path.join(d, name)) as a:
                f = rebuild(data, a, section(a, ti, root, ls, ts, head_mut))
            open(tmp, "wb").write(f)
            t0 = time.time()
            try:
                with q.open_archive(tmp) as b:
                    got = 0
                    for ent in b.entries():
                        ent.body
                        got += 1
                    assert got == nkeys
                    res = "answered"
                    try:
                        for x in QUERIES:
                            b.suggest(*x)
                    except q.QuireError as e:
                        res = e.kind
                    faults = b.verify_all()
                    vk = sorted({e.kind for e in faults}) or ["verified"]
                    kinds[f"{what}: {res} / {'+'.join(vk)}"] += 1
                    if res not in ("answered", "damaged_title_index") or \
                            vk not in (["verified"], ["damaged_title_index"]):
                        print(f"{name}: {what}: unexpected {res} / {vk}")
                        bad += 1
                    if res != "answered" and vk == ["verified"]:
                        print(f"{name}: {what}: a suggestion failed but full verification "
                              f"found nothing")
                        bad += 1
            except Exception as e:
                bad += 1
                import traceback
                print(f"{name}: {what}: CRASH {type(e).__name__}: {e}")
                traceback.print_exc(limit=4)
            if time.time() - t0 > 5:
                slow += 1
        for k, v in sorted(kinds.items()):
            print(f"  {name} {k}: {v}")
        print(f"{name}: {n} mutations, {slow} slow")
    os.unlink(tmp)
    print("problems:", bad)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 300))
