#!/usr/bin/env bash
# Builds the short benchmark corpus: the Free On-line Dictionary of Computing (FOLDOC) from
# the Debian package dict-foldoc=20230119-1 (bookworm/main; /usr/share/dictd/foldoc.dict.dz
# and foldoc.index, the dictd format), one entry per definition, converted to quire JSONL:
#   {"key": "association for simula users", "title": "Association for SIMULA Users",
#    "date": "1995-03-29", "content_type": "text/plain", "body": ...}
# written to benches/corpus/data/short.jsonl (gitignored: the text is never committed).
#
# The index maps ~15,000 lower-case headwords to ~12,000 definitions (aliases share one). Each
# definition becomes one entry: key = the index headword that spells its first line (else its
# first headword in index order; a later definition under a taken key gets " (2)", ...);
# title = its first line; body = the definition as dictd serves it (headword line, text,
# "(YYYY-MM-DD)" last-edit stamp); date = that stamp. The 00-database-* metadata entries are
# left out. Shape, unlike news: ~12,000 entries, median body ~300 B, keys ~11 B.
#
# Needs bash, apt-get (Debian's package index: run `apt-get update` once), dpkg-deb and
# Python's standard library; nothing is installed. Idempotent: does nothing when the output
# already exists (pass --force to rebuild).
#
# Usage: benches/corpus/short.sh [--force] [OUTPUT]
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" short "$@"
pkg=dict-foldoc
version=20230119-1

echo "short.sh: downloading $pkg=$version from Debian into $tmp"
if ! (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$version" >/dev/null); then
    echo "short.sh: could not download $pkg=$version; run 'apt-get update' first" >&2
    exit 4
fi
dpkg-deb -x "$tmp"/"${pkg}"_*.deb "$tmp/x"

"$python" - "$tmp/x/usr/share/dictd/foldoc.dict.dz" "$tmp/x/usr/share/dictd/foldoc.index" "$out.partial" <<'PY'
import gzip
import json
import re
import statistics
import sys

dict_dz, index, out = sys.argv[1], sys.argv[2], sys.argv[3]
data = gzip.open(dict_dz).read()  # dictzip is gzip with a seek table in the header

B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}


def b64num(s):  # dictd's offsets and lengths: base64 digits, most significant first
    n = 0
    for c in s:
        n = n * 64 + B64[c]
    return n


headwords = {}  # (offset, length) -> headwords in index order
order = []
rows = 0
with open(index, encoding="utf-8") as f:
    for line in f:
        hw, off, ln = line.rstrip("\n").split("\t")[:3]
        if hw.startswith("00-database") or hw.startswith("00database"):
            continue
        rows += 1
        span = (b64num(off), b64num(ln))
        if span not in headwords:
            headwords[span] = []
            order.append(span)
        headwords[span].append(hw)

STAMP = re.compile(r"\((\d{4})-(\d{2})-(\d{2})\)\s*$")
order.sort()  # definitions in file order
used = set()
sizes, keylens = [], []
dated = renamed = 0
with open(out, "w", encoding="utf-8", newline="\n") as f:
    for off, ln in order:
        body = data[off : off + ln].decode("utf-8")
        title = body.split("\n", 1)[0].strip()
        hws = headwords[(off, ln)]
        key = title.lower() if title.lower() in hws else hws[0]
        if key in used:
            n = 2
            while f"{key} ({n})" in used:
                n += 1
            key = f"{key} ({n})"
            renamed += 1
        used.add(key)
        obj = {"key": key}
        if title:
            obj["title"] = title
        m = STAMP.search(body)
        if m and 1 <= int(m.group(2)) <= 12 and 1 <= int(m.group(3)) <= 31:
            obj["date"] = "-".join(m.groups())
            dated += 1
        obj["content_type"] = "text/plain"
        obj["body"] = body
        f.write(json.dumps(obj, ensure_ascii=False) + "\n")
        sizes.append(len(body.encode("utf-8")))
        keylens.append(len(key.encode("utf-8")))

total = sum(sizes)
print(
    f"short.sh: {rows} index headwords -> {len(sizes)} definitions written ({dated} dated, "
    f"{renamed} keys given a ' (n)' suffix)"
)
print(
    f"short.sh: entries {len(sizes)}, body bytes {total} ({total / 1e6:.2f} MB), median body "
    f"{statistics.median(sizes):.0f} B (min {min(sizes)}, max {max(sizes)}), mean key length "
    f"{statistics.mean(keylens):.1f} B"
)
PY
mv "$out.partial" "$out"
echo "short.sh: wrote $out ($(wc -c <"$out") bytes)"
