"""Fixtures: the Rust CLI (built with cargo unless QUIRE_BIN names it), archives it packed
from samples/, their `quire unpack --jsonl` dumps, and a helper to read a quire header."""

from __future__ import annotations

import json
import os
import random
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO / "samples"


@pytest.fixture(scope="session")
def quire_bin() -> Path:
    """The `quire` command-line tool: $QUIRE_BIN, else built by `cargo build -p quire-cli`."""
    env = os.environ.get("QUIRE_BIN")
    if env:
        return Path(env)
    cargo = shutil.which("cargo")
    if cargo is None:
        pytest.fail("set QUIRE_BIN to the quire CLI, or install cargo to build it")
    out = subprocess.run(
        [cargo, "build", "-p", "quire-cli", "--bin", "quire", "--message-format=json"],
        cwd=REPO,
        check=True,
        stdout=subprocess.PIPE,
    ).stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("executable"):
            if msg["target"]["name"] == "quire":
                return Path(msg["executable"])
    pytest.fail("cargo built no quire executable")


def run(bin_: Path, *args: Any, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """Runs the CLI; output is captured."""
    return subprocess.run(
        [str(bin_), *map(str, args)], check=check, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def unpack_jsonl(bin_: Path, archive: Path) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """`quire unpack ARCHIVE --jsonl -`: the archive metadata and the records."""
    out = run(bin_, "unpack", archive, "--jsonl", "-").stdout.decode("utf-8")
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert "archive" in lines[0], lines[0]
    return lines[0]["archive"], lines[1:]


@pytest.fixture(scope="session")
def cli_archive(quire_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """samples/articles and samples/articles.jsonl packed by the CLI."""
    path = tmp_path_factory.mktemp("cli") / "samples.quire"
    run(quire_bin, "pack", SAMPLES / "articles", SAMPLES / "articles.jsonl", "-o", path)
    return path


@pytest.fixture(scope="session")
def cli_dump(quire_bin: Path, cli_archive: Path) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """`quire unpack --jsonl` of cli_archive."""
    return unpack_jsonl(quire_bin, cli_archive)


@pytest.fixture(scope="session")
def multiblock(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    """An archive with small blocks, bodies over many blocks, titles and metadata,
    written by the Python Writer; with the bodies it holds."""
    import quire

    rng = random.Random(12)
    words = [bytes(rng.choice(b"abcdefghij") for _ in range(rng.randint(2, 9))) for _ in range(500)]
    bodies: dict[str, bytes] = {}
    for i in range(300):
        n = rng.choice([0, 10, 200, 3000, 20000])
        bodies[f"doc/{i:04d}"] = b" ".join(rng.choice(words) for _ in range(n // 6 + 1))[:n]
    bodies["big/text"] = b" ".join(rng.choice(words) for _ in range(60000))
    bodies["big/random"] = rng.randbytes(300_000)
    path = tmp_path_factory.mktemp("mb") / "multiblock.quire"
    with quire.Writer(path, level=3, block_size=4096, threads=2) as w:
        for i, (k, b) in enumerate(bodies.items()):
            w.add(k, b, title=f"Title {i}", metadata={"n": str(i)})
    return path, bodies


def sections(data: bytes) -> dict[int, tuple[int, int]]:
    """Section id -> (offset, length), from a quire prelude (spec/FORMAT.md §2.2)."""
    (count,) = struct.unpack_from("<H", data, 18)
    out = {}
    for i in range(count):
        sid, _, off, length = struct.unpack_from("<IIQQ", data, 96 + 32 * i)
        out[sid] = (off, length)
    return out


DATA = 3
