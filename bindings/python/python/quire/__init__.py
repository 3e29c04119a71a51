"""Read and write quire archives: compact, read-optimised archives of articles.

An archive is one file holding many documents (articles, pages, definitions), each under a
key, with a title, a date, a content type and metadata, compressed with zstd in blocks and
found by key in constant time. Reading::

    import quire
    with quire.open("news.quire") as a:
        body = a["2002/embassy"]            # bytes; KeyError when missing
        e = a.entry("2002/embassy")         # e.title, e.date, e.metadata, e.body
        for key in a.prefix("2002/"):       # sorted keys under a prefix
            print(key)
        for s in a.suggest("emb"):          # titles that start (or have a word) so
            print(s.key, s.title, s.kind)   # folded: "zurich" finds "Zürich"
        for r in a.search("embassy staff"): # full text, BM25-ranked (index="full")
            print(r.key, r.title, r.score, r.html())

The same for a URL (``http://``, ``https://``, ``s3://BUCKET/KEY``), read by ranges, with
many keys fetched together::

    with quire.open("https://example.org/news.quire", timeout=10, retries=2) as a:
        bodies = a.get_many(["2002/embassy", "2002/report"])   # [bytes | None, ...]

Writing::

    with quire.Writer("news.quire") as w:
        w.add("2002/embassy", b"China says...", title="Embassy", date="2002-03-14")

or :func:`pack` from an iterable of records: dicts, or lines of JSON, shaped like the JSONL
records of ``quire pack`` and read by the same code (the library's JSONL codec, in Rust).

Reading, decompressing and compressing all run without the GIL, so threads scale; an
:class:`Archive` may be shared between threads.
"""

from ._io import BodyReader
from ._quire import (
    Archive,
    ArchiveChanged,
    CorruptArchive,
    DuplicateKey,
    Entry,
    EntryIterator,
    Error,
    KeyIterator,
    NoSearchIndex,
    NoTitleIndex,
    NotAnArchive,
    Problem,
    SearchResult,
    Suggestion,
    UnsupportedTokenizer,
    UnsupportedVersion,
    VerifyReport,
    Writer,
    __version__,
    open,
    pack,
)

__all__ = [
    "Archive",
    "ArchiveChanged",
    "BodyReader",
    "CorruptArchive",
    "DuplicateKey",
    "Entry",
    "EntryIterator",
    "Error",
    "KeyIterator",
    "NoSearchIndex",
    "NoTitleIndex",
    "NotAnArchive",
    "Problem",
    "SearchResult",
    "Suggestion",
    "UnsupportedTokenizer",
    "UnsupportedVersion",
    "VerifyReport",
    "Writer",
    "__version__",
    "open",
    "pack",
]
