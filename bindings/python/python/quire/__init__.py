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

The same for a URL (``http://``, ``https://``, ``s3://BUCKET/KEY``), read by ranges, with
many keys fetched together::

    with quire.open("https://example.org/news.quire", timeout=10, retries=2) as a:
        bodies = a.get_many(["2002/embassy", "2002/report"])   # [bytes | None, ...]

Writing::

    with quire.Writer("news.quire") as w:
        w.add("2002/embassy", b"China says...", title="Embassy", date="2002-03-14")

or :func:`pack` from an iterable of dicts (the JSONL records of ``quire pack``).

Reading, decompressing and compressing all run without the GIL, so threads scale; an
:class:`Archive` may be shared between threads.
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterable, Mapping

from . import _quire
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
    NotAnArchive,
    Problem,
    UnsupportedVersion,
    VerifyReport,
    Writer,
    __version__,
    open,
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
    "NotAnArchive",
    "Problem",
    "UnsupportedVersion",
    "VerifyReport",
    "Writer",
    "__version__",
    "open",
    "pack",
]

# The fields of a record that are not metadata.
_FIELDS = {"key", "id", "title", "date", "content_type", "body", "body_base64", "meta", "metadata"}


def _entry_args(record: Mapping[str, Any]) -> dict[str, Any]:
    """Writer.add's arguments for one record of :func:`pack`."""
    if not isinstance(record, Mapping):
        raise TypeError(f"pack: each record must be a dict, not {type(record).__name__}")
    key = record.get("key", record.get("id"))
    if isinstance(key, int) and not isinstance(key, bool):
        key = str(key)
    if not isinstance(key, str):
        raise TypeError(f"pack: a record needs a str 'key' (or 'id'): {_short(record)}")
    if "body" in record and "body_base64" in record:
        raise ValueError(f"pack: {key!r} has both 'body' and 'body_base64'")
    if "body_base64" in record:
        import base64

        body: Any = base64.b64decode(record["body_base64"], validate=True)
    else:
        body = record.get("body")
        if body is None:
            body = b""
    metadata: dict[str, str] = {}
    for name in ("meta", "metadata"):
        m = record.get(name)
        if m is not None:
            if not isinstance(m, Mapping):
                raise TypeError(f"pack: {name!r} of {key!r} must be a dict")
            metadata.update(m)
    for name, value in record.items():
        if name not in _FIELDS:
            # As `quire pack` does with JSONL: strings as they are, other values as JSON.
            metadata[name] = (
                value
                if isinstance(value, str)
                else json.dumps(value, separators=(",", ":"), ensure_ascii=False)
            )
    date = record.get("date")
    return {
        "key": key,
        "body": body,
        "title": record.get("title"),
        "date": None if date == "" else date,
        "content_type": record.get("content_type"),
        "metadata": metadata or None,
    }


def _short(record: Mapping[str, Any]) -> str:
    text = repr(dict(record))
    return text if len(text) <= 80 else text[:77] + "..."


def pack(records: Iterable[Mapping[str, Any]], path: Any, **options: Any) -> dict[str, int]:
    """Writes an archive at ``path`` from an iterable of dicts; returns the summary dict
    of :meth:`Writer.finish`.

    Each record is a dict like a line of ``quire pack``'s JSONL input: ``key`` (or ``id``;
    ``str`` or ``int``), and optionally ``title``, ``date`` (``'YYYY-MM-DD'`` or a
    ``datetime.date``), ``content_type``, ``body`` (``str``, ``bytes`` or a binary file
    object) or ``body_base64``, and ``meta`` (or ``metadata``): a dict of ``str`` to
    ``str``. Any other field becomes entry metadata too (strings as they are, other values
    as JSON). A first record of the form ``{"archive": {...}}`` -- the first line of
    ``quire unpack --jsonl`` -- gives archive metadata, so that::

        quire.pack(map(json.loads, open("dump.jsonl")), "copy.quire")

    re-packs an unpacked archive. ``options`` are :class:`Writer`'s (``level``,
    ``block_size``, ``threads``, ``overwrite``, ``metadata``, ...). Records are read one at a
    time: memory does not grow with their number. Nothing is written under ``path`` unless
    every record is added.
    """
    it = iter(records)
    first = next(it, None)
    pending = [] if first is None else [first]
    if (
        isinstance(first, Mapping)
        and "key" not in first
        and "id" not in first
        and set(first) == {"archive"}
        and isinstance(first["archive"], Mapping)
    ):
        pending = []
        meta = dict(first["archive"])
        meta.update(options.get("metadata") or {})
        options["metadata"] = meta
    with Writer(path, **options) as w:
        for record in pending:
            w.add(**_entry_args(record))
        for record in it:
            w.add(**_entry_args(record))
    return w.summary or {}
