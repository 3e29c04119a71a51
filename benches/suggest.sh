#!/usr/bin/env bash
# Issue 22: title suggestions, quire against libzim's SuggestionSearcher in the same run, per
# corpus; writes benches/results/suggest-<corpus>.md (and .json) and prints one line each.
#
#   benches/suggest.sh [CORPUS...]     # default: news docs zh short web web2 synth-200k
#
# Per corpus (benches/corpus/data/CORPUS.jsonl, or the directory CORPUS/; fetched by
# benches/corpus/CORPUS.sh; synth-Nk is made by benches/corpus/synth.py --count N000, so that
# one title index is over the 1 MiB a first remote suggestion fetches whole),
# benches/suggest.py:
#   - packs it with the release `quire` (default `--index titles`, and `--index none`) and
#     builds three ZIMs with python-libzim from the same entries (A: config_indexing(True,
#     LANG) and every item FRONT_ARTICLE, read for speed; B: config_indexing(False), hinted;
#     C: not hinted: libzim's title index bytes = B − C);
#   - draws 200 prefixes of 1–4 letters from word starts of the titles and 200 whole titles
#     (seed 22), the same for both;
#   - times quire's Archive::suggest(q, Some(10)) through the Rust API (benches/suggest.rs,
#     warm, memory-mapped) and libzim's SuggestionSearcher(archive).suggest(q).getResults(0,
#     10) through python-libzim (warm; its times include the binding), 5 passes each, p50 and
#     p99; and quire through its Python binding when `import quire` works (PYTHON, with
#     PYTHONPATH=bindings/python/python when a built module is there);
#   - serves the quire archive from nginx (tests/servers/nginx.sh) and counts, in its access
#     log, the requests of one cold suggestion after a fresh open (30 one-letter prefixes,
#     30 of 2–4 letters, 30 whole titles).
# Needs python3 with libzim (pip install -r benches/zim/requirements.txt), cargo, nginx
# (installed by nginx.sh if missing). Loopback and a shared machine: load averages are
# recorded in each result.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
python="${PYTHON:-python3}"
data="${QUIRE_CORPUS_DIR:-$here/corpus/data}"
corpora=("$@")
[[ ${#corpora[@]} -gt 0 ]] || corpora=(news docs zh short web web2 synth-200k)
cmdline="benches/suggest.sh${*:+ $*}"

"$python" -c "import libzim" 2>/dev/null || {
    echo "suggest.sh: libzim missing: $python -m pip install -r $here/zim/requirements.txt" >&2
    exit 3
}
if [[ -z ${PYTHONPATH:-} ]] && ls "$root"/bindings/python/python/quire/_quire*.so >/dev/null 2>&1; then
    export PYTHONPATH="$root/bindings/python/python"
fi

echo "suggest.sh: building (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
(cd "$root" && cargo build --release -q -p quire-cli)
quire="$root/target/release/quire"
bench_bin="$(cd "$root" && cargo bench -q -p quire-bench --bench suggest --no-run --message-format=json |
    "$python" -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "suggest" and m.get("executable"):
        print(m["executable"])')"
[[ -x "$bench_bin" ]] || { echo "suggest.sh: could not build the suggest bench" >&2; exit 3; }

base="${SUGGEST_WORK:-$root/target}"
mkdir -p "$base" "$here/results"
work="$(mktemp -d "$base/suggest-work.XXXXXX")"
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
    # synth-Nk: benches/corpus/synth.py --count N000 (seed 42), made when missing: a title
    # index over 1 MiB, which a first suggestion over HTTP does not fetch whole.
    if [[ $name =~ ^synth-([0-9]+)k$ && ! -s $src ]]; then
        "$python" "$here/corpus/synth.py" --count "${BASH_REMATCH[1]}000" -o "$src.partial"
        mv "$src.partial" "$src"
    fi
    [[ -e $src ]] || { echo "suggest.sh: $src missing (run benches/corpus/$name.sh)" >&2; exit 1; }
    lang=eng
    [[ $name == zh ]] && lang=zho
    "$python" "$here/suggest.py" --corpus "$name" --source "$src" --quire "$quire" \
        --bench "$bench_bin" --work "$work/$name" --lang "$lang" \
        --url-base "http://127.0.0.1:$port" --www "$work/ng/www" --log "$work/ng/access.log" \
        --command "$cmdline" --out "$here/results/suggest-$name.md" \
        --json-out "$here/results/suggest-$name.json"
    rm -rf "$work/$name" "$work/ng/www/$name.quire"
done
