#!/usr/bin/env bash
# Measures quire (this checkout's release build, default settings) against libzim on the
# benchmark corpora, and prints the markdown table of benches/corpus/REPORT-draft.md.
#
#   benches/zim/measure.sh [CORPUS...]     # default: news docs zh short
#
# For each corpus NAME (benches/corpus/data/NAME.jsonl; run benches/corpus/NAME.sh first):
#   - quire pack at defaults, REPS times (default 3) under /usr/bin/time -v: median wall time,
#     largest peak RSS; then `quire info`;
#   - benches/zim/zim.py build, REPS times under /usr/bin/time -v: median of its pack_seconds,
#     largest peak RSS;
#   - benches/zim/zim.py read (warm gets with default caches and with none, first get after
#     open, page-cache-cold first get).
# Everything lands in OUT (default /tmp/quire-corpora): NAME.quire, NAME.zim, NAME.info.txt,
# NAME.quire-time.N.txt, NAME.zim-build.N.json/.time.txt, NAME.zim-read.json, and table.md.
# Needs: cargo (builds target/release/quire if missing), /usr/bin/time, python3 with the
# libzim of benches/zim/requirements.txt.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${OUT:-/tmp/quire-corpora}"
reps="${REPS:-3}"
python="${PYTHON:-python3}"
quire="$root/target/release/quire"
corpora=("$@")
[[ ${#corpora[@]} -gt 0 ]] || corpora=(news docs zh short)

[[ -x "$quire" ]] || (cd "$root" && cargo build --release)
"$python" -c "import libzim" 2>/dev/null || {
    echo "measure.sh: libzim missing: $python -m pip install -r $here/requirements.txt" >&2
    exit 3
}
mkdir -p "$out"
echo "measure.sh: load $(cut -d' ' -f1-3 /proc/loadavg) at start, $(nproc) cores, results in $out" >&2

for name in "${corpora[@]}"; do
    corpus="$root/benches/corpus/data/$name.jsonl"
    [[ -s "$corpus" ]] || { echo "measure.sh: $corpus missing: run benches/corpus/$name.sh" >&2; exit 4; }
    for i in $(seq 1 "$reps"); do
        echo "measure.sh: $name: quire pack ($i/$reps)" >&2
        SOURCE_DATE_EPOCH=1700000000 /usr/bin/time -v -o "$out/$name.quire-time.$i.txt" \
            "$quire" pack -q -f -o "$out/$name.quire" "$corpus"
    done
    "$quire" info "$out/$name.quire" >"$out/$name.info.txt"
    for i in $(seq 1 "$reps"); do
        echo "measure.sh: $name: zim build ($i/$reps)" >&2
        /usr/bin/time -v -o "$out/$name.zim-build.$i.time.txt" \
            "$python" "$here/zim.py" build "$corpus" -o "$out/$name.zim" -f \
            >"$out/$name.zim-build.$i.json" 2>"$out/$name.zim-build.$i.log"
    done
    echo "measure.sh: $name: zim read" >&2
    "$python" "$here/zim.py" read "$out/$name.zim" "$corpus" >"$out/$name.zim-read.json"
done
echo "measure.sh: load $(cut -d' ' -f1-3 /proc/loadavg) at end" >&2

"$python" - "$out" "$root/benches/corpus/data" "${corpora[@]}" <<'PY' | tee "$out/table.md"
import base64
import glob
import json
import os
import re
import statistics
import sys

out, data, names = sys.argv[1], sys.argv[2], sys.argv[3:]


def gnu_time(path):
    t = open(path).read()
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", t)
    wall = int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) * 1024
    return wall, rss


def corpus_stats(path):
    sizes, keys = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if "body_base64" in r:
                sizes.append(len(base64.b64decode(r["body_base64"])))
            else:
                sizes.append(len((r.get("body") or "").encode("utf-8")))
            keys.append(len(r["key"].encode("utf-8")))
    return len(sizes), sum(sizes), statistics.median(sizes), statistics.mean(keys)


def info(path):
    t = open(path).read()
    sec = {m.group(1): int(m.group(2)) for m in re.finditer(r"^\s+(\w+)\s+(\d+) bytes at", t, re.M)}
    packed = int(re.search(r"packed size:\s+(\d+)", t).group(1))
    return packed, sec.get("dict", 0), sec.get("data", 0), sec


def mb(x):
    return f"{x / 1e6:.2f}"


rows = []
for n in names:
    entries, body, med, keylen = corpus_stats(os.path.join(data, f"{n}.jsonl"))
    qsize, qdict, qdata, _ = info(os.path.join(out, f"{n}.info.txt"))
    assert qsize == os.path.getsize(os.path.join(out, f"{n}.quire"))
    qt = [gnu_time(p) for p in sorted(glob.glob(os.path.join(out, f"{n}.quire-time.*.txt")))]
    q_wall = statistics.median(w for w, _ in qt)
    q_rss = max(r for _, r in qt)
    builds = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(out, f"{n}.zim-build.*.json")))]
    zt = [gnu_time(p) for p in sorted(glob.glob(os.path.join(out, f"{n}.zim-build.*.time.txt")))]
    z_secs = statistics.median(b["pack_seconds"] for b in builds)
    z_rss = max(r for _, r in zt)
    zb = builds[-1]
    zr = json.load(open(os.path.join(out, f"{n}.zim-read.json")))
    zsize = zb["file_bytes"]
    zsize_nx = zb["file_bytes_without_title_xapian"]
    rows.append([
        n, f"{entries:,}", mb(body), f"{med:,.0f}", f"{keylen:.1f}",
        f"{qsize:,}", f"{zsize:,}", f"{zsize_nx:,}",
        f"{qsize / zsize:.3f}", f"{qsize / zsize_nx:.3f}",
        f"{(qsize - qdict - qdata) / entries:.1f}",
        f"{body / 1e6 / q_wall:.2f} ({q_wall:.2f} s, {q_rss / 2**20:.0f} MiB)",
        f"{body / 1e6 / z_secs:.2f} ({z_secs:.2f} s, {z_rss / 2**20:.0f} MiB)",
        f"{zr['warm_default']['p50_us']:.1f} µs",
        f"{zr['warm_nocache']['p50_us'] / 1000:.2f} ms",
        f"{zr['first_after_open']['p50_us'] / 1000:.2f} ms",
        f"{zr['cold_first']['p50_us'] / 1000:.2f} ms",
    ])

head = [
    "corpus", "entries", "body MB", "median body (B)", "mean key (B)", "quire size (B)",
    "ZIM size (B)", "ZIM w/o Xapian title idx (B)", "quire/ZIM", "quire/ZIM w/o Xapian",
    "quire index B/entry", "quire pack MB/s (wall, peak RSS)", "ZIM pack MB/s (wall, peak RSS)",
    "libzim warm get p50, default caches", "libzim warm get p50, no caches",
    "libzim first get after open", "libzim cold first get",
]
print("| " + " | ".join(head) + " |")
print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(head))) + "|")
for r in rows:
    print("| " + " | ".join(r) + " |")
PY
