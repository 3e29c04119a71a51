#!/usr/bin/env python3
"""Mutate the title index (§14) of each archive with one: the root, a list page, a tops page or
the header, decompressed and stored again raw, with every CRC fixed (the node's in the root or
header, head_crc, the section table's, the prelude's), so that the mutation reaches the
parsers. Then: open, read every entry (must work: a damaged title index fails suggestions
only), run suggestions and full verification. Reports crashes (exceptions other than
QuireError), errors of another code than damaged_title_index, and the counts.

First (alone: `fuzz_titles.py keys DIR`) the word starts' keys re-chosen within §14.4's
bounds (shortest, whole, random: every query of NAME.queries.json answers as listed) and
beyond them (each found): see keys_check.

    fuzz_titles.py spec/vectors/titles [N]
    fuzz_titles.py keys spec/vectors/titles"""
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


def root_bytes(ti, lists, tops, pages=None):
    """The root, raw, for raw pages; `pages` gives each list page's (rows, sep) when they
    are not the archive's."""
    b = bytearray([2]) + varint(len(lists)) + varint(len(tops))
    pages = pages if pages is not None else [(p[4], p[5]) for p in ti.pages]
    for (rows, sep), raw in zip(pages, lists):
        b += varint(len(raw)) + varint(len(raw)) + struct.pack("<I", crc(raw)) + varint(rows)
        b += varint(len(sep)) + sep
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


# -- word-start keys of any length from min(trunc, folded_len − pos) to folded_len − pos ------

class Rec:
    def __init__(self, key, start, row, pos, folded_len, entry_key=None, title=None):
        self.key, self.start, self.row, self.pos = key, start, row, pos
        self.folded_len, self.entry_key, self.title = folded_len, entry_key, title


def list_page_bytes(recs):
    """A list page (§14.4), raw, of records in the list order."""
    b = bytearray([0]) + varint(len(recs))
    prev = b""
    for i, r in enumerate(recs):
        sh = 0
        if i:
            while sh < min(len(prev), len(r.key)) and prev[sh] == r.key[sh]:
                sh += 1
        b += varint(sh) + varint(len(r.key) - sh) + r.key[sh:]
        prev = r.key
    b += bytes((1 | (2 if r.title is not None else 0)) if r.start else 0 for r in recs)
    for r in recs:
        if r.start:
            b += varint(len(r.entry_key)) + r.entry_key
            if r.title is not None:
                t = r.title.encode("utf-8")
                b += varint(len(t)) + t
    others = [r for r in recs if not r.start]
    for field in ("row", "folded_len", "pos"):
        for r in others:
            b += varint(getattr(r, field))
    return bytes(b)


def list_bytes(recs, budget=12000):
    """The records, sorted into the list order, cut into list pages of about `budget` bytes
    raw (each record counted at most what it takes): (raw pages, [(rows, sep)])."""
    recs = sorted(recs, key=lambda r: (r.key, r.row, r.pos))
    pages, recs_of = [], []
    cur, size = [], 0
    for r in recs:
        cost = 2 * 3 + len(r.key) + 1 + (
            3 + len(r.entry_key) + (3 + len(r.title.encode("utf-8")) if r.title else 0)
            if r.start else 3 * 3)
        if cur and size + cost > budget:
            recs_of.append(cur)
            cur, size = [], 0
        cur.append(r)
        size += cost
    recs_of.append(cur)
    for i, rs in enumerate(recs_of):
        pages.append((sum(r.start for r in rs), rs[0].key if i else b""))
    return [list_page_bytes(rs) for rs in recs_of], pages


def keys_check(d):
    """Every accept archive of `d` with its word starts' keys re-chosen (§14.4: any k from
    min(trunc, folded_len − pos) to folded_len − pos is the writer's choice): the shortest
    keys, the whole suffixes (never cut), a random k, each in the list order again, must
    answer every query of NAME.queries.json as listed and pass full verification. Then files
    that break the rule: a key one byte short, one byte past the folded title, a key's last
    byte changed, a word start listed twice (keys trunc bytes and whole): each must fail
    with damaged_title_index (the first two on the suggestions of "", the others at full
    verification at least)."""
    import json
    rng = random.Random(5)
    tmp = tempfile.mktemp(suffix=".quire")
    bad = runs = 0
    for name in sorted(os.listdir(d)):
        qpath = os.path.join(d, name[:-6] + ".queries.json")
        if not name.endswith(".quire") or not os.path.exists(qpath):
            continue
        queries = json.load(open(qpath, encoding="utf-8"))
        sampled = []
        data = open(os.path.join(d, name), "rb").read()
        with q.open_archive(os.path.join(d, name)) as a:
            ti, lists, tops = parts(a)
            recs = [r for k in range(len(ti.pages)) for r in ti.list_page(k).records]
            starts = [r for r in recs if r.start]
            T = ti.trunc
        # more queries, answered by §14.2 by brute force: prefixes of word-start suffixes
        # and of folded titles, of 1 to trunc + 12 bytes, whole characters only
        ws_of = {}
        for r in recs:
            if not r.start:
                ws_of.setdefault(r.row, []).append(r.pos)
        texts = set()
        for r in rng.sample(recs, min(150, len(recs))):
            F = starts[r.row].key
            for L in (1, T - 1, T, T + 1, T + 3, T + 12):
                try:
                    texts.add(F[r.pos:r.pos + L].decode("utf-8"))
                except UnicodeDecodeError:
                    pass
        for text in sorted(texts):
            Q = q.fold(text).encode("utf-8")
            want = []
            for s_ in starts:
                F = s_.key
                kd = 0 if F.startswith(Q) else 1 if any(F[i:].startswith(Q)
                                                        for i in ws_of.get(s_.row, ())) else None
                if kd is not None:
                    want.append((kd, len(F), F, s_.entry_key,
                                 [s_.entry_key.decode("utf-8"), s_.title,
                                  "word" if kd else "title"]))
            want.sort(key=lambda x: x[:4])
            for limit in (None, 3):
                sampled.append({"q": text, "limit": limit,
                                "results": [x[4] for x in want][:limit]})
        queries = queries + sampled

        def build(klen, extra=()):
            out = []
            for r in recs:
                if r.start:
                    out.append(Rec(r.key, True, r.row, 0, r.folded_len, r.entry_key, r.title))
                else:
                    F = starts[r.row].key
                    out.append(Rec(F[r.pos:r.pos + klen(r)], False, r.row, r.pos,
                                   r.folded_len))
            out.extend(extra)
            return out

        lo = lambda r: min(T, r.folded_len - r.pos)
        hi = lambda r: r.folded_len - r.pos
        ws = [r for r in recs if not r.start]
        long_ = [r for r in ws if hi(r) > T + 1]
        pick = rng.choice(long_)
        pick2 = rng.choice([r for r in ws if lo(r) >= 2])
        variants = [
            ("shortest keys", build(lo), "ok"),
            ("whole suffixes", build(hi), "ok"),
            ("random k", build(lambda r: rng.randint(lo(r), hi(r))), "ok"),
            ("a key one byte short", build(lambda r: lo(r) - 1 if r is pick2 else len(r.key)),
             "suggest"),
            ("a key past the folded title", [x if not (x.row == pick.row and x.pos == pick.pos
                                                       and not x.start)
                                             else Rec(x.key + b"x", False, x.row, x.pos,
                                                      x.folded_len)
                                             for x in build(hi)], "suggest"),
            ("a key's last byte changed", [x if not (x.row == pick.row and x.pos == pick.pos
                                                     and not x.start)
                                           else Rec(x.key[:-1] + bytes([x.key[-1] ^ 1]), False,
                                                    x.row, x.pos, x.folded_len)
                                           for x in build(lambda r: len(r.key))], "verify"),
            ("a word start listed twice", build(lambda r: len(r.key),
                                                [Rec(starts[pick.row].key[pick.pos:]
                                                     if len(pick.key) < hi(pick) else
                                                     starts[pick.row].key[pick.pos:
                                                                          pick.pos + T],
                                                     False, pick.row, pick.pos,
                                                     pick.folded_len)]), "verify"),
        ]
        variants.insert(0, ("the keys as they are", build(lambda r: len(r.key)), "ok"))
        for what, rs, want in variants:
            runs += 1
            ls, pages = list_bytes(rs)
            with q.open_archive(os.path.join(d, name)) as a:
                f = rebuild(data, a, section(a, ti, root_bytes(ti, ls, tops, pages), ls, tops))
            open(tmp, "wb").write(f)
            try:
                with q.open_archive(tmp) as b:
                    try:
                        answers = [[list(x) for x in b.suggest(t["q"], t["limit"])]
                                   for t in queries]
                        wrong = [t["q"] for t, g in zip(queries, answers) if g != t["results"]]
                        res = "answered"
                    except q.QuireError as e:
                        res, wrong = e.kind, []
                    faults = b.verify_all()
                    kinds = sorted({e.kind for e in faults})
                if want == "ok":
                    good = res == "answered" and not wrong and not faults
                elif want == "suggest":
                    good = res == "damaged_title_index" and kinds == ["damaged_title_index"]
                else:
                    good = (res in ("answered", "damaged_title_index") and not wrong
                            and kinds == ["damaged_title_index"])
                print(f"{'ok  ' if good else 'FAIL'} {name}: {what} ({len(ls)} list pages, "
                      f"{len(queries)} queries): "
                      f"suggestions {res}{', wrong: ' + repr(wrong[:3]) if wrong else ''}; "
                      f"verification {[e.message for e in faults][:2] or 'clean'}")
                bad += not good
            except Exception as e:
                bad += 1
                print(f"FAIL {name}: {what}: CRASH {type(e).__name__}: {e}")
    os.unlink(tmp)
    print(f"key variants: {runs}, problems: {bad}")
    return 1 if bad else 0


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
    if sys.argv[1] == "keys":
        sys.exit(keys_check(sys.argv[2]))
    rc = keys_check(sys.argv[1])
    sys.exit(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 300) or rc)
