#!/usr/bin/env python3
"""An independent reader for the quire archive format 3.0, written from spec/FORMAT.md alone.

Library:
    a = open_archive(path)
    a.metadata                -> list of (name, value) pairs of META, in order
    a.entries()               -> iterator of Entry, in entry (key) order
    a.get(key)                -> Entry or None
    a.entry(number)           -> Entry
    a.verify()                -> full verification of spec section 11; raises QuireError

CLI:
    quire_spec_reader.py dump ARCHIVE      JSON Lines of spec section 9
    quire_spec_reader.py check ARCHIVE     'ok' or 'error <kind>: <message>'
    quire_spec_reader.py vectors DIR       run the test vectors
"""

import base64
import bisect
import json
import os
import re
import sys
import zlib

import zstandard

# --------------------------------------------------------------------------------------------
# Errors

KINDS = (
    "not_quire", "truncated_prelude", "damaged_prelude", "unsupported_version",
    "unsupported_feature", "length_mismatch", "damaged_dictionary", "damaged_node",
    "damaged_block_stored", "damaged_block_frame", "damaged_block_raw", "damaged_entry",
)


class QuireError(Exception):
    def __init__(self, kind, where, message):
        assert kind in KINDS, kind
        self.kind = kind
        self.where = where
        self.message = message
        super().__init__(f"{kind} at {where}: {message}")


# --------------------------------------------------------------------------------------------
# Constants

MAGIC = b"\x89QUIRE\r\n\x1a\n"
MAJOR = 3
MINOR = 0
HEADER_LEN = 96
PRELUDE_MAX = 16384
NODE_MAX = 16384
META_MAX = 8192
CTYPES_MAX = 4096
DICT_MAX = 16 * 1024 * 1024
BLOCK_MAX = 1 << 28
LEAD_MAX = 16 * 1024 * 1024
BODY_LIMIT = 1 << 48
KEY_MAX = 4096
SEP_MAX = 4096
U32_MAX = (1 << 32) - 1
U64_MAX = (1 << 64) - 1

SEC_DICT, SEC_INDEX, SEC_DATA = 1, 2, 3
SEC_NAMES = {SEC_DICT: "DICT", SEC_INDEX: "INDEX", SEC_DATA: "DATA"}

RF_DICT = 1 << 0
RF_RAW_DICT = 1 << 1
RF_KNOWN = RF_DICT | RF_RAW_DICT
OF_SHARED_BODIES = 1 << 0

EF_DATE, EF_AT, EF_SHARED = 1, 2, 4

ZSTD_MAGIC = 0xFD2FB528
ZDICT_MAGIC = b"\x37\xA4\x30\xEC"

TEXT_PLAIN = "text/plain; charset=utf-8"


def crc32(b):
    return zlib.crc32(b) & 0xFFFFFFFF


# --------------------------------------------------------------------------------------------
# A bounds-checked cursor over bytes


class Cursor:
    def __init__(self, buf, kind, where, pos=0, end=None):
        self.buf = buf
        self.pos = pos
        self.end = len(buf) if end is None else end
        self.kind = kind
        self.where = where

    def fail(self, msg):
        raise QuireError(self.kind, self.where, msg)

    def need(self, n, what):
        if n < 0 or self.pos + n > self.end:
            self.fail(f"{what}: needs {n} bytes at {self.pos}, only {self.end - self.pos} left")

    def u8(self, what="u8"):
        self.need(1, what)
        v = self.buf[self.pos]
        self.pos += 1
        return v

    def uint(self, n, what):
        self.need(n, what)
        v = int.from_bytes(self.buf[self.pos:self.pos + n], "little")
        self.pos += n
        return v

    def u16(self, what="u16"):
        return self.uint(2, what)

    def u32(self, what="u32"):
        return self.uint(4, what)

    def u64(self, what="u64"):
        return self.uint(8, what)

    def take(self, n, what="bytes"):
        self.need(n, what)
        v = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return v

    def varint(self, what="varint"):
        value = 0
        shift = 0
        for i in range(10):
            if self.pos >= self.end:
                self.fail(f"{what}: varint runs past the end")
            b = self.buf[self.pos]
            self.pos += 1
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                if i > 0 and b == 0:
                    self.fail(f"{what}: non-minimal varint")
                if value > U64_MAX:
                    self.fail(f"{what}: varint above 2^64-1")
                return value
            shift += 7
        self.fail(f"{what}: varint longer than 10 bytes")

    def left(self):
        return self.end - self.pos


def unzigzag(v):
    return (v >> 1) if not v & 1 else -((v + 1) >> 1)


def utf8(b, kind, where, what):
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        raise QuireError(kind, where, f"{what} is not UTF-8")


def valid_date(d):
    if d < 0:
        return False
    y, md = divmod(d, 10000)
    m, day = divmod(md, 100)
    if not (0 <= y <= 9999 and 1 <= m <= 12):
        return False
    if m == 2:
        leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
        dim = 29 if leap else 28
    elif m in (4, 6, 9, 11):
        dim = 30
    else:
        dim = 31
    return 1 <= day <= dim


# --------------------------------------------------------------------------------------------
# zstd frame inspection (RFC 8878 section 3.1.1), done by hand so that "exactly one frame"
# and the header fields are checked from the bytes, not from a library's behaviour.


class FrameInfo:
    __slots__ = ("frame_len", "content_size", "checksum", "dict_id", "stripped")


def inspect_frame(data, kind, where):
    """Parse one zstd frame at the start of data. Returns FrameInfo; `stripped` is the frame
    with its Dictionary_ID field removed (so that a decoder ignores it)."""
    c = Cursor(data, kind, where)
    if len(data) < 4:
        c.fail("too short for a zstd frame")
    magic = c.u32("frame magic")
    if 0x184D2A50 <= magic <= 0x184D2A5F:
        c.fail("skippable frame")
    if magic != ZSTD_MAGIC:
        c.fail(f"not a zstd frame (magic {magic:08x})")
    fhd_pos = c.pos
    fhd = c.u8("frame header descriptor")
    fcs_flag = fhd >> 6
    single = (fhd >> 5) & 1
    if fhd & 0x08:
        c.fail("reserved bit set in the frame header descriptor")
    checksum = (fhd >> 2) & 1
    did_flag = fhd & 3
    if not single:
        c.u8("window descriptor")
    did_pos = c.pos
    did_size = (0, 1, 2, 4)[did_flag]
    dict_id = c.uint(did_size, "dictionary id") if did_size else 0
    did_end = c.pos
    fcs_size = (1 if single else 0, 2, 4, 8)[fcs_flag]
    if fcs_size:
        fcs = c.uint(fcs_size, "frame content size")
        if fcs_size == 2:
            fcs += 256
    else:
        fcs = None
    while True:
        bh = c.uint(3, "block header")
        last = bh & 1
        btype = (bh >> 1) & 3
        bsize = bh >> 3
        if btype == 0:
            c.take(bsize, "raw block")
        elif btype == 1:
            c.take(1, "RLE block")
        elif btype == 2:
            c.take(bsize, "compressed block")
        else:
            c.fail("reserved block type")
        if last:
            break
    if checksum:
        c.take(4, "content checksum")
    info = FrameInfo()
    info.frame_len = c.pos
    info.content_size = fcs
    info.checksum = checksum
    info.dict_id = dict_id
    frame = bytes(data[:c.pos])
    if did_size:
        frame = (frame[:fhd_pos] + bytes([fhd & ~3 & 0xFF]) + frame[fhd_pos + 1:did_pos]
                 + frame[did_end:])
    info.stripped = frame
    return info


# --------------------------------------------------------------------------------------------
# Structures


class Section:
    __slots__ = ("id", "offset", "length", "crc")

    def __init__(self, id, offset, length, crc):
        self.id, self.offset, self.length, self.crc = id, offset, length, crc

    @property
    def end(self):
        return self.offset + self.length


class BlockRec:
    __slots__ = ("block", "offset", "stream_start", "stored_len", "raw_len", "codec",
                 "stored_crc", "raw_crc")

    def key(self):
        return (self.block, self.offset, self.stream_start, self.stored_len, self.raw_len,
                self.codec, self.stored_crc, self.raw_crc)

    @property
    def stream_end(self):
        return self.stream_start + self.raw_len


class RawEntry:
    """An entry as decoded from a page (no stream bytes read yet)."""
    __slots__ = ("number", "key", "flags", "lead_pos", "lead_len", "body_pos", "body_len",
                 "ctype", "date", "page")

    @property
    def shared(self):
        return bool(self.flags & EF_SHARED)


class Page:
    __slots__ = ("where", "first", "n", "run", "foreign", "blocks", "by_stream", "entries",
                 "offset")


class Branch:
    __slots__ = ("where", "first", "children", "offset", "level")


class Child:
    __slots__ = ("entries", "first", "offset", "len", "crc", "sep")


class Entry:
    """A decoded entry: key, title, date, content type, metadata and body."""

    def __init__(self, archive, raw, title, meta):
        self._archive = archive
        self._raw = raw
        self.number = raw.number
        self.key_bytes = raw.key
        self.key = raw.key.decode("utf-8")
        self.title = title
        self.date = raw.date  # int YYYYMMDD or None
        self.content_type = archive.ctypes[raw.ctype]
        self.metadata = meta  # list of (name, value)
        self._body = None

    @property
    def date_str(self):
        if self.date is None:
            return None
        y, md = divmod(self.date, 10000)
        m, d = divmod(md, 100)
        return f"{y:04d}-{m:02d}-{d:02d}"

    def body_chunks(self):
        return self._archive._read_range_chunks(self._raw.page, self._raw.body_pos,
                                                self._raw.body_len, self._where())

    @property
    def body(self):
        if self._body is None:
            self._body = b"".join(self.body_chunks())
        return self._body

    def _where(self):
        return f"entry {self.number} ({self.key!r})"

    def __repr__(self):
        return f"Entry({self.number}, {self.key!r})"


# --------------------------------------------------------------------------------------------
# The archive


class Archive:
    def __init__(self, path):
        self.path = path
        self._f = open(path, "rb")
        self._f.seek(0, os.SEEK_END)
        self.size = self._f.tell()
        self._block_cache = {}
        self._dict = None  # (ZstdDecompressor) once loaded
        self._plain = zstandard.ZstdDecompressor()
        self._open()

    def close(self):
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    # -- raw file access ---------------------------------------------------------------------

    def _read(self, offset, length, kind, where):
        if offset < 0 or length < 0 or offset + length > self.size:
            raise QuireError(kind, where, f"range {offset}+{length} outside the file "
                                          f"({self.size} bytes)")
        self._f.seek(offset)
        b = self._f.read(length)
        if len(b) != length:
            raise QuireError(kind, where, "short read (file changed?)")
        return b

    # -- open: §2.3 and the "on open" table of §11 -------------------------------------------

    def _open(self):
        size = self.size
        head = self._read(0, min(PRELUDE_MAX, size), "not_quire", "prelude")
        if size < 22 or head[:10] != MAGIC:
            raise QuireError("not_quire", "prelude", "not a quire archive (bad magic)")
        prelude_len = int.from_bytes(head[14:18], "little")
        if not (22 <= prelude_len <= PRELUDE_MAX):
            raise QuireError("truncated_prelude", "prelude",
                             f"prelude_len {prelude_len} outside 22..=16384")
        if prelude_len > size:
            raise QuireError("truncated_prelude", "prelude",
                             f"prelude_len {prelude_len} but the file has {size} bytes")
        pre = head[:prelude_len]
        stored = int.from_bytes(pre[-4:], "little")
        if crc32(pre[:-4]) != stored:
            raise QuireError("damaged_prelude", "prelude", "prelude checksum mismatch")
        major = int.from_bytes(pre[10:12], "little")
        minor = int.from_bytes(pre[12:14], "little")
        self.version = (major, minor)
        if major != MAJOR:
            raise QuireError("unsupported_version", "prelude",
                             f"unsupported version {major}.{minor} (this reader knows 3.x)")
        # From here on, 3.x fields. The header must lie inside the checked prelude before any of
        # its fields is interpreted.
        if prelude_len < HEADER_LEN + 4:
            raise QuireError("damaged_prelude", "prelude",
                             f"prelude_len {prelude_len} too small for the 96-byte header")
        c = Cursor(pre, "damaged_prelude", "header", 14)
        c.u32()
        section_count = c.u16()
        index_depth = c.u8()
        reserved1 = c.take(3)
        required_flags = c.u64()
        optional_flags = c.u64()
        file_len = c.u64()
        entry_count = c.u64()
        block_count = c.u64()
        stream_len = c.u64()
        max_block_len = c.u32()
        block_target = c.u32()
        meta_len = c.u32()
        ctypes_len = c.u32()
        root_len = c.u32()
        reserved2 = c.take(4)
        assert c.pos == HEADER_LEN

        if required_flags & ~RF_KNOWN:
            raise QuireError("unsupported_feature", "header",
                             f"unknown required flags {required_flags & ~RF_KNOWN:#x}")
        if file_len != size:
            raise QuireError("length_mismatch", "header",
                             f"file_len {file_len} but the file has {size} bytes")
        dp = lambda msg, where="header": QuireError("damaged_prelude", where, msg)
        if any(reserved1) or any(reserved2):
            raise dp("non-zero reserved bytes")
        if section_count > 16:
            raise dp(f"section_count {section_count} > 16")
        if index_depth > 4:
            raise dp(f"index_depth {index_depth} > 4")
        if meta_len > META_MAX:
            raise dp(f"meta_len {meta_len} > 8192")
        if ctypes_len > CTYPES_MAX:
            raise dp(f"ctypes_len {ctypes_len} > 4096")
        if root_len < 1:
            raise dp("root_len 0")
        if prelude_len != HEADER_LEN + 32 * section_count + meta_len + ctypes_len + root_len + 4:
            raise dp("prelude lengths do not add up")

        self.prelude_len = prelude_len
        self.section_count = section_count
        self.index_depth = index_depth
        self.required_flags = required_flags
        self.optional_flags = optional_flags
        self.file_len = file_len
        self.entry_count = entry_count
        self.block_count = block_count
        self.stream_len = stream_len
        self.max_block_len = max_block_len
        self.block_target = block_target

        # Section table (§2.2)
        sections = []
        pos = HEADER_LEN
        expect = prelude_len
        seen = set()
        for i in range(section_count):
            sc = Cursor(pre, "damaged_prelude", f"section record {i}", pos)
            sid = sc.u32()
            r1 = sc.take(4)
            off = sc.u64()
            length = sc.u64()
            crc = sc.u32()
            r2 = sc.take(4)
            pos += 32
            w = f"section record {i}"
            if any(r1) or any(r2):
                raise dp("non-zero reserved bytes", w)
            if off != expect:
                raise dp(f"section starts at {off}, expected {expect} (tiling)", w)
            if off + length > U64_MAX:
                raise dp("section offset + length overflows", w)
            if length == 0 and crc != 0:
                raise dp("zero-length section with non-zero crc", w)
            expect = off + length
            if sid in SEC_NAMES:
                if sid in seen:
                    raise dp(f"section {SEC_NAMES[sid]} appears twice", w)
                seen.add(sid)
            sections.append(Section(sid, off, length, crc))
        if expect != file_len:
            raise dp(f"sections end at {expect}, file_len is {file_len}", "section table")
        for sid, name in SEC_NAMES.items():
            if sid not in seen:
                raise dp(f"section {name} missing", "section table")
        self.sections = sections
        self.sec = {s.id: s for s in sections if s.id in SEC_NAMES}
        dict_sec, data_sec = self.sec[SEC_DICT], self.sec[SEC_DATA]

        # Counts (§11)
        if entry_count > U32_MAX:
            raise dp(f"entry_count {entry_count} > 2^32-1")
        if block_count > U32_MAX:
            raise dp(f"block_count {block_count} > 2^32-1")
        if max_block_len > BLOCK_MAX:
            raise dp(f"max_block_len {max_block_len} > 2^28")
        if (block_count == 0) != (stream_len == 0):
            raise dp("block_count = 0 iff stream_len = 0 does not hold")
        if not (block_count <= stream_len <= block_count * max_block_len):
            raise dp("stream_len outside block_count ..= block_count * max_block_len")
        if (data_sec.length == 0) != (block_count == 0):
            raise dp("DATA empty iff block_count = 0 does not hold")
        if bool(required_flags & RF_DICT) != (dict_sec.length > 0):
            raise dp("DICT flag iff DICT non-empty does not hold")
        if required_flags & RF_RAW_DICT and not required_flags & RF_DICT:
            raise dp("RAW_DICT without DICT")

        # META (§3)
        mstart = pos
        mc = Cursor(pre, "damaged_prelude", "META", mstart, mstart + meta_len)
        meta = []
        names = set()
        while mc.left():
            nl = mc.u16("name_len")
            name = utf8(mc.take(nl, "name"), "damaged_prelude", "META", "a name")
            vl = mc.u32("value_len")
            value = utf8(mc.take(vl, "value"), "damaged_prelude", "META", f"value of {name!r}")
            if name in names:
                raise dp(f"repeated name {name!r}", "META")
            names.add(name)
            meta.append((name, value))
        self.metadata = meta
        pos += meta_len

        # CTYPES (§4)
        cc = Cursor(pre, "damaged_prelude", "CTYPES", pos, pos + ctypes_len)
        ctypes = []
        while cc.left():
            ln = cc.u8("len")
            if ln == 0:
                raise dp("content type of length 0", "CTYPES")
            ct = utf8(cc.take(ln, "content type"), "damaged_prelude", "CTYPES", "a content type")
            if ct in ctypes:
                raise dp(f"repeated content type {ct!r}", "CTYPES")
            ctypes.append(ct)
        if entry_count > 0 and not ctypes:
            raise dp("no content type but entries", "CTYPES")
        self.ctypes = ctypes
        pos += ctypes_len

        # Root (§6)
        self.root_offset = pos
        self.root_bytes = pre[pos:pos + root_len]
        self.root = self._parse_node(self.root_bytes, index_depth, 0, entry_count, "root", pos)

    # -- nodes (§6, §7.1) --------------------------------------------------------------------

    def _parse_node(self, buf, level, first, expected, where, offset):
        if len(buf) < 1:
            raise QuireError("damaged_node", where, "empty node")
        kind = buf[0]
        if level == 0:
            if kind != 0:
                raise QuireError("damaged_node", where, f"kind {kind} at level 0, expected page")
            return self._parse_page(buf, first, expected, where, offset)
        if kind != 1:
            raise QuireError("damaged_node", where, f"kind {kind} at level {level}, expected branch")
        return self._parse_branch(buf, level, first, expected, where, offset)

    def _parse_branch(self, buf, level, first, expected, where, offset):
        c = Cursor(buf, "damaged_node", where, 1)
        nc = c.varint("c")
        if not 1 <= nc <= 65535:
            c.fail(f"{nc} children")
        idx = self.sec[SEC_INDEX]
        child_off = c.varint("child_offset")
        children = []
        total = 0
        off = child_off
        prev_sep = None
        for i in range(nc):
            ch = Child()
            ch.entries = c.varint("entries")
            ch.len = c.varint("len")
            ch.crc = c.u32("crc")
            sl = c.varint("sep_len")
            if sl > SEP_MAX:
                c.fail(f"separator of {sl} bytes")
            ch.sep = c.take(sl, "sep")
            if ch.entries < 1:
                c.fail(f"child {i} has 0 entries")
            if not 1 <= ch.len <= NODE_MAX:
                c.fail(f"child {i} length {ch.len}")
            if off + ch.len > idx.length:
                c.fail(f"child {i} at INDEX+{off}, {ch.len} bytes, outside INDEX "
                       f"({idx.length} bytes)")
            if i == 0:
                if sl != 0:
                    c.fail("child 0 has a non-empty separator")
            else:
                if ch.sep <= prev_sep:
                    c.fail(f"separator of child {i} does not increase")
            prev_sep = ch.sep
            ch.offset = off
            ch.first = first + total
            off += ch.len
            total += ch.entries
            children.append(ch)
        if c.left():
            c.fail(f"{c.left()} bytes after the child records")
        if total != expected:
            c.fail(f"children hold {total} entries, expected {expected}")
        b = Branch()
        b.where, b.first, b.children, b.offset, b.level = where, first, children, offset, level
        return b

    def _block_record_check(self, r, where):
        data = self.sec[SEC_DATA]
        err = lambda m: QuireError("damaged_node", where, f"block record {r.block}: {m}")
        if r.block >= self.block_count:
            raise err(f"block number >= block_count {self.block_count}")
        if r.stored_len < 1:
            raise err("stored_len 0")
        if not 1 <= r.raw_len <= self.max_block_len:
            raise err(f"raw_len {r.raw_len} outside 1..={self.max_block_len}")
        if r.codec not in (0, 1, 2):
            raise err(f"unknown codec {r.codec}")
        if r.codec == 0 and r.stored_len != r.raw_len:
            raise err("codec 0 with stored_len != raw_len")
        if r.codec == 2 and not self.required_flags & RF_DICT:
            raise err("codec 2 but the archive has no dictionary")
        if r.offset + r.stored_len > data.length:
            raise err(f"stored bytes DATA+{r.offset}, {r.stored_len} bytes, outside DATA "
                      f"({data.length} bytes)")
        if r.stream_start + r.raw_len > self.stream_len:
            raise err("stream range past stream_len")

    def _parse_page(self, buf, first, expected, where, offset):
        c = Cursor(buf, "damaged_node", where, 1)
        n = c.varint("n")
        if n == 0 and not (where == "root" and self.entry_count == 0):
            c.fail("page of 0 entries")
        if n > 65535:
            c.fail(f"page of {n} entries")
        if n != expected:
            c.fail(f"page holds {n} entries, expected {expected}")
        m = c.varint("m")
        run = []
        if m > 0:
            fb = c.varint("first_block")
            fo = c.varint("first_offset")
            fs = c.varint("first_stream")
            for i in range(m):
                r = BlockRec()
                r.block = fb + i
                r.offset = fo
                r.stream_start = fs
                r.stored_len = c.varint("stored_len")
                r.raw_len = c.varint("raw_len")
                r.codec = c.u8("codec")
                r.stored_crc = c.u32("stored_crc")
                r.raw_crc = c.u32("raw_crc")
                self._block_record_check(r, where)
                fo += r.stored_len
                fs += r.raw_len
                run.append(r)
        f = c.varint("f")
        foreign = []
        prev = -1
        for i in range(f):
            r = BlockRec()
            r.block = c.varint("block")
            r.offset = c.varint("offset")
            r.stream_start = c.varint("stream_start")
            r.stored_len = c.varint("stored_len")
            r.raw_len = c.varint("raw_len")
            r.codec = c.u8("codec")
            r.stored_crc = c.u32("stored_crc")
            r.raw_crc = c.u32("raw_crc")
            if r.block <= prev:
                c.fail("foreign block records not in increasing block order")
            if run and run[0].block <= r.block <= run[-1].block:
                c.fail(f"foreign block {r.block} inside the run")
            prev = r.block
            self._block_record_check(r, where)
            foreign.append(r)

        nrest = (n + 15) // 16
        rstart = len(buf) - 2 * nrest
        if rstart < c.pos:
            c.fail("restart array overlaps the block records")
        restarts = [int.from_bytes(buf[rstart + 2 * k:rstart + 2 * k + 2], "little")
                    for k in range(nrest)]
        c.end = rstart
        entries = []
        prev_key = b""
        prev = None
        prev_date = 0
        for i in range(n):
            restart = i % 16 == 0
            if restart:
                if c.pos != restarts[i // 16]:
                    c.fail(f"restart {i // 16} is {restarts[i // 16]}, entry {i} is at {c.pos}")
                prev_date = 0
            e = RawEntry()
            e.number = first + i
            shared = c.varint("shared")
            sl = c.varint("suffix_len")
            suffix = c.take(sl, "suffix")
            if restart and shared != 0:
                c.fail(f"entry {i}: shared {shared} on a restart entry")
            if shared > len(prev_key):
                c.fail(f"entry {i}: shared {shared} > previous key length")
            key = prev_key[:shared] + suffix
            if not 1 <= len(key) <= KEY_MAX:
                c.fail(f"entry {i}: key of {len(key)} bytes")
            utf8(key, "damaged_node", where, f"key of entry {i}")
            if i > 0 and key <= prev_key:
                c.fail(f"entry {i}: keys do not increase")
            e.key = key
            flags = c.u8("flags")
            if flags & 0xF8:
                c.fail(f"entry {i}: reserved flag bits {flags:#x}")
            e.flags = flags
            e.lead_len = c.varint("lead_len")
            if e.lead_len > LEAD_MAX:
                c.fail(f"entry {i}: lead_len {e.lead_len} > 16 MiB")
            e.body_len = c.varint("body_len")
            if e.body_len >= BODY_LIMIT:
                c.fail(f"entry {i}: body_len >= 2^48")
            if flags & EF_AT:
                e.lead_pos = c.varint("at")
            else:
                if restart:
                    c.fail(f"entry {i}: restart entry without AT")
                e.lead_pos = prev.lead_pos + prev.lead_len + (0 if prev.shared else prev.body_len)
            if flags & EF_SHARED:
                e.body_pos = c.varint("body_at")
                if e.body_len < 1:
                    c.fail(f"entry {i}: SHARED with an empty body")
            else:
                e.body_pos = e.lead_pos + e.lead_len
            e.ctype = c.varint("content_type")
            if e.ctype >= len(self.ctypes):
                c.fail(f"entry {i}: content type {e.ctype} not in CTYPES")
            if flags & EF_DATE:
                d = prev_date + unzigzag(c.varint("date"))
                if not valid_date(d):
                    c.fail(f"entry {i}: invalid date {d}")
                e.date = d
                prev_date = d
            else:
                e.date = None
            entries.append(e)
            prev_key = key
            prev = e
        if c.pos != rstart:
            c.fail(f"entries end at {c.pos}, restarts start at {rstart}")

        p = Page()
        p.where, p.first, p.n, p.run, p.foreign, p.offset = where, first, n, run, foreign, offset
        p.blocks = {r.block: r for r in run + foreign}
        p.by_stream = sorted(p.blocks.values(), key=lambda r: r.stream_start)
        p.entries = entries
        for e in entries:
            e.page = p
        return p

    def _load_child(self, branch, ch):
        where = f"node at INDEX+{ch.offset}"
        buf = self._read(self.sec[SEC_INDEX].offset + ch.offset, ch.len, "damaged_node", where)
        if crc32(buf) != ch.crc:
            raise QuireError("damaged_node", where, "checksum mismatch with the parent's record")
        return self._parse_node(buf, branch.level - 1, ch.first, ch.entries, where, ch.offset)

    # -- blocks and the dictionary (§5) ------------------------------------------------------

    def _dictionary(self):
        if self._dict is not None:
            return self._dict
        sec = self.sec[SEC_DICT]
        w = "dictionary"
        err = lambda m: QuireError("damaged_dictionary", w, m)
        if sec.length == 0:
            raise err("no dictionary")
        raw = self._read(sec.offset, sec.length, "damaged_dictionary", w)
        if crc32(raw) != sec.crc:
            raise err("checksum mismatch with the section table")
        info = inspect_frame(raw, "damaged_dictionary", w)
        if info.frame_len != len(raw):
            raise err(f"frame of {info.frame_len} bytes in a DICT of {len(raw)}")
        if info.content_size is None or not 1 <= info.content_size <= DICT_MAX:
            raise err(f"content size {info.content_size} not in 1 ..= 16 MiB")
        if info.dict_id:
            raise err("dictionary frame compressed with a dictionary")
        try:
            content = self._plain.decompress(info.stripped, max_output_size=info.content_size)
        except zstandard.ZstdError as e:
            raise err(f"zstd: {e}")
        if len(content) != info.content_size:
            raise err("decompressed size differs from the declared one")
        raw_kind = bool(self.required_flags & RF_RAW_DICT)
        if raw_kind == (content[:4] == ZDICT_MAGIC):
            raise err("the dictionary's first bytes disagree with the RAW_DICT flag")
        dt = zstandard.DICT_TYPE_RAWCONTENT if raw_kind else zstandard.DICT_TYPE_FULLDICT
        try:
            zd = zstandard.ZstdCompressionDict(content, dict_type=dt)
            dec = zstandard.ZstdDecompressor(dict_data=zd)
            # Force the dictionary to load now, with an empty frame that uses no dictionary.
            probe = zstandard.ZstdCompressor(write_content_size=True,
                                             write_dict_id=False).compress(b"")
            dec.decompress(probe)
        except zstandard.ZstdError as e:
            raise err(f"zstd cannot load the dictionary: {e}")
        self._dict = dec
        return dec

    def _block(self, r):
        k = r.key()
        hit = self._block_cache.get(k)
        if hit is not None:
            return hit
        w = f"block {r.block}"
        stored = self._read(self.sec[SEC_DATA].offset + r.offset, r.stored_len,
                            "damaged_block_stored", w)
        if crc32(stored) != r.stored_crc:
            raise QuireError("damaged_block_stored", w, "stored checksum mismatch")
        if r.codec == 0:
            raw = stored
        else:
            info = inspect_frame(stored, "damaged_block_frame", w)
            ferr = lambda m: QuireError("damaged_block_frame", w, m)
            if info.frame_len != len(stored):
                raise ferr(f"frame of {info.frame_len} bytes in {len(stored)} stored bytes")
            if info.content_size is None:
                raise ferr("frame without content size")
            if info.content_size != r.raw_len:
                raise ferr(f"frame content size {info.content_size} != raw_len {r.raw_len}")
            if info.checksum:
                raise ferr("frame with a content checksum")
            dec = self._dictionary() if r.codec == 2 else self._plain
            try:
                raw = dec.decompress(info.stripped, max_output_size=r.raw_len)
            except zstandard.ZstdError as e:
                raise ferr(f"zstd: {e}")
            if len(raw) != r.raw_len:
                raise ferr(f"decompressed to {len(raw)} bytes, raw_len {r.raw_len}")
        if crc32(raw) != r.raw_crc:
            raise QuireError("damaged_block_raw", w, "decompressed checksum mismatch")
        if len(self._block_cache) > 64:
            self._block_cache.clear()
        self._block_cache[k] = raw
        return raw

    def _span(self, page, pos, length, where):
        """The page's block records covering stream range pos..pos+length (§7.1), checked
        before anything is decompressed."""
        err = lambda m: QuireError("damaged_entry", where, m)
        if pos + length > self.stream_len:
            raise err(f"range {pos}+{length} past stream_len {self.stream_len}")
        if length == 0:
            return []
        starts = [r.stream_start for r in page.by_stream]
        i = bisect.bisect_right(starts, pos) - 1
        if i < 0 or not (page.by_stream[i].stream_start <= pos < page.by_stream[i].stream_end):
            raise err(f"range {pos}+{length} starts outside the page's blocks")
        r = page.by_stream[i]
        span = [r]
        end = pos + length
        while r.stream_end < end:
            nxt = page.blocks.get(r.block + 1)
            if nxt is None:
                raise err(f"range {pos}+{length} runs past block {r.block} into a block "
                          "that is not the page's")
            if nxt.stream_start != r.stream_end:
                raise err(f"blocks {r.block} and {nxt.block} do not abut in the stream")
            r = nxt
            span.append(r)
        return span

    def _read_range_chunks(self, page, pos, length, where):
        span = self._span(page, pos, length, where)
        end = pos + length
        for r in span:
            raw = self._block(r)
            a = max(pos, r.stream_start) - r.stream_start
            b = min(end, r.stream_end) - r.stream_start
            yield raw[a:b]

    def _read_range(self, page, pos, length, where):
        return b"".join(self._read_range_chunks(page, pos, length, where))

    # -- entries (§7) ------------------------------------------------------------------------

    def _parse_lead(self, lead, where):
        c = Cursor(lead, "damaged_entry", where)
        title = None
        meta = []
        while c.left():
            tag = c.u8("tag")
            ln = c.u32("field len")
            body = c.take(ln, "field")
            if tag == 1:
                if title is not None:
                    c.fail("two titles")
                title = utf8(body, "damaged_entry", where, "title")
            elif tag == 2:
                fc = Cursor(body, "damaged_entry", where)
                nl = fc.u16("metadata name_len")
                name = utf8(fc.take(nl, "metadata name"), "damaged_entry", where,
                            "metadata name")
                value = utf8(body[fc.pos:], "damaged_entry", where, f"metadata {name!r}")
                meta.append((name, value))
        return title, meta

    def _entry(self, e):
        where = f"entry {e.number} ({e.key.decode('utf-8')!r})"
        # Check both ranges before decompressing anything.
        self._span(e.page, e.body_pos, e.body_len, where)
        lead = self._read_range(e.page, e.lead_pos, e.lead_len, where)
        title, meta = self._parse_lead(lead, where)
        return Entry(self, e, title, meta)

    # -- traversal ---------------------------------------------------------------------------

    def _pages(self, node=None):
        node = self.root if node is None else node
        if isinstance(node, Page):
            yield node
            return
        for ch in node.children:
            yield from self._pages(self._load_child(node, ch))

    def entries(self):
        for p in self._pages():
            for e in p.entries:
                yield self._entry(e)

    def __iter__(self):
        return self.entries()

    def __len__(self):
        return self.entry_count

    def get(self, key):
        if isinstance(key, str):
            key = key.encode("utf-8")
        node = self.root
        while isinstance(node, Branch):
            seps = [ch.sep for ch in node.children]
            i = bisect.bisect_right(seps, key) - 1
            node = self._load_child(node, node.children[i])
        keys = [e.key for e in node.entries]
        i = bisect.bisect_left(keys, key)
        if i < len(keys) and keys[i] == key:
            return self._entry(node.entries[i])
        return None

    def entry(self, number):
        if not 0 <= number < self.entry_count:
            raise IndexError(number)
        node = self.root
        while isinstance(node, Branch):
            for ch in node.children:
                if ch.first <= number < ch.first + ch.entries:
                    node = self._load_child(node, ch)
                    break
        return self._entry(node.entries[number - node.first])

    # -- full verification (§11) -------------------------------------------------------------

    def verify(self):
        """Full verification. Raises the first QuireError found."""
        self._block_cache.clear()
        if self.sec[SEC_DICT].length:
            self._dictionary()
        pages = []

        def walk(node):
            """Returns (first key, last key) of the subtree."""
            if isinstance(node, Page):
                pages.append(node)
                if not node.entries:
                    return None, None
                return node.entries[0].key, node.entries[-1].key
            first = last = None
            for i, ch in enumerate(node.children):
                child = self._load_child(node, ch)
                fk, lk = walk(child)
                if i > 0:
                    if not (ch.sep > last and ch.sep <= fk):
                        raise QuireError("damaged_node", node.where if node.where == "root"
                                         else f"node at INDEX+{node.offset}",
                                         f"separator of child {i} not in (last key of child "
                                         f"{i - 1}, first key of child {i}]")
                if last is not None and fk <= last:
                    raise QuireError("damaged_node", f"node at INDEX+{ch.offset}",
                                     "keys do not increase across pages")
                if first is None:
                    first = fk
                last = lk
            return first, last

        walk(self.root)

        # Runs cover blocks 0 .. block_count once and in order; identical records.
        records = {}
        last_block = None
        for p in pages:
            for r in p.run + p.foreign:
                old = records.get(r.block)
                if old is not None and old.key() != r.key():
                    raise QuireError("damaged_node", p.where,
                                     f"record of block {r.block} differs from another page's")
                records[r.block] = r
            if not p.run:
                continue
            fb = p.run[0].block
            if last_block is None:
                if fb != 0:
                    raise QuireError("damaged_node", p.where, f"first run starts at block {fb}")
            elif fb not in (last_block, last_block + 1):
                raise QuireError("damaged_node", p.where,
                                 f"run starts at block {fb} after a run ending at {last_block}")
            last_block = p.run[-1].block
        if self.block_count:
            if last_block != self.block_count - 1:
                raise QuireError("damaged_node", "index",
                                 f"runs end at block {last_block}, block_count "
                                 f"{self.block_count}")
        elif last_block is not None:
            raise QuireError("damaged_node", "index", "runs in an archive with no blocks")
        data = self.sec[SEC_DATA]
        off, st, mx = 0, 0, 0
        for b in range(self.block_count):
            r = records[b]
            if r.offset != off or r.stream_start != st:
                raise QuireError("damaged_node", f"block {b}",
                                 f"block record at {r.offset}/stream {r.stream_start}, expected "
                                 f"{off}/stream {st}")
            off += r.stored_len
            st += r.raw_len
            mx = max(mx, r.raw_len)
        if off != data.length:
            raise QuireError("damaged_node", "index", "blocks do not fill DATA")
        if st != self.stream_len:
            raise QuireError("damaged_node", "index", "blocks do not add up to stream_len")
        if mx != self.max_block_len:
            raise QuireError("damaged_prelude", "header",
                             f"max_block_len {self.max_block_len}, largest raw_len {mx}")

        # Every block decodes; a damaged block is reported with the entries stored in it.
        damaged = []
        for b in range(self.block_count):
            try:
                self._block(records[b])
            except QuireError as e:
                damaged.append((b, e))
            self._block_cache.clear()
        if damaged:
            holders = {b: [] for b, _ in damaged}
            for p in pages:
                for e in p.entries:
                    for pos, ln in ((e.lead_pos, e.lead_len), (e.body_pos, e.body_len)):
                        try:
                            span = self._span(p, pos, ln, "")
                        except QuireError:
                            continue
                        for r in span:
                            if r.block in holders and e.key not in holders[r.block]:
                                holders[r.block].append(e.key)
            b, err = damaged[0]
            keys = ", ".join(k.decode("utf-8") for k in holders[b][:20])
            more = "" if len(holders[b]) <= 20 else f", … ({len(holders[b])} in all)"
            raise QuireError(err.kind, err.where,
                             f"{err.message}; entries stored in it: {keys}{more}"
                             + (f"; {len(damaged)} damaged blocks: "
                                + ", ".join(str(x) for x, _ in damaged[:50])
                                if len(damaged) > 1 else ""))

        # Every entry: ranges, lead, body; the stream is leads and (unshared) bodies back to back.
        pos = 0
        bodies = {}
        for p in pages:
            for e in p.entries:
                ent = self._entry(e)
                where = ent._where()
                if e.lead_pos != pos:
                    raise QuireError("damaged_entry", where,
                                     f"lead at {e.lead_pos}, the stream is at {pos}")
                pos += e.lead_len
                if e.shared:
                    if bodies.get(e.body_pos) != e.body_len:
                        raise QuireError("damaged_entry", where,
                                         "shared body is not an earlier entry's body")
                else:
                    bodies.setdefault(e.body_pos, e.body_len)
                    pos += e.body_len
                for _ in ent.body_chunks():
                    pass
        if pos != self.stream_len:
            raise QuireError("damaged_entry", "stream",
                             f"entries fill {pos} bytes of a {self.stream_len}-byte stream")

        # Every section's CRC.
        kinds = {SEC_DICT: "damaged_dictionary", SEC_INDEX: "damaged_node",
                 SEC_DATA: "damaged_block_stored"}
        for i, s in enumerate(self.sections):
            k = kinds.get(s.id, "damaged_prelude")
            crc = 0
            pos = s.offset
            while pos < s.end:
                n = min(1 << 20, s.end - pos)
                crc = zlib.crc32(self._read(pos, n, k, f"section record {i}"), crc)
                pos += n
            if (crc & 0xFFFFFFFF) != s.crc:
                raise QuireError(k, f"section record {i} (id {s.id})", "section checksum mismatch")
        return True


def open_archive(path):
    return Archive(path)


# --------------------------------------------------------------------------------------------
# §9: JSON Lines


def json_str(s):
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif o < 0x20:
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}.get(
                ch, "\\u%04x" % o))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def json_value(v):
    """A parsed JSON value written compactly, the way serde_json writes a Value
    (objects in their order, as with serde_json's preserve_order)."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return json_str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        r = repr(v)
        return r if ("." in r or "e" in r or "inf" in r or "nan" in r) else r + ".0"
    if isinstance(v, list):
        return "[" + ",".join(json_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(json_str(k) + ":" + json_value(x) for k, x in v.items()) + "}"
    raise TypeError(v)


RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def json_names(value):
    """Names listed in a `quire:json` metadata value (format not given by the spec: a JSON
    array of strings, else comma-separated)."""
    try:
        v = json.loads(value)
        if isinstance(v, list) and all(isinstance(x, str) for x in v):
            return set(v)
    except ValueError:
        pass
    return {x.strip() for x in value.split(",") if x.strip()}


def entry_json(ent):
    parts = ['"key":' + json_str(ent.key)]
    if ent.title is not None:
        parts.append('"title":' + json_str(ent.title))
    meta = list(ent.metadata)
    json_fields = set()
    for name, value in meta:
        if name == "quire:json":
            json_fields |= json_names(value)
    meta = [(n, v) for n, v in meta if n != "quire:json"]
    if ent.date is not None:
        date = ent.date_str
        for i, (name, value) in enumerate(meta):
            if name == "date":
                mt = RFC3339.match(value)
                if mt and mt.group(1) == date:
                    date = value
                    del meta[i]
                break
        parts.append('"date":' + json_str(date))
    body = ent.body
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if ent.content_type != TEXT_PLAIN or text is None:
        parts.append('"content_type":' + json_str(ent.content_type))
    if meta:
        items = []
        for name, value in meta:
            if name in json_fields:
                try:
                    items.append(json_str(name) + ":" + json_value(json.loads(value)))
                    continue
                except ValueError:
                    pass
            items.append(json_str(name) + ":" + json_str(value))
        parts.append('"meta":{' + ",".join(items) + "}")
    if text is not None:
        parts.append('"body":' + json_str(text))
    else:
        parts.append('"body_base64":' + json_str(base64.b64encode(body).decode("ascii")))
    return "{" + ",".join(parts) + "}"


def dump_lines(archive):
    yield '{"archive":{' + ",".join(json_str(n) + ":" + json_str(v)
                                    for n, v in archive.metadata) + "}}"
    for ent in archive.entries():
        yield entry_json(ent)


def dump_bytes(path):
    with open_archive(path) as a:
        return "".join(line + "\n" for line in dump_lines(a)).encode("utf-8")


# --------------------------------------------------------------------------------------------
# CLI

KIND_WORDS = [
    # (regex on the README's description of the expected error, kind); first match wins
    (r"not a quire|bad magic|\bmagic\b", "not_quire"),
    (r"unsupported version|future major|\bversion\b", "unsupported_version"),
    (r"unsupported feature|required flag", "unsupported_feature"),
    (r"truncated prelude|truncated or damaged prelude", "truncated_prelude"),
    (r"truncated or extended|file_len|length mismatch", "length_mismatch"),
    (r"damaged prelude", "damaged_prelude"),
    (r"damaged dictionary", "damaged_dictionary"),
    (r"damaged index node|index node|damaged node|checksum chain", "damaged_node"),
    (r"stored checksum|stored crc", "damaged_block_stored"),
    (r"\(frame\)|block frame", "damaged_block_frame"),
    (r"decompressed checksum|wrong bytes|raw crc", "damaged_block_raw"),
    (r"damaged entry", "damaged_entry"),
]


def kind_from_text(text):
    t = text.lower()
    for k in KINDS:
        if k in t:
            return k
    for rx, k in KIND_WORDS:
        if re.search(rx, t):
            return k
    return None


def expected_kinds(rdir):
    """Expected error kind per reject file, from reject/expected.txt ('file kind' per line) or
    reject/README.md (a line or table row naming the file and the error)."""
    exp = {}
    p = os.path.join(rdir, "expected.txt")
    if os.path.exists(p):
        for line in open(p, encoding="utf-8"):
            line = line.split("#", 1)[0].strip()
            if "\t" in line:
                parts = line.split("\t")
                if len(parts) >= 2 and parts[1].strip() in KINDS:
                    exp[os.path.basename(parts[0].strip())] = parts[1].strip()
                    continue
            if line:
                parts = re.split(r"[\s:,|]+", line, maxsplit=1)
                if len(parts) == 2:
                    k = kind_from_text(parts[1])
                    exp[os.path.basename(parts[0])] = k or parts[1].strip()
        return exp
    p = os.path.join(rdir, "README.md")
    if os.path.exists(p):
        for line in open(p, encoding="utf-8"):
            for mt in re.finditer(r"([\w.+-]+\.quire)", line):
                name = mt.group(1)
                rest = line[mt.end():]
                k = kind_from_text(rest) or kind_from_text(line)
                if k and name not in exp:
                    exp[name] = k
    return exp


def check(path):
    with open_archive(path) as a:
        a.verify()
        # also exercise the plain read path
        for _ in dump_lines(a):
            pass


def run_vectors(d):
    passed = failed = 0
    for name in sorted(os.listdir(d)):
        if not name.endswith(".quire"):
            continue
        path = os.path.join(d, name)
        exp_path = path[:-6] + ".jsonl"
        try:
            with open_archive(path) as a:
                a.verify()
            got = dump_bytes(path)
            want = open(exp_path, "rb").read() if os.path.exists(exp_path) else None
            if want is None:
                print(f"FAIL {name}: no {os.path.basename(exp_path)}")
                failed += 1
            elif got != want:
                gl, wl = got.split(b"\n"), want.split(b"\n")
                i = next((i for i, (x, y) in enumerate(zip(gl, wl)) if x != y),
                         min(len(gl), len(wl)))
                g = gl[i] if i < len(gl) else b"<eof>"
                w = wl[i] if i < len(wl) else b"<eof>"
                print(f"FAIL {name}: dump differs at line {i + 1}:\n  got  {g[:300]!r}\n"
                      f"  want {w[:300]!r}")
                failed += 1
            else:
                print(f"ok   {name}")
                passed += 1
        except QuireError as e:
            print(f"FAIL {name}: rejected: {e.kind}: {e.where}: {e.message}")
            failed += 1
    rdir = os.path.join(d, "reject")
    if os.path.isdir(rdir):
        exp = expected_kinds(rdir)
        for name in sorted(os.listdir(rdir)):
            if not name.endswith(".quire"):
                continue
            path = os.path.join(rdir, name)
            try:
                check(path)
            except QuireError as e:
                want = exp.get(name)
                if want is None or want == e.kind:
                    print(f"ok   reject/{name}: {e.kind}: {e.message}"
                          + ("" if want else " (no expected kind listed)"))
                    passed += 1
                else:
                    print(f"FAIL reject/{name}: got {e.kind} ({e.where}: {e.message}), "
                          f"expected {want}")
                    failed += 1
                continue
            print(f"FAIL reject/{name}: accepted")
            failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def main(argv):
    if len(argv) != 3 or argv[1] not in ("dump", "check", "vectors"):
        print(__doc__, file=sys.stderr)
        return 2
    cmd, arg = argv[1], argv[2]
    if cmd == "dump":
        try:
            data = dump_bytes(arg)
        except QuireError as e:
            print(f"error {e.kind}: {e.message} ({e.where})", file=sys.stderr)
            return 1
        sys.stdout.buffer.write(data)
        return 0
    if cmd == "check":
        try:
            check(arg)
        except QuireError as e:
            print(f"error {e.kind}: {e.message} ({e.where})")
            return 1
        print("ok")
        return 0
    return run_vectors(arg)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
