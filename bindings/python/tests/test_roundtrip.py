"""Round trips: archives the Rust CLI packed read back to exactly what `quire unpack --jsonl`
gives; archives Python packed pass `quire verify` and unpack to what went in."""

from __future__ import annotations

import base64
import datetime
import io
import json
from pathlib import Path
from typing import Any

import pytest

import quire
from conftest import run, unpack_jsonl

DEFAULT_CT = "text/plain; charset=utf-8"


def body_of(record: dict[str, Any]) -> bytes:
    if "body_base64" in record:
        return base64.b64decode(record["body_base64"])
    return record.get("body", "").encode("utf-8")


def check_against_dump(a: quire.Archive, meta: dict[str, str], records: list[dict[str, Any]]) -> None:
    """Every field of every entry equals the CLI's dump."""
    assert len(a) == len(records)
    assert list(a) == [r["key"] for r in records]
    assert a.metadata == meta
    for i, (r, e) in enumerate(zip(records, a.entries())):
        body = body_of(r)
        assert e.key == r["key"]
        assert e.index == i
        assert e.title == r.get("title")
        assert e.date == (datetime.date.fromisoformat(r["date"]) if "date" in r else None)
        assert e.content_type == r.get("content_type", DEFAULT_CT)
        assert e.metadata == r.get("meta", {})
        assert e.size == len(body)
        assert e.body == body
        assert a[r["key"]] == body
        assert a.get(r["key"]) == body
        assert r["key"] in a
        with a.open_body(r["key"]) as f:
            assert f.read() == body
        assert a.entry_at(i).key == r["key"]


@pytest.mark.parametrize("how", ["mmap", "read", "bytes", "pathlike"])
def test_cli_archive_reads_as_unpack_jsonl(cli_archive: Path, cli_dump, how: str) -> None:
    meta, records = cli_dump
    assert len(records) > 20
    source = {
        "mmap": lambda: quire.open(str(cli_archive)),
        "read": lambda: quire.open(cli_archive, mmap=False),
        "bytes": lambda: quire.open(cli_archive.read_bytes()),
        "pathlike": lambda: quire.open(cli_archive),
    }[how]
    with source() as a:
        check_against_dump(a, meta, records)
        assert a.verify().ok


def test_prefix_is_sorted_and_complete(cli_archive: Path, cli_dump) -> None:
    _, records = cli_dump
    keys = [r["key"] for r in records]
    with quire.open(cli_archive) as a:
        for p in ["", "world/", "science/", "w", "zzz", "1999-"]:
            expected = sorted((k for k in keys if k.startswith(p)), key=lambda k: k.encode())
            assert a.prefix(p) == expected, p


def test_python_pack_of_the_dump_verifies_and_unpacks_the_same(
    quire_bin: Path, cli_dump, tmp_path: Path
) -> None:
    meta, records = cli_dump
    out = tmp_path / "py.quire"
    lines = [{"archive": meta}] + records
    summary = quire.pack(lines, out, level=9)
    assert summary["entries"] == len(records)
    verify = run(quire_bin, "verify", out, check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert unpack_jsonl(quire_bin, out) == (meta, records)


def test_pack_reads_jsonl_records(quire_bin: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"id": 7, "title": "Seven", "date": "2001-02-03", "body": "seven"},
                {"key": "bin", "body_base64": base64.b64encode(b"\x00\xff\x10").decode()},
                {"key": "extra", "body": "x", "section": "world", "score": 3, "date": ""},
                {"key": "meta", "body": "y", "meta": {"lang": "en"}, "content_type": "text/html"},
            ]
        )
    )
    out = tmp_path / "x.quire"
    with src.open() as f:
        quire.pack(map(json.loads, f), out)
    with quire.open(out) as a:
        assert a["7"] == b"seven"
        assert a.entry("7").title == "Seven"
        assert a.entry("7").date == datetime.date(2001, 2, 3)
        assert a["bin"] == b"\x00\xff\x10"
        # A number is kept as JSON and listed in quire:json (as `quire pack` does).
        assert a.entry("extra").metadata == {
            "section": "world", "score": "3", "quire:json": '["score"]'
        }
        assert a.entry("extra").date is None
        assert a.entry("meta").metadata == {"lang": "en"}
        assert a.entry("meta").content_type == "text/html"
    assert run(quire_bin, "verify", out).returncode == 0


def test_writer_fields_and_body_kinds(quire_bin: Path, tmp_path: Path) -> None:
    out = tmp_path / "w.quire"
    big = bytes(range(256)) * 2000  # 512000 bytes, many blocks
    with quire.Writer(
        out, level=5, block_size=8192, threads=1, metadata={"title": "Test", "creator": "pytest"}
    ) as w:
        assert w.add("bytes", b"raw", title="T", date=datetime.date(2024, 2, 29))
        assert w.add("str", "h\u00e9llo", date="1999-12-31", content_type="text/x-test")
        assert w.add("bytearray", bytearray(b"ba"), metadata={"a": "1", "b": "2"})
        assert w.add("memoryview", memoryview(b"mv"))
        assert w.add("file", io.BytesIO(big), title="Big")
        assert w.add("file-small", io.BytesIO(b"small"))
        assert w.add("empty", b"")
        assert len(w) == 7
    assert w.closed and w.summary is not None and w.summary["entries"] == 7
    with quire.open(out) as a:
        assert a.metadata["title"] == "Test" and a.metadata["creator"] == "pytest"
        assert "created" in a.metadata and "tool" in a.metadata
        assert a["bytes"] == b"raw"
        e = a.entry("bytes")
        assert (e.title, e.date) == ("T", datetime.date(2024, 2, 29))
        e = a.entry("str")
        assert e.body.decode() == "h\u00e9llo"
        assert (e.date, e.content_type) == (datetime.date(1999, 12, 31), "text/x-test")
        assert a.entry("bytearray").metadata == {"a": "1", "b": "2"}
        assert a["memoryview"] == b"mv"
        assert a["file"] == big and a.entry("file").title == "Big"
        assert a["file-small"] == b"small"
        assert a["empty"] == b"" and a.entry("empty").size == 0
        assert a.verify().ok
    assert run(quire_bin, "verify", out).returncode == 0


def test_writer_options_and_duplicates(tmp_path: Path) -> None:
    out = tmp_path / "d.quire"
    with quire.Writer(out, duplicates="first", dictionary="off", dedup=False, created=0) as w:
        assert w.add("k", b"one")
        assert not w.add("k", b"two")
    with quire.open(out) as a:
        assert a["k"] == b"one"
        assert a.metadata["created"].startswith("1970-01-01")
    with quire.Writer(out, duplicates="last", overwrite=True, dictionary=False) as w:
        w.add("k", b"one")
        w.add("k", b"two")
    with quire.open(out) as a:
        assert a["k"] == b"two" and len(a) == 1


def test_same_input_same_bytes_whatever_the_threads(tmp_path: Path) -> None:
    records = [{"key": f"k{i}", "body": f"body {i} " * (i % 50)} for i in range(500)]
    a = tmp_path / "a.quire"
    b = tmp_path / "b.quire"
    quire.pack(records, a, threads=1, created=1, block_size=1024)
    quire.pack(records, b, threads=2, created=1, block_size=1024)
    assert a.read_bytes() == b.read_bytes()


def test_entries_outlive_a_closed_archive(multiblock) -> None:
    path, bodies = multiblock
    a = quire.open(path)
    e = a.entry("big/text")
    it = iter(a)
    reader = a.open_body("doc/0001")
    a.close()
    assert a.closed
    a.close()  # twice is fine
    with pytest.raises(ValueError):
        a["big/text"]
    with pytest.raises(ValueError):
        len(a)
    assert e.body == bodies["big/text"]
    assert next(it) == min(bodies)  # key order
    assert reader.read() == bodies["doc/0001"]


def test_iteration_and_entry_at(multiblock) -> None:
    path, bodies = multiblock
    keys = sorted(bodies)  # entries are numbered in key order
    with quire.open(path) as a:
        assert list(a) == keys
        assert list(a.keys()) == keys
        assert [e.key for e in a.entries()] == keys
        assert [a.entry_at(i).key for i in range(len(keys))] == keys
        assert a.entry_at(-1).key == keys[-1]
        assert a.prefix("") == keys
        with pytest.raises(IndexError):
            a.entry_at(len(bodies))
        with pytest.raises(IndexError):
            a.entry_at(-len(bodies) - 1)
        assert repr(a).startswith("<quire.Archive")
        assert "doc/0000" in repr(a.entry("doc/0000"))


def test_docstrings_and_module() -> None:
    assert quire.__version__
    for obj in [quire.open, quire.Archive, quire.Entry, quire.Writer, quire.pack, quire.BodyReader,
                quire.Archive.__getitem__, quire.Archive.prefix, quire.Archive.verify,
                quire.Writer.add, quire.Writer.finish, quire.CorruptArchive, quire.VerifyReport]:
        assert obj.__doc__ and len(obj.__doc__) > 10, obj
    assert "must not be modified or truncated" in quire.open.__doc__
    assert issubclass(quire.CorruptArchive, quire.Error)
    assert issubclass(quire.UnsupportedVersion, quire.Error)
    assert issubclass(quire.NotAnArchive, quire.Error)
    assert quire.CorruptArchive.__module__ == "quire"
    stub = Path(quire.__file__).with_name("__init__.pyi")
    assert stub.exists() and stub.with_name("py.typed").exists()


def test_stubs_match_the_module() -> None:
    """__init__.pyi agrees with what the module really has (mypy's stubtest)."""
    pytest.importorskip("mypy")
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "quire"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert out.returncode == 0, out.stdout.decode()


def test_presets_and_index_options_give_the_clis_bytes(quire_bin: Path, tmp_path: Path) -> None:
    """preset=, dict_stored_max= and pack_nodes= are `quire pack`'s --preset,
    --dict-stored-max and --raw-index: the same records make the same bytes."""
    import os
    import subprocess

    words = "harbour council bridge monday reopen repairs northern span said would".split()
    records = [
        {
            "key": f"news/{i % 7}/{i:05d}-{words[i % 10]}-{words[(i * 7) % 10]}",
            "title": f"{words[(i * 3) % 10].title()} {i}",
            "body": " ".join(words[(i * k) % 10] for k in range(40 + i % 60)),
        }
        for i in range(3000)
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    created = 1_000_000_000

    def cli(name: str, *args: str) -> bytes:
        out = tmp_path / f"cli-{name}.quire"
        subprocess.run(
            [str(quire_bin), "pack", str(src), "-o", str(out), "--quiet", *args],
            check=True,
            env=dict(os.environ, SOURCE_DATE_EPOCH=str(created)),
        )
        return out.read_bytes()

    def py(name: str, **options: Any) -> bytes:
        out = tmp_path / f"py-{name}.quire"
        quire.pack(records, out, created=created, **options)
        return out.read_bytes()

    default = py("default")
    assert default == cli("default")
    for preset in ["remote", "smallest"]:
        ours = py(preset, preset=preset)
        assert ours == cli(preset, "--preset", preset), preset
        assert ours != default, preset
    assert py("stored", dict_stored_max=4096) == cli("stored", "--dict-stored-max", "4096")
    raw = py("raw", pack_nodes=False)
    assert raw == cli("raw", "--raw-index")
    # This index has pages below its root, and packed they are shorter.
    assert len(raw) > len(default)
    # Smaller index pages: another index over the same entries.
    small_pages = py("pages", page_size=512)
    assert small_pages != default
    with quire.open(tmp_path / "py-pages.quire") as a:
        assert len(a) == len(records)
        for r in records[::97]:
            assert a[r["key"]] == r["body"].encode()
    with pytest.raises(ValueError, match="page size 16"):
        py("bad", page_size=16)
    with pytest.raises(ValueError, match="preset"):
        py("bad", preset="fastest")
