#!/usr/bin/env python3
"""Spec §9.2 (reading the JSON Lines form, what `quire pack` takes), written from
spec/FORMAT.md alone, and a round trip through it.

    jsonl_pack.py roundtrip FILE.jsonl [ARCHIVE.quire]

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
    if not isinstance(obj, Pairs):
        raise JsonlError("not a JSON object")
    qr._no_lone_surrogates(_to_value(obj))
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


def entry_from(obj):
    """One line's object (Pairs) to (archive_meta, None) or (None, make_samples.E)."""
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
            pairs.append(("date", dv))  # "kept as the entry's first metadata pair"
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
    if d.get("content_type") == "":
        raise JsonlError('an empty "content_type"')  # CTYPES records are 1..=255 bytes
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
            pairs.append((k, qr.json_value(_to_value(v))))
            json_names.append(k)
    names = [k for k, _ in pairs]
    if len(set(names)) != len(names):
        raise JsonlError("a metadata name given twice" + (" (beside an RFC 3339 \"date\")"
                                                          if rfc_date else ""))
    if json_names:
        pairs.append(("quire:json", "[" + ",".join(qr.json_str(n) for n in json_names) + "]"))
    return None, make_samples.E(key, body, title=title, date=date, ctype=ctype, meta=pairs)


def read_jsonl(data):
    """The bytes of a .jsonl file to (archive_meta, entries)."""
    text = data.decode("utf-8")
    meta, entries = [], []
    for i, line in enumerate(text.split("\n"), 1):
        if line.strip(" \t\r\n") == "":
            continue
        try:
            m, e = entry_from(parse_line(line))
        except JsonlError as ex:
            raise JsonlError(f"line {i}: {ex}") from None
        if m is not None:
            meta = m
        else:
            entries.append(e)
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


def main(argv):
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
