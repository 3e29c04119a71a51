"""Threads: one Archive shared by several threads gives every thread the right bytes, and
long calls (verify, finish, reads) let other Python threads run: the GIL is released."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import quire


def test_threads_share_one_archive(multiblock) -> None:
    path, bodies = multiblock
    keys = list(bodies)
    errors: list[BaseException] = []
    a = quire.open(path)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(2000):
                k = rng.choice(keys)
                assert a[k] == bodies[k]
                if rng.random() < 0.05:
                    assert a.entry(k).body == bodies[k]
                if rng.random() < 0.01:
                    assert a.open_body(k).read() == bodies[k]
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    a.close()


def test_two_threads_doing_gets(multiblock) -> None:
    path, bodies = multiblock
    keys = list(bodies)
    a = quire.open(path)
    results: list[int] = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        ok = 0
        for _ in range(3000):
            k = rng.choice(keys)
            ok += a[k] == bodies[k]
        results.append(ok)

    ts = [threading.Thread(target=worker, args=(s,)) for s in (1, 2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert results == [3000, 3000]


def ticks_during(call) -> tuple[int, float]:
    """How many times a Python thread ran a loop iteration while `call` ran in another."""
    done = threading.Event()
    count = 0

    def counter() -> None:
        nonlocal count
        while not done.is_set():
            count += 1

    t = threading.Thread(target=counter)
    t.start()
    time.sleep(0.01)
    start_count = count
    start = time.perf_counter()
    call()
    elapsed = time.perf_counter() - start
    ran = count - start_count
    done.set()
    t.join()
    return ran, elapsed


def test_gil_is_released_during_long_calls(tmp_path: Path) -> None:
    path = tmp_path / "long.quire"
    rng = random.Random(3)
    words = [bytes(rng.choice(b"abcdefgh") for _ in range(6)) for _ in range(2000)]
    bodies = [b" ".join(rng.choice(words) for _ in range(40000)) for _ in range(12)]

    def write() -> None:
        with quire.Writer(path, level=19, block_size=65536, threads=1) as w:
            for i, body in enumerate(bodies):
                w.add(f"k{i}", body)

    ran, elapsed = ticks_during(write)
    # With the GIL held for the whole call, the other thread would get at most a handful
    # of switch intervals; released, it spins freely.
    assert elapsed > 0.05
    assert ran > 10_000, (ran, elapsed)
    # A fresh archive for each verify: a second verify of one archive finds its blocks in
    # the block cache and takes microseconds.
    ran, elapsed = ticks_during(lambda: [quire.open(path).verify() for _ in range(3)])
    assert ran > 10_000, (ran, elapsed)


def test_close_while_other_threads_read(multiblock) -> None:
    """close() waits for lookups in flight; later calls raise ValueError; nothing hangs."""
    path, bodies = multiblock
    keys = list(bodies)
    a = quire.open(path)
    outcome: list[str] = []

    def reader(seed: int) -> None:
        rng = random.Random(seed)
        try:
            while True:
                k = rng.choice(keys)
                assert a[k] == bodies[k]
                if rng.random() < 0.01:
                    list(a.keys())
                    a.verify()
        except ValueError:
            outcome.append("closed")
        except BaseException as e:  # noqa: BLE001 - reported below
            outcome.append(repr(e))

    threads = [threading.Thread(target=reader, args=(s,)) for s in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    a.close()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert outcome == ["closed"] * 3, outcome
