"""moto's S3 server with a request log: one JSON object per request in LOG (see README.md).

Run by s3.sh with the venv's Python: s3_server.py --port PORT --log DIR/access.log
It is moto_server (moto.server.main) with a WSGI middleware around the application, which
records each request's method, path, headers that matter for range reads, status and the number
of body bytes handed to the server for sending, once the response is finished.
"""

import argparse
import json
import signal
import sys
import threading
import time

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
import werkzeug.serving
from werkzeug.serving import run_simple


class RequestLog:
    """WSGI middleware: wraps an application and appends a JSON line per finished request."""

    def __init__(self, app, path):
        self.app = app
        self.file = open(path, "a", encoding="utf-8")
        self.lock = threading.Lock()

    def write(self, record):
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self.lock:
            self.file.write(line)
            self.file.flush()

    def __call__(self, environ, start_response):
        start = time.time()
        record = {
            "time": round(start, 3),
            "remote_port": int(environ.get("REMOTE_PORT") or 0),
            "method": environ.get("REQUEST_METHOD", ""),
            "uri": environ.get("PATH_INFO", "")
            + ("?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else ""),
            "host": environ.get("HTTP_HOST", ""),
            "range": environ.get("HTTP_RANGE", ""),
            "if_range": environ.get("HTTP_IF_RANGE", ""),
            "if_match": environ.get("HTTP_IF_MATCH", ""),
            "if_none_match": environ.get("HTTP_IF_NONE_MATCH", ""),
            "if_unmodified_since": environ.get("HTTP_IF_UNMODIFIED_SINCE", ""),
            "signed": "AWS4-HMAC-SHA256" in environ.get("HTTP_AUTHORIZATION", ""),
            "status": 0,
            "body_bytes_sent": 0,
            "etag": "",
            "last_modified": "",
            "content_range": "",
            "content_length": None,
        }

        def wrapped_start_response(status, headers, exc_info=None):
            record["status"] = int(status.split(" ", 1)[0])
            for name, value in headers:
                lname = name.lower()
                if lname == "etag":
                    record["etag"] = value
                elif lname == "last-modified":
                    record["last_modified"] = value
                elif lname == "content-range":
                    record["content_range"] = value
                elif lname == "content-length":
                    record["content_length"] = int(value)
            return start_response(status, headers, exc_info)

        try:
            body = self.app(environ, wrapped_start_response)
        except BaseException:
            record["status"] = record["status"] or 500
            record["request_time"] = round(time.time() - start, 3)
            self.write(record)
            raise
        return self._counted(body, record, start)

    def _counted(self, body, record, start):
        try:
            for chunk in body:
                record["body_bytes_sent"] += len(chunk)
                yield chunk
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
            record["request_time"] = round(time.time() - start, 3)
            self.write(record)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True, help="JSON-lines request log (appended)")
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("s3_server.py: only loopback addresses are allowed")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # werkzeug's own per-request line on stderr (DIR/s3.log), without terminal colours.
    werkzeug.serving._log_add_style = False
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        RequestLog(app, args.log),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
