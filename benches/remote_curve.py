#!/usr/bin/env python3
"""One corpus of benches/remote-curve.sh (see there): the environment names the binary, the
input, nginx's document root, URL and access log, and where the results go."""

import json
import os
import random
import resource
import subprocess
import time

E = os.environ
quire, inp, corpus, work, www = E["QUIRE"], E["INPUT"], E["CORPUS"], E["WORK"], E["WWW"]
base_url, logf, out = E["URL"], E["LOG"], E["OUT"]
KIB = 1024
BOUND_BYTES, BOUND_REQUESTS = 256 * KIB, 4
ROWS = {
    "none": ["--no-dict"],
    "d64k": ["--dict-size", "64K"],
    "d256k": ["--dict-size", "256K"],
    "d512k": ["--dict-size", "512K"],
    "d1m": ["--dict-size", "1M"],
    "d2m": ["--dict-size", "2M"],
    "default": [],
    "remote": ["--preset", "remote"],
    "remote-s96k": ["--preset", "remote", "--dict-stored-max", "96K"],
    "remote-s224k": ["--preset", "remote", "--dict-stored-max", "224K"],
    "remote-none": ["--preset", "remote", "--no-dict"],
}
names = [r for r in E.get("REMOTE_CURVE_ROWS", ",".join(ROWS)).split(",") if r]
load_start = " ".join(open("/proc/loadavg").read().split()[:3])
started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def log():
    with open(logf) as f:
        return [json.loads(l) for l in f if l.endswith("\n") and l.strip()]


def settle():
    n = -1
    while True:
        time.sleep(0.15)
        m = len(log())
        if m == n:
            return m
        n = m


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


# libzim's ZIM, once.
zim = os.path.join(work, f"{corpus}.zim")
zargs = ["python3", E["ZIM_PY"], "build", inp, "-o", zim, "--force", "--no-front-articles"]
if os.path.isdir(inp):
    typed = os.path.join(work, f"{corpus}.types.quire")
    subprocess.run([quire, "pack", "-q", "-f", "--index", "none", "--no-dict", "--level", "1",
                    "-o", typed, inp], check=True, env={**E, "SOURCE_DATE_EPOCH": "1700000000"})
    zargs += ["--quire-archive", typed, "--quire", quire]
print(f"remote-curve: {corpus}: libzim ZIM", flush=True)
zb = json.loads(subprocess.run(zargs, check=True, capture_output=True).stdout)
zim_bytes = zb["file_bytes"]
try:
    import importlib.metadata as im
    pylibzim = im.version("libzim")
except Exception:  # noqa: BLE001 (a version string only)
    pylibzim = "?"
libzim = f"libzim {zb['versions'].get('libzim', '?')} (python-libzim {pylibzim})"
if os.path.isdir(inp):
    os.remove(typed)
os.remove(zim)

rows, keys = [], None
for name in names:
    args = ROWS[name]
    arc = os.path.join(www, f"{corpus}-{name}.quire")
    print(f"remote-curve: {corpus}: {name} {' '.join(args)} (load {open('/proc/loadavg').read().split()[0]})", flush=True)
    c0, t0 = cpu_children(), time.perf_counter()
    p = subprocess.run([quire, "pack", "-q", "-f", "--index", "none", "--threads", "2", "--json",
                        *args, "-o", arc, inp], check=True, capture_output=True,
                       env={**E, "SOURCE_DATE_EPOCH": "1700000000"})
    wall, cpu = time.perf_counter() - t0, cpu_children() - c0
    packed = json.loads(p.stdout)
    info = json.loads(subprocess.run([quire, "info", "--json", arc], check=True, capture_output=True).stdout)
    sec = {s["name"]: (s["offset"], s["offset"] + s["length"]) for s in info["sections"]}
    if keys is None:
        every = subprocess.run([quire, "ls", arc], check=True, capture_output=True, text=True).stdout.split("\n")[:-1]
        keys = random.Random(26).sample(every, min(5, len(every)))

    def kind(r):
        a, b = (int(x) for x in r["range"].removeprefix("bytes=").split("-"))
        for n, (s, e) in sec.items():
            if s <= a and b < e:
                return n
        return "prelude" if a == 0 else "?"

    url = f"{base_url}/{corpus}-{name}.quire"
    gets = []
    for k in keys:
        mark = settle()
        g = subprocess.run([quire, "get", url, k], check=True, capture_output=True)
        got = log()[mark:settle()]
        by = {}
        for r in got:
            by[kind(r)] = by.get(kind(r), 0) + r["body_bytes_sent"]
        gets.append(dict(key=k, body=len(g.stdout), requests=len(got),
                         bytes=sum(r["body_bytes_sent"] for r in got), by=by))
    worst = max(gets, key=lambda g: (g["bytes"], g["requests"]))
    row = dict(row=name, args=args, file=packed["file_bytes"], vs_zim=packed["file_bytes"] / zim_bytes,
               dict_raw=packed["dictionary_bytes"], dict_stored=packed["dictionary_stored_bytes"],
               blocks=packed["blocks"], block_target=info.get("block_target"),
               pack_s=wall, pack_cpu_s=cpu,
               max_requests=max(g["requests"] for g in gets), max_bytes=worst["bytes"],
               worst=worst, gets=gets)
    row["ok"] = (row["max_requests"] <= BOUND_REQUESTS and row["max_bytes"] <= BOUND_BYTES
                 and row["vs_zim"] <= 1.05)
    rows.append(row)
    os.remove(arc)
    print(f"remote-curve: {corpus}: {name}: {row['file']:,} B = {row['vs_zim']:.3f}x ZIM, dict "
          f"{row['dict_raw']:,} raw / {row['dict_stored']:,} stored, first article max "
          f"{row['max_requests']} req {row['max_bytes']:,} B, pack {wall:.1f} s", flush=True)

load_end = " ".join(open("/proc/loadavg").read().split()[:3])
dirty = int(E.get("DIRTY", "0"))
meta = dict(corpus=corpus, input=os.path.basename(inp.rstrip("/")), commit=E.get("COMMIT"),
            dirty_files=dirty, zim_bytes=zim_bytes, libzim=libzim, keys=keys,
            started=started, load_start=load_start, load_end=load_end)
with open(out + ".json", "w") as f:
    json.dump(dict(meta, rows=rows), f, indent=1)


def kib(n):
    return f"{n / KIB:,.1f}"


lines = [
    f"# Issue 26: the first remote article, {corpus}",
    "",
    f"`benches/remote-curve.sh {corpus}` at quire {E.get('COMMIT')}"
    + (f" (+ {dirty} uncommitted files in src/ cli/)" if dirty else "")
    + f", {started}, load {load_start} at the start, {load_end} at the end (2 shared cores).",
    f"ZIM: {zim_bytes:,} B, {libzim}, `zim.py build --no-front-articles` (no indexes). Archives:",
    "`quire pack --index none --threads 2 ARGS`. Open + first article: one `quire get URL KEY`",
    "process per key against nginx on 127.0.0.1, requests and body bytes from its access log; the",
    f"max over the keys {', '.join(repr(k) for k in keys)} (random.Random(26)); bound ≤ {BOUND_REQUESTS}",
    f"requests and ≤ 256 KiB, archive ≤ 1.05× the ZIM.",
    "",
    "| row | args | dictionary raw | stored | archive B | / ZIM | block target | first article: max requests | max KiB (dict + index + prelude + data) | worst key's body B | pack s (CPU s) | |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
]
for r in rows:
    w = r["worst"]["by"]
    parts = " + ".join(kib(w.get(k, 0)) for k in ("DICT", "INDEX", "prelude", "DATA"))
    lines.append(
        f"| {r['row']} | `{' '.join(r['args']) or '(defaults)'}` | {r['dict_raw']:,} | {r['dict_stored']:,} | "
        f"{r['file']:,} | {r['vs_zim']:.3f} | {r['block_target'] or '?'} | {r['max_requests']} | "
        f"{kib(r['max_bytes'])} ({parts}) | {r['worst']['body']:,} | {r['pack_s']:.1f} ({r['pack_cpu_s']:.1f}) | "
        f"{'✓' if r['ok'] else '✗'} |")
lines += ["", "Per key (requests, KiB):", ""]
for r in rows:
    lines.append(f"- {r['row']}: " + "; ".join(
        f"{g['key']!r} {g['requests']}, {kib(g['bytes'])} (body {kib(g['body'])})" for g in r["gets"]))
open(out + ".md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines[9:9 + 2 + len(rows)]))
