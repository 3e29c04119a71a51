#!/usr/bin/env python3
"""A plain HTTP client for smoke.sh (standard library only): one request, a summary as JSON.

    python3 client.py URL [--range A-B] [--method HEAD] [--header 'Name: value']...
                          [--sign-s3] [--out FILE] [--timeout SECONDS]

Prints {"status", "headers" (lower-cased names), "bytes" (body length), "elapsed"} and writes the
body to --out. With --sign-s3 the request is signed with AWS Signature Version 4 from
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_REGION (defaults test / test / us-east-1), as an
S3 client would. On a connection error or timeout it prints {"error": ...} and exits 2.
--timeout bounds every socket operation and the whole request (total deadline).
"""

import argparse
import datetime
import hashlib
import hmac
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def sigv4_headers(method, url, region, key_id, secret):
    parts = urllib.parse.urlsplit(url)
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = now.strftime("%Y%m%d")
    headers = {"host": parts.netloc, "x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": amz_date}
    path = urllib.parse.quote(urllib.parse.unquote(parts.path or "/"), safe="/-_.~")
    query = "&".join(
        f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
        for k, v in sorted(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    )
    signed = ";".join(sorted(headers))
    canonical = "\n".join(
        [method, path, query]
        + [f"{k}:{headers[k]}" for k in sorted(headers)]
        + ["", signed, EMPTY_SHA256]
    )
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    k = ("AWS4" + secret).encode()
    for part in (day, region, "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    del headers["host"]
    headers["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders={signed}, "
        f"Signature={signature}"
    )
    return headers


def main():
    p = argparse.ArgumentParser(description="One HTTP request, summarised as JSON.")
    p.add_argument("url")
    p.add_argument("--range", help="A-B, A- or -N (sent as Range: bytes=...)")
    p.add_argument("--method", default="GET")
    p.add_argument("--header", action="append", default=[])
    p.add_argument("--sign-s3", action="store_true")
    p.add_argument("--out")
    p.add_argument("--timeout", type=float, default=10.0)
    a = p.parse_args()

    host = urllib.parse.urlsplit(a.url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("client.py: loopback URLs only")
    headers = {}
    if a.range:
        headers["Range"] = "bytes=" + a.range
    for h in a.header:
        name, _, value = h.partition(":")
        headers[name.strip()] = value.strip()
    if a.sign_s3:
        headers.update(
            sigv4_headers(
                a.method, a.url,
                os.environ.get("AWS_REGION", "us-east-1"),
                os.environ.get("AWS_ACCESS_KEY_ID", "test"),
                os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
            )
        )
    req = urllib.request.Request(a.url, method=a.method, headers=headers)
    start = time.monotonic()
    deadline = start + a.timeout
    body = bytearray()
    try:
        try:
            resp = urllib.request.urlopen(req, timeout=a.timeout)
        except urllib.error.HTTPError as e:
            resp = e
        with resp:
            read = getattr(resp, "read1", resp.read)  # what has arrived: the deadline is checked
            while True:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no complete answer within {a.timeout} s")
                chunk = read(65536)
                if not chunk:
                    break
                body += chunk
            status = resp.status if hasattr(resp, "status") else resp.code
            out_headers = {k.lower(): v for k, v in resp.headers.items()}
    except (OSError, socket.timeout, TimeoutError) as e:
        print(json.dumps({"error": str(e) or type(e).__name__, "bytes": len(body),
                          "elapsed": round(time.monotonic() - start, 3)}))
        return 2
    if a.out:
        with open(a.out, "wb") as f:
            f.write(body)
    print(json.dumps({"status": status, "headers": out_headers, "bytes": len(body),
                      "elapsed": round(time.monotonic() - start, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
