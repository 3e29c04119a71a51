"""The test servers of tests/servers/ (nginx, moto's S3, the delaying proxy) for the Python
tests, started the way tests/servers/fixture.rs starts them for the Rust ones: a free port on
127.0.0.1, `start`, and always `stop`; the access log read back as records, so a test counts
what reached the server from the server's side.

A server that cannot be installed or started fails the test when CI=true, and otherwise skips
it with the reason (fixture.rs's `ci()` and `unavailable`).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

import pytest

REPO = Path(__file__).resolve().parents[3]
SCRIPTS = REPO / "tests" / "servers"


def ci() -> bool:
    """Whether this is a CI run (CI=true): a server that cannot start is then a failure."""
    return os.environ.get("CI") == "true"


def unavailable(what: str, why: str) -> None:
    """A server could not be started: fails under CI, else skips the test."""
    why = why.strip()
    if ci():
        pytest.fail(f"{what} is needed (CI=true makes a missing server a failure): {why}")
    pytest.skip(f"{what} could not be started here, so this test checks nothing ({why}); "
                "with CI=true this fails")


def free_port() -> int:
    """A free port on 127.0.0.1 (bound, then released for the server to take)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def script(name: str, *args: Any, env: Optional[dict[str, str]] = None) -> str:
    """Runs `bash tests/servers/NAME ARGS...`; its stdout, or RuntimeError with its output."""
    out = subprocess.run(
        ["bash", str(SCRIPTS / name), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
        timeout=600,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{name} {' '.join(map(str, args))}: "
                           f"{out.stdout.decode(errors='replace')}{out.stderr.decode(errors='replace')}")
    return out.stdout.decode()


class Log:
    """An access log of JSON lines (nginx's, moto's or the proxy's), read from a mark on."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.mark = 0

    def all(self) -> list[dict[str, Any]]:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return []
        # A line still being written is left for later.
        text = text[: text.rfind("\n") + 1]
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def settle(self) -> list[dict[str, Any]]:
        """Every record, once no new one has come for 200 ms (a server writes its line just
        after its answer)."""
        n = -1
        records = self.all()
        while len(records) != n:
            n = len(records)
            time.sleep(0.2)
            records = self.all()
        return records

    def since_mark(self) -> list[dict[str, Any]]:
        return self.settle()[self.mark:]

    def set_mark(self) -> None:
        self.mark = len(self.settle())


class Nginx:
    """A private nginx (nginx.sh) serving `www` over http and https (a throwaway CA)."""

    def __init__(self, dir_: Path) -> None:
        self.dir = dir_
        self.port = 0
        self.tls_port = 0
        self.log = Log(dir_ / "access.log")
        self.started = False

    def start(self) -> None:
        last = ""
        for _ in range(3):
            self.port, self.tls_port = free_port(), free_port()
            try:
                script("nginx.sh", "start", self.dir, self.port, self.tls_port)
                self.started = True
                return
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                last = str(e)
        unavailable("nginx", last)

    def stop(self) -> None:
        if self.started:
            self.started = False
            try:
                script("nginx.sh", "stop", self.dir)
            except RuntimeError as e:
                print(f"nginx.sh stop: {e}", file=sys.stderr)

    @property
    def www(self) -> Path:
        return self.dir / "www"

    @property
    def ca_file(self) -> Path:
        return self.dir / "tls" / "ca.crt"

    def put(self, name: str, data: bytes) -> None:
        tmp = self.www / f".{name}.tmp"
        tmp.write_bytes(data)
        tmp.replace(self.www / name)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def https_url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.tls_port}{path}"


class S3:
    """moto's S3 server (s3.sh); its venv is kept in ~/.cache (or $QUIRE_S3_VENV)."""

    def __init__(self, dir_: Path) -> None:
        self.dir = dir_
        self.port = 0
        self.log = Log(dir_ / "access.log")
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        self.venv = os.environ.get("QUIRE_S3_VENV") or os.path.join(
            cache, "quire-test-servers", "moto-venv")
        self.started = False

    def start(self) -> None:
        last = ""
        for _ in range(3):
            self.port = free_port()
            try:
                script("s3.sh", "start", self.dir, self.port, env={"QUIRE_S3_VENV": self.venv})
                self.started = True
                return
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                last = str(e)
        unavailable("moto (S3)", last)

    def stop(self) -> None:
        if self.started:
            self.started = False
            try:
                script("s3.sh", "stop", self.dir)
            except RuntimeError as e:
                print(f"s3.sh stop: {e}", file=sys.stderr)

    def put(self, bucket: str, key: str, data: bytes) -> str:
        """Uploads `data` as s3://BUCKET/KEY (creating the bucket); returns the ETag."""
        f = self.dir / "upload.bin"
        f.write_bytes(data)
        return script("s3.sh", "put", self.dir, self.port, bucket, key, f,
                      env={"QUIRE_S3_VENV": self.venv}).strip()

    def client_env(self) -> dict[str, str]:
        """What `s3.sh env PORT` prints (AWS_ENDPOINT_URL, AWS_ALLOW_HTTP, credentials, ...)."""
        env = {}
        for line in script("s3.sh", "env", self.port).splitlines():
            if line.startswith("export ") and "=" in line:
                k, _, v = line[len("export "):].partition("=")
                env[k] = v
        return env


class Proxy:
    """tests/servers/proxy.py in front of an http upstream, delaying every request."""

    def __init__(self, upstream: str, delay: float, log: Path, *faults: str) -> None:
        self.upstream = upstream
        self.delay = delay
        self.faults = list(faults)  # proxy.py's options: "--fault", "cut-after=100", ...
        self.log = Log(log)
        self.port = 0
        self.proc: Optional[subprocess.Popen[bytes]] = None

    def start(self) -> None:
        last = ""
        err_path = self.log.path.with_suffix(".stderr")
        for _ in range(3):
            self.port = free_port()
            err_file = open(err_path, "ab")
            self.proc = subprocess.Popen(
                [sys.executable, str(SCRIPTS / "proxy.py"), "--port", str(self.port),
                 "--upstream", self.upstream, "--delay", str(self.delay),
                 "--log", str(self.log.path), *self.faults],
                stdout=subprocess.PIPE,
                stderr=err_file,
            )
            err_file.close()
            assert self.proc.stdout is not None
            line = self.proc.stdout.readline().decode().strip()
            if line == "ready":
                return
            self.proc.kill()
            self.proc.wait(timeout=10)
            last = f"proxy.py said {line!r}: {err_path.read_text(errors='replace')}"
            self.proc = None
        unavailable("proxy.py", last)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def in_flight(self) -> int:
        """The most requests in flight at once, by proxy.py's own reading of its log."""
        out = subprocess.run(
            [sys.executable, str(SCRIPTS / "proxy.py"), "--in-flight", str(self.log.path)],
            check=True, stdout=subprocess.PIPE,
        )
        return int(out.stdout.split()[0])
