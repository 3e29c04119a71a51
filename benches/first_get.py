#!/usr/bin/env python3
"""The first article as a user's process sees it: `quire get ARCHIVE KEY` from start to exit,
for several (CLI, archive) pairs taken in turn at each key, so that a noisy machine slows
them alike. Each run is a fresh process: it maps the archive, decodes the dictionary into
memory it has never touched, decodes one block and exits. Prints, per pair, the median wall
time over all runs, the median of the per-key medians' range, and the minor page faults of
one run (`/usr/bin/time -f %R`).

    benches/first_get.py --rounds 15 --keys 5 CLI:ARCHIVE [CLI:ARCHIVE …]

The keys are spread evenly over the first archive's keys (`quire ls`).
"""

import argparse
import statistics
import subprocess
import sys
import time


def keys_of(cli, archive, n):
    out = subprocess.run([cli, "ls", archive], capture_output=True, text=True, check=True)
    keys = [line.split("\t")[0] for line in out.stdout.splitlines() if line]
    step = max(1, len(keys) // n)
    return keys[::step][:n]


def faults(cli, archive, key):
    out = subprocess.run(
        ["/usr/bin/time", "-f", "%R", cli, "get", archive, key],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=True,
    )
    return int(out.stderr.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--keys", type=int, default=5)
    p.add_argument("pairs", nargs="+", help="CLI:ARCHIVE")
    a = p.parse_args()
    if a.rounds < 1 or a.keys < 1:
        sys.exit("--rounds and --keys must be at least 1")
    pairs = [tuple(s.split(":", 1)) for s in a.pairs]
    keys = keys_of(pairs[0][0], pairs[0][1], a.keys)
    times = {pair: {k: [] for k in keys} for pair in pairs}
    for r in range(a.rounds):
        for i, key in enumerate(keys):
            for turn in range(len(pairs)):
                cli, archive = pairs[(i + r + turn) % len(pairs)]
                t0 = time.perf_counter()
                subprocess.run([cli, "get", archive, key], stdout=subprocess.DEVNULL, check=True)
                times[(cli, archive)][key].append((time.perf_counter() - t0) * 1e3)
    print(f"{a.rounds} rounds × {len(keys)} keys, a process each; ms")
    print("| CLI | archive | median | per-key medians | minor faults |")
    print("|---|---|---:|---|---:|")
    for pair in pairs:
        per_key = sorted(statistics.median(v) for v in times[pair].values())
        every = [t for v in times[pair].values() for t in v]
        print(
            f"| {pair[0]} | {pair[1]} | {statistics.median(every):.2f} "
            f"| {per_key[0]:.2f}–{per_key[-1]:.2f} | {faults(*pair, keys[0])} |"
        )


if __name__ == "__main__":
    main()
