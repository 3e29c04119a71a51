#!/usr/bin/env python3
"""A small writer of the full-text index (spec/FORMAT.md §15, SEARCH, section id 5), from the
spec alone, to exercise quire_spec_reader.py's §15 reader before and beside the vectors.

    python3 search_samples.py OUTDIR

writes OUTDIR/NAME.quire (archives of make_samples.py's writer with a SEARCH section added;
the postings come from a toy analysis — lower-cased ASCII words — not from §15.1's tokenizer,
which this reader does not implement: the structure is what is tested) and
OUTDIR/reject/NAME.quire with OUTDIR/reject/expected.txt (one edit of SEARCH each, every CRC
that would give it away recomputed), then reads them back: each accept file must pass full
verification and give, for every term, its postings and, for sampled queries, the results of
a brute-force BM25 (§15.2); each reject file must fail a search or full verification with
damaged_search_index.

Library: set_section(archive bytes, id, content) and build_search(...).
"""

import json
import os
import random
import re
import struct
import sys
import zlib

import zstandard

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_samples as ms            # noqa: E402
import quire_spec_reader as q        # noqa: E402

varint = ms.varint


def crc32(b):
    return zlib.crc32(b) & 0xFFFFFFFF


def set_section(data, sid, content, append=False):
    """The archive with the (first) section of id `sid` replaced by `content`, or a record for
    it added at the end of the table (append=True, or when there is none). Sections are
    re-tiled from the new prelude_len; block and child offsets are relative to their sections,
    so nothing else moves."""
    prelude_len, = struct.unpack_from("<I", data, 14)
    count, = struct.unpack_from("<H", data, 18)
    recs = []
    for i in range(count):
        sid_i, _, off, ln, crc, _ = struct.unpack_from("<I4sQQI4s", data, 96 + 32 * i)
        recs.append([sid_i, data[off:off + ln]])
    hit = [r for r in recs if r[0] == sid]
    if hit and not append:
        hit[0][1] = content
    else:
        recs.append([sid, content])
    rest = data[96 + 32 * count:prelude_len - 4]   # META, CTYPES, root
    new_count = len(recs)
    new_prelude_len = 96 + 32 * new_count + len(rest) + 4
    assert new_prelude_len <= 16384
    head = bytearray(data[:96])
    struct.pack_into("<I", head, 14, new_prelude_len)
    struct.pack_into("<H", head, 18, new_count)
    table = bytearray()
    at = new_prelude_len
    for sid_i, body in recs:
        table += struct.pack("<I4sQQI4s", sid_i, b"\0" * 4, at, len(body),
                             crc32(body) if body else 0, b"\0" * 4)
        at += len(body)
    struct.pack_into("<Q", head, 40, at)
    pre = bytes(head) + bytes(table) + rest
    pre += struct.pack("<I", crc32(pre))
    return pre + b"".join(body for _, body in recs)


def section_crcs(data):
    count, = struct.unpack_from("<H", data, 18)
    out = {}
    for i in range(count):
        sid_i, _, off, ln, crc, _ = struct.unpack_from("<I4sQQI4s", data, 96 + 32 * i)
        out.setdefault(sid_i, crc)
    return out


def stored(raw, compress=True):
    """§15.3 stored node: (stored bytes, raw_len): a zstd frame when it is smaller."""
    if compress:
        z = zstandard.ZstdCompressor(level=15, write_content_size=True, write_checksum=False,
                                     write_dict_id=False).compress(raw)
        if len(z) < len(raw):
            return z, len(raw)
    return raw, len(raw)


def block_bytes(postings, base):
    out = bytearray()
    prev = base
    for d, tf in postings:
        gap = d - prev - 1
        assert gap >= 0
        if tf == 1:
            out += varint(gap << 1 | 1)
        else:
            out += varint(gap << 1) + varint(tf - 2)
        prev = d
    return bytes(out)


def front(term, prev):
    s = 0
    while s < min(len(term), len(prev)) and term[s] == prev[s]:
        s += 1
    return varint(s) + varint(len(term) - s) + term[s:]


def build_search(keys, titles, postings, index_crc, data_crc, *, W=2, k1=1200, b=750,
                 tokenizer="quire-text/1 lang=und stem=none cjk=bigram", term_page_max=400,
                 doc_page_max=300, inline_max=24, compress=True):
    """SEARCH bytes. keys, titles: per document (entry); postings: {term bytes: [(doc, tf)]},
    documents increasing. Norms and counts follow from the postings (§15.1: a document's
    length is the sum of its tf)."""
    n = len(keys)
    dl = [0] * n
    for plist in postings.values():
        for d, tf in plist:
            dl[d] += tf
    codes = [q.norm_code(x) for x in dl]
    D = sum(1 for c in codes if c)
    T = sum(dl)
    terms = sorted(postings)

    def tfn(tf, c):
        return q.bm25_tfn(tf, q.norm_len(c), D, T, k1, b)

    # term pages and POSTINGS
    pages = []        # (raw page, post_len, first term, count)
    posting_bytes = bytearray()
    cur, cur_first, cur_n, cur_post, prev = bytearray(), None, 0, 0, b""

    def flush():
        nonlocal cur, cur_first, cur_n, cur_post, prev
        if cur_n:
            pages.append((bytes([17]) + varint(cur_n) + bytes(cur), cur_post, cur_first, cur_n))
        cur, cur_first, cur_n, cur_post, prev = bytearray(), None, 0, 0, b""

    for t in terms:
        plist = postings[t]
        df = len(plist)
        rec = bytearray()
        lst = b""
        if df <= 128:
            blk = block_bytes(plist, -1)
            if len(blk) <= inline_max:
                rec += varint(df << 1 | 1) + blk
            else:
                rec += varint(df << 1) + varint(len(blk)) + struct.pack("<I", crc32(blk))
                lst = blk
        else:
            head = bytearray()
            blocks = bytearray()
            last = -1
            for i in range(0, df, 128):
                chunk = plist[i:i + 128]
                blk = block_bytes(chunk, last)
                best = max(chunk, key=lambda p: tfn(p[1], codes[p[0]]))
                head += (varint(chunk[-1][0] - last) + varint(len(blk)) + varint(best[1])
                         + bytes([codes[best[0]]]) + struct.pack("<I", crc32(blk)))
                blocks += blk
                last = chunk[-1][0]
            rec += (varint(df << 1) + varint(len(head)) + varint(len(head) + len(blocks))
                    + struct.pack("<I", crc32(bytes(head))))
            lst = bytes(head) + bytes(blocks)
        body = front(t, prev) + bytes(rec)
        if cur_n and len(cur) + len(body) > term_page_max:
            flush()
            body = front(t, b"") + bytes(rec)
        if cur_first is None:
            cur_first = t
        cur += body
        cur_n += 1
        cur_post += len(lst)
        posting_bytes += lst
        prev = t
    flush()
    # norms chunks
    chunks = [bytes(codes[i:i + 65536]) for i in range(0, n, 65536)]
    # document pages
    dpages = []
    cur, rows, prevk = bytearray(), 0, None
    for d in range(n):
        if codes[d]:
            row = bytearray([1 | (2 if titles[d] else 0)])
            row += front(keys[d], prevk or b"")
            if titles[d]:
                tb = titles[d].encode()
                row += varint(len(tb)) + tb
            prevk = keys[d]
        else:
            row = bytearray([0])
        if rows and len(cur) + len(row) > doc_page_max:
            dpages.append((bytes([18]) + varint(rows) + bytes(cur), rows))
            cur, rows, prevk = bytearray(), 0, None
            if codes[d]:   # re-code the row as the page's first
                row = bytearray([1 | (2 if titles[d] else 0)]) + front(keys[d], b"")
                if titles[d]:
                    tb = titles[d].encode()
                    row += varint(len(tb)) + tb
                prevk = keys[d]
        cur += row
        rows += 1
    if rows:
        dpages.append((bytes([18]) + varint(rows) + bytes(cur), rows))
    # the root
    tok = tokenizer.encode()
    root = bytearray([16]) + varint(len(tok)) + tok
    root += varint(len(pages)) + varint(len(dpages)) + varint(len(chunks))
    st_pages = [stored(p[0], compress) for p in pages]
    prev = b""
    for (raw, post_len, first, cnt), (sb, rl) in zip(pages, st_pages):
        root += varint(len(sb)) + varint(rl) + struct.pack("<I", crc32(sb)) + varint(cnt)
        root += varint(post_len) + front(first, prev)
        prev = first
    st_docs = [stored(p[0], compress) for p in dpages]
    for (raw, cnt), (sb, rl) in zip(dpages, st_docs):
        root += varint(len(sb)) + varint(rl) + struct.pack("<I", crc32(sb)) + varint(cnt)
    st_chunks = [stored(c, compress) for c in chunks]
    for sb, rl in st_chunks:
        root += varint(len(sb)) + struct.pack("<I", crc32(sb))
    root_st, root_raw = stored(bytes(root), compress)
    head = bytearray(64)
    struct.pack_into("<BBHH", head, 4, 1, W, k1, b)
    struct.pack_into("<IIIQQIII", head, 12, n, D, len(terms), T,
                     sum(len(p) for p in postings.values()), len(root_st), root_raw,
                     crc32(root_st))
    struct.pack_into("<I", head, 0, crc32(bytes(head[4:]) + struct.pack("<II", index_crc,
                                                                          data_crc)))
    return (bytes(head) + root_st + b"".join(s for s, _ in st_pages) + bytes(posting_bytes)
            + b"".join(s for s, _ in st_chunks) + b"".join(s for s, _ in st_docs))


def toy_postings(entries, W=2):
    """Lower-cased ASCII words of the title (weight W) and of a text body: a stand-in for
    §15.1's analysis, enough to give real-looking postings."""
    post = {}
    for d, e in enumerate(entries):
        tf = {}
        if q.text_kind(e.ctype) is not None:
            for wd in re.findall(rb"[a-z0-9]+", e.body.lower()):
                tf[wd[:64]] = tf.get(wd[:64], 0) + 1
            for wd in re.findall(r"[a-z0-9]+", (e.title or "").lower()):
                wd = wd.encode()[:64]
                tf[wd] = tf.get(wd, 0) + W
        for t, v in tf.items():
            post.setdefault(t, []).append((d, v))
    return post


def archive_with_search(entries, **kw):
    entries = sorted(entries, key=lambda e: e.key)
    base = ms.build(entries, ms.META, block_target=1024, per_page=kw.pop("per_page", None))
    crcs = section_crcs(base)
    post = toy_postings(entries)
    sec = build_search([e.key for e in entries], [e.title for e in entries], post, crcs[2],
                       crcs[3], **kw)
    return set_section(base, q.SEC_SEARCH, sec), entries, post


def brute(entries, post, terms, W=2, k1=1200, b=750):
    n = len(entries)
    dl = [0] * n
    for plist in post.values():
        for d, tf in plist:
            dl[d] += tf
    D = sum(1 for x in dl if x)
    T = sum(dl)
    maps = []
    for t in terms:
        if t not in post:
            return []
        maps.append((len(post[t]), dict(post[t])))
    out = []
    for d in range(n):
        if all(d in m for _, m in maps):
            c = q.norm_code(dl[d])
            s = sum(q.bm25_idf(D, df) * q.bm25_tfn(m[d], q.norm_len(c), D, T, k1, b)
                    for df, m in maps)
            out.append((s, d))
    out.sort(key=lambda x: (-x[0], x[1]))
    return out


def selftest():
    """§15.1 and §15.2's worked examples."""
    L = q.bm25_log2
    assert [L(1), L(2), L(3), L(10), L(7578)] == [0, 65536, 103872, 217705, 844601]
    assert q.bm25_idf(3788, 5) == L(7578) - L(11) == 617884
    assert [q.norm_code(31), q.norm_code(33), q.norm_code(565), q.norm_len(97),
            q.norm_code(10 ** 6), q.norm_len(255)] == [31, 32, 97, 544, 255, 507904]
    tfn = q.bm25_tfn(1, q.norm_len(97), 3788, 2139774, 1200, 750)
    assert tfn == 66542 and tfn * 617884 == 41115237128
    # the reader's Porter2 on the stems the english vectors' queries show
    for w, st in (("apple", "appl"), ("apples", "appl"), ("baking", "bake"), ("running", "run"),
                  ("picture", "pictur"), ("nowhere", "nowher"), ("bridge", "bridg"),
                  ("guide", "guid"), ("market", "market")):
        assert q.porter2(w) == st, (w, q.porter2(w), st)


def main(outdir):
    selftest()
    os.makedirs(os.path.join(outdir, "reject"), exist_ok=True)
    rng = random.Random(7)
    words = list(ms.WORDS) + [f"w{i}" for i in range(40)]
    many = [ms.E(f"doc/{i:05d}", " ".join(rng.choice(words) for _ in range(rng.randint(0, 40))),
                 title=(f"Title {rng.choice(words)}" if i % 3 else None))
            for i in range(700)]
    many.append(ms.E("img/x.png", b"\x89PNG bridge", ctype="image/png", title="bridge"))
    samples = {
        "s-small": archive_with_search(ms.small_entries()),
        "s-many": archive_with_search(many, per_page=60),
        "s-many-raw": archive_with_search(many[:300], compress=False, inline_max=0),
    }
    ok = True
    for name, (data, entries, post) in samples.items():
        path = os.path.join(outdir, name + ".quire")
        open(path, "wb").write(data)
        with q.open_archive(path) as a:
            faults = a.verify_all()
            if faults:
                print(f"FAIL {name}: {faults[0]}")
                ok = False
                continue
            si = a.search_index()
            for t, plist in post.items():
                st = si.find_term(t)
                got = [(d, tf) for d, tf, _ in si.postings(st)]
                assert got == plist, (name, t)
            ts = sorted(post)
            nq = 0
            for _ in range(200):
                terms = rng.sample(ts, rng.randint(1, 3)) + ([b"absent"] if rng.random() < .05
                                                              else [])
                want = brute(entries, post, terms)
                got = [(s, d) for _, _, s, d in si.search_terms(terms)]
                assert got == want, (name, terms, got[:5], want[:5])
                nq += 1
            print(f"ok   {name}: {len(post)} terms, {nq} queries, notes: {a.search_notes}")
        # the vector files of §15.12, in the form this reader's `vectors` command reads
        with open(os.path.join(outdir, name + ".jsonl"), "wb") as f:
            f.write(ms.jsonl(entries, ms.META))
        json.dump([{"term": t.decode(), "df": len(pl), "postings": [[d, tf] for d, tf in pl]}
                   for t, pl in sorted(post.items())],
                  open(os.path.join(outdir, name + ".terms.json"), "w"))
        qs = []
        ts = sorted(post)
        keys = [e.key.decode() for e in entries]
        titles = [q.title_field(e.title) for e in entries]
        for i in range(30):
            terms = rng.sample(ts, rng.randint(1, 2))
            limit = rng.choice([None, 1, 5, 10])
            res = brute(entries, post, terms)
            res = res if limit is None else res[:limit]
            qs.append({"q": " ".join(t.decode() for t in terms),
                       "terms": [t.decode() for t in terms], "phrases": [], "limit": limit,
                       "results": [[keys[d], titles[d], s] for s, d in res]})
        json.dump(qs, open(os.path.join(outdir, name + ".queries.json"), "w"))
    ok = rejects(outdir, samples) and ok
    return 0 if ok else 1


def rejects(outdir, samples):
    """A few reject files made by one edit each (every CRC that would give it away
    recomputed), with expected.json."""
    import fuzz_search as fz
    rdir = os.path.join(outdir, "reject")
    exp = []
    src = os.path.join(outdir, "s-many.quire")
    x = fz.explode(src)

    def put(name, data, when, query, what):
        open(os.path.join(rdir, name), "wb").write(data)
        exp.append({"file": name, "code": "damaged_search_index", "when": when,
                    "query": query, "what": what})

    data = x["data"]
    put("two-sections.quire", set_section(data, q.SEC_SEARCH, _search_bytes(data), append=True),
        "search", {"terms": ["bridge"]}, "a second SEARCH section")
    y = dict(x)
    y["head"] = bytearray(x["head"])
    y["head"][4] = 2
    put("header-version.quire", fz.assemble(y), "search", {"terms": ["bridge"]}, "version 2")
    y = dict(x)
    y["chunks"] = [bytearray(c) for c in x["chunks"]]
    for d in range(len(y["chunks"][0])):
        if y["chunks"][0][d]:
            y["chunks"][0][d] = 0
            break
    put("norm-zero.quire", fz.assemble(y), "verify", None, "an indexed document's norm 0")
    y = dict(x)
    y["tpages"] = [[bytearray(p[0]), p[1], p[2], p[3]] for p in x["tpages"]]
    y["tpages"][0][0][0] = 16
    put("term-page-kind.quire", fz.assemble(y), "search",
        {"terms": [x["tpages"][0][3].decode()]}, "term page 0 of kind 16")
    json.dump(exp, open(os.path.join(rdir, "expected.json"), "w"), indent=0)
    return True


def _search_bytes(data):
    count, = struct.unpack_from("<H", data, 18)
    for i in range(count):
        sid_i, _, off, ln, crc, _ = struct.unpack_from("<I4sQQI4s", data, 96 + 32 * i)
        if sid_i == q.SEC_SEARCH:
            return data[off:off + ln]
    raise ValueError("no SEARCH")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/search_samples"))
