#!/usr/bin/env bash
# quire_open_url against real servers (run by bindings/c/test.sh; see tests/servers/README.md):
#
#   bindings/c/tests/remote.sh BIN FIXTURE_DIR [WRAPPER...]
#
# BIN is the compiled tests/remote.c, FIXTURE_DIR the fixture example's output (test.quire,
# expected.bin, truncated.quire). Starts a private nginx (http and https, its throwaway CA
# trusted through SSL_CERT_FILE) and moto (S3) on free ports of 127.0.0.1, puts test.quire
# on both, and runs BIN (under WRAPPER, e.g. valgrind, when given):
#
#   - http://, https:// and s3:// reads of every kind, compared with the Rust reader's bytes;
#   - nginx's /slow/ (1 KiB/s) with timeout_ms 1000 and 0 retries: QUIRE_ERR_TIMEOUT after
#     0.8-5 s (0.8-11 s under a wrapper), not the 16 s the first 16 KiB take, and one request
#     in nginx's log;
#   - /unavailable/ (always 503) with retries 2: QUIRE_ERR_NETWORK, and exactly 3 requests in
#     nginx's log;
#   - a missing object (404, S3 NoSuchKey): QUIRE_ERR_NOT_FOUND; /forbidden/ and S3 without
#     credentials: QUIRE_ERR_FORBIDDEN; https without the CA: QUIRE_ERR_NETWORK; a malformed
#     URL: QUIRE_ERR_ARGUMENT; the object replaced after the open: QUIRE_ERR_CHANGED; the
#     server stopped after the open: reads and verify give QUIRE_ERR_NETWORK.
#
# A server that cannot be installed or started fails the run when CI=true, and is skipped with
# a message otherwise. The servers are stopped on exit, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/../../.."
[ $# -ge 2 ] || { echo "usage: $0 BIN FIXTURE_DIR [WRAPPER...]" >&2; exit 2; }
bin=$1 fixture=$2
shift 2
wrapped=$#
run=("$@" "$bin")
# The example (examples/get.c), beside BIN: run over a URL too, without the wrapper.
get=$(dirname "$bin")/get
[ "$wrapped" = 0 ] && [ -x "$get" ] || get=
servers=tests/servers

# moto's venv, kept between runs as tests/servers/smoke.sh keeps it.
export QUIRE_S3_VENV=${QUIRE_S3_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/quire-test-servers/moto-venv}

# Status codes, from quire.h.
ERR_ARGUMENT=-1 ERR_NETWORK=-9 ERR_NOT_FOUND=-11 ERR_FORBIDDEN=-12

tmp=$(mktemp -d "${TMPDIR:-/tmp}/quire-c-remote.XXXXXX")
nginx_dir=$tmp/nginx s3_dir=$tmp/s3
cleanup() {
  [ -f "$nginx_dir/nginx.pid" ] && bash $servers/nginx.sh stop "$nginx_dir" >/dev/null 2>&1 || true
  [ -f "$s3_dir/s3.pid" ] && bash $servers/s3.sh stop "$s3_dir" >/dev/null 2>&1 || true
  if [ -n "${QUIRE_KEEP_SERVERS_DIR:-}" ]; then echo "servers' logs kept in $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A server that cannot start: a failure in CI, a skip elsewhere.
unavailable_server() {
  if [ "${CI:-}" = true ]; then
    echo "FAIL: $1 (CI=true: every server must start)" >&2
    exit 1
  fi
  echo "skip: $1"
}

# `log.py … --summary`'s request count.
requests() {
  python3 $servers/log.py "$@" --summary | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])'
}

# Exactly $1 requests under $3 in server $2's log (waiting for the last line to be written,
# then a moment longer for one too many).
expect_requests() {
  local want=$1 kind=$2 prefix=$3 got
  python3 $servers/log.py "$kind" "$kind_dir" --prefix "$prefix" --wait "$want" --timeout 10 >/dev/null || true
  sleep 0.5
  got=$(requests "$kind" "$kind_dir" --prefix "$prefix")
  if [ "$got" != "$want" ]; then
    echo "FAIL: $got requests for $prefix in the $kind log, want $want" >&2
    python3 $servers/log.py "$kind" "$kind_dir" --prefix "$prefix" >&2
    exit 1
  fi
  echo "ok: $want request(s) for $prefix in the $kind log"
}

# ---- nginx: http and https
mkdir -p "$nginx_dir/www"
cp "$fixture/test.quire" "$nginx_dir/www/test.quire"
cp "$fixture/test.quire" "$nginx_dir/www/swapped.quire"
port=$(free_port) tls_port=$(free_port)
if bash $servers/nginx.sh start "$nginx_dir" "$port" "$tls_port" >"$tmp/nginx-start.log" 2>&1; then
  http=http://127.0.0.1:$port https=https://127.0.0.1:$tls_port
  kind_dir=$nginx_dir
  echo "-- nginx on $port (http) and $tls_port (https)"
  "${run[@]}" read "$http/test.quire" "$fixture"
  SSL_CERT_FILE=$nginx_dir/tls/ca.crt "${run[@]}" read "$https/test.quire" "$fixture"
  # Without the throwaway CA the certificate is refused: the network, not the archive.
  env -u SSL_CERT_FILE "${run[@]}" status "$https/test.quire" $ERR_NETWORK
  "${run[@]}" status "$http/missing.quire" $ERR_NOT_FOUND
  "${run[@]}" status "$http/forbidden/test.quire" $ERR_FORBIDDEN
  "${run[@]}" status "http://127.0.0.1:$port:bad/test.quire" $ERR_ARGUMENT
  # The bound on how long past its timeout the open may take: wider under a wrapper.
  "${run[@]}" timeout "$http/slow/test.quire" 1000 "$([ "$wrapped" = 0 ] && echo 4 || echo 10)"
  expect_requests 1 nginx /slow/
  "${run[@]}" unavailable "$http/unavailable/test.quire" 2
  expect_requests 3 nginx /unavailable/
  if [ -n "$get" ]; then
    key=$(head -n 1 "$fixture/keys.txt")
    "$get" "$fixture/test.quire" "$key" >"$tmp/get-path.out" 2>/dev/null
    "$get" -t 10000 "$http/test.quire" "$key" >"$tmp/get-url.out" 2>/dev/null
    cmp "$tmp/get-path.out" "$tmp/get-url.out"
    code=0
    "$get" -t 1000 -r 0 "$http/slow/test.quire" "$key" >/dev/null 2>"$tmp/get.err" || code=$?
    [ "$code" = 4 ] || { echo "FAIL: examples/get over /slow/ exited $code, want 4" >&2; cat "$tmp/get.err" >&2; exit 1; }
    echo "ok: examples/get over http: the same bytes as from the file; a timeout exits 4"
  fi
  cp "$fixture/truncated.quire" "$tmp/replacement.quire"
  "${run[@]}" changed "$http/swapped.quire" "$nginx_dir/www/swapped.quire" "$tmp/replacement.quire"
  # Last: stops nginx after the open.
  "${run[@]}" down "$http/test.quire" "bash $servers/nginx.sh stop '$nginx_dir' >/dev/null"
  bash $servers/nginx.sh stop "$nginx_dir" >/dev/null
else
  cat "$tmp/nginx-start.log" >&2
  unavailable_server "nginx could not be started (tests/servers/nginx.sh start)"
fi

# ---- moto: s3://
port=$(free_port)
if bash $servers/s3.sh start "$s3_dir" "$port" >"$tmp/s3-start.log" 2>&1 &&
  bash $servers/s3.sh put "$s3_dir" "$port" quire-c c/test.quire "$fixture/test.quire" >/dev/null; then
  echo "-- moto (S3) on $port"
  (
    eval "$(bash $servers/s3.sh env "$port")"
    export AWS_ENDPOINT="$AWS_ENDPOINT_URL"
    "${run[@]}" read s3://quire-c/c/test.quire "$fixture"
    "${run[@]}" status s3://quire-c/c/missing.quire $ERR_NOT_FOUND
    # No credentials (and no metadata service): unsigned requests, which moto refuses.
    env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "${run[@]}" status s3://quire-c/c/test.quire $ERR_FORBIDDEN
  )
  bash $servers/s3.sh stop "$s3_dir" >/dev/null
else
  cat "$tmp/s3-start.log" >&2
  unavailable_server "moto (S3) could not be started (tests/servers/s3.sh start)"
fi
