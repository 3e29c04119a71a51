#!/usr/bin/env python3
"""Spec §9.2 (reading the JSON Lines form, what `quire pack` takes), written from
spec/FORMAT.md alone, and a round trip through it.

    jsonl_pack.py roundtrip FILE.jsonl [ARCHIVE.quire]
    jsonl_pack.py selftest


reads FILE.jsonl by §9.2 into entries, writes them as an archive with make_samples.py's
writer, reads that archive back with quire_spec_reader.py and writes it by §9.1: the result
must be FILE.jsonl again, byte for byte (§9.2: "a value `quire pack` stored comes back as the
same text"). With ARCHIVE.quire (the vector the .jsonl was made from), the entries read by
§9.2 must also be exactly the archive's: key, title, date, content type, metadata pairs in
order, body.

The vectors' README says `jsonl/values.jsonl` and `jsonl/dates.jsonl` pack back to their
archives; `jsonl/edges.jsonl` does not (it has repeated names, which §9.2 refuses).
"""

import base64
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import make_samples  # noqa: E402
import quire_spec_reader as qr  # noqa: E402

TEXT_PLAIN = "text/plain; charset=utf-8"
OCTET = "application/octet-stream"


class JsonlError(ValueError):
    pass


class Pairs(list):
    """An object's members in order, repeats kept (so that the line's and "meta"'s repeated
    names can be refused)."""


def _to_value(v):
    """Inside values (not the line's object, not "meta"), a repeated member keeps its last
    value at its first place: a dict does exactly that."""
    if isinstance(v, Pairs):
        return {k: _to_value(x) for k, x in v}
    if isinstance(v, list):
        return [_to_value(x) for x in v]
    return v


def _unique(pairs, where):
    seen = set()
    for k, _ in pairs:
        if k in seen:
            raise JsonlError(f"{where}: member {k!r} given twice")
        seen.add(k)


def parse_line(line):
    if line.startswith("\ufeff"):
        raise JsonlError("a line that starts with a byte order mark")
    try:
        obj = json.loads(line, object_pairs_hook=Pairs, parse_int=qr._json_int,
                         parse_float=qr._json_float, parse_constant=qr._json_constant)
    except ValueError as e:
        raise JsonlError(f"not JSON: {e}") from None
    except RecursionError:
        raise JsonlError("not JSON: nested too deeply for this reader") from None
    if not isinstance(obj, Pairs):
        raise JsonlError("not a JSON object")
    try:
        qr._no_lone_surrogates(_to_value(obj))  # a string that is not Unicode: not stored
    except ValueError as e:
        raise JsonlError(str(e)) from None
    except RecursionError:
        raise JsonlError("nested too deeply for this reader") from None
    _unique(obj, "the line")
    return obj


def is_date(s):
    m = re.fullmatch(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", s)
    return bool(m) and qr.valid_date(int(m[1]) * 10000 + int(m[2]) * 100 + int(m[3]))


def canonical_base64(s):
    """RFC 4648 §4, canonical: `=` padding required, nothing else, unused bits zero."""
    if not re.fullmatch(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?", s):
        raise JsonlError("body_base64 is not canonical base64")
    b = base64.b64decode(s, validate=True)
    if base64.b64encode(b).decode("ascii") != s:
        raise JsonlError("body_base64 has unused bits set")
    return b


NAMED = ("title", "date", "content_type", "body", "body_base64")


MAX_KEY = 4096      # §7.1: keys are 1 ..= 4096 bytes
MAX_CTYPE = 255     # §4: a content type is 1 ..= 255 bytes


def entry_from(obj):
    """One line's object (Pairs) to (archive_meta, None) or (None, make_samples.E).
    §9.2: "An object without "key" and "id" whose only member is "archive", an object of
    strings, gives archive metadata ... when it is the first line; such a line further on
    gives none (`quire pack` skips it). An "archive" member that is not an object of strings
    is an error." (read_jsonl skips a later one.)"""
    names = [k for k, _ in obj]
    if names == ["archive"]:
        arch = obj[0][1]
        if not isinstance(arch, Pairs) or not all(isinstance(v, str) for _, v in arch):
            raise JsonlError('"archive" is not an object of strings')
        return list(arch), None
    d = dict(obj)
    if "key" in d:
        kv = d["key"]
    elif "id" in d:
        kv = d["id"]
    else:
        raise JsonlError('an entry without "key" or "id"')
    if isinstance(kv, str):
        key = kv
    elif isinstance(kv, (int, float)) and not isinstance(kv, bool):
        key = qr.json_number(kv)  # "a number is written in decimal, as §9.1 writes numbers"
    else:
        raise JsonlError('"key"/"id" is not a string or a number')
    # "The key obeys §7.1 (not empty, at most 4096 bytes)"
    if not 1 <= len(key.encode("utf-8")) <= MAX_KEY:
        raise JsonlError(f"a key of {len(key.encode('utf-8'))} bytes (§7.1: 1 to {MAX_KEY})")
    key_member = "key" if "key" in d else "id"
    for n in NAMED:
        if d.get(n) is not None and not isinstance(d[n], str):
            raise JsonlError(f'"{n}" is not a string')
    title = d.get("title")
    date = None
    pairs = []
    dv = d.get("date")
    rfc_date = False
    if dv is not None and dv != "":  # an empty "date" is no date
        if is_date(dv):
            date = int(dv[:4] + dv[5:7] + dv[8:10])
        elif qr.is_rfc3339(dv):
            date = int(dv[:4] + dv[5:7] + dv[8:10])
            # "kept as a metadata pair named date, placed first, before every other pair
            # (position 0)": pairs is empty here, the other pairs follow
            pairs.append(("date", dv))
            rfc_date = True
        else:
            raise JsonlError(f'"date" {dv!r} is neither YYYY-MM-DD nor an RFC 3339 date-time')
    if d.get("body") is not None and d.get("body_base64") is not None:
        raise JsonlError('"body" and "body_base64" both')
    if d.get("body_base64") is not None:
        body = canonical_base64(d["body_base64"])
        ctype = d.get("content_type") or OCTET
    else:
        body = (d.get("body") or "").encode("utf-8")
        ctype = d.get("content_type") or TEXT_PLAIN
    # "A "content_type" obeys §4 (1 to 255 bytes)"
    if d.get("content_type") is not None and not (
            1 <= len(d["content_type"].encode("utf-8")) <= MAX_CTYPE):
        raise JsonlError(f'a "content_type" of {len(d["content_type"].encode("utf-8"))} bytes'
                         f' (§4: 1 to {MAX_CTYPE})')
    # metadata: every other member, and "meta"'s members where "meta" stands
    raw = []
    for k, v in obj:
        if k == key_member or k in NAMED:
            continue
        if k == "meta":
            if v is None:
                continue
            if not isinstance(v, Pairs):
                raise JsonlError('"meta" is not an object')
            _unique(v, '"meta"')
            raw.extend(v)
            continue
        raw.append((k, v))
    json_names = []
    for k, v in raw:
        if k == "quire:json":
            raise JsonlError("a metadata pair named quire:json")
        if isinstance(v, str):
            pairs.append((k, v))
        else:
            v = _to_value(v)
            # Not in §9.2's text (SPEC_ISSUES.md, §9 after 6a344da, #2): a value nested 128 or
            # more deep would be stored, then written by §9.1 as a string, not "as the same
            # JSON"; refused here (counted on the value itself: 127 levels are taken).
            if qr.value_depth(v) > qr.MAX_JSON_DEPTH:
                raise JsonlError(f"metadata {k!r}: nested {qr.MAX_JSON_DEPTH + 1} or more "
                                 "arrays or objects deep")
            pairs.append((k, qr.json_value(v)))
            json_names.append(k)
    names = [k for k, _ in pairs]
    if len(set(names)) != len(names):
        raise JsonlError("a metadata name given twice" + (" (beside an RFC 3339 \"date\")"
                                                          if rfc_date else ""))
    if json_names:
        pairs.append(("quire:json", "[" + ",".join(qr.json_str(n) for n in json_names) + "]"))
    return None, make_samples.E(key, body, title=title, date=date, ctype=ctype, meta=pairs)


def read_jsonl(data):
    """The bytes of a .jsonl file to (archive_meta, entries). An "archive" line gives the
    archive metadata only as the first line (the first non-blank one: blank lines are
    skipped); further on it is skipped. Two lines with the same key are "the writer's
    choice": refused here, as `quire pack` does unless told otherwise."""
    text = data.decode("utf-8")
    meta, entries = [], []
    first = True
    keys = {}
    for i, line in enumerate(text.split("\n"), 1):
        if line.strip(" \t\r\n") == "":
            continue
        try:
            m, e = entry_from(parse_line(line))
        except JsonlError as ex:
            raise JsonlError(f"line {i}: {ex}") from None
        if m is not None:
            if first:
                meta = m
        else:
            if e.key in keys:
                raise JsonlError(f"line {i}: key {e.key!r} given again (line {keys[e.key]})")
            keys[e.key] = i
            entries.append(e)
        first = False
    return meta, entries


def roundtrip(path, archive=None):
    data = open(path, "rb").read()
    meta, entries = read_jsonl(data)
    problems = []
    if archive is not None:
        with qr.open_archive(archive) as a:
            got = [(e.key, e.title, e.date, e.content_type, list(e.metadata), e.body)
                   for e in a.entries()]
            if list(a.metadata) != meta:
                problems.append(f"archive metadata: {list(a.metadata)!r} != {meta!r}")
        want = sorted(((e.key.decode(), e.title, e.date, e.ctype, e.meta, e.body)
                       for e in entries), key=lambda t: t[0].encode())
        for g, w in zip(got, want):
            if g != w:
                problems.append(f"entry {g[0]!r}: archive {g!r}, §9.2 gives {w!r}")
        if len(got) != len(want):
            problems.append(f"{len(got)} entries in the archive, {len(want)} in the .jsonl")
    tmp = path + ".roundtrip.quire"
    out = os.path.join("/tmp", os.path.basename(tmp))
    with open(out, "wb") as f:
        f.write(make_samples.build(entries, meta, block_target=256))
    back = qr.dump_bytes(out)
    os.unlink(out)
    if back != data:
        gl, wl = back.split(b"\n"), data.split(b"\n")
        i = next((i for i, (x, y) in enumerate(zip(gl, wl)) if x != y), min(len(gl), len(wl)))
        problems.append(f"§9.2 then §9.1 differs at line {i + 1}: {gl[i:i + 1]!r} != "
                        f"{wl[i:i + 1]!r}")
    return problems


ARCH = '{"archive":{"t":"x"}}'
BAD = object()
# (lines, expected): expected is BAD (refused), or (archive metadata, [(key, date, ctype,
# metadata pairs)]) — each case from a sentence of §9.2 (as of commit 6a344da)
SELFTEST = [
    # "An object ... whose only member is "archive" ... gives archive metadata ... when it is
    # the first line; such a line further on gives none (`quire pack` skips it)"
    ([ARCH, '{"key":"a"}'], ([("t", "x")], [("a", None, TEXT_PLAIN, [])])),
    (["", "  ", ARCH, '{"key":"a"}'], ([("t", "x")], [("a", None, TEXT_PLAIN, [])])),
    (['{"key":"a"}', ARCH], ([], [("a", None, TEXT_PLAIN, [])])),
    ([ARCH, '{"archive":{"u":"y"}}', '{"key":"a"}'], ([("t", "x")], [("a", None, TEXT_PLAIN, [])])),
    # "An "archive" member that is not an object of strings is an error."
    (['{"archive":5}'], BAD), (['{"archive":{"a":1}}'], BAD), (['{"archive":null}'], BAD),
    ([ARCH, '{"archive":[]}'], BAD),
    # "a number is written as §9.1 writes numbers: 7, 7.5, 1e+20"
    (['{"id":1e20}', '{"id":7.50}', '{"key":7,"id":"x"}'],
     ([], [("1e+20", None, TEXT_PLAIN, []), ("7.5", None, TEXT_PLAIN, []),
           ("7", None, TEXT_PLAIN, [("id", "x")])])),
    (['{"id":1e400}'], BAD),
    # "The key obeys §7.1 (not empty, at most 4096 bytes)"
    (['{"key":""}'], BAD), (['{"key":"' + "k" * 4097 + '"}'], BAD),
    (['{"key":"' + "é" * 2049 + '"}'], BAD),
    (['{"key":"' + "k" * 4096 + '"}'], ([], [("k" * 4096, None, TEXT_PLAIN, [])])),
    # "two lines with the same key are the writer's choice (`quire pack` refuses the second
    # unless told otherwise)": refused here
    (['{"key":"a"}', '{"key":"a"}'], BAD), (['{"key":"7"}', '{"id":7}'], BAD),
    # "A "content_type" obeys §4 (1 to 255 bytes)"
    (['{"key":"a","content_type":""}'], BAD),
    (['{"key":"a","content_type":"' + "x" * 256 + '"}'], BAD),
    (['{"key":"a","content_type":"' + "x" * 255 + '"}'], ([], [("a", None, "x" * 255, [])])),
    (['{"key":"a","content_type":null,"body_base64":"AA=="}'], ([], [("a", None, OCTET, [])])),
    # "the whole value is kept as a metadata pair named date, placed first, before every
    # other pair (position 0)"
    (['{"key":"a","x":"1","meta":{"y":"2"},"date":"2002-03-14T10:00:00Z","z":3}'],
     ([], [("a", 20020314, TEXT_PLAIN, [("date", "2002-03-14T10:00:00Z"), ("x", "1"),
                                        ("y", "2"), ("z", "3"), ("quire:json", '["z"]')])])),
    (['{"key":"a","x":"1","date":"2002-03-14T10:00:00Z","meta":{"date":"d"}}'], BAD),
    # numbers: "one too small for it is 0.0, or −0.0 when negative"; beyond range an error
    (['{"key":"a","n":1e-400,"m":-1e-400}'],
     ([], [("a", None, TEXT_PLAIN, [("n", "0.0"), ("m", "-0.0"), ("quire:json", '["n","m"]')])])),
    (['{"key":"a","n":[1e400]}'], BAD), (['{"key":"a","n":-1e309}'], BAD),
    # not in §9.2's text: a value §9.1 would not give back (unpaired surrogate, 128 or more
    # deep: "127 levels parse and 128 do not")
    (['{"key":"a","s":"\\ud800"}'], BAD),
    (['{"key":"a","n":' + "[" * 129 + "]" * 129 + "}"], BAD),
    (['{"key":"a","n":' + "[" * 128 + "]" * 128 + "}"], BAD),
    (['{"key":"a","meta":{"o":' + '{"a":' * 128 + "0" + "}" * 128 + "}}"], BAD),
    (['{"key":"a","n":' + "[" * 127 + "]" * 127 + "}"],
     ([], [("a", None, TEXT_PLAIN, [("n", "[" * 127 + "]" * 127), ("quire:json", '["n"]')])])),
    (['{"key":"a","meta":{"o":' + '{"a":' * 127 + "0" + "}" * 127 + "}}"],
     ([], [("a", None, TEXT_PLAIN, [("o", '{"a":' * 127 + "0" + "}" * 127),
                                    ("quire:json", '["o"]')])])),
    (['{"key":"a","n":' + "[" * 5000 + "]" * 5000 + "}"], BAD),
]


def selftest():
    """§9.2's sentences, one case each; then each accepted case packed, read back and written
    by §9.1, which must give the pairs' JSON values back as the same text."""
    failed = 0
    for lines, want in SELFTEST:
        data = "".join(line + "\n" for line in lines).encode("utf-8")
        try:
            meta, entries = read_jsonl(data)
            got = (meta, [(e.key.decode(), e.date, e.ctype, e.meta) for e in entries])
        except JsonlError as e:
            got = BAD
            why = str(e)
        if got != want:
            failed += 1
            print(f"FAIL {lines!r:.100}: got {'refused: ' + why if got is BAD else got!r:.300}")
            continue
        if got is not BAD:
            out = "/tmp/jsonl_pack_selftest.quire"
            with open(out, "wb") as f:
                f.write(make_samples.build(entries, meta, block_target=256))
            back = qr.dump_bytes(out).decode("utf-8").split("\n")
            os.unlink(out)
            for e, line in zip(sorted(entries, key=lambda e: e.key), back[1:]):
                m = json.loads(line, object_pairs_hook=Pairs).copy()
                metaj = dict(m).get("meta") or []
                names = json.loads(dict(e.meta).get("quire:json", "[]"))
                for n, v in metaj:
                    if n in names and qr.json_value(_to_value(v)) != dict(e.meta)[n]:
                        failed += 1
                        print(f"FAIL {lines!r:.100}: {n!r} comes back as {v!r:.100}")
    print(f"{len(SELFTEST) - failed} passed, {failed} failed")
    return 1 if failed else 0


def main(argv):
    if len(argv) == 2 and argv[1] == "selftest":
        return selftest()
    if len(argv) not in (3, 4) or argv[1] != "roundtrip":
        print(__doc__, file=sys.stderr)
        return 2
    try:
        problems = roundtrip(argv[2], argv[3] if len(argv) == 4 else None)
    except JsonlError as e:
        print(f"refused: {e}")
        return 1
    for p in problems:
        print("FAIL " + p)
    if not problems:
        print(f"ok   {argv[2]}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
