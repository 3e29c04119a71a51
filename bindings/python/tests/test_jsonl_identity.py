"""One JSONL codec: the same records, one for every value type spec §9 names, packed by the
CLI (`quire pack FILE.jsonl`) and by Python (`quire.pack`) give byte-identical archives, and
`quire unpack --jsonl` of both, and Python's own rendering, give identical output. Python
reads and writes records with the library's codec (`quire::jsonl`): the package holds no JSON
record handling of its own."""

from __future__ import annotations

import datetime
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

import quire
from conftest import REPO, run

# `created` fixed for both, so that the archives can be identical: the CLI takes it from
# SOURCE_DATE_EPOCH, Python from created= (the library reads SOURCE_DATE_EPOCH too).
CREATED = 1_000_000_000

# One record per value type §9 names (and each way §9 reads a field), as JSONL lines written
# the way a user might (spaces, non-canonical numbers).
LINES = [
    '{"archive": {"title": "identity", "description": "one record per value type"}}',
    '{"key": "string", "title": "A string", "s": "plain \\"quoted\\" \\\\ / \\u00e9 \\ud83d\\ude00 '
    '\\u0001 \\n\\t", "empty": "", "body": "text body"}',
    '{"key": "integers", "zero": 0, "neg": -12, "u64": 18446744073709551615, '
    '"i64": -9223372036854775808, "beyond": 18446744073709551616, "body": ""}',
    '{"key": "floats", "f": 1.50, "tenth": 0.1, "small": 0.00001, "tiny": 1e-7, '
    '"e15": 1e15, "e16": 1E16, "big": 1.5e300, "negzero": -0.0, "whole": 100e-2}',
    '{"key": "booleans", "t": true, "f": false}',
    '{"key": "null", "n": null, "title": null, "date": null}',
    '{"key": "arrays", "empty": [], "mixed": [1, "two", 3.0, true, null, [[]], {"k": "v"}]}',
    '{"key": "objects", "empty": {}, "nested": {"z": 1, "a": {"b": [false]}, "m": "x"}}',
    '{"key": "meta", "meta": {"lang": "en", "n": 2, "": "empty name"}, "after": "x", '
    '"content_type": "text/html; charset=utf-8", "body": "<p>x</p>"}',
    '{"key": "empty title", "title": "", "body": "x"}',
    '{"key": "date", "date": "2002-03-14", "body": "a plain date"}',
    '{"key": "date-time", "date": "2002-03-14T10:00:00.5+01:00", "body": "RFC 3339"}',
    '{"key": "date-time lower", "date": "2002-03-14t10:00:00z"}',
    '{"key": "date-time space", "date": "2002-03-14 23:59:60-08:00", "meta": {"lang": "de"}}',
    '{"key": "date-time meta", "meta": {"date": "2002-03-14T10:00:00Z"}}',
    '{"key": "binary", "body_base64": "AAECAwT/"}',
    '{"key": "binary typed", "content_type": "image/png", "body_base64": "iVBORw=="}',
    '{"id": 42, "body": "a numeric id"}',
    '{"id": "id-string", "metadata": {"not": "an alias of meta"}}',
]


def write_input(tmp_path: Path) -> Path:
    src = tmp_path / "records.jsonl"
    src.write_text("\n".join(LINES) + "\n\n", encoding="utf-8")
    return src


def cli_pack(quire_bin: Path, src: Path, out: Path) -> None:
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(CREATED))
    import subprocess

    subprocess.run(
        [str(quire_bin), "pack", str(src), "-o", str(out), "--quiet"],
        check=True,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def cli_unpack(quire_bin: Path, archive: Path) -> bytes:
    return run(quire_bin, "unpack", archive, "--jsonl", "-").stdout


def python_unpack(archive: Path) -> bytes:
    out = io.BytesIO()
    with quire.open(archive) as a:
        n = a.write_jsonl(out)
        assert n == len(a)
    return out.getvalue()


def test_cli_and_python_pack_the_same_records_to_the_same_bytes(
    quire_bin: Path, tmp_path: Path
) -> None:
    src = write_input(tmp_path)
    cli = tmp_path / "cli.quire"
    cli_pack(quire_bin, src, cli)

    # Python, from the lines as they are ...
    from_lines = tmp_path / "lines.quire"
    with src.open(encoding="utf-8") as f:
        quire.pack(f, from_lines, created=CREATED)
    # ... and from dicts (what json.loads makes of them).
    from_dicts = tmp_path / "dicts.quire"
    quire.pack((json.loads(line) for line in LINES), from_dicts, created=CREATED)
    # ... and from bytes lines, one record at a time through a Writer.
    with quire.Writer(tmp_path / "writer.quire", created=CREATED,
                      metadata=json.loads(LINES[0])["archive"]) as w:
        for line in LINES[1:]:
            assert w.add_record(line.encode("utf-8"))

    want = cli.read_bytes()
    for other in [from_lines, from_dicts, tmp_path / "writer.quire"]:
        assert other.read_bytes() == want, other.name

    # unpack --jsonl of both, Python's rendering and Entry.to_jsonl: the same lines.
    dump = cli_unpack(quire_bin, cli)
    assert cli_unpack(quire_bin, from_dicts) == dump
    assert python_unpack(from_dicts) == dump
    lines = dump.decode("utf-8").splitlines()
    with quire.open(from_dicts) as a:
        assert [e.to_jsonl() for e in a.entries()] == lines[1:]

    # What §9 says comes back: the JSON values, the date-time as "date", the binary type.
    records = {r["key"]: r for r in map(json.loads, lines[1:])}
    assert json.loads(lines[0])["archive"]["title"] == "identity"
    assert records["integers"]["meta"] == {
        "zero": 0, "neg": -12, "u64": 18446744073709551615, "i64": -9223372036854775808,
        "beyond": 1.8446744073709552e19,
    }
    assert records["booleans"]["meta"] == {"t": True, "f": False}
    assert records["null"] == {"key": "null", "meta": {"n": None}, "body": ""}
    assert records["objects"]["meta"]["nested"] == {"z": 1, "a": {"b": [False]}, "m": "x"}
    assert records["date-time"]["date"] == "2002-03-14T10:00:00.5+01:00"
    assert records["date-time space"]["date"] == "2002-03-14 23:59:60-08:00"
    assert records["date-time meta"] == {
        "key": "date-time meta", "meta": {"date": "2002-03-14T10:00:00Z"}, "body": ""
    }
    assert records["binary"]["content_type"] == "application/octet-stream"
    assert records["42"]["body"] == "a numeric id"
    assert records["id-string"]["meta"] == {"metadata": {"not": "an alias of meta"}}
    # Numbers in §9's layout (not Python's repr: 1e-07, 1e-05).
    floats = next(line for line in lines if '"key":"floats"' in line)
    assert ('"f":1.5,"tenth":0.1,"small":0.00001,"tiny":1e-7,"e15":1000000000000000.0,'
            '"e16":1e+16,"big":1.5e+300,"negzero":-0.0,"whole":1.0') in floats

    # And the dump packs back, by the CLI and by Python, to the same bytes, holding the same
    # entries. (Not yet to the bytes of the first archive: the writer numbers content types
    # in the order it meets them, and the dump is in key order.)
    dump_file = tmp_path / "dump.jsonl"
    dump_file.write_bytes(dump)
    cli_again = tmp_path / "cli-again.quire"
    cli_pack(quire_bin, dump_file, cli_again)
    py_again = tmp_path / "py-again.quire"
    with dump_file.open(encoding="utf-8") as f:
        quire.pack(f, py_again)  # created comes from the dump's archive line
    assert py_again.read_bytes() == cli_again.read_bytes()
    assert cli_unpack(quire_bin, cli_again) == dump


VECTORS = REPO / "spec" / "vectors"


@pytest.mark.parametrize(
    "archive",
    sorted(VECTORS.glob("*.quire")) + sorted((VECTORS / "jsonl").glob("*.quire")),
    ids=lambda p: str(p.relative_to(VECTORS)),
)
def test_vectors_render_as_their_jsonl(quire_bin: Path, archive: Path) -> None:
    want = archive.with_suffix(".jsonl").read_bytes()
    assert python_unpack(archive) == want
    if archive.parent.name != "jsonl" or archive.stem in ("values", "dates"):
        # edges.quire holds entries only other writers make, on which §9 decided what the
        # CLI did before it used the library's codec.
        assert cli_unpack(quire_bin, archive) == want


def test_records_python_cannot_express_in_json(tmp_path: Path) -> None:
    out = tmp_path / "x.quire"
    quire.pack(
        [
            {"key": "bytes", "body": b"\x00\xff", "date": datetime.date(2020, 1, 2)},
            {"key": "file", "body": io.BytesIO(b"x" * 200_000), "tags": ("a", "b")},
            {"key": "big int", "n": 10**30},
        ],
        out,
    )
    with quire.open(out) as a:
        e = a.entry("bytes")
        assert (e.body, e.date) == (b"\x00\xff", datetime.date(2020, 1, 2))
        assert a.entry("file").size == 200_000
        assert a.entry("file").metadata == {"tags": '["a","b"]', "quire:json": '["tags"]'}
        assert a.entry("big int").metadata["n"] == "1e+30"


@pytest.mark.parametrize(
    ("records", "error", "message"),
    [
        ([{"body": "x"}], ValueError, 'record 1: a record needs a "key" (or "id") field'),
        ([{"key": "a"}, "{oops"], ValueError, "record 2: invalid JSON"),
        ([{"key": "a", "x": "1", "meta": {"x": "2"}}], ValueError,
         'record 1: metadata "x" of "a" is given twice'),
        ([{"key": "a", "quire:json": "[]"}], ValueError, "is reserved"),
        ([{"key": "a", "date": "2002-02-30"}], ValueError,
         'date "2002-02-30" of "a" is not a valid'),
        ([{"key": "a", "body_base64": "eA="}], ValueError, "is not base64"),
        ([{"key": "a", "n": float("nan")}], ValueError, "JSON has no NaN"),
        ([{"key": "a", "s": {1, 2}}], TypeError, 'record 1: field "s": a set is not a JSON'),
        ([7], TypeError, "a record must be a dict"),
        ([{"key": True}], ValueError, '"key" must be a string or a number'),
    ],
)
def test_record_errors_say_which_record_and_what(
    tmp_path: Path, records: list[Any], error: type[Exception], message: str
) -> None:
    out = tmp_path / "bad.quire"
    with pytest.raises(error) as ei:
        quire.pack(records, out)
    assert message in str(ei.value)
    assert not out.exists()


def test_the_package_holds_no_json_record_handling() -> None:
    public = sorted(n for n in dir(quire) if not n.startswith("_"))
    assert public == sorted(n for n in quire.__all__ if not n.startswith("_"))
    for name in ["json", "os", "Any", "Iterable", "Mapping", "annotations", "base64"]:
        assert not hasattr(quire, name), name
    pkg = Path(quire.__file__).parent
    for src in pkg.glob("*.py"):
        text = src.read_text(encoding="utf-8")
        assert "import json" not in text and "base64" not in text, src.name
