#!/usr/bin/env python3
"""libzim as a peer for quire's benchmarks: build a ZIM from quire JSONL and time reads from it.

    python3 benches/zim/zim.py build CORPUS.jsonl -o OUT.zim [--force] [--language eng]
    python3 benches/zim/zim.py build DIR --types TYPES.jsonl -o OUT.zim [--force]
    python3 benches/zim/zim.py build DIR --quire-archive DIR.quire -o OUT.zim [--force]
    python3 benches/zim/zim.py read OUT.zim CORPUS [--lookups 20000] [--seed 42] [--keys FILE]
    python3 benches/zim/zim.py cold OUT.zim CORPUS [--runs 11] [--seed 42] [--keys FILE]
    python3 benches/zim/zim.py zimwriterfs DIR -o OUT.zim [--force] [--welcome index.html]

CORPUS is a quire JSONL file or a directory (a website: every regular file is an entry).

Each prints one JSON object on stdout (progress, if any, goes to stderr), so a Rust bench
harness can run it and parse the result. Needs the PyPI package pinned in requirements.txt
beside this file (`python3 -m pip install -r benches/zim/requirements.txt`); libzim 3.13.1
bundles the C++ libzim 9.8.2 with zstd 1.5.7, so nothing else is needed.

build: one ZIM item per JSONL record, path = key, title = title (libzim falls back to the
path when it is empty), mimetype = content_type (text/plain when absent), content = body
(or the decoded body_base64), hints {FRONT_ARTICLE: True} as scrapers give articles (the
COMPRESS hint is left to libzim, which compresses text/* mimetypes).
From a directory: one item per regular file, found as `quire pack DIR` finds them
(symbolic links, special files and names that are not UTF-8 are skipped), path = the
file's path under DIR joined with `/` (quire's key), no title (libzim uses the path, as
quire stores none), content = the file (FileProvider, streamed), FRONT_ARTICLE only for
text/html (as zimwriterfs gives it; `--no-front-articles` leaves it off). The mimetype of
each file is the content type quire recorded for it, so both archives hold the same files
with the same types: `--types FILE` reads it from JSON lines with "key" and "content_type"
(the output of `quire ls --json ARCHIVE`), `--quire-archive ARCHIVE` runs that command
(`--quire PATH`, default target/release/quire); the keys must be exactly the directory's
files. Creator configuration, the same for both inputs, as Kiwix's scrapers leave it unless
they say otherwise:
  - cluster size 2 MiB, set explicitly (`config_clustersize(2 * 1024 * 1024)`; it is also
    libzim's DEFAULT_CLUSTER_SIZE);
  - compression zstd, set explicitly (`config_compression(Compression.zstd)`); the level is not
    configurable in libzim 9: src/compression.cpp calls ZSTD_initCStream(stream, 19);
  - no full-text (Xapian) index (`config_indexing(False, ...)`, libzim's default; Kiwix ZIMs
    usually have one; `--fulltext LANG` turns it on);
  - the title indexes libzim always builds for front articles: X/listing/titleOrdered/v1 (4 B
    an article) and X/title/xapian, a Xapian database for title suggestions, stored
    uncompressed (~1.3 MB for the 3,788 news articles: a third of the file). Both are in
    file_bytes; title_xapian_bytes and file_bytes_without_title_xapian give the size without
    the Xapian one (the ZIM size quoted in the quire issue, 3.97 MB for news, matches that).
    `--no-front-articles` leaves the hint off, so neither is built;
  - worker threads: libzim's default 4 (`--workers N` changes it);
  - metadata: Name, Title, Language, Creator, Publisher, Date (fixed), Description, a few
    hundred bytes in all; no Illustration.
Pack time is wall time from opening the JSONL to the finished file (JSON parsing included,
as in `quire pack`). Throughput = body bytes / pack seconds.

read: keys are taken from the JSONL; `--lookups` random keys (random.Random(seed), with
replacement) after `--warmup` gets. Each get is timed alone with perf_counter_ns:
`archive.get_entry_by_path(key).get_item().content` copied into a fresh `bytes` (the body in
a new buffer, as quire's harness does with a Vec<u8>). Reported:
  - warm_default: one open Archive, libzim's default caches (cluster cache 16 MiB, process
    wide; dirent cache as libzim sets it), OS page cache warm;
  - warm_nocache: cluster cache 0 (`libzim.set_cluster_cache_max_size(0)`) and dirent cache 0
    (`archive.dirent_cache_max_size = 0`), so every get reads and decompresses its cluster up to
    the blob (`--nocache-lookups`, default the same N);
  - open: `Archive(path)` alone; first_after_open: a fresh Archive + its first get (default
    caches, OS cache warm), `--open-runs` runs, a different key each run;
  - cold_first: the file evicted from the page cache with
    os.posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) (after os.fsync), then open + first get,
    `--cold-runs` runs; `cold_resident_pages_after_evict` is what `fincore` (util-linux) saw
    after the last eviction, when it is installed (0 means the eviction worked).
`--keys FILE` (a JSON object with lists "warmup", "warm", "open" and "cold" of keys, any of
them optional) replaces the random choice of that sequence, so that a harness can time quire
and libzim on the same keys (benches/targets.sh does); `--rounds R` repeats the warm_default
pass R times over the sequence and adds the median, p90 and mean of each pass
(`warm_default_rounds_p50_us`, `..._p90_us`, `..._mean_us`); `--times-out FILE` writes every
timed warm_default get, in ns, per round ({"warm_rounds_ns": [[...], ...]}), for a harness
that splits them by key (per content type). `--borrowed` adds, right after each warm_default
round, a round over the same keys that keeps `item.content` as it is (a memoryview over the
blob, which shares the cluster's buffer: no copy), its length checked after the timing as in
the copying round: `warm_borrowed` and `warm_borrowed_rounds_p50_us`, `..._p90_us`,
`..._mean_us` (issue 25's "4c borrowed", beside quire's `body_shared()`).

cold: only the page-cache-cold first get of `read` (evict, open, first get), `--runs` times,
with each trial's time (`trials_us`) and the pages still resident after each eviction
(`resident_pages_after_evict`, from fincore when installed); the target of issue 10 compares
it with quire's, run right after in the same harness.

zimwriterfs: Kiwix's own directory packer (Debian zim-tools; libzim 8) on DIR, as a user
runs it, with what it requires: --welcome (default index.html), --illustration (a 48x48
PNG generated beside OUTPUT and given relative to DIR: zimwriterfs keeps it as the
Illustration_48x48@1 metadata, not as an entry), --language, --title, --description,
--creator, --publisher, --name; plus `-j` (--withoutFTIndex: no Xapian full-text index).
It still builds its title index for the HTML pages (X/title/xapian and the title listings:
zimwriterfs has no option against them); `title_xapian_bytes` and
`file_bytes_without_title_xapian` give the size without the Xapian one. Its own defaults
otherwise: 2 MiB clusters, zstd, 4 threads, mimetypes by its own detection (libmagic and
extensions). Reported: file_bytes, the wall time, the entries it made, its version lines.

All times are in microseconds and include the Python binding's call overhead (roughly 1-2
µs a get; `timer_overhead_ns` is the cost of the timing itself).
"""

import argparse
import base64
import json
import os
import random
import resource
import shutil
import stat
import statistics
import subprocess
import sys
import time

REQUIREMENTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "requirements.txt")

try:
    import libzim
    from libzim.reader import Archive
    from libzim.writer import Compression, Creator, FileProvider, Hint, Item, StringProvider
except ImportError as e:  # pragma: no cover - message for the bench harness / the user
    sys.stderr.write(
        f"zim.py: cannot import libzim ({e}).\n"
        f"Install the pinned version with:\n    {sys.executable} -m pip install -r {REQUIREMENTS}\n"
        "(PyPI package libzim 3.13.1, a wheel that bundles the C++ libzim 9.8.2).\n"
    )
    sys.exit(3)

CLUSTER_SIZE = 2 * 1024 * 1024
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_QUIRE = os.path.join(HERE, "..", "..", "target", "release", "quire")
ZSTD_LEVEL = 19  # fixed inside libzim 9 (src/compression.cpp), not configurable


def load_records(path, with_bodies=True):
    """(key, title, mimetype, body bytes or None, body length) for each JSONL record."""
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            r = json.loads(line)
            key = r.get("key", r.get("id"))
            if not isinstance(key, str):
                raise SystemExit(f"zim.py: {path}:{n}: no string key")
            if "body_base64" in r:
                body = base64.b64decode(r["body_base64"])
            else:
                body = (r.get("body") or "").encode("utf-8")
            yield key, r.get("title") or "", r.get("content_type") or "text/plain", body


def walk_dir(root):
    """(key, path) of every regular file under root, as `quire pack DIR` finds them: the
    path relative to root joined with `/`; symbolic links (not followed), special files and
    names that are not UTF-8 are skipped; sorted by key (UTF-8 byte order)."""
    out = []
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if not os.path.islink(os.path.join(d, x))]
        for f in files:
            p = os.path.join(d, f)
            if not stat.S_ISREG(os.lstat(p).st_mode):
                continue
            key = os.path.relpath(p, root).replace(os.sep, "/")
            try:
                key.encode("utf-8")
            except UnicodeEncodeError:
                continue
            out.append((key, p))
    out.sort()
    return out


def corpus_sizes(path):
    """{key: body length} of a JSONL corpus or a directory."""
    if os.path.isdir(path):
        return {k: os.path.getsize(p) for k, p in walk_dir(path)}
    return {key: len(body) for key, _, _, body in load_records(path)}


def quire_types(a):
    """{key: content type} from --types FILE or `quire ls --json --quire-archive`."""
    if a.types:
        with open(a.types, encoding="utf-8") as f:
            lines = f.read().splitlines()
    elif a.quire_archive:
        r = subprocess.run([a.quire, "ls", "--json", a.quire_archive], capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"zim.py: quire ls --json {a.quire_archive} failed: {r.stderr.strip()}")
        lines = r.stdout.splitlines()
    else:
        raise SystemExit("zim.py: a directory needs --types FILE or --quire-archive ARCHIVE")
    types = {}
    for line in lines:
        if line.strip():
            r = json.loads(line)
            types[r["key"]] = r.get("content_type") or "text/plain; charset=utf-8"
    return types


class Article(Item):
    __slots__ = ("_path", "_title", "_mime", "_body", "_file", "_front")

    def __init__(self, path, title, mime, body, front, file=None):
        super().__init__()
        self._path, self._title, self._mime, self._body, self._front = path, title, mime, body, front
        self._file = file

    def get_path(self):
        return self._path

    def get_title(self):
        return self._title

    def get_mimetype(self):
        return self._mime

    def get_contentprovider(self):
        if self._file is not None:
            return FileProvider(self._file)
        return StringProvider(self._body)

    def get_hints(self):
        return {Hint.FRONT_ARTICLE: self._front}


def cmd_build(a):
    if os.path.exists(a.output):
        if not a.force:
            raise SystemExit(f"zim.py: {a.output} exists (--force overwrites)")
        os.remove(a.output)
    name = os.path.splitext(os.path.basename(os.path.normpath(a.corpus)))[0]
    types = quire_types(a) if os.path.isdir(a.corpus) else None
    t0 = time.perf_counter()
    creator = Creator(a.output).config_clustersize(a.cluster_size).config_compression(Compression.zstd)
    creator.config_indexing(bool(a.fulltext), a.fulltext or a.language)
    if a.workers:
        creator.config_nbworkers(a.workers)
    sys.stdout.flush()
    saved_stdout = os.dup(1)
    os.dup2(2, 1)  # libzim prints its progress ("Index titles", ...) on stdout: keep stdout JSON
    try:
        with creator as c:
            entries, body_bytes = add_all(c, a, name, types)
    finally:
        os.dup2(saved_stdout, 1)
        os.close(saved_stdout)
    secs = time.perf_counter() - t0
    size = os.path.getsize(a.output)
    check = Archive(a.output)
    special, _, _ = special_entries(a.output)  # M/ metadata and X/ indexes
    xapian_title = special.get("title/xapian", 0)
    out = {
        "tool": "libzim",
        "versions": libzim.get_versions(),
        "corpus": a.corpus,
        "output": a.output,
        "entries": entries,
        "archive_entry_count": check.entry_count,
        "archive_article_count": check.article_count,
        "body_bytes": body_bytes,
        "file_bytes": size,
        "ratio": round(body_bytes / size, 4),
        "title_xapian_bytes": xapian_title,
        "file_bytes_without_title_xapian": size - xapian_title,
        "special_entries": special,
        "pack_seconds": round(secs, 3),
        "pack_mb_per_s": round(body_bytes / 1e6 / secs, 3),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "config": {
            "cluster_size": a.cluster_size,
            "compression": "zstd",
            "zstd_level": ZSTD_LEVEL,
            "workers": a.workers or 4,
            "fulltext_index": bool(a.fulltext),
            "front_articles": a.front_articles,
            "mimetypes": "quire's (quire ls --json)" if types is not None else "the JSONL's content_type",
        },
    }
    if check.entry_count < entries:
        raise SystemExit(f"zim.py: archive has {check.entry_count} entries for {entries} records")
    print(json.dumps(out, indent=1))


def add_all(c, a, name, types):
    """Adds every record (or file, with `types` {key: mimetype} for a directory) and the
    metadata; returns (entries, body bytes)."""
    entries = body_bytes = 0
    if types is not None:
        files = walk_dir(a.corpus)
        keys = {k for k, _ in files}
        if keys != set(types):
            extra, missing = sorted(set(types) - keys), sorted(keys - set(types))
            raise SystemExit(
                f"zim.py: the types name other files than {a.corpus} holds "
                f"(only in the types: {extra[:3]}, only in the directory: {missing[:3]})"
            )
        for key, path in files:
            mime = types[key]
            front = a.front_articles and mime.split(";")[0].strip() == "text/html"
            c.add_item(Article(key, "", mime, None, front, file=path))
            entries += 1
            body_bytes += os.path.getsize(path)
    for key, title, mime, body in load_records(a.corpus) if types is None else ():
        c.add_item(Article(key, title, mime, body, a.front_articles))
        entries += 1
        body_bytes += len(body)
    for k, v in (
        ("Name", f"quire-bench_{name}"),
        ("Title", f"quire benchmark corpus {name}"),
        ("Language", a.language),
        ("Creator", "quire benches"),
        ("Publisher", "quire benches"),
        ("Date", "2023-11-14"),
        ("Description", f"{os.path.basename(os.path.normpath(a.corpus))} packed by benches/zim/zim.py"),
    ):
        c.add_metadata(k, v)
    return entries, body_bytes


def stats_us(ns):
    s = sorted(ns)

    def q(p):
        return s[min(len(s) - 1, int(round(p * (len(s) - 1))))] / 1000

    return {
        "n": len(s),
        "p50_us": round(statistics.median(s) / 1000, 2),
        "p90_us": round(q(0.90), 2),
        "p99_us": round(q(0.99), 2),
        "mean_us": round(statistics.fmean(s) / 1000, 2),
    }


def get_body(archive, key):
    return bytes(archive.get_entry_by_path(key).get_item().content)


def timed_gets_borrowed(archive, keys, sizes):
    """As timed_gets, with `item.content` (a memoryview over the blob, which shares the
    cluster's buffer) kept as it is: no copy into a fresh `bytes`."""
    out = []
    pc = time.perf_counter_ns
    for k in keys:
        t0 = pc()
        b = archive.get_entry_by_path(k).get_item().content
        t1 = pc()
        out.append(t1 - t0)
        if len(b) != sizes[k]:
            raise SystemExit(f"zim.py: {k!r}: got {len(b)} bytes, the corpus has {sizes[k]}")
    return out


def timed_gets(archive, keys, sizes):
    out = []
    pc = time.perf_counter_ns
    for k in keys:
        t0 = pc()
        b = get_body(archive, k)
        t1 = pc()
        out.append(t1 - t0)
        if len(b) != sizes[k]:
            raise SystemExit(f"zim.py: {k!r}: got {len(b)} bytes, the corpus has {sizes[k]}")
    return out


def evict(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def resident_pages(path):
    if not shutil.which("fincore"):
        return None
    try:
        r = subprocess.run(
            ["fincore", "--bytes", "--noheadings", "--output", "PAGES", path],
            capture_output=True, text=True, check=True,
        )
        return int(r.stdout.split()[0])
    except (subprocess.CalledProcessError, ValueError, IndexError):
        return None


def cmd_read(a):
    sizes = corpus_sizes(a.corpus)
    keys = sorted(sizes)
    rng = random.Random(a.seed)
    warm_keys = [rng.choice(keys) for _ in range(a.warmup)]
    sample = [rng.choice(keys) for _ in range(a.lookups)]
    open_keys = [rng.choice(keys) for _ in range(a.open_runs)]
    cold_keys = [rng.choice(keys) for _ in range(a.cold_runs)]
    given = load_keys(a.keys, sizes)
    warm_keys = given.get("warmup", warm_keys)
    sample = given.get("warm", sample)
    open_keys = given.get("open", open_keys)
    cold_keys = given.get("cold", cold_keys)
    pc = time.perf_counter_ns
    overhead = statistics.median([-(pc() - pc()) for _ in range(10001)])

    default_cluster_cache = libzim.get_cluster_cache_max_size()
    arch = Archive(a.zim)
    default_dirent_cache = arch.dirent_cache_max_size
    for k in warm_keys:
        get_body(arch, k)
    rounds, borrowed = [], []
    for _ in range(max(1, a.rounds)):
        rounds.append(timed_gets(arch, sample, sizes))
        if a.borrowed:
            borrowed.append(timed_gets_borrowed(arch, sample, sizes))
    warm_default = stats_us([t for r in rounds for t in r])
    per_round = [stats_us(r) for r in rounds]
    per_round_borrowed = [stats_us(r) for r in borrowed]
    if a.times_out:
        with open(a.times_out, "w", encoding="utf-8") as f:
            json.dump({"keys": "the warm sequence", "warm_rounds_ns": rounds}, f)

    libzim.set_cluster_cache_max_size(0)
    arch.dirent_cache_max_size = 0
    n_nocache = a.nocache_lookups if a.nocache_lookups is not None else a.lookups
    for k in warm_keys[: min(200, len(warm_keys))]:
        get_body(arch, k)
    warm_nocache = stats_us(timed_gets(arch, sample[:n_nocache], sizes))
    libzim.set_cluster_cache_max_size(default_cluster_cache)
    del arch

    opens, firsts = [], []
    for k in open_keys:
        t0 = pc()
        ar = Archive(a.zim)
        t1 = pc()
        b = get_body(ar, k)
        t2 = pc()
        del ar
        assert len(b) == sizes[k]
        opens.append(t1 - t0)
        firsts.append(t2 - t0)

    colds, residents = cold_trials(a.zim, cold_keys, sizes)
    resident = residents[-1] if residents else None

    out = {
        "tool": "libzim",
        "versions": libzim.get_versions(),
        "zim": a.zim,
        "corpus": a.corpus,
        "file_bytes": os.path.getsize(a.zim),
        "entries": len(keys),
        "seed": a.seed,
        "warmup": a.warmup,
        "timer_overhead_ns": overhead,
        "default_cluster_cache_bytes": default_cluster_cache,
        "default_dirent_cache_entries": default_dirent_cache,
        "warm_default": warm_default,
        "warm_default_rounds_p50_us": [r["p50_us"] for r in per_round],
        "warm_default_rounds_p90_us": [r["p90_us"] for r in per_round],
        "warm_default_rounds_mean_us": [r["mean_us"] for r in per_round],
        "warm_nocache": warm_nocache,
        "open": stats_us(opens),
        "first_after_open": stats_us(firsts),
        "cold_first": stats_us(colds) if colds else None,
        "cold_resident_pages_after_evict": resident,
    }
    if a.borrowed:
        out["warm_borrowed"] = stats_us([t for r in borrowed for t in r])
        for q in ("p50", "p90", "mean"):
            out[f"warm_borrowed_rounds_{q}_us"] = [r[f"{q}_us"] for r in per_round_borrowed]
    print(json.dumps(out, indent=1))


def load_keys(path, sizes):
    """The key sequences of --keys FILE ({"warmup": [...], "warm": [...], "open": [...],
    "cold": [...]})."""
    if not path:
        return {}
    with open(path, encoding="utf-8") as f:
        given = json.load(f)
    for name, seq in given.items():
        missing = [k for k in seq if k not in sizes]
        if missing:
            raise SystemExit(f"zim.py: --keys {name}: {missing[0]!r} is not in the corpus")
    return given


def cold_trials(zim, keys, sizes):
    """Page-cache-cold first gets: evict the file, then open + first get, timed; returns
    (times in ns, resident pages after each eviction or None)."""
    pc = time.perf_counter_ns
    times, residents = [], []
    for k in keys:
        evict(zim)
        residents.append(resident_pages(zim))
        t0 = pc()
        ar = Archive(zim)
        b = get_body(ar, k)
        t1 = pc()
        del ar
        if len(b) != sizes[k]:
            raise SystemExit(f"zim.py: {k!r}: got {len(b)} bytes, the corpus has {sizes[k]}")
        times.append(t1 - t0)
    return times, residents


def cmd_cold(a):
    sizes = corpus_sizes(a.corpus)
    keys = sorted(sizes)
    rng = random.Random(a.seed)
    cold_keys = [rng.choice(keys) for _ in range(a.runs)]
    cold_keys = load_keys(a.keys, sizes).get("cold", cold_keys)
    times, residents = cold_trials(a.zim, cold_keys, sizes)
    out = {
        "tool": "libzim",
        "versions": libzim.get_versions(),
        "zim": a.zim,
        "file_bytes": os.path.getsize(a.zim),
        "cold_first": stats_us(times),
        "trials_us": [round(t / 1000, 2) for t in times],
        "resident_pages_after_evict": residents,
    }
    print(json.dumps(out, indent=1))


def png_48(path):
    """Writes a 48x48 RGB PNG (a gradient) with the standard library alone."""
    import struct
    import zlib

    raw = b"".join(b"\0" + b"".join(bytes((x * 5, y * 5, 128)) for x in range(48)) for y in range(48))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 48, 48, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def special_entries(zim):
    """{path: size} of the M/ metadata and X/ index entries, the number of content entries,
    and how many of them are redirects."""
    check = Archive(zim)
    special = {}
    for i in range(check.entry_count, check.all_entry_count):
        e = check._get_entry_by_id(i)
        if not e.is_redirect:
            special[e.path] = e.get_item().size
    redirects = sum(check._get_entry_by_id(i).is_redirect for i in range(check.entry_count))
    return special, check.entry_count, redirects


def cmd_zimwriterfs(a):
    exe = shutil.which(a.zimwriterfs)
    if not exe:
        raise SystemExit(f"zim.py: {a.zimwriterfs} not found (Debian: apt-get install zim-tools)")
    if os.path.exists(a.output):
        if not a.force:
            raise SystemExit(f"zim.py: {a.output} exists (--force overwrites)")
        os.remove(a.output)
    root = os.path.normpath(a.dir)
    name = os.path.basename(root)
    illustration = os.path.splitext(a.output)[0] + ".illustration-48.png"
    png_48(illustration)
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    cmd = [
        exe, "-j",
        "--welcome", a.welcome,
        # Resolved paths: zimwriterfs joins DIR and this, and the kernel resolves the `..`
        # of a path through symbolic links from where they point.
        "--illustration", os.path.relpath(os.path.realpath(illustration), os.path.realpath(root)),
        "--language", a.language,
        "--title", f"quire benchmark corpus {name}",
        "--description", f"{name} packed by zimwriterfs for benches/zim/zim.py",
        "--creator", "quire benches",
        "--publisher", "quire benches",
        "--name", f"quire-bench_{name}",
        root, a.output,
    ]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=sys.stderr, stderr=sys.stderr)  # keep stdout JSON
    secs = time.perf_counter() - t0
    os.remove(illustration)
    if r.returncode != 0:
        raise SystemExit(f"zim.py: zimwriterfs failed ({r.returncode}): {' '.join(cmd)}")
    size = os.path.getsize(a.output)
    special, entries, redirects = special_entries(a.output)
    xapian_title = special.get("title/xapian", 0)
    files = walk_dir(root)
    body_bytes = sum(os.path.getsize(p) for _, p in files)
    out = {
        "tool": "zimwriterfs",
        "version": [line.strip() for line in version.splitlines() if line.strip()],
        "command": " ".join(cmd),
        "dir": a.dir,
        "output": a.output,
        "files": len(files),
        "archive_entry_count": entries,
        "redirects": redirects,
        "body_bytes": body_bytes,
        "file_bytes": size,
        "title_xapian_bytes": xapian_title,
        "fulltext_xapian_bytes": special.get("fulltext/xapian", 0),
        "file_bytes_without_title_xapian": size - xapian_title,
        "special_entries": special,
        "pack_seconds": round(secs, 3),
        "pack_mb_per_s": round(body_bytes / 1e6 / secs, 3),
    }
    print(json.dumps(out, indent=1))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build a ZIM from quire JSONL or from a directory")
    b.add_argument("corpus", help="a JSONL file, or a directory (then --types or --quire-archive)")
    b.add_argument("--types", metavar="FILE", help='a directory\'s mimetypes: JSON lines {"key", "content_type"} (quire ls --json)')
    b.add_argument("--quire-archive", metavar="ARCHIVE", help="a directory's mimetypes from `quire ls --json ARCHIVE`")
    b.add_argument("--quire", default=DEFAULT_QUIRE, help="the quire CLI for --quire-archive (default target/release/quire)")
    b.add_argument("-o", "--output", required=True)
    b.add_argument("-f", "--force", action="store_true", help="overwrite OUTPUT")
    b.add_argument("--cluster-size", type=int, default=CLUSTER_SIZE, help="bytes (default 2 MiB)")
    b.add_argument("--workers", type=int, default=0, help="libzim worker threads (default: libzim's 4)")
    b.add_argument("--language", default="eng", help="ISO 639-3 for the Language metadata (default eng)")
    b.add_argument("--fulltext", metavar="LANG", default="", help="build the Xapian full-text index for LANG")
    b.add_argument(
        "--no-front-articles", dest="front_articles", action="store_false",
        help="items without the FRONT_ARTICLE hint: no Xapian title index, no title listing",
    )
    r = sub.add_parser("read", help="time reads from a ZIM built from CORPUS")
    r.add_argument("zim")
    r.add_argument("corpus")
    r.add_argument("--lookups", type=int, default=20000)
    r.add_argument("--nocache-lookups", type=int, default=None, help="default: --lookups")
    r.add_argument("--warmup", type=int, default=2000)
    r.add_argument("--open-runs", type=int, default=21)
    r.add_argument("--cold-runs", type=int, default=7)
    r.add_argument("--seed", type=int, default=42)
    r.add_argument("--keys", metavar="FILE", help='JSON {"warmup": [...], "warm": [...], "open": [...], "cold": [...]}')
    r.add_argument("--rounds", type=int, default=1, help="passes over the warm sequence (default 1)")
    r.add_argument("--times-out", metavar="FILE", help="write every timed warm_default get (ns, per round) to FILE")
    r.add_argument(
        "--borrowed", action="store_true",
        help="after each warm_default round, time the same keys with item.content uncopied (warm_borrowed*)",
    )
    c = sub.add_parser("cold", help="page-cache-cold first get after open, alone")
    c.add_argument("zim")
    c.add_argument("corpus")
    c.add_argument("--runs", type=int, default=11)
    c.add_argument("--seed", type=int, default=42)
    c.add_argument("--keys", metavar="FILE", help='JSON {"cold": [...]}')
    w = sub.add_parser("zimwriterfs", help="Kiwix's zimwriterfs on a directory (no full-text index)")
    w.add_argument("dir")
    w.add_argument("-o", "--output", required=True)
    w.add_argument("-f", "--force", action="store_true", help="overwrite OUTPUT")
    w.add_argument("--welcome", default="index.html", help="the main page, relative to DIR (default index.html)")
    w.add_argument("--language", default="eng", help="ISO 639-3 (default eng)")
    w.add_argument("--zimwriterfs", default="zimwriterfs", help="the program (default: zimwriterfs on PATH)")
    a = p.parse_args()
    {"build": cmd_build, "read": cmd_read, "cold": cmd_cold, "zimwriterfs": cmd_zimwriterfs}[a.cmd](a)


if __name__ == "__main__":
    main()
