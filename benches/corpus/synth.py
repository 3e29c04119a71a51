#!/usr/bin/env python3
"""Deterministic synthetic corpora for quire benchmarks, as quire JSONL (standard library only).

Two modes:

* default: ``--count N`` small article-like entries (default 1,000,000), English-ish text
  drawn from a fixed word list with a seeded RNG, keys ``synth/0000123``, each with a title
  and a date. The same arguments always give the same bytes.

      python3 benches/corpus/synth.py --count 1000000 -o benches/corpus/data/synth-1m.jsonl

* ``--large-bodies --total-gib 4.5``: a few huge bodies (``--body-mib`` each, default
  1024) adding up to the given total, with small entries between and after them so that
  entries start beyond the 4 GiB mark. For the large-offset path; run on demand only (it
  writes gigabytes), never in CI. ``--entropy random`` makes the bodies base64 of seeded
  random bytes (compressing to ~75 %), so the archive file itself passes 4 GiB when the
  total is large enough (e.g. ``--total-gib 6``); the default ``text`` compresses like the
  small entries.

      python3 benches/corpus/synth.py --large-bodies --total-gib 4.5 -o /big/disk/large.jsonl

Output goes to stdout unless ``-o FILE`` is given; a summary goes to stderr.
"""

import argparse
import base64
import datetime
import json
import random
import sys

WORDS = """
the of and to in a is that for it as was with be by on not he this are or his from at
which but have an they you were her she there been one all we their has would when if
so no will more can out other into what up some could them time than then only its
about over also new after year years people first two may world government state city
said market police report week president minister court law company school health
public water house party group country council election family children number night
work home money business percent million billion local national international early late
season team game player coach match league final record point points half goal win lost
officials according statement during before against between under while where since
because however although despite through across around without within among toward
economy price prices rate rates bank banks trade deal plan plans policy policies vote
votes support program service services system systems research study data science
energy oil gas power climate weather storm rain snow fire car train road bridge airport
hospital doctor patient drug drugs care insurance tax taxes budget spending growth jobs
worker workers union strike protest crowd street town village region north south east
west central river coast island border army forces military attack security peace talks
leader leaders member members official spokesman director chief executive manager
announced told added called asked expected reported confirmed denied warned agreed
found showed made took gave came went began left kept brought held turned moved
major small large long short high low big little old young good bad best better full
open public private federal foreign domestic recent current former future possible
monday tuesday wednesday thursday friday saturday sunday january february march april
june july august september october november december morning evening today yesterday
""".split()

TITLE_WORDS = [w for w in WORDS if len(w) > 3]


def sentence(rng, lo=6, hi=22):
    words = rng.choices(WORDS, k=rng.randint(lo, hi))
    s = " ".join(words)
    if rng.random() < 0.15:
        cut = rng.randint(2, len(words) - 2)
        s = " ".join(words[:cut]) + ", " + " ".join(words[cut:])
    return s[0].upper() + s[1:] + ("?" if rng.random() < 0.03 else ".")


def body_text(rng):
    """A body of 1..12 short paragraphs; median around 600 bytes."""
    paragraphs = []
    for _ in range(max(1, min(12, int(rng.lognormvariate(0.6, 0.7))))):
        paragraphs.append(" ".join(sentence(rng) for _ in range(rng.randint(1, 4))))
    return "\n\n".join(paragraphs)


def title_text(rng):
    t = " ".join(rng.choices(TITLE_WORDS, k=rng.randint(3, 9)))
    return t.title()


def date_text(rng):
    d = datetime.date(2000, 1, 1) + datetime.timedelta(days=rng.randrange(9000))
    return d.isoformat()


def small(args, out):
    rng = random.Random(args.seed)
    width = max(6, len(str(max(args.count - 1, 0))))
    total = 0
    for i in range(args.count):
        body = body_text(rng)
        obj = {
            "key": f"{args.prefix}{i:0{width}d}",
            "title": title_text(rng),
            "date": date_text(rng),
            "body": body,
        }
        total += len(body)
        out.write(json.dumps(obj) + "\n")
    return args.count, total


def large(args, out):
    rng = random.Random(args.seed)
    total_bytes = int(args.total_gib * (1 << 30))
    body_bytes = args.body_mib << 20
    chunk = 1 << 20
    written = entries = 0
    n = 0
    while written < total_bytes:
        size = min(body_bytes, total_bytes - written)
        out.write(
            json.dumps({"key": f"large/{n:03d}", "title": f"Large body {n}"})[:-1]
            + ', "body": "'
        )
        left = size
        while left > 0:
            piece = min(chunk, left)
            if args.entropy == "random":
                raw = rng.randbytes(piece * 3 // 4 + 3)
                text = base64.b64encode(raw).decode("ascii")[:piece]
            else:
                parts = []
                got = 0
                while got < piece:
                    s = sentence(rng) + (" " if rng.random() < 0.8 else "\n")
                    parts.append(s)
                    got += len(s)
                text = "".join(parts)[:piece]
            out.write(json.dumps(text)[1:-1])
            left -= piece
        out.write('"}\n')
        written += size
        entries += 1
        # A few small entries after each huge one: their bodies start past the huge body,
        # so the later ones lie beyond 4 GiB of body stream.
        for j in range(3):
            body = body_text(rng)
            out.write(json.dumps({"key": f"large/{n:03d}/after-{j}", "body": body}) + "\n")
            written += len(body)
            entries += 1
        n += 1
        print(f"synth.py: {written / (1 << 30):.2f} GiB of bodies written", file=sys.stderr)
    return entries, written


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--count", type=int, default=1_000_000, help="entries (default 1000000)")
    p.add_argument("--seed", type=int, default=42, help="RNG seed (default 42)")
    p.add_argument("--prefix", default="synth/", help="key prefix (default synth/)")
    p.add_argument("-o", "--output", help="output file (default stdout)")
    p.add_argument("--large-bodies", action="store_true", help="write a few huge bodies instead")
    p.add_argument("--total-gib", type=float, default=4.5, help="with --large-bodies: GiB of bodies")
    p.add_argument("--body-mib", type=int, default=1024, help="with --large-bodies: MiB per body")
    p.add_argument(
        "--entropy",
        choices=["text", "random"],
        default="text",
        help="with --large-bodies: word text, or base64 of random bytes",
    )
    args = p.parse_args()
    if args.count < 0 or args.body_mib <= 0 or args.total_gib <= 0:
        p.error("counts and sizes must be positive")
    out = (
        open(args.output, "w", encoding="utf-8", newline="\n", buffering=1 << 20)
        if args.output
        else sys.stdout
    )
    try:
        entries, total = large(args, out) if args.large_bodies else small(args, out)
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    finally:
        if args.output:
            out.close()
        else:
            out.flush()
    print(
        f"synth.py: {entries} entries, {total} body bytes ({total / 1e6:.1f} MB)",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
