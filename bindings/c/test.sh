#!/usr/bin/env bash
# Builds libquire (cargo build --release -p quire-c), checks that the committed header is
# what cbindgen generates, makes the test fixture with the Rust reader, compiles the C test
# and the example with the system cc (against libquire.so and libquire.a), runs the test,
# and runs it again under valgrind (--leak-check=full --error-exitcode=1) unless
# QUIRE_VALGRIND=0 or valgrind is missing (QUIRE_VALGRIND=1 makes a missing one an error).
set -euo pipefail
cd "$(dirname "$0")/../.."
CC=${CC:-cc}
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
lib="$target/release"
work="$target/quire-c"
mkdir -p "$work"

echo "-- the committed header is up to date"
cargo test --release -q -p quire-c --test header

echo "-- libquire and the fixture"
cargo build --release -q -p quire-c
cargo run --release -q -p quire-c --example fixture -- "$work/fixture" >/dev/null

echo "-- compile with $CC"
flags=(-std=c11 -Wall -Wextra -Werror -pedantic -Ibindings/c/include)
"$CC" "${flags[@]}" bindings/c/tests/test.c -L"$lib" -lquire -Wl,-rpath,"$lib" -lpthread -o "$work/test"
"$CC" "${flags[@]}" bindings/c/examples/get.c -L"$lib" -lquire -Wl,-rpath,"$lib" -o "$work/get"
"$CC" "${flags[@]}" bindings/c/examples/get.c "$lib/libquire.a" -lpthread -ldl -lm -o "$work/get-static"
if command -v c++ >/dev/null; then
  c++ -std=c++11 -Wall -Werror -fsyntax-only -x c++ bindings/c/include/quire.h
fi

echo "-- the example, linked both ways"
key=$(head -n 1 "$work/fixture/keys.txt")
"$work/get" "$work/fixture/test.quire" "$key" >"$work/get.out" 2>/dev/null
"$work/get-static" "$work/fixture/test.quire" "$key" >"$work/get-static.out" 2>/dev/null
cmp "$work/get.out" "$work/get-static.out"
status=0
"$work/get" "$work/fixture/test.quire" no/such/key 2>/dev/null || status=$?
[ "$status" = 3 ] || { echo "get: a missing key should exit 3, not $status" >&2; exit 1; }

echo "-- the C test"
"$work/test" "$work/fixture"

if [ "${QUIRE_VALGRIND:-auto}" != 0 ]; then
  if command -v valgrind >/dev/null; then
    echo "-- the C test under valgrind"
    valgrind -q --leak-check=full --errors-for-leak-kinds=all --error-exitcode=1 \
      "$work/test" "$work/fixture"
  elif [ "${QUIRE_VALGRIND:-auto}" = 1 ]; then
    echo "valgrind is not installed" >&2
    exit 1
  else
    echo "-- valgrind not installed: skipped"
  fi
fi
