#!/usr/bin/env python3
"""Print the requests that reached a test server, one JSON object per line.

    python3 tests/servers/log.py nginx DIR [options]
    python3 tests/servers/log.py s3 DIR [options]

DIR is the directory given to nginx.sh / s3.sh; both write DIR/access.log, one JSON object per
request (raw formats in README.md). Each printed record has the same keys for both servers:

    method, path, range, status, bytes, etag, last_modified, content_range,
    if_match, if_none_match, if_unmodified_since, if_range, conn, time, request_time

`bytes` is the response body bytes the server sent (headers not counted); `range` and the other
header fields are null when the request or response had no such header; `path` is the request
target with its query string; `conn` tells connections apart (nginx: its connection serial
number; s3: the client's port). Records are in the order the requests finished.

Options:
    --skip N       leave out the first N records (those before a point in a test)
    --method M     keep only requests with this method (e.g. GET; s3.sh put adds PUTs)
    --prefix P     keep only paths starting with P
    --wait N       wait up to --timeout seconds until at least N records (after the above)
                   are there: a server writes a record just after the response, so a client
                   can see its answer a moment before the line is in the log
    --timeout S    default 5
    --summary      print one object instead: {"requests", "bytes", "statuses": {status: count}}
Exit status: 0, or 1 when --wait timed out (the records found are printed all the same).
"""

import argparse
import json
import os
import sys
import time

FIELDS = (
    "method", "path", "range", "status", "bytes", "etag", "last_modified", "content_range",
    "if_match", "if_none_match", "if_unmodified_since", "if_range", "conn", "time",
    "request_time",
)


def normalise(kind, raw):
    def text(name):
        value = raw.get(name)
        return value if value not in ("", "-", None) else None

    return {
        "method": raw["method"],
        "path": raw["uri"],
        "range": text("range"),
        "status": int(raw["status"]),
        "bytes": int(raw["body_bytes_sent"]),
        "etag": text("etag"),
        "last_modified": text("last_modified"),
        "content_range": text("content_range"),
        "if_match": text("if_match"),
        "if_none_match": text("if_none_match"),
        "if_unmodified_since": text("if_unmodified_since"),
        "if_range": text("if_range"),
        "conn": raw.get("conn") if kind == "nginx" else raw.get("remote_port"),
        "time": raw.get("time"),
        "request_time": raw.get("request_time"),
    }


def read(kind, path):
    records = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.endswith("\n"):
                    break  # a line still being written
                line = line.strip()
                if line:
                    records.append(normalise(kind, json.loads(line)))
    except FileNotFoundError:
        pass
    return records


def main():
    parser = argparse.ArgumentParser(
        description="Print the requests a test server logged.", usage=__doc__
    )
    parser.add_argument("kind", choices=("nginx", "s3"))
    parser.add_argument("dir")
    parser.add_argument("--skip", type=int, default=0)
    parser.add_argument("--method")
    parser.add_argument("--prefix")
    parser.add_argument("--wait", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--summary", action="store_true")
    args = parser.parse_args()

    path = os.path.join(args.dir, "access.log")
    deadline = time.monotonic() + args.timeout
    while True:
        records = read(args.kind, path)[args.skip:]
        if args.method:
            records = [r for r in records if r["method"] == args.method.upper()]
        if args.prefix:
            records = [r for r in records if r["path"].startswith(args.prefix)]
        if len(records) >= args.wait or time.monotonic() >= deadline:
            break
        time.sleep(0.05)

    if args.summary:
        statuses = {}
        for r in records:
            statuses[str(r["status"])] = statuses.get(str(r["status"]), 0) + 1
        summary = {
            "requests": len(records),
            "bytes": sum(r["bytes"] for r in records),
            "statuses": statuses,
        }
        print(json.dumps(summary))
    else:
        for r in records:
            print(json.dumps({k: r[k] for k in FIELDS}, separators=(",", ":")))
    return 0 if len(records) >= args.wait else 1


if __name__ == "__main__":
    sys.exit(main())
