#!/usr/bin/env python3
"""Issue 22: quire's title suggestions against libzim's SuggestionSearcher, one corpus, same
run, same queries. Run by benches/suggest.sh (which builds the binaries and starts nginx):

    python3 benches/suggest.py --corpus NAME --source PATH --quire QUIRE --bench BENCH \
        --work DIR [--url-base http://127.0.0.1:PORT --www DIR --log ACCESS_LOG] --out FILE.md

PATH is a quire JSONL file or a directory. Per corpus:

1. `quire pack PATH` (the default, `--index titles`) and `quire pack --index none PATH`;
   `quire info --json`: the TITLES section's length.
2. The ZIMs, built here with python-libzim from the same entries (for a directory: `quire
   unpack --jsonl` of the quire archive, so each item has quire's key, title, content type
   and body; an entry without a title gets "" and libzim shows its path, as quire shows its
   key), with benches/zim/zim.py's Article item and settings (2 MiB clusters, zstd):
     - A: `config_indexing(True, LANG)`, every item hinted FRONT_ARTICLE: True -- the ZIM the
       speed figures read (libzim's full title index, and its full-text index);
     - B: `config_indexing(False, LANG)`, FRONT_ARTICLE: True -- with its title index only
       (X/title/xapian and X/listing/titleOrdered/v1);
     - C: `config_indexing(False, LANG)`, FRONT_ARTICLE: False -- no title index.
   libzim's title index bytes = size(B) - size(C); quire's = the TITLES section.
3. Queries (random.Random(22)): 200 prefixes of 1-4 letters (50 of each length), each the
   start of a random word (or, in CJK, any character) of a random indexed text (the title,
   or the key for an entry without one), cut at the first character that is not a letter
   or digit; and 200 whole indexed texts. The same lists for both.
4. Warm, local: quire through the Rust API (benches/suggest.rs: the archive opened once,
   every query once to warm, then 5 timed passes of `suggest(q, Some(10))`); libzim through
   python-libzim (`SuggestionSearcher(archive).suggest(q).getResults(0, 10)`, the results
   listed; one searcher, every query once to warm, 5 timed passes) -- its times include the
   Python binding's call overhead (a few µs). When the `quire` Python package can be
   imported, quire through its Python binding too (`a.suggest(q, 10)`), so both are also
   compared through a Python call.
5. Over nginx (with --url-base): benches/suggest.rs `remote`: per query a fresh
   `Archive::open_any(URL)` and one `suggest(q, Some(10))`, nginx's access log counting the
   requests after the open.
6. Honesty checks: every query where libzim finds something must give quire at least one
   suggestion; the top 10 of a few queries are printed side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "zim"))
import zim  # noqa: E402  (benches/zim/zim.py: Article, load_records, special_entries)

import libzim  # noqa: E402
from libzim.reader import Archive  # noqa: E402
from libzim.suggestion import SuggestionSearcher  # noqa: E402
from libzim.writer import Compression, Creator  # noqa: E402

ROUNDS = 5


def run(*args, **kw):
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True, **kw)


def is_cjk(c: str) -> bool:
    o = ord(c)
    return (0x3040 <= o <= 0x30FF or 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF
            or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x3FFFF)


def is_letter(c: str) -> bool:
    return unicodedata.category(c)[0] in "LN"


def word_starts(text: str) -> list[int]:
    return [i for i, c in enumerate(text)
            if is_letter(c) and (i == 0 or not is_letter(text[i - 1]) or is_cjk(c))]


def make_queries(texts: list[str], seed: int = 22) -> dict[str, list[str]]:
    rng = random.Random(seed)
    lengths = [1, 2, 3, 4] * 50
    rng.shuffle(lengths)
    prefixes: list[str] = []
    for n in lengths:
        for _ in range(10_000):
            t = rng.choice(texts)
            starts = word_starts(t)
            if not starts:
                continue
            i = rng.choice(starts)
            p = ""
            for c in t[i:]:
                if not is_letter(c) or len(p) == n:
                    break
                p += c
            if len(p) == n:
                prefixes.append(p)
                break
        else:
            raise SystemExit(f"suggest.py: no word of {n} letters in the titles")
    titles = rng.sample(texts, min(200, len(texts)))
    return {"prefix": prefixes, "title": titles}


def build_zim(records, out: str, lang: str, fulltext: bool, front: bool, name: str) -> None:
    if os.path.exists(out):
        os.remove(out)
    creator = (Creator(out).config_clustersize(zim.CLUSTER_SIZE)
               .config_compression(Compression.zstd))
    creator.config_indexing(fulltext, lang)
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)  # libzim prints progress on stdout
    try:
        with creator as c:
            for key, title, mime, body in records():
                c.add_item(zim.Article(key, title, mime, body, front))
            for k, v in (("Name", f"quire-bench_{name}"), ("Title", f"suggest {name}"),
                         ("Language", lang), ("Creator", "quire benches"),
                         ("Publisher", "quire benches"), ("Date", "2023-11-14"),
                         ("Description", f"{name} for benches/suggest.py")):
                c.add_metadata(k, v)
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def stats(ns: list[int]) -> dict:
    s = sorted(ns)
    q = lambda p: s[min(len(s) - 1, int(round(p * (len(s) - 1))))] / 1000  # noqa: E731
    return {"n": len(s), "p50_us": round(statistics.median(s) / 1000, 2),
            "p99_us": round(q(0.99), 2), "mean_us": round(statistics.fmean(s) / 1000, 2)}


def libzim_times(path: str, groups: dict[str, list[str]]):
    archive = Archive(path)
    searcher = SuggestionSearcher(archive)
    results = {}
    for qs in groups.values():
        for q in qs:
            s = searcher.suggest(q)
            paths = list(s.getResults(0, 10))
            results[q] = {"estimated": s.getEstimatedMatches(),
                          "top": [[p, archive.get_entry_by_path(p).title] for p in paths]}
    pc = time.perf_counter_ns
    out = {}
    for g, qs in groups.items():
        ns = []
        for _ in range(ROUNDS):
            for q in qs:
                t0 = pc()
                r = list(searcher.suggest(q).getResults(0, 10))
                ns.append(pc() - t0)
        out[g] = stats(ns)
    return out, results


def quire_python_times(path: str, groups: dict[str, list[str]]):
    try:
        import quire  # the Python binding, when importable
    except ImportError:
        return None
    if not hasattr(quire.Archive, "suggest"):
        return None
    a = quire.open(path)
    for qs in groups.values():
        for q in qs:
            a.suggest(q, 10)
    pc = time.perf_counter_ns
    out = {}
    for g, qs in groups.items():
        ns = []
        for _ in range(ROUNDS):
            for q in qs:
                t0 = pc()
                a.suggest(q, 10)
                ns.append(pc() - t0)
        out[g] = stats(ns)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--quire", required=True)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--lang", default="eng")
    ap.add_argument("--url-base")
    ap.add_argument("--www")
    ap.add_argument("--log")
    ap.add_argument("--remote-n", type=int, default=30)
    ap.add_argument("--out", required=True)
    ap.add_argument("--json-out")
    ap.add_argument("--command", default="benches/suggest.sh")
    a = ap.parse_args()
    name, work = a.corpus, a.work
    os.makedirs(work, exist_ok=True)
    load = lambda: " ".join(open("/proc/loadavg").read().split()[:3])  # noqa: E731
    loads = {"start": load()}
    print(f"suggest.py: {name}: packing (load {load()})", file=sys.stderr)

    # 1. quire, with and without its title index.
    arc = os.path.join(a.www or work, f"{name}.quire")
    t0 = time.perf_counter()
    run(a.quire, "pack", "-q", "--force", "-o", arc, a.source)
    pack_s = time.perf_counter() - t0
    bare = os.path.join(work, f"{name}-none.quire")
    run(a.quire, "pack", "-q", "--force", "--index", "none", "-o", bare, a.source)
    info = json.loads(run(a.quire, "info", "--json", arc).stdout)
    titles_len = sum(s["length"] for s in info["sections"] if s["name"] == "TITLES")
    quire_sizes = {"with": os.path.getsize(arc), "without": os.path.getsize(bare),
                   "titles_section": titles_len, "entries": info["entries"]}

    # The entries, as quire holds them.
    if os.path.isdir(a.source):
        jsonl = os.path.join(work, f"{name}.jsonl")
        dump = subprocess.run([a.quire, "unpack", arc, "--jsonl", "-"], check=True,
                              capture_output=True).stdout.decode("utf-8")
        with open(jsonl, "w", encoding="utf-8") as f:
            for line in dump.splitlines():
                if line.strip() and not line.startswith('{"archive"'):
                    f.write(line + "\n")
        src = jsonl
    else:
        src = a.source
    records = lambda: ((k, t, m, b) for k, t, m, b in zim.load_records(src))  # noqa: E731
    texts = []
    for line in open(src, encoding="utf-8"):
        if not line.strip():
            continue
        r = json.loads(line)
        if "archive" in r and "key" not in r and "id" not in r:
            continue
        key = r.get("key", r.get("id"))
        t = r.get("title")
        texts.append(t if t is not None else key)
    texts = [t for t in texts if t]
    groups = make_queries(texts)
    qfile = os.path.join(work, f"{name}-queries.json")
    with open(qfile, "w", encoding="utf-8") as f:
        json.dump(groups, f, ensure_ascii=False)

    # 2. The ZIMs.
    print(f"suggest.py: {name}: building 3 ZIMs (load {load()})", file=sys.stderr)
    zims = {}
    for tag, fulltext, front in (("A", True, True), ("B", False, True), ("C", False, False)):
        p = os.path.join(work, f"{name}-{tag}.zim")
        t0 = time.perf_counter()
        build_zim(records, p, a.lang, fulltext, front, name)
        zims[tag] = {"path": p, "bytes": os.path.getsize(p),
                     "seconds": round(time.perf_counter() - t0, 1)}
    special, _, _ = zim.special_entries(zims["B"]["path"])
    zim_title_bytes = zims["B"]["bytes"] - zims["C"]["bytes"]

    # 4. Warm, local: quire (Rust), libzim (Python), quire (Python).
    loads["timing"] = load()
    print(f"suggest.py: {name}: timing (load {load()})", file=sys.stderr)
    q_rust = json.loads(run(a.bench, "local", arc, qfile, ROUNDS).stdout)
    z_times, z_results = libzim_times(zims["A"]["path"], groups)
    q_py = quire_python_times(arc, groups)
    loads["timed"] = load()

    # 6. Honesty: where libzim finds something, quire must too.
    missing = {g: [q for q in qs if z_results[q]["top"] and not q_rust["results"][q]]
               for g, qs in groups.items()}
    zim_empty = {g: sum(1 for q in qs if not z_results[q]["top"]) for g, qs in groups.items()}
    quire_empty = {g: sum(1 for q in qs if not q_rust["results"][q]) for g, qs in groups.items()}

    # 5. Over nginx.
    remote = None
    if a.url_base:
        print(f"suggest.py: {name}: over nginx (load {load()})", file=sys.stderr)
        rng = random.Random(5)
        ones = [q for q in groups["prefix"] if len(q) == 1]
        more = [q for q in groups["prefix"] if len(q) >= 2]
        rq = {"prefix-1": rng.sample(ones, min(a.remote_n, len(ones))),
              "prefix-2+": rng.sample(more, min(a.remote_n, len(more))),
              "title": rng.sample(groups["title"], min(a.remote_n, len(groups["title"])))}
        rfile = os.path.join(work, f"{name}-remote.json")
        with open(rfile, "w", encoding="utf-8") as f:
            json.dump(rq, f, ensure_ascii=False)
        remote = json.loads(run(a.bench, "remote", f"{a.url_base}/{name}.quire", a.log,
                                rfile).stdout)
    loads["end"] = load()

    result = {
        "corpus": name, "source": a.source, "command": a.command,
        "versions": {"libzim": libzim.get_versions(), "python_libzim": _pylibzim_version()},
        "loadavg": loads, "quire": quire_sizes, "quire_pack_seconds": round(pack_s, 2),
        "zims": zims, "zim_special_entries": special, "zim_title_index_bytes": zim_title_bytes,
        "queries": {g: len(qs) for g, qs in groups.items()},
        "quire_rust": q_rust["groups"], "libzim_python": z_times, "quire_python": q_py,
        "missing_in_quire": missing, "libzim_empty": zim_empty, "quire_empty": quire_empty,
        "remote": remote,
    }
    if a.json_out:
        with open(a.json_out, "w", encoding="utf-8") as f:
            json.dump(result, f, ensure_ascii=False, indent=1)
    with open(a.out, "w", encoding="utf-8") as f:
        f.write(report(result, groups, q_rust["results"], z_results))
    print(summary_line(result))


def _pylibzim_version() -> str:
    try:
        from importlib.metadata import version
        return version("libzim")
    except Exception:  # noqa: BLE001
        return "?"


def ratio(x: float, y: float) -> str:
    return f"{x / y:.3f}×" if y else "n/a"


def summary_line(r: dict) -> str:
    q, z = r["quire_rust"], r["libzim_python"]
    parts = [r["corpus"]]
    for g in ("prefix", "title"):
        parts.append(f"{g} p50 {q[g]['p50_us']} vs {z[g]['p50_us']} µs "
                     f"({ratio(q[g]['p50_us'], z[g]['p50_us'])})")
    parts.append(f"index {r['quire']['titles_section']} vs {r['zim_title_index_bytes']} B "
                 f"({ratio(r['quire']['titles_section'], r['zim_title_index_bytes'])})")
    if r["remote"]:
        g = r["remote"]["groups"]
        parts.append(f"remote max {g['prefix-1']['max']}/{g['prefix-2+']['max']}/"
                     f"{g['title']['max']} requests")
    return "; ".join(parts)


def report(r: dict, groups, qres, zres) -> str:
    name = r["corpus"]
    q, z, qp = r["quire_rust"], r["libzim_python"], r["quire_python"]
    L = []
    L.append(f"# Title suggestions: quire vs libzim, {name}\n")
    L.append(f"Issue 22. Command: `{r['command']}`. Corpus `{r['source']}`, "
             f"{r['quire']['entries']:,} entries. libzim {r['versions']['libzim'].get('libzim')} "
             f"(python-libzim {r['versions']['python_libzim']}, Xapian "
             f"{r['versions']['libzim'].get('libxapian')}), in the same run. Load averages "
             f"(1, 5, 15 min): start {r['loadavg']['start']}, before timing "
             f"{r['loadavg']['timing']}, after timing {r['loadavg']['timed']}, end "
             f"{r['loadavg']['end']} (2 shared cores).\n")
    L.append("## Warm, local: suggestion latency (limit 10)\n")
    L.append("quire: the Rust API (`Archive::suggest(q, Some(10))`, benches/suggest.rs), the "
             "archive memory-mapped and warmed by one pass. libzim: "
             "`SuggestionSearcher(archive).suggest(q).getResults(0, 10)` listed, through "
             "python-libzim, so its times **include the Python binding** (a few µs a call); "
             "the ZIM built with `config_indexing(True, lang)` and every item "
             "`FRONT_ARTICLE`. One warm-up pass, then 5 timed passes over the queries.\n")
    L.append("| queries | quire p50 | quire p99 | libzim p50 | libzim p99 | p50 ratio "
             "(target ≤ 0.25×) | p99 ratio |" + (" quire via Python p50 / p99 | Python ratio "
                                                "p50 |" if qp else ""))
    L.append("|---|---|---|---|---|---|---|" + ("---|---|" if qp else ""))
    for g, label in (("prefix", "200 prefixes, 1–4 letters"), ("title", "200 whole titles")):
        row = (f"| {label} | {q[g]['p50_us']} µs | {q[g]['p99_us']} µs | {z[g]['p50_us']} µs | "
               f"{z[g]['p99_us']} µs | **{ratio(q[g]['p50_us'], z[g]['p50_us'])}** | "
               f"{ratio(q[g]['p99_us'], z[g]['p99_us'])} |")
        if qp:
            row += (f" {qp[g]['p50_us']} / {qp[g]['p99_us']} µs | "
                    f"{ratio(qp[g]['p50_us'], z[g]['p50_us'])} |")
        L.append(row)
    L.append("")
    L.append(f"Queries with no result: libzim {r['libzim_empty']}, quire {r['quire_empty']}. "
             f"Queries where libzim found something and quire nothing: "
             f"{ {g: len(v) for g, v in r['missing_in_quire'].items()} }"
             + (f" ({ {g: v[:5] for g, v in r['missing_in_quire'].items() if v} })"
                if any(r["missing_in_quire"].values()) else "") + ".\n")
    L.append("## Title index bytes\n")
    zs = r["zims"]
    sp = r["zim_special_entries"]
    L.append("| | bytes |\n|---|---|")
    L.append(f"| quire: the TITLES section (`quire info --json`) | {r['quire']['titles_section']:,} |")
    L.append(f"| quire: archive with it / with `--index none` | {r['quire']['with']:,} / "
             f"{r['quire']['without']:,} (difference {r['quire']['with'] - r['quire']['without']:,}) |")
    L.append(f"| libzim: ZIM with FRONT_ARTICLE hints (B) − without (C), both "
             f"`config_indexing(False)` | {zs['B']['bytes']:,} − {zs['C']['bytes']:,} = "
             f"**{r['zim_title_index_bytes']:,}** |")
    L.append(f"| libzim: of which X/title/xapian, X/listing/titleOrdered/v1 | "
             f"{sp.get('title/xapian', 0):,}, {sp.get('listing/titleOrdered/v1', 0):,} |")
    L.append(f"| libzim: the speed ZIM (A, with the full-text index too) | {zs['A']['bytes']:,} |")
    L.append(f"| **ratio quire / libzim** (target ≤ 0.3×) | "
             f"**{ratio(r['quire']['titles_section'], r['zim_title_index_bytes'])}** |")
    L.append("")
    if r["remote"]:
        L.append("## Cold, over nginx: requests after the open (limit 10)\n")
        L.append("Per query a fresh `Archive::open_any(\"http://127.0.0.1:PORT/…\")` (the open "
                 "is one request), then one `suggest(q, Some(10))`; requests counted in "
                 "nginx's access log (tests/servers/nginx.sh), each count once the log stopped "
                 "growing for 150 ms.\n")
        L.append("| queries | n | open: requests | suggestion: median | max | target | "
                 "results (median) |")
        L.append("|---|---|---|---|---|---|---|")
        for g, tgt in (("prefix-1", "≤ 3"), ("prefix-2+", "≤ 2"), ("title", "(≤ 2)")):
            x = r["remote"]["groups"][g]
            L.append(f"| {g} | {x['n']} | {sorted(set(x['open_requests']))} | {x['median']} | "
                     f"**{x['max']}** | {tgt} | {statistics.median(x['found'])} |")
        L.append("")
    L.append("## Top 10 side by side, for a few queries\n")
    L.append("quire: key — title (kind); libzim: path — title. Orders differ by design: "
             "quire ranks title starts before word starts, then shorter titles (spec §14.2); "
             "libzim ranks by Xapian relevance.\n")
    rng = random.Random(3)
    picks = rng.sample(groups["prefix"], 3) + rng.sample(groups["title"], 2)
    for qq in picks:
        L.append(f"### `{qq}`\n")
        L.append(f"libzim estimates {zres[qq]['estimated']} matches.\n")
        L.append("| # | quire | libzim |\n|---|---|---|")
        qr, zr = qres[qq], zres[qq]["top"]
        for i in range(max(len(qr), len(zr))):
            a = (f"{qr[i][0]} — {qr[i][1] if qr[i][1] is not None else '(no title)'} "
                 f"({qr[i][2]})") if i < len(qr) else ""
            b = f"{zr[i][0]} — {zr[i][1]}" if i < len(zr) else ""
            a, b = a.replace("|", "\\|"), b.replace("|", "\\|")
            L.append(f"| {i + 1} | {a} | {b} |")
        L.append("")
    L.append(f"ZIM builds (s): A {zs['A']['seconds']}, B {zs['B']['seconds']}, "
             f"C {zs['C']['seconds']}; quire pack {r['quire_pack_seconds']} s.\n")
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    main()
