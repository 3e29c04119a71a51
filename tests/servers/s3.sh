#!/usr/bin/env bash
# An S3-compatible server on 127.0.0.1 for the remote-reading tests (issue 11): moto in server
# mode (moto[server] from PyPI, pinned in s3-requirements.txt), with a request log.
#
#   s3.sh start DIR PORT                   install moto into a venv if needed, start the server
#   s3.sh stop DIR                         stop it by DIR/s3.pid (TERM, then KILL after 5 s)
#   s3.sh put DIR PORT BUCKET KEY FILE     create BUCKET if needed and upload FILE as KEY
#                                          (boto3, dummy credentials); prints the ETag
#   s3.sh env PORT                         print the client environment (export lines)
#   s3.sh install DIR                      only create the venv (exit 1 if that fails)
#
# Files under DIR: s3.pid, access.log (one JSON object per request, written by s3_server.py;
# see README.md), s3.log (moto's and werkzeug's stderr: one "GET /path HTTP/1.1" 206 - line per
# request, plus warnings and tracebacks). The venv is DIR/venv unless QUIRE_S3_VENV names
# another directory (smoke.sh keeps one in ~/.cache to save the ~30 s install on later runs).
# moto keeps everything in memory: a restart forgets every bucket.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REQS=$HERE/s3-requirements.txt
MOTO_PIN='moto[server]==5.2.5'

die() { echo "s3.sh: $*" >&2; exit 1; }

venv_dir() { echo "${QUIRE_S3_VENV:-$1/venv}"; }

client_env() {  # the variables a client needs; see README.md
  local port=$1
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
  export AWS_ALLOW_HTTP=true
  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
  export AWS_EC2_METADATA_DISABLED=true
  unset AWS_SESSION_TOKEN AWS_PROFILE
}

install_moto() {
  local venv; venv=$(venv_dir "$1")
  local stamp="$venv/.quire-s3-requirements" want
  want=$(sha256sum "$REQS" | cut -d' ' -f1)
  if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  echo "s3.sh: installing $MOTO_PIN into $venv (pip)" >&2
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  local py=${QUIRE_PYTHON:-python3}
  if ! "$py" -m venv "$venv" >/dev/null 2>&1; then
    # Debian's own python3 needs python3-venv for this.
    rm -rf "$venv"
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null 2>&1 || true
             DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null 2>&1 || true; }
    fi
    "$py" -m venv "$venv" >/dev/null 2>&1 || die "cannot create a venv with $py (python3-venv missing?)"
  fi
  local pip=("$venv/bin/python" -m pip install -q --disable-pip-version-check --no-input)
  if ! "${pip[@]}" -r "$REQS" >"$venv/pip.log" 2>&1; then
    echo "s3.sh: the pinned set did not install (see $venv/pip.log); trying $MOTO_PIN alone" >&2
    "${pip[@]}" "$MOTO_PIN" >>"$venv/pip.log" 2>&1 || die "pip could not install $MOTO_PIN; see $venv/pip.log"
  fi
  "$venv/bin/python" -c 'import moto.server, boto3' 2>/dev/null || die "moto installed but does not import"
  echo "$want" >"$stamp"
}

running_pid() {
  local f=$1/s3.pid pid
  [ -s "$f" ] || return 1
  pid=$(cat "$f")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

start() {
  local dir=$1 port=$2
  [[ $port =~ ^[0-9]+$ ]] || die "PORT must be a number"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  running_pid "$dir" >/dev/null && die "already running in $dir (pid $(cat "$dir/s3.pid")); stop it first"
  install_moto "$dir"
  local venv; venv=$(venv_dir "$dir")
  : >>"$dir/access.log"
  # setsid: its own session, so the caller's job control and signals leave it alone.
  setsid "$venv/bin/python" "$HERE/s3_server.py" --host 127.0.0.1 --port "$port" \
    --log "$dir/access.log" >>"$dir/s3.log" 2>&1 </dev/null &
  echo $! >"$dir/s3.pid"
  local i pid; pid=$(cat "$dir/s3.pid")
  for i in $(seq 300); do  # at most 30 s; moto usually answers after 2-3 s
    kill -0 "$pid" 2>/dev/null || { tail -20 "$dir/s3.log" >&2; rm -f "$dir/s3.pid"; die "moto exited at start"; }
    if curl -s -o /dev/null -m 2 "http://127.0.0.1:$port/moto-api/" 2>/dev/null; then
      echo "s3.sh: moto (pid $pid) on http://127.0.0.1:$port/ logging to $dir/access.log"
      return 0
    fi
    sleep 0.1
  done
  stop "$dir" || true
  die "moto did not answer on 127.0.0.1:$port within 30 s; see $dir/s3.log"
}

stop() {
  local dir=$1 pid i
  if ! pid=$(running_pid "$dir"); then
    rm -f "$dir/s3.pid"
    echo "s3.sh: not running in $dir"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  rm -f "$dir/s3.pid"
  echo "s3.sh: stopped moto (pid $pid)"
}

put() {
  local dir=$1 port=$2 bucket=$3 key=$4 file=$5
  [ -f "$file" ] || die "no such file: $file"
  local venv; venv=$(venv_dir "$dir")
  [ -x "$venv/bin/python" ] || die "no venv at $venv; run s3.sh start first"
  client_env "$port"
  "$venv/bin/python" - "$bucket" "$key" "$file" <<'PY'
import sys
import boto3
from botocore.config import Config

bucket, key, path = sys.argv[1:4]
s3 = boto3.client("s3", config=Config(connect_timeout=10, read_timeout=30, retries={"max_attempts": 1}))
try:
    s3.create_bucket(Bucket=bucket)
except s3.exceptions.BucketAlreadyOwnedByYou:
    pass
with open(path, "rb") as f:
    print(s3.put_object(Bucket=bucket, Key=key, Body=f)["ETag"])
PY
}

case "${1:-}" in
  start) [ $# = 3 ] || die "usage: s3.sh start DIR PORT"; start "$2" "$3" ;;
  stop) [ $# = 2 ] || die "usage: s3.sh stop DIR"; stop "$2" ;;
  put) [ $# = 6 ] || die "usage: s3.sh put DIR PORT BUCKET KEY FILE"; put "$2" "$3" "$4" "$5" "$6" ;;
  env) [ $# = 2 ] || die "usage: s3.sh env PORT"; client_env "$2"
       for v in AWS_ENDPOINT_URL AWS_ALLOW_HTTP AWS_REGION AWS_DEFAULT_REGION AWS_ACCESS_KEY_ID \
                AWS_SECRET_ACCESS_KEY AWS_EC2_METADATA_DISABLED; do echo "export $v=${!v}"; done ;;
  install) [ $# = 2 ] || die "usage: s3.sh install DIR"; mkdir -p "$2"; install_moto "$(cd "$2" && pwd)" ;;
  *) die "usage: s3.sh start DIR PORT | stop DIR | put DIR PORT BUCKET KEY FILE | env PORT | install DIR" ;;
esac
