# Shared start of the corpus scripts: `source "$(dirname "$0")/lib.sh" NAME "$@"` sets
#   here    this folder
#   out     the output (benches/corpus/data/NAME.jsonl, or the script's last argument)
#   python  the Python to use ($PYTHON, else python3)
#   tmp     a fresh temporary folder, removed on exit
# and exits 0 when the output already exists, unless --force is given.
corpus_name="$1"
shift
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
force=0
if [[ "${1:-}" == "--force" ]]; then
    force=1
    shift
fi
out="${1:-$here/data/$corpus_name.jsonl}"
python="${PYTHON:-python3}"

if [[ -s "$out" && $force -eq 0 ]]; then
    echo "$corpus_name.sh: $out already exists ($(wc -l <"$out") lines); nothing to do (--force rebuilds)"
    exit 0
fi

mkdir -p "$(dirname "$out")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
