#!/usr/bin/env python3
"""Issue 23: full-text search, libzim's Searcher now and quire's `quire search` as soon as it
exists, one corpus, same run, same queries. Run by benches/search.sh (which builds the CLI):

    python3 benches/search.py --corpus NAME --source PATH --quire QUIRE --work DIR \
        --lang LANG --queries FILE.json --out FILE.md [--json-out FILE.json] [--redraw]

PATH is a quire JSONL file or a directory. Per corpus:

1. The entries. A JSONL file is read as it is (benches/zim/zim.py's load_records: key,
   title, content type, text/plain when absent, body). A directory is packed with `quire pack
   --index none` and read back with `quire unpack --jsonl`, so each entry has quire's key,
   content type and body. A directory's files have no title in quire; an HTML page's title is
   the text of its <title> element (whitespace collapsed, character references decoded), and
   the ZIM items get it as their title, as zimwriterfs gives it. Other files have no title.
2. Two ZIMs with python-libzim from the same entries (benches/zim/zim.py's Article, 2 MiB
   clusters, zstd):
     - A: `config_indexing(True, LANG)`: libzim's full-text and title indexes, FRONT_ARTICLE
       on every entry of a JSONL corpus and on the HTML pages of a directory (as zimwriterfs
       gives it). libzim indexes text/html items by itself (its own HTML parser); every other
       text item (content type text/*, or application/json, application/xml,
       application/javascript) gets an IndexData (TextIndexData below) with its title, its
       body as UTF-8 text (both lower-cased and without accents, as libzim's own
       DefaultIndexData gives them for HTML and its Search folds the query), no keywords,
       its word count and no geo position -- otherwise
       libzim would not index it and the comparison would be against an empty index. Binary
       items are not indexed.
     - B: `config_indexing(False, LANG)`, no FRONT_ARTICLE hints: no index at all.
   libzim's index bytes = size(A) - size(B); the X/ entries of A give the split
   (X/fulltext/xapian, X/title/xapian, X/listing/titleOrdered/v1).
3. Query sets, random.Random(23), written to FILE.json (benches/results/search-NAME-
   queries.json) and read from it on later runs, so that quire is measured on exactly the
   same ones (`--redraw` draws them again; they are drawn again, with a warning, when a
   query's source key is no longer in the corpus):
     - "title": 200 distinct entries whose title has a letter or a digit (zh has titles
       such as "＊＊＊＊＊", docs "};", which no word search finds), drawn at random; the
       query is the title as it is.
     - "words": 200 distinct two-word queries. An article is drawn at random (the HTML pages
       of a corpus that has any, else every text entry); its text is taken as a reader sees
       it (for HTML: the text of <body>, without <head>, <script>, <style>, <noscript>,
       <template>, <svg>; a block element's tag breaks the text, inline elements such as
       <a>, <b>, <code>, <span> do not; character references decoded); a pair of adjacent
       words is drawn from it. English: the text is split at whitespace (within a block);
       two neighbouring pieces make a pair when, once punctuation opening the first and
       closing the second is stripped, each is a run of Unicode letters and digits
       ([^\\W_]+: "(SQLite uses" and "WAL mode," give pairs; "money. The", "shouldn't",
       "importlib.metadata" do not), both are at least 2 characters and have a letter,
       together at least 6 characters, and not both English stop words (STOP_WORDS).
       Chinese (LANG zho): two neighbouring words of jieba's segmentation (jieba 0.42.1,
       needed only to draw), each of 2 or more CJK ideographs. The query is the pair as it
       appears, case kept, joined by one space. An article without a kept pair is passed
       over; a query drawn twice is drawn again.
4. libzim, warm, local: one Archive and one `libzim.search.Searcher(archive)`; per query
   `searcher.search(Query().set_query(q))` and the paths of `getResults(0, 10)` listed. One
   untimed pass (the results kept), then 5 timed passes; p50, p99, mean per query set. Times
   include python-libzim's call overhead (a few µs). Title hit: the query's entry, or an
   entry with exactly the same title, is among the 10 paths. The top-10 path lists are
   saved in the JSON result ("libzim_top10", in query order) for the overlap metric.
5. quire, when `QUIRE search --help` succeeds (else "quire search: not built yet"): packs
   with `--index full --language LANG` (into --www when nginx serves it) and `--index none`;
   sizes from `quire info --json` (search_index_bytes: the full-text index alone);
   benches/search.rs (--bench) `local`: through the Rust API, the archive memory-mapped,
   one warm-up pass and 5 timed passes of `Archive::search_keys(q, 10)` (keys and titles,
   no body read: what libzim's paths are) and of `Archive::search(q, 10)` (with snippets),
   p50, p99; every query's top-10 keys, from which the title hit rate and the top-10
   overlap with libzim (shared / min(10, libzim's count), averaged over the queries where
   libzim finds any); and the rare words (the distinct words of the two-word queries that
   alone find 1 to 128 entries, at most 50). When the Python binding has
   `Archive.search`, it is timed through it too.
6. Over nginx (--url-base, --www, --log): benches/search.rs `remote`: per query a fresh open
   and one `search(q, 10)` with titles and snippets; round trips (requests in parallel count
   once), requests and bytes after the open, for the 400 queries and the rare words (and
   the rare words again with `search_keys`).
7. Pack cost: `quire pack --index full --language LANG` against `--index titles` (the
   default), SEARCH_PACK_ROUNDS (default 3) runs of each interleaved, wall time and peak
   RSS (`/usr/bin/time -f '%e %M'`), medians. `--pack-only` does only this (synth-1m).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
import unicodedata
from html.parser import HTMLParser

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "zim"))
import zim  # noqa: E402  (benches/zim/zim.py: Article, load_records, special_entries)

import libzim  # noqa: E402
from libzim.reader import Archive  # noqa: E402
from libzim.search import Query, Searcher  # noqa: E402
from libzim.writer import Compression, Creator, IndexData  # noqa: E402

ROUNDS = 5
SEED = 23
N_QUERIES = 200

# ---- quire -----------------------------------------------------------------------------------
# The archive with both of quire's indexes (titles and full text), the default (titles
# only, the pack-cost baseline) and the one with none. `--language` is added per corpus.
QUIRE_PACK_FULL = ["--index", "full"]
QUIRE_PACK_TITLES = ["--index", "titles"]
QUIRE_PACK_NONE = ["--index", "none"]
# Pack runs per kind for the pack-cost figures (full and titles interleaved; the fastest
# run of each for time, medians for peak RSS).
PACK_ROUNDS = int(os.environ.get("SEARCH_PACK_ROUNDS", "3"))
# Both kinds of pack at the same thread count: the default follows the cores idle at the
# start, so on a shared machine one run got 2 workers (and twice the buffers) and the next 1.
PACK_THREADS = os.environ.get("SEARCH_PACK_THREADS", "2")


def quire_fulltext_bytes(info_full: dict, info_none: dict) -> tuple[int, str]:
    """The bytes of quire's full-text index alone, and where they came from: `quire info
    --json`'s search_index_bytes (else the SEARCH section's length)."""
    if isinstance(info_full.get("search_index_bytes"), int):
        return info_full["search_index_bytes"], "info key search_index_bytes"
    n = sum(s["length"] for s in info_full.get("sections", []) if s["name"] == "SEARCH")
    return n, "the SEARCH section's length"


def timed_pack(quire: str, flags: list[str], out: str, source: str) -> dict:
    """`/usr/bin/time -f '%e %M %U %S' quire pack -q --force --threads N FLAGS -o OUT
    SOURCE`: wall seconds, peak RSS (KiB) and CPU seconds (user + system) of one pack (the
    JSON front end included, as users run it)."""
    tf = out + ".time"
    subprocess.run(["/usr/bin/time", "-o", tf, "-f", "%e %M %U %S", quire, "pack", "-q",
                    "--force", "--threads", PACK_THREADS, *flags, "-o", out, source],
                   check=True, capture_output=True,
                   env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000"})
    with open(tf) as f:
        e, m, u, sy = f.read().split()[-4:]
    os.remove(tf)
    return {"seconds": float(e), "rss_kib": int(m), "cpu_seconds": round(float(u) + float(sy), 2)}


def pack_costs(quire: str, source: str, work: str, lang: str, rounds: int) -> dict:
    """Pack time and peak RSS of `--index full --language LANG` against `--index titles`
    (the default) on the same binary, `rounds` runs each, interleaved (see pack_summary)."""
    runs = {"full": [], "titles": []}
    for _ in range(rounds):
        for kind, flags in (("titles", QUIRE_PACK_TITLES),
                            ("full", QUIRE_PACK_FULL + ["--language", lang])):
            out = os.path.join(work, f"pack-{kind}.quire")
            runs[kind].append(timed_pack(quire, flags, out, source))
            os.remove(out)
    return {"rounds": rounds, "threads": PACK_THREADS, "runs": runs, **pack_summary(runs)}


def pack_summary(runs: dict) -> dict:
    """Medians of the pack runs, and the ratios: wall time and CPU seconds from the medians
    (both kinds at the same thread count, interleaved), peak RSS from the medians."""
    def cpu(r):
        return r.get("cpu_seconds", r["seconds"])
    med = {k: {"seconds": round(statistics.median(r["seconds"] for r in v), 2),
               "min_seconds": min(r["seconds"] for r in v),
               "cpu_seconds": round(statistics.median(cpu(r) for r in v), 2),
               "rss_kib": statistics.median(r["rss_kib"] for r in v)} for k, v in runs.items()}
    return {"median": med,
            "ratio": {"seconds": round(med["full"]["seconds"] / med["titles"]["seconds"], 3),
                      "cpu": round(med["full"]["cpu_seconds"] / med["titles"]["cpu_seconds"], 3),
                      "rss": round(med["full"]["rss_kib"] / med["titles"]["rss_kib"], 3)}}


# ---- text as a reader sees it ----------------------------------------------------------------
STOP_WORDS = set("""a about above after again against all am an and any are as at be because
been before being below between both but by can could did do does doing down during each few
for from further had has have having he her here hers herself him himself his how i if in into
is it its itself just me more most my myself no nor not now of off on once only or other our
ours ourselves out over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were
what when where which while who whom why will with would you your yours yourself yourselves
also may might must shall us one two new like get got""".split())
WORD = re.compile(r"[^\W_]+")
BREAK = "\x00"  # a block boundary in extracted HTML text: words across it are not adjacent
INLINE = {"a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "font", "i",
          "kbd", "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time",
          "tt", "u", "var", "wbr"}
SKIP = {"head", "script", "style", "noscript", "template", "svg", "title"}


class HtmlText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out, self.title, self.skip, self.in_title = [], [], 0, False

    def handle_starttag(self, tag, attrs):
        if tag == "body":
            self.skip = 0  # a <head> left open ends here
        if tag == "title":
            self.in_title = True
        if tag in SKIP:
            self.skip += 1
        elif tag not in INLINE:
            self.out.append(BREAK)

    def handle_startendtag(self, tag, attrs):
        if tag not in INLINE:
            self.out.append(BREAK)

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False
        if tag in SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag not in INLINE:
            self.out.append(BREAK)

    def handle_data(self, data):
        if self.in_title:
            self.title.append(data)
        if not self.skip:
            self.out.append(data)


def html_text(body: bytes) -> tuple[str, str]:
    """(title, visible text with BREAK between blocks) of an HTML page."""
    p = HtmlText()
    try:
        p.feed(body.decode("utf-8", "replace"))
        p.close()
    except Exception:  # noqa: BLE001  (html.parser is lenient; keep what it read)
        pass
    return " ".join("".join(p.title).split()), "".join(p.out)


def base_type(mime: str) -> str:
    return mime.split(";")[0].strip().lower()


def is_html(mime: str) -> bool:
    return base_type(mime) in ("text/html", "application/xhtml+xml")


def is_text(mime: str) -> bool:
    b = base_type(mime)
    return b.startswith("text/") or b in ("application/json", "application/xml",
                                          "application/javascript")


def is_cjk(c: str) -> bool:
    o = ord(c)
    return (0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF
            or 0x20000 <= o <= 0x3FFFF)


PUNCT_LEAD = "([{\"'“‘«¿¡"
PUNCT_TRAIL = ")]}\"'”’».,;:!?"


def word_pairs(text: str) -> list[str]:
    """Kept pairs of adjacent words (the rule in the module's docstring)."""
    out = []
    for block in text.split(BREAK):
        toks = block.split()
        for t1, t2 in zip(toks, toks[1:]):
            # Punctuation may open the first word and close the second, nothing else:
            # "(SQLite uses" and "WAL mode," give a pair; "money. The", "shouldn't",
            # "importlib.metadata" and "e-mail" do not.
            w1, w2 = t1.lstrip(PUNCT_LEAD), t2.rstrip(PUNCT_TRAIL)
            if not (WORD.fullmatch(w1) and WORD.fullmatch(w2)):
                continue
            if any(is_cjk(c) for c in w1 + w2):
                continue
            if len(w1) < 2 or len(w2) < 2 or len(w1) + len(w2) < 6:
                continue
            if not any(c.isalpha() for c in w1) or not any(c.isalpha() for c in w2):
                continue
            if w1.casefold() in STOP_WORDS and w2.casefold() in STOP_WORDS:
                continue
            out.append(f"{w1} {w2}")
    return out


_JIEBA = None


def cjk_pairs(text: str) -> list[str]:
    """Two adjacent words of jieba's segmentation (jieba 0.42.1, its default dictionary,
    HMM on), each of 2 or more CJK ideographs and nothing else, joined by a space."""
    global _JIEBA
    if _JIEBA is None:
        try:
            import jieba
        except ImportError:
            raise SystemExit("search.py: drawing Chinese queries needs jieba: "
                             f"{sys.executable} -m pip install jieba==0.42.1")
        jieba.setLogLevel(60)
        _JIEBA = jieba
    out = []
    for block in re.split(r"[\x00\n]+", text):
        toks = _JIEBA.lcut(block)
        for w1, w2 in zip(toks, toks[1:]):
            if (len(w1) >= 2 and len(w2) >= 2 and all(is_cjk(c) for c in w1)
                    and all(is_cjk(c) for c in w2)):
                out.append(f"{w1} {w2}")
    return out


def word_count(text: str) -> int:
    n = 0
    for m in WORD.finditer(text):
        w = m.group()
        cjk = sum(1 for c in w if is_cjk(c))
        n += cjk + (1 if cjk < len(w) else 0)
    return n


# ---- entries -------------------------------------------------------------------------------
class Entry:
    __slots__ = ("key", "title", "mime", "body", "zim_title")

    def __init__(self, key, title, mime, body, zim_title):
        self.key, self.title, self.mime, self.body, self.zim_title = key, title, mime, body, zim_title

    def reader_text(self) -> str:
        if is_html(self.mime):
            return html_text(self.body)[1]
        return self.body.decode("utf-8", "replace")


def load_entries(src: str, from_dir: bool) -> list[Entry]:
    out = []
    for key, title, mime, body in zim.load_records(src):
        if from_dir:
            # quire keeps no title for a file; an HTML page's is its <title>.
            title = html_text(body)[0] if is_html(mime) else ""
        out.append(Entry(key, title, mime, body, title))
    return out


def remove_accents(text: str) -> str:
    """libzim's zim::removeAccents (src/tools.cpp), the ICU transform "Lower; NFD; [:M:]
    remove; NFC", which its own DefaultIndexData applies to an HTML item's title, text and
    keywords, and its Search to the query: done here with Python's unicodedata."""
    d = unicodedata.normalize("NFD", text.lower())
    return unicodedata.normalize("NFC", "".join(c for c in d if unicodedata.category(c)[0] != "M"))


class TextIndexData(IndexData):
    """What libzim indexes for a text item that is not HTML: its title and its text, folded
    as libzim folds those of an HTML item (remove_accents)."""

    def __init__(self, title: str, text: str):
        super().__init__()
        self._title, self._text = remove_accents(title), remove_accents(text)

    def has_indexdata(self):
        return bool(self._title or self._text.strip())

    def get_title(self):
        return self._title

    def get_content(self):
        return self._text

    def get_keywords(self):
        return ""

    def get_wordcount(self):
        return word_count(self._text)

    def get_geoposition(self):
        return None


class TextArticle(zim.Article):
    """zim.Article with an IndexData; zim.Article itself has no get_indexdata, so libzim
    takes its default (HTML parsed by libzim, everything else not indexed)."""
    __slots__ = ("_index",)

    def get_indexdata(self):
        return self._index


def build_zim(entries: list[Entry], out: str, lang: str, indexed: bool, from_dir: bool,
              name: str) -> dict:
    if os.path.exists(out):
        os.remove(out)
    t0 = time.perf_counter()
    creator = (Creator(out).config_clustersize(zim.CLUSTER_SIZE)
               .config_compression(Compression.zstd))
    creator.config_indexing(indexed, lang)
    counts = {"by_libzim_html": 0, "by_index_data": 0, "not_indexed": 0}
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)  # libzim prints progress on stdout
    try:
        with creator as c:
            for e in entries:
                front = indexed and (is_html(e.mime) if from_dir else True)
                if indexed and is_text(e.mime) and not is_html(e.mime):
                    item = TextArticle(e.key, e.zim_title, e.mime, e.body, front)
                    item._index = TextIndexData(e.title, e.body.decode("utf-8", "replace"))
                    counts["by_index_data"] += 1
                else:
                    item = zim.Article(e.key, e.zim_title, e.mime, e.body, front)
                    counts["by_libzim_html" if is_html(e.mime) else "not_indexed"] += 1
                c.add_item(item)
            for k, v in (("Name", f"quire-bench_{name}"), ("Title", f"search {name}"),
                         ("Language", lang), ("Creator", "quire benches"),
                         ("Publisher", "quire benches"), ("Date", "2023-11-14"),
                         ("Description", f"{name} for benches/search.py")):
                c.add_metadata(k, v)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    special, _, _ = zim.special_entries(out)
    return {"path": out, "bytes": os.path.getsize(out),
            "seconds": round(time.perf_counter() - t0, 1), "special_entries": special,
            "items": counts if indexed else None}


# ---- queries ---------------------------------------------------------------------------------
def draw_queries(entries: list[Entry], lang: str) -> dict:
    rng = random.Random(SEED)
    titled = [e for e in entries if WORD.search(e.title)]  # "＊＊＊＊＊" or "};" is no query
    title = [{"query": e.title, "key": e.key}
             for e in rng.sample(titled, min(N_QUERIES, len(titled)))]
    html = [e for e in entries if is_html(e.mime)]
    articles = html or [e for e in entries if is_text(e.mime)]
    pairs_of = cjk_pairs if lang == "zho" else word_pairs
    words, seen = [], set()
    for _ in range(200_000):
        if len(words) == N_QUERIES:
            break
        e = rng.choice(articles)
        pairs = pairs_of(e.reader_text())
        if not pairs:
            continue
        q = rng.choice(pairs)
        if q in seen:
            continue
        seen.add(q)
        words.append({"query": q, "key": e.key})
    rule = ("title: 200 distinct entries whose title has a letter or a digit "
            "(random.Random(23).sample), "
            "the title as the query. words: a random article (the HTML pages if the corpus "
            "has any, else every text entry), its text as a reader sees it (HTML: <body> "
            "text, no head/script/style/noscript/template/svg, blocks break adjacency), a "
            "random kept pair of adjacent words (runs of letters/digits, only whitespace "
            "between, punctuation only opening the first or closing the second, each >= 2 "
            "chars with a letter, together >= 6 chars, not both English stop words; zho: two "
            "neighbouring words of jieba 0.42.1's segmentation, each of >= 2 CJK ideographs), "
            "case kept, joined by a space; duplicates drawn again (benches/search.py).")
    return {"seed": SEED, "lang": lang, "rule": rule, "title": title, "words": words}


def load_or_draw(path: str, entries: list[Entry], lang: str, redraw: bool, corpus: str):
    keys = {e.key for e in entries}
    if os.path.exists(path) and not redraw:
        with open(path, encoding="utf-8") as f:
            qs = json.load(f)
        missing = [q["key"] for g in ("title", "words") for q in qs[g] if q["key"] not in keys]
        if not missing and qs.get("corpus") == corpus:
            return qs, "read from the file, as an earlier run drew them"
        print(f"search.py: {path}: {len(missing)} source keys not in the corpus: drawn again",
              file=sys.stderr)
    qs = {"corpus": corpus, "entries": len(entries), **draw_queries(entries, lang)}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(qs, f, ensure_ascii=False, indent=1)
        f.write("\n")
    return qs, f"drawn in this run, seed {SEED}"


# ---- measures --------------------------------------------------------------------------------
def stats(ns: list[int]) -> dict:
    s = sorted(ns)
    q = lambda p: s[min(len(s) - 1, int(round(p * (len(s) - 1))))] / 1000  # noqa: E731
    return {"n": len(s), "p50_us": round(statistics.median(s) / 1000, 2),
            "p99_us": round(q(0.99), 2), "mean_us": round(statistics.fmean(s) / 1000, 2)}


def libzim_search(path: str, groups: dict[str, list[str]]):
    archive = Archive(path)
    searcher = Searcher(archive)
    top, estimated = {}, {}
    for g, qs in groups.items():
        top[g], estimated[g] = [], []
        for q in qs:
            s = searcher.search(Query().set_query(q))
            top[g].append(list(s.getResults(0, 10)))
            estimated[g].append(s.getEstimatedMatches())
    pc = time.perf_counter_ns
    times = {}
    for g, qs in groups.items():
        ns = []
        for _ in range(ROUNDS):
            for q in qs:
                t0 = pc()
                r = list(searcher.search(Query().set_query(q)).getResults(0, 10))
                ns.append(pc() - t0)
        times[g] = stats(ns)
    return times, top, estimated


def hits(qs: list[dict], tops: list[list[str]], title_of: dict, by_title: dict | None) -> list[bool]:
    """Per query: its source entry (or, for titles, an entry with the same title) in the top."""
    out = []
    for q, top in zip(qs, tops):
        want = {q["key"]} | (by_title.get(q["query"], set()) if by_title is not None else set())
        out.append(any(k in want for k in top))
    return out


def overlap(ours: list[list[str]], theirs: list[list[str]]) -> dict:
    xs = [len(set(a[:10]) & set(b[:10])) / min(10, len(b)) for a, b in zip(ours, theirs) if b]
    return {"mean": round(statistics.fmean(xs), 4) if xs else None, "queries": len(xs)}


def quire_build() -> dict:
    """Which quire was measured: the CLI's version, the commit, and whether the source tree
    had uncommitted changes (the tree is shared: a work-in-progress build is no commit's)."""
    root = os.path.dirname(HERE)
    git = lambda *x: subprocess.run(["git", "-C", root, *x], capture_output=True,  # noqa: E731
                                    text=True).stdout.rstrip()
    changed = git("status", "--porcelain", "--untracked-files=no", "--", "src", "cli",
                  "Cargo.toml", "Cargo.lock")
    return {"commit": git("rev-parse", "--short", "HEAD"),
            "uncommitted_changes": [line[3:] for line in changed.splitlines()]}


def quire_side(a, name, work, entries, qs, z_top, title_of, by_title, zims) -> dict:
    arc = os.path.join(a.www or work, f"{name}.quire")
    bare = os.path.join(work, f"{name}-none.quire")
    full_flags = QUIRE_PACK_FULL + ["--language", a.lang]
    t0 = time.perf_counter()
    run(a.quire, "pack", "-q", "--force", *full_flags, "-o", arc, a.source)
    pack_full = time.perf_counter() - t0
    t0 = time.perf_counter()
    run(a.quire, "pack", "-q", "--force", *QUIRE_PACK_NONE, "-o", bare, a.source)
    pack_none = time.perf_counter() - t0
    info_full = json.loads(run(a.quire, "info", "--json", arc).stdout)
    info_none = json.loads(run(a.quire, "info", "--json", bare).stdout)
    ft_bytes, ft_from = quire_fulltext_bytes(info_full, info_none)
    # Warm, local, through the Rust API (benches/search.rs): results and times.
    loads = {"timing": loadavg()}
    local = json.loads(run(a.bench, "local", arc, a.queries, ROUNDS).stdout)
    loads["timed"] = loadavg()
    top = {g: local["results"][g] for g in ("title", "words")}
    zim_index = zims["A"]["bytes"] - zims["B"]["bytes"]
    title_hits = hits(qs["title"], top["title"], title_of, by_title)
    words_hits = hits(qs["words"], top["words"], title_of, None)
    groups = {g: [q["query"] for q in qs[g]] for g in ("title", "words")}
    remote = None
    if a.url_base:
        print(f"search.py: {name}: over nginx (load {loadavg()})", file=sys.stderr)
        rfile = os.path.join(work, f"{name}-remote.json")
        with open(rfile, "w", encoding="utf-8") as f:
            json.dump({**groups, "rare": local["rare"]}, f, ensure_ascii=False)
        remote = json.loads(run(a.bench, "remote", f"{a.url_base}/{name}.quire", a.log,
                                rfile).stdout)
    pack = None
    if PACK_ROUNDS > 0:
        print(f"search.py: {name}: pack costs (load {loadavg()})", file=sys.stderr)
        loads["pack"] = loadavg()
        pack = pack_costs(a.quire, a.source, work, a.lang, PACK_ROUNDS)
        loads["packed"] = loadavg()
    return {
        "build": {**quire_build(), "version": run(a.quire, "--version").stdout.strip()},
        "pack_flags": {"full": full_flags, "none": QUIRE_PACK_NONE},
        "pack_seconds": {"full": round(pack_full, 2), "none": round(pack_none, 2)},
        "bytes": {"full": os.path.getsize(arc), "none": os.path.getsize(bare),
                  "fulltext_index": ft_bytes, "fulltext_index_from": ft_from,
                  "title_index": info_full.get("title_index_bytes")},
        "ratios": {"full_vs_zim_A": round(os.path.getsize(arc) / zims["A"]["bytes"], 4),
                   "none_vs_zim_B": round(os.path.getsize(bare) / zims["B"]["bytes"], 4),
                   "fulltext_vs_zim_index": round(ft_bytes / zim_index, 4) if zim_index else None},
        "tokenizer": local["tokenizer"],
        "title_hits": sum(title_hits), "words_source_hits": sum(words_hits),
        "title_misses": [q["query"] for q, h in zip(qs["title"], title_hits) if not h],
        "empty": {g: sum(1 for t in top[g] if not t) for g in top},
        "overlap": {g: overlap(top[g], z_top[g]) for g in top},
        "rust": {g: local["groups"][g] for g in ("title", "words", "rare")},
        "rare": {"words": local["rare"], "df": local["rare_df"]},
        "remote": remote,
        "pack": pack,
        "loadavg": loads,
        "python": quire_python_times(arc, groups),
        "top10": top,
    }


def quire_python_times(path: str, groups: dict[str, list[str]]):
    try:
        import quire  # the Python binding, when importable
    except ImportError:
        return None
    if not hasattr(quire, "Archive") or not hasattr(quire.Archive, "search"):
        return None
    ar = quire.open(path)
    for qs in groups.values():
        for q in qs:
            ar.search(q, limit=10)
    pc = time.perf_counter_ns
    out = {}
    for g, qs in groups.items():
        ns = []
        for _ in range(ROUNDS):
            for q in qs:
                t0 = pc()
                ar.search(q, limit=10)
                ns.append(pc() - t0)
        out[g] = stats(ns)
    return out


def run(*args, **kw):
    return subprocess.run([str(x) for x in args], check=True, capture_output=True, text=True, **kw)


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def quire_has_search(quire: str) -> bool:
    try:
        return subprocess.run([quire, "search", "--help"], capture_output=True).returncode == 0
    except OSError:
        return False


def _pylibzim_version() -> str:
    try:
        from importlib.metadata import version
        return version("libzim")
    except Exception:  # noqa: BLE001
        return "?"


# ---- the summary table of BENCHMARKS.md ---------------------------------------------------------
def summary_tables(paths: list[str]) -> str:
    """BENCHMARKS.md's tables, from results/search-*.json (`search.py --table FILE...`)."""
    rs = []
    for p in paths:
        with open(p, encoding="utf-8") as f:
            rs.append(json.load(f))
    L = ["| corpus | entries | quire both indexes / ZIM A (≤ 0.95×) | full-text index / libzim's "
         "index bytes (≤ 0.6×) | title hits: quire / libzim (≥ libzim, ≥ 95 %) | two-word "
         "overlap (≥ 0.5, English) | keys p50 µs: quire / libzim, titles | ratio (≤ 0.5×) | "
         "two-word | ratio (≤ 0.5×) | quire p99 keys, titles / two-word | quire p50 with "
         "snippets, titles / two-word | load (timing) |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rs:
        q = r.get("quire")
        if not isinstance(q, dict) or "bytes" not in q:
            continue
        z = r["libzim"]
        t, w = q["rust"]["title"], q["rust"]["words"]
        zt, zw = z["times"]["title"], z["times"]["words"]
        n = r["queries"]["n"]["title"]
        L.append(
            f"| {r['corpus']} | {r['entries']:,} | {q['bytes']['full']:,} / "
            f"{r['zims']['A']['bytes']:,} = **{q['ratios']['full_vs_zim_A']:.3f}×** | "
            f"{q['bytes']['fulltext_index']:,} / {r['zim_index_bytes']:,} = "
            f"**{q['ratios']['fulltext_vs_zim_index']:.3f}×** | {q['title_hits']} / "
            f"{z['title_hits']} of {n} | {q['overlap']['words']['mean']} | "
            f"{t['keys']['p50_us']} / {zt['p50_us']} | **{ratio(t['keys']['p50_us'], zt['p50_us'])}**"
            f" | {w['keys']['p50_us']} / {zw['p50_us']} | "
            f"**{ratio(w['keys']['p50_us'], zw['p50_us'])}** | {t['keys']['p99_us']} / "
            f"{w['keys']['p99_us']} | {t['snippets']['p50_us']} / {w['snippets']['p50_us']} | "
            f"{q['loadavg']['timing']} |")
    L.append("")
    L.append("| corpus | round trips after open, max: title / two-word / one rare word (≤ 4) | "
             "median | requests, sum over 400 queries | bytes, sum over 400 | rare word: requests "
             "median, bytes median | rare word, keys only: round trips max |")
    L.append("|---|---|---|---|---|---|---|")
    for r in rs:
        q = r.get("quire")
        if not isinstance(q, dict) or not q.get("remote"):
            continue
        g = q["remote"]["groups"]
        se = {k: v["search"] for k, v in g.items()}
        rare = se.get("rare")
        L.append(
            f"| {r['corpus']} | {se['title']['trips']['max']} / {se['words']['trips']['max']} / "
            f"**{rare['trips']['max'] if rare else '—'}** | {se['title']['trips']['median']} / "
            f"{se['words']['trips']['median']} / {rare['trips']['median'] if rare else '—'} | "
            f"{se['title']['requests']['sum'] + se['words']['requests']['sum']:,} | "
            f"{se['title']['bytes']['sum'] + se['words']['bytes']['sum']:,} | "
            + (f"{rare['requests']['median']}, {rare['bytes']['median']:,} B | "
               f"{g['rare-keys']['search']['trips']['max']} |" if rare else "— | — |"))
    L.append("")
    L.append("| corpus | threads | pack time, median: titles / full (s) | ratio (≤ 1.5×) | CPU s, "
             "median: titles / full | ratio | all runs: titles; full (s) | peak RSS, median: "
             "titles / full (MiB) | ratio (≤ 1.5×) | load |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for r in rs:
        q = r.get("quire")
        pk = q.get("pack") if isinstance(q, dict) else None
        if not pk:
            continue
        pk = {**pk, **pack_summary(pk["runs"])}
        m = pk["median"]
        ld = r["loadavg"].get("start") if "pack" not in q.get("loadavg", {}) else q["loadavg"]["pack"]
        L.append(f"| {r['corpus']} | {pk.get('threads', 'default')} | "
                 f"{m['titles']['seconds']} / {m['full']['seconds']} | "
                 f"**{pk['ratio']['seconds']}×** | "
                 f"{m['titles']['cpu_seconds']} / {m['full']['cpu_seconds']} | {pk['ratio']['cpu']}× | "
                 f"{', '.join(str(x['seconds']) for x in pk['runs']['titles'])}; "
                 f"{', '.join(str(x['seconds']) for x in pk['runs']['full'])} | "
                 f"{m['titles']['rss_kib'] / 1024:.1f} / "
                 f"{m['full']['rss_kib'] / 1024:.1f} | **{pk['ratio']['rss']}×** | {ld} |")
    return "\n".join(L) + "\n"


# ---- main ------------------------------------------------------------------------------------
def pack_only(a) -> None:
    """The pack costs alone: `--index full --language LANG` against `--index titles`."""
    os.makedirs(a.work, exist_ok=True)
    loads = {"start": loadavg()}
    print(f"search.py: {a.corpus}: pack costs only, {PACK_ROUNDS} rounds (load {loadavg()})",
          file=sys.stderr)
    pack = pack_costs(a.quire, a.source, a.work, a.lang, PACK_ROUNDS)
    loads["end"] = loadavg()
    build = {**quire_build(), "version": run(a.quire, "--version").stdout.strip()}
    result = {"corpus": a.corpus, "source": a.source, "command": a.command, "lang": a.lang,
              "loadavg": loads, "quire": {"build": build, "pack": pack}}
    if a.json_out:
        with open(a.json_out, "w", encoding="utf-8") as f:
            json.dump(result, f, ensure_ascii=False, indent=1)
            f.write("\n")
    m, r = pack["median"], pack["ratio"]
    L = [f"# Full-text search: pack costs, {a.corpus}\n",
         f"Issue 23. Command: `{a.command}`. Corpus `{a.source}`, language `{a.lang}`. quire "
         f"`{build['version']}` at {build['commit']}"
         + (f" with uncommitted changes ({', '.join(build['uncommitted_changes'][:8])})"
            if build["uncommitted_changes"] else "")
         + f". Load averages: start {loads['start']}, end {loads['end']} (2 shared cores).\n",
         pack_table(pack), ""]
    with open(a.out, "w", encoding="utf-8") as f:
        f.write("\n".join(L) + "\n")
    print(f"{a.corpus}: pack full/titles time {m['full']['seconds']}/{m['titles']['seconds']} s "
          f"({r['seconds']}×), peak RSS {m['full']['rss_kib']}/{m['titles']['rss_kib']} KiB "
          f"({r['rss']}×)")


def pack_table(pack: dict) -> str:
    pack = {**pack, **pack_summary(pack["runs"])}
    m, r = pack["median"], pack["ratio"]
    runs = pack["runs"]
    threads = pack.get("threads", "default")
    L = [f"Pack cost (`/usr/bin/time -f '%e %M %U %S' quire pack -q --force --threads {threads} …`, "
         f"SOURCE_DATE_EPOCH set; {pack['rounds']} runs of each, interleaved; all "
         f"runs: full {[x['seconds'] for x in runs['full']]} s / "
         f"{[x['rss_kib'] for x in runs['full']]} KiB, titles "
         f"{[x['seconds'] for x in runs['titles']]} s / {[x['rss_kib'] for x in runs['titles']]}"
         f" KiB):\n",
         "| | `--index titles` (default) | `--index full --language …` | ratio (target ≤ 1.5×) |",
         "|---|---|---|---|",
         f"| wall time, median (fastest) | {m['titles']['seconds']} s "
         f"({m['titles']['min_seconds']}) | {m['full']['seconds']} s ({m['full']['min_seconds']}) | "
         f"**{r['seconds']}×** |",
         f"| CPU time (user + system), median | {m['titles']['cpu_seconds']} s | "
         f"{m['full']['cpu_seconds']} s | {r['cpu']}× |",
         f"| peak RSS, median | {m['titles']['rss_kib'] / 1024:.1f} MiB | "
         f"{m['full']['rss_kib'] / 1024:.1f} MiB | **{r['rss']}×** |"]
    return "\n".join(L) + "\n"


def main() -> None:
    if sys.argv[1:2] == ["--table"]:
        print(summary_tables(sys.argv[2:]), end="")
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--quire", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--lang", default="eng")
    ap.add_argument("--queries", required=True, help="the query sets (read, or drawn and written)")
    ap.add_argument("--redraw", action="store_true")
    ap.add_argument("--out", required=True)
    ap.add_argument("--json-out")
    ap.add_argument("--command", default="benches/search.sh")
    ap.add_argument("--no-quire", action="store_true",
                    help="libzim alone, even when `quire search` exists (SEARCH_QUIRE=0)")
    ap.add_argument("--bench", help="benches/search.rs's binary")
    ap.add_argument("--url-base", help="nginx serving --www, for the remote figures")
    ap.add_argument("--www")
    ap.add_argument("--log", help="nginx's access log")
    ap.add_argument("--pack-only", action="store_true",
                    help="only the pack costs (full against titles), e.g. for synth-1m")
    a = ap.parse_args()
    if a.pack_only:
        return pack_only(a)
    name, work = a.corpus, a.work
    os.makedirs(work, exist_ok=True)
    load = loadavg
    loads = {"start": load()}
    print(f"search.py: {name}: reading the entries (load {load()})", file=sys.stderr)

    from_dir = os.path.isdir(a.source)
    if from_dir:
        packed = os.path.join(work, f"{name}-entries.quire")
        run(a.quire, "pack", "-q", "--force", "--index", "none", "-o", packed, a.source)
        jsonl = os.path.join(work, f"{name}.jsonl")
        with open(jsonl, "wb") as f:
            subprocess.run([a.quire, "unpack", packed, "--jsonl", "-"], check=True, stdout=f)
        with open(jsonl, encoding="utf-8") as f, open(jsonl + ".e", "w", encoding="utf-8") as g:
            for line in f:
                if line.strip() and not line.startswith('{"archive"'):
                    g.write(line)
        os.replace(jsonl + ".e", jsonl)
        os.remove(packed)
        entries = load_entries(jsonl, True)
        os.remove(jsonl)
    else:
        entries = load_entries(a.source, False)
    title_of = {e.key: e.title for e in entries}
    by_title: dict[str, set] = {}
    for e in entries:
        if e.title:
            by_title.setdefault(e.title, set()).add(e.key)

    qs, q_origin = load_or_draw(a.queries, entries, a.lang, a.redraw, name)
    groups = {g: [q["query"] for q in qs[g]] for g in ("title", "words")}

    print(f"search.py: {name}: building 2 ZIMs (load {load()})", file=sys.stderr)
    zims = {}
    for tag, indexed in (("A", True), ("B", False)):
        p = os.path.join(work, f"{name}-{tag}.zim")
        zims[tag] = build_zim(entries, p, a.lang, indexed, from_dir, name)
    zim_index = zims["A"]["bytes"] - zims["B"]["bytes"]

    loads["timing"] = load()
    print(f"search.py: {name}: libzim Searcher (load {load()})", file=sys.stderr)
    z_times, z_top, z_est = libzim_search(zims["A"]["path"], groups)
    loads["timed"] = load()
    z_title_hits = hits(qs["title"], z_top["title"], title_of, by_title)
    z_words_hits = hits(qs["words"], z_top["words"], title_of, None)

    if a.no_quire:
        quire = "quire side skipped (SEARCH_QUIRE=0)"
    elif quire_has_search(a.quire):
        print(f"search.py: {name}: quire search (load {load()})", file=sys.stderr)
        quire = quire_side(a, name, work, entries, qs, z_top, title_of, by_title, zims)
    else:
        quire = "quire search: not built yet"
    print(f"search.py: {name}: {quire if isinstance(quire, str) else 'quire measured'}",
          file=sys.stderr)
    loads["end"] = load()

    result = {
        "corpus": name, "source": a.source, "command": a.command, "entries": len(entries),
        "versions": {"libzim": libzim.get_versions(), "python_libzim": _pylibzim_version()},
        "loadavg": loads, "lang": a.lang,
        "queries": {"file": os.path.relpath(a.queries, os.path.dirname(HERE)),
                    "origin": q_origin, "n": {g: len(v) for g, v in groups.items()}},
        "zims": {t: {k: v for k, v in z.items() if k != "path"} for t, z in zims.items()},
        "zim_index_bytes": zim_index,
        "libzim": {
            "times": z_times,
            "title_hits": sum(z_title_hits), "title_queries": len(z_title_hits),
            "words_source_hits": sum(z_words_hits),
            "empty": {g: sum(1 for t in z_top[g] if not t) for g in z_top},
            "estimated_matches_median": {g: statistics.median(v) for g, v in z_est.items()},
            "title_misses": [q["query"] for q, h in zip(qs["title"], z_title_hits) if not h],
        },
        "quire": quire,
        "libzim_top10": z_top,
        "libzim_estimated": z_est,
    }
    if a.json_out:
        with open(a.json_out, "w", encoding="utf-8") as f:
            json.dump(result, f, ensure_ascii=False, indent=1)
            f.write("\n")
    with open(a.out, "w", encoding="utf-8") as f:
        f.write(report(result, qs, title_of))
    for z in zims.values():
        os.remove(z["path"])
    print(summary_line(result))


def ratio(x, y) -> str:
    return f"{x / y:.3f}×" if y else "n/a"


def pct(n: int, d: int) -> str:
    return f"{n}/{d} ({100 * n / d:.1f} %)" if d else "n/a"


def summary_line(r: dict) -> str:
    z = r["libzim"]
    t = z["times"]
    s = (f"{r['corpus']}: libzim index {r['zim_index_bytes']:,} B (A {r['zims']['A']['bytes']:,}"
         f" − B {r['zims']['B']['bytes']:,}); title hits {z['title_hits']}/{z['title_queries']};"
         f" p50/p99 title {t['title']['p50_us']}/{t['title']['p99_us']} µs, words "
         f"{t['words']['p50_us']}/{t['words']['p99_us']} µs")
    q = r["quire"]
    if isinstance(q, dict):
        s += (f"; quire {q['bytes']['full']:,} B ({q['ratios']['full_vs_zim_A']}× A), full text "
              f"{q['bytes']['fulltext_index']:,} B ({q['ratios']['fulltext_vs_zim_index']}×), "
              f"title hits {q['title_hits']}, overlap words {q['overlap']['words']['mean']}, "
              f"keys p50 title {q['rust']['title']['keys']['p50_us']} µs "
              f"({ratio(q['rust']['title']['keys']['p50_us'], t['title']['p50_us'])}), words "
              f"{q['rust']['words']['keys']['p50_us']} µs "
              f"({ratio(q['rust']['words']['keys']['p50_us'], t['words']['p50_us'])})")
        if q.get("remote"):
            g = q["remote"]["groups"]
            s += (f"; remote trips max title/words/rare "
                  f"{g['title']['search']['trips']['max']}/{g['words']['search']['trips']['max']}"
                  f"/{g.get('rare', {}).get('search', {}).get('trips', {}).get('max')}")
        if q.get("pack"):
            s += f"; pack full/titles {q['pack']['ratio']['seconds']}× time, {q['pack']['ratio']['rss']}× RSS"
    else:
        s += "; " + q
    return s


def report(r: dict, qs: dict, title_of: dict) -> str:
    name, z, zs, q = r["corpus"], r["libzim"], r["zims"], r["quire"]
    has_q = isinstance(q, dict)
    v = r["versions"]
    L = []
    L.append(f"# Full-text search: libzim{' and quire' if has_q else ''}, {name}\n")
    L.append(f"Issue 23. Command: `{r['command']}`. Corpus `{r['source']}`, {r['entries']:,} "
             f"entries, language `{r['lang']}`. libzim {v['libzim'].get('libzim')} "
             f"(python-libzim {v['python_libzim']}, Xapian {v['libzim'].get('libxapian')}, ICU "
             f"{v['libzim'].get('libicu')}), in the same run. Load averages (1, 5, 15 min): "
             f"start {r['loadavg']['start']}, before timing {r['loadavg']['timing']}, after "
             f"timing {r['loadavg']['timed']}, end {r['loadavg']['end']} (2 shared cores).\n")
    if not has_q and q.startswith("quire search: not built yet"):
        L.append("**quire search: not built yet** (`target/release/quire search --help` failed): "
                 "libzim's figures only. The quire columns come with the first run after "
                 "`quire search` exists, on the same query sets.\n")
    elif not has_q:
        L.append(f"**{q}**: libzim's figures only.\n")
    else:
        bd = q["build"]
        L.append(f"quire: `{bd['version']}` built from {bd['commit']}"
                 + (f" **with uncommitted changes** ({', '.join(bd['uncommitted_changes'][:8])}"
                    f"{' …' if len(bd['uncommitted_changes']) > 8 else ''}): a work-in-progress "
                    "build, no commit's" if bd["uncommitted_changes"] else "")
                 + ".\n")

    L.append("## Index bytes\n")
    sp = zs["A"]["special_entries"]
    items = zs["A"]["items"]
    L.append("| | bytes |\n|---|---|")
    L.append(f"| libzim: ZIM A, `config_indexing(True, {r['lang']})`, full-text and title "
             f"indexes | {zs['A']['bytes']:,} |")
    L.append(f"| libzim: ZIM B, `config_indexing(False)`, no FRONT_ARTICLE: no index | "
             f"{zs['B']['bytes']:,} |")
    L.append(f"| **libzim's index bytes, A − B** | **{r['zim_index_bytes']:,}** "
             f"({100 * r['zim_index_bytes'] / zs['B']['bytes']:.0f} % of B) |")
    L.append(f"| of which X/fulltext/xapian, X/title/xapian, X/listing/titleOrdered/v1 | "
             f"{sp.get('fulltext/xapian', 0):,}, {sp.get('title/xapian', 0):,}, "
             f"{sp.get('listing/titleOrdered/v1', 0):,} |")
    if has_q:
        b, ra = q["bytes"], q["ratios"]
        L.append(f"| quire: archive with both indexes (`{' '.join(q['pack_flags']['full'])}`) "
                 f"/ ZIM A (target ≤ 0.95×) | {b['full']:,} / {zs['A']['bytes']:,} = "
                 f"**{ra['full_vs_zim_A']}×** |")
        L.append(f"| quire: full-text index alone ({b['fulltext_index_from']}) / A − B (target "
                 f"≤ 0.6×) | {b['fulltext_index']:,} / {r['zim_index_bytes']:,} = "
                 f"**{ra['fulltext_vs_zim_index']}×** |")
        L.append(f"| quire: archive with `{' '.join(q['pack_flags']['none'])}` / ZIM B | "
                 f"{b['none']:,} / {zs['B']['bytes']:,} = {ra['none_vs_zim_B']}× |")
    L.append("")
    L.append(f"Items of A: {items['by_libzim_html']:,} HTML indexed by libzim itself, "
             f"{items['by_index_data']:,} other text items indexed through our IndexData "
             f"(title, text), {items['not_indexed']:,} binary items not indexed.\n")

    L.append("## Warm, local: search latency (10 results)\n")
    L.append("libzim: one `Searcher(archive)`, per query `search(Query().set_query(q))` and "
             "the paths of `getResults(0, 10)` listed, through python-libzim, so its times "
             "**include the Python binding** (a few µs a call). One warm-up pass, then 5 timed "
             "passes over the queries."
             + (" quire: the Rust API (benches/search.rs), the archive memory-mapped, one "
                "warm-up pass, then 5 timed passes: `Archive::search_keys(q, 10)` (keys and "
                "titles, as libzim's paths: no entry body read) and `Archive::search(q, 10)` "
                "(with snippets: each result's entry read, its text extracted and analysed)."
                if has_q else "")
             + "\n")
    qt = q.get("rust") if has_q else None
    qp = q.get("python") if has_q else None
    head = "| queries | libzim p50 | libzim p99 | libzim mean |"
    sep = "|---|---|---|---|"
    if qt:
        head += (" quire keys p50 | quire keys p99 | **p50 ratio** (target ≤ 0.5×) | "
                 "quire with snippets p50 / p99 |")
        sep += "---|---|---|---|"
    if qp:
        head += " quire via Python p50 / p99 | Python ratio p50 |"
        sep += "---|---|"
    L.append(head)
    L.append(sep)
    for g, label in (("title", f"{len(qs['title'])} titles"),
                     ("words", f"{len(qs['words'])} two-word queries")):
        t = z["times"][g]
        row = f"| {label} | {t['p50_us']} µs | {t['p99_us']} µs | {t['mean_us']} µs |"
        if qt:
            k, sn = qt[g]["keys"], qt[g]["snippets"]
            row += (f" {k['p50_us']} µs | {k['p99_us']} µs | "
                    f"**{ratio(k['p50_us'], t['p50_us'])}** | {sn['p50_us']} / "
                    f"{sn['p99_us']} µs |")
        if qp:
            row += (f" {qp[g]['p50_us']} / {qp[g]['p99_us']} µs | "
                    f"{ratio(qp[g]['p50_us'], t['p50_us'])} |")
        L.append(row)
    if qt and qt["rare"]["keys"].get("n"):
        k, sn = qt["rare"]["keys"], qt["rare"]["snippets"]
        row = (f"| {len(q['rare']['words'])} rare words (1–128 entries) | | | | "
               f"{k['p50_us']} µs | {k['p99_us']} µs | | {sn['p50_us']} / {sn['p99_us']} µs |")
        L.append(row + (" | |" if qp else ""))
    L.append("")
    if has_q:
        L.append(f"quire's tokenizer: `{q['tokenizer']}`. Load averages around quire's timing: "
                 f"{q['loadavg']['timing']} → {q['loadavg']['timed']}.\n")

    if has_q and q.get("remote"):
        rm = q["remote"]
        L.append("## Cold, over nginx: round trips, requests and bytes after the open\n")
        L.append("Per query a fresh open of `http://127.0.0.1:PORT/NAME.quire` (one request, "
                 "the first 16 KiB), then one `search(q, 10)` with titles and snippets "
                 "(benches/search.rs `remote`). Round trips are counted by the source "
                 "(benches/common.rs `RoundTrips`): prefetches are made synchronous (their ranges "
                 "fetched in parallel and waited for), and each blocking read that sends any "
                 "request is one round trip, however many requests it sends in parallel "
                 "(requests in parallel count once). Requests and body bytes as the client "
                 f"counts them; nginx's access log counted {rm['requests_logged']:,} requests "
                 f"for the run, the client {rm['requests_counted']:,}.\n")
        L.append("| queries | n | open: requests, bytes | round trips: median | max | "
                 "requests: median / max / sum | bytes: median / sum | results (median) |")
        L.append("|---|---|---|---|---|---|---|---|")
        rare_n = len(q["rare"]["words"])
        for g, label in (("title", "titles, with snippets"),
                         ("words", "two-word, with snippets"),
                         ("rare", f"one rare word, with snippets (target ≤ 4 round trips)"),
                         ("rare-keys", "one rare word, keys and titles only")):
            x = rm["groups"].get(g)
            if not x or not x["n"]:
                continue
            se, op = x["search"], x["open"]
            L.append(f"| {label} | {x['n']} | {op['requests']['median']}, "
                     f"{op['bytes']['median']:,} B | {se['trips']['median']} | "
                     f"**{se['trips']['max']}** | {se['requests']['median']} / "
                     f"{se['requests']['max']} / {se['requests']['sum']:,} | "
                     f"{se['bytes']['median']:,} / {se['bytes']['sum']:,} B | "
                     f"{x['results']['median']} |")
        L.append("")
        L.append(f"Rare words: the distinct words of the two-word queries that alone find 1 to "
                 f"128 entries (an inline list), in query order, at most 50 ({rare_n} here): "
                 + ", ".join(f"`{w}` ({n})" for w, n in
                             list(zip(q["rare"]["words"], q["rare"]["df"]))[:12])
                 + (" …" if rare_n > 12 else "") + ".\n")
    if has_q and q.get("pack"):
        L.append("## Pack cost\n")
        L.append(pack_table(q["pack"]))
        L.append(f"Load averages: {q['loadavg']['pack']} → {q['loadavg']['packed']}.\n")

    L.append("## Quality\n")
    nt, nw = len(qs["title"]), len(qs["words"])
    L.append("| | libzim | quire | target |\n|---|---|---|---|")
    L.append(f"| title queries: the entry, or one with the same title, in the top 10 | "
             f"**{pct(z['title_hits'], nt)}** | "
             f"{pct(q['title_hits'], nt) if has_q else '—'} | ≥ libzim's and ≥ 95 % |")
    L.append(f"| two-word queries: the article they were drawn from in the top 10 | "
             f"{pct(z['words_source_hits'], nw)} | "
             f"{pct(q['words_source_hits'], nw) if has_q else '—'} | (none) |")
    L.append(f"| queries with no result (title, words) | {z['empty']['title']}, "
             f"{z['empty']['words']} | "
             f"{str(q['empty']['title']) + ', ' + str(q['empty']['words']) if has_q else '—'} | |")
    L.append(f"| median estimated matches (title, words) | "
             f"{z['estimated_matches_median']['title']}, {z['estimated_matches_median']['words']}"
             f" | | |")
    if has_q:
        for g in ("title", "words"):
            o = q["overlap"][g]
            L.append(f"| top-10 overlap with libzim, {g} (shared ÷ min(10, libzim's count), "
                     f"mean over {o['queries']} queries where libzim finds any) | | "
                     f"**{o['mean']}** | {'≥ 0.5 (English corpora)' if g == 'words' else ''} |")
    L.append("")
    if z["title_misses"]:
        L.append(f"Title queries libzim misses ({len(z['title_misses'])}): "
                 + "; ".join(f"`{m}`" for m in z["title_misses"][:10])
                 + (" …" if len(z["title_misses"]) > 10 else "") + "\n")
    if has_q and q["title_misses"]:
        L.append(f"Title queries quire misses ({len(q['title_misses'])}): "
                 + "; ".join(f"`{m}`" for m in q["title_misses"][:10])
                 + (" …" if len(q["title_misses"]) > 10 else "") + "\n")

    L.append("## Query sets\n")
    L.append(f"`{r['queries']['file']}` ({r['queries']['origin']}): "
             f"{len(qs['title'])} title queries and {len(qs['words'])} two-word queries, each "
             f"with the key of the entry it was drawn from. Rule: {qs['rule']} libzim's top-10 "
             f"paths per query are in `search-{name}.json` (`libzim_top10`, in query order).\n")
    L.append("| # | title query | two-word query |\n|---|---|---|")
    for i in range(5):
        a_ = qs["title"][i]["query"] if i < len(qs["title"]) else ""
        b_ = qs["words"][i]["query"] if i < len(qs["words"]) else ""
        L.append(f"| {i + 1} | {a_.replace('|', chr(92) + '|')} | {b_.replace('|', chr(92) + '|')} |")
    L.append("")

    L.append("## Top 10 for a few queries\n")
    rng = random.Random(3)
    for g in ("title", "words"):
        for i in rng.sample(range(len(qs[g])), min(2, len(qs[g]))):
            qq = qs[g][i]
            L.append(f"### `{qq['query']}` (drawn from `{qq['key']}`)\n")
            L.append(f"libzim estimates {r['libzim_estimated'][g][i]} matches.\n")
            zt = r["libzim_top10"][g][i]
            qtop = q["top10"][g][i] if has_q else []
            L.append("| # | libzim: path — title |" + (" quire: key — title |" if has_q else ""))
            L.append("|---|---|" + ("---|" if has_q else ""))
            for j in range(max(len(zt), len(qtop), 1)):
                a_ = f"{zt[j]} — {title_of.get(zt[j]) or '(no title)'}" if j < len(zt) else ""
                row = f"| {j + 1} | {a_.replace('|', chr(92) + '|')} |"
                if has_q:
                    b_ = f"{qtop[j]} — {title_of.get(qtop[j]) or '(no title)'}" if j < len(qtop) else ""
                    row += f" {b_.replace('|', chr(92) + '|')} |"
                L.append(row)
            L.append("")
    L.append(f"ZIM builds (s): A {zs['A']['seconds']}, B {zs['B']['seconds']}"
             + (f"; quire pack (s): full {q['pack_seconds']['full']}, none "
                f"{q['pack_seconds']['none']}" if has_q else "") + ".\n")
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    main()
