#!/usr/bin/env bash
# Builds every fuzz target and runs each for a bounded time, on the stable toolchain.
# Usage: fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]   (default 30 s, all targets)
#        fuzz/run.sh --build-only                        (build every target, run none)
# QUIRE_FUZZ_TARGET_DIR, if set, is cargo's target directory for the instrumented build (its own,
# so that it can build while another cargo command holds the workspace's `target/`).
# A crash fails the run; its input is saved under fuzz/artifacts/<target>/ — copy it into
# fuzz/regressions/<target>/ once fixed so `cargo test` replays it forever.
set -euo pipefail
cd "$(dirname "$0")"
build_only=false
if [ "${1:-}" = "--build-only" ]; then
  build_only=true
  shift
fi
secs="${1:-30}"
shift || true
target_dir=()
[ -z "${QUIRE_FUZZ_TARGET_DIR:-}" ] || target_dir=(--target-dir "$QUIRE_FUZZ_TARGET_DIR")
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(open_and_read roundtrip unpack jsonl_pack index_topology suggest search)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  cargo install cargo-fuzz --locked --quiet
fi

# No sanitizer: works on stable (ASan needs nightly). Panics and aborts are still caught.
# Without the workspace's fat LTO and single codegen unit (there to keep the release CLI
# under 15 MB): a fuzz binary's size does not matter, and whole-program optimisation of the
# instrumented build cost CI minutes.
# (Exported: `cargo fuzz run` below must see the same profile, or it builds again.)
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
cargo fuzz build --sanitizer none "${target_dir[@]}"
if $build_only; then
  echo "fuzzing: all targets built"
  exit 0
fi

# Per-target libFuzzer options. The reading targets fail on any single allocation of 64 MiB
# or more: the reader's whole heap stays under that (spec §12, format 3.1's 4 MiB blocks).
# (libFuzzer applies -malloc_limit_mb only through a sanitizer's malloc hooks; without a
# sanitizer these targets enforce the same limit with quire_fuzz_harness::LimitedAlloc.)
# The writing targets (roundtrip, jsonl_pack) get no such limit: zstd's tables at high
# levels are allowed to be large. index_topology builds its archives itself from a few
# choices, so its inputs stay small.
extra_args() {
  case "$1" in
    index_topology) echo "-max_len=4096 -malloc_limit_mb=64" ;;
    # Small archives with a title index: a few KiB keeps each input's work small.
    suggest) echo "-max_len=8192 -malloc_limit_mb=64" ;;
    # Small archives with a full-text index (nodes stored raw, so mutations reach them).
    search) echo "-max_len=16384 -malloc_limit_mb=64" ;;
    open_and_read | unpack) echo "-malloc_limit_mb=64" ;;
    *) echo "" ;;
  esac
}

# One libFuzzer process per core at a time (QUIRE_FUZZ_JOBS, default: the cores): each is a
# single thread, so two targets side by side on 2 cores run as many inputs each as one at a
# time did, in half the wall time.
jobs="${QUIRE_FUZZ_JOBS:-$(nproc)}"

run_one() {
  local t=$1 log="artifacts/$1/last-run.log" extra dirs=("corpus/$1")
  [ -d "regressions/$t" ] && dirs+=("regressions/$t")
  read -r -a extra <<<"$(extra_args "$t")"
  cargo fuzz run --sanitizer none "${target_dir[@]}" "$t" "${dirs[@]}" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 "${extra[@]}" \
    >"$log" 2>&1
}

# Waits for the oldest running target and reports it; a crash fails the run.
pids=() names=()
finish_oldest() {
  local t=${names[0]} status=0
  wait "${pids[0]}" || status=$?
  pids=("${pids[@]:1}") names=("${names[@]:1}")
  local log="artifacts/$t/last-run.log"
  echo "== fuzz $t: ran ${secs}s"
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb|panicked|SUMMARY|Test unit written|ERROR" "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$log"
    echo "fuzz target $t failed (exit $status): the input is in fuzz/artifacts/$t/"
    [ "${#pids[@]}" -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
    exit 1
  fi
}

for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  [ "${#pids[@]}" -lt "$jobs" ] || finish_oldest
  run_one "$t" &
  pids+=($!) names+=("$t")
done
while [ "${#pids[@]}" -gt 0 ]; do finish_oldest; done
echo "fuzzing: all ${#targets[@]} targets ran ${secs}s each without a crash, $jobs at a time"
