#!/usr/bin/env bash
# Every figure of issue 10's "Done when" list, per corpus, each corpus in one run with libzim
# measured in the same run; writes benches/results/targets-<corpus>.md (+ .json), the 1M
# synthetic entries' writer figures (targets-synth-1m.md, once per invocation) and
# targets-summary.md.
#
#   benches/targets.sh [--quick] [--no-1m] [--base QUIRE] [CORPUS...]  # default: news docs zh short
#   benches/targets.sh --quick --no-1m web web2             # the two websites
#
# --quick    fewer repetitions (1 pack instead of 3, 2,000 instead of 10,000 gets a round,
#            6 instead of 12 page-cache-cold trials); still 5 rounds/runs where they are cheap
# --no-1m    skip the 1M synthetic pack (peak RSS), e.g. while iterating on one corpus
# --base Q   also measure the quire CLI Q (say, an earlier commit's, built in a worktree with
#            its own CARGO_TARGET_DIR) in the same run: each corpus (and the 1M pack) with Q
#            right after the tree's own, results in benches/results/base/ (same names)
#
# For each CORPUS: benches/corpus/CORPUS.sh fetches it if benches/corpus/data/CORPUS.jsonl (or,
# for a website, the directory benches/corpus/data/CORPUS/) is missing (with QUIRE_CORPUS_DIR
# set, the corpora are read from that directory instead and nothing is fetched); then the `targets`
# bench (benches/targets.rs) packs it with target/release/quire and with libzim
# (benches/zim/zim.py), alternating, and measures reads; see that file. A directory corpus
# (web: the Python docs, web2: the sqlite.org site) is packed with `quire pack DIR`, libzim
# is given the same files with quire's content types, and zimwriterfs (Debian zim-tools) packs
# the same directory too.
# Needs: cargo, /usr/bin/time, python3 with benches/zim/requirements.txt installed (PYTHON
# overrides the interpreter), and a disk-backed TARGET_WORK (default target/; a fresh folder is
# made in it and removed at the end) so that page-cache eviction means something; zimwriterfs
# for the websites (its row says "not run" without it). About 8 minutes for the four JSONL
# corpora on 2 cores, --quick 4; web and web2 --quick about 7.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
python="${PYTHON:-python3}"
quick=()
synth=1
corpora=()
base_cli=""
want_base=0
for arg in "$@"; do
    if [[ $want_base -eq 1 ]]; then
        base_cli="$(cd "$(dirname "$arg")" && pwd)/$(basename "$arg")"
        want_base=0
        continue
    fi
    case "$arg" in
        --base) want_base=1 ;;
        --quick) quick=(--quick) ;;
        --no-1m) synth=0 ;;
        -h | --help)
            sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        -*) echo "targets.sh: unknown option $arg" >&2; exit 2 ;;
        *) corpora+=("$arg") ;;
    esac
done
[[ $want_base -eq 0 ]] || { echo "targets.sh: --base needs the path of a quire CLI" >&2; exit 2; }
[[ -z "$base_cli" || -x "$base_cli" ]] || { echo "targets.sh: --base $base_cli is not executable" >&2; exit 2; }
[[ ${#corpora[@]} -gt 0 ]] || corpora=(news docs zh short)
corpus_dir="${QUIRE_CORPUS_DIR:-$here/corpus/data}"
cmdline="benches/targets.sh${*:+ $*}"

[[ -x /usr/bin/time ]] || { echo "targets.sh: /usr/bin/time is needed (apt-get install time)" >&2; exit 3; }
"$python" -c "import libzim" 2>/dev/null || {
    echo "targets.sh: libzim missing: $python -m pip install -r $here/zim/requirements.txt" >&2
    exit 3
}
for name in "${corpora[@]}"; do
    [[ -x "$here/corpus/$name.sh" ]] || { echo "targets.sh: no benches/corpus/$name.sh" >&2; exit 2; }
    [[ -n "${QUIRE_CORPUS_DIR:-}" ]] || "$here/corpus/$name.sh" >&2
done

echo "targets.sh: building (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
(cd "$root" && cargo build --release -q -p quire-cli)
# Built once, then run directly: editing the sources during a run cannot change what is run.
bench_bin="$(cd "$root" && cargo bench -q -p quire-bench --bench targets --no-run --message-format=json |
    "$python" -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "targets" and m.get("executable"):
        print(m["executable"])')"
[[ -x "$bench_bin" ]] || { echo "targets.sh: could not build the targets bench" >&2; exit 3; }
targets() { (cd "$root/benches" && "$bench_bin" --run "$@"); }

base="${TARGET_WORK:-$root/target}"
mkdir -p "$base" "$here/results"
work="$(mktemp -d "$base/targets-work.XXXXXX")"
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
echo "targets.sh: start, load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores" >&2

synth_json=()
if [[ $synth -eq 1 ]]; then
    data="$corpus_dir/synth-1m.jsonl"
    if [[ ! -s "$data" ]]; then
        echo "targets.sh: generating $data (1,000,000 entries, seed 42)" >&2
        "$python" "$here/corpus/synth.py" --count 1000000 --seed 42 -o "$data.partial"
        mv "$data.partial" "$data"
    fi
    echo "targets.sh: 1M synthetic pack (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    targets --synth "$data" --work "$work" --command "$cmdline" >/dev/null
    rm -f "$work"/*
    if [[ -n "$base_cli" ]]; then
        echo "targets.sh: 1M synthetic pack with the base CLI (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
        targets --synth "$data" --work "$work" --command "$cmdline" \
            --quire "$base_cli" --out "$here/results/base" >/dev/null
        rm -f "$work"/*
    fi
    synth_json=(--synth-json "$here/results/targets-synth-1m.json")
fi

for name in "${corpora[@]}"; do
    echo "targets.sh: $name (load $(cut -d' ' -f1-3 /proc/loadavg), $(( $(date +%s) - start )) s in)" >&2
    input=(--jsonl "$corpus_dir/$name.jsonl")
    [[ -d "$corpus_dir/$name" ]] && input=(--dir "$corpus_dir/$name")
    targets --corpus "$name" "${input[@]}" --work "$work" \
        "${quick[@]}" "${synth_json[@]}" --command "$cmdline" >/dev/null
    rm -f "$work"/*
    if [[ -n "$base_cli" ]]; then
        echo "targets.sh: $name with the base CLI (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
        base_synth=()
        [[ ${#synth_json[@]} -eq 0 ]] || base_synth=(--synth-json "$here/results/base/targets-synth-1m.json")
        targets --corpus "$name" "${input[@]}" --work "$work" --quire "$base_cli" \
            --out "$here/results/base" "${quick[@]}" "${base_synth[@]}" --command "$cmdline" >/dev/null
        rm -f "$work"/*
    fi
done

targets --summary "$here/results"
[[ -z "$base_cli" ]] || targets --summary "$here/results/base"
echo "targets.sh: done in $(( $(date +%s) - start )) s, load $(cut -d' ' -f1-3 /proc/loadavg); results in benches/results/targets-*.md" >&2
