#!/usr/bin/env bash
# Builds the docs benchmark corpus: the Linux kernel documentation sources (reStructuredText
# and plain text) shipped in the Debian package linux-doc-6.1=6.1.176-1 (bookworm/main),
# under /usr/share/doc/linux-doc-6.1/Documentation/ (each file gzipped by Debian). One entry
# per *.rst / *.txt file, converted to quire JSONL:
#   {"key": "admin-guide/kernel-parameters.txt", "title": ..., "content_type": "text/plain", "body": ...}
# key = the path under Documentation/ without .gz; content_type text/x-rst or text/plain; title
# = the first reST section title when there is one. Written to benches/corpus/data/docs.jsonl
# (gitignored: the text is never committed). Shape, unlike news: ~5,000 entries, path keys of
# ~35 bytes, bodies from a few bytes to ~280 KB.
#
# Needs bash, apt-get (Debian's package index: run `apt-get update` once), dpkg-deb and
# Python's standard library; nothing is installed. Idempotent: does nothing when the output
# already exists (pass --force to rebuild). LINUX_DOC_VERSION overrides the pinned version if
# the archive has dropped it (the counts printed at the end will then differ).
#
# Usage: benches/corpus/docs.sh [--force] [OUTPUT]
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" docs "$@"
pkg=linux-doc-6.1
version="${LINUX_DOC_VERSION:-6.1.176-1}"

echo "docs.sh: downloading $pkg=$version from Debian into $tmp"
if ! (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$version" >/dev/null); then
    echo "docs.sh: could not download $pkg=$version. Run 'apt-get update' first; if the version" >&2
    echo "docs.sh: is gone from the archive, pick one from 'apt-cache policy $pkg' and rerun" >&2
    echo "docs.sh: with LINUX_DOC_VERSION=<version> (the counts will differ)." >&2
    exit 4
fi
dpkg-deb -x "$tmp"/"${pkg}"_*.deb "$tmp/x"

"$python" - "$tmp/x/usr/share/doc/$pkg/Documentation" "$out.partial" <<'PY'
import base64
import gzip
import json
import os
import re
import statistics
import sys

root, out = sys.argv[1], sys.argv[2]
ADORN = re.compile(r"^([=\-~^\"'`#*+:.<>_])\1{2,}\s*$")


def rst_title(text):
    """The first section title: a line underlined (optionally also overlined) by one repeated
    punctuation character at least as long as the title."""
    lines = text.splitlines()[:200]
    for i in range(len(lines) - 1):
        t, u = lines[i].strip(), lines[i + 1].rstrip()
        if not t or ADORN.match(t) or t.startswith(".. ") or not ADORN.match(u):
            continue
        if len(u.strip()) >= len(t) and len(t) <= 200:
            return t
    return None


files = []
for d, _, names in os.walk(root):
    for n in names:
        base = n[:-3] if n.endswith(".gz") else n
        if base.endswith((".rst", ".txt")):
            files.append((os.path.relpath(os.path.join(d, base), root).replace(os.sep, "/"), os.path.join(d, n)))
files.sort()

sizes, keylens = [], []
titled = binary = 0
with open(out, "w", encoding="utf-8", newline="\n") as f:
    for key, path in files:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rb") as fh:
            raw = fh.read()
        obj = {"key": key}
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        title = rst_title(text) if text is not None else None
        if title:
            obj["title"] = title
            titled += 1
        obj["content_type"] = "text/x-rst" if key.endswith(".rst") else "text/plain"
        if text is None:
            obj["body_base64"] = base64.b64encode(raw).decode("ascii")
            binary += 1
        else:
            obj["body"] = text
        f.write(json.dumps(obj, ensure_ascii=False) + "\n")
        sizes.append(len(raw))
        keylens.append(len(key.encode("utf-8")))

total = sum(sizes)
print(f"docs.sh: {len(sizes)} files written ({titled} with a title, {binary} not UTF-8 so body_base64)")
print(
    f"docs.sh: entries {len(sizes)}, body bytes {total} ({total / 1e6:.2f} MB), median body "
    f"{statistics.median(sizes):.0f} B (min {min(sizes)}, max {max(sizes)}), mean key length "
    f"{statistics.mean(keylens):.1f} B"
)
PY
mv "$out.partial" "$out"
echo "docs.sh: wrote $out ($(wc -c <"$out") bytes)"
