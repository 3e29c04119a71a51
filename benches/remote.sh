#!/usr/bin/env bash
# Remote reading (issue 11) per corpus, counted by the server: each corpus packed at defaults
# with the release `quire`, served by nginx on 127.0.0.1 (tests/servers/nginx.sh), and read
# with `quire get URL …`; writes benches/results/remote-<corpus>.md and prints a table.
#
#   benches/remote.sh [CORPUS...]          # default: news docs zh short
#
# Per corpus, from nginx's access log (one JSON record per request):
#   open + first article   requests and bytes of one `quire get URL KEY` process (median of 5
#                          keys), and its wall time (median of 5 runs, process start included)
#   further cold article   one `quire get URL K0 K1 … K200` process (one reader kept open):
#                          the log after K0's requests is cut at each block request (a lookup
#                          ends with its block), giving per article the requests (its page when
#                          not read before, its block) and bytes; medians over the 200 keys.
#                          Latency: (wall of 201 keys - wall of 1 key) / 200 (medians of 5
#                          processes each): a mean per article, not a median.
# Beside them the local figures of the same binary on the file (memory-mapped): open + first
# get + body (wall time of `quire get FILE KEY`, median of 5), and a warm get ((wall of 201
# keys − wall of 1 key) / 200, median of 5).
# The corpora are benches/corpus/data/CORPUS.jsonl (benches/corpus/CORPUS.sh fetches them);
# QUIRE_CORPUS_DIR names another directory. Needs nginx (installed by nginx.sh if missing),
# python3, cargo. Loopback figures on a shared machine: /proc/loadavg is recorded.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
data="${QUIRE_CORPUS_DIR:-$here/corpus/data}"
corpora=("$@")
[[ ${#corpora[@]} -gt 0 ]] || corpora=(news docs zh short)

cargo build --release -q -p quire-cli --manifest-path "$root/Cargo.toml"
quire="$root/target/release/quire"
work="$(mktemp -d "${TMPDIR:-/tmp}/quire-remote-bench.XXXXXX")"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cleanup() { bash "$root/tests/servers/nginx.sh" stop "$work/ng" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
bash "$root/tests/servers/nginx.sh" start "$work/ng" "$port" >/dev/null
mkdir -p "$root/benches/results"

for corpus in "${corpora[@]}"; do
    src="$data/$corpus.jsonl"
    [[ -f $src ]] || { echo "remote.sh: $src missing (run benches/corpus/$corpus.sh)" >&2; exit 1; }
    arc="$work/ng/www/$corpus.quire"
    "$quire" pack -q -o "$arc" "$src"
    QUIRE="$quire" ARC="$arc" URL="http://127.0.0.1:$port/$corpus.quire" LOG="$work/ng/access.log" \
        CORPUS="$corpus" OUT="$root/benches/results/remote-$corpus.md" \
        python3 - <<'PY'
import json, os, random, statistics as st, subprocess, time

quire, arc, url, logf = os.environ["QUIRE"], os.environ["ARC"], os.environ["URL"], os.environ["LOG"]
corpus, out = os.environ["CORPUS"], os.environ["OUT"]
info = json.loads(subprocess.run([quire, "info", "--json", arc], check=True, capture_output=True).stdout)
sec = {s["name"]: (s["offset"], s["offset"] + s["length"]) for s in info["sections"]}
keys = subprocess.run([quire, "ls", arc], check=True, capture_output=True, text=True).stdout.split("\n")[:-1]
rng = random.Random(11)
picked = rng.sample(keys, min(len(keys), 201 + 5))
first5, further = picked[:5], picked[5:]

def log():
    with open(logf) as f:
        return [json.loads(l) for l in f if l.strip()]

def settle():
    n = -1
    while True:
        time.sleep(0.15)
        m = len(log())
        if m == n:
            return m
        n = m

def kind(r):
    a, b = (int(x) for x in r["range"].removeprefix("bytes=").split("-"))
    for name, (s, e) in sec.items():
        if s <= a and b < e:
            return name
    return "prelude" if a == 0 else "?"

def wall(args, runs=5):
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        ts.append(time.perf_counter() - t)
    return st.median(ts)

# Open + first article: one process per key.
reqs, byts, walls = [], [], []
for k in first5:
    mark = settle()
    t = time.perf_counter()
    subprocess.run([quire, "get", url, k], check=True, stdout=subprocess.DEVNULL)
    walls.append(time.perf_counter() - t)
    mark2 = settle()
    got = log()[mark:mark2]
    reqs.append(len(got)); byts.append(sum(r["body_bytes_sent"] for r in got))
first_walls = [wall([quire, "get", url, first5[0]], 1) for _ in range(5)]
open_first = dict(requests=st.median(reqs), bytes=st.median(byts), ms=st.median(first_walls) * 1e3)

# Further cold articles: one reader over 201 keys.
mark = settle()
subprocess.run([quire, "get", url, *further], check=True, stdout=subprocess.DEVNULL)
settle()
got = log()[mark:]
# Drop the first article's own requests: everything up to its block.
i = next(i for i, r in enumerate(got) if kind(r) == "DATA")
rest, prev_end = got[i + 1:], got[i]["time"]
groups, cur, lat = [], [], []
for r in rest:
    cur.append(r)
    if kind(r) == "DATA":
        groups.append(cur); lat.append(r["time"] - prev_end); prev_end = r["time"]; cur = []
per_req = [len(g) for g in groups]
per_bytes = [sum(r["body_bytes_sent"] for r in g) for g in groups]
# Latency: (wall of 201 keys - wall of 1 key) / 200, medians of 5 fresh processes each (the
# log's millisecond resolution is too coarse for loopback).
rmany = [wall([quire, "get", url, *further], 1) for _ in range(5)]
rone = [wall([quire, "get", url, further[0]], 1) for _ in range(5)]
further_fig = dict(n=len(groups), requests=st.median(per_req), bytes=st.median(per_bytes),
                   mean_requests=st.mean(per_req), max_requests=max(per_req),
                   ms=(st.median(rmany) - st.median(rone)) / (len(further) - 1) * 1e3,
                   pages=sum(1 for r in rest if kind(r) == "INDEX"))

# Local: the same binary on the file.
local_first = wall([quire, "get", arc, first5[0]]) * 1e3
many = [wall([quire, "get", arc, *further], 1) for _ in range(5)]
one = [wall([quire, "get", arc, further[0]], 1) for _ in range(5)]
local_warm = (st.median(many) - st.median(one)) / (len(further) - 1) * 1e3

load = open("/proc/loadavg").read().split()[:3]
row = dict(corpus=corpus, entries=info["entries"], file=info["file_bytes"],
           dict=info["dictionary_stored_bytes"], open_first=open_first, further=further_fig,
           local_first_ms=local_first, local_warm_ms=local_warm, load=" ".join(load))
md = f"""# Remote reading: {corpus}

`benches/remote.sh {corpus}`: `quire` (release) over HTTP from nginx on 127.0.0.1, counted
from nginx's access log; beside it the same binary on the local file (memory-mapped).
Machine: 2 shared cores, load average {' '.join(load)} at the end.

Archive: {info['entries']} entries, {info['file_bytes']} bytes, stored dictionary
{info['dictionary_stored_bytes']} bytes, index depth {info['index_depth']}.

| | requests | bytes | latency | local (mmap) |
|---|---:|---:|---:|---:|
| open + first article (one `quire get URL KEY` process, 5 keys; wall of 5 runs) | {open_first['requests']:g} | {open_first['bytes']:,.0f} | {open_first['ms']:.1f} ms | {local_first:.1f} ms (open + first get + body) |
| further cold article (one reader over {len(further) - 1} random keys; requests and bytes: medians over the {further_fig['n']} that needed a block) | {further_fig['requests']:g} (mean {further_fig['mean_requests']:.2f}, max {further_fig['max_requests']}) | {further_fig['bytes']:,.0f} | {further_fig['ms']:.2f} ms | {local_warm:.3f} ms (warm get) |

Index pages fetched over the further articles: {further_fig['pages']} (an article on a page not
read before costs 2 requests, its page and its block; the rest 1). {len(further) - 1 - further_fig['n']}
of the {len(further) - 1} keys needed no request (their block was fetched before). Latency of a
further article, remote and local alike: (wall of 201 keys − wall of 1 key) / 200, medians of
5 processes each.
"""
open(out, "w").write(md)
with open(out.removesuffix(".md") + ".json", "w") as f:
    json.dump(row, f, indent=1)
print(json.dumps(row))
PY
done

echo
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (2 shared cores)"
python3 - "$root/benches/results" "${corpora[@]}" <<'PY'
import json, sys
d = sys.argv[1]
print(f"{'corpus':<7} {'open+first req':>14} {'bytes':>10} {'ms':>7} {'local ms':>8} | {'further req':>11} {'bytes':>8} {'ms':>6} {'local warm ms':>13}")
for c in sys.argv[2:]:
    r = json.load(open(f"{d}/remote-{c}.json"))
    o, f = r["open_first"], r["further"]
    print(f"{c:<7} {o['requests']:>14g} {o['bytes']:>10,.0f} {o['ms']:>7.1f} {r['local_first_ms']:>8.1f} | {f['requests']:>11g} {f['bytes']:>8,.0f} {f['ms']:>6.2f} {r['local_warm_ms']:>13.3f}")
PY
