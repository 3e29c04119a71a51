#!/usr/bin/env python3
"""A fault-injecting HTTP/1.1 reverse proxy for the remote-reading tests (standard library only).

    python3 tests/servers/proxy.py --port PORT --upstream http://127.0.0.1:UPORT
        [--delay SECONDS] [--log FILE] [--fault MODE]... [--fault-after N] [--fault-from OFFSET]
    python3 tests/servers/proxy.py --in-flight LOGFILE

Listens on 127.0.0.1:PORT (threaded, keep-alive), forwards every request to the upstream
(nginx from nginx.sh, or any plain-http server) and streams its answer back. Prints `ready`
on stdout once it listens. See README.md ("proxy.py") for the faults and the log.
"""

import argparse
import http.client
import json
import os
import signal
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
}

CHUNK = 64 * 1024


class Settings:
    upstream_host = "127.0.0.1"
    upstream_port = 80
    upstream_prefix = ""
    delay = 0.0
    log = None
    faults = {}
    fault_after = 0
    fault_from = 0


LOG_LOCK = threading.Lock()
COUNT_LOCK = threading.Lock()
COUNT = [0]
STOP = threading.Event()


def parse_faults(values):
    faults = {}
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            name, _, arg = part.partition("=")
            if name in ("cut-after", "status", "close-after"):
                if not arg:
                    raise SystemExit(f"proxy.py: --fault {name}=N needs a number")
                faults[name] = int(arg)
            elif name in ("stall", "close", "ignore-range", "stall-body"):
                faults[name] = True
            else:
                raise SystemExit(f"proxy.py: unknown fault {part!r}")
    return faults


def write_log(record):
    if not Settings.log:
        return
    line = json.dumps(record, sort_keys=True)
    with LOG_LOCK:
        with open(Settings.log, "a", encoding="utf-8") as f:
            f.write(line + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "quire-test-proxy"

    def log_message(self, format, *args):  # quiet: the JSON log says what happened
        pass

    def setup(self):
        super().setup()
        self.upstream = None

    def finish(self):
        try:
            super().finish()
        finally:
            if self.upstream is not None:
                self.upstream.close()

    def do_GET(self):
        self.forward()

    def do_HEAD(self):
        self.forward()

    def connect(self):
        if self.upstream is None:
            self.upstream = http.client.HTTPConnection(
                Settings.upstream_host, Settings.upstream_port, timeout=300
            )
        return self.upstream

    def forward(self):
        start = time.time()
        with COUNT_LOCK:
            COUNT[0] += 1
            serial = COUNT[0]
        faulty = serial > Settings.fault_after and range_start(self.headers.get("Range")) >= Settings.fault_from
        faults = Settings.faults if faulty else {}
        record = {
            "start": start,
            "method": self.command,
            "path": self.path,
            "range": self.headers.get("Range"),
            "status": 0,
            "bytes": 0,
        }
        try:
            self.answer(faults, record)
        except (ConnectionError, socket.timeout, OSError) as e:
            record["error"] = str(e)
            self.close_connection = True
        finally:
            record["end"] = time.time()
            write_log(record)

    def answer(self, faults, record):
        # Drain any request body (GET/HEAD normally have none).
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None

        if faults.get("stall"):
            # Never answer: hold the connection until the client gives up or the proxy stops.
            record["fault"] = "stall"
            while not STOP.is_set():
                if STOP.wait(0.2):
                    break
                if peer_closed(self.connection):
                    break
            self.close_connection = True
            return
        if faults.get("close"):
            record["fault"] = "close"
            self.close_connection = True
            return

        if Settings.delay > 0:
            time.sleep(Settings.delay)

        if "status" in faults:
            code = faults["status"]
            text = f"proxy.py: fault status={code}\n".encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(text)
                record["bytes"] = len(text)
            record["status"] = code
            return

        headers = {}
        for k, v in self.headers.items():
            if k.lower() in HOP_BY_HOP or k.lower() == "host":
                continue
            if k.lower() == "range" and faults.get("ignore-range"):
                continue
            headers[k] = v
        headers["Host"] = f"{Settings.upstream_host}:{Settings.upstream_port}"
        path = Settings.upstream_prefix + self.path

        for attempt in (0, 1):
            conn = self.connect()
            try:
                conn.request(self.command, path, body=body, headers=headers)
                resp = conn.getresponse()
                break
            except (http.client.HTTPException, ConnectionError, OSError):
                conn.close()
                self.upstream = None
                if attempt:
                    raise

        record["status"] = resp.status
        out_headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
        declared = resp.getheader("Content-Length")
        if self.command == "HEAD":
            payload_len = int(declared) if declared is not None else None
            chunks = iter(())
        elif declared is not None:
            payload_len = int(declared)
            chunks = read_chunks(resp)
        else:
            # Chunked or close-delimited upstream: buffer it, then send with a length.
            data = resp.read()
            payload_len = len(data)
            out_headers.append(("Content-Length", str(payload_len)))
            chunks = iter((data,))

        cut = faults.get("cut-after")
        self.send_response_only(resp.status, resp.reason)
        for k, v in out_headers:
            self.send_header(k, v)
        if cut is not None and payload_len is not None and payload_len > cut:
            record["fault"] = f"cut-after={cut}"
            self.send_header("Connection", "close")
        self.end_headers()
        sent = 0
        try:
            for chunk in chunks:
                if cut is not None and payload_len is not None and payload_len > cut:
                    chunk = chunk[: max(0, cut - sent)]
                if chunk:
                    self.wfile.write(chunk)
                    sent += len(chunk)
                if cut is not None and payload_len is not None and payload_len > cut and sent >= cut:
                    break
                if faults.get("stall-body") and sent > 0:
                    record["fault"] = "stall-body"
                    self.wfile.flush()
                    while not STOP.wait(0.2):
                        if peer_closed(self.connection):
                            break
                    break
        finally:
            record["bytes"] = sent
        if record.get("fault"):
            # The rest of the upstream answer is left unread: drop that connection.
            self.wfile.flush()
            self.close_connection = True
            if self.upstream is not None:
                self.upstream.close()
                self.upstream = None
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def range_start(header):
    """The first byte a `Range: bytes=A-B` header asks for (0 without one, or for a suffix)."""
    if not header or not header.startswith("bytes="):
        return 0
    first = header[len("bytes="):].split(",")[0].split("-")[0].strip()
    return int(first) if first.isdigit() else 0


def read_chunks(resp):
    while True:
        chunk = resp.read(CHUNK)
        if not chunk:
            return
        yield chunk


def peer_closed(sock):
    """True once the client has closed its end (a readable socket with nothing to read)."""
    try:
        sock.setblocking(False)
        try:
            data = sock.recv(1, socket.MSG_PEEK)
        finally:
            sock.setblocking(True)
        return data == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def in_flight(path):
    """The largest number of requests whose [start, end] intervals overlap."""
    events = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            events.append((r["start"], 1))
            events.append((r["end"], -1))
    # At equal times an end comes before a start: touching intervals do not overlap.
    events.sort(key=lambda e: (e[0], e[1]))
    now = best = 0
    for _, d in events:
        now += d
        best = max(best, now)
    return best


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int)
    p.add_argument("--upstream", help="http://HOST:PORT[/PREFIX]")
    p.add_argument("--delay", type=float, default=0.0, help="seconds to wait before forwarding each request")
    p.add_argument("--log", help="append one JSON line per request when it ends")
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        help="cut-after=N | stall | stall-body | close | status=CODE | ignore-range (repeatable, or comma-separated)",
    )
    p.add_argument("--fault-after", type=int, default=0, help="the first N requests pass untouched")
    p.add_argument(
        "--fault-from",
        type=int,
        default=0,
        metavar="OFFSET",
        help="only requests whose Range starts at OFFSET or later get the fault",
    )
    p.add_argument("--in-flight", metavar="LOGFILE", help="print the most requests in flight at once, then exit")
    a = p.parse_args()

    if a.in_flight:
        print(in_flight(a.in_flight))
        return
    if a.port is None or not a.upstream:
        p.error("--port and --upstream are needed")
    u = urllib.parse.urlsplit(a.upstream)
    if u.scheme != "http" or not u.hostname:
        p.error("--upstream must be http://HOST:PORT")
    Settings.upstream_host = u.hostname
    Settings.upstream_port = u.port or 80
    Settings.upstream_prefix = u.path.rstrip("/")
    Settings.delay = a.delay
    Settings.log = a.log
    Settings.faults = parse_faults(a.fault)
    Settings.fault_after = a.fault_after
    Settings.fault_from = a.fault_from
    if a.log:
        open(a.log, "a").close()

    server = Server(("127.0.0.1", a.port), Handler)

    def stop(*_):
        STOP.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("ready", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
        sys.stdout.flush()
        os._exit(0)


if __name__ == "__main__":
    main()
