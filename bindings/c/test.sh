#!/usr/bin/env bash
# Builds libquire (cargo build --release -p quire-c), checks that the committed header is
# what cbindgen generates, makes the test fixture with the Rust reader (and the answers of
# the release CLI's `quire search --json` on its search archive), compiles the C tests
# and the example with the system cc (against libquire.so and libquire.a), runs the test,
# then quire_open_url against real servers (tests/remote.sh: nginx over http and https, and
# moto over s3://, started on free ports of 127.0.0.1 and stopped at the end; with CI=true a
# server that cannot start fails the run, otherwise it is skipped with a message), and runs
# both again under valgrind (--leak-check=full --error-exitcode=1) unless QUIRE_VALGRIND=0 or
# valgrind is missing (QUIRE_VALGRIND=1 makes a missing one an error). QUIRE_C_REMOTE=0
# leaves out the servers.
set -euo pipefail
cd "$(dirname "$0")/../.."
CC=${CC:-cc}
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
lib="$target/release"
work="$target/quire-c"
mkdir -p "$work"

# One cargo invocation builds the library, the header test and the fixture example, so that
# their whole-program-optimised links (one thread each, minutes on 2 cores) run side by side;
# the commands below find them built.
echo "-- libquire, the header test and the fixture example"
cargo build --release -q -p quire-c --lib --test header --example fixture

echo "-- the committed header is up to date"
cargo test --release -q -p quire-c --test header

echo "-- the fixture"
cargo run --release -q -p quire-c --example fixture -- "$work/fixture" >/dev/null

echo "-- quire search --json on the search fixture (the answers the C test compares with)"
cargo build --release -q -p quire-cli --bin quire
python3 - "$lib/quire" "$work/fixture" <<'EOF'
import json, subprocess, sys
quire, d = sys.argv[1], sys.argv[2]
out = []
with open(f"{d}/search-queries.txt", encoding="utf-8", newline="") as f:
    lines = f.read().split("\n")
for line in lines:
    if "\t" not in line:
        continue
    limit, q = line.split("\t", 1)
    out.append(line + "\n")
    r = subprocess.run([quire, "search", f"{d}/search.quire", "--limit", limit, "--json", "--", q],
                       check=True, stdout=subprocess.PIPE)
    for row in r.stdout.decode("utf-8").splitlines():
        h = json.loads(row)
        title = "(none)" if h["title"] is None else h["title"]
        out.append(f'{h["key"]}\t{title}\t{h["score"]}\t{h["snippet"]}\n')
with open(f"{d}/search-expected.tsv", "w", encoding="utf-8", newline="") as f:
    f.write("".join(out))
EOF

echo "-- compile with $CC"
flags=(-std=c11 -Wall -Wextra -Werror -pedantic -Ibindings/c/include)
"$CC" "${flags[@]}" bindings/c/tests/test.c -L"$lib" -lquire -Wl,-rpath,"$lib" -lpthread -o "$work/test"
"$CC" "${flags[@]}" bindings/c/tests/remote.c -L"$lib" -lquire -Wl,-rpath,"$lib" -lpthread -o "$work/remote"
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

remote=${QUIRE_C_REMOTE:-1}
if [ "$remote" != 0 ]; then
  echo "-- quire_open_url against nginx (http, https) and moto (s3)"
  bindings/c/tests/remote.sh "$work/remote" "$work/fixture"
fi

if [ "${QUIRE_VALGRIND:-auto}" != 0 ]; then
  if command -v valgrind >/dev/null; then
    echo "-- the C test under valgrind"
    valgrind -q --leak-check=full --errors-for-leak-kinds=all --error-exitcode=1 \
      "$work/test" "$work/fixture"
    if [ "$remote" != 0 ]; then
      # The remote reader's I/O runtime (two threads, started at the first URL opened) lives
      # until the process exits, by design: its memory is still reachable at exit, and its
      # threads' stacks "possibly lost". Definite and indirect leaks are errors.
      echo "-- quire_open_url against the servers under valgrind"
      bindings/c/tests/remote.sh "$work/remote" "$work/fixture" \
        valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=1 \
        --suppressions="$PWD/bindings/c/tests/ring.supp"
    fi
  elif [ "${QUIRE_VALGRIND:-auto}" = 1 ]; then
    echo "valgrind is not installed" >&2
    exit 1
  else
    echo "-- valgrind not installed: skipped"
  fi
fi
