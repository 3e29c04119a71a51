"""Type stubs for quire: read and write quire archives."""

import datetime
import io
import os
from types import TracebackType
from typing import Any, BinaryIO, Iterable, Iterator, Literal, Mapping, TypeVar, final, overload

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

__version__: str

_T = TypeVar("_T")
_StrPath = str | os.PathLike[str]
_Bytes = bytes | bytearray | memoryview
_Body = bytes | bytearray | memoryview | str | BinaryIO
_Date = datetime.date | str
# A record of quire.pack / Writer.add_record: a dict shaped like a JSONL line of
# `quire pack` (spec §9), or such a line.
_Record = Mapping[str, Any] | str | bytes

class Error(Exception):
    """Base class of quire's own exceptions."""

class CorruptArchive(Error):
    """The archive is damaged: ``location`` says where, ``kind`` what."""

    location: str
    kind: str

class ArchiveChanged(Error):
    """The archive changed on the server since it was opened (a URL): ``url`` says which."""

    url: str

class NotAnArchive(Error):
    """The file is not a quire archive (bad magic number)."""

class UnsupportedVersion(Error):
    """The archive's format version or a required feature is newer than this reader."""

    major: int | None
    minor: int | None

class NoTitleIndex(Error):
    """The archive has no title index (packed with ``index="none"``): no suggestions."""

class NoSearchIndex(Error):
    """The archive has no full-text index (packed without ``index="full"``): no search."""

class UnsupportedTokenizer(Error):
    """The full-text index was made by a tokenizer this reader does not implement:
    ``tokenizer`` is the one the archive records."""

    tokenizer: str

class DuplicateKey(Error):
    """A key was added twice (``duplicates='error'``)."""

    key: str
    first: int

def open(
    source: _StrPath | _Bytes,
    *,
    mmap: bool = True,
    timeout: float | None = None,
    connect_timeout: float | None = None,
    retries: int | None = None,
    cache_bytes: int | None = None,
    parallel: int | None = None,
) -> Archive:
    """Opens an archive from a path (memory-mapped unless ``mmap=False``; the file must not
    be modified or truncated while it is open), a URL (``http://``, ``https://``,
    ``s3://BUCKET/KEY``, read by ranges) or bytes.

    ``timeout`` (per request, seconds, default 30), ``connect_timeout`` (default 10),
    ``retries`` (default 3), ``cache_bytes`` (default 64 MiB) and ``parallel`` (requests in
    flight, default 32) set how a URL is read; they are checked, and ignored for a path or
    bytes. A URL's failures raise, with the library's one-line message and a ``url``
    attribute: ``TimeoutError``, ``ConnectionError``, ``FileNotFoundError`` (404),
    ``PermissionError`` (401, 403, no S3 credentials), ``ssl.SSLCertVerificationError``,
    :class:`ArchiveChanged`, ``ValueError`` (a malformed URL), else ``OSError``."""

@final
class Archive:
    """An open archive: a read-only, thread-safe mapping of ``str`` keys to ``bytes``."""

    def __len__(self) -> int: ...
    def __getitem__(self, key: str, /) -> bytes: ...
    @overload
    def get(self, key: str) -> bytes | None: ...
    @overload
    def get(self, key: str, default: _T) -> bytes | _T: ...
    def get_many(self, keys: Iterable[str]) -> list[bytes | None]:
        """The bodies of ``keys`` in their order (``None`` for a missing key); over a URL the
        keys' index pages and blocks are fetched together, without the GIL."""
    def __contains__(self, key: object, /) -> bool: ...
    def __iter__(self) -> KeyIterator: ...
    def keys(self) -> KeyIterator: ...
    def entries(self) -> EntryIterator: ...
    def prefix(self, prefix: str, lost: list[dict[str, Any]] | None = None) -> list[str]:
        """Keys starting with ``prefix``, sorted. With ``lost``, damage is appended to it
        (``first``, ``count``, ``from_key``, ``to_key``, ``code``, ``message``) and the walk
        goes on."""
    def suggest(self, text: str, limit: int | None = 10) -> list[Suggestion]:
        """Title suggestions: entries whose folded title (or key, without one) starts with
        ``text`` folded (``kind == "title"``) or has a word that does (``"word"``); title
        starts first, then shorter titles; at most ``limit`` (``None`` for all). Reads only
        the title index, without the GIL. Raises :class:`NoTitleIndex` without one."""
    @property
    def has_title_index(self) -> bool: ...
    def search(self, query: str, limit: int = 10) -> list[SearchResult]:
        """Full-text search: entries holding every word of ``query`` (and each ``"quoted
        phrase"``), analysed in the archive's language, ranked by BM25, at most ``limit``
        (at most 10,000), each with a snippet; as ``quire search``. Runs without the GIL.
        Raises :class:`NoSearchIndex` without a full-text index,
        :class:`UnsupportedTokenizer`, :class:`CorruptArchive`, ``ValueError`` for a
        negative limit or a query over 4096 bytes or 64 distinct words."""
    @property
    def has_search_index(self) -> bool: ...
    @property
    def search_tokenizer(self) -> str | None:
        """The full-text index's tokenizer string (spec §15.1), ``None`` without one."""
    def search_postings(self, term: str) -> list[tuple[int, int]] | None:
        """An analysed term's postings, ``(entry_number, term_frequency)`` in entry order;
        ``None`` when the index does not hold it."""
    def entry(self, key: str) -> Entry: ...
    def entry_at(self, index: int) -> Entry: ...
    def open_body(self, key: str) -> BodyReader: ...
    def write_jsonl(self, file: BinaryIO) -> int:
        """Writes the archive as ``quire unpack --jsonl`` does (spec §9)."""
    def verify(self) -> VerifyReport: ...
    @property
    def metadata(self) -> dict[str, str]: ...
    @property
    def closed(self) -> bool: ...
    def close(self) -> None: ...
    def __enter__(self) -> Archive: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]: ...

@final
class Entry:
    """One entry: fields from its record, title/metadata/body read on demand."""

    @property
    def key(self) -> str: ...
    @property
    def index(self) -> int: ...
    @property
    def title(self) -> str | None: ...
    @property
    def date(self) -> datetime.date | None: ...
    @property
    def content_type(self) -> str: ...
    @property
    def metadata(self) -> dict[str, str]: ...
    @property
    def size(self) -> int: ...
    @property
    def body(self) -> bytes: ...
    def open_body(self) -> BodyReader: ...
    def to_jsonl(self) -> str:
        """The entry's line of ``quire unpack --jsonl`` (spec §9), without the newline."""

@final
class KeyIterator(Iterator[str]):
    def __iter__(self) -> KeyIterator: ...
    def __next__(self) -> str: ...

@final
class EntryIterator(Iterator[Entry]):
    def __iter__(self) -> EntryIterator: ...
    def __next__(self) -> Entry: ...

class BodyReader(io.RawIOBase):
    """A binary file object over one body, holding one block at a time."""

    def __init__(self, stream: Any) -> None: ...
    @property
    def key(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def remaining(self) -> int: ...
    def read(self, size: int | None = -1) -> bytes: ...
    def readall(self) -> bytes: ...
    def readinto(self, buffer: Any) -> int: ...

@final
class Problem:
    """One problem found by :meth:`Archive.verify`."""

    @property
    def location(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def keys(self) -> list[str]: ...

@final
class Suggestion:
    """One title suggestion from :meth:`Archive.suggest`; unpacks as ``(key, title, kind)``."""

    @property
    def key(self) -> str: ...
    @property
    def title(self) -> str | None: ...
    @property
    def kind(self) -> Literal["title", "word"]: ...
    @property
    def text(self) -> str: ...
    def __iter__(self) -> Iterator[str | None]: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class SearchResult:
    """One full-text search result from :meth:`Archive.search`.

    ``score`` is the integer BM25 score of spec §15.2 (what ranks results and what
    ``quire search --json`` prints); ``bm25`` the same as a float (natural logarithms).
    ``highlights`` are ``(start, end)`` character offsets into ``snippet``."""

    @property
    def key(self) -> str: ...
    @property
    def index(self) -> int: ...
    @property
    def title(self) -> str | None: ...
    @property
    def score(self) -> int: ...
    @property
    def bm25(self) -> float: ...
    @property
    def snippet(self) -> str: ...
    @property
    def highlights(self) -> list[tuple[int, int]]: ...
    def marked(self, open: str, close: str, *, escape: bool = False) -> str:
        """The snippet with each highlight between ``open`` and ``close`` (the text
        escaped for HTML with ``escape``)."""
    def html(self) -> str:
        """The snippet as HTML, highlights in ``<b>…</b>``: ``quire search --json``'s."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class VerifyReport:
    """What :meth:`Archive.verify` found."""

    @property
    def ok(self) -> bool: ...
    @property
    def sections(self) -> int: ...
    @property
    def blocks(self) -> int: ...
    @property
    def entries(self) -> int: ...
    @property
    def problems(self) -> list[Problem]: ...
    @property
    def interrupted(self) -> str | None: ...

@final
class Writer:
    """Writes an archive atomically (temporary file, fsync, rename)."""

    def __new__(
        cls,
        path: _StrPath,
        *,
        preset: Literal["default", "smallest", "remote"] | None = None,
        level: int | None = None,
        block_size: int | None = None,
        threads: int | None = None,
        overwrite: bool = False,
        dictionary: Literal["auto", "on", "off"] | bool | None = None,
        dict_size: int | None = None,
        dict_stored_max: int | None = None,
        dedup: bool | None = None,
        duplicates: Literal["error", "first", "last"] | None = None,
        metadata: Mapping[str, str] | None = None,
        created: int | None = None,
        index: Literal["titles", "full", "none"] | None = None,
        page_size: int | None = None,
        pack_nodes: bool | None = None,
    ) -> Writer: ...
    def add(
        self,
        key: str,
        body: _Body,
        *,
        title: str | None = None,
        date: _Date | None = None,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> bool: ...
    def add_record(self, record: _Record) -> bool:
        """Adds an entry from a record (a dict shaped like a JSONL line, or the line), read
        as ``quire pack`` reads it."""
    def finish(self) -> dict[str, int]: ...
    def abort(self) -> None: ...
    @property
    def summary(self) -> dict[str, int] | None: ...
    @property
    def closed(self) -> bool: ...
    def __len__(self) -> int: ...
    def __enter__(self) -> Writer: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        _exc: BaseException | None = None,
        _tb: TracebackType | None = None,
    ) -> Literal[False]: ...

def pack(records: Iterable[_Record], path: _StrPath, **options: Any) -> dict[str, int]:
    """Writes an archive from records shaped like ``quire pack``'s JSONL lines (dicts, or
    the lines), read as ``quire pack`` reads them."""
