#!/usr/bin/env python3
"""A tiny quire 3.1 writer following spec/FORMAT.md, used to exercise quire_spec_reader.py.

    python3 make_samples.py OUTDIR

writes OUTDIR/*.quire + *.jsonl (archives to accept) and OUTDIR/reject/*.quire +
OUTDIR/reject/expected.txt (archives to reject, with the expected error kind).
The .jsonl files are made from the writer's input, not by reading the archive back.
"""

import base64
import json
import os
import random
import re
import struct
import sys
import zlib

import zstandard

MAGIC = b"\x89QUIRE\r\n\x1a\n"
TEXT = "text/plain; charset=utf-8"


def crc32(b):
    return zlib.crc32(b) & 0xFFFFFFFF


def varint(v):
    assert v >= 0
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def zigzag(d):
    return 2 * d if d >= 0 else -2 * d - 1


class E:
    def __init__(self, key, body, title=None, date=None, ctype=TEXT, meta=()):
        self.key = key.encode() if isinstance(key, str) else key
        self.body = body.encode() if isinstance(body, str) else body
        self.title = title
        self.date = date
        self.ctype = ctype
        self.meta = list(meta)


def lead_bytes(e):
    out = bytearray()
    if e.title is not None:
        t = e.title.encode()
        out += bytes([1]) + struct.pack("<I", len(t)) + t
    for n, v in e.meta:
        n, v = n.encode(), v.encode()
        f = struct.pack("<H", len(n)) + n + v
        out += bytes([2]) + struct.pack("<I", len(f)) + f
    return bytes(out)


def build(entries, meta, *, block_target=4096, per_page=None, per_branch=None, codec=1,
          dict_mode=None, share=False, always_at=False, minor=1, optional_flags=0,
          extra_section=None, corrupt_raw_crc=None, required_flags_extra=0, dict_id=False, frame_checksum=False, lie_lead=None,
          unsorted=False, dict_content=None, max_block_len=None, force_codec=False,
          low_sep=None):
    """Return the archive bytes. per_page=None: all entries in the root page (depth 0).
    low_sep=i: in the first branch of level 1, child i's separator is child i - 1's last key
    (a damaged separator: at, not above, the previous child's last key)."""
    entries = list(entries) if unsorted else sorted(entries, key=lambda e: e.key)
    ctypes = []
    for e in entries:
        if e.ctype not in ctypes:
            ctypes.append(e.ctype)

    # The stream: leads and bodies, shared bodies pointing at earlier ones.
    stream = bytearray()
    seen = {}
    info = []  # (lead_pos, lead_len, body_pos, body_len, shared)
    any_shared = False
    for e in entries:
        lead = lead_bytes(e)
        lp = len(stream)
        stream += lead
        if share and e.body and e.body in seen:
            info.append((lp, len(lead), seen[e.body], len(e.body), True))
            any_shared = True
        else:
            bp = len(stream)
            stream += e.body
            if e.body:
                seen.setdefault(e.body, bp)
            info.append((lp, len(lead), bp, len(e.body), False))
    stream = bytes(stream)

    # Blocks: fixed cuts.
    cuts = list(range(0, len(stream), block_target))
    raws = [stream[c:c + block_target] for c in cuts]

    # Dictionary.
    dict_frame = b""
    zd = None
    req = 0
    if dict_mode == "raw":
        content = (b"".join(e.body for e in entries))[:2048] or b"x" * 64
        if dict_content is not None:
            content = dict_content
            zd = zstandard.ZstdCompressionDict(content,
                                               dict_type=zstandard.DICT_TYPE_RAWCONTENT)
        if dict_content is None:
            assert content[:4] != b"\x37\xA4\x30\xEC"
            zd = zstandard.ZstdCompressionDict(content,
                                               dict_type=zstandard.DICT_TYPE_RAWCONTENT)
        req = 3
    elif dict_mode == "trained":
        samples = [e.body for e in entries if e.body] * 4
        zd = zstandard.train_dictionary(4096, samples)
        content = zd.as_bytes()
        assert content[:4] == b"\x37\xA4\x30\xEC"
        req = 1
    if zd is not None:
        dict_frame = zstandard.ZstdCompressor(level=19, write_content_size=True,
                                              write_checksum=False).compress(content)
    req |= required_flags_extra

    plain = zstandard.ZstdCompressor(level=19, write_content_size=True,
                                     write_checksum=frame_checksum)
    withd = (zstandard.ZstdCompressor(level=19, dict_data=zd, write_content_size=True,
                                      write_checksum=False, write_dict_id=dict_id)
             if zd is not None else None)
    blocks = []  # (stored, raw_len, codec, stored_crc, raw_crc)
    for i, r in enumerate(raws):
        c = codec
        if zd is not None and codec != 0:
            c = 2
        if c == 0:
            s = r
        elif c == 1:
            s = plain.compress(r)
        else:
            s = withd.compress(r)
        if len(s) > len(r) and not force_codec:
            c, s = 0, r  # §5: stored_len ≤ raw_len; stored raw when compressing does not help
        rc = crc32(r)
        if corrupt_raw_crc == i:
            rc ^= 1
        blocks.append((s, len(r), c, crc32(s), rc))
    if max_block_len is None:
        max_block_len = max((len(r) for r in raws), default=0)

    # Pages: groups of entries.
    if per_page is None:
        groups = [list(range(len(entries)))]
    else:
        groups = [list(range(i, min(i + per_page, len(entries))))
                  for i in range(0, len(entries), per_page)] or [[]]

    def block_of(pos):
        return max(i for i, c in enumerate(cuts) if c <= pos)

    def page_blocks(g):
        """(run first, run last) or None, and foreign block numbers."""
        lo = hi = None
        for i in g:
            lp, ll, bp, bl, sh = info[i]
            ranges = [(lp, ll)] + ([] if sh else [(bp, bl)])
            for p, l in ranges:
                if l:
                    a, b = block_of(p), block_of(p + l - 1)
                    lo = a if lo is None else min(lo, a)
                    hi = b if hi is None else max(hi, b)
        foreign = set()
        for i in g:
            lp, ll, bp, bl, sh = info[i]
            if sh:
                for b in range(block_of(bp), block_of(bp + bl - 1) + 1):
                    if lo is None or not lo <= b <= hi:
                        foreign.add(b)
        return (lo, hi), sorted(foreign)

    def encode_page(g, data_off):
        offs = []
        o = 0  # offsets from the start of DATA
        for s, *_ in blocks:
            offs.append(o)
            o += len(s)
        (lo, hi), foreign = page_blocks(g)
        out = bytearray([0])
        out += varint(len(g))
        if lo is None:
            out += varint(0)
        else:
            out += varint(hi - lo + 1)
            out += varint(lo) + varint(offs[lo]) + varint(cuts[lo])
            for b in range(lo, hi + 1):
                s, rl, c, sc, rc = blocks[b]
                out += varint(len(s)) + varint(rl) + bytes([c]) + struct.pack("<II", sc, rc)
        out += varint(len(foreign))
        for b in foreign:
            s, rl, c, sc, rc = blocks[b]
            out += (varint(b) + varint(offs[b]) + varint(cuts[b]) + varint(len(s)) + varint(rl)
                    + bytes([c]) + struct.pack("<II", sc, rc))
        restarts = []
        prev_key = b""
        prev_date = 0
        for j, i in enumerate(g):
            e = entries[i]
            lp, ll, bp, bl, sh = info[i]
            if j % 16 == 0:
                restarts.append(len(out))
                prev_date = 0
                shared = 0
            else:
                shared = 0
                while (shared < min(len(prev_key), len(e.key))
                       and prev_key[shared] == e.key[shared]):
                    shared += 1
            out += varint(shared) + varint(len(e.key) - shared) + e.key[shared:]
            flags = 0
            if e.date is not None:
                flags |= 1
            if j % 16 == 0 or always_at:
                flags |= 2
            if sh:
                flags |= 4
            out += bytes([flags]) + varint(ll + (lie_lead if lie_lead is not None and i == 0
                                                 else 0)) + varint(bl)
            if flags & 2:
                out += varint(lp)
            if sh:
                out += varint(bp)
            out += varint(ctypes.index(e.ctype))
            if e.date is not None:
                out += varint(zigzag(e.date - prev_date))
                prev_date = e.date
            prev_key = e.key
        for r in restarts:
            out += struct.pack("<H", r)
        assert len(out) <= 16384, len(out)
        return bytes(out)

    def sep(prev_last, first):
        for n in range(1, len(first) + 1):
            if first[:n] > prev_last:
                return first[:n]
        raise AssertionError

    def encode_branch(children, child_off, low=None):
        # children: list of (entries, bytes, first_key, last_key)
        out = bytearray([1]) + varint(len(children)) + varint(child_off)
        for i, (n, b, fk, lk) in enumerate(children):
            s = b"" if i == 0 else sep(children[i - 1][3], fk)
            if i == low:
                s = children[i - 1][3]
            out += varint(n) + varint(len(b)) + struct.pack("<I", crc32(b)) + varint(len(s)) + s
        return bytes(out)

    meta_b = b"".join(struct.pack("<H", len(n.encode())) + n.encode()
                      + struct.pack("<I", len(v.encode())) + v.encode() for n, v in meta)
    ctypes_b = b"".join(bytes([len(c.encode())]) + c.encode() for c in ctypes)
    extras = ([] if extra_section is None else
              list(extra_section) if isinstance(extra_section, (list, tuple)) else [extra_section])
    nsec = 3 + len(extras)

    P, I = 0, 0
    for _ in range(20):
        index_off = P + len(dict_frame)
        data_off = index_off + I
        nodes = [(len(g), encode_page(g, data_off),
                  entries[g[0]].key if g else b"", entries[g[-1]].key if g else b"")
                 for g in groups]
        index = bytearray()
        depth = 0
        if per_page is not None:
            while True:
                depth += 1
                # place this level's nodes in INDEX (offsets from the start of INDEX)
                level_off = len(index)
                for n in nodes:
                    index += n[1]
                pb = per_branch or len(nodes)
                parents = []
                off = level_off
                for i in range(0, len(nodes), pb):
                    ch = nodes[i:i + pb]
                    b = encode_branch(ch, off, low_sep if depth == 1 and i == 0 else None)
                    off += sum(len(c[1]) for c in ch)
                    parents.append((sum(c[0] for c in ch), b, ch[0][2], ch[-1][3]))
                nodes = parents
                if len(nodes) == 1:
                    break
        root = nodes[0][1]
        newP = 96 + 32 * nsec + len(meta_b) + len(ctypes_b) + len(root) + 4
        if newP == P and len(index) == I:
            break
        P, I = newP, len(index)
    else:
        raise AssertionError("layout did not settle")
    assert P <= 16384, P

    data = b"".join(b[0] for b in blocks)
    secs = [(1, dict_frame), (2, bytes(index)), (3, data)]
    for sid in extras:
        secs.append((sid, b"future section bytes"))
    file_len = P + sum(len(s) for _, s in secs)
    of = optional_flags | (1 if any_shared else 0)
    hdr = (MAGIC + struct.pack("<HHIHB", 3, minor, P, nsec, depth) + b"\0\0\0"
           + struct.pack("<QQQQQQIIIII", req, of, file_len, len(entries), len(blocks),
                         len(stream), max_block_len, block_target, len(meta_b), len(ctypes_b),
                         len(root)) + b"\0" * 4)
    assert len(hdr) == 96
    table = b""
    off = P
    for sid, s in secs:
        table += struct.pack("<I4sQQI4s", sid, b"\0" * 4, off, len(s), crc32(s), b"\0" * 4)
        off += len(s)
    pre = hdr + table + meta_b + ctypes_b + root
    pre += struct.pack("<I", crc32(pre))
    assert len(pre) == P
    return pre + b"".join(s for _, s in secs)


# ---------------------------------------------------------------------------------------------
# expected JSON Lines, from the input


def jstr(s):
    return json.dumps(s, ensure_ascii=False)


# §9.1: "An RFC 3339 date-time here is: a valid YYYY-MM-DD date; T, t or a space; hh:mm:ss
# with hours 00–23, minutes 00–59, seconds 00–60; optionally . and one or more digits; then Z,
# z, or +hh:mm / -hh:mm with hours 00–23 and minutes 00–59. Nothing may follow." The date part
# is compared with the entry's (valid) date, so only the date's shape is checked here.
DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9]:"
                       r"(?:[0-5][0-9]|60)(?:\.[0-9]+)?"
                       r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])")


def jsonl(entries, meta):
    lines = ['{"archive":{' + ",".join(jstr(n) + ":" + jstr(v) for n, v in meta) + "}}"]
    for e in sorted(entries, key=lambda e: e.key):
        p = ['"key":' + jstr(e.key.decode())]
        if e.title is not None:
            p.append('"title":' + jstr(e.title))
        m = list(e.meta)
        if e.date is not None:
            d = "%04d-%02d-%02d" % (e.date // 10000, e.date // 100 % 100, e.date % 100)
            for i, (n, v) in enumerate(m):
                if n == "date":
                    # the first pair named date, merged when it is an RFC 3339 date-time
                    # on the entry's date (§9.1)
                    if DATE_TIME.fullmatch(v) and v[:10] == d:
                        d = v
                        del m[i]
                    break
            p.append('"date":' + jstr(d))
        try:
            text = e.body.decode()
        except UnicodeDecodeError:
            text = None
        if e.ctype != TEXT or text is None:
            p.append('"content_type":' + jstr(e.ctype))
        if getattr(e, "meta_json", None) is not None:
            p.append('"meta":{' + e.meta_json + "}")  # written by hand from §9.1
        elif m:
            p.append('"meta":{' + ",".join(jstr(n) + ":" + jstr(v) for n, v in m) + "}")
        if text is not None:
            p.append('"body":' + jstr(text))
        else:
            p.append('"body_base64":' + jstr(base64.b64encode(e.body).decode()))
        lines.append("{" + ",".join(p) + "}")
    return "".join(line + "\n" for line in lines).encode()


# ---------------------------------------------------------------------------------------------

META = [("title", "spec reader samples"), ("tool", "make_samples.py"),
        ("created", "2024-05-01T12:00:00Z")]
WORDS = ("harbour bridge council monday reopen span repairs said northern the to its after "
         "on would that").split()


def text(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n)) + "."


def small_entries():
    rng = random.Random(1)
    return [
        E("news/2002/embassy", text(rng, 60), title="Asylum Seekers Break Into Embassy",
          date=20020314, meta=[("lang", "en"), ("section", "world"),
                               ("date", "2002-03-14T09:30:00Z")]),
        E("empty", b""),
        E("bin/noise.bin", b"\x00\x01\x02\xff\xfe\x00\x07", ctype="application/octet-stream"),
        E("a/long-article", text(rng, 400), title="Spans blocks", date=20000229),
        E("ünïcödé/ключ", "Grüße — €\n\t\"q\" \\ \x01\x1f\x7f"),
        E("html/page", "<p>hi</p>", ctype="text/html", date=19991231),
        E("z/nodate-meta", "x", meta=[("date", "2001-01-01T00:00:00Z")]),
    ]


def many_entries(n, seed=2):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        d = None
        if i % 3 == 0:
            d = 19000101 + (i % 12) * 100 + (i % 28) + (i % 50) * 10000
        out.append(E(f"article/{i:05d}", text(rng, rng.randint(0, 60)),
                     title=f"Article {i}" if i % 4 else None, date=d,
                     meta=[("n", str(i))] if i % 5 == 0 else []))
    return out


def json_limit_entries():
    """`quire:json` values at §9.1's limits, each with its "meta" written by hand from the
    text (commits 6a344da, 741ae04): nested 127 deep parses, 128 and 129 do not ("a value is
    level 1: `[]` is 1 deep, `[[]]` 2; so 127 levels parse and 128 do not"); a number beyond binary64's
    range does not parse (and a `quire:json` value holding one lists no names); one too small
    is 0.0 / -0.0; an unpaired surrogate escape does not parse, a pair does. A listed value
    that does not parse is written as a string."""
    def j(key, pairs, names, meta_json, marker=None):
        e = E(key, b"", meta=list(pairs) + [
            ("quire:json", marker if marker is not None else json.dumps(names))])
        e.meta_json = meta_json
        return e

    deep = lambda n: "[" * n + "]" * n  # noqa: E731
    objs = lambda n: '{"a":' * n + "0" + "}" * n  # noqa: E731
    return [
        j("j/deep127", [("n", deep(127)), ("o", objs(127)), ("m", "[" + objs(126) + "]")],
          ["n", "o", "m"],
          '"n":' + deep(127) + ',"o":' + objs(127) + ',"m":[' + objs(126) + "]"),
        j("j/deep128", [("n", deep(128)), ("o", objs(128)), ("m", "[" + objs(127) + "]")],
          ["n", "o", "m"],
          '"n":' + jstr(deep(128)) + ',"o":' + jstr(objs(128)) + ',"m":'
          + jstr("[" + objs(127) + "]")),
        j("j/deep129", [("n", deep(129)), ("o", objs(129)), ("m", "[" + objs(128) + "]")],
          ["n", "o", "m"],
          '"n":' + jstr(deep(129)) + ',"o":' + jstr(objs(129)) + ',"m":'
          + jstr("[" + objs(128) + "]")),
        j("j/huge", [("n", "1e400"), ("m", "-1e400"), ("i", "1" * 400), ("a", "[1,1e309]")],
          ["n", "m", "i", "a"],
          '"n":"1e400","m":"-1e400","i":"' + "1" * 400 + '","a":"[1,1e309]"'),
        j("j/max", [("n", "1.7976931348623157e308"), ("i", "18446744073709551616")],
          ["n", "i"], '"n":1.7976931348623157e+308,"i":1.8446744073709552e+19'),
        j("j/tiny", [("n", "1e-400"), ("m", "-1e-400"), ("a", "[2e-324,3e-324]")],
          ["n", "m", "a"], '"n":0.0,"m":-0.0,"a":[0.0,5e-324]'),
        j("j/surrogates", [("s", '"\\ud800"'), ("p", '"\\ud83d\\ude00"'),
                           ("r", '"\\udc00\\ud800"'), ("k", '{"\\ud800":1}')],
          ["s", "p", "r", "k"],
          '"s":"\\"\\\\ud800\\"","p":"\U0001F600","r":"\\"\\\\udc00\\\\ud800\\"",'
          '"k":"{\\"\\\\ud800\\":1}"'),
        j("j/marker-huge", [("n", "5")], None, '"n":"5"', marker='["n",1e400]'),
        # the quire:json value itself: 127 levels (its array and 126 more) list "n"; 128 do not
        j("j/marker-deep127", [("n", "5")], None, '"n":5', marker='["n",' + deep(126) + "]"),
        j("j/marker-deep128", [("n", "5")], None, '"n":"5"', marker='["n",' + deep(127) + "]"),
    ]


def main(outdir):
    os.makedirs(os.path.join(outdir, "reject"), exist_ok=True)

    def write(name, data, entries=None, meta=META):
        with open(os.path.join(outdir, name + ".quire"), "wb") as f:
            f.write(data)
        if entries is not None:
            with open(os.path.join(outdir, name + ".jsonl"), "wb") as f:
                f.write(jsonl(entries, meta))

    small = small_entries()
    write("empty", build([], META), [])
    write("small", build(small, META, block_target=256), small)
    write("small-allat", build(small, META, block_target=100, always_at=True), small)
    write("raw", build(small, META, block_target=256, codec=0), small)
    many = many_entries(400)
    write("tree1", build(many, META, block_target=2048, per_page=37), many)
    write("tree2", build(many, META, block_target=1024, per_page=20, per_branch=5), many)
    write("tree3b", build(many, META, block_target=1024, per_page=20, per_branch=4), many)
    write("tree3", build(many, META, block_target=1024, per_page=5, per_branch=3), many)
    write("dict-raw", build(many[:120], META, block_target=1024, dict_mode="raw"), many[:120])
    write("dict-trained", build(many, META, block_target=1024, dict_mode="trained",
                                per_page=50), many)
    rng = random.Random(5)
    pool = [text(rng, 30) for _ in range(5)]
    shared = [E(f"s/{i:03d}", pool[i % 5], title=f"S{i}") for i in range(60)]
    write("shared", build(shared, META, block_target=512, per_page=16, share=True), shared)
    write("shared-depth0", build(shared[:20], META, block_target=300, share=True), shared[:20])
    write("future-optional-flag", build(small, META, optional_flags=1 << 7), small)
    write("future-section", build(small, META, extra_section=77), small)
    write("future-minor", build(small, META, minor=5), small)
    write("minor0", build(small, META, minor=0), small)  # 3.0 within 3.1's block limit
    write("future-sections-id0", build(small, META, extra_section=[0, 0]), small)
    empties = [E(f"e/{i}", b"") for i in range(20)]
    write("all-empty", build(empties, META), empties)
    write("all-empty-tree", build(empties, META, per_page=6), empties)
    write("no-meta", build(small[:2], []), small[:2], meta=[])
    limits = json_limit_entries()
    write("json-limits", build(limits, META, block_target=512), limits)

    # rejects
    good = build(small, META, block_target=256)
    rej = {}

    def bad(name, data, kind):
        with open(os.path.join(outdir, "reject", name + ".quire"), "wb") as f:
            f.write(data)
        rej[name + ".quire"] = kind

    bad("bad-magic", b"\x89QUIRF" + good[6:], "not_quire")
    bad("tiny", good[:15], "truncated_prelude")  # 3.1 §11: the magic, then < 22 bytes
    bad("tiny-magic", good[:9], "not_quire")

    def fix_crc(b):
        pl = struct.unpack_from("<I", b, 14)[0]
        b = bytearray(b)
        struct.pack_into("<I", b, pl - 4, crc32(bytes(b[:pl - 4])))
        return bytes(b)

    b = bytearray(good)
    struct.pack_into("<H", b, 10, 4)
    bad("future-major", fix_crc(bytes(b)), "unsupported_version")
    b = bytearray(good)
    b[24] |= 0x10
    bad("unknown-required-flag", fix_crc(bytes(b)), "unsupported_feature")
    pl = struct.unpack_from("<I", good, 14)[0]
    bad("truncated-prelude", good[:pl - 10], "truncated_prelude")
    b = bytearray(good)
    b[pl - 20] ^= 0x40
    bad("damaged-prelude", bytes(b), "damaged_prelude")
    bad("extended", good + b"\0", "length_mismatch")
    b = bytearray(good)
    b[-3] ^= 0x55
    bad("stored-crc", bytes(b), "damaged_block_stored")
    bad("raw-crc", build(small, META, block_target=256, corrupt_raw_crc=1), "damaged_block_raw")
    # a page from another archive: same layout, other content
    many2 = many_entries(400)
    for e in many2:
        e.title = (e.title or "") + "!" if e.title is not None else None
    a1 = build(many, META, block_target=2048, per_page=37)
    a2 = build([E(e.key, e.body.upper(), e.title, e.date, e.ctype, e.meta) for e in many],
               META, block_target=2048, per_page=37)
    # find INDEX in both, swap the first page if lengths agree
    def index_sec(b):
        pl = struct.unpack_from("<I", b, 14)[0]
        for i in range(struct.unpack_from("<H", b, 18)[0]):
            sid, _, off, ln, crc, _ = struct.unpack_from("<I4sQQI4s", b, 96 + 32 * i)
            if sid == 2:
                return off, ln
    o1, l1 = index_sec(a1)
    o2, l2 = index_sec(a2)
    mixed = a1[:o1] + a2[o2:o2 + min(l1, l2)] + a1[o1 + min(l1, l2):]
    bad("mixed-page", mixed, "damaged_node")
    b = bytearray(good)
    b[21] = 1
    bad("reserved-byte", fix_crc(bytes(b)), "damaged_prelude")
    bad("frame-checksum", build(small, META, block_target=256, frame_checksum=True),
        "damaged_block_frame")
    bad("lying-lead-len", build(small, META, block_target=256, always_at=True,
                                lie_lead=100000), "damaged_entry")
    bad("keys-out-of-order", build(list(reversed(sorted(small, key=lambda e: e.key))), META,
                                   block_target=256, unsorted=True), "damaged_node")
    bad("dict-kind-mismatch", build(many[:50], META, block_target=1024, dict_mode="raw",
                                    dict_content=b"\x37\xA4\x30\xEC" + b"x" * 200),
        "damaged_dictionary")
    pl = struct.unpack_from("<I", good, 14)[0]
    bad("truncated-after-prelude", good[:pl + 10], "length_mismatch")
    # 3.1
    bad("dict-trained-id", build(many[:200], META, block_target=1024, dict_mode="trained",
                                 per_page=50, dict_id=True), "damaged_block_frame")
    bad("stored-over-raw", build(small, META, block_target=100, force_codec=True),
        "damaged_node")
    bad("oversize-block-3.0", build(small, META, block_target=256, minor=0,
                                     max_block_len=1 << 23), "unsupported_feature")
    bad("oversize-block-3.0-over-2^28", build(small, META, block_target=256, minor=0,
                                              max_block_len=(1 << 28) + 1), "damaged_prelude")
    bad("oversize-block-3.1", build(small, META, block_target=256, max_block_len=1 << 23),
        "damaged_prelude")
    b = bytearray(good)
    struct.pack_into("<I", b, 96 + 24, 1)  # DICT (section record 0) is empty: crc must be 0
    bad("empty-section-crc", fix_crc(bytes(b)), "damaged_prelude")
    b = bytearray(good)
    struct.pack_into("<I", b, 14, 196)
    bad("prelude-under-197", fix_crc(bytes(b)), "damaged_prelude")
    b = bytearray(good)
    b[pl - 6] += 1  # the root page's last restart offset, right before the prelude CRC
    bad("wrong-restart", fix_crc(bytes(b)), "damaged_node")
    bad("impossible-date", build(small + [E("x/feb30", "x", date=20010230)], META,
                                 block_target=256), "damaged_node")
    # a separator equal to the previous child's last key: the walk's check, and a lookup of a
    # key below its page's first key, confirmed by the previous page's bounds (§6.3)
    bad("separator-at-prev-last", build(many, META, block_target=2048, per_page=37, low_sep=3),
        "damaged_node")
    with open(os.path.join(outdir, "reject", "expected.txt"), "w") as f:
        for k, v in sorted(rej.items()):
            f.write(f"{k}\t{v}\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "samples")
