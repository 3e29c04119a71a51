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
#
# Issue 20 ("remote reads fetch what they use"), each figure against its bound, PASS/FAIL:
#   ls / info / info --json URL   requests and bytes (nginx's log), bound: bytes ≤ prelude +
#                                 INDEX + 16 KiB (from `quire info --json FILE`; prelude =
#                                 prelude_bytes, else the first section's offset)
#   missing key                   `quire get URL MISSING` (exit 3), 5 keys: requests ≤ 3, bytes ≤
#                                 prelude + 48 KiB
#   verify URL                    bytes ≤ 1.01 × the file, requests (exit 0)
#   first get                     5 keys, one process each, behind tests/servers/proxy.py with
#                                 --delay 0.3: requests (4) and round trips (3) from the proxy's
#                                 log: sorted by start, a request starting within 0.3 s of the
#                                 first request of the current round trip joins it, else it
#                                 starts the next (a request that needs an answer cannot start
#                                 before that answer, ≥ 0.3 s later)
#   get K1…K20, K1…K100           behind the proxy with --delay 1: wall (median of 5 processes;
#                                 bounds ≤ 5 s and ≤ 8 s, the issue's CLI and get_many bounds)
#                                 and the most requests in flight (`proxy.py --in-flight`, ≥ 16)
#   get K1…K20 behind --delay 5   one run (the issue's before figure: 121 s); QUIRE_BENCH_SLOW=0
#                                 leaves it out
# Counts are judged on the worst of the runs (max), and given as median (max).
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
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port="$(freeport)"
proxy_pids=()
cleanup() {
    local p
    for p in "${proxy_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    bash "$root/tests/servers/nginx.sh" stop "$work/ng" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
bash "$root/tests/servers/nginx.sh" start "$work/ng" "$port" >/dev/null
mkdir -p "$root/benches/results"
# Delay proxies in front of nginx (issue 20): 0.3 s for round trips, 1 s for many keys, 5 s for
# the issue's before figure. Each logs to its own file, which the figures read by line offset.
start_proxy() { # NAME DELAY -> sets proxy_port_NAME
    local name=$1 delay=$2 pport
    pport="$(freeport)"
    python3 "$root/tests/servers/proxy.py" --port "$pport" --upstream "http://127.0.0.1:$port" \
        --delay "$delay" --log "$work/proxy-$name.log" >"$work/proxy-$name.out" 2>&1 &
    proxy_pids+=($!)
    for _ in $(seq 100); do grep -q ready "$work/proxy-$name.out" 2>/dev/null && break; sleep 0.1; done
    grep -q ready "$work/proxy-$name.out" || { echo "remote.sh: proxy $name did not start" >&2; cat "$work/proxy-$name.out" >&2; exit 1; }
    touch "$work/proxy-$name.log"
    printf -v "proxy_port_$name" %s "$pport"
}
start_proxy rt 0.3
start_proxy many 1
start_proxy slow 5
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
dirty="$(git -C "$root" status --porcelain --untracked-files=no -- src cli 2>/dev/null | wc -l)"
started="$(date -u +%Y-%m-%dT%H:%MZ)"
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"

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
file_bytes = os.path.getsize(arc)
dict_stored = sec["DICT"][1] - sec["DICT"][0] if "DICT" in sec else 0
row = dict(corpus=corpus, entries=info["entries"], file=file_bytes,
           dict=dict_stored, open_first=open_first, further=further_fig,
           local_first_ms=local_first, local_warm_ms=local_warm, load=" ".join(load))
md = f"""# Remote reading: {corpus}

`benches/remote.sh {corpus}`: `quire` (release) over HTTP from nginx on 127.0.0.1, counted
from nginx's access log; beside it the same binary on the local file (memory-mapped).
Machine: 2 shared cores, load average {' '.join(load)} at the end.

Archive: {info['entries']} entries, {file_bytes} bytes, stored dictionary
{dict_stored} bytes, index depth {info.get('index_depth', '?')}.

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
    # Issue 20: remote reads fetch what they use (appended to the same .md and .json).
    QUIRE="$quire" ARC="$arc" NAME="$corpus.quire" PORT="$port" LOG="$work/ng/access.log" \
        RT_PORT="$proxy_port_rt" RT_LOG="$work/proxy-rt.log" \
        MANY_PORT="$proxy_port_many" MANY_LOG="$work/proxy-many.log" \
        SLOW_PORT="$proxy_port_slow" SLOW_LOG="$work/proxy-slow.log" SLOW="${QUIRE_BENCH_SLOW:-1}" \
        PROXY="$root/tests/servers/proxy.py" WORK="$work" CORPUS="$corpus" \
        OUT="$root/benches/results/remote-$corpus.md" COMMIT="$commit" DIRTY="$dirty" \
        python3 - <<'PY'
import json, os, random, statistics as st, subprocess, time

E = os.environ
quire, arc, name, port, corpus, out = E["QUIRE"], E["ARC"], E["NAME"], E["PORT"], E["CORPUS"], E["OUT"]
url = f"http://127.0.0.1:{port}/{name}"
info = json.loads(subprocess.run([quire, "info", "--json", arc], check=True, capture_output=True).stdout)
sec = {s["name"]: (s["offset"], s["length"]) for s in info["sections"]}
prelude = info.get("prelude_bytes", info.get("prelude_len"))
if prelude is None:
    prelude = min(o for o, _ in sec.values())
index_bytes = sec["INDEX"][1]
file_bytes = os.path.getsize(arc)
keys = subprocess.run([quire, "ls", arc], check=True, capture_output=True, text=True).stdout.split("\n")[:-1]
rng = random.Random(20)
RUNS = 5

def lines(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.endswith("\n") and l.strip()]

def settle(path):
    # Both logs get a line when a request ends: wait until the count stops moving.
    n = -1
    while True:
        time.sleep(0.2)
        m = len(lines(path))
        if m == n:
            return m
        n = m

NGINX = E["LOG"]

def run(args, log=NGINX, ok=(0,)):
    """One process; what reached the server (log lines), its exit code and wall time."""
    mark = settle(log)
    t = time.perf_counter()
    p = subprocess.run([quire, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t
    if p.returncode not in ok:
        raise SystemExit(f"remote.sh: quire {' '.join(args[:3])}… exited {p.returncode}: {p.stderr.decode()[-300:]}")
    end = settle(log)
    return lines(log)[mark:end], p.returncode, wall

def nbytes(recs):
    return sum(int(r.get("body_bytes_sent", r.get("bytes", 0))) for r in recs)

def med(xs):
    return st.median(xs)

rows = []  # (figure, measured text, bound text, pass)
evidence = {}

def show(recs):
    return [f"{r.get('range')} {r.get('status')} {r.get('body_bytes_sent', r.get('bytes'))}" for r in recs]

# 1. ls, info, info --json: counted by nginx.
walk_bound = prelude + index_bytes + 16384
for label, args in (("ls URL", ["ls", url]), ("info URL", ["info", url]),
                    ("info --json URL", ["info", "--json", url])):
    reqs, byts = [], []
    for _ in range(RUNS):
        recs, _, _ = run(args)
        reqs.append(len(recs)); byts.append(nbytes(recs))
    ok = max(byts) <= walk_bound
    rows.append((f"`{label}`: bytes", f"{med(byts):,.0f} (max {max(byts):,}; {med(byts) / file_bytes:.1%} of the file), {med(reqs):g} requests (max {max(reqs)})",
                 f"≤ prelude + INDEX + 16 KiB = {prelude:,} + {index_bytes:,} + 16,384 = {walk_bound:,}", ok,
                 f"{max(byts):,} B ≤ {walk_bound:,} ({max(byts) / file_bytes:.1%}), {max(reqs)} req"))
    evidence[label] = show(recs)

# 2. A missing key: exit 3.
missing = ["no-such-key"] + [k + "\x7fno-such-key" for k in rng.sample(keys, RUNS - 1)]
miss_bound = prelude + 48 * 1024
reqs, byts = [], []
for k in missing:
    recs, code, _ = run(["get", url, k], ok=(3,))
    reqs.append(len(recs)); byts.append(nbytes(recs))
    evidence.setdefault("missing key", []).extend([f"[{k!r}]"] + show(recs))
rows.append(("missing key (`get URL MISSING`, exit 3, 5 keys): requests", f"{med(reqs):g} (max {max(reqs)})", "≤ 3", max(reqs) <= 3, f"{max(reqs)} req ≤ 3"))
rows.append(("missing key: bytes", f"{med(byts):,.0f} (max {max(byts):,})", f"≤ prelude + 48 KiB = {miss_bound:,}", max(byts) <= miss_bound, f"{max(byts):,} B ≤ {miss_bound:,}"))

# 3. verify URL.
reqs, byts = [], []
for _ in range(RUNS):
    recs, _, _ = run(["verify", url])
    reqs.append(len(recs)); byts.append(nbytes(recs))
evidence["verify URL"] = show(recs)
rows.append(("`verify URL`: bytes", f"{med(byts):,.0f} (max {max(byts):,}) = {max(byts) / file_bytes:.4f} × the file, {med(reqs):g} requests (max {max(reqs)})",
             f"≤ 1.01 × {file_bytes:,} = {int(1.01 * file_bytes):,}", max(byts) <= 1.01 * file_bytes,
             f"{max(byts) / file_bytes:.4f} × the file, {max(reqs)} req"))

# 4. A first get behind the 0.3 s proxy: requests and round trips.
DELAY = 0.3
def round_trips(recs, delay):
    starts = sorted(r["start"] for r in recs)
    trips, first = 0, None
    for s in starts:
        if first is None or s - first >= delay:
            trips += 1; first = s
    return trips

rt_url = f"http://127.0.0.1:{E['RT_PORT']}/{name}"
reqs, trips, byts, ngx = [], [], [], []
for k in rng.sample(keys, RUNS):
    mark_n = settle(NGINX)
    recs, _, _ = run(["get", rt_url, k], log=E["RT_LOG"])
    ngx.append(len(lines(NGINX)[mark_n:settle(NGINX)]))
    reqs.append(len(recs)); trips.append(round_trips(recs, DELAY)); byts.append(sum(r["bytes"] for r in recs))
    t0 = min(r["start"] for r in recs)
    evidence.setdefault("first get (proxy 0.3 s)", []).extend(
        [f"[{k!r}]"] + [f"start +{r['start'] - t0:.3f} end +{r['end'] - t0:.3f} {r['range']} {r['status']} {r['bytes']}"
                        for r in sorted(recs, key=lambda r: r["start"])])
rows.append(("first `get URL KEY` (5 keys, proxy 0.3 s): requests", f"{med(reqs):g} (max {max(reqs)}; nginx saw {max(ngx)} at most), {med(byts):,.0f} bytes", "4", max(reqs) <= 4, f"{max(reqs)} req"))
rows.append(("first `get URL KEY`: round trips", f"{med(trips):g} (max {max(trips)})", "3", max(trips) <= 3, f"{max(trips)} round trips"))

# 5. Many keys behind the 1 s proxy: wall and requests in flight together.
def inflight(recs):
    tmp = os.path.join(E["WORK"], "inflight.log")
    with open(tmp, "w") as f:
        for r in recs:
            f.write(json.dumps(r) + "\n")
    return int(subprocess.run(["python3", E["PROXY"], "--in-flight", tmp], check=True,
                              capture_output=True, text=True).stdout.split()[0])

many_url = f"http://127.0.0.1:{E['MANY_PORT']}/{name}"
many = {}
for n, bound in ((20, 5.0), (100, 8.0)):
    ks = rng.sample(keys, min(n, len(keys)))
    walls, fl, reqs, trips = [], [], [], []
    for _ in range(RUNS):
        recs, _, wall = run(["get", many_url, *ks], log=E["MANY_LOG"])
        walls.append(wall); fl.append(inflight(recs)); reqs.append(len(recs)); trips.append(round_trips(recs, 1.0))
    many[n] = dict(wall=med(walls), walls=walls, inflight=med(fl), inflight_min=min(fl), requests=med(reqs), round_trips=med(trips))
    t0 = min(r["start"] for r in recs)
    evidence[f"get K1…K{n} (proxy 1 s), by round trip"] = [
        f"start +{r['start'] - t0:.3f} end +{r['end'] - t0:.3f} {r['range']} {r['status']} {r['bytes']}"
        for r in sorted(recs, key=lambda r: r["start"])]
    rows.append((f"`get URL K1…K{n}` (proxy 1 s): wall", f"{med(walls):.2f} s (runs {', '.join(f'{w:.2f}' for w in walls)}), {med(reqs):g} requests in {med(trips):g} round trips",
                 f"≤ {bound:g} s" + (" (the issue's CLI bound)" if n == 20 else " (the issue's Python get_many bound)"), med(walls) <= bound,
                 f"{med(walls):.2f} s ≤ {bound:g} s"))
    rows.append((f"`get URL K1…K{n}`: most in flight together", f"{med(fl):g} (min {min(fl)})", "≥ 16", min(fl) >= 16, f"{min(fl)} in flight ≥ 16"))

# ls behind the 1 s proxy (one run; no bound): index pages one after another show as round trips.
recs, _, wall = run(["ls", many_url], log=E["MANY_LOG"])
ls_slow = dict(wall=wall, requests=len(recs), round_trips=round_trips(recs, 1.0))

slow = None
if E.get("SLOW", "1") != "0":
    ks = rng.sample(keys, min(20, len(keys)))
    recs, _, wall = run(["get", f"http://127.0.0.1:{E['SLOW_PORT']}/{name}", *ks], log=E["SLOW_LOG"])
    recs1, _, wall1 = run(["get", f"http://127.0.0.1:{E['SLOW_PORT']}/{name}", ks[0]], log=E["SLOW_LOG"])
    slow = dict(wall20=wall, wall1=wall1, inflight=inflight(recs), requests=len(recs))

load = open("/proc/loadavg").read().split()[:3]
res = dict(prelude=prelude, index=index_bytes, file=file_bytes,
           rows=[dict(figure=f, measured=m, bound=b, ok=ok, short=sh) for f, m, b, ok, sh in rows],
           many=many, slow=slow, ls_slow=ls_slow, load=" ".join(load), commit=E["COMMIT"], dirty=int(E["DIRTY"]))
md = [f"""

## Issue 20: remote reads fetch what they use

`benches/remote.sh {corpus}` at quire {E['COMMIT']}{' (with uncommitted changes in src/ or cli/)' if int(E['DIRTY']) else ''},
{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {' '.join(load)} (2 shared cores). Bytes are
body bytes from nginx's access log (ls, info, missing key, verify) or the proxy's log (behind
`tests/servers/proxy.py`); counts are the median (max) of {RUNS} runs and judged on the max,
times the median of {RUNS} processes. Prelude {prelude:,} bytes, INDEX {index_bytes:,} bytes, file
{file_bytes:,} bytes. Round trips: the proxy's log sorted by start; a request starting within
{DELAY} s (the delay) of the first request of the current round trip joins it.

| figure | measured | bound | |
|---|---|---|---|
"""]
for f, m, b, ok, _ in rows:
    md.append(f"| {f} | {m} | {b} | {'PASS' if ok else '**FAIL**'} |\n")
if slow:
    md.append(f"\nBehind a 5 s proxy (one run each): 1 key {slow['wall1']:.1f} s, 20 keys {slow['wall20']:.1f} s "
              f"({slow['requests']} requests, {slow['inflight']} in flight at most); before issue 20: 15 s and 121 s.\n")
md.append(f"\n`ls URL` behind the 1 s proxy (one run, no bound): {ls_slow['wall']:.1f} s, {ls_slow['requests']} requests in "
          f"{ls_slow['round_trips']} round trips.\n")
md.append("\nWhat was fetched (last run of each; `range status bytes`):\n\n```\n")
for label, ev in evidence.items():
    md.append(f"{label}:\n" + "".join(f"  {l}\n" for l in ev))
md.append("```\n")
with open(out, "a") as f:
    f.write("".join(md))
jpath = out.removesuffix(".md") + ".json"
row = json.load(open(jpath))
row["issue20"] = res
with open(jpath, "w") as f:
    json.dump(row, f, indent=1)
for f_, m, b, ok, _ in rows:
    print(f"{corpus:<6} {'PASS' if ok else 'FAIL'}  {f_}: {m}  [{b}]")
if slow:
    print(f"{corpus:<6} 5 s proxy: 1 key {slow['wall1']:.1f} s, 20 keys {slow['wall20']:.1f} s")
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

# Issue 20's summary across the corpora: benches/results/remote-issue20.md (the table that
# BENCHMARKS.md quotes) and on stdout.
CMD="benches/remote.sh $*" STARTED="$started" LOAD_START="$load_start" \
python3 - "$root/benches/results" "${corpora[@]}" <<'PY'
import json, os, re, sys, time
d, corpora = sys.argv[1], sys.argv[2:]
res = {c: json.load(open(f"{d}/remote-{c}.json")).get("issue20") for c in corpora}
res = {c: r for c, r in res.items() if r}
if not res:
    sys.exit(0)
first = next(iter(res.values()))
figs = [r["figure"] for r in first["rows"]]
load_end = " ".join(open("/proc/loadavg").read().split()[:3])
out = [f"""# Issue 20: remote reads fetch what they use (all corpora)

Command: `{os.environ['CMD'].strip()}`; quire {first['commit']}{' (with uncommitted changes in src/ or cli/)' if first['dirty'] else ''};
started {os.environ['STARTED']}, finished {time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}; load average
{os.environ['LOAD_START']} at the start, {load_end} at the end (2 shared cores). Each cell: the
figure judged (the max of 5 runs for counts, the median of 5 for times) and PASS/FAIL against the
issue's bound. Details and the fetched ranges: `benches/results/remote-<corpus>.md`.

| figure | bound | {' | '.join(res)} |
|---|---|{'---|' * len(res)}
"""]
for i, f in enumerate(figs):
    cells = []
    for c, r in res.items():
        row = r["rows"][i]
        cells.append(f"{row['short']} {'PASS' if row['ok'] else '**FAIL**'}")
    bound = re.sub(r"× [\d,]+$", "× the file", first['rows'][i]['bound'].split(' = ')[0])
    out.append(f"| {f} | {bound} | {' | '.join(cells)} |\n")
slow = {c: r["slow"] for c, r in res.items() if r.get("slow")}
if slow:
    out.append("\nBehind a 5 s proxy, one run each (before issue 20: 1 key 15 s, 20 keys 121 s): "
               + "; ".join(f"{c} 1 key {s['wall1']:.1f} s, 20 keys {s['wall20']:.1f} s" for c, s in slow.items()) + ".\n")
text = "".join(out)
open(f"{d}/remote-issue20.md", "w").write(text)
print()
print(text)
fails = sum(not row["ok"] for r in res.values() for row in r["rows"])
print(f"issue 20: {sum(len(r['rows']) for r in res.values()) - fails} PASS, {fails} FAIL")
PY
