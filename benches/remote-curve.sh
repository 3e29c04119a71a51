#!/usr/bin/env bash
# Issue 26's curve: per corpus, the dictionary's size (raw and stored) against the archive's
# size (÷ libzim's ZIM of the same run) against what open + first article costs over HTTP
# (nginx on 127.0.0.1, counted from its access log, as benches/remote.sh does), for
# dictionaries from none to the default, the default itself and `--preset remote`.
#
#   benches/remote-curve.sh [CORPUS...]     # default: news docs zh short web web2
#
# Per corpus (benches/remote_curve.py does the work):
#   - libzim's ZIM: `zim.py build INPUT --no-front-articles` (no indexes; a directory with
#     quire's content types, `--quire-archive`), once;
#   - each row: `quire pack --index none --threads 2 --json ARGS` (SOURCE_DATE_EPOCH fixed),
#     served by nginx; 5 random keys (the same for every row, random.Random(26)), each read by
#     one `quire get URL KEY` process: requests and body bytes from nginx's log, the max over
#     the 5 (and which part was dictionary, index, block); the bound: ≤ 4 requests and
#     ≤ 256 KiB;
#   - rows (REMOTE_CURVE_ROWS names a subset, comma-separated): none (--no-dict),
#     d64k d256k d512k d1m d2m (--dict-size), default (no option), remote (--preset
#     remote), remote-s96k remote-s224k (--preset remote --dict-stored-max), remote-none
#     (--preset remote --no-dict). A --dict-size row is the largest dictionary: the writer's
#     Auto check may take half of it, or none; the table gives what it took.
# Writes benches/results/remote-curve-<corpus>.md and .json. Corpora: benches/corpus/data/
# CORPUS.jsonl or the directory CORPUS/ (QUIRE_CORPUS_DIR names another directory); needs
# nginx (tests/servers/nginx.sh installs it), python3 with python-libzim
# (benches/zim/requirements.txt), cargo. Sizes and counts are exact; pack times are one run on a
# shared machine (the load is recorded).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
data="${QUIRE_CORPUS_DIR:-$here/corpus/data}"
corpora=("$@")
[[ ${#corpora[@]} -gt 0 ]] || corpora=(news docs zh short web web2)

cargo build --release -q -p quire-cli --manifest-path "$root/Cargo.toml"
quire="$root/target/release/quire"
work="$(mktemp -d "${TMPDIR:-/tmp}/quire-remote-curve.XXXXXX")"
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port="$(freeport)"
cleanup() {
    bash "$root/tests/servers/nginx.sh" stop "$work/ng" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
bash "$root/tests/servers/nginx.sh" start "$work/ng" "$port" >/dev/null
mkdir -p "$root/benches/results"
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
dirty="$(git -C "$root" status --porcelain --untracked-files=no -- src cli 2>/dev/null | wc -l)"

for corpus in "${corpora[@]}"; do
    if [[ -f $data/$corpus.jsonl ]]; then
        input="$data/$corpus.jsonl"
    elif [[ -d $data/$corpus ]]; then
        input="$data/$corpus"
    else
        echo "remote-curve.sh: no $data/$corpus.jsonl nor $data/$corpus/ (run benches/corpus/$corpus.sh)" >&2
        exit 1
    fi
    QUIRE="$quire" INPUT="$input" CORPUS="$corpus" WORK="$work" WWW="$work/ng/www" \
        URL="http://127.0.0.1:$port" LOG="$work/ng/access.log" COMMIT="$commit" DIRTY="$dirty" \
        ZIM_PY="$here/zim/zim.py" OUT="$root/benches/results/remote-curve-$corpus" \
        python3 "$here/remote_curve.py"
done
