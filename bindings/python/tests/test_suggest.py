"""Title suggestions (spec §14): Archive.suggest against a brute-force reading of §14.1-§14.2
in Python (the spec's own fold(), unicodedata), limits, archives without a title index
(Writer(index="none")), entries without titles, threads and the GIL, and a URL."""

from __future__ import annotations

import random
import threading
import unicodedata
from pathlib import Path
from typing import Iterator, Optional

import pytest

import quire
from servers import Nginx
from test_threads import ticks_during


def fold(s: str) -> str:
    """§14.1's folding, as the spec writes it in Python."""
    s = unicodedata.normalize("NFKD", s).casefold()
    s = "".join(c for c in unicodedata.normalize("NFKD", s) if unicodedata.category(c) != "Mn")
    return unicodedata.normalize("NFC", s)


def cut(s: str, n: int = 4096) -> str:
    """The longest prefix of `s` of at most `n` UTF-8 bytes that is whole characters."""
    return s.encode("utf-8")[:n].decode("utf-8", errors="ignore")


def is_word(c: str) -> bool:
    return unicodedata.category(c)[0] in "LNM"


def is_ideographic(c: str) -> bool:
    o = ord(c)
    return (0x3040 <= o <= 0x30FF or 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF
            or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x3FFFF)


def word_starts(f: str) -> list[int]:
    """Byte offsets of §14.1's word starts of a folded title (offset 0 excluded)."""
    out, pos, prev = [], 0, None
    for c in f:
        if pos > 0 and is_word(c) and (prev is None or not is_word(prev) or is_ideographic(c)):
            out.append(pos)
        pos += len(c.encode("utf-8"))
        prev = c
    return out


def brute(entries: dict[str, Optional[str]], q: str,
          limit: Optional[int] = None) -> list[tuple[str, Optional[str], str]]:
    """§14.2: every matching entry, once, ordered by kind, folded length, folded title, key."""
    Q = fold(q).encode("utf-8")
    found = []
    for key, title in entries.items():
        F = cut(fold(cut(title if title is not None else key))).encode("utf-8")
        if F.startswith(Q):
            kind = 0
        elif any(F[i:].startswith(Q) for i in word_starts(F.decode("utf-8"))):
            kind = 1
        else:
            continue
        found.append((kind, len(F), F, key.encode("utf-8"), key, title))
    found.sort()
    out = [(key, title, "title" if kind == 0 else "word") for kind, _, _, _, key, title in found]
    return out if limit is None else out[:limit]


def as_tuples(found: list[quire.Suggestion]) -> list[tuple[str, Optional[str], str]]:
    return [(s.key, s.title, s.kind) for s in found]


# Characters assigned by Unicode 14.0 whose folding and category did not change since (the
# spec's vectors use the same): Python's unicodedata then folds as quire's Unicode 16.0 does.
WORDS = [
    "Zürich", "ZÜRICH", "ｚｕｒｉｃｈ", "zurich", "Straße", "STRASSE", "ﬁnal", "Final", "new",
    "York", "new-york", "Ἀθῆναι", "ΑΘΗΝΑ", "Москва", "МОСКВА", "ёлка", "北京", "北京大学",
    "東京", "とうきょう", "トウキョウ", "café", "CAFÉ", "Cafe", "2002", "①", "l'été", "Éte",
    "a", "ab", "abc", "the", "The", "of", "São", "Paulo", "naïve", "Ørsted", "Łódź", "lodz",
]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Optional[str]]]:
    """An archive of 1,500 entries with generated titles in many scripts (some without a
    title, some repeated), written by the Python Writer; with its entries."""
    rng = random.Random(22)
    entries: dict[str, Optional[str]] = {}
    for i in range(1500):
        key = f"e/{rng.randrange(10**6):06d}-{i}"
        r = rng.random()
        if r < 0.05:
            title: Optional[str] = None
        elif r < 0.07:
            title = ""
        else:
            seps = [" ", " ", " ", ", ", "-", " (", "/", "　"]
            parts = [rng.choice(WORDS) for _ in range(rng.randint(1, 4))]
            title = parts[0] + "".join(rng.choice(seps) + p for p in parts[1:])
        entries[key] = title
    path = tmp_path_factory.mktemp("suggest") / "gen.quire"
    with quire.Writer(path, threads=1) as w:
        for key, title in entries.items():
            w.add(key, f"body of {key}", title=title)
    return path, entries


QUERIES = ["zurich", "ZÜRICH", "Zür", "z", "Z", "ｚｕ", "strasse", "straß", "fi", "FINAL", "new y",
           "new-y", "york", "αθην", "Ἀθ", "моск", "МОСК", "ёл", "ел", "北", "京", "大学", "とう",
           "トウ", "cafe", "CAFÉ", "caf", "2002", "1", "l'", "ete", "été", "a", "ab", "abc", "the",
           "of", "sao", "naive", "ørsted", "orsted", "łódź", "lodz", "e/0", "xyz-nothing", " ",
           ",", ""]


def test_folding_finds_every_form(generated) -> None:
    path, entries = generated
    with quire.open(path) as a:
        assert a.has_title_index
        found = a.suggest("zurich", limit=None)
        # Case, diacritics and width are all folded away.
        for form in ("Zürich", "ZÜRICH", "ｚｕｒｉｃｈ", "zurich"):
            assert any(form in (s.title or "") for s in found), form
        for s in found:
            assert "zurich" in fold(s.title or s.key)
        assert [s.key for s in a.suggest("ZÜRICH", None)] == [s.key for s in found]
        assert [s.key for s in a.suggest("ｚｕｒｉｃｈ", None)] == [s.key for s in found]
        # ß folds to ss, ﬁ to fi.
        assert a.suggest("strasse", None) == a.suggest("STRAßE", None) != []
        assert all("final" in fold(s.text) for s in a.suggest("final", None))
        assert any("ﬁnal" in (s.title or "") for s in a.suggest("final", None))


def test_every_query_equals_brute_force(generated) -> None:
    """With no limit, exactly §14.2's list in §14.2's order; with a limit, its first n."""
    path, entries = generated
    with quire.open(path) as a:
        nonempty = 0
        for q in QUERIES:
            want = brute(entries, q)
            got = as_tuples(a.suggest(q, limit=None))
            assert got == want, q
            nonempty += bool(want)
            for limit in (0, 1, 3, 10, 11, 200):
                assert as_tuples(a.suggest(q, limit=limit)) == want[:limit], (q, limit)
            assert as_tuples(a.suggest(q)) == want[:10], q
        assert nonempty >= len(QUERIES) - 4


def test_order_title_start_then_shorter(tmp_path: Path) -> None:
    path = tmp_path / "order.quire"
    with quire.Writer(path) as w:
        w.add("long", b"", title="Zürich Airport Terminal")
        w.add("short", b"", title="Zürich")
        w.add("word", b"", title="Flughafen ZÜRICH")
        w.add("word2", b"", title="Am Zürichsee")
        w.add("tie-b", b"", title="zurich")
        w.add("tie-a", b"", title="ZURICH")
        w.add("zurich/key", b"")  # no title: suggested by its key
        w.add("other", b"", title="Geneva")
    with quire.open(path) as a:
        got = a.suggest("zur", limit=None)
        # Title starts first, shorter first; equal folded titles by key; then word starts.
        assert [s.key for s in got] == ["short", "tie-a", "tie-b", "zurich/key", "long",
                                        "word2", "word"]
        assert [s.kind for s in got] == ["title"] * 5 + ["word"] * 2
        s = got[3]
        assert (s.key, s.title, s.kind, s.text) == ("zurich/key", None, "title", "zurich/key")
        assert got[0].text == "Zürich" and got[-1].title == "Flughafen ZÜRICH"
        key, title, kind = got[-1]
        assert (key, title, kind) == ("word", "Flughafen ZÜRICH", "word")
        assert got[0] == a.suggest("ZUR", 1)[0] and hash(got[0]) == hash(a.suggest("zu", 1)[0])
        assert repr(got[0]) == '<quire.Suggestion "short", title "Zürich", kind "title">'
        assert repr(got[3]) == '<quire.Suggestion "zurich/key", title None, kind "title">'
        assert a.suggest("zur", 2) == got[:2]
        assert a.suggest("zur", 0) == []
        assert len(a.suggest("")) == 8  # the empty query matches every entry
        assert a.suggest("zzz") == []
        a[got[0].key]  # a suggestion's key opens its entry
        with pytest.raises(ValueError):
            a.suggest("zur", -1)
        with pytest.raises(TypeError):
            a.suggest(b"zur")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        a.suggest("zur")  # closed


def test_limit_defaults_to_ten(tmp_path: Path) -> None:
    path = tmp_path / "many.quire"
    entries = {f"k{i:03d}": f"Title number {i}" for i in range(50)}
    quire.pack(({"key": k, "title": t, "body": ""} for k, t in entries.items()), path)
    with quire.open(path) as a:
        assert len(a.suggest("title")) == 10
        assert len(a.suggest("number", limit=None)) == 50
        assert as_tuples(a.suggest("number", None)) == brute(entries, "number")
        assert [s.kind for s in a.suggest("number", None)] == ["word"] * 50
        # Shorter titles first: "Title number 0".."9" before the two-digit ones.
        assert {s.key for s in a.suggest("title", 10)} == {f"k{i:03d}" for i in range(10)}


def test_without_title_index(tmp_path: Path) -> None:
    none = tmp_path / "none.quire"
    with quire.Writer(none, index="none") as w:
        w.add("a", b"x", title="Zürich")
    titles = tmp_path / "titles.quire"
    with quire.Writer(titles, index="titles") as w:
        w.add("a", b"x", title="Zürich")
    packed = tmp_path / "packed.quire"
    quire.pack([{"key": "a", "title": "Zürich", "body": "x"}], packed, index="none")
    assert none.stat().st_size < titles.stat().st_size
    for p in (none, packed):
        with quire.open(p) as a:
            assert not a.has_title_index
            assert a["a"] == b"x" and a.entry("a").title == "Zürich"
            with pytest.raises(quire.NoTitleIndex) as e:
                a.suggest("zur")
            assert isinstance(e.value, quire.Error)
            assert "no title index" in str(e.value)
    with quire.open(titles) as a:
        assert a.has_title_index
        assert as_tuples(a.suggest("zur")) == [("a", "Zürich", "title")]
    with pytest.raises(ValueError, match="index must be"):
        quire.Writer(tmp_path / "bad.quire", index="every")  # type: ignore[arg-type]
    assert not (tmp_path / "bad.quire").exists()


def test_damaged_title_index(generated, tmp_path: Path) -> None:
    """A byte flipped in the TITLES section: CorruptArchive from suggest, bodies still read."""
    from conftest import sections

    path, entries = generated
    data = bytearray(path.read_bytes())
    off, length = sections(bytes(data))[4]
    data[off + length // 2] ^= 0x55
    with quire.open(bytes(data)) as a:
        assert a.has_title_index
        with pytest.raises(quire.CorruptArchive) as e:
            for q in QUERIES:
                a.suggest(q, None)
                a.suggest(q, 10)
        assert "title index" in str(e.value), str(e.value)
        assert e.value.location.startswith("title index"), e.value.location
        k = next(iter(entries))
        assert a[k] == f"body of {k}".encode()


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """60,000 entries whose titles all share a word: suggest("common", None) is long."""
    rng = random.Random(7)
    syll = ["ka", "lo", "mi", "ne", "su", "ta", "ri", "vo", "zen", "bar"]
    entries = {}
    for i in range(60_000):
        name = "".join(rng.choice(syll) for _ in range(rng.randint(2, 5)))
        entries[f"w/{i:05d}"] = f"{name.title()} common {i % 97}"
    path = tmp_path_factory.mktemp("large") / "large.quire"
    with quire.Writer(path, level=1) as w:
        for k, t in entries.items():
            w.add(k, b"", title=t)
    return path, entries


def test_threads_and_the_gil(large) -> None:
    path, entries = large
    a = quire.open(path)
    rng = random.Random(5)
    titles = list(entries.values())
    queries = [t[: rng.randint(1, 4)] for t in rng.sample(titles, 40)] + ["common 4", "comm"]
    want = {q: as_tuples(a.suggest(q)) for q in queries}
    assert all(want[q] for q in queries)
    assert want["comm"] == brute(entries, "comm", 10)
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        r = random.Random(seed)
        try:
            for _ in range(300):
                q = r.choice(queries)
                assert as_tuples(a.suggest(q)) == want[q], q
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    # One long search (every entry has a word "common"): another Python thread runs while
    # it does, so the GIL is released during the search.
    found: list[quire.Suggestion] = []
    ran, elapsed = ticks_during(lambda: found.extend(a.suggest("common", None)))
    assert len(found) == len(entries)
    assert ran > 10_000, (ran, elapsed)
    a.close()


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory, large) -> Iterator[Nginx]:
    server = Nginx(tmp_path_factory.mktemp("nginx-suggest"))
    try:
        server.start()
        server.put("large.quire", large[0].read_bytes())
        yield server
    finally:
        server.stop()


def test_over_http(nginx: Nginx, large) -> None:
    """Over a URL: the same answers as the local file, in a few range requests."""
    path, entries = large
    with quire.open(path) as local, quire.open(nginx.url("/large.quire")) as remote:
        assert remote.has_title_index
        nginx.log.set_mark()
        assert remote.suggest("kalo") == local.suggest("kalo") != []
        first = len(nginx.log.since_mark())
        assert 1 <= first <= 3, nginx.log.since_mark()
        for q in ("ne", "zenbar", "common 1", "Su"):
            assert remote.suggest(q) == local.suggest(q), q
