"""The streaming body reader: an ``io.RawIOBase`` over the native body stream."""

from __future__ import annotations

import io
from typing import Any


class BodyReader(io.RawIOBase):
    """A binary, read-only file object over one entry's body.

    From :meth:`quire.Archive.open_body` or :meth:`quire.Entry.open_body`. It holds one
    block of the body in memory at a time, whatever the body's size, and decompresses
    without the GIL. Works wherever Python expects a binary file: ``shutil.copyfileobj``,
    ``io.BufferedReader``, ``io.TextIOWrapper(io.BufferedReader(r), "utf-8")``. A damaged
    block raises :class:`quire.CorruptArchive` from ``read``.

    ``size`` is the body's length, ``remaining`` the bytes not read yet, ``key`` the
    entry's key. Closing releases the block and the reference to the archive; it is a
    context manager like any file.
    """

    def __init__(self, stream: Any) -> None:
        super().__init__()
        self._stream = stream

    @property
    def key(self) -> str:
        """The key of the entry whose body this reads."""
        return self._stream.key

    @property
    def size(self) -> int:
        """The body's length in bytes."""
        return self._stream.size

    @property
    def remaining(self) -> int:
        """Bytes not read yet."""
        return self._stream.remaining

    def readable(self) -> bool:
        """Always true."""
        return True

    def read(self, size: int | None = -1) -> bytes:
        """Reads up to ``size`` bytes (all that is left when ``size`` is negative or
        ``None``); fewer only at the end of the body, ``b""`` after it."""
        self._checkClosed()
        return self._stream.read(-1 if size is None else size)

    def readall(self) -> bytes:
        """Reads everything that is left."""
        self._checkClosed()
        return self._stream.read(-1)

    def readinto(self, buffer: Any) -> int:
        """Reads into a writable buffer (``bytearray``, ``memoryview``, ...); returns the
        number of bytes read, 0 at the end."""
        self._checkClosed()
        view = memoryview(buffer).cast("B")
        data = self._stream.read(len(view))
        n = len(data)
        view[:n] = data
        return n

    def close(self) -> None:
        """Releases the block held and the archive; closing twice is allowed."""
        if not self.closed:
            self._stream.close()
        super().close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{self.remaining} of {self.size} bytes left"
        return f"<quire.BodyReader {self.key!r}, {state}>"
