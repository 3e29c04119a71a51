"""Errors: missing keys, damaged, truncated and foreign files, versions, closed objects,
and the writer's refusals."""

from __future__ import annotations

import io
import random
import struct
import zlib
from pathlib import Path

import pytest

import quire
from conftest import DATA, sections


def test_missing_key(multiblock) -> None:
    path, _ = multiblock
    with quire.open(path) as a:
        with pytest.raises(KeyError) as ei:
            a["no/such/key"]
        assert ei.value.args == ("no/such/key",)
        assert a.get("no/such/key") is None
        assert a.get("no/such/key", b"d") == b"d"
        assert "no/such/key" not in a
        assert 42 not in a
        assert a.get(42) is None
        with pytest.raises(KeyError):
            a[42]  # type: ignore[index]
        with pytest.raises(KeyError):
            a.entry("no/such/key")
        with pytest.raises(KeyError):
            a.open_body("no/such/key")


def flipped(data: bytes, at: int) -> bytes:
    b = bytearray(data)
    b[at] ^= 0x10
    return bytes(b)


def test_damaged_block_raises_corrupt_archive_with_location(multiblock, tmp_path: Path) -> None:
    path, bodies = multiblock
    data = path.read_bytes()
    off, length = sections(data)[DATA]
    bad = tmp_path / "bad.quire"
    bad.write_bytes(flipped(data, off + length // 2))
    with quire.open(bad) as a:
        report = a.verify()
        assert not report.ok
        assert any(p.location.startswith("block ") for p in report.problems)
        damaged = {k for p in report.problems for k in p.keys}
        assert damaged and damaged < set(bodies)
        assert "problem" in str(report)
        for key in damaged:
            with pytest.raises(quire.CorruptArchive) as ei:
                a[key]
            assert ei.value.location.startswith("block ")
            assert ei.value.kind
            assert ei.value.location in str(ei.value)
        # Damage to one block costs only the entries in it.
        for key in list(set(bodies) - damaged)[:50]:
            assert a[key] == bodies[key]


def test_damaged_block_while_streaming(multiblock, tmp_path: Path) -> None:
    path, bodies = multiblock
    data = path.read_bytes()
    off, length = sections(data)[DATA]
    bad = tmp_path / "bad.quire"
    bad.write_bytes(flipped(data, off + length // 2))
    with quire.open(bad) as a:
        damaged = [k for p in a.verify().problems for k in p.keys]
        with pytest.raises(quire.CorruptArchive):
            with a.open_body(damaged[0]) as f:
                while f.read(1000):
                    pass


def test_every_flip_in_the_header_is_an_error(multiblock, tmp_path: Path) -> None:
    path, _ = multiblock
    data = path.read_bytes()
    for at in range(0, 100 + 32 * 9, 7):
        with pytest.raises(quire.Error):
            quire.open(flipped(data, at))


@pytest.mark.parametrize("keep", [0.0, 0.1, 0.5, 0.99])
def test_truncated_file(multiblock, tmp_path: Path, keep: float) -> None:
    path, _ = multiblock
    data = path.read_bytes()
    cut = tmp_path / "cut.quire"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(quire.Error) as ei:
        quire.open(cut)
    if keep > 0:
        assert isinstance(ei.value, quire.CorruptArchive)
        assert ei.value.location == "file"
        assert "truncated" in ei.value.kind


def test_not_an_archive(tmp_path: Path) -> None:
    p = tmp_path / "text.txt"
    p.write_text("just some text, long enough to hold a quire header and more " * 10)
    with pytest.raises(quire.NotAnArchive):
        quire.open(p)
    with pytest.raises(quire.NotAnArchive):
        quire.open(b"\x89QUIRX\r\n\x1a\n" + b"\0" * 500)


def test_unsupported_version(multiblock) -> None:
    path, _ = multiblock
    data = bytearray(path.read_bytes())
    struct.pack_into("<HH", data, 10, 9, 1)
    # The prelude's CRC, in its last four bytes, covers everything before them (§2.3).
    (prelude_len,) = struct.unpack_from("<I", data, 14)
    end = prelude_len - 4
    struct.pack_into("<I", data, end, zlib.crc32(bytes(data[:end])))
    with pytest.raises(quire.UnsupportedVersion) as ei:
        quire.open(bytes(data))
    assert (ei.value.major, ei.value.minor) == (9, 1)


def test_os_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as ei:
        quire.open(tmp_path / "missing.quire")
    assert ei.value.filename == str(tmp_path / "missing.quire")
    with pytest.raises(IsADirectoryError) as ei2:
        quire.open(tmp_path)
    assert ei2.value.filename == str(tmp_path)
    with pytest.raises(TypeError):
        quire.open(42)  # type: ignore[arg-type]


def test_an_empty_file_is_said_to_be_empty(tmp_path: Path) -> None:
    """Not blamed on a transfer in text mode: the file is empty."""
    empty = tmp_path / "empty.quire"
    empty.write_bytes(b"")
    for source in (empty, str(empty), b""):
        for mmap in (True, False):
            with pytest.raises(quire.NotAnArchive) as ei:
                quire.open(source, mmap=mmap)
            assert "empty (0 bytes)" in str(ei.value)
            assert "text mode" not in str(ei.value)


def test_writer_refusals(tmp_path: Path) -> None:
    out = tmp_path / "w.quire"
    with pytest.raises(ValueError):
        quire.Writer(out, level=99)
    with pytest.raises(ValueError):
        quire.Writer(out, duplicates="sometimes")
    with pytest.raises(ValueError):
        quire.Writer(out, dictionary="maybe")
    with pytest.raises(TypeError):
        quire.Writer(out, metadata={"a": 1})
    w = quire.Writer(out)
    with pytest.raises(ValueError):
        w.add("", b"empty key")
    with pytest.raises(ValueError):
        w.add("k", b"x", date="2001-02-30")
    with pytest.raises(ValueError):
        w.add("k", b"x", date="yesterday")
    with pytest.raises(TypeError):
        w.add("k", 12)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        w.add("k", b"x", metadata={"n": 1})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="binary mode"):
        w.add("text-file", io.StringIO("text"))
    w.add("k", b"x")
    with pytest.raises(quire.DuplicateKey) as ei:
        w.add("k", b"y")
    assert (ei.value.key, ei.value.first) == ("k", 0)
    w.finish()
    with pytest.raises(ValueError):
        w.add("late", b"x")
    with pytest.raises(ValueError):
        w.finish()
    with pytest.raises(FileExistsError):
        quire.Writer(out)
    with quire.open(out) as a:
        assert list(a) == ["k"]


class Boom(Exception):
    pass


class FailingFile(io.RawIOBase):
    def __init__(self, good: int) -> None:
        self.left = good

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            raise Boom("disk on fire")
        k = min(n, self.left)
        self.left -= k
        return b"z" * k


@pytest.mark.parametrize("good", [0, 100, 1_000_000])
def test_body_file_exception_propagates_and_leaves_no_file(tmp_path: Path, good: int) -> None:
    out = tmp_path / "f.quire"
    with pytest.raises(Boom):
        with quire.Writer(out, block_size=4096) as w:
            w.add("before", b"fine")
            w.add("failing", FailingFile(good))
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_abort_and_exception_in_with_leave_no_file(tmp_path: Path) -> None:
    out = tmp_path / "a.quire"
    w = quire.Writer(out)
    w.add("k", b"v")
    w.abort()
    assert w.closed and not out.exists()
    with pytest.raises(RuntimeError):
        with quire.Writer(out) as w:
            w.add("k", b"v")
            raise RuntimeError("stop")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


INDEX = 2


def _varint(b: bytes, at: int) -> tuple[int, int]:
    """An unsigned LEB128 varint at ``at`` (spec/FORMAT.md conventions): value, next offset."""
    value = shift = 0
    while True:
        x = b[at]
        at += 1
        value |= (x & 0x7F) << shift
        shift += 7
        if x < 0x80:
            return value, at


def index_pages(data: bytes) -> list[tuple[int, int, int, int, bytes]]:
    """The pages under a root branch (``index_depth`` 1), read from the prelude (spec §2.1,
    §6.3): for each, its absolute offset and length, its first entry, its number of entries
    and its separator."""
    (prelude_len,) = struct.unpack_from("<I", data, 14)
    assert data[20] == 1, "index_depth 1"
    (root_len,) = struct.unpack_from("<I", data, 88)
    root = data[prelude_len - 4 - root_len : prelude_len - 4]
    assert root[0] == 1, "the root is a branch"
    count, at = _varint(root, 1)
    child_offset, at = _varint(root, at)
    pos = sections(data)[INDEX][0] + child_offset
    pages, first = [], 0
    for _ in range(count):
        entries, at = _varint(root, at)
        length, at = _varint(root, at)
        at += 4  # crc
        sep_len, at = _varint(root, at)
        sep = root[at : at + sep_len]
        at += sep_len
        pages.append((pos, length, first, entries, sep))
        pos += length
        first += entries
    return pages


SECTIONS = ("alpha", "beta", "gamma")


@pytest.fixture(scope="module")
def paged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6,000 entries with long keys under three prefixes: several index pages of 16 KiB."""
    rng = random.Random(19)
    path = tmp_path_factory.mktemp("paged") / "paged.quire"
    with quire.Writer(path, level=3, block_size=4096, threads=1) as w:
        for i in range(6000):
            tail = "".join(rng.choice("abcdefghijklmnop") for _ in range(14))
            key = f"{SECTIONS[i * 3 // 6000]}/{i:05d}-{tail}"
            w.add(key, f"body {i} ".encode() * (i % 7), title=f"Title {i}")
    return path


@pytest.mark.parametrize("which", ["first", "second", "middle", "last"])
def test_a_damaged_index_page_costs_prefix_only_its_entries(
    paged: Path, tmp_path: Path, which: str
) -> None:
    data = paged.read_bytes()
    pages = index_pages(data)
    assert len(pages) >= 3, len(pages)
    with quire.open(paged) as a:
        every = a.prefix("")
        assert len(every) == len(a) == sum(p[3] for p in pages)
        lost: list[dict] = []
        assert a.prefix("", lost=lost) == every and lost == []
    p = {"first": 0, "second": 1, "middle": len(pages) // 2, "last": len(pages) - 1}[which]
    off, length, first, count, sep = pages[p]
    bad = tmp_path / "bad.quire"
    bad.write_bytes(flipped(data, off + length // 2))
    # Entries are numbered in key order: the page holds every[first : first + count].
    gone = set(every[first : first + count])
    section = every[first].split("/")[0] + "/"
    with quire.open(bad) as a:
        for prefix in ("", section, every[first + count // 2]):
            lost = [{"already": "there"}]
            keys = a.prefix(prefix, lost=lost)
            assert keys == [k for k in every if k.startswith(prefix) and k not in gone]
            assert len(lost) == 2, lost
            assert lost[0] == {"already": "there"}
            d = lost[1]
            assert (d["first"], d["count"]) == (first, count), d
            assert d["code"] == "damaged_node", d
            assert d["from_key"] == (sep.decode() if p > 0 else None), d
            assert d["to_key"] == (pages[p + 1][4].decode() if p + 1 < len(pages) else None), d
            if d["from_key"] is not None:
                assert every[first - 1] < d["from_key"] <= every[first]
            if d["to_key"] is not None:
                assert every[first + count - 1] < d["to_key"] <= every[first + count]
            assert f"{count} entries lost" in d["message"], d
        # A prefix whose keys the page cannot hold: nothing lost, nothing raised.
        for other in SECTIONS:
            if not section.startswith(other + "/") and not every[first + count - 1].startswith(
                other + "/"
            ):
                lost = []
                want = [k for k in every if k.startswith(other + "/")]
                assert a.prefix(other + "/", lost=lost) == want
                assert lost == []
                assert a.prefix(other + "/") == want
        # Without ``lost``, the walk raises CorruptArchive, naming the lost entries.
        for prefix in ("", section, every[first + count // 2]):
            with pytest.raises(quire.CorruptArchive) as ei:
                a.prefix(prefix)
            assert f"{count} entries lost" in str(ei.value)
            assert ei.value.kind
            assert ei.value.location
