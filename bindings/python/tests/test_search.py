"""Full-text search (spec §15): Archive.search against `quire search --json` on archives packed
by the CLI (`quire pack --index full --language eng`) and by the Python Writer
(index="full"), the snippet's highlights, errors (no index, invalid queries, an unsupported
tokenizer, a damaged index), threads and the GIL, and a URL."""

from __future__ import annotations

import json
import random
import struct
import threading
import zlib
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

import quire
from conftest import SAMPLES, run, sections
from servers import Nginx
from test_threads import ticks_during

SEARCH = 5
"""The SEARCH section's id (spec §15)."""

Hit = tuple[str, Optional[str], int, str]


def cli_search(bin_: Path, archive: Any, query: str, limit: int = 10) -> list[Hit]:
    """`quire search ARCHIVE QUERY --limit N --json`: (key, title, score, snippet as HTML)."""
    out = run(bin_, "search", archive, "--limit", limit, "--json", "--", query).stdout
    rows = [json.loads(line) for line in out.decode("utf-8").splitlines() if line.strip()]
    return [(r["key"], r["title"], r["score"], r["snippet"]) for r in rows]


def as_hits(found: list[quire.SearchResult]) -> list[Hit]:
    return [(r.key, r.title, r.score, r.html()) for r in found]


def marked_by_hand(r: quire.SearchResult, open_: str, close: str) -> str:
    """The snippet with marks put in by the highlights' character offsets."""
    out, at = [], 0
    for s, e in r.highlights:
        out += [r.snippet[at:s], open_, r.snippet[s:e], close]
        at = e
    out.append(r.snippet[at:])
    return "".join(out)


@pytest.fixture(scope="module")
def samples(quire_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """samples/ packed by the CLI with a full-text index in English."""
    path = tmp_path_factory.mktemp("search") / "samples.quire"
    run(quire_bin, "pack", SAMPLES / "articles", SAMPLES / "articles.jsonl", "--index", "full",
        "--language", "eng", "-o", path)
    return path


# Words of several scripts and with diacritics, so that snippets hold multi-byte characters
# (the highlights are character offsets, the library's marks byte offsets).
VOCAB = ("river bridge council library school storm harbour market festival railway museum "
         "garden winter summer election hospital running runs runner swimming café Zürich "
         "naïve résumé Ørsted Straße Москва река 北京 大学 <tag> & \"quoted\" it's").split()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """1,200 entries of generated text (plain text and HTML, some without a title, some
    binary), written by the Python Writer with index="full"; with the texts."""
    rng = random.Random(23)
    texts: dict[str, str] = {}
    path = tmp_path_factory.mktemp("search") / "gen.quire"
    with quire.Writer(path, index="full", metadata={"language": "eng"}, threads=1) as w:
        for i in range(1200):
            key = f"doc/{i:05d}"
            n = rng.choice([3, 12, 40, 200, 1500])
            text = " ".join(rng.choice(VOCAB) for _ in range(n))
            texts[key] = text
            title: Optional[str] = " ".join(rng.choice(VOCAB) for _ in range(rng.randint(1, 4)))
            if i % 9 == 0:
                title = None
            if i % 7 == 0:
                esc = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                body = (f"<html><head><title>Page {i}</title><script>var hidden = 'zebra';"
                        f"</script></head><body><p>{esc}</p></body></html>")
                w.add(key, body, title=title, content_type="text/html")
            elif i % 50 == 1:
                w.add(key, b"\x00\x01 zebra " + text.encode(), title=title,
                      content_type="application/octet-stream")
            else:
                w.add(key, text, title=title)
    return path, texts


SAMPLE_QUERIES = [
    "library", "council", "library extension", "parade", "high street", '"high street"',
    '"street high"', "school", "schools closed", "storm", "running", "run", "the", "a",
    "volunteers money", "rowing club", "bakery", "embassy", "China", "nothing-like-this",
    "zzzz", "", "  ", "!!!", "Library COUNCIL", "librarys", '"the town"', "town",
]


def test_samples_equal_the_cli(quire_bin: Path, samples: Path) -> None:
    """Every query, with several limits: exactly the CLI's keys, titles, scores, snippets."""
    with quire.open(samples) as a:
        assert a.has_search_index and a.has_title_index
        assert a.search_tokenizer is not None and "lang=eng" in a.search_tokenizer
        nonempty = 0
        for q in SAMPLE_QUERIES:
            for limit in (10, 1, 3, 100):
                want = cli_search(quire_bin, samples, q, limit)
                got = a.search(q, limit=limit)
                assert as_hits(got) == want, (q, limit)
                nonempty += bool(want)
            assert as_hits(a.search(q)) == cli_search(quire_bin, samples, q), q
        assert nonempty >= 60, nonempty
        # Stemming in English: "running" and "run" find the same entries.
        assert {r.key for r in a.search("running", 100)} == {r.key for r in a.search("run", 100)}
        assert a.search("running", 100) != []


def test_generated_equal_the_cli(quire_bin: Path, generated) -> None:
    """An archive the Python Writer made (index="full"): the CLI and Archive.search agree."""
    path, texts = generated
    rng = random.Random(4)
    words = [w for w in VOCAB if w.isalnum()]
    queries = [rng.choice(words) for _ in range(8)]
    queries += [" ".join(rng.sample(words, 2)) for _ in range(8)]
    queries += ['"' + " ".join(rng.sample(words, 2)) + '"' for _ in range(4)]
    queries += ["café", "CAFE", "zurich", "Москва", "北京", "大学", "tag", "quoted", "its"]
    with quire.open(path) as a:
        assert a.has_search_index
        nonempty = 0
        for i, q in enumerate(queries):
            limit = (20, 3, 50)[i % 3]
            want = cli_search(quire_bin, path, q, limit)
            assert as_hits(a.search(q, limit)) == want, (q, limit)
            nonempty += bool(want)
        assert nonempty >= len(queries) - 3, nonempty


def test_highlights_and_snippets(generated) -> None:
    """highlights are character offsets of the marked words; marked() and html() put the
    marks where they say, also around multi-byte characters."""
    path, texts = generated
    with quire.open(path) as a:
        seen_multibyte = 0
        for q in ("café", "zurich river", "Москва", "北京 大学", "naïve", "Ørsted", "tag"):
            found = a.search(q, 30)
            assert found, q
            for r in found:
                assert r.highlights, (q, r)
                assert all(0 <= s < e <= len(r.snippet) for s, e in r.highlights)
                assert all(e1 <= s2 for (_, e1), (s2, _) in zip(r.highlights, r.highlights[1:]))
                assert r.marked("[", "]") == marked_by_hand(r, "[", "]")
                assert r.marked("<b>", "</b>", escape=True) == r.html()
                assert "<b>" not in r.marked("[", "]")
                seen_multibyte += any(ord(c) > 127 for c in r.snippet[: r.highlights[-1][0]])
                # The snippet is cut from the entry's text (plain-text entries).
                if r.key in texts and r.index % 7 != 0:
                    inner = r.snippet.strip("…").strip()
                    assert inner in texts[r.key].replace("\n", " "), (r.key, inner)
        assert seen_multibyte > 10, seen_multibyte


def test_results_and_ranking(tmp_path: Path) -> None:
    path = tmp_path / "small.quire"
    with quire.Writer(path, index="full", metadata={"language": "eng"}) as w:
        w.add("a", b"Cats are running in the garden.", title="Cats")
        w.add("b", b"A dog runs.", title="Dogs")
        w.add("c", "<html><head><title>Tom &amp; Jerry</title><style>p {color: red}</style>"
               "</head><body><p>Tom <i>chases</i> Jerry &lt;again&gt;.</p>"
               "<script>var secret = 1;</script></body></html>", content_type="text/html")
        w.add("d", b"run run run secret", content_type="application/octet-stream")
        w.add("e", b"nothing here")
    with quire.open(path) as a:
        assert a.has_search_index
        assert a.search_tokenizer == "quire-text/1 lang=eng stem=snowball-english cjk=bigram" \
            or a.search_tokenizer.startswith("quire-text/"), a.search_tokenizer
        # Stemmed: "run" finds "running" and "runs"; binary types are not indexed.
        assert sorted(r.key for r in a.search("run")) == ["a", "b"]
        hits = a.search("running cats")
        assert [r.key for r in hits] == ["a"]
        r = hits[0]
        assert (r.key, r.index, r.title) == ("a", 0, "Cats")
        assert r.snippet == "Cats are running in the garden."
        assert r.highlights == [(0, 4), (9, 16)]
        assert r.html() == "<b>Cats</b> are <b>running</b> in the garden."
        assert r.marked("[", "]") == "[Cats] are [running] in the garden."
        assert isinstance(r.score, int) and r.score > 0
        assert r.bm25 == pytest.approx(r.score * 0.6931471805599453 / 2**32)
        assert repr(r) == f'<quire.SearchResult "a", title "Cats", score {r.score}>'
        assert r == a.search("cats running")[0] and hash(r) == hash(a.search("cats running")[0])
        assert a[r.key] == b"Cats are running in the garden." and a.entry_at(r.index).key == "a"
        # Conjunctive: every word must be there.
        assert a.search("cats dog") == []
        # Phrases: word for word, in order.
        assert [r.key for r in a.search('"in the garden"')] == ["a"]
        assert a.search('"garden the in"') == []
        # HTML: text without tags, scripts or styles; the page's <title> as title.
        (c,) = a.search("jerry")
        assert c.key == "c" and c.title == "Tom & Jerry", c
        assert "<i>" not in c.snippet and "&lt;" not in c.snippet and "<again>" in c.snippet
        assert "&lt;again&gt;" in c.html()
        assert a.search("secret") == [] and a.search("color") == []
        # Limits: 0 gives none; a query without a word gives none.
        assert a.search("run", 0) == [] and len(a.search("run", 1)) == 1
        assert a.search("") == [] and a.search("  ,.; ") == []
        assert a.search("run", 10**12) == a.search("run")
        # The postings of analysed terms: (entry number, tf) in entry order.
        assert a.search_postings("run") == [(0, 1), (1, 1)]
        assert a.search_postings("running") is None
        assert a.search_postings("zebra") is None


def test_limit_and_order(tmp_path: Path) -> None:
    """More matches than the limit: the best `limit`, in BM25 order, ties by key; a larger
    limit extends a smaller one's list."""
    path = tmp_path / "many.quire"
    rng = random.Random(9)
    with quire.Writer(path, index="full", metadata={"language": "eng"}) as w:
        for i in range(300):
            w.add(f"k{i:03d}", " ".join(["apple"] * rng.randint(1, 5) +
                                        ["filler"] * rng.randint(0, 40)))
    with quire.open(path) as a:
        every = a.search("apple", 1000)
        assert len(every) == 300
        assert all((x.score, y.key) >= (y.score, x.key) or x.score > y.score
                   for x, y in zip(every, every[1:]))
        assert [(x.score, x.key) for x in every] == sorted(
            ((x.score, x.key) for x in every), key=lambda t: (-t[0], t[1]))
        for limit in (1, 10, 299):
            assert a.search("apple", limit) == every[:limit]
        assert len(a.search("apple")) == 10


def test_errors(generated, tmp_path: Path) -> None:
    path, _ = generated
    with quire.open(path) as a:
        with pytest.raises(ValueError, match="limit"):
            a.search("river", -1)
        with pytest.raises(TypeError):
            a.search(b"river")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            a.search("river", "10")  # type: ignore[arg-type]
        # Over spec §15.2's limits: an error of the query (ValueError), not of the archive.
        with pytest.raises(ValueError, match="invalid query: .*4096 bytes") as e:
            a.search("river " * 700)
        assert not isinstance(e.value, quire.Error)
        with pytest.raises(ValueError, match="64 distinct terms"):
            a.search(" ".join(f"w{i}" for i in range(65)))
        assert a.search(" ".join(f"w{i}" for i in range(64))) == []
        assert a.search("river " * 600)  # long, but under both limits
    with pytest.raises(ValueError, match="closed"):
        a.search("river")
    with pytest.raises(ValueError, match="closed"):
        a.has_search_index


def test_without_search_index(quire_bin: Path, tmp_path: Path) -> None:
    """Archives packed without a full-text index (the default, titles only, or none) raise
    NoSearchIndex, as `quire search` exits 5; everything else still reads."""
    titles = tmp_path / "titles.quire"
    with quire.Writer(titles) as w:
        w.add("a", b"river bridge", title="River")
    none = tmp_path / "none.quire"
    quire.pack([{"key": "a", "title": "River", "body": "river bridge"}], none, index="none")
    cli = tmp_path / "cli.quire"
    run(quire_bin, "pack", SAMPLES / "articles", "-o", cli)
    for p in (titles, none, cli):
        with quire.open(p) as a:
            assert not a.has_search_index
            assert a.search_tokenizer is None
            with pytest.raises(quire.NoSearchIndex) as e:
                a.search("river")
            assert isinstance(e.value, quire.Error)
            assert "no full-text index" in str(e.value)
            with pytest.raises(quire.NoSearchIndex):
                a.search_postings("river")
            assert len(a) >= 1
        assert run(quire_bin, "search", p, "river", check=False).returncode == 5
    with quire.open(titles) as a:
        assert a.has_title_index and a.suggest("riv")[0].key == "a"


def test_unsupported_tokenizer(tmp_path: Path) -> None:
    """An index whose tokenizer string this reader does not implement: text queries raise
    UnsupportedTokenizer (with the string); term lookups and bodies still work.

    The tokenizer string is changed in place in a small archive whose root is stored
    uncompressed (§15.3), with the root's and the header's CRCs made right again."""
    path = tmp_path / "tok.quire"
    with quire.Writer(path, index="full", metadata={"language": "eng"}) as w:
        w.add("a", b"rivers and bridges")
    data = bytearray(path.read_bytes())
    base, length = sections(bytes(data))[SEARCH]
    root_len, root_raw_len, _ = struct.unpack_from("<III", data, base + 40)
    assert root_len == root_raw_len, "the small archive's root should be stored as it is"
    root = base + 64
    at = data.index(b"quire-text/1", root, root + root_len)
    data[at:at + 12] = b"quire-text/9"
    struct.pack_into("<I", data, base + 48, zlib.crc32(data[root:root + root_len]))
    crcs = section_crcs(bytes(data))
    head = bytes(data[base + 4:base + 64]) + struct.pack("<II", crcs[2], crcs[3])
    struct.pack_into("<I", data, base, zlib.crc32(head))
    with quire.open(bytes(data)) as a:
        assert a.has_search_index
        assert a.search_tokenizer is not None and a.search_tokenizer.startswith("quire-text/9")
        with pytest.raises(quire.UnsupportedTokenizer) as e:
            a.search("rivers")
        assert isinstance(e.value, quire.Error)
        assert e.value.tokenizer == a.search_tokenizer
        assert a.search_postings("river") == [(0, 1)]
        assert a["a"] == b"rivers and bridges"


def section_crcs(data: bytes) -> dict[int, int]:
    """Section id -> the CRC the section table gives it (spec/FORMAT.md §2.2)."""
    (count,) = struct.unpack_from("<H", data, 18)
    return {struct.unpack_from("<I", data, 96 + 32 * i)[0]:
            struct.unpack_from("<I", data, 96 + 32 * i + 24)[0] for i in range(count)}


def test_damaged_search_index(generated) -> None:
    """Bytes flipped in the SEARCH section: CorruptArchive from search (never a crash or a
    wrong answer), bodies and suggestions still read."""
    path, texts = generated
    clean = path.read_bytes()
    base, length = sections(clean)[SEARCH]
    queries = ["river", "café bridge", '"river bridge"', "Москва", "museum"]
    with quire.open(path) as a:
        want = {q: a.search(q, 20) for q in queries}
    rng = random.Random(1)
    corrupt = 0
    for at in [base + 10, base + 48, base + 70] + [base + rng.randrange(length)
                                                    for _ in range(20)]:
        data = bytearray(clean)
        data[at] ^= 0x55
        with quire.open(bytes(data)) as a:
            for q in queries:
                try:
                    got = a.search(q, 20)
                except quire.CorruptArchive as e:
                    corrupt += 1
                    assert e.location.startswith("full-text index"), e.location
                    continue
                # A part the query did not read: the answer is still right.
                assert got == want[q], (at, q)
            k = next(iter(texts))
            assert a.entry(k).key == k
    assert corrupt >= 15, corrupt


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20,000 short entries that all hold the word "common": search("common", 10000) ranks
    them all and cuts 10,000 snippets."""
    rng = random.Random(8)
    path = tmp_path_factory.mktemp("search-large") / "large.quire"
    with quire.Writer(path, index="full", metadata={"language": "eng"}, level=1) as w:
        for i in range(20_000):
            words = [rng.choice(VOCAB) for _ in range(rng.randint(5, 30))] + ["common"]
            rng.shuffle(words)
            w.add(f"w/{i:05d}", " ".join(words), title=f"Entry {i}")
    return path


def test_threads_and_the_gil(large: Path) -> None:
    a = quire.open(large)
    queries = ["river", "common", "café bridge", '"river bridge"', "museum winter", "Zürich"]
    want = {q: a.search(q) for q in queries}
    assert all(want[q] for q in queries)
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        r = random.Random(seed)
        try:
            for _ in range(60):
                q = r.choice(queries)
                assert a.search(q) == want[q], q
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    # One long search: another Python thread runs while it does, so the GIL is released.
    found: list[quire.SearchResult] = []
    ran, elapsed = ticks_during(lambda: found.extend(a.search("common", 10_000)))
    assert len(found) == 10_000
    assert ran > 10_000, (ran, elapsed)
    a.close()


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory, samples: Path) -> Iterator[Nginx]:
    server = Nginx(tmp_path_factory.mktemp("nginx-search"))
    try:
        server.start()
        server.put("samples.quire", samples.read_bytes())
        yield server
    finally:
        server.stop()


def test_over_http(nginx: Nginx, samples: Path) -> None:
    """Over a URL: the same results as the local file."""
    with quire.open(samples) as local, quire.open(nginx.url("/samples.quire")) as remote:
        assert remote.has_search_index
        assert remote.search_tokenizer == local.search_tokenizer
        for q in ("library", "high street", '"high street"', "running", "zzzz"):
            assert remote.search(q) == local.search(q), q
