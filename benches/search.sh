#!/usr/bin/env bash
# Issue 23: full-text search, libzim's Searcher against quire's `quire search` in the same run,
# per corpus, on the same query sets; writes benches/results/search-<corpus>.md (and .json),
# the query sets benches/results/search-<corpus>-queries.json, and prints one line each.
#
#   benches/search.sh [CORPUS...]     # default: news docs zh short web web2
#
# Per corpus (benches/corpus/data/CORPUS.jsonl, or the directory CORPUS/; fetched by
# benches/corpus/CORPUS.sh), benches/search.py:
#   - builds two ZIMs with python-libzim from the same entries (A: config_indexing(True,
#     LANG), full-text and title indexes, every text item that is not HTML given an
#     IndexData with its title and text, as libzim indexes only text/html by itself; B:
#     config_indexing(False), no FRONT_ARTICLE: no index): libzim's index bytes = A − B;
#   - reads the query sets from benches/results/search-CORPUS-queries.json, or draws them
#     (seed 23: 200 random titles, 200 two-word queries from article text) and writes them
#     there, so that every later run, quire's included, uses exactly the same ones
#     (SEARCH_REDRAW=1 draws them again);
#   - times libzim's Searcher(archive).search(Query().set_query(q)).getResults(0, 10) warm
#     (one warm-up pass, 5 timed passes: p50, p99), counts the title queries whose entry (or
#     one with the same title) is in the top 10, and keeps libzim's top-10 paths per query;
#   - when `target/release/quire search --help` succeeds: packs with `--index full` and
#     `--index none`, sizes from `quire info --json`, runs every query through `quire search
#     ARCHIVE --limit 10 --json -- Q` (title hits, top-10 overlap with libzim); otherwise
#     prints "quire search: not built yet" and writes libzim's figures alone (SEARCH_QUIRE=0
#     skips quire even when it is there). Which quire was measured is recorded: its version,
#     the commit, and the uncommitted changes the shared tree had under src/, cli/ and the
#     Cargo files when it was built.
# Needs python3 with libzim (pip install -r benches/zim/requirements.txt) and cargo. A shared
# machine: load averages are recorded in each result; run it under `nice -n 10`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
python="${PYTHON:-python3}"
data="${QUIRE_CORPUS_DIR:-$here/corpus/data}"
corpora=("$@")
[[ ${#corpora[@]} -gt 0 ]] || corpora=(news docs zh short web web2)
cmdline="benches/search.sh${*:+ $*}"

"$python" -c "import libzim" 2>/dev/null || {
    echo "search.sh: libzim missing: $python -m pip install -r $here/zim/requirements.txt" >&2
    exit 3
}
if [[ -z ${PYTHONPATH:-} ]] && ls "$root"/bindings/python/python/quire/_quire*.so >/dev/null 2>&1; then
    export PYTHONPATH="$root/bindings/python/python"
fi

echo "search.sh: building (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
quire="$root/target/release/quire"
if ! (cd "$root" && cargo build --release -q -p quire-cli); then
    # The tree is shared: someone's work in progress may not build. The libzim side needs
    # the CLI only to read a directory corpus; an older binary does that.
    [[ -x $quire ]] || { echo "search.sh: no quire CLI" >&2; exit 3; }
    echo "search.sh: cargo build failed; using the existing $quire" >&2
fi
if [[ ${SEARCH_QUIRE:-1} == 0 ]]; then
    echo "search.sh: SEARCH_QUIRE=0: libzim alone" >&2
elif "$quire" search --help >/dev/null 2>&1; then
    echo "search.sh: quire search: found" >&2
else
    echo "quire search: not built yet (libzim's figures only)" >&2
fi

base="${SEARCH_WORK:-$root/target}"
mkdir -p "$base" "$here/results"
work="$(mktemp -d "$base/search-work.XXXXXX")"
trap 'rm -rf "$work"' EXIT

for name in "${corpora[@]}"; do
    src="$data/$name.jsonl"
    [[ -d "$data/$name" ]] && src="$data/$name"
    [[ -e $src ]] || { echo "search.sh: $src missing (run benches/corpus/$name.sh)" >&2; exit 1; }
    lang=eng
    [[ $name == zh ]] && lang=zho
    "$python" "$here/search.py" --corpus "$name" --source "$src" --quire "$quire" \
        --work "$work/$name" --lang "$lang" \
        --queries "$here/results/search-$name-queries.json" ${SEARCH_REDRAW:+--redraw} \
        $([[ ${SEARCH_QUIRE:-1} == 0 ]] && echo --no-quire) \
        --command "$cmdline" --out "$here/results/search-$name.md" \
        --json-out "$here/results/search-$name.json"
    rm -rf "${work:?}/$name"
done
