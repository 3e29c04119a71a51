#!/usr/bin/env bash
# Issue 26: pack throughput against libzim in the same run, and a level curve, per corpus.
# For each corpus and repetition: `quire pack` at the defaults (level 19), libzim's ZIM of the
# same input (benches/zim/zim.py build, as benches/targets.sh builds it: 2 MiB clusters, zstd 19,
# 4 workers, no front articles, no Xapian index; a directory with quire's content types), then
# quire at each further level (first repetition only). One TSV line per pack.
#
#   benches/pack-vs-libzim.sh [--reps N] [--levels "17 16 15"] OUT.tsv QUIRE CORPUS...
#
# quire: SOURCE_DATE_EPOCH=1700000000 /usr/bin/time -f '%e %U %S %M' \
#          QUIRE pack INPUT -o OUT -f -q --index none --threads $(nproc) [--level N]
# MB/s = the corpus's body bytes (zim.py's body_bytes, the same for both) / wall seconds.
# TSV columns: corpus, tool, level, rep, wall s, user s, sys s, max RSS KiB, archive bytes,
# body bytes, load1 before, libzim version.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
python="${PYTHON:-python3}"
reps=1
levels="17 16 15"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --reps) reps="$2"; shift 2 ;;
        --levels) levels="$2"; shift 2 ;;
        -h | --help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) break ;;
    esac
done
out="$1"; quire="$2"; shift 2
corpora=("$@")
threads="$(nproc)"
work="$(mktemp -d "${TARGET_WORK:-$root/target}/pack-vs-libzim.XXXXXX")"
trap 'rm -rf "$work"' EXIT
printf 'corpus\ttool\tlevel\trep\twall\tuser\tsys\trss_kib\tbytes\tbody_bytes\tload1\tversion\n' >>"$out"
qpack() { # name input level rep [args]
    local name="$1" input="$2" level="$3" rep="$4"; shift 4
    local load m wall user sys rss
    load="$(cut -d' ' -f1 /proc/loadavg)"
    m="$(SOURCE_DATE_EPOCH=1700000000 /usr/bin/time -f '%e %U %S %M' -o "$work/time" \
        "$quire" pack "$input" -o "$work/$name.quire" -f -q --index none --threads "$threads" "$@" \
        && cat "$work/time")"
    read -r wall user sys rss <<<"$m"
    printf '%s\tquire\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$level" "$rep" "$wall" "$user" \
        "$sys" "$rss" "$(stat -c %s "$work/$name.quire")" "${body:-?}" "$load" \
        "$("$quire" --version 2>/dev/null | head -1)" | tee -a "$out"
}
for name in "${corpora[@]}"; do
    input="${QUIRE_CORPUS_DIR:-$here/corpus/data}/$name.jsonl"
    types=()
    [[ -d "${QUIRE_CORPUS_DIR:-$here/corpus/data}/$name" ]] && input="${QUIRE_CORPUS_DIR:-$here/corpus/data}/$name"
    body=""
    for rep in $(seq 1 "$reps"); do
        qpack "$name" "$input" 19 "$rep"
        if [[ -d "$input" && ${#types[@]} -eq 0 ]]; then
            "$quire" ls --json "$work/$name.quire" >"$work/$name.types.jsonl"
            types=(--types "$work/$name.types.jsonl")
        fi
        load="$(cut -d' ' -f1 /proc/loadavg)"
        m="$(/usr/bin/time -f '%e %U %S %M' -o "$work/time" "$python" "$here/zim/zim.py" build "$input" \
            -o "$work/$name.zim" --force --no-front-articles "${types[@]}")"
        read -r wall user sys rss <"$work/time"
        row="$("$python" -c 'import json,sys; j=json.loads(sys.argv[1]); print("%s\t%s\t%s\t%s" % (j["pack_seconds"], j["file_bytes"], j["body_bytes"], j["versions"]["libzim"]))' "$m")"
        read -r secs zbytes body zver <<<"$row"
        printf '%s\tlibzim\t19\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$rep" "$secs" "$user" "$sys" \
            "$rss" "$zbytes" "$body" "$load" "$zver" | tee -a "$out"
        rm -f "$work/$name.zim"
        if [[ $rep -eq 1 ]]; then
            for level in $levels; do
                qpack "$name" "$input" "$level" "$rep" --level "$level"
            done
        fi
    done
    rm -f "$work"/*
done
