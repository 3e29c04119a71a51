#!/usr/bin/env bash
# Issue 26: CPU seconds (user + sys) and wall time of `quire pack` with 1 and 2 compression
# threads, for one or more quire CLIs (say, before and after a change), median of N runs,
# the CLIs and thread counts alternating within each repetition. Also checks that every CLI
# and thread count writes the same bytes for a corpus (cmp), and prints one TSV line per run.
#
#   benches/pack-cpu.sh [--reps N] [--threads "1 2"] [--pack-arg ARG]... OUT.tsv NAME=QUIRE... -- CORPUS...
#
# CORPUS is a name under benches/corpus/data (NAME.jsonl or the directory NAME). Archives go
# to a temporary folder under TARGET_WORK (default target/), removed at the end. Each run:
#   SOURCE_DATE_EPOCH=1700000000 /usr/bin/time -f '%e %U %S %M' \
#     QUIRE pack INPUT -o OUT -f -q --index none --threads T [ARGS]
# TSV columns: corpus, cli, threads, rep, wall s, user s, sys s, max RSS KiB, archive bytes,
# load1 before.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
reps=3
threads="1 2"
extra=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --reps) reps="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --pack-arg) extra+=("$2"); shift 2 ;;
        -h | --help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) break ;;
    esac
done
out="$1"; shift
clis=()
while [[ $# -gt 0 && "$1" != "--" ]]; do clis+=("$1"); shift; done
shift
corpora=("$@")
[[ ${#clis[@]} -gt 0 && ${#corpora[@]} -gt 0 ]] || { echo "usage: see --help" >&2; exit 2; }
work="$(mktemp -d "${TARGET_WORK:-$root/target}/pack-cpu.XXXXXX")"
trap 'rm -rf "$work"' EXIT
printf 'corpus\tcli\tthreads\trep\twall\tuser\tsys\trss_kib\tbytes\tload1\n' >>"$out"
for rep in $(seq 1 "$reps"); do
    for name in "${corpora[@]}"; do
        input="${QUIRE_CORPUS_DIR:-$here/corpus/data}/$name.jsonl"
        [[ -d "${QUIRE_CORPUS_DIR:-$here/corpus/data}/$name" ]] && input="${QUIRE_CORPUS_DIR:-$here/corpus/data}/$name"
        first=""
        for t in $threads; do
            for spec in "${clis[@]}"; do
                cli="${spec%%=*}"
                bin="${spec#*=}"
                arc="$work/$name.$cli.t$t.quire"
                load="$(cut -d' ' -f1 /proc/loadavg)"
                m="$(SOURCE_DATE_EPOCH=1700000000 /usr/bin/time -f '%e %U %S %M' -o "$work/time" \
                    "$bin" pack "$input" -o "$arc" -f -q --index none --threads "$t" "${extra[@]}" \
                    && cat "$work/time")"
                bytes="$(stat -c %s "$arc")"
                read -r wall user sys rss <<<"$m"
                printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
                    "$name" "$cli" "$t" "$rep" "$wall" "$user" "$sys" "$rss" "$bytes" "$load" | tee -a "$out"
                if [[ -z "$first" ]]; then
                    first="$arc"
                elif ! cmp -s "$first" "$arc"; then
                    echo "pack-cpu.sh: $name: $cli at $t threads differs from $(basename "$first")" | tee -a "$out.differs" >&2
                fi
            done
        done
        rm -f "$work"/*.quire
    done
done
