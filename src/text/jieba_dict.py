#!/usr/bin/env python3
"""Regenerates src/text/jieba_dict.txt.zst, the Chinese dictionary of quire's text analysis
(spec §15.1, tokenizer `cjk=jieba-f70`), from the dictionary of the crate jieba-rs 0.11.0.

    python3 src/text/jieba_dict.py [PATH/TO/jieba-rs-0.11.0/src/data/dict.txt]

Without an argument it takes the crate's dict.txt from the cargo registry
($CARGO_HOME/registry/src/*/jieba-rs-0.11.0/src/data/dict.txt; `cargo fetch` puts it there).

The rule (spec §15.1): the lines of that dict.txt (`word freq tag`, 349,045 of them, SHA-256
139519822fe8ab9e10d9d07e68ea0451045380aedaf54ecc51e2a28c6b42a13f) whose frequency, the second
field, is at least MIN_FREQ, unchanged and in their order, each ended by a line feed. The text is
checked against the counts and the SHA-256 below, then compressed with the `zstd` command at
level 19 (the compressed bytes may differ between zstd versions; the text may not).

jieba-rs is MIT-licensed, Copyright (c) 2018 messense; its dictionary comes from jieba (MIT,
Copyright (c) 2013 Sun Junyi): src/text/JIEBA-LICENSE.
"""
import glob
import hashlib
import os
import subprocess
import sys

MIN_FREQ = 70
SOURCE_LINES = 349045
SOURCE_SHA256 = "139519822fe8ab9e10d9d07e68ea0451045380aedaf54ecc51e2a28c6b42a13f"
WORDS = 43813
TEXT_BYTES = 606229
TEXT_SHA256 = "31a1e0264d50768b5d67803562b3169b7d84fffcb12cf256f4131e95d99166ba"

here = os.path.dirname(os.path.abspath(__file__))


def source_path():
    if len(sys.argv) > 1:
        return sys.argv[1]
    home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
    found = sorted(glob.glob(os.path.join(home, "registry/src/*/jieba-rs-0.11.0/src/data/dict.txt")))
    if not found:
        sys.exit("jieba_dict.py: jieba-rs 0.11.0's dict.txt not found (run `cargo fetch`, or pass its path)")
    return found[0]


def main():
    raw = open(source_path(), "rb").read()
    if hashlib.sha256(raw).hexdigest() != SOURCE_SHA256:
        sys.exit("jieba_dict.py: that dict.txt is not jieba-rs 0.11.0's (SHA-256 differs)")
    lines = raw.decode("utf-8").splitlines()
    assert len(lines) == SOURCE_LINES, len(lines)
    kept = []
    for line in lines:
        word, freq, tag = line.split(" ")
        assert word and tag and freq.isdigit(), line
        if int(freq) >= MIN_FREQ:
            kept.append(line + "\n")
    text = "".join(kept).encode("utf-8")
    digest = hashlib.sha256(text).hexdigest()
    print(f"jieba_dict.py: {len(kept)} words of {len(lines)} (frequency >= {MIN_FREQ}), "
          f"{len(text)} bytes, SHA-256 {digest}")
    assert (len(kept), len(text)) == (WORDS, TEXT_BYTES), "the counts differ from the spec's"
    assert digest == TEXT_SHA256, "the SHA-256 differs from the spec's"
    out = os.path.join(here, "jieba_dict.txt.zst")
    packed = subprocess.run(["zstd", "-19", "-q", "-c"], input=text, stdout=subprocess.PIPE,
                            check=True).stdout
    with open(out, "wb") as f:
        f.write(packed)
    print(f"jieba_dict.py: wrote {out} ({len(packed)} bytes)")


if __name__ == "__main__":
    main()
