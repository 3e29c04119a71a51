#!/usr/bin/env python3
"""Mutate the prelude of each sample (random bit flips, byte sets, varint-ish values) and fix
the prelude CRC, so that the mutation reaches the parsers (§12: a file with recomputed CRCs must
still never crash the reader). Reports crashes (exceptions other than QuireError) and
accepted mutations for manual review."""
import os, random, struct, sys, tempfile, zlib, collections
import quire_spec_reader as q

def fix(b):
    pl = struct.unpack_from("<I", b, 14)[0]
    if 22 <= pl <= len(b):
        struct.pack_into("<I", b, pl - 4, zlib.crc32(bytes(b[:pl - 4])) & 0xFFFFFFFF)

def main(d, n=600):
    rng = random.Random(7)
    tmp = tempfile.mktemp(suffix=".quire")
    crashes = 0
    for name in sorted(os.listdir(d)):
        if not name.endswith(".quire"):
            continue
        data = open(os.path.join(d, name), "rb").read()
        pl = struct.unpack_from("<I", data, 14)[0]
        kinds = collections.Counter()
        for _ in range(n):
            b = bytearray(data)
            for _ in range(rng.choice((1, 1, 2, 3))):
                pos = rng.randrange(18, pl - 4)
                r = rng.random()
                if r < 0.5:
                    b[pos] ^= 1 << rng.randrange(8)
                elif r < 0.8:
                    b[pos] = rng.choice((0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)))
                else:
                    b[pos] = (b[pos] + rng.choice((-1, 1))) & 0xFF
            fix(b)
            open(tmp, "wb").write(b)
            try:
                q.check(tmp)
                kinds["accepted"] += 1
            except q.QuireError as e:
                kinds[e.kind] += 1
            except Exception as e:
                crashes += 1
                import traceback
                print(f"{name}: CRASH {type(e).__name__}: {e}")
                traceback.print_exc(limit=3)
        print(name, dict(kinds))
    os.unlink(tmp)
    print("crashes:", crashes)
    return 1 if crashes else 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
