#!/usr/bin/env python3
"""Runs the release CLI on the crafted files of ../shared/fixtures/hostile/ (one per class of
the hostile-index issue) and checks that every command ends, cleanly and within 64 MiB.

Usage: tests/hostile_fixtures.py QUIRE_BINARY [FIXTURE_DIR]

For each file: `info`, `ls`, `ls --long`, `get KEY` (the key routed through the crafted part,
from the fixtures' README table), `unpack -o DIR` and `verify`. Each must exit within 60 s
with code 0 or 1 (never a signal, never a hang), at no more than 64 MiB peak RSS; `verify`
and `get` of the routed key must exit 1 and name what is wrong. A file that every reader
refuses at open (they all share the prelude) must be refused by every command.
"""

import os
import re
import subprocess
import sys
import tempfile

LIMIT_KIB = 64 * 1024
TIMEOUT_S = 60


def routed_keys(readme):
    """file name -> the key routed through the damage, from the README's table."""
    keys = {}
    for line in open(readme, encoding="utf-8"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].endswith(".quire"):
            m = re.fullmatch(r"`([^`]*)`", cells[3])
            keys[cells[0]] = m.group(1) if m else None
    return keys


def run(args):
    """Runs one command under GNU time; returns (exit code, stderr, peak RSS in KiB of the
    command). One that runs past the timeout is killed, which counts as a failure. (GNU time
    measures the command itself: a child of this interpreter would carry the interpreter's
    resident set in its peak.)"""
    rss_file = run.errfile + ".rss"
    cmd = ["/usr/bin/time", "-f", "%M", "-o", rss_file, *args]
    with open(run.errfile, "w") as err:
        try:
            p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=err, timeout=TIMEOUT_S)
            code = p.returncode if p.returncode >= 0 else 128 - p.returncode
        except subprocess.TimeoutExpired:
            code = 124
    with open(run.errfile, encoding="utf-8", errors="replace") as f:
        stderr = f.read()
    try:
        with open(rss_file) as f:
            rss = int(f.read().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        rss = LIMIT_KIB + 1
    # GNU time reports a command killed by a signal on stderr and exits 128 + signal.
    return code, stderr, rss


def main():
    quire = os.path.abspath(sys.argv[1])
    here = os.path.dirname(os.path.abspath(__file__))
    fixtures = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "../../shared/fixtures/hostile")
    readme = os.path.join(fixtures, "README.md")
    if not os.path.exists(readme):
        print(f"no hostile fixtures at {fixtures}", file=sys.stderr)
        return 1
    if not os.access("/usr/bin/time", os.X_OK):
        print("GNU time (/usr/bin/time, Debian package `time`) is needed", file=sys.stderr)
        return 1
    keys = routed_keys(readme)
    if not keys:
        print("the fixtures' README lists no files", file=sys.stderr)
        return 1
    failures = 0
    runs = 0
    with tempfile.TemporaryDirectory() as tmp:
        run.errfile = os.path.join(tmp, "stderr")
        for name in sorted(keys):
            path = os.path.join(fixtures, name)
            cmds = [
                ("info", [quire, "info", path]),
                ("ls", [quire, "ls", path]),
                ("ls --long", [quire, "ls", "--long", path]),
                ("unpack", [quire, "unpack", path, "-o", os.path.join(tmp, name + ".out")]),
                ("verify", [quire, "verify", path]),
            ]
            if keys[name]:
                cmds.append((f"get {keys[name]}", [quire, "get", path, keys[name]]))
            results = {}
            for label, args in cmds:
                code, err, rss = run(args)
                runs += 1
                results[label] = code
                line = err.strip().splitlines()[-1] if err.strip() else ""
                problems = []
                if code not in (0, 1):
                    problems.append(f"exit {code}")
                if rss > LIMIT_KIB:
                    problems.append(f"{rss} KiB peak RSS (limit {LIMIT_KIB})")
                if (label == "verify" or label.startswith("get ")) and code != 1:
                    problems.append(f"exit {code}, wanted 1")
                if "panicked" in err or "overflowed" in err:
                    problems.append("panic")
                status = "FAIL " + ", ".join(problems) if problems else "ok"
                print(f"{name:32} {label:18} exit {code} {rss:6} KiB  {status}  {line[:110]}")
                failures += bool(problems)
            refused_at_open = results.get("info") == 1 and results.get("ls") == 1
            if refused_at_open and any(c != 1 for c in results.values()):
                print(f"{name}: refused by info and ls but not by every command")
                failures += 1
    print(f"{runs} runs, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
