"""The streaming body reader: an io.RawIOBase over a body of many blocks."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import quire


@pytest.mark.parametrize("chunk", [1, 7, 1000, 4096, 65536])
def test_read_in_chunks(multiblock, chunk: int) -> None:
    path, bodies = multiblock
    body = bodies["big/random"]
    with quire.open(path) as a:
        with a.open_body("big/random") as f:
            assert isinstance(f, io.RawIOBase)
            assert f.readable() and not f.writable() and not f.seekable()
            assert (f.size, f.remaining, f.key) == (len(body), len(body), "big/random")
            got = bytearray()
            while True:
                piece = f.read(chunk) if chunk != 1 else f.read(1)
                if not piece:
                    break
                assert len(piece) <= chunk
                got += piece
                assert f.remaining == len(body) - len(got)
            assert bytes(got) == body
            assert f.read() == b""
        assert f.closed
        with pytest.raises(ValueError):
            f.read()


def test_readinto_buffered_text_and_copy(multiblock) -> None:
    path, bodies = multiblock
    body = bodies["big/text"]
    with quire.open(path) as a:
        f = a.open_body("big/text")
        buf = bytearray(10_000)
        n = f.readinto(buf)
        assert n == 10_000 and bytes(buf) == body[:10_000]
        mv = memoryview(bytearray(5000))
        assert f.readinto(mv) == 5000 and bytes(mv) == body[10_000:15_000]
        assert f.read() == body[15_000:]
        assert f.readinto(buf) == 0
        f.close()

        assert io.BufferedReader(a.open_body("big/text"), 8192).read() == body
        text = io.TextIOWrapper(io.BufferedReader(a.open_body("big/text")), "ascii")
        assert text.readline() == body.decode().split("\n")[0] + ("\n" if b"\n" in body else "")
        out = io.BytesIO()
        shutil.copyfileobj(a.open_body("big/text"), out)
        assert out.getvalue() == body
        assert a.entry("big/text").open_body().readall() == body
        assert a.open_body("doc/0000").read() == bodies["doc/0000"]


def test_a_huge_body_streams_in_bounded_memory(tmp_path: Path) -> None:
    """A 128 MiB body written from a file object and read back through open_body: the
    process's peak RSS grows by far less than the body (one block at a time)."""
    script = textwrap.dedent(
        """
        import io, resource, sys, quire
        path = sys.argv[1]
        class Gen(io.RawIOBase):
            def __init__(self, n): self.left = n
            def readable(self): return True
            def read(self, n=-1):
                k = min(n, self.left); self.left -= k
                return bytes(range(256)) * (k // 256) + bytes(k % 256)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        size = 128 << 20
        with quire.Writer(path, level=1, block_size=64 << 10, dictionary="off", threads=2) as w:
            w.add("huge", Gen(size))
        total = 0
        with quire.open(path) as a, a.open_body("huge") as f:
            while True:
                b = f.read(1 << 16)
                if not b:
                    break
                total += len(b)
        assert total == size, total
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print((after - before) // 1024)
        """
    )
    if sys.platform != "linux":
        pytest.skip("ru_maxrss in KiB is Linux's")
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "huge.quire")],
        check=True,
        stdout=subprocess.PIPE,
    )
    grew_mib = int(out.stdout.decode().strip())
    assert grew_mib < 48, f"peak RSS grew by {grew_mib} MiB for a 128 MiB body"
