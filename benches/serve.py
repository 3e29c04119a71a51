#!/usr/bin/env python3
"""Issue 24's load benchmark: `quire serve` against kiwix-serve (Debian kiwix-tools) in the
same run, on the same articles, with wrk at one thread. Run it through benches/serve.sh.

Per corpus (a JSONL file or a website directory):
  - a ZIM of the same entries built by python-libzim with indexing on (benches/search.py's
    build_zim: the same ZIM issue 23 measures), and the quire archive packed
    `--index full --language LANG`;
  - both servers started on 127.0.0.1 (kiwix-serve with its defaults, quire serve with its);
  - random articles: a Lua script picks each request's path from the same list of 2,000
    entries (random.Random(24), HTML entries for a website, every entry otherwise), with
    `Accept-Encoding: gzip`, quire's as /NAME/PATH, kiwix-serve's as /NAME/PATH too (3.3;
    /content/NAME/PATH in later versions);
    wrk -t1 at 1, 16 and 64 connections, SERVE_SECONDS each (default 10): requests/s, p50,
    p99, non-2xx answers;
  - search: the HTML results page, 10 results, for the 200 two-word queries of
    benches/results/search-CORPUS-queries.json (issue 23's, so the same ones), in turn,
    at 16 connections: quire /-/search/NAME?q=Q, kiwix-serve /search?content=NAME&pattern=Q
    &pageLength=10;
  - with --soak N: N random-article requests at 16 connections against quire serve (and
    kiwix-serve with --soak-peer), RSS sampled (VmRSS) once the first 10,000 are done, then
    every 30 s of load, to the end.
Writes benches/results/serve-CORPUS.md and .json, with the versions and load averages.
"""

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "zim"))

import search as S  # noqa: E402  (build_zim, load_entries: the ZIM issue 23 measures)

RANDOM_LUA = r"""
local paths = {}
local prefix = ""
function init(args)
  prefix = args[1]
  for line in io.lines(args[2]) do paths[#paths + 1] = line end
  math.randomseed(24)
end
function request()
  return wrk.format("GET", prefix .. paths[math.random(#paths)], {["Accept-Encoding"] = "gzip"})
end
"""

SEARCH_LUA = r"""
local qs = {}
local i = 0
local left, right = "", ""
function init(args)
  left, right = args[1], args[2]
  for line in io.lines(args[3]) do qs[#qs + 1] = line end
end
function request()
  i = i % #qs + 1
  return wrk.format("GET", left .. qs[i] .. right, {["Accept-Encoding"] = "gzip"})
end
"""


def free_port() -> int:
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_up(url: str, secs: float = 30):
    t0 = time.time()
    while time.time() - t0 < secs:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def wrk(url: str, script: str, args: list[str], conns: int, secs: float) -> dict:
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{max(1, round(secs))}s", "--latency", "--timeout", "10s",
           "-s", script, url, "--"] + args
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    def unit(v: str) -> float:
        m = re.match(r"([\d.]+)(us|ms|s)", v)
        x, u = float(m.group(1)), m.group(2)
        return x / 1000 if u == "us" else x if u == "ms" else x * 1000
    lat = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"connections": conns, "seconds": secs, "requests": total,
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": unit(lat["50"]), "p99_ms": unit(lat["99"]),
            "non_2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": errors.group(1).strip() if errors else None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--quire", default=str(ROOT / "target" / "release" / "quire"))
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("SERVE_SECONDS", 10)))
    ap.add_argument("--soak", type=int, default=0)
    ap.add_argument("--soak-peer", action="store_true",
                    help="soak kiwix-serve too (at its rate, 1,000,000 requests take hours)")
    ap.add_argument("--lang", default="eng")
    a = ap.parse_args()

    data = Path(os.environ.get("QUIRE_CORPUS_DIR", HERE / "corpus" / "data"))
    src = data / f"{a.corpus}.jsonl"
    from_dir = not src.exists()
    if from_dir:
        src = data / a.corpus
    if not src.exists():
        raise SystemExit(f"no corpus {a.corpus} in {data} (benches/corpus/{a.corpus}.sh fetches it)")
    work = Path(tempfile.mkdtemp(prefix="serve-bench-", dir=os.environ.get("SERVE_WORK", ROOT / "target")))
    name = f"bench_{a.corpus}"
    procs = []
    try:
        if from_dir:
            # As benches/search.py reads a website: through `quire unpack --jsonl` of the
            # directory packed, so both archives hold the same files with the same types.
            packed, jsonl = work / "entries.quire", work / "entries.jsonl"
            subprocess.run([a.quire, "pack", "-q", "--index", "none", "-o", str(packed), str(src)],
                           check=True)
            with open(jsonl, "wb") as f:
                subprocess.run([a.quire, "unpack", str(packed), "--jsonl", "-"], check=True, stdout=f)
            lines = [ln for ln in jsonl.read_text(encoding="utf-8").splitlines()
                     if ln.strip() and not ln.startswith('{"archive"')]
            jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
            packed.unlink()
            entries = S.load_entries(str(jsonl), True)
            jsonl.unlink()
        else:
            entries = S.load_entries(str(src), False)
        print(f"serve.py: {a.corpus}: {len(entries)} entries; building the ZIM", file=sys.stderr)
        zim_path = work / f"{name}.zim"
        zim_info = S.build_zim(entries, str(zim_path), a.lang, True, from_dir, name)
        quire_path = work / f"{name}.quire"
        subprocess.run([a.quire, "pack", str(src), "-o", str(quire_path), "-q", "--index", "full",
                        "--language", a.lang], check=True)

        kport, qport = free_port(), free_port()
        kiwix = subprocess.Popen(["kiwix-serve", f"--port={kport}", "--address=127.0.0.1",
                                  str(zim_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(kiwix)
        quire = subprocess.Popen([a.quire, "serve", str(quire_path), "--addr", f"127.0.0.1:{qport}"],
                                 stderr=subprocess.DEVNULL)
        procs.append(quire)
        kbase, qbase = f"http://127.0.0.1:{kport}", f"http://127.0.0.1:{qport}"
        wait_up(kbase + "/")
        wait_up(qbase + "/")

        pool = [e for e in entries if S.is_html(e.mime)] if from_dir else entries
        rnd = random.Random(24)
        picks = [urllib.parse.quote(e.key, safe="/-._~") for e in rnd.choices(pool, k=2000)]
        paths = work / "paths.txt"
        paths.write_text("\n".join(picks) + "\n")
        # Both servers answer every path of the list (a failed one would flatter either).
        for p in picks[:50]:
            for url in (f"{kbase}/{name}/{p}", f"{qbase}/{name}/{p}"):
                with urllib.request.urlopen(url, timeout=10) as r:
                    assert r.status == 200, url
        rlua = work / "random.lua"
        rlua.write_text(RANDOM_LUA)
        slua = work / "search.lua"
        slua.write_text(SEARCH_LUA)
        qfile = HERE / "results" / f"search-{a.corpus}-queries.json"
        queries = [q["query"] for q in json.loads(qfile.read_text())["words"]][:200]
        qtxt = work / "queries.txt"
        qtxt.write_text("\n".join(urllib.parse.quote(q, safe="") for q in queries) + "\n")

        servers = {
            "quire": {"pid": quire.pid, "base": qbase, "prefix": f"/{name}/",
                      "search": (f"/-/search/{name}?q=", "")},
            # kiwix-serve 3.3 (Debian 12, libkiwix 11) serves a book's entries at /NAME/PATH;
            # later versions moved them to /content/NAME/PATH.
            "kiwix-serve": {"pid": kiwix.pid, "base": kbase, "prefix": f"/{name}/",
                            "search": (f"/search?content={name}&pattern=", "&pageLength=10")},
        }
        res = {"corpus": a.corpus, "entries": len(entries), "zim": zim_info,
               "quire_bytes": quire_path.stat().st_size, "load_before": S.loadavg(),
               "random": {}, "search": {}, "soak": {}, "rss_kb": {}}
        # Warm both (one pass over the paths), then measure, interleaved per level.
        for s in servers.values():
            wrk(s["base"], str(rlua), [s["prefix"], str(paths)], 16, 3)
        for conns in (1, 16, 64):
            for sname, s in servers.items():
                r = wrk(s["base"], str(rlua), [s["prefix"], str(paths)], conns, a.seconds)
                res["random"].setdefault(sname, []).append(r)
                print(f"serve.py: random {sname} c{conns}: {r['rps']:.0f}/s p50 {r['p50_ms']:.2f} ms "
                      f"p99 {r['p99_ms']:.2f} ms non-2xx {r['non_2xx']}", file=sys.stderr)
        for sname, s in servers.items():
            left, right = s["search"]
            wrk(s["base"], str(slua), [left, right, str(qtxt)], 16, 2)
            r = wrk(s["base"], str(slua), [left, right, str(qtxt)], 16, a.seconds)
            res["search"][sname] = r
            print(f"serve.py: search {sname}: {r['rps']:.0f}/s p50 {r['p50_ms']:.2f} ms "
                  f"p99 {r['p99_ms']:.2f} ms non-2xx {r['non_2xx']}", file=sys.stderr)
        for sname, s in servers.items():
            res["rss_kb"][sname] = rss_kb(s["pid"])
        if a.soak:
            soaked = servers if a.soak_peer else {"quire": servers["quire"]}
            for sname, s in soaked.items():
                done, samples = 0, []
                while done < 10_000:
                    done += wrk(s["base"], str(rlua), [s["prefix"], str(paths)], 16, 1)["requests"]
                first_rss = rss_kb(s["pid"])
                samples.append((done, first_rss))
                while done < a.soak:
                    r = wrk(s["base"], str(rlua), [s["prefix"], str(paths)], 16, 30)
                    done += r["requests"]
                    samples.append((done, rss_kb(s["pid"])))
                res["soak"][sname] = {"requests": done, "rss_first_kb": first_rss,
                                      "rss_end_kb": samples[-1][1], "samples": samples,
                                      "ratio": round(samples[-1][1] / first_rss, 3)}
                print(f"serve.py: soak {sname}: {done} requests, RSS {first_rss} -> "
                      f"{samples[-1][1]} kB", file=sys.stderr)
        res["load_after"] = S.loadavg()
        res["versions"] = {
            "quire": subprocess.run([a.quire, "--version"], capture_output=True, text=True).stdout.strip(),
            "commit": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                     capture_output=True, text=True).stdout.strip(),
            "kiwix-serve": subprocess.run(["kiwix-serve", "--version"], capture_output=True,
                                          text=True).stdout.split("\n")[0].strip(),
            "wrk": subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split(" [")[0].strip(),
        }
        out = HERE / "results" / f"serve-{a.corpus}"
        out.with_suffix(".json").write_text(json.dumps(res, indent=1) + "\n")
        out.with_suffix(".md").write_text(report(res, a))
        print(out.with_suffix(".md").read_text())
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


def report(res: dict, a) -> str:
    v = res["versions"]
    lines = [f"# quire serve against kiwix-serve: {res['corpus']} ({res['entries']} entries)", "",
             f"`benches/serve.sh {res['corpus']}`{' --soak ' + str(a.soak) if a.soak else ''}; "
             f"{v['quire']} at {v['commit']}, {v['kiwix-serve']}, {v['wrk']}; "
             f"wrk -t1, {a.seconds:g} s a run, `Accept-Encoding: gzip`; load {res['load_before']} "
             f"before, {res['load_after']} after. ZIM {res['zim']['bytes']} bytes (libzim, indexed), "
             f"quire {res['quire_bytes']} bytes (--index full).", "",
             "## Random articles (same 2,000 paths, same order)", "",
             "| connections | quire req/s | kiwix-serve req/s | ratio | quire p50 / p99 ms | kiwix p50 / p99 ms | p99 ratio |",
             "|---|---|---|---|---|---|---|"]
    for q, k in zip(res["random"]["quire"], res["random"]["kiwix-serve"]):
        lines.append(f"| {q['connections']} | {q['rps']:.0f} | {k['rps']:.0f} | {q['rps'] / k['rps']:.2f}× "
                     f"| {q['p50_ms']:.2f} / {q['p99_ms']:.2f} | {k['p50_ms']:.2f} / {k['p99_ms']:.2f} "
                     f"| {q['p99_ms'] / k['p99_ms']:.2f}× |")
    q, k = res["search"]["quire"], res["search"]["kiwix-serve"]
    lines += ["", "## Search (HTML results page, 10 results, 200 two-word queries, 16 connections)", "",
              "| | req/s | p50 ms | p99 ms | non-2xx |", "|---|---|---|---|---|",
              f"| quire | {q['rps']:.0f} | {q['p50_ms']:.2f} | {q['p99_ms']:.2f} | {q['non_2xx']} |",
              f"| kiwix-serve | {k['rps']:.0f} | {k['p50_ms']:.2f} | {k['p99_ms']:.2f} | {k['non_2xx']} |",
              f"", f"Search throughput ratio: {q['rps'] / k['rps']:.2f}×.", "",
              f"RSS after the runs: quire {res['rss_kb']['quire']} kB, kiwix-serve {res['rss_kb']['kiwix-serve']} kB."]
    if res["soak"]:
        lines += ["", "## Soak (16 connections)", "", "| | requests | RSS after ~10k kB | RSS at end kB | ratio |",
                  "|---|---|---|---|---|"]
        for sname, s in res["soak"].items():
            lines.append(f"| {sname} | {s['requests']} | {s['rss_first_kb']} | {s['rss_end_kb']} | {s['ratio']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
