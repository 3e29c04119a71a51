#!/usr/bin/env bash
# Issue 24: `quire serve` against kiwix-serve in the same run, on the same articles, with wrk
# at one thread (benches/serve.py says what is measured); writes
# benches/results/serve-<corpus>.md and .json.
#
#   benches/serve.sh [--soak N] [CORPUS...]     # default: news web
#
# CORPUS is benches/corpus/data/CORPUS.jsonl or the website directory CORPUS/ (fetched by
# benches/corpus/CORPUS.sh). --soak N adds N random-article requests at 16 connections
# against each server with RSS sampled (the issue asks 1000000 on the website corpus).
# SERVE_SECONDS (default 10) is the length of each wrk run; QUIRE=PATH measures another
# build. Installs kiwix-tools and wrk with apt-get when they are missing; needs python3 with
# libzim (pip install -r benches/zim/requirements.txt). A shared machine: load averages are
# recorded in each result; the figures that count come from an idle one.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
python="${PYTHON:-python3}"
soak=()
if [[ ${1:-} == --soak ]]; then
    soak=(--soak "$2")
    shift 2
fi
corpora=("$@")
[[ ${#corpora[@]} -gt 0 ]] || corpora=(news web)

if ! command -v kiwix-serve >/dev/null || ! command -v wrk >/dev/null; then
    apt-get update -qq && apt-get install -y -qq kiwix-tools wrk >/dev/null
fi
"$python" -c "import libzim" 2>/dev/null || {
    echo "serve.sh: libzim missing: $python -m pip install -r $here/zim/requirements.txt" >&2
    exit 3
}
quire="${QUIRE:-$root/target/release/quire}"
if [[ -z ${QUIRE:-} ]]; then
    (cd "$root" && cargo build --release -q -p quire-cli)
fi
for c in "${corpora[@]}"; do
    "$python" "$here/serve.py" "$c" --quire "$quire" "${soak[@]}"
done
