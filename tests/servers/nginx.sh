#!/usr/bin/env bash
# A private nginx on 127.0.0.1 for the remote-reading tests (issue 11).
#
#   nginx.sh start DIR PORT [TLS_PORT]
#                             install nginx from Debian if missing, write DIR/nginx.conf and
#                             start nginx serving DIR/www on 127.0.0.1:PORT (daemon, pid file);
#                             with TLS_PORT, HTTPS on it too, with a certificate for 127.0.0.1
#                             signed by a throwaway CA, DIR/tls/ca.crt (trust it with
#                             SSL_CERT_FILE=DIR/tls/ca.crt)
#   nginx.sh stop DIR         stop it by DIR/nginx.pid (TERM, then KILL after 5 s)
#   nginx.sh install          only install nginx (exit 1 if that fails)
#
# Everything lives under DIR: nginx.conf, nginx.pid, error.log, access.log (one JSON object per
# request, see README.md), tmp/ and www/ (the document root; created empty if missing).
# Paths served (see README.md for what each is for):
#   /NAME             DIR/www/NAME, ETag and Last-Modified on, Range honoured (any number of ranges)
#   /one-range/NAME   the same file, max_ranges 1: a request with 2+ ranges gets the whole file (200)
#   /norange/NAME     the same file, max_ranges 0: Range is ignored, always 200 and the whole file
#   /forbidden/NAME   always 403
#   /slow/NAME        the same file, sent at 1 KiB/s (limit_rate), for timeout tests
#   /noetag/NAME      the same file, without ETag nor Last-Modified
#   /lastmodified/NAME the same file, with Last-Modified but without ETag
#   /slow-ranges/NAME the same file; a Range starting at byte 0 (an open's first read) at full
#                     speed, every other request at 1 KiB/s: a fast open, then slow reads
#   /unavailable/NAME always 503 (a server error a client retries)
set -euo pipefail

die() { echo "nginx.sh: $*" >&2; exit 1; }

find_nginx() {
  command -v nginx 2>/dev/null && return 0
  [ -x /usr/sbin/nginx ] && { echo /usr/sbin/nginx; return 0; }
  return 1
}

install_nginx() {
  find_nginx >/dev/null && return 0
  command -v apt-get >/dev/null || die "nginx is not installed and apt-get is missing"
  [ "$(id -u)" = 0 ] || die "nginx is not installed and installing it needs root"
  echo "nginx.sh: installing nginx from Debian (apt-get)" >&2
  # Keep the package's own service from starting (it would listen on port 80): a policy-rc.d
  # that refuses, only if the machine has none, removed afterwards.
  local policy=/usr/sbin/policy-rc.d made_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=1
  fi
  local ok=
  export DEBIAN_FRONTEND=noninteractive
  for pkg in nginx-light nginx; do
    if apt-get install -y -qq "$pkg" >/dev/null 2>&1; then ok=1; break; fi
  done
  if [ -z "$ok" ]; then
    apt-get update -qq >/dev/null 2>&1 || true
    for pkg in nginx-light nginx; do
      if apt-get install -y -qq "$pkg" >/dev/null 2>&1; then ok=1; break; fi
    done
  fi
  [ -n "$made_policy" ] && rm -f "$policy"
  [ -n "$ok" ] && find_nginx >/dev/null || die "could not install nginx (apt-get install nginx-light / nginx failed)"
}

write_conf() {
  local dir=$1 port=$2 user_line=
  # Workers started by root would run as nobody and might not be able to read DIR.
  [ "$(id -u)" = 0 ] && user_line="user root;"
  cat >"$dir/nginx.conf" <<CONF
# Written by tests/servers/nginx.sh; rewritten at every start.
$user_line
daemon on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log notice;
events { worker_connections 256; }
http {
    default_type application/octet-stream;
    sendfile on;
    keepalive_timeout 30s;
    server_tokens off;
    etag on;
    open_file_cache off;   # stat the file on every request, so a swapped file is seen at once
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;

    # One JSON object per request, written when the request ends. Missing headers are "".
    log_format quire escape=json '{"time":\$msec,"iso_time":"\$time_iso8601",'
        '"conn":\$connection,"conn_requests":\$connection_requests,'
        '"method":"\$request_method","uri":"\$request_uri",'
        '"range":"\$http_range","if_range":"\$http_if_range",'
        '"if_match":"\$http_if_match","if_none_match":"\$http_if_none_match",'
        '"if_unmodified_since":"\$http_if_unmodified_since",'
        '"status":\$status,"body_bytes_sent":\$body_bytes_sent,"bytes_sent":\$bytes_sent,'
        '"etag":"\$sent_http_etag","last_modified":"\$sent_http_last_modified",'
        '"content_range":"\$sent_http_content_range","request_time":\$request_time}';
    access_log $dir/access.log quire;

    # /slow-ranges/: full speed for a Range from byte 0, 1 KiB/s for everything else.
    map \$http_range \$quire_slow_rate { "~^bytes=0-" 0; default 1k; }

    server {
        listen 127.0.0.1:$port;
$tls_conf
        server_name localhost;
        root $dir/www;

        location / { }
        location /one-range/ { alias $dir/www/; max_ranges 1; }
        location /norange/ { alias $dir/www/; max_ranges 0; }
        location /forbidden/ { return 403; }
        location /slow/ { alias $dir/www/; limit_rate 1k; }
        location /noetag/ { alias $dir/www/; etag off; add_header Last-Modified ""; }
        location /lastmodified/ { alias $dir/www/; etag off; }
        location /slow-ranges/ { alias $dir/www/; limit_rate \$quire_slow_rate; }
        location /unavailable/ { return 503; }
    }
}
CONF
}

running_pid() {  # prints the pid from DIR/nginx.pid if that process is alive
  local f=$1/nginx.pid pid
  [ -s "$f" ] || return 1
  pid=$(cat "$f")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# A throwaway CA and a certificate for 127.0.0.1 and localhost signed by it, in DIR/tls.
make_tls() {
  local t=$1/tls
  mkdir -p "$t"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=quire test CA" \
    -keyout "$t/ca.key" -out "$t/ca.crt" >/dev/null 2>&1 || die "openssl: cannot make the CA"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$t/server.key" -out "$t/server.csr" >/dev/null 2>&1 || die "openssl: cannot make a request"
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$t/ext.cnf"
  openssl x509 -req -in "$t/server.csr" -CA "$t/ca.crt" -CAkey "$t/ca.key" -CAcreateserial \
    -days 2 -extfile "$t/ext.cnf" -out "$t/server.crt" >/dev/null 2>&1 || die "openssl: cannot sign"
}

start() {
  local dir=$1 port=$2 tls=${3:-}
  [[ $port =~ ^[0-9]+$ ]] || die "PORT must be a number"
  tls_conf=""
  if [ -n "$tls" ]; then
    [[ $tls =~ ^[0-9]+$ ]] || die "TLS_PORT must be a number"
    mkdir -p "$dir"
    make_tls "$(cd "$dir" && pwd)"
    local t; t="$(cd "$dir" && pwd)/tls"
    tls_conf="        listen 127.0.0.1:$tls ssl;
        ssl_certificate $t/server.crt;
        ssl_certificate_key $t/server.key;"
  fi
  install_nginx
  local bin; bin=$(find_nginx)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  running_pid "$dir" >/dev/null && die "already running in $dir (pid $(cat "$dir/nginx.pid")); stop it first"
  mkdir -p "$dir/www" "$dir/tmp"
  write_conf "$dir" "$port"
  "$bin" -t -q -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" || die "bad config $dir/nginx.conf"
  "$bin" -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" || die "nginx did not start; see $dir/error.log"
  # Wait (at most 5 s) for the pid file and the port.
  local i
  for i in $(seq 50); do
    if running_pid "$dir" >/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "nginx.sh: nginx (pid $(cat "$dir/nginx.pid")) on http://127.0.0.1:$port/ serving $dir/www"
      return 0
    fi
    sleep 0.1
  done
  stop "$dir" || true
  die "nginx did not come up on 127.0.0.1:$port; see $dir/error.log"
}

stop() {
  local dir=$1 pid i
  if ! pid=$(running_pid "$dir"); then
    rm -f "$dir/nginx.pid"
    echo "nginx.sh: not running in $dir"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    # The master did not exit: kill it and the workers it started (its children only).
    pkill -KILL -P "$pid" 2>/dev/null || true
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/nginx.pid"
  echo "nginx.sh: stopped nginx (pid $pid)"
}

case "${1:-}" in
  start) [ $# = 3 ] || [ $# = 4 ] || die "usage: nginx.sh start DIR PORT [TLS_PORT]"; start "$2" "$3" "${4:-}" ;;
  stop) [ $# = 2 ] || die "usage: nginx.sh stop DIR"; stop "$2" ;;
  install) install_nginx ;;
  *) die "usage: nginx.sh start DIR PORT | nginx.sh stop DIR | nginx.sh install" ;;
esac
