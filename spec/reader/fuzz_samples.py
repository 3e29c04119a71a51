#!/usr/bin/env python3
"""Flip every byte (or a random sample of bytes) of each sample archive and check that the reader
rejects the result with a QuireError (never another exception, never acceptance)."""
import os, random, sys, tempfile, collections
import quire_spec_reader as q

def main(d, per_file=400):
    rng = random.Random(0)
    tmp = tempfile.mktemp(suffix=".quire")
    bad = 0
    for name in sorted(os.listdir(d)):
        if not name.endswith(".quire"):
            continue
        data = open(os.path.join(d, name), "rb").read()
        positions = list(range(len(data)))
        if len(positions) > per_file:
            positions = rng.sample(positions, per_file)
        kinds = collections.Counter()
        for pos in positions:
            b = bytearray(data)
            b[pos] ^= 1 << rng.randrange(8)
            open(tmp, "wb").write(b)
            try:
                q.check(tmp)
            except q.QuireError as e:
                kinds[e.kind] += 1
                continue
            except Exception as e:
                print(f"{name}: flip at {pos}: crashed: {type(e).__name__}: {e}")
                bad += 1
                continue
            print(f"{name}: flip at {pos}: accepted")
            bad += 1
        for cut in rng.sample(range(len(data)), min(30, len(data))):
            open(tmp, "wb").write(data[:cut])
            try:
                q.check(tmp)
            except q.QuireError as e:
                kinds["cut:" + e.kind] += 1
                continue
            except Exception as e:
                print(f"{name}: cut at {cut}: crashed: {type(e).__name__}: {e}")
                bad += 1
                continue
            print(f"{name}: cut at {cut}: accepted"); bad += 1
        print(name, dict(kinds))
    os.unlink(tmp)
    print("problems:", bad)
    return 1 if bad else 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
