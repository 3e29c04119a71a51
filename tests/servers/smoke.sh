#!/usr/bin/env bash
# Smoke test of the test servers for remote reading (issue 11): starts nginx and moto on free
# loopback ports, makes range requests with curl and a plain Python client, and checks the bytes
# and what each server logged. Ends with a plain "N passed, M failed" line; exit 1 on a failure.
#
# With CI=true a server that cannot be installed is a failure; otherwise its checks are skipped
# with a message. QUIRE_S3_VENV (default ~/.cache/quire-test-servers/moto-venv) keeps moto's venv
# between runs; QUIRE_KEEP_SERVERS_DIR=1 keeps the work directory (logs) for a look afterwards.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
T0=$SECONDS
PASSED=0 FAILED=0 SKIPPED=0
SIZE=1048576
BUCKET=quire-test
KEY=dir/a.bin

pass() { PASSED=$((PASSED + 1)); echo "ok   $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }
skip() { SKIPPED=$((SKIPPED + 1)); echo "skip $*"; }
check() {  # check DESCRIPTION COMMAND...: one test
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
eq() { [ "$1" = "$2" ] || { echo "     got '$1', want '$2'"; return 1; }; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/quire-servers.XXXXXX")
NG=$WORK/nginx
S3=$WORK/s3
OUT=$WORK/out.bin
export QUIRE_S3_VENV=${QUIRE_S3_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/quire-test-servers/moto-venv}

cleanup() {
  bash "$HERE/nginx.sh" stop "$NG" >/dev/null 2>&1
  bash "$HERE/s3.sh" stop "$S3" >/dev/null 2>&1
  if [ "${QUIRE_KEEP_SERVERS_DIR:-}" = 1 ]; then echo "smoke.sh: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
slice() { tail -c +$(($2 + 1)) "$1" | head -c "$3"; }       # slice FILE START LEN
same_bytes() { cmp -s "$1" "$2" || { echo "     bytes differ: $1 $2"; return 1; }; }
same_slice() { slice "$2" "$3" "$4" >"$WORK/want.bin"; same_bytes "$1" "$WORK/want.bin"; }
json_get() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): d = d.get(k) if isinstance(d, dict) else None
print("" if d is None else d)' "$1" "$2"; }
header() { tr -d '\r' <"$1" | awk -v h="$(echo "$2" | tr 'A-Z' 'a-z')" -F': ' 'tolower($1) == h { v = $2 } END { print v }'; }

# curl_get URL [curl options...]: body to $OUT, headers to $WORK/h.txt; prints the status.
curl_get() { local url=$1; shift; curl -sS -m 10 -o "$OUT" -D "$WORK/h.txt" -w '%{http_code}' "$@" "$url"; }
# py_get URL [client.py options...]: body to $OUT, summary to $WORK/c.json; prints the status.
py_get() {
  python3 "$HERE/client.py" "$@" --timeout 10 --out "$OUT" >"$WORK/c.json"
  json_get "$WORK/c.json" status
}

# expect_log KIND DIR SKIP FIELD=VALUE|FIELD<VALUE...: exactly one record after the first SKIP
# (waiting up to 5 s for it), with those fields.
expect_log() {
  local kind=$1 dir=$2 skip=$3; shift 3
  python3 "$HERE/log.py" "$kind" "$dir" --skip "$skip" --wait 1 --timeout 5 >"$WORK/log.out"
  python3 - "$WORK/log.out" "$@" <<'PY'
import json, re, sys
records = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
if len(records) != 1:
    print(f"     want 1 new log record, found {len(records)}: {records}")
    sys.exit(1)
r, bad = records[0], []
for spec in sys.argv[2:]:
    name, op, want = re.match(r"(\w+)([=<])(.*)", spec).groups()
    got = r.get(name)
    ok = str(got) == want if op == "=" else got is not None and got < int(want)
    if not ok:
        bad.append(f"{name}={got!r} (want {op}{want})")
if bad:
    print("     log record: " + ", ".join(bad))
    sys.exit(1)
PY
}
log_count() { python3 "$HERE/log.py" "$1" "$2" --summary | python3 -c 'import json, sys; print(json.load(sys.stdin)["requests"])'; }

head -c $SIZE /dev/urandom >"$WORK/a.bin"
head -c $SIZE /dev/urandom >"$WORK/b.bin"

# A server that cannot be installed: a failure under CI=true, else skipped.
unavailable() {
  if [ "${CI:-}" = true ]; then fail "$1 installed (CI=true: a missing server is a failure)"
  else skip "$1 checks: it could not be installed here (see the message above); with CI=true this fails"; fi
}

# ---------------------------------------------------------------------------------------- nginx
nginx_checks() {
  local port; port=$(free_port)
  local u=http://127.0.0.1:$port n=0 code etag lm
  mkdir -p "$NG/www" && cp "$WORK/a.bin" "$NG/www/a.bin"
  if ! bash "$HERE/nginx.sh" start "$NG" "$port"; then fail "nginx starts"; return; fi
  pass "nginx starts on 127.0.0.1:$port"
  local master; master=$(cat "$NG/nginx.pid")
  local workers; workers=$(pgrep -P "$master" | xargs)

  code=$(curl_get "$u/a.bin" -r 1000-1999)
  check "nginx curl -r 1000-1999: 206 and the right 1000 bytes" eval 'eq "$code" 206 && same_slice "$OUT" "$WORK/a.bin" 1000 1000'
  check "nginx log: GET /a.bin bytes=1000-1999 206 1000" expect_log nginx "$NG" $n method=GET path=/a.bin range=bytes=1000-1999 status=206 bytes=1000 content_range="bytes 1000-1999/$SIZE"; n=$((n + 1))

  code=$(py_get "$u/a.bin" --range 0-16383)
  check "nginx python Range 0-16383: 206 and the right bytes" eval 'eq "$code" 206 && same_slice "$OUT" "$WORK/a.bin" 0 16384'
  check "nginx log: bytes=0-16383 206 16384" expect_log nginx "$NG" $n range=bytes=0-16383 status=206 bytes=16384; n=$((n + 1))

  code=$(py_get "$u/a.bin" --range -100)
  check "nginx python suffix Range -100: 206 and the last 100 bytes" eval 'eq "$code" 206 && same_slice "$OUT" "$WORK/a.bin" $((SIZE - 100)) 100'
  check "nginx log: bytes=-100 206 100" expect_log nginx "$NG" $n range=bytes=-100 status=206 bytes=100; n=$((n + 1))

  code=$(curl_get "$u/a.bin" -I)
  etag=$(header "$WORK/h.txt" etag); lm=$(header "$WORK/h.txt" last-modified)
  local want_etag; want_etag=$(printf '"%x-%x"' "$(stat -c %Y "$NG/www/a.bin")" $SIZE)
  check "nginx HEAD: 200, ETag is \"hex(mtime)-hex(size)\" = $want_etag" eval 'eq "$code" 200 && eq "$etag" "$want_etag" && [ -n "$lm" ]'
  check "nginx log: HEAD 200 0 bytes, ETag and Last-Modified logged" expect_log nginx "$NG" $n method=HEAD status=200 bytes=0 etag="$etag" last_modified="$lm"; n=$((n + 1))

  code=$(curl_get "$u/norange/a.bin" -r 1000-1999)
  check "nginx /norange/ ignores Range: 200 and the whole file" eval 'eq "$code" 200 && same_bytes "$OUT" "$WORK/a.bin"'
  check "nginx log: /norange/ bytes=1000-1999 200 $SIZE" expect_log nginx "$NG" $n path=/norange/a.bin range=bytes=1000-1999 status=200 bytes=$SIZE; n=$((n + 1))

  code=$(py_get "$u/forbidden/a.bin" --range 0-99)
  check "nginx /forbidden/: 403" eq "$code" 403
  check "nginx log: /forbidden/ 403" expect_log nginx "$NG" $n path=/forbidden/a.bin status=403; n=$((n + 1))

  code=$(curl_get "$u/a.bin" -r 0-9,20-29)
  check "nginx two ranges on /: 206 multipart/byteranges" eval 'eq "$code" 206 && [[ $(header "$WORK/h.txt" content-type) == multipart/byteranges* ]]'
  check "nginx log: bytes=0-9,20-29 206" expect_log nginx "$NG" $n range=bytes=0-9,20-29 status=206 bytes"<"1000; n=$((n + 1))

  code=$(curl_get "$u/one-range/a.bin" -r 0-9,20-29)
  check "nginx two ranges on /one-range/ (max_ranges 1): 200 and the whole file" eval 'eq "$code" 200 && same_bytes "$OUT" "$WORK/a.bin"'
  check "nginx log: /one-range/ 200 $SIZE" expect_log nginx "$NG" $n status=200 bytes=$SIZE; n=$((n + 1))

  code=$(curl_get "$u/a.bin" -r 2000000-2000099)
  check "nginx Range past the end: 416" eq "$code" 416
  check "nginx log: 416 with Content-Range bytes */$SIZE" expect_log nginx "$NG" $n status=416 content_range="bytes */$SIZE"; n=$((n + 1))

  code=$(py_get "$u/a.bin" --range 0-99 --header "If-Match: $etag")
  check "nginx If-Match with the current ETag: 206" eq "$code" 206
  check "nginx log: If-Match recorded, 206" expect_log nginx "$NG" $n if_match="$etag" status=206 bytes=100; n=$((n + 1))

  code=$(py_get "$u/a.bin" --range 0-99 --header 'If-Match: "0-0"')
  check "nginx If-Match with another ETag: 412" eq "$code" 412
  check "nginx log: 412" expect_log nginx "$NG" $n if_match='"0-0"' status=412; n=$((n + 1))

  code=$(py_get "$u/a.bin" --range 0-99 --header "If-Unmodified-Since: Mon, 01 Jan 2001 00:00:00 GMT")
  check "nginx If-Unmodified-Since before the mtime: 412" eq "$code" 412
  check "nginx log: If-Unmodified-Since recorded, 412" expect_log nginx "$NG" $n if_unmodified_since="Mon, 01 Jan 2001 00:00:00 GMT" status=412; n=$((n + 1))

  code=$(curl_get "$u/noetag/a.bin" -I)
  check "nginx /noetag/: no ETag, no Last-Modified" eval 'eq "$code" 200 && eq "$(header "$WORK/h.txt" etag)$(header "$WORK/h.txt" last-modified)" ""'
  check "nginx log: /noetag/ etag null" expect_log nginx "$NG" $n path=/noetag/a.bin etag=None last_modified=None; n=$((n + 1))

  local t=$SECONDS rc
  curl -sS -m 2 -o "$OUT" "$u/slow/a.bin" 2>/dev/null; rc=$?
  check "nginx /slow/: curl -m 2 times out (exit 28) in under 5 s" eval 'eq "$rc" 28 && [ $((SECONDS - t)) -lt 5 ]'
  check "nginx log: /slow/ 200, far less than the file sent" expect_log nginx "$NG" $n path=/slow/a.bin status=200 bytes"<"65536; n=$((n + 1))

  # The swapped file: other bytes, same size, same mtime (touch -r), a new inode (mv).
  cp "$WORK/b.bin" "$NG/www/.a.bin.new" && touch -r "$NG/www/a.bin" "$NG/www/.a.bin.new" && mv "$NG/www/.a.bin.new" "$NG/www/a.bin"
  code=$(curl_get "$u/a.bin" -I)
  check "nginx swapped file (same size and mtime): ETag and Last-Modified do NOT change" eval 'eq "$code" 200 && eq "$(header "$WORK/h.txt" etag)" "$etag" && eq "$(header "$WORK/h.txt" last-modified)" "$lm"'
  n=$((n + 1))
  code=$(curl_get "$u/a.bin" -r 1000-1999 -H "If-Match: $etag")
  check "nginx swapped file: If-Match with the old ETag still 206, with the NEW file's bytes" eval 'eq "$code" 206 && same_slice "$OUT" "$WORK/b.bin" 1000 1000'
  check "nginx log: the swapped read is 206 1000 under the old ETag" expect_log nginx "$NG" $n if_match="$etag" etag="$etag" status=206 bytes=1000; n=$((n + 1))

  check "nginx log holds exactly the $n requests made" eq "$(log_count nginx "$NG")" $n

  bash "$HERE/nginx.sh" stop "$NG" >/dev/null
  check "nginx stops: master $master and workers $workers gone, pid file removed" eval '! kill -0 $master $workers 2>/dev/null && [ ! -e "$NG/nginx.pid" ]'
}

# ------------------------------------------------------------------------------------------- S3
s3_checks() {
  local port; port=$(free_port)
  local u n code etag etag2 md5
  if ! bash "$HERE/s3.sh" start "$S3" "$port"; then fail "moto starts"; return; fi
  pass "moto starts on 127.0.0.1:$port"
  local pid; pid=$(cat "$S3/s3.pid")
  u=http://127.0.0.1:$port/$BUCKET/$KEY

  etag=$(timeout 60 bash "$HERE/s3.sh" put "$S3" "$port" $BUCKET $KEY "$WORK/a.bin")
  md5=\"$(md5sum "$WORK/a.bin" | cut -d' ' -f1)\"
  check "s3.sh put: bucket made, object uploaded, ETag is the MD5 $md5" eq "$etag" "$md5"
  n=$(log_count s3 "$S3")
  check "moto log: the put's requests are logged (CreateBucket and PutObject: 2 PUTs)" eq "$(python3 "$HERE/log.py" s3 "$S3" --method PUT | wc -l)" 2

  code=$(curl_get "$u" -r 1000-1999 --aws-sigv4 aws:amz:us-east-1:s3 -u test:test)
  check "moto curl --aws-sigv4 -r 1000-1999: 206 and the right 1000 bytes" eval 'eq "$code" 206 && same_slice "$OUT" "$WORK/a.bin" 1000 1000'
  check "moto log: GET bytes=1000-1999 206 1000" expect_log s3 "$S3" $n method=GET path=/$BUCKET/$KEY range=bytes=1000-1999 status=206 bytes=1000 etag="$etag" content_range="bytes 1000-1999/$SIZE"; n=$((n + 1))

  code=$(py_get "$u" --sign-s3 --range 0-16383)
  check "moto python (SigV4) Range 0-16383: 206 and the right bytes" eval 'eq "$code" 206 && same_slice "$OUT" "$WORK/a.bin" 0 16384'
  check "moto log: bytes=0-16383 206 16384" expect_log s3 "$S3" $n range=bytes=0-16383 status=206 bytes=16384; n=$((n + 1))

  code=$(py_get "$u" --sign-s3 --range -100)
  check "moto python suffix Range -100: 206 and the last 100 bytes" eval 'eq "$code" 206 && same_slice "$OUT" "$WORK/a.bin" $((SIZE - 100)) 100'
  check "moto log: bytes=-100 206 100" expect_log s3 "$S3" $n range=bytes=-100 status=206 bytes=100; n=$((n + 1))

  code=$(py_get "$u" --range 0-99)
  check "moto unsigned (anonymous) GET of a private object: 403" eq "$code" 403
  check "moto log: 403" expect_log s3 "$S3" $n status=403 range=bytes=0-99; n=$((n + 1))

  code=$(py_get "$u" --sign-s3 --method HEAD)
  check "moto HEAD: 200, Content-Length $SIZE, the same ETag" eval 'eq "$code" 200 && eq "$(json_get "$WORK/c.json" headers.content-length)" $SIZE && eq "$(json_get "$WORK/c.json" headers.etag)" "$etag"'
  check "moto log: HEAD 200 0 bytes" expect_log s3 "$S3" $n method=HEAD status=200 bytes=0; n=$((n + 1))

  code=$(curl_get "$u" -r 0-9,20-29 --aws-sigv4 aws:amz:us-east-1:s3 -u test:test)
  check "moto two ranges: 200 and the whole object (as S3: one range per GET)" eval 'eq "$code" 200 && same_bytes "$OUT" "$WORK/a.bin"'
  check "moto log: bytes=0-9,20-29 200 $SIZE" expect_log s3 "$S3" $n range=bytes=0-9,20-29 status=200 bytes=$SIZE; n=$((n + 1))

  code=$(py_get "$u" --sign-s3 --range 2000000-2000099)
  check "moto Range past the end: 416" eq "$code" 416
  check "moto log: 416" expect_log s3 "$S3" $n status=416; n=$((n + 1))

  code=$(py_get "$u" --sign-s3 --range 0-99 --header "If-Match: $etag")
  check "moto If-Match with the current ETag: 206" eq "$code" 206
  check "moto log: If-Match recorded, 206 100" expect_log s3 "$S3" $n if_match="$etag" status=206 bytes=100; n=$((n + 1))

  code=$(py_get "$u" --sign-s3 --range 0-99 --header 'If-Match: "00000000000000000000000000000000"')
  check "moto If-Match with another ETag: 412" eq "$code" 412
  check "moto log: 412" expect_log s3 "$S3" $n status=412; n=$((n + 1))

  code=$(py_get "$u" --sign-s3 --range 0-99 --header "If-Unmodified-Since: Mon, 01 Jan 2001 00:00:00 GMT")
  check "moto If-Unmodified-Since before the upload: 412" eq "$code" 412
  check "moto log: If-Unmodified-Since recorded, 412" expect_log s3 "$S3" $n if_unmodified_since="Mon, 01 Jan 2001 00:00:00 GMT" status=412; n=$((n + 1))

  # boto3 from the venv, configured only by the environment that s3.sh env prints.
  (eval "$(bash "$HERE/s3.sh" env "$port")"
   timeout 30 "$QUIRE_S3_VENV/bin/python" -c '
import sys, boto3
from botocore.config import Config
s3 = boto3.client("s3", config=Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 1}))
body = s3.get_object(Bucket=sys.argv[1], Key=sys.argv[2], Range="bytes=5000-9999")["Body"].read()
open(sys.argv[3], "wb").write(body)' $BUCKET $KEY "$OUT")
  check "moto boto3 (environment only) Range 5000-9999: the right bytes" same_slice "$OUT" "$WORK/a.bin" 5000 5000
  check "moto log: boto3's GET bytes=5000-9999 206 5000" expect_log s3 "$S3" $n range=bytes=5000-9999 status=206 bytes=5000; n=$((n + 1))

  # The swapped object: other bytes, same size. S3's ETag is the MD5 of the content, so it changes.
  local before; before=$(log_count s3 "$S3")
  etag2=$(timeout 60 bash "$HERE/s3.sh" put "$S3" "$port" $BUCKET $KEY "$WORK/b.bin")
  check "moto swapped object (same size): the ETag changes" eval '[ -n "$etag2" ] && [ "$etag2" != "$etag" ]'
  n=$((n + $(log_count s3 "$S3") - before))
  code=$(py_get "$u" --sign-s3 --range 1000-1999 --header "If-Match: $etag")
  check "moto swapped object: If-Match with the old ETag is 412" eq "$code" 412
  check "moto log: 412 for the old ETag" expect_log s3 "$S3" $n if_match="$etag" status=412; n=$((n + 1))

  check "moto log holds exactly the $n requests made" eq "$(log_count s3 "$S3")" $n

  bash "$HERE/s3.sh" stop "$S3" >/dev/null
  check "moto stops: pid $pid gone, pid file removed" eval '! kill -0 $pid 2>/dev/null && [ ! -e "$S3/s3.pid" ]'
}

if timeout 600 bash "$HERE/nginx.sh" install; then nginx_checks; else unavailable nginx; fi
mkdir -p "$S3"
if timeout 600 bash "$HERE/s3.sh" install "$S3"; then s3_checks; else unavailable "moto (S3)"; fi

stray=$(pgrep -af -- "$WORK" | grep -v pgrep || true)
check "no server process of this run is left" eq "$stray" ""

echo "smoke.sh: $((SECONDS - T0)) s (work directory $WORK)"
line="$PASSED passed, $FAILED failed"
[ "$SKIPPED" -gt 0 ] && line="$line, $SKIPPED skipped"
echo "$line"
[ "$FAILED" -eq 0 ]
