#!/usr/bin/env bash
# Issue 23: full-text search, libzim's Searcher against quire's `quire search` in the same run,
# per corpus, on the same query sets; writes benches/results/search-<corpus>.md (and .json),
# the query sets benches/results/search-<corpus>-queries.json, and prints one line each.
#
#   benches/search.sh [CORPUS...]     # default: news docs zh short web web2 synth-1m
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
#   - quire, packed `--index full --language LANG` and `--index none`: sizes from `quire info
#     --json` (search_index_bytes); through the Rust API (benches/search.rs, built here as
#     suggest.sh builds suggest.rs) warm and memory-mapped, `Archive::search_keys(q, 10)`
#     (10 results as keys and titles) and `Archive::search(q, 10)` (with snippets), p50 and
#     p99; title hits and top-10 overlap with libzim;
#   - over nginx (tests/servers/nginx.sh): per query a fresh open and one search with
#     snippets: round trips (requests in parallel count once), requests, bytes; for the 400
#     queries and for one-rare-word queries;
#   - pack cost: `--index full --language LANG` against `--index titles` (the default),
#     both at `--threads 2` (SEARCH_PACK_THREADS; the default thread count follows the idle
#     cores, which differ from run to run on a shared machine), wall time, CPU seconds and
#     peak RSS, 3 interleaved runs each (SEARCH_PACK_ROUNDS), medians.
# SEARCH_PACK_ONLY=1 measures only the pack costs, into results/search-pack-CORPUS.md/.json.
#   Which quire was measured is recorded: its version, the commit, and the uncommitted
#   changes the shared tree had under src/, cli/ and the Cargo files when it was built.
# synth-1m (or synth-Nk): only the pack cost, on benches/corpus/synth.py's entries (made when
# missing, seed 42, as targets.sh makes synth-1m).
# Needs python3 with libzim (pip install -r benches/zim/requirements.txt), cargo, nginx
# (installed by nginx.sh if missing). A shared
# machine: load averages are recorded in each result; run it under `nice -n 10`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
python="${PYTHON:-python3}"
data="${QUIRE_CORPUS_DIR:-$here/corpus/data}"
corpora=("$@")
[[ ${#corpora[@]} -gt 0 ]] || corpora=(news docs zh short web web2 synth-1m)
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
(cd "$root" && cargo build --release -q -p quire-cli)
bench_bin="$(cd "$root" && cargo bench -q -p quire-bench --bench search --no-run --message-format=json |
    "$python" -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "search" and m.get("executable"):
        print(m["executable"])')"
[[ -x "$bench_bin" ]] || { echo "search.sh: could not build the search bench" >&2; exit 3; }
[[ ${SEARCH_QUIRE:-1} == 0 ]] && echo "search.sh: SEARCH_QUIRE=0: libzim alone" >&2

base="${SEARCH_WORK:-$root/target}"
mkdir -p "$base" "$here/results"
work="$(mktemp -d "$base/search-work.XXXXXX")"
port="$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cleanup() {
    bash "$root/tests/servers/nginx.sh" stop "$work/ng" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
bash "$root/tests/servers/nginx.sh" start "$work/ng" "$port" >/dev/null

for name in "${corpora[@]}"; do
    src="$data/$name.jsonl"
    [[ -d "$data/$name" ]] && src="$data/$name"
    lang=eng
    [[ $name == zh ]] && lang=zho
    # SEARCH_PACK_ONLY=1: only the pack costs, into search-pack-CORPUS.md/.json.
    if [[ ${SEARCH_PACK_ONLY:-0} == 1 && ! $name =~ ^synth- ]]; then
        [[ -e $src ]] || { echo "search.sh: $src missing (run benches/corpus/$name.sh)" >&2; exit 1; }
        "$python" "$here/search.py" --pack-only --corpus "$name" --source "$src" \
            --quire "$quire" --work "$work/$name" --lang "$lang" --queries /dev/null \
            --command "$cmdline" --out "$here/results/search-pack-$name.md" \
            --json-out "$here/results/search-pack-$name.json"
        rm -rf "${work:?}/$name"
        continue
    fi
    # synth-Nk / synth-1m: benches/corpus/synth.py (seed 42), made when missing, as
    # targets.sh makes synth-1m; only the pack costs (no libzim, no queries).
    if [[ $name =~ ^synth-([0-9]+)(k|m)$ ]]; then
        count="${BASH_REMATCH[1]}000"
        [[ ${BASH_REMATCH[2]} == m ]] && count="${BASH_REMATCH[1]}000000"
        if [[ ! -s $src ]]; then
            "$python" "$here/corpus/synth.py" --count "$count" --seed 42 -o "$src.partial"
            mv "$src.partial" "$src"
        fi
        "$python" "$here/search.py" --pack-only --corpus "$name" --source "$src" \
            --quire "$quire" --work "$work/$name" --lang "$lang" --queries /dev/null \
            --command "$cmdline" --out "$here/results/search-$name.md" \
            --json-out "$here/results/search-$name.json"
        rm -rf "${work:?}/$name"
        continue
    fi
    [[ -e $src ]] || { echo "search.sh: $src missing (run benches/corpus/$name.sh)" >&2; exit 1; }
    "$python" "$here/search.py" --corpus "$name" --source "$src" --quire "$quire" \
        --bench "$bench_bin" --work "$work/$name" --lang "$lang" \
        --url-base "http://127.0.0.1:$port" --www "$work/ng/www" --log "$work/ng/access.log" \
        --queries "$here/results/search-$name-queries.json" ${SEARCH_REDRAW:+--redraw} \
        $([[ ${SEARCH_QUIRE:-1} == 0 ]] && echo --no-quire) \
        --command "$cmdline" --out "$here/results/search-$name.md" \
        --json-out "$here/results/search-$name.json"
    rm -rf "${work:?}/$name" "$work/ng/www/$name.quire"
done
