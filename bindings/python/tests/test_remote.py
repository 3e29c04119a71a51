"""quire.open over URLs against real servers (tests/servers/): http:// and https:// from nginx,
s3:// from moto, and a proxy that delays every answer by a second. What reached the server is
counted from its own log.

A server that cannot be installed or started skips these tests, or fails them when CI=true
(see servers.py).
"""

from __future__ import annotations

import os
import random
import signal
import socket
import ssl
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

import quire

from servers import S3, Nginx, Proxy


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory,
          multiblock: tuple[Path, dict[str, bytes]]) -> Iterator[Nginx]:
    """One nginx for the module, serving the multiblock archive as www/mb.quire."""
    server = Nginx(tmp_path_factory.mktemp("nginx"))
    try:
        server.start()
        server.put("mb.quire", multiblock[0].read_bytes())
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3]:
    server = S3(tmp_path_factory.mktemp("s3"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


def requests_to(log: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    return [r for r in log if str(r.get("uri", r.get("path", ""))).startswith(prefix)]


def check_reads(a: quire.Archive, local: Path, bodies: dict[str, bytes]) -> None:
    """Everything one reads over a URL equals what the same archive gives from disk."""
    with quire.open(local) as mine:
        assert len(a) == len(mine) == len(bodies)
        assert a.metadata == mine.metadata
        rng = random.Random(3)
        keys = rng.sample(sorted(bodies), 25)
        for k in keys[:5]:
            assert a[k] == bodies[k]
            assert a.get(k) == bodies[k]
            assert k in a
        assert a.get("no/such/key") is None
        assert "no/such/key" not in a
        with pytest.raises(KeyError):
            a["no/such/key"]
        asked = keys + ["no/such/key", keys[0], "big/random", "big/text"]
        got = a.get_many(asked)
        assert got == [bodies.get(k) for k in asked]
        assert list(a.keys()) == list(mine.keys())
        assert a.prefix("doc/01") == mine.prefix("doc/01") == sorted(
            k for k in bodies if k.startswith("doc/01"))
        e, m = a.entry("doc/0007"), mine.entry("doc/0007")
        assert (e.key, e.index, e.title, e.date, e.content_type, e.metadata, e.size) == (
            m.key, m.index, m.title, m.date, m.content_type, m.metadata, m.size)
        assert e.body == bodies["doc/0007"]
        assert a.entry_at(-1).key == mine.entry_at(-1).key
        with a.open_body("big/random") as f:
            assert f.read(1000) == bodies["big/random"][:1000]
            assert f.read() == bodies["big/random"][1000:]
        report = a.verify()
        assert report.ok, str(report)
        assert report.entries == len(bodies)


def test_http(nginx: Nginx, multiblock: tuple[Path, dict[str, bytes]]) -> None:
    path, bodies = multiblock
    url = nginx.url("/mb.quire")
    with quire.open(url) as a:
        assert url in repr(a)
        check_reads(a, path, bodies)
    log = requests_to(nginx.log.settle(), "/mb.quire")
    assert log and all(r["status"] == 206 for r in log), log
    assert all(r["range"] for r in log), "every read is a range request"


def test_https(nginx: Nginx, multiblock: tuple[Path, dict[str, bytes]],
               monkeypatch: pytest.MonkeyPatch) -> None:
    path, bodies = multiblock
    url = nginx.https_url("/mb.quire")
    # The throwaway CA is not trusted: the certificate is refused, in one line.
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    nginx.log.set_mark()
    with pytest.raises(ssl.SSLCertVerificationError) as ei:
        quire.open(url, timeout=10)
    assert isinstance(ei.value, OSError)
    assert str(ei.value).startswith(url + ": ") and "\n" not in str(ei.value)
    assert "certificate" in str(ei.value).lower() and "SSL_CERT_FILE" in str(ei.value)
    assert ei.value.url == url  # type: ignore[attr-defined]
    # Not retried: the TLS handshake failed, so nginx logged no request at all.
    assert requests_to(nginx.log.since_mark(), "/mb.quire") == []
    # Trusted through SSL_CERT_FILE.
    monkeypatch.setenv("SSL_CERT_FILE", str(nginx.ca_file))
    with quire.open(url) as a:
        check_reads(a, path, bodies)


def test_s3(s3: S3, multiblock: tuple[Path, dict[str, bytes]],
            monkeypatch: pytest.MonkeyPatch) -> None:
    path, bodies = multiblock
    s3.put("quire-test", "dir/mb.quire", path.read_bytes())
    for k, v in s3.client_env().items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    s3.log.set_mark()
    with quire.open("s3://quire-test/dir/mb.quire", timeout=20, retries=1) as a:
        check_reads(a, path, bodies)
    log = [r for r in s3.log.since_mark() if r["uri"].startswith("/quire-test/dir/mb.quire")]
    assert log and all(r["signed"] for r in log), "every request is signed"
    assert all(r["status"] == 206 for r in log), log
    # No such object: FileNotFoundError.
    with pytest.raises(FileNotFoundError) as ei:
        quire.open("s3://quire-test/dir/missing.quire", retries=0)
    assert "s3://quire-test/dir/missing.quire" in str(ei.value)
    # No credentials: moto refuses the unsigned request (403), PermissionError.
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(PermissionError) as ei2:
        quire.open("s3://quire-test/dir/mb.quire", retries=0)
    assert "\n" not in str(ei2.value)


def test_http_errors(nginx: Nginx, multiblock: tuple[Path, dict[str, bytes]]) -> None:
    with pytest.raises(FileNotFoundError) as nf:
        quire.open(nginx.url("/missing.quire"))
    assert nf.value.url == nginx.url("/missing.quire")  # type: ignore[attr-defined]
    assert str(nf.value).startswith(nginx.url("/missing.quire") + ": ")
    with pytest.raises(PermissionError):
        quire.open(nginx.url("/forbidden/mb.quire"))
    # A server that ignores Range: refused, an OSError of no narrower kind.
    with pytest.raises(OSError) as ig:
        quire.open(nginx.url("/norange/mb.quire"))
    assert type(ig.value) is OSError, repr(ig.value)
    # Nothing listens on the port: ConnectionError, not retried for ever.
    from servers import free_port

    with pytest.raises(ConnectionError):
        quire.open(f"http://127.0.0.1:{free_port()}/mb.quire", retries=0)
    # Malformed URLs: ValueError.
    with pytest.raises(ValueError):
        quire.open("http://[bad/a.quire")
    with pytest.raises(ValueError):
        quire.open("s3://bucket-only")


def test_changed_on_the_server(nginx: Nginx, multiblock: tuple[Path, dict[str, bytes]]) -> None:
    """An archive replaced on the server after the open raises ArchiveChanged at the next
    fetch, never bytes of two versions."""
    path, bodies = multiblock
    nginx.put("swap.quire", path.read_bytes())
    a = quire.open(nginx.url("/swap.quire"))
    assert a["doc/0001"] == bodies["doc/0001"]
    other = quire.Writer  # another archive, of another size: another ETag
    out = path.with_name("other.quire")
    with other(out, overwrite=True) as w:
        for i in range(50):
            w.add(f"doc/{i:04d}", b"replaced %d" % i)
    nginx.put("swap.quire", out.read_bytes())
    with pytest.raises(quire.ArchiveChanged) as ei:
        a.get_many(["doc/0299", "big/random"])
    assert ei.value.url == nginx.url("/swap.quire")
    assert "\n" not in str(ei.value)
    assert isinstance(ei.value, quire.Error)
    a.close()


def test_timeout(nginx: Nginx) -> None:
    """A server that trickles (1 KiB/s): timeout=1, retries=0 gives up after about a second."""
    t = time.monotonic()
    with pytest.raises(TimeoutError) as ei:
        quire.open(nginx.url("/slow/mb.quire"), timeout=1, retries=0)
    took = time.monotonic() - t
    assert took < 4, f"took {took:.1f} s"
    assert nginx.url("/slow/mb.quire") in str(ei.value)
    # A fast open, then slow reads: the read times out too, and so does get_many.
    a = quire.open(nginx.url("/slow-ranges/mb.quire"), timeout=1, retries=0)
    t = time.monotonic()
    with pytest.raises(TimeoutError):
        a.get_many(["doc/0005", "doc/0200"])
    took = time.monotonic() - t
    assert took < 6, f"took {took:.1f} s"
    # Each try gets its own timeout: two retries take about three times as long.
    t = time.monotonic()
    with pytest.raises(TimeoutError):
        quire.open(nginx.url("/slow/mb.quire"), timeout=1, retries=2)
    took = time.monotonic() - t
    assert 2.5 < took < 15, f"took {took:.1f} s"


def test_connect_timeout() -> None:
    """A server that never accepts the connection (its backlog full): connect_timeout=1 gives
    up after about a second, as TimeoutError."""
    listener = socket.socket()
    fillers = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(3):  # fill the accept queue: later SYNs are dropped
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex(("127.0.0.1", port))
            fillers.append(c)
        time.sleep(0.2)
        with socket.socket() as probe:
            probe.settimeout(0.5)
            try:
                probe.connect(("127.0.0.1", port))
                pytest.skip("this kernel accepts connections past a full backlog")
            except socket.timeout:
                pass  # held unanswered, as wanted
            except OSError as e:
                pytest.skip(f"this kernel refuses connections past a full backlog ({e})")
        t = time.monotonic()
        with pytest.raises(TimeoutError):
            quire.open(f"http://127.0.0.1:{port}/a.quire", connect_timeout=1, timeout=20,
                       retries=0)
        took = time.monotonic() - t
        assert 0.8 < took < 4, f"took {took:.1f} s"
    finally:
        for c in fillers:
            c.close()
        listener.close()


def test_verify_interrupted(nginx: Nginx) -> None:
    """A network failure during verify is not damage: the report says the check stopped."""
    a = quire.open(nginx.url("/slow-ranges/mb.quire"), timeout=1, retries=0)
    report = a.verify()
    assert not report.ok
    assert report.problems == []
    assert report.interrupted and "timed out" in report.interrupted, report.interrupted
    assert str(report).startswith("not finished: ")
    a.close()


@pytest.mark.parametrize("fault, exception, words", [
    ("cut-after=100", OSError, "short read"),
    ("stall", TimeoutError, "timed out"),
    ("stall-body", TimeoutError, "timed out"),
    ("close", ConnectionError, "connection"),
    ("status=500", OSError, "server error 500"),
    ("status=403", PermissionError, "403"),
    ("ignore-range", OSError, "ignores Range"),
])
def test_network_faults_after_the_open(nginx: Nginx, multiblock: tuple[Path, dict[str, bytes]],
                                       tmp_path: Path, fault: str, exception: type,
                                       words: str) -> None:
    """Faults injected by proxy.py after the open: each raises its exception with one line
    naming the URL and the cause (never CorruptArchive: the bytes were not wrong, the network
    was), and stops verify without calling it damage."""
    proxy = Proxy(nginx.url(""), 0, tmp_path / "proxy.log", "--fault", fault,
                  "--fault-after", "1")
    try:
        proxy.start()
        url = proxy.url("/mb.quire")
        a = quire.open(url, timeout=1, retries=0)
        with pytest.raises(OSError) as ei:
            a.get_many(["doc/0010", "big/text"])
        e = ei.value
        assert type(e) is exception, repr(e)
        assert str(e).startswith(url + ": ") and "\n" not in str(e), str(e)
        assert words.lower() in str(e).lower(), str(e)
        assert e.url == url  # type: ignore[attr-defined]
        report = a.verify()
        assert not report.ok and report.problems == [], str(report)
        assert report.interrupted and report.interrupted.startswith(url), report.interrupted
        a.close()
    finally:
        proxy.stop()


def test_retries(nginx: Nginx) -> None:
    """A server that keeps answering 503: tried 1 + retries times, then OSError."""
    for retries in (0, 2):
        nginx.log.set_mark()
        with pytest.raises(OSError) as ei:
            quire.open(nginx.url(f"/unavailable/r{retries}.quire"), retries=retries)
        assert type(ei.value) is OSError, repr(ei.value)
        assert "\n" not in str(ei.value)
        tries = requests_to(nginx.log.since_mark(), f"/unavailable/r{retries}.quire")
        assert len(tries) == 1 + retries, tries
        assert all(r["status"] == 503 for r in tries)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_after_a_url_was_opened(nginx: Nginx,
                                     multiblock: tuple[Path, dict[str, bytes]]) -> None:
    """An archive's connections belong to the process that opened it: in a child made by
    fork, the parent's remote archive raises OSError at once (not a wait for ever), and the
    child opens the URL again and reads it; local archives still read."""
    path, bodies = multiblock
    a = quire.open(nginx.url("/mb.quire"))
    assert a["doc/0003"] == bodies["doc/0003"]
    pid = os.fork()
    if pid == 0:  # the child: exit code 0 when everything behaves
        code = 1
        try:
            # What the archive decoded before the fork may still be served from memory;
            # anything that needs the parent's connections raises at once.
            for key in ("doc/0005", "doc/0006", "doc/0004"):
                try:
                    assert a[key] == bodies[key]
                except OSError as e:
                    assert "before a fork" in str(e), e
            report = a.verify()  # reads every byte again: it cannot
            assert not report.ok and "before a fork" in (report.interrupted or ""), report
            with quire.open(nginx.url("/mb.quire"), timeout=10) as again:
                assert again["doc/0006"] == bodies["doc/0006"]
                assert again.get_many(["doc/0005", "doc/0003"]) == [
                    bodies["doc/0005"], bodies["doc/0003"]]
            with quire.open(path) as local:
                assert local["doc/0003"] == bodies["doc/0003"]
            assert "mb.quire" in repr(a)
            a.close()
            code = 0
        except BaseException as e:  # noqa: BLE001 - reported through the exit code
            print(f"child: {e!r}", file=sys.stderr)
        finally:
            os._exit(code)
    deadline = time.monotonic() + 30
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung reading a URL")
        time.sleep(0.05)
    assert os.waitstatus_to_exitcode(status) == 0
    # The parent reads on.
    assert a.get_many(["doc/0005"]) == [bodies["doc/0005"]]
    a.close()


def test_remote_options_checked(multiblock: tuple[Path, dict[str, bytes]]) -> None:
    path, bodies = multiblock
    for bad in ({"timeout": 0}, {"timeout": -1.0}, {"timeout": float("nan")},
                {"connect_timeout": 0}, {"retries": -1}, {"cache_bytes": -5}, {"parallel": 0}):
        with pytest.raises(ValueError):
            quire.open(path, **bad)
    # Good settings are ignored for a path and for bytes.
    opts: dict[str, Any] = dict(timeout=0.5, connect_timeout=2, retries=0, cache_bytes=0,
                                parallel=1)
    with quire.open(path, **opts) as a:
        assert a["doc/0003"] == bodies["doc/0003"]
    with quire.open(path.read_bytes(), **opts) as a:
        assert a["doc/0003"] == bodies["doc/0003"]


def test_get_many_local(multiblock: tuple[Path, dict[str, bytes]]) -> None:
    path, bodies = multiblock
    for source in (path, path.read_bytes()):
        with quire.open(source) as a:
            keys = ["doc/0002", "missing", "doc/0002", "big/text", ""]
            assert a.get_many(keys) == [bodies.get(k) for k in keys]
            assert a.get_many(iter(["doc/0009"])) == [bodies["doc/0009"]]
            assert a.get_many([]) == []
            assert a.get_many(k for k in ("doc/0001", "doc/0000")) == [
                bodies["doc/0001"], bodies["doc/0000"]]
            with pytest.raises(TypeError):
                a.get_many("doc/0001")
            with pytest.raises(TypeError):
                a.get_many([b"doc/0001"])  # type: ignore[list-item]
            with pytest.raises(TypeError):
                a.get_many(5)  # type: ignore[arg-type]
    a.close()
    with pytest.raises(ValueError):
        a.get_many(["doc/0001"])


def many_pages_archive(path: Path) -> dict[str, bytes]:
    """2,400 entries of 1-6 KB of text (shared vocabulary, so a dictionary pays), in 4 KiB
    blocks: 100 random keys touch many index pages and blocks."""
    rng = random.Random(20)
    words = [bytes(rng.choice(b"abcdefghijklmnop") for _ in range(rng.randint(3, 10)))
             for _ in range(3000)]
    bodies = {}
    for i in range(2400):
        n = rng.randint(1000, 6000)
        bodies[f"article/{rng.randrange(10**9):09d}/{i}"] = b" ".join(
            rng.choice(words) for _ in range(n // 7 + 1))[:n]
    with quire.Writer(path, level=3, block_size=4096, dictionary="on", overwrite=True) as w:
        for i, (k, b) in enumerate(bodies.items()):
            w.add(k, b, title=f"Article {i}")
    return bodies


@pytest.fixture(scope="module")
def many(nginx: Nginx, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """many_pages_archive, served by nginx as /many.quire."""
    path = tmp_path_factory.mktemp("many") / "many.quire"
    bodies = many_pages_archive(path)
    nginx.put("many.quire", path.read_bytes())
    return bodies


def test_parallel_is_honoured(nginx: Nginx, many: dict[str, bytes], tmp_path: Path) -> None:
    """parallel=3: never more than 3 requests in flight, behind a proxy that delays each
    answer by 0.2 s."""
    proxy = Proxy(nginx.url(""), 0.2, tmp_path / "proxy.log")
    try:
        proxy.start()
        with quire.open(proxy.url("/many.quire"), parallel=3) as a:
            keys = random.Random(8).sample(sorted(many), 30)
            assert a.get_many(keys) == [many[k] for k in keys]
        log = proxy.log.settle()
        assert len(log) > 10, log
        assert 2 <= proxy.in_flight() <= 3, proxy.in_flight()
    finally:
        proxy.stop()


def test_get_many_behind_a_slow_server(nginx: Nginx, many: dict[str, bytes],
                                       tmp_path: Path) -> None:
    """Issue 20: behind a proxy that delays every answer by 1 s, get_many of 100 random keys
    takes at most 8 s, with at least 16 requests in flight together; open and get_many leave
    the GIL to other threads while they wait."""
    bodies = many
    proxy = Proxy(nginx.url(""), 1.0, tmp_path / "proxy.log")
    try:
        proxy.start()
        ticks = [0]
        stop = threading.Event()

        def tick() -> None:
            while not stop.is_set():
                ticks[0] += 1
                time.sleep(0.005)

        ticker = threading.Thread(target=tick)
        ticker.start()
        try:
            t0 = time.monotonic()
            a = quire.open(proxy.url("/many.quire"))
            opened, open_ticks = time.monotonic() - t0, ticks[0]
            keys = random.Random(7).sample(sorted(bodies), 100)
            t1 = time.monotonic()
            got = a.get_many(keys)
            took, many_ticks = time.monotonic() - t1, ticks[0] - open_ticks
        finally:
            stop.set()
            ticker.join()
        assert got == [bodies[k] for k in keys]
        log = proxy.log.settle()
        in_flight = proxy.in_flight()
        print(f"\nget_many of 100 keys behind a 1 s proxy: {took:.2f} s "
              f"(open {opened:.2f} s), {len(log)} requests, at most {in_flight} in flight")
        assert took <= 8, f"get_many took {took:.2f} s"
        assert in_flight >= 16, f"at most {in_flight} requests in flight"
        # The GIL was free: the ticking thread ran all along (at most one tick per 5 ms).
        assert open_ticks >= opened / 0.005 / 4, (open_ticks, opened)
        assert many_ticks >= took / 0.005 / 4, (many_ticks, took)
        a.close()
    finally:
        proxy.stop()
