#!/usr/bin/env python3
"""An independent reader for the quire archive format 3.1, written from spec/FORMAT.md alone.

Library:
    a = open_archive(path)
    a.metadata                -> list of (name, value) pairs of META, in order
    a.entries(start=None)     -> iterator of Entry, in entry (key) order: a walk (spec 6.4),
                                 from the first entry, or from the first key >= start
    a.get(key)                -> Entry or None (a lookup with bounds, spec 6.3)
    a.entry(number)           -> Entry
    a.verify_all()            -> full verification (spec 11): the list of every fault found
    a.verify()                -> full verification; raises the first fault
    a.suggest(q, limit=None)  -> suggestions from the title index (spec 14.6): a list of
                                 (key, title or None, "title" | "word"); [] without TITLES
    a.search_index()          -> the full-text index (spec 15), header and root checked:
                                 .find_term(t), .postings(term), .candidates(terms),
                                 .search_terms(terms, limit) -> [(key, title, score, doc)]
                                 (queries as analysed terms: no tokenizer here)

CLI:
    quire_spec_reader.py dump ARCHIVE      JSON Lines of spec section 9
    quire_spec_reader.py check ARCHIVE     open, read every entry, verify: 'ok' or the errors
    quire_spec_reader.py suggest ARCHIVE QUERY [LIMIT]
                                           suggestions from the title index (spec section 14):
                                           one JSON array [key, title or null, kind] a line
    quire_spec_reader.py search-postings ARCHIVE TERM
                                           a term's postings from the full-text index (§15):
                                           {"term", "df", "list", "postings": [[doc, tf], …]}
    quire_spec_reader.py search-terms ARCHIVE
                                           every term with its postings, one JSON object a line
    quire_spec_reader.py search ARCHIVE [--limit N] TERM|PHRASE …
                                           a query given as analysed terms (a phrase as a JSON
                                           array of terms, or of [term, offset] pairs): one JSON
                                           array [key, title or null, score] a line, §15.2's
                                           integer BM25; with phrases, the conjunctive
                                           candidates (phrases are not checked: no tokenizer)
    quire_spec_reader.py search-text ARCHIVE QUERY
                                           a text query: invalid_query over 4096 bytes, else
                                           unsupported_tokenizer (this reader has no tokenizer)
    quire_spec_reader.py vectors DIR       run the test vectors: DIR/*.quire, DIR/jsonl/*.quire
                                           and DIR/titles/ and DIR/search/ (if any) and
                                           DIR/reject/; a NAME.queries.json beside NAME.quire
                                           is run as suggestion queries (§14.7), or with a
                                           NAME.terms.json as search queries (§15.12); a
                                           reject/expected.json as title-index or search-index
                                           reject files

Every check of spec section 11 is made in the order of its table, with its code. Nothing
recurses to a depth the file sets (index_depth <= 4 is checked on open, and walks use an
explicit stack), and a walk visits each node at most once.
"""

import base64
import bisect
import json
import os
import re
import sys
import unicodedata
import zlib

import zstandard

# --------------------------------------------------------------------------------------------
# Errors (spec §11: the stable codes)

KINDS = (
    "not_quire", "truncated_prelude", "damaged_prelude", "unsupported_version",
    "unsupported_feature", "length_mismatch", "damaged_dictionary", "damaged_node",
    "damaged_block_stored", "damaged_block_frame", "damaged_block_raw", "damaged_entry",
    "damaged_title_index", "damaged_search_index", "unsupported_tokenizer", "invalid_query",
)
BLOCK_KINDS = ("damaged_block_stored", "damaged_block_frame", "damaged_block_raw")


class QuireError(Exception):
    def __init__(self, kind, where, message):
        assert kind in KINDS, kind
        self.kind = kind
        self.where = where
        self.message = message
        self.block = None        # the block number, for block errors
        self.ends_walk = False   # a node out of place in a walk (§6.4)
        super().__init__(f"{kind} at {where}: {message}")


# --------------------------------------------------------------------------------------------
# Constants

MAGIC = b"\x89QUIRE\r\n\x1a\n"
MAJOR = 3
MINOR = 1
HEADER_LEN = 96
SECTION_RECORD_LEN = 32
PRELUDE_MAX = 16384
PRELUDE_MIN_3 = 197          # §2.1: 96 + 3 · 32 + 1 + 4
NODE_MAX = 16384
META_MAX = 8192
CTYPES_MAX = 4096
DICT_MAX = 16 * 1024 * 1024  # DICT (the section) and the dictionary's content size
BLOCK_LIMIT = 1 << 22        # §2.1: max_block_len ≤ 4 MiB in 3.1
BLOCK_LIMIT_30 = 1 << 28     # what 3.0 allowed
LEAD_MAX = 16 * 1024 * 1024
BODY_LIMIT = 1 << 48
KEY_MAX = 4096
SEP_MAX = 4096
NODE_ENTRIES_MAX = 65535
ENTRY_MIN_BYTES = 7          # §6.4: every entry takes at least 7 bytes of its page
KIND_PACKED = 2              # §6.5: the kind byte of a packed node
PACKED_RATIO = 16            # §6.5: a packed node unpacks to at most 16 × its stored length
U32_MAX = (1 << 32) - 1
U64_MAX = (1 << 64) - 1

SEC_DICT, SEC_INDEX, SEC_DATA = 1, 2, 3
SEC_NAMES = {SEC_DICT: "DICT", SEC_INDEX: "INDEX", SEC_DATA: "DATA"}
SEC_TITLES = 4               # §14: optional, read for suggestions only (not checked on open)

RF_DICT = 1 << 0
RF_RAW_DICT = 1 << 1
RF_PACKED_NODES = 1 << 2     # §2.4, §6.5: nodes in INDEX may be stored packed (one zstd frame)
RF_KNOWN = RF_DICT | RF_RAW_DICT | RF_PACKED_NODES
OF_SHARED_BODIES = 1 << 0

EF_DATE, EF_AT, EF_SHARED = 1, 2, 4

ZSTD_MAGIC = 0xFD2FB528
ZDICT_MAGIC = b"\x37\xA4\x30\xEC"

TEXT_PLAIN = "text/plain; charset=utf-8"

BLOCK_CACHE_BYTES = 16 * 1024 * 1024
NODE_CACHE_MAX = 256


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
        raise QuireError(kind, where, f"{what} is not UTF-8") from None


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


def pow2_ceil(n):
    p = 1
    while p < n:
        p <<= 1
    return p


def key_text(k):
    return k.decode("utf-8", "replace") if k is not None else None


# --------------------------------------------------------------------------------------------
# zstd frame inspection (RFC 8878 §3.1.1), done by hand so that "exactly one frame", the header
# fields and the window rule (spec §5) are checked from the bytes before anything is decoded.


class FrameInfo:
    __slots__ = ("frame_len", "content_size", "checksum", "dict_id_flag", "window_size")


def inspect_frame(data, kind, where):
    """Parse the zstd frame at the start of data, walking its block headers to find its end.
    Raises QuireError(kind) when the bytes are not a frame."""
    c = Cursor(data, kind, where)
    if len(data) < 4:
        c.fail("too short for a zstd frame")
    magic = c.u32("frame magic")
    if 0x184D2A50 <= magic <= 0x184D2A5F:
        c.fail("skippable frame")
    if magic != ZSTD_MAGIC:
        c.fail(f"not a zstd frame (magic {magic:08x})")
    fhd = c.u8("frame header descriptor")
    fcs_flag = fhd >> 6
    single = (fhd >> 5) & 1
    if fhd & 0x08:
        c.fail("reserved bit set in the frame header descriptor")
    checksum = (fhd >> 2) & 1
    did_flag = fhd & 3
    window = None
    if not single:
        wd = c.u8("window descriptor")
        exponent, mantissa = wd >> 3, wd & 7
        base = 1 << (10 + exponent)
        window = base + (base // 8) * mantissa
    did_size = (0, 1, 2, 4)[did_flag]
    if did_size:
        c.uint(did_size, "dictionary id")
    fcs_size = (1 if single else 0, 2, 4, 8)[fcs_flag]
    if fcs_size:
        fcs = c.uint(fcs_size, "frame content size")
        if fcs_size == 2:
            fcs += 256
    else:
        fcs = None
    if single:
        window = fcs
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
    info.dict_id_flag = did_flag
    info.window_size = window
    return info


def check_frame(data, size, kind, where, what):
    """§5: exactly one frame filling data, Frame_Content_Size = size, no checksum, no
    Dictionary_ID field, and the window rule. `size` None: any content size (returned)."""
    info = inspect_frame(data, kind, where)
    err = lambda m: QuireError(kind, where, m)
    if info.frame_len != len(data):
        raise err(f"a frame of {info.frame_len} bytes in {len(data)} bytes of {what}")
    if info.content_size is None:
        raise err("frame without Frame_Content_Size")
    if size is not None and info.content_size != size:
        raise err(f"Frame_Content_Size {info.content_size}, expected {size}")
    if info.checksum:
        raise err("frame with Content_Checksum_Flag set")
    if info.dict_id_flag:
        raise err("frame with a Dictionary_ID field")
    limit = max(1024, pow2_ceil(info.content_size))
    if info.window_size > limit:
        raise err(f"Window_Size {info.window_size} over max(1 KiB, content size rounded up to "
                  f"a power of two) = {limit} (the window rule, §5)")
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

    def where(self):
        return f"entry {self.number} ({key_text(self.key)!r})"


class Page:
    __slots__ = ("where", "first", "n", "run", "foreign", "blocks", "by_stream", "starts",
                 "entries", "offset", "len", "level", "packed")


class Branch:
    __slots__ = ("where", "first", "children", "offset", "len", "level", "child_offset",
                 "children_end", "packed")


class Child:
    __slots__ = ("entries", "first", "offset", "len", "crc", "sep")


class Entry:
    """A decoded entry: key, title, date, content type, metadata and body."""

    def __init__(self, archive, raw, title, meta, body=None):
        self._archive = archive
        self._raw = raw
        self.number = raw.number
        self.key_bytes = raw.key
        self.key = raw.key.decode("utf-8")
        self.title = title
        self.date = raw.date  # int YYYYMMDD or None
        self.content_type = archive.ctypes[raw.ctype]
        self.metadata = meta  # list of (name, value)
        self._body = body

    @property
    def date_str(self):
        if self.date is None:
            return None
        y, md = divmod(self.date, 10000)
        m, d = divmod(md, 100)
        return f"{y:04d}-{m:02d}-{d:02d}"

    def body_chunks(self):
        if self._body is not None:
            return iter((self._body,))
        r = self._raw
        return self._archive._read_range_chunks(r.page, r.body_pos, r.body_len, r.where(),
                                                r.shared)

    @property
    def body(self):
        if self._body is None:
            self._body = b"".join(self.body_chunks())
        return self._body

    def __repr__(self):
        return f"Entry({self.number}, {self.key!r})"


# --------------------------------------------------------------------------------------------
# The archive


class Archive:
    def __init__(self, path):
        self.path = path
        self._f = open(path, "rb")
        try:
            self._f.seek(0, os.SEEK_END)
            self.size = self._f.tell()
            self._blocks = {}        # record key -> decoded bytes (insertion order = age)
            self._block_bytes = 0
            self._bad_blocks = {}    # record key -> QuireError
            self._touched = set()    # block numbers decoded (or tried)
            self._nodes = {}         # node cache
            self._dict = None        # ZstdDecompressor with the dictionary, once loaded
            self._dict_error = None
            self._plain = zstandard.ZstdDecompressor()
            self._open()
        except BaseException:
            self._f.close()
            raise

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

    # -- open: §2 and the "open" rows of §11, in the order of the table ----------------------

    def _open(self):
        size = self.size
        head = self._read(0, min(PRELUDE_MAX, size), "not_quire", "prelude")
        # at least 10 bytes, and the magic
        if size < 10 or head[:10] != MAGIC:
            raise QuireError("not_quire", "prelude", "not a quire archive (bad magic)")
        # at least 22 bytes; 22 ≤ prelude_len ≤ 16384; prelude_len ≤ the file's length
        tp = lambda m: QuireError("truncated_prelude", "prelude", m)
        if size < 22:
            raise tp(f"a file of {size} bytes: shorter than the 22 bytes every major keeps")
        prelude_len = int.from_bytes(head[14:18], "little")
        if not 22 <= prelude_len <= PRELUDE_MAX:
            raise tp(f"prelude_len {prelude_len} outside 22 ..= 16384")
        if prelude_len > size:
            raise tp(f"prelude_len {prelude_len} but the file has {size} bytes")
        pre = head[:prelude_len]
        # prelude_crc
        if crc32(pre[:-4]) != int.from_bytes(pre[-4:], "little"):
            raise QuireError("damaged_prelude", "prelude", "prelude checksum mismatch")
        # major = 3 (any minor)
        major = int.from_bytes(pre[10:12], "little")
        minor = int.from_bytes(pre[12:14], "little")
        self.version = (major, minor)
        if major != MAJOR:
            raise QuireError("unsupported_version", "prelude",
                             f"unsupported version {major}.{minor} (this reader knows 3.x)")
        dp = lambda msg, where="header": QuireError("damaged_prelude", where, msg)
        # prelude_len ≥ 197, right after the version, before any other header field is read
        if prelude_len < PRELUDE_MIN_3:
            raise dp(f"prelude_len {prelude_len} < {PRELUDE_MIN_3}, the least of major 3")
        c = Cursor(pre, "damaged_prelude", "header", 18)
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

        # no unknown required_flags bit
        if required_flags & ~RF_KNOWN:
            raise QuireError("unsupported_feature", "header",
                             f"unknown required flags {required_flags & ~RF_KNOWN:#x}")
        # 3 ≤ section_count ≤ 16; the parts add up to prelude_len, before any record is read
        if not 3 <= section_count <= 16:
            raise dp(f"section_count {section_count} outside 3 ..= 16")
        parts = (HEADER_LEN + SECTION_RECORD_LEN * section_count + meta_len + ctypes_len
                 + root_len + 4)
        if parts != prelude_len:
            raise dp(f"the prelude's parts add up to {parts}, prelude_len is {prelude_len}")
        # root_len ≥ 1; reserved bytes zero; meta_len, ctypes_len, index_depth; then each
        # section record: reserved bytes zero, crc 0 if its length is 0
        if root_len < 1:
            raise dp("root_len 0")
        if any(reserved1) or any(reserved2):
            raise dp("non-zero reserved bytes in the header")
        if meta_len > META_MAX:
            raise dp(f"meta_len {meta_len} > {META_MAX}")
        if ctypes_len > CTYPES_MAX:
            raise dp(f"ctypes_len {ctypes_len} > {CTYPES_MAX}")
        if index_depth > 4:
            raise dp(f"index_depth {index_depth} > 4")
        records = []
        pos = HEADER_LEN
        for i in range(section_count):
            sc = Cursor(pre, "damaged_prelude", f"section record {i}", pos)
            sid = sc.u32()
            r1 = sc.take(4)
            off = sc.u64()
            length = sc.u64()
            crc = sc.u32()
            r2 = sc.take(4)
            pos += SECTION_RECORD_LEN
            if any(r1) or any(r2):
                raise dp("non-zero reserved bytes", f"section record {i}")
            if length == 0 and crc != 0:
                raise dp(f"a record of length 0 with crc {crc:#x}, not 0", f"section record {i}")
            records.append(Section(sid, off, length, crc))
        # file_len
        if file_len != size:
            raise QuireError("length_mismatch", "header",
                             f"file_len {file_len} but the file has {size} bytes")
        # counts
        if entry_count > U32_MAX:
            raise dp(f"entry_count {entry_count} > 2^32 - 1")
        if block_count > U32_MAX:
            raise dp(f"block_count {block_count} > 2^32 - 1")
        # the block limit (§2.1)
        if max_block_len > BLOCK_LIMIT:
            if minor == 0 and max_block_len <= BLOCK_LIMIT_30:
                raise QuireError("unsupported_feature", "header",
                                 f"a 3.0 archive with max_block_len {max_block_len}, over "
                                 f"3.1's block limit of 4 MiB: re-pack it")
            raise dp(f"max_block_len {max_block_len} > 2^22 (4 MiB)")
        # block_count, stream_len and max_block_len agree
        if block_count == 0 and max_block_len != 0:
            raise dp(f"max_block_len {max_block_len} with no blocks")
        if (block_count == 0) != (stream_len == 0):
            raise dp(f"block_count {block_count} and stream_len {stream_len}: one is 0")
        if not block_count <= stream_len <= block_count * max_block_len:
            raise dp(f"stream_len {stream_len} outside block_count ..= block_count · "
                     f"max_block_len")
        # the section table: tiling; DICT, INDEX, DATA each exactly once
        expect = prelude_len
        seen = set()
        for i, s in enumerate(records):
            w = f"section record {i}"
            if s.offset != expect:
                raise dp(f"section starts at {s.offset}, expected {expect} (tiling)", w)
            if s.offset + s.length > U64_MAX:
                raise dp("section offset + length overflows", w)
            expect = s.offset + s.length
            if s.id in SEC_NAMES:
                if s.id in seen:
                    raise dp(f"section {SEC_NAMES[s.id]} appears twice", w)
                seen.add(s.id)
        if expect != file_len:
            raise dp(f"sections end at {expect}, file_len is {file_len}", "section table")
        for sid, name in SEC_NAMES.items():
            if sid not in seen:
                raise dp(f"section {name} missing", "section table")
        self.sections = records
        self.sec = {s.id: s for s in records if s.id in SEC_NAMES}
        dict_sec, index_sec, data_sec = (self.sec[SEC_DICT], self.sec[SEC_INDEX],
                                         self.sec[SEC_DATA])
        # DICT at most 16 MiB; the DICT flag iff DICT non-empty; RAW_DICT only with DICT;
        # DATA empty iff block_count = 0
        if dict_sec.length > DICT_MAX:
            raise dp(f"DICT of {dict_sec.length} bytes, over 16 MiB")
        if bool(required_flags & RF_DICT) != (dict_sec.length > 0):
            raise dp("DICT flag iff DICT non-empty does not hold")
        if required_flags & RF_RAW_DICT and not required_flags & RF_DICT:
            raise dp("RAW_DICT without DICT")
        if (data_sec.length == 0) != (block_count == 0):
            raise dp("DATA empty iff block_count = 0 does not hold")

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

        # META (§3)
        mc = Cursor(pre, "damaged_prelude", "META", pos, pos + meta_len)
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

        # The root parses whole at level index_depth (§6.1)
        self.root_offset = pos
        root = self._parse_node(pre[pos:pos + root_len], index_depth, 0, entry_count, "root",
                                None)
        # The root's place (§6.4)
        if isinstance(root, Branch):
            if root.children_end != index_sec.length:
                raise QuireError("damaged_node", "root",
                                 f"the root's children end at INDEX+{root.children_end}, "
                                 f"INDEX is {index_sec.length} bytes (§6.4)")
        elif index_sec.length != 0:
            raise QuireError("damaged_node", "root",
                             f"a root page with a non-empty INDEX ({index_sec.length} bytes)")
        # 7 · entry_count ≤ root_len + INDEX's length; with PACKED_NODES, root_len + 16 ·
        # INDEX's length (a packed node unpacks to at most 16 times its stored length, §6.5)
        if required_flags & RF_PACKED_NODES:
            room, how = root_len + PACKED_RATIO * index_sec.length, "16 · "
        else:
            room, how = root_len + index_sec.length, ""
        if ENTRY_MIN_BYTES * entry_count > room:
            raise QuireError("damaged_node", "root",
                             f"{entry_count} entries cannot fit in {root_len} + {how}"
                             f"{index_sec.length} bytes of index (7 bytes an entry, §6.4)")
        self.root = root

    # -- nodes (§6, §7.1): each parsed whole when first read ---------------------------------

    def _parse_node(self, buf, level, first, expected, where, offset):
        """Kind, whole parse and (for a non-root branch) its place. offset: the node's offset
        in INDEX, None for the root."""
        if len(buf) < 1:
            raise QuireError("damaged_node", where, "empty node")
        kind = buf[0]
        if level == 0:
            if kind != 0:
                raise QuireError("damaged_node", where, f"kind {kind} at level 0, expected a "
                                                        f"page (0)")
            node = self._parse_page(buf, first, expected, where, offset is None)
        else:
            if kind != 1:
                raise QuireError("damaged_node", where, f"kind {kind} at level {level}, "
                                                        f"expected a branch (1)")
            node = self._parse_branch(buf, first, expected, where)
            # use: its place (§6.4): a branch's children end at or before its own offset
            if offset is not None and node.children_end > offset:
                raise QuireError("damaged_node", where,
                                 f"children end at INDEX+{node.children_end}, after the "
                                 f"branch's own offset {offset}: children lie before their "
                                 f"parent (§6.4)")
        node.where, node.offset, node.len, node.level = where, offset, len(buf), level
        node.packed = False
        return node

    def _parse_branch(self, buf, first, expected, where):
        c = Cursor(buf, "damaged_node", where, 1)
        nc = c.varint("c")
        if not 1 <= nc <= NODE_ENTRIES_MAX:
            c.fail(f"{nc} children")
        index_len = self.sec[SEC_INDEX].length
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
                c.fail(f"child {i}: a separator of {sl} bytes, over {SEP_MAX}")
            ch.sep = c.take(sl, "sep")
            if ch.entries < 1:
                c.fail(f"child {i} has 0 entries")
            if not 1 <= ch.len <= NODE_MAX:
                c.fail(f"child {i}: length {ch.len} outside 1 ..= {NODE_MAX}")
            if off + ch.len > index_len:
                c.fail(f"child {i} at INDEX+{off}, {ch.len} bytes, outside INDEX "
                       f"({index_len} bytes)")
            if i == 0:
                if sl != 0:
                    c.fail("child 0 has a non-empty separator")
            elif sl == 0:
                c.fail(f"child {i} has an empty separator")
            elif ch.sep <= prev_sep:
                c.fail(f"the separator of child {i} does not increase")
            prev_sep = ch.sep
            ch.offset = off
            ch.first = first + total
            off += ch.len
            total += ch.entries
            children.append(ch)
        if c.left():
            c.fail(f"{c.left()} bytes after the child records")
        if total != expected:
            c.fail(f"children hold {total} entries, the parent gives {expected}")
        b = Branch()
        b.first, b.children, b.child_offset, b.children_end = first, children, child_off, off
        return b

    def _block_record_check(self, r, where):
        data = self.sec[SEC_DATA]
        err = lambda m: QuireError("damaged_node", where, f"block record {r.block}: {m}")
        if r.block >= self.block_count:
            raise err(f"block number >= block_count {self.block_count}")
        if not 1 <= r.stored_len <= r.raw_len <= self.max_block_len:
            raise err(f"stored_len {r.stored_len}, raw_len {r.raw_len}: not 1 ≤ stored_len ≤ "
                      f"raw_len ≤ max_block_len {self.max_block_len}")
        if r.codec not in (0, 1, 2):
            raise err(f"unknown codec {r.codec}")
        if r.codec == 0 and r.stored_len != r.raw_len:
            raise err("codec 0 with stored_len != raw_len")
        if r.codec == 2 and not self.required_flags & RF_DICT:
            raise err("codec 2 without the DICT flag")
        if r.offset + r.stored_len > data.length:
            raise err(f"stored bytes DATA+{r.offset}, {r.stored_len} bytes, outside DATA "
                      f"({data.length} bytes)")
        if r.stream_start + r.raw_len > self.stream_len:
            raise err(f"stream range {r.stream_start}+{r.raw_len} past stream_len "
                      f"{self.stream_len}")

    def _parse_page(self, buf, first, expected, where, is_root):
        """§7.1 "What a page parses"."""
        c = Cursor(buf, "damaged_node", where, 1)
        n = c.varint("n")
        if n == 0 and not (is_root and self.entry_count == 0):
            c.fail("a page of 0 entries")
        if n > NODE_ENTRIES_MAX:
            c.fail(f"a page of {n} entries")
        if n != expected:
            c.fail(f"the page holds {n} entries, its parent gives {expected}")
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
            c.fail("the restart array overlaps the block records")
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
                c.fail(f"entry {i}: shared {shared} > the previous key's length")
            key = prev_key[:shared] + suffix
            if not 1 <= len(key) <= KEY_MAX:
                c.fail(f"entry {i}: a key of {len(key)} bytes")
            utf8(key, "damaged_node", where, f"the key of entry {i}")
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
                    c.fail(f"entry {i}: a restart entry without AT")
                e.lead_pos = prev.lead_pos + prev.lead_len + (0 if prev.shared else prev.body_len)
            if flags & EF_SHARED:
                e.body_pos = c.varint("body_at")
                if e.body_len < 1:
                    c.fail(f"entry {i}: SHARED with an empty body")
            else:
                e.body_pos = e.lead_pos + e.lead_len
            # content_type: checked when the entry is used (damaged_entry, §7.1), not here
            e.ctype = c.varint("content_type")
            if flags & EF_DATE:
                d = prev_date + unzigzag(c.varint("date"))
                if not valid_date(d):
                    c.fail(f"entry {i}: an impossible date {d}")
                e.date = d
                prev_date = d
            else:
                e.date = None
            entries.append(e)
            prev_key = key
            prev = e
        if c.pos != rstart:
            c.fail(f"entries end at {c.pos}, the restarts start at {rstart}")
        # the shared body rule within the page (§7.2) for bodies at or after its first lead
        if entries:
            first_lead = entries[0].lead_pos
            unshared = set()
            for i, e in enumerate(entries):
                if e.shared:
                    if e.body_pos >= first_lead and (e.body_pos, e.body_len) not in unshared:
                        c.fail(f"entry {i}: a shared body in the page's own stream that is not "
                               f"an earlier entry's body of the same length (§7.2)")
                elif e.body_len:
                    unshared.add((e.body_pos, e.body_len))

        p = Page()
        p.first, p.n, p.run, p.foreign = first, n, run, foreign
        p.blocks = {r.block: r for r in run + foreign}
        p.by_stream = sorted(p.blocks.values(), key=lambda r: (r.stream_start, r.block))
        p.starts = [r.stream_start for r in p.by_stream]
        p.entries = entries
        for e in entries:
            e.page = p
        return p

    def _load_child(self, branch, ch):
        """Use of a child node: its CRC, kind, whole parse and place (§11 "use" rows)."""
        level = branch.level - 1
        ck = (ch.offset, ch.len, ch.crc, level, ch.first, ch.entries)
        node = self._nodes.get(ck)
        if node is not None:
            return node
        where = f"node at INDEX+{ch.offset} (level {level})"
        buf = self._read(self.sec[SEC_INDEX].offset + ch.offset, ch.len, "damaged_node", where)
        if crc32(buf) != ch.crc:
            raise QuireError("damaged_node", where, "checksum mismatch with the parent's record")
        packed = buf[0] == KIND_PACKED
        if packed:
            # §6.5, §11 "use": a packed node is unpacked before its kind is looked at; what
            # follows (kind, whole parse, place) is checked on the unpacked node
            buf = self._unpack_node(buf, where)
        node = self._parse_node(buf, level, ch.first, ch.entries, where, ch.offset)
        # offsets, lengths and the layout of INDEX are those of the node as stored (§6.4)
        node.len = ch.len
        node.packed = packed
        if len(self._nodes) >= NODE_CACHE_MAX:
            self._nodes.clear()
        self._nodes[ck] = node
        return node

    def _unpack_node(self, stored, where):
        """§6.5: a packed node (kind byte 2, then one zstd frame filling the rest of the stored
        node) -> the node's bytes. The CRC of the stored bytes was checked by the caller. Every
        failure is damaged_node."""
        err = lambda m: QuireError("damaged_node", where, m)
        if not self.required_flags & RF_PACKED_NODES:
            raise err("a packed node (kind 2) without the PACKED_NODES flag: its kind matches "
                      "no level (§6.5)")
        frame = stored[1:]
        # the frame's header, before anything is decompressed: one frame filling the rest of
        # the node (no skippable frame, nothing after it), Frame_Content_Size present, L in
        # 1 ..= 16384 and at most 16 × the stored node's length (kind byte included), no
        # checksum, no Dictionary_ID field, and the window rule with L in place of raw_len
        info = inspect_frame(frame, "damaged_node", where)
        if info.frame_len != len(frame):
            raise err(f"a frame of {info.frame_len} bytes in the {len(frame)} bytes after the "
                      f"kind byte of a packed node")
        size = info.content_size
        if size is None:
            raise err("a packed node's frame without Frame_Content_Size")
        if not 1 <= size <= NODE_MAX:
            raise err(f"a packed node declaring {size} bytes, outside 1 ..= {NODE_MAX} (§6.5)")
        if size > PACKED_RATIO * len(stored):
            raise err(f"a packed node of {len(stored)} bytes declaring {size} bytes, over "
                      f"{PACKED_RATIO} × its stored length (§6.5)")
        check_frame(frame, size, "damaged_node", where, "a packed node")
        # decompressed on its own (never with the archive's dictionary) into exactly L bytes
        try:
            node = self._plain.decompress(frame, max_output_size=size)
        except zstandard.ZstdError as e:
            raise err(f"a packed node's frame does not decode: zstd: {e}") from None
        if len(node) != size:
            raise err(f"a packed node decompressed to {len(node)} bytes, its frame declares "
                      f"{size}")
        return node

    # -- blocks and the dictionary (§5) ------------------------------------------------------

    def _dictionary(self):
        if self._dict is not None:
            return self._dict
        if self._dict_error is not None:
            raise self._dict_error
        try:
            self._dict = self._load_dictionary()
        except QuireError as e:
            self._dict_error = e
            raise
        return self._dict

    def _load_dictionary(self):
        sec = self.sec[SEC_DICT]
        w = "dictionary"
        err = lambda m: QuireError("damaged_dictionary", w, m)
        if sec.length == 0:
            raise err("no dictionary")
        raw = self._read(sec.offset, sec.length, "damaged_dictionary", w)
        if crc32(raw) != sec.crc:
            raise err("DICT checksum mismatch with the section table")
        info = inspect_frame(raw, "damaged_dictionary", w)
        if info.content_size is None or not 1 <= info.content_size <= DICT_MAX:
            raise err(f"content size {info.content_size} not in 1 ..= 16 MiB")
        check_frame(raw, None, "damaged_dictionary", w, "DICT")
        try:
            content = self._plain.decompress(raw, max_output_size=info.content_size)
        except zstandard.ZstdError as e:
            raise err(f"zstd: {e}") from None
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
            raise err(f"zstd cannot load the dictionary: {e}") from None
        return dec

    def _block(self, r):
        """A block's decoded bytes, checked (§11 "use" rows for blocks, in order)."""
        k = r.key()
        hit = self._blocks.pop(k, None)
        if hit is not None:
            self._blocks[k] = hit
            return hit
        bad = self._bad_blocks.get(k)
        if bad is not None:
            raise bad
        self._touched.add(r.block)
        try:
            raw = self._decode_block(r)
        except QuireError as e:
            if e.kind in BLOCK_KINDS:
                e.block = r.block
                self._bad_blocks[k] = e
            raise
        while self._blocks and self._block_bytes + len(raw) > BLOCK_CACHE_BYTES:
            old = next(iter(self._blocks))
            self._block_bytes -= len(self._blocks.pop(old))
        self._blocks[k] = raw
        self._block_bytes += len(raw)
        return raw

    def _decode_block(self, r):
        w = f"block {r.block}"
        stored = self._read(self.sec[SEC_DATA].offset + r.offset, r.stored_len,
                            "damaged_block_stored", w)
        if crc32(stored) != r.stored_crc:
            raise QuireError("damaged_block_stored", w, "stored checksum mismatch")
        if r.codec == 0:
            raw = stored
        else:
            ferr = lambda m: QuireError("damaged_block_frame", w, m)
            check_frame(stored, r.raw_len, "damaged_block_frame", w, "stored bytes")
            dec = self._dictionary() if r.codec == 2 else self._plain
            try:
                raw = dec.decompress(stored, max_output_size=r.raw_len)
            except zstandard.ZstdError as e:
                raise ferr(f"zstd: {e}") from None
            if len(raw) != r.raw_len:
                raise ferr(f"decompressed to {len(raw)} bytes, raw_len {r.raw_len}")
        if crc32(raw) != r.raw_crc:
            raise QuireError("damaged_block_raw", w, "decompressed checksum mismatch")
        return raw

    def _span(self, page, pos, length, where, foreign_ok):
        """The page's block records covering the stream range pos .. pos + length (§7.1),
        checked before anything is fetched. Only a shared body may lie in foreign blocks."""
        err = lambda m: QuireError("damaged_entry", where, m)
        if pos + length > self.stream_len:
            raise err(f"range {pos}+{length} past stream_len {self.stream_len}")
        if length == 0:
            return []
        i = bisect.bisect_right(page.starts, pos) - 1
        if i < 0 or not page.by_stream[i].stream_start <= pos < page.by_stream[i].stream_end:
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
        if not foreign_ok:
            run = page.run
            for r in span:
                if not (run and run[0].block <= r.block <= run[-1].block):
                    raise err(f"range {pos}+{length} lies in foreign block {r.block}: only "
                              f"shared bodies may (§7.2)")
        return span

    def _read_range_chunks(self, page, pos, length, where, foreign_ok):
        span = self._span(page, pos, length, where, foreign_ok)
        end = pos + length
        for r in span:
            raw = self._block(r)
            a = max(pos, r.stream_start) - r.stream_start
            b = min(end, r.stream_end) - r.stream_start
            yield raw[a:b]

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
                title = utf8(body, "damaged_entry", where, "the title")
            elif tag == 2:
                fc = Cursor(body, "damaged_entry", where)
                nl = fc.u16("metadata name_len")
                name = utf8(fc.take(nl, "metadata name"), "damaged_entry", where,
                            "a metadata name")
                value = utf8(body[fc.pos:], "damaged_entry", where, f"metadata {name!r}")
                meta.append((name, value))
        return title, meta

    def _entry(self, e):
        """Use of an entry (§11 "use" rows after the nodes): its content type, its ranges, a
        shared body pointing back — before any block is fetched; then each block it needs in
        stream order; last its lead."""
        where = e.where()
        err = lambda m: QuireError("damaged_entry", where, m)
        if e.ctype >= len(self.ctypes):
            raise err(f"content type {e.ctype}, CTYPES has {len(self.ctypes)}")
        p = e.page
        lead_span = self._span(p, e.lead_pos, e.lead_len, where, False)
        body_span = self._span(p, e.body_pos, e.body_len, where, e.shared)
        if e.shared and e.body_pos + e.body_len > e.lead_pos:
            raise err(f"a shared body at {e.body_pos}+{e.body_len} does not end before its own "
                      f"lead at {e.lead_pos} (§7.2)")
        keep_body = e.body_len <= 64 * 1024 * 1024
        need = {r.block: r for r in lead_span + body_span}
        raws = {}
        lead_blocks = {r.block for r in lead_span}
        body_blocks = {r.block for r in body_span}
        for r in sorted(need.values(), key=lambda r: r.stream_start):
            raw = self._block(r)
            if r.block in lead_blocks or (keep_body and r.block in body_blocks):
                raws[r.block] = raw

        def cut(span, pos, length):
            out = []
            for r in span:
                a = max(pos, r.stream_start) - r.stream_start
                b = min(pos + length, r.stream_end) - r.stream_start
                out.append(raws[r.block][a:b])
            return b"".join(out)

        lead = cut(lead_span, e.lead_pos, e.lead_len)
        title, meta = self._parse_lead(lead, where)
        body = cut(body_span, e.body_pos, e.body_len) if keep_body else None
        return Entry(self, e, title, meta, body)

    # -- walks (§6.4) ------------------------------------------------------------------------

    def _walk(self, start=None, collect=False, layout=None):
        """Yield the pages in key order from the first (or from the page a lookup of `start`
        reaches), making the walk checks: each node starts where the walk's previous node of
        its level ended; each page's first key is above the previous page's last key and at
        least the nearest separator on its path that is not a first child's.

        collect=False: errors are raised. collect=True (full verification): a node that cannot
        be used is yielded as its QuireError and skipped with everything under it; a node out
        of place is yielded (ends_walk set) and ends the walk. layout: a dict filled with
        level -> [first offset, end] of the nodes visited."""
        root = self.root
        if isinstance(root, Page):
            yield root
            return
        frames = []   # [branch, index of its child being visited]; at most index_depth
        next_at = {}  # level -> INDEX offset where the walk's next node of that level starts
        prev_last = None

        def placed(ch, level):
            if layout is not None:
                layout.setdefault(level, [ch.offset, 0])[1] = ch.offset + ch.len
            next_at[level] = ch.offset + ch.len

        node = root
        if start is not None:
            while True:
                i = bisect.bisect_right([c.sep for c in node.children], start) - 1
                frames.append([node, i])
                if node.level == 1:
                    break
                ch = node.children[i]
                child = self._load_child(node, ch)
                placed(ch, node.level - 1)  # the first node of a level is taken as it is
                node = child
        else:
            frames.append([root, 0])

        while frames:
            fr = frames[-1]
            br, i = fr
            if i >= len(br.children):
                frames.pop()
                if frames:
                    frames[-1][1] += 1
                continue
            ch = br.children[i]
            level = br.level - 1
            try:
                node = self._load_child(br, ch)
            except QuireError as e:
                if not collect:
                    raise
                yield e
                # lost with its subtree; its level goes on after it, the levels below restart
                next_at[level] = ch.offset + ch.len
                for lv in [lv for lv in next_at if lv < level]:
                    del next_at[lv]
                prev_last = None
                fr[1] += 1
                continue
            exp = next_at.get(level)
            if exp is not None and ch.offset != exp:
                e = QuireError("damaged_node", node.where,
                               f"starts at INDEX+{ch.offset}, but the walk's previous node of "
                               f"level {level} ended at INDEX+{exp}: a shared child, a cycle "
                               f"or a gap (§6.4)")
                e.ends_walk = True
                if not collect:
                    raise e
                yield e
                return
            placed(ch, level)
            if isinstance(node, Branch):
                frames.append([node, 0])
                continue
            sep = None
            for b, j in reversed(frames):
                if j > 0:
                    sep = b.children[j].sep
                    break
            if node.entries:
                fk = node.entries[0].key
                problem = None
                if prev_last is not None and fk <= prev_last:
                    problem = (f"first key {key_text(fk)!r} not above the previous page's last "
                               f"key {key_text(prev_last)!r}")
                elif sep is not None and prev_last is not None and sep <= prev_last:
                    problem = (f"separator {key_text(sep)!r} on its path not above the previous "
                               f"page's last key {key_text(prev_last)!r}")
                elif sep is not None and fk < sep:
                    problem = (f"first key {key_text(fk)!r} below the separator "
                               f"{key_text(sep)!r} on its path (§6.3)")
                if problem:
                    e = QuireError("damaged_node", node.where, problem)
                    e.ends_walk = True
                    if not collect:
                        raise e
                    yield e
                    return
                prev_last = node.entries[-1].key
            yield node
            fr[1] += 1

    def entries(self, start=None):
        """A walk: every entry in key order, or from the first key >= start."""
        if isinstance(start, str):
            start = start.encode("utf-8")
        for page in self._walk(start=start):
            for e in page.entries:
                if start is not None and e.key < start:
                    continue
                yield self._entry(e)

    def __iter__(self):
        return self.entries()

    def __len__(self):
        return self.entry_count

    # -- lookups (§6.3) ----------------------------------------------------------------------

    def _descend(self, key=None, number=None):
        """One descent from the root, carrying and checking the bounds [lo, hi)."""
        node = self.root
        lo = hi = None
        while isinstance(node, Branch):
            chs = node.children
            if len(chs) > 1:
                if lo is not None and not chs[1].sep > lo:
                    raise QuireError("damaged_node", node.where,
                                     f"separator {key_text(chs[1].sep)!r} not above the lower "
                                     f"bound {key_text(lo)!r} (§6.3)")
                if hi is not None and not chs[-1].sep < hi:
                    raise QuireError("damaged_node", node.where,
                                     f"separator {key_text(chs[-1].sep)!r} not below the upper "
                                     f"bound {key_text(hi)!r} (§6.3)")
            if key is not None:
                i = bisect.bisect_right([c.sep for c in chs], key) - 1
            else:
                i = bisect.bisect_right([c.first for c in chs], number) - 1
            if i > 0:
                lo = chs[i].sep
            if i + 1 < len(chs):
                hi = chs[i + 1].sep
            node = self._load_child(node, chs[i])
        if node.entries:
            if lo is not None and node.entries[0].key < lo:
                raise QuireError("damaged_node", node.where,
                                 f"first key {key_text(node.entries[0].key)!r} below the lower "
                                 f"bound {key_text(lo)!r} (§6.3)")
            if hi is not None and not node.entries[-1].key < hi:
                raise QuireError("damaged_node", node.where,
                                 f"last key {key_text(node.entries[-1].key)!r} not below the "
                                 f"upper bound {key_text(hi)!r} (§6.3)")
        return node, lo, hi

    def _find(self, key):
        """The RawEntry of key, or None (confirmed absent, §6.3)."""
        if isinstance(key, str):
            key = key.encode("utf-8")
        page, lo, hi = self._descend(key=key)
        keys = [e.key for e in page.entries]
        i = bisect.bisect_left(keys, key)
        if i < len(keys) and keys[i] == key:
            return page.entries[i]
        if keys and key > keys[-1] and hi is not None:
            # In the gap after the page: the page at hi must start at or above hi.
            self._descend(key=hi)
        elif keys and key < keys[0] and page.first > 0:
            # In the gap before the page: the previous page (reached by the number of the entry
            # before this page's first) must end below the separator that bounds it.
            self._descend(number=page.first - 1)
        return None

    def _find_number(self, number):
        if not 0 <= number < self.entry_count:
            raise IndexError(number)
        page, _, _ = self._descend(number=number)
        return page.entries[number - page.first]

    def get(self, key):
        e = self._find(key)
        return None if e is None else self._entry(e)

    def entry(self, number):
        return self._entry(self._find_number(number))

    # -- full verification (§11) -------------------------------------------------------------

    # -- the title index (§14) ----------------------------------------------------------------

    def has_titles(self):
        return any(s.id == SEC_TITLES for s in self.sections)

    def titles(self):
        """The title index, opened (header and root checked) on first use; a failure is
        raised again on every later use."""
        if getattr(self, "_titles", None) is None:
            try:
                self._titles = TitleIndex(self)
            except QuireError as e:
                self._titles = e
        if isinstance(self._titles, QuireError):
            raise self._titles
        return self._titles

    def suggest(self, q, limit=None):
        """§14.6: [(key, title or None, "title" | "word")]; [] without a title index."""
        if not self.has_titles():
            return []
        return self.titles().suggest(q, limit)

    # -- the full-text index (§15) -------------------------------------------------------------

    def has_search(self):
        return any(s.id == SEC_SEARCH for s in self.sections)

    def search_index(self):
        """The full-text index, opened (section, header and root checked) on first use; a
        failure is raised again on every later use."""
        if getattr(self, "_search", None) is None:
            try:
                self._search = SearchIndex(self)
            except QuireError as e:
                self._search = e
        if isinstance(self._search, QuireError):
            raise self._search
        return self._search

    def verify(self):
        """Full verification. Raises the first fault found."""
        faults = self.verify_all()
        if faults:
            raise faults[0]
        return True

    def verify_all(self):
        """Full verification: every check of §11, for every node, entry and block, by one walk
        of the whole index. Returns every fault found (QuireError), each once."""
        faults = []
        seen = set()
        entry_titles = {}   # key -> the entry's title (§7.3) or None, for entries that decode

        def fault(e):
            k = (e.kind, e.where, e.message)
            if k not in seen:
                seen.add(k)
                faults.append(e)

        dn = lambda where, m: QuireError("damaged_node", where, m)
        # The dictionary, whether or not a block uses it.
        if self.sec[SEC_DICT].length:
            try:
                self._dictionary()
            except QuireError as e:
                fault(e)

        lost = ended = False
        layout = {}
        LOST = object()
        prev_run = None       # the previous run's last record (None: no run yet)
        run_recs = {}         # block -> its record in a run
        foreign = []          # (page, foreign record)
        lead_at = 0           # where the next lead must be (None: unknown after a lost node)
        last_page = None
        unshared = set()      # (body_pos, body_len) of unshared non-empty bodies
        any_shared = False
        block_faults = {}     # block -> [error, keys of the entries stored in it]

        for x in self._walk(collect=True, layout=layout):
            if isinstance(x, QuireError):
                fault(x)
                lost = True
                ended = ended or x.ends_walk
                prev_run = LOST
                lead_at = None
                continue
            page = last_page = x
            # the runs (§6.2)
            if page.run:
                r0 = page.run[0]
                if prev_run is LOST:
                    pass
                elif prev_run is None:
                    if (r0.block, r0.offset, r0.stream_start) != (0, 0, 0):
                        fault(dn(page.where, f"the first run starts at block {r0.block}, DATA+"
                                             f"{r0.offset}, stream {r0.stream_start}, not 0, 0, 0"))
                elif r0.block == prev_run.block:
                    if r0.key() != prev_run.key():
                        fault(dn(page.where, f"its record of block {r0.block} differs from the "
                                             f"previous run's"))
                elif r0.block == prev_run.block + 1:
                    if (r0.offset != prev_run.offset + prev_run.stored_len
                            or r0.stream_start != prev_run.stream_end):
                        fault(dn(page.where, f"block {r0.block} at DATA+{r0.offset}, stream "
                                             f"{r0.stream_start}: not where block "
                                             f"{prev_run.block} ends"))
                else:
                    fault(dn(page.where, f"the run starts at block {r0.block} after a run "
                                         f"ending at block {prev_run.block}"))
                for r in page.run:
                    run_recs.setdefault(r.block, r)
                prev_run = page.run[-1]
            foreign.extend((page, r) for r in page.foreign)
            # every entry: use checks, the layout of the stream, the shared body rule
            for e in page.entries:
                bad = False
                try:
                    entry_titles[e.key] = self._entry(e).title
                except QuireError as err:
                    bad = True
                    if err.kind in BLOCK_KINDS and err.block is not None:
                        block_faults.setdefault(err.block, [err, []])[1].append(e.key)
                    else:
                        fault(err)
                if lead_at is not None and e.lead_pos != lead_at and not bad:
                    fault(QuireError("damaged_entry", e.where(),
                                     f"lead at stream {e.lead_pos}, the leads back to back are "
                                     f"at {lead_at} (§7.1 Layout)"))
                    bad = True
                lead_at = e.lead_pos + e.lead_len + (0 if e.shared else e.body_len)
                if e.shared:
                    any_shared = True
                    if not bad and not lost and (e.body_pos, e.body_len) not in unshared:
                        fault(QuireError("damaged_entry", e.where(),
                                         f"shared body at {e.body_pos}+{e.body_len} is not an "
                                         f"earlier unshared entry's body (§7.2)"))
                elif e.body_len:
                    unshared.add((e.body_pos, e.body_len))
            # every block of the run, even one no entry needed
            for r in page.run:
                if r.block not in self._touched:
                    try:
                        self._block(r)
                    except QuireError as err:
                        if err.kind in BLOCK_KINDS:
                            block_faults.setdefault(r.block, [err, []])
                        else:
                            fault(err)

        for b in sorted(block_faults):
            err, keys = block_faults[b]
            shown = ", ".join(key_text(k) for k in keys[:20])
            more = "" if len(keys) <= 20 else f", … ({len(keys)} in all)"
            e = QuireError(err.kind, err.where, f"{err.message}; entries stored in it: "
                                                f"{shown or 'none'}{more}")
            e.block = b
            fault(e)

        for page, r in foreign:
            rr = run_recs.get(r.block)
            if rr is not None and rr.key() != r.key():
                fault(dn(page.where, f"its foreign record of block {r.block} differs from the "
                                     f"run's"))
            elif rr is None and not lost and not ended:
                fault(dn(page.where, f"its foreign block {r.block} is in no run"))

        if not lost and not ended:
            # INDEX's layout (§6.4)
            idx_len = self.sec[SEC_INDEX].length
            if self.index_depth >= 1:
                at = 0
                for lv in range(self.index_depth):
                    first, end = layout.get(lv, (None, None))
                    if first != at:
                        fault(dn("index", f"level {lv} starts at INDEX+{first}, not {at}"))
                        break
                    at = end
                else:
                    if at != idx_len:
                        fault(dn("index", f"the last level ends at INDEX+{at}, INDEX is "
                                          f"{idx_len} bytes"))
            # the runs end where DATA and the stream end
            where = last_page.where if last_page is not None else "index"
            if self.block_count:
                data_len = self.sec[SEC_DATA].length
                if prev_run is None or prev_run is LOST:
                    fault(dn(where, "no page has a run, but there are blocks"))
                elif (prev_run.block != self.block_count - 1
                      or prev_run.offset + prev_run.stored_len != data_len
                      or prev_run.stream_end != self.stream_len):
                    fault(dn(where, f"the runs end at block {prev_run.block}, DATA+"
                                    f"{prev_run.offset + prev_run.stored_len}, stream "
                                    f"{prev_run.stream_end}; expected block "
                                    f"{self.block_count - 1}, {data_len}, {self.stream_len}"))
            # the leads end at stream_len
            if lead_at is not None and lead_at < self.stream_len:
                fault(dn(where, f"the leads and bodies end at {lead_at}, short of stream_len "
                                f"{self.stream_len}"))
            # SHARED_BODIES iff some entry has SHARED
            if bool(self.optional_flags & OF_SHARED_BODIES) != any_shared:
                fault(QuireError("damaged_prelude", "header",
                                 "the SHARED_BODIES flag "
                                 + ("set but no entry has SHARED" if not any_shared else
                                    "clear but some entry has SHARED")))

        # the title index whole, when there is one (§14)
        if self.has_titles():
            try:
                ti = self.titles()
            except QuireError as e:
                fault(e)
            else:
                try:
                    keys = [e.key for page in self._walk() for e in page.entries]
                except QuireError:
                    keys = None   # the index's own faults are reported above
                for e in ti.verify(keys, entry_titles):
                    fault(e)

        # the full-text index whole, when there is one (§15.10)
        self.search_notes = []
        if self.has_search():
            try:
                si = self.search_index()
            except QuireError as e:
                fault(e)
            else:
                info = None
                try:
                    info = [(e.key_bytes, e.title, e.content_type, e._raw.body_len)
                            for e in self.entries()]
                except QuireError:
                    info = None   # the archive's own faults are reported above
                fs, self.search_notes = si.verify(info)
                for e in fs:
                    fault(e)

        # every section's CRC, unknown sections included
        kinds = {SEC_DICT: "damaged_dictionary", SEC_INDEX: "damaged_node",
                 SEC_DATA: "damaged_block_stored", SEC_TITLES: "damaged_title_index",
                 SEC_SEARCH: "damaged_search_index"}
        for i, s in enumerate(self.sections):
            k = kinds.get(s.id, "damaged_prelude")
            crc = 0
            pos = s.offset
            while pos < s.end:
                n = min(1 << 20, s.end - pos)
                crc = zlib.crc32(self._read(pos, n, k, f"section record {i}"), crc)
                pos += n
            if (crc & 0xFFFFFFFF) != s.crc:
                fault(QuireError(k, f"section record {i} (id {s.id})",
                                 "section checksum mismatch"))
        return faults

# --------------------------------------------------------------------------------------------
# The title index (§14): section TITLES, id 4. Read for suggestions only; every error is
# damaged_title_index (§11, "use (suggestions)" and "full verification").

TI_HEAD_LEN = 32
TI_ROOT_MAX = 4 * 1024 * 1024      # §14.3: root_raw_len ≤ 4 MiB
TI_PREFIXES_MAX = 1 << 20          # §14.3: the root's prefixes at most 1 MiB together
TI_PAGE_KEYS_MAX = 1 << 20         # §14.4: a list page's keys at most 1 MiB decoded
TI_PAGE_MAX = 65536
TI_KEY_MAX = 4096
TI_TITLE_MAX = 4096
TI_PREFIX_MAX = 4096
TI_FOLD_MAX = 4096
TI_START, TI_HAS_TITLE = 1, 2
TI_LIST_CACHE, TI_TOPS_CACHE = 64, 16


def fold(s):
    """§14.1, in Python 3 "exactly" as the spec gives it. Python 3.11's unicodedata is
    Unicode 14.0 (the spec names 16.0); the vectors use only characters that fold alike."""
    import unicodedata
    s = unicodedata.normalize("NFKD", s).casefold()
    s = "".join(c for c in unicodedata.normalize("NFKD", s) if unicodedata.category(c) != "Mn")
    return unicodedata.normalize("NFC", s)


def cut_utf8(b, n):
    """The longest prefix of at most n bytes that is whole UTF-8 (b is UTF-8)."""
    if len(b) <= n:
        return b
    i = n
    while i > 0 and (b[i] & 0xC0) == 0x80:
        i -= 1
    return b[:i]


def folded_title(text):
    return cut_utf8(fold(text).encode("utf-8"), TI_FOLD_MAX)


def knows_all(text):
    """Whether this Python's unicodedata assigns every character of text (none is Cn), so
    that fold() gives what Unicode 16.0 gives for it (§14.1, for the characters it names)."""
    import unicodedata
    return all(unicodedata.category(c) != "Cn" for c in text)


def _is_word_char(c):
    import unicodedata
    return unicodedata.category(c)[0] in "LNM"


def _is_ideographic(c):
    o = ord(c)
    return (0x3040 <= o <= 0x30FF or 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF
            or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x3FFFF)


def word_starts(F):
    """§14.1: the byte offsets i > 0 of F (folded, bytes) that are word starts. Categories
    from Python's unicodedata (14.0 in 3.11)."""
    s = F.decode("utf-8")
    out = []
    off = 0
    prev = None
    for c in s:
        if off > 0 and _is_word_char(c) and (not _is_word_char(prev) or _is_ideographic(c)):
            out.append(off)
        off += len(c.encode("utf-8"))
        prev = c
    return out


class TiListRec:
    __slots__ = ("key", "start", "row", "pos", "folded_len", "entry_key", "title")


class TiListPage:
    __slots__ = ("index", "first_row", "records", "starts")


class TitleIndex:
    """The title index of an archive (§14). Opened on the first suggestion: the §11 checks of
    "use (suggestions)" in the table's order, then the root kept in memory."""

    def __init__(self, archive):
        self.a = archive
        self._lists = {}   # page index -> TiListPage (bounded, oldest dropped)
        self._tops = {}    # tops page index -> (rows, lists)
        self._open()

    def err(self, where, msg):
        return QuireError("damaged_title_index", where, msg)

    def _open(self):
        a = self.a
        secs = [s for s in a.sections if s.id == SEC_TITLES]
        # at most one TITLES section, at least 32 bytes
        if len(secs) > 1:
            raise self.err("TITLES", f"{len(secs)} TITLES sections: at most one (§14)")
        if not secs:
            raise self.err("TITLES", "the archive has no title index")  # not reached by callers
        sec = self.sec = secs[0]
        if sec.length < TI_HEAD_LEN:
            raise self.err("TITLES", f"a TITLES section of {sec.length} bytes, shorter than "
                                     f"its 32-byte header")
        head = a._read(sec.offset, TI_HEAD_LEN, "damaged_title_index", "TITLES header")
        # the header: head_crc, version, reserved, trunc, tops_n, the root's place, lengths, rows
        c = Cursor(head, "damaged_title_index", "TITLES header")
        head_crc = c.u32()
        version = c.u8()
        trunc = c.u8()
        tops_n = c.u8()
        reserved = c.u8()
        rows = c.u32()
        root_len = c.u32()
        root_raw_len = c.u32()
        root_crc = c.u32()
        root_offset = c.u64()
        seal = (head[4:32] + a.sec[SEC_INDEX].crc.to_bytes(4, "little")
                + a.sec[SEC_DATA].crc.to_bytes(4, "little"))
        if crc32(seal) != head_crc:
            raise self.err("TITLES header", "head_crc mismatch (a damaged header, or one "
                                            "of another archive)")
        if version != 1:
            raise self.err("TITLES header", f"version {version}, not 1")
        if reserved != 0:
            raise self.err("TITLES header", "non-zero reserved byte")
        if not 1 <= trunc <= 64:
            raise self.err("TITLES header", f"trunc {trunc} outside 1 ..= 64")
        if tops_n < 1:
            raise self.err("TITLES header", "tops_n 0")
        if root_offset < TI_HEAD_LEN or root_offset + root_len > sec.length:
            raise self.err("TITLES header", f"the root at {root_offset}+{root_len} is not "
                                            f"inside the section ({sec.length} bytes) after "
                                            f"the header")
        if not 1 <= root_len <= root_raw_len <= TI_ROOT_MAX:
            raise self.err("TITLES header", f"root_len {root_len}, root_raw_len "
                                            f"{root_raw_len}: not 1 ≤ root_len ≤ root_raw_len "
                                            f"≤ 4 MiB")
        if rows != a.entry_count:
            raise self.err("TITLES header", f"rows {rows}, entry_count {a.entry_count}")
        self.trunc, self.tops_n, self.rows = trunc, tops_n, rows
        # the root: CRC, frame, decompressed length, then it parses whole
        raw = self._stored(root_offset, root_len, root_raw_len, root_crc, "TITLES root")
        self._parse_root(raw, root_offset + root_len)

    def _stored(self, offset, stored_len, raw_len, crc, where):
        """§14.3 stored nodes: the CRC, then the frame, decompressed into at most raw_len
        bytes, exactly raw_len out."""
        a = self.a
        stored = a._read(self.sec.offset + offset, stored_len, "damaged_title_index", where)
        if crc32(stored) != crc:
            raise self.err(where, "checksum mismatch")
        if stored_len == raw_len:
            return stored
        check_frame(stored, raw_len, "damaged_title_index", where, "stored bytes")
        try:
            raw = a._plain.decompress(stored, max_output_size=raw_len)
        except zstandard.ZstdError as e:
            raise self.err(where, f"zstd: {e}") from None
        if len(raw) != raw_len:
            raise self.err(where, f"decompressed to {len(raw)} bytes, raw_len {raw_len}")
        return raw

    def _parse_root(self, raw, pages_at):
        w = "TITLES root"
        c = Cursor(raw, "damaged_title_index", w)
        kind = c.u8("kind")
        if kind != 2:
            raise self.err(w, f"kind {kind}, not 2")
        P = c.varint("P")
        T = c.varint("T")
        # each record takes at least 8 bytes (P) or 7 (T): bound the counts by the bytes left
        if P > c.left() or T > c.left():
            raise self.err(w, f"{P} list pages and {T} tops pages in {c.left()} bytes")
        pages = []   # (offset in section, stored_len, raw_len, crc, rows, sep, first_row)
        at = pages_at
        first_row = 0
        prev_sep = None
        for k in range(P):
            pw = f"TITLES root, list page record {k}"
            stored_len = c.varint("stored_len")
            raw_len = c.varint("raw_len")
            crc = c.u32("crc")
            rows = c.varint("rows")
            sep_len = c.varint("sep_len")
            sep = c.take(sep_len, "sep")
            if not 1 <= stored_len <= raw_len <= TI_PAGE_MAX:
                raise self.err(pw, f"stored_len {stored_len}, raw_len {raw_len}: not "
                                   f"1 ≤ stored_len ≤ raw_len ≤ 65536")
            if k == 0 and sep:
                raise self.err(pw, "page 0 with a non-empty separator")
            if k > 0 and not sep:
                raise self.err(pw, "an empty separator")
            if prev_sep is not None and sep < prev_sep:
                raise self.err(pw, "separators decrease")
            prev_sep = sep
            pages.append((at, stored_len, raw_len, crc, rows, sep, first_row))
            at += stored_len
            first_row += rows
        tops = []    # (offset, stored_len, raw_len, crc, lists, first_list)
        D = 0
        for t in range(T):
            tw = f"TITLES root, tops page record {t}"
            stored_len = c.varint("stored_len")
            raw_len = c.varint("raw_len")
            crc = c.u32("crc")
            lists = c.varint("lists")
            if not 1 <= stored_len <= raw_len <= TI_PAGE_MAX:
                raise self.err(tw, f"stored_len {stored_len}, raw_len {raw_len}: not "
                                   f"1 ≤ stored_len ≤ raw_len ≤ 65536")
            tops.append((at, stored_len, raw_len, crc, lists, D))
            at += stored_len
            D += lists
        if D > c.left():
            raise self.err(w, f"{D} prefixes in {c.left()} bytes")
        prefixes = []
        prev = b""
        total = 0
        for j in range(D):
            shared = c.varint("shared")
            suffix_len = c.varint("suffix_len")
            if shared > len(prev):
                raise self.err(w, f"prefix {j}: shared {shared} over the previous prefix's "
                                  f"{len(prev)} bytes")
            p = prev[:shared] + c.take(suffix_len, "prefix suffix")
            if len(p) > TI_PREFIX_MAX:
                raise self.err(w, f"prefix {j} of {len(p)} bytes, over 4096")
            total += len(p)
            if total > TI_PREFIXES_MAX:
                raise self.err(w, f"prefixes 0 ..= {j} take {total} bytes, over 1 MiB "
                                  f"(1,048,576) together")
            if j > 0 and not p > prev:
                raise self.err(w, f"prefix {j} not above prefix {j - 1}: not increasing")
            prefixes.append(p)
            prev = p
        if c.left():
            raise self.err(w, f"{c.left()} bytes after the prefixes")
        if first_row != self.rows:
            raise self.err(w, f"the list pages' rows add up to {first_row}, the header says "
                              f"{self.rows}")
        if at != self.sec.length:
            raise self.err(w, f"the pages end at {at}, the section at {self.sec.length}")
        self.pages, self.tops_pages, self.prefixes = pages, tops, prefixes
        self.prefix_no = {p: j for j, p in enumerate(prefixes)}

    # -- list pages (§14.4) ------------------------------------------------------------------

    def list_page(self, k):
        pg = self._lists.get(k)
        if pg is None:
            pg = self._parse_list_page(k)
            if len(self._lists) >= TI_LIST_CACHE:
                del self._lists[next(iter(self._lists))]
            self._lists[k] = pg
        return pg

    def _parse_list_page(self, k):
        at, stored_len, raw_len, crc, rows, sep, first_row = self.pages[k]
        w = f"TITLES list page {k}"
        raw = self._stored(at, stored_len, raw_len, crc, w)
        c = Cursor(raw, "damaged_title_index", w)
        kind = c.u8("kind")
        if kind != 0:
            raise self.err(w, f"kind {kind}, not 0")
        n = c.varint("n")
        if n < 1:
            raise self.err(w, "n = 0")
        if n > c.left():
            raise self.err(w, f"{n} records in {c.left()} bytes")
        keys = []
        prev = b""
        total = 0
        for i in range(n):
            shared = c.varint("shared")
            suffix_len = c.varint("suffix_len")
            if i == 0 and shared != 0:
                raise self.err(w, "the first key with shared ≠ 0")
            if shared > len(prev):
                raise self.err(w, f"record {i}: shared {shared} over the previous key's "
                                  f"{len(prev)} bytes")
            key = prev[:shared] + c.take(suffix_len, "suffix")
            if len(key) > TI_KEY_MAX:
                raise self.err(w, f"record {i}: a key of {len(key)} bytes, over 4096")
            total += len(key)
            if total > TI_PAGE_KEYS_MAX:
                raise self.err(w, f"keys 0 ..= {i} take {total} bytes decoded, over 1 MiB "
                                  f"(1,048,576)")
            keys.append(key)
            prev = key
        flags = c.take(n, "flags")
        recs = []
        starts = []
        for i in range(n):
            f = flags[i]
            if f & ~3:
                raise self.err(w, f"record {i}: flags {f:#x} with bits other than 0-1")
            if f & TI_HAS_TITLE and not f & TI_START:
                raise self.err(w, f"record {i}: HAS_TITLE without START")
            r = TiListRec()
            r.key = keys[i]
            r.start = bool(f & TI_START)
            r.title = None
            recs.append(r)
        for i, r in enumerate(recs):
            if not r.start:
                continue
            kl = c.varint("key_len")
            if not 1 <= kl <= KEY_MAX:
                raise self.err(w, f"record {i}: key_len {kl} outside 1 ..= 4096")
            r.entry_key = c.take(kl, "key")
            utf8(r.entry_key, "damaged_title_index", w, f"record {i}'s entry key")
            if flags[i] & TI_HAS_TITLE:
                tl = c.varint("title_len")
                if tl > TI_TITLE_MAX:
                    raise self.err(w, f"record {i}: title_len {tl} over 4096")
                r.title = utf8(c.take(tl, "title"), "damaged_title_index", w,
                               f"record {i}'s title")
            utf8(r.key, "damaged_title_index", w, f"record {i}'s key (a START record's)")
            r.row = first_row + len(starts)
            r.pos = 0
            r.folded_len = len(r.key)
            starts.append(r)
        others = [r for r in recs if not r.start]
        for r in others:
            r.row = c.varint("row")
            if r.row >= self.rows:
                raise self.err(w, f"a word start of row {r.row}, rows {self.rows}")
        for r in others:
            r.folded_len = c.varint("folded_len")
            if r.folded_len > TI_FOLD_MAX:
                raise self.err(w, f"folded_len {r.folded_len} over 4096")
        for r in others:
            r.pos = c.varint("pos")
            if not 1 <= r.pos < r.folded_len:
                raise self.err(w, f"pos {r.pos} outside 1 .. folded_len {r.folded_len}")
            # §14.4: the key is F[pos .. pos + k], min(trunc, folded_len − pos) ≤ k ≤
            # folded_len − pos (the writer's choice); cut when k < folded_len − pos
            if not min(self.trunc, r.folded_len - r.pos) <= len(r.key) <= r.folded_len - r.pos:
                raise self.err(w, f"a word start's key of {len(r.key)} bytes, expected "
                                  f"min(trunc, folded_len − pos) = "
                                  f"{min(self.trunc, r.folded_len - r.pos)} ..= folded_len − "
                                  f"pos = {r.folded_len - r.pos}")
            r.entry_key = None
        if c.left():
            raise self.err(w, f"{c.left()} bytes after the records")
        if len(starts) != rows:
            raise self.err(w, f"{len(starts)} title starts, the root says {rows}")
        for i in range(1, n):
            if not self.order(recs[i - 1]) < self.order(recs[i]):
                raise self.err(w, f"records {i - 1} and {i} not in the list order "
                                  f"(key, row, pos)")
        pg = TiListPage()
        pg.index, pg.first_row, pg.records, pg.starts = k, first_row, recs, starts
        return pg

    @staticmethod
    def order(r):
        return (r.key, r.row, r.pos)

    def row_record(self, row):
        """The title-start record of a row: its page by the pages' rows."""
        firsts = [p[6] for p in self.pages]
        k = bisect.bisect_right(firsts, row) - 1
        while k > 0 and self.pages[k][4] == 0:
            k -= 1
        # the page whose [first_row, first_row + rows) holds row
        for kk in range(max(k, 0), len(self.pages)):
            p = self.pages[kk]
            if p[6] <= row < p[6] + p[4]:
                return self.list_page(kk).starts[row - p[6]]
        raise self.err("TITLES root", f"no list page holds row {row}")

    # -- tops pages (§14.5) ------------------------------------------------------------------

    def tops_page(self, t):
        tp = self._tops.get(t)
        if tp is None:
            tp = self._parse_tops_page(t)
            if len(self._tops) >= TI_TOPS_CACHE:
                del self._tops[next(iter(self._tops))]
            self._tops[t] = tp
        return tp

    def _parse_tops_page(self, t):
        at, stored_len, raw_len, crc, lists, first_list = self.tops_pages[t]
        w = f"TITLES tops page {t}"
        raw = self._stored(at, stored_len, raw_len, crc, w)
        c = Cursor(raw, "damaged_title_index", w)
        kind = c.u8("kind")
        if kind != 1:
            raise self.err(w, f"kind {kind}, not 1")
        m = c.varint("m")
        if m > c.left():
            raise self.err(w, f"{m} rows in {c.left()} bytes")
        rows = []
        for i in range(m):
            kl = c.varint("key_len")
            if not 1 <= kl <= KEY_MAX:
                raise self.err(w, f"row {i}: key_len {kl} outside 1 ..= 4096")
            key = utf8(c.take(kl, "key"), "damaged_title_index", w, f"row {i}'s key")
            ht = c.u8("has_title")
            if ht not in (0, 1):
                raise self.err(w, f"row {i}: has_title {ht}")
            title = None
            if ht:
                tl = c.varint("title_len")
                if tl > TI_TITLE_MAX:
                    raise self.err(w, f"row {i}: title_len {tl} over 4096")
                title = utf8(c.take(tl, "title"), "damaged_title_index", w, f"row {i}'s title")
            rows.append((key, title))
        cnt = c.varint("c")
        if cnt != lists:
            raise self.err(w, f"{cnt} lists, the root says {lists}")
        out = []
        for j in range(cnt):
            k = c.varint("k")
            if not 1 <= k <= self.tops_n:
                raise self.err(w, f"list {j}: k = {k} outside 1 ..= tops_n {self.tops_n}")
            lst = []
            used = set()
            for _ in range(k):
                v = c.varint("2 · i + kind")
                i, kd = v >> 1, v & 1
                if i >= m:
                    raise self.err(w, f"list {j}: row {i} of {m}")
                if i in used:
                    raise self.err(w, f"list {j}: row {i} twice")
                used.add(i)
                lst.append((rows[i][0], rows[i][1], "word" if kd else "title"))
            out.append(lst)
        if c.left():
            raise self.err(w, f"{c.left()} bytes after the lists")
        return out

    def tops_list(self, j):
        for t, rec in enumerate(self.tops_pages):
            if rec[5] <= j < rec[5] + rec[4]:
                return self.tops_page(t)[j - rec[5]]
        raise self.err("TITLES root", f"no tops page holds list {j}")

    # -- §14.6: answering a query ------------------------------------------------------------

    def suggest(self, q, limit=None):
        Q = fold(q).encode("utf-8")
        if limit is not None and limit <= self.tops_n and Q in self.prefix_no:
            return list(self.tops_list(self.prefix_no[Q])[:limit])
        trunc = self.trunc
        probe = Q[:min(len(Q), trunc)]
        P = len(self.pages)
        if P == 0:
            return []
        lo = 0
        hi = 0
        for k, p in enumerate(self.pages):
            sep = p[5]
            if sep < probe:
                lo = k
            if sep.startswith(probe) or sep < probe:
                hi = k
        found = []
        for k in range(lo, hi + 1):
            for r in self.list_page(k).records:
                if r.start:
                    if r.key.startswith(Q):
                        found.append((0, r.folded_len, r.row, r, False))
                elif len(Q) <= len(r.key):
                    if r.key.startswith(Q):
                        found.append((1, r.folded_len, r.row, r, False))
                elif len(r.key) < r.folded_len - r.pos and Q.startswith(r.key):
                    # §14.6 step 4: Q longer than the key, the key cut (shorter than
                    # folded_len − pos), Q starting with it: a candidate, decided by the
                    # row's folded title in step 5
                    found.append((1, r.folded_len, r.row, r, True))
        found.sort(key=lambda x: x[:3])
        out = []
        shown = set()
        for kind, flen, row, r, cand in found:
            if limit is not None and len(out) >= limit:
                break
            if row in shown:
                continue
            if kind == 0:
                start = r
            else:
                start = self.row_record(row)
                F = start.key
                if len(F) != r.folded_len or not F[r.pos:].startswith(r.key):
                    raise self.err(f"TITLES list page of row {row}",
                                   f"a word start of row {row} (folded_len {r.folded_len}, "
                                   f"pos {r.pos}) disagrees with its row's folded title "
                                   f"({len(F)} bytes)")
                if cand and not F[r.pos:].startswith(Q):
                    continue
            shown.add(row)
            out.append((start.entry_key.decode("utf-8"), start.title,
                        "word" if kind else "title"))
        return out

    # -- full verification (§11) -------------------------------------------------------------

    def verify(self, archive_keys, entry_titles=None):
        """The title index whole: every page parses; list pages' first keys their separators
        and the records in order across pages; rows in (folded title, key) order, their keys
        the archive's; word starts agreeing with their rows and all listed; tops lists exact.
        Returns a list of faults (QuireError)."""
        faults = []
        all_recs = []
        prev_last = None
        for k in range(len(self.pages)):
            try:
                pg = self.list_page(k)
            except QuireError as e:
                faults.append(e)
                return faults  # later checks need every page
            w = f"TITLES list page {k}"
            if k > 0 and pg.records[0].key != self.pages[k][5]:
                faults.append(self.err(w, "its first key is not its separator"))
            if prev_last is not None and not self.order(prev_last) < self.order(pg.records[0]):
                faults.append(self.err(w, "its first record is not after the previous "
                                          "page's last"))
            prev_last = pg.records[-1]
            all_recs.extend(pg.records)
        starts = [r for r in all_recs if r.start]
        # rows in (folded title, key) order, their keys exactly the archive's keys
        for i in range(1, len(starts)):
            if not (starts[i - 1].key, starts[i - 1].entry_key) < (starts[i].key,
                                                                  starts[i].entry_key):
                faults.append(self.err("TITLES", f"rows {i - 1} and {i} not in (folded "
                                                 f"title, key) order"))
        if archive_keys is not None and sorted(r.entry_key for r in starts) != sorted(archive_keys):
            missing = sorted(set(archive_keys) - {r.entry_key for r in starts})
            extra = sorted({r.entry_key for r in starts} - set(archive_keys))
            faults.append(self.err("TITLES", f"the rows' keys are not the archive's keys "
                                             f"(not rows: {missing[:3]!r}, not entries: "
                                             f"{extra[:3]!r})"))
        # each row's title its entry's (cut to 4096 bytes), and its folded title that title's
        # fold (or its key's, without a title, §14.1)
        if entry_titles is not None:
            for s in starts:
                if s.entry_key not in entry_titles:
                    continue   # not an entry (reported above) or one that does not decode
                t = entry_titles[s.entry_key]
                want_title = (None if t is None else
                              cut_utf8(t.encode("utf-8"), TI_TITLE_MAX).decode("utf-8"))
                if s.title != want_title:
                    faults.append(self.err("TITLES", f"row {s.row} (key {s.entry_key!r}): its "
                                                     f"title {s.title!r} is not its entry's "
                                                     f"{want_title!r}"))
                    continue
                text = (want_title if t is not None else
                        cut_utf8(s.entry_key, TI_TITLE_MAX).decode("utf-8"))
                if not knows_all(text):
                    continue   # SPEC_ISSUES 5: this Python's Unicode cannot fold it as 16.0
                if s.key != folded_title(text):
                    faults.append(self.err("TITLES", f"row {s.row} (key {s.entry_key!r}): its "
                                                     f"folded title {s.key!r} is not the fold "
                                                     f"of {text!r}"))
        # word starts: folded_len and key agree with the row; every word start listed
        listed = {}
        twice = set()
        for r in all_recs:
            if r.start:
                continue
            F = starts[r.row].key
            # its folded_len the row's folded title's length, and its key F[pos .. pos + k]
            # (k within §14.4's bounds, checked when the page was parsed)
            if r.folded_len != len(F) or F[r.pos:r.pos + len(r.key)] != r.key:
                faults.append(self.err("TITLES", f"a word start of row {r.row} at {r.pos} "
                                                 f"disagrees with its row"))
            got = listed.setdefault(r.row, set())
            if r.pos in got:
                twice.add((r.row, r.pos))
            got.add(r.pos)
        # one word-start record per word start (§14.4): with keys of any length from trunc
        # on, two records of one (row, pos) can differ in key, so the list order does not
        # exclude them
        for row, pos in sorted(twice):
            faults.append(self.err("TITLES", f"row {row}: the word start at {pos} listed more "
                                             f"than once"))
        ws = []
        for s in starts:
            try:
                want = set(word_starts(s.key))
            except UnicodeDecodeError:
                want = set()
            ws.append(want)
            got = listed.get(s.row, set())
            if got != want:
                faults.append(self.err("TITLES", f"row {s.row}: word starts listed "
                                                 f"{sorted(got)}, its folded title has "
                                                 f"{sorted(want)}"))
        # each tops list exactly the first min(tops_n, m) suggestions of its prefix
        for j, p in enumerate(self.prefixes):
            try:
                got = self.tops_list(j)
            except QuireError as e:
                faults.append(e)
                continue
            want = []
            for s, w_ in zip(starts, ws):
                F = s.key
                if F.startswith(p):
                    kd = 0
                elif any(F[i:].startswith(p) for i in w_):
                    kd = 1
                else:
                    continue
                want.append((kd, len(F), F, s.entry_key,
                             (s.entry_key.decode("utf-8"), s.title, "word" if kd else "title")))
            want.sort(key=lambda x: x[:4])
            want = [x[4] for x in want[:self.tops_n]]
            if got != want:
                faults.append(self.err("TITLES", f"the tops list of prefix {p!r} is not the "
                                                 f"first min(tops_n, m) suggestions (§14.5)"))
        return faults


# --------------------------------------------------------------------------------------------
# The full-text index (§15): section SEARCH, id 5. Read for searches only; every error is
# damaged_search_index (§15.10), except unsupported_tokenizer and invalid_query.

SEC_SEARCH = 5
SE_HEAD_LEN = 64
SE_ROOT_MAX = 4 * 1024 * 1024      # §15.3: root_raw_len ≤ 4 MiB
SE_NODE_MAX = 65536                # term pages, norms chunks, document pages
SE_NORMS_CHUNK = 65536             # §15.7: documents per norms chunk
SE_BLOCK_MAX = 2048                # §15.6: a block is 1 ..= 2048 bytes
SE_BLOCK_POSTINGS = 128
SE_TERM_MAX = 64
SE_KEY_MAX = 4096
SE_TITLE_MAX = 4096
SE_PAGE_KEYS_MAX = 1 << 20         # §15.8: a document page's keys at most 1 MiB decoded
SE_QUERY_BYTES_MAX = 4096          # §15.2
SE_QUERY_TERMS_MAX = 64
SE_TF_MAX = U32_MAX
SE_TOKEN_SUM_LIMIT = 1 << 48
SE_CACHE = 64                      # term pages, norms chunks, document pages kept (§15.10)
SE_INLINE, SE_ONE_BLOCK, SE_HEADED = "inline", "block", "head"
SE_INDEXED, SE_HAS_TITLE = 1, 2
# The tokenizers this reader implements (§15.1): none. It reads postings and scores queries
# given as already-analysed terms and phrases; a text query is unsupported_tokenizer.
SE_TOKENIZERS = ()
# §15.1's family of tokenizer strings (quire-text/1): the stemmer of each language and its
# CJK mode. A string outside it is unsupported_tokenizer for any reader of this version; one
# inside it is what a reader of quire-text/1 implements (not this one: the vectors runner
# uses it to check, as such a reader would, before it takes the vector's analysed terms).
SE_STEMMERS = {
    "ara": "arabic", "arb": "arabic", "hye": "armenian", "eus": "basque", "cat": "catalan",
    "ces": "czech", "dan": "danish", "nld": "dutch", "eng": "english", "epo": "esperanto",
    "est": "estonian", "ekk": "estonian", "fin": "finnish", "fra": "french", "deu": "german",
    "ell": "greek", "hin": "hindi", "hun": "hungarian", "ind": "indonesian", "gle": "irish",
    "ita": "italian", "lit": "lithuanian", "nep": "nepali", "npi": "nepali",
    "nor": "norwegian", "nob": "norwegian", "nno": "norwegian", "fas": "persian",
    "pes": "persian", "pol": "polish", "por": "portuguese", "ron": "romanian",
    "rus": "russian", "srp": "serbian", "spa": "spanish", "swe": "swedish", "tam": "tamil",
    "tur": "turkish", "ukr": "ukrainian", "yid": "yiddish", "ydd": "yiddish",
}
SE_JIEBA = ("zho", "cmn", "yue")
SE_ELISION = ("fra", "ita", "cat")


def tokenizer_in_family(s):
    """Whether s is a tokenizer string of §15.1's quire-text/1 family, consistent with its
    language: `quire-text/1 lang=CODE stem=STEM cjk=MODE`, then ` elision=1` for fra, ita and
    cat. (Which 2-letter codes can appear is the writer's mapping; any 2 or 3 letters but
    und/mul/zxx/mis as a language are taken.)"""
    m = re.fullmatch(r"quire-text/1 lang=([a-z]{2,3}) stem=(none|snowball-[a-z]+) "
                     r"cjk=(bigram|jieba-f70)( elision=1)?", s)
    if not m:
        return False
    code, stem, cjk, elision = m.groups()
    if code in ("mul", "zxx", "mis"):
        return False
    want_stem = f"snowball-{SE_STEMMERS[code]}" if code in SE_STEMMERS else "none"
    want_cjk = "jieba-f70" if code in SE_JIEBA else "bigram"
    return (stem == want_stem and cjk == want_cjk
            and bool(elision) == (code in SE_ELISION))


def bm25_log2(x):
    """§15.2 L(x): a base-2 logarithm with 16 fraction bits, exactly as the spec's loop."""
    if not 1 <= x <= U64_MAX:
        raise ValueError(f"L({x}): x outside 1 ..= 2^64 − 1")
    n = x.bit_length() - 1
    y = x << (31 - n) if n <= 31 else x >> (n - 31)
    r = n * 65536
    for i in range(15, -1, -1):
        y = (y * y) >> 31
        if y >= 1 << 32:
            y >>= 1
            r += 1 << i
    return r


def norm_len(c):
    """§15.1: the length a norm code stands for."""
    return c if c < 16 else (16 + (c & 15)) << ((c >> 4) - 1)


_NORM_LENS = [norm_len(c) for c in range(256)]


def norm_code(dl):
    """§15.1: 0 when not indexed, else the largest c in 1 ..= 255 with len(c) ≤ dl."""
    if dl <= 0:
        return 0
    return bisect.bisect_right(_NORM_LENS, dl, 1) - 1


def bm25_idf(D, df):
    return bm25_log2(2 * D + 2) - bm25_log2(2 * df + 1)


def bm25_tfn(tf, length, D, T, k1, b):
    """§15.2 tfn, with length = len(c) of the document's norm code."""
    num = (1 << 16) * tf * (k1 + 1000) * 1000 * T
    den = 10 ** 6 * T * tf + k1 * ((1000 - b) * T + b * length * D)
    return num // den


def media_type(ctype):
    """§15.1: the content type up to the first ';', stripped, ASCII lower case; '' is
    text/plain."""
    mt = ctype.split(";", 1)[0].strip(" \t").encode("utf-8").lower().decode("utf-8")
    return mt or "text/plain"


_PLAIN_APP = ("json", "xml", "javascript", "ecmascript", "x-javascript", "yaml", "x-yaml",
              "toml", "sql", "x-sh", "x-tex", "x-latex", "x-ndjson", "jsonl", "rtf")


def text_kind(ctype):
    """§15.1 "Which entries have text": 'html', 'plain' or None (no text: never indexed)."""
    mt = media_type(ctype)
    if mt in ("text/html", "application/xhtml+xml"):
        return "html"
    if mt.startswith("text/"):
        return "plain"
    if mt.startswith("application/"):
        sub = mt[len("application/"):]
        if sub in _PLAIN_APP or sub.endswith("+json") or sub.endswith("+xml"):
            return "plain"
    return None


def title_field(title):
    """§15.1: the entry's title cut to 4096 bytes at a character boundary (as §14.1), or None
    when it has none (then an HTML entry's HTML title would stand for it: not computed here,
    see SPEC_ISSUES §15), None when that is empty."""
    if title is None:
        return None
    t = cut_utf8(title.encode("utf-8"), SE_TITLE_MAX).decode("utf-8")
    return t or None


# Every suffix that a step of Snowball's english.sbl (Porter2) looks for (Step_1a to Step_5,
# with 'ogist' of its later versions), and the last letters of its exception words.
_EN_SUFFIXES = (
    "'", "'s", "'s'", "sses", "ied", "ies", "s", "us", "ss", "eed", "eedly", "ed", "edly",
    "ing", "ingly", "y", "tional", "enci", "anci", "abli", "entli", "izer", "ization",
    "ational", "ation", "ator", "alism", "aliti", "alli", "fulness", "ousli", "ousness",
    "iveness", "iviti", "biliti", "bli", "ogi", "fulli", "lessli", "li", "ogist", "alize",
    "icate", "iciti", "ical", "ful", "ness", "ative", "al", "ance", "ence", "er", "ic", "able",
    "ible", "ant", "ement", "ment", "ent", "ism", "ate", "iti", "ous", "ive", "ize", "ion",
    "e", "l", "g", "d",
)


def english_stem_is_identity(w):
    """Whether english.sbl leaves the ASCII word w as it is, decided without running it: its
    prelude only touches an initial apostrophe and y's, its exceptions are whole words that
    end in a listed suffix, and each step changes a word only at the end, at a suffix of its
    lists; a word of ASCII letters without 'y' that ends in none of them goes through every
    step unchanged. (None: then the stemmer must be run, which this reader does not do.)"""
    return (w.isascii() and w.isalpha() and "y" not in w
            and not any(w.endswith(x) for x in _EN_SUFFIXES))


def simple_analysis(tokenizer, text):
    """§15.1/§15.2's analysis of a query text, for the one subset where it needs none of the
    libraries the spec names: a tokenizer string of the quire-text/1 family and a text of ASCII
    letters and digits in words separated by spaces (no quote, no other character). Each such
    word is one UAX #29 word (letters and digits do not break, WB8–WB10; a space always does);
    its term is the word in ASCII lower case (no elision: no apostrophe; not folded: ASCII),
    stemmed — the identity for stem=none, and for snowball-english on words of at most 2
    characters (english.sbl leaves a word shorter than 3 as it is), on numbers (each of its
    rules removes or changes a suffix of letters) and on words that end in none of its
    suffixes (english_stem_is_identity) — and dropped when over 64 bytes. Returns the
    distinct terms in order, or None when the text or the tokenizer is outside this subset
    (then only the full tokenizer can analyse it)."""
    if not tokenizer_in_family(tokenizer) or not re.fullmatch(r"[ A-Za-z0-9]*", text):
        return None
    stem = re.search(r"stem=(\S+)", tokenizer).group(1)
    terms = []
    for w in text.split():
        if len(w) > 256:
            continue
        t = w.lower()
        if stem == "snowball-english" and (len(t) <= 2 or t.isdigit()
                                           or english_stem_is_identity(t)):
            pass   # english.sbl: a word under 3 letters is left as it is; no rule ends in a digit
        elif stem != "none":
            return None
        if len(t) <= SE_TERM_MAX and t not in terms:
            terms.append(t)
    return terms


class SeTerm:
    __slots__ = ("term", "df", "kind", "postings", "offset", "blen", "head_len", "list_len",
                 "crc", "page", "where")


class SeHead:
    __slots__ = ("lasts", "blens", "max_tfs", "max_norms", "crcs", "offsets")


class SeRow:
    __slots__ = ("doc", "indexed", "key", "title")


class SearchIndex:
    """The full-text index of an archive (§15). Opened on the first search: §15.10's "search"
    checks on the section, the header and the root, in the table's order; term pages, lists,
    blocks, norms chunks and document pages each checked whole when first read."""

    def __init__(self, archive):
        self.a = archive
        self._term_pages = {}
        self._norms = {}
        self._doc_pages = {}
        self._heads = {}
        self._open()

    def err(self, where, msg):
        return QuireError("damaged_search_index", where, msg)

    # -- the section, the header and the root (§15.3, §15.4) ---------------------------------

    def _open(self):
        a = self.a
        secs = [s for s in a.sections if s.id == SEC_SEARCH]
        if len(secs) > 1:
            raise self.err("SEARCH", f"{len(secs)} SEARCH sections: at most one (§15)")
        if not secs:
            raise self.err("SEARCH", "the archive has no full-text index")  # not reached
        sec = self.sec = secs[0]
        if sec.length < SE_HEAD_LEN:
            raise self.err("SEARCH", f"a SEARCH section of {sec.length} bytes, shorter than "
                                     f"its 64-byte header")
        w = "SEARCH header"
        head = a._read(sec.offset, SE_HEAD_LEN, "damaged_search_index", w)
        c = Cursor(head, "damaged_search_index", w)
        head_crc = c.u32()
        version = c.u8()
        W = c.u8()
        k1 = c.u16()
        b = c.u16()
        reserved1 = c.take(2)
        entries = c.u32()
        D = c.u32()
        term_count = c.u32()
        T = c.u64()
        posting_count = c.u64()
        root_len = c.u32()
        root_raw_len = c.u32()
        root_crc = c.u32()
        reserved2 = c.take(12)
        seal = (head[4:64] + a.sec[SEC_INDEX].crc.to_bytes(4, "little")
                + a.sec[SEC_DATA].crc.to_bytes(4, "little"))
        if crc32(seal) != head_crc:
            raise self.err(w, "head_crc mismatch (a damaged header, or one of another "
                              "archive)")
        if version != 1:
            raise self.err(w, f"version {version}, not 1")
        if any(reserved1) or any(reserved2):
            raise self.err(w, "non-zero reserved bytes")
        if not 1 <= W <= 16:
            raise self.err(w, f"title_weight {W} outside 1 ..= 16")
        if not 1 <= k1 <= 10000:
            raise self.err(w, f"k1 {k1} outside 1 ..= 10000")
        if b > 1000:
            raise self.err(w, f"b {b} over 1000")
        if D > entries:
            raise self.err(w, f"doc_count {D} over entries {entries}")
        if not D <= T < SE_TOKEN_SUM_LIMIT:
            raise self.err(w, f"token_sum {T}: not doc_count ({D}) ≤ token_sum < 2^48")
        zeros = [D == 0, T == 0, term_count == 0, posting_count == 0]
        if any(zeros) and not all(zeros):
            raise self.err(w, f"doc_count {D}, token_sum {T}, term_count {term_count}, "
                              f"posting_count {posting_count}: not all 0 or all non-zero")
        if not term_count <= posting_count <= term_count * D:
            raise self.err(w, f"posting_count {posting_count}: not term_count ({term_count}) "
                              f"≤ posting_count ≤ term_count · doc_count ({term_count * D})")
        if not 1 <= root_len <= root_raw_len <= SE_ROOT_MAX:
            raise self.err(w, f"root_len {root_len}, root_raw_len {root_raw_len}: not 1 ≤ "
                              f"root_len ≤ root_raw_len ≤ 4 MiB")
        if SE_HEAD_LEN + root_len > sec.length:
            raise self.err(w, f"the root (64 + {root_len}) runs past the section's "
                              f"{sec.length} bytes")
        if entries != a.entry_count:
            raise self.err(w, f"entries {entries}, entry_count {a.entry_count}")
        self.W, self.k1, self.b = W, k1, b
        self.entries, self.D, self.T = entries, D, T
        self.term_count, self.posting_count = term_count, posting_count
        raw = self._stored(SE_HEAD_LEN, root_len, root_raw_len, root_crc, "SEARCH root")
        self._parse_root(raw, SE_HEAD_LEN + root_len)

    def _stored(self, offset, stored_len, raw_len, crc, where):
        """§15.3 stored nodes (as §14.3): the CRC, then the frame, decompressed into at most
        raw_len bytes, exactly raw_len out."""
        a = self.a
        stored = a._read(self.sec.offset + offset, stored_len, "damaged_search_index", where)
        if crc32(stored) != crc:
            raise self.err(where, "checksum mismatch")
        if stored_len == raw_len:
            return stored
        check_frame(stored, raw_len, "damaged_search_index", where, "stored bytes")
        try:
            raw = a._plain.decompress(stored, max_output_size=raw_len)
        except zstandard.ZstdError as e:
            raise self.err(where, f"zstd: {e}") from None
        if len(raw) != raw_len:
            raise self.err(where, f"decompressed to {len(raw)} bytes, raw_len {raw_len}")
        return raw

    def _term_bytes(self, c, prev, first, what):
        """A front-coded term (§15.4, §15.5): shared ≤ the previous term's length (0 for the
        first), 1 ..= 64 bytes of UTF-8."""
        shared = c.varint(f"{what} shared")
        suffix_len = c.varint(f"{what} suffix_len")
        if first and shared != 0:
            c.fail(f"{what}: shared {shared} in the first record, not 0")
        if shared > len(prev):
            c.fail(f"{what}: shared {shared} over the previous term's {len(prev)} bytes")
        if shared + suffix_len > SE_TERM_MAX:
            c.fail(f"{what}: {shared + suffix_len} bytes, over 64")
        t = prev[:shared] + c.take(suffix_len, f"{what} suffix")
        if not t:
            c.fail(f"{what}: an empty term")
        utf8(t, "damaged_search_index", c.where, what)
        return t

    def _parse_root(self, raw, at):
        w = "SEARCH root"
        c = Cursor(raw, "damaged_search_index", w)
        kind = c.u8("kind")
        if kind != 16:
            raise self.err(w, f"kind {kind}, not 16")
        tl = c.varint("tokenizer len")
        if not 1 <= tl <= 255:
            raise self.err(w, f"tokenizer string of {tl} bytes, not 1 ..= 255")
        tok = c.take(tl, "tokenizer")
        if any(not 0x20 <= x <= 0x7E for x in tok):
            raise self.err(w, "the tokenizer string has a byte outside 0x20 ..= 0x7E")
        self.tokenizer = tok.decode("ascii")
        TP = c.varint("TP")
        if (TP == 0) != (self.term_count == 0):
            raise self.err(w, f"TP {TP} with term_count {self.term_count}: TP = 0 iff "
                              f"term_count = 0")
        DP = c.varint("DP")
        if (DP == 0) != (self.entries == 0):
            raise self.err(w, f"DP {DP} with entries {self.entries}: DP = 0 iff entries = 0")
        NC = c.varint("NC")
        want_nc = -(-self.entries // SE_NORMS_CHUNK)
        if NC != want_nc:
            raise self.err(w, f"NC {NC}, not ceil(entries / 65536) = {want_nc}")
        # every record takes at least 8 bytes (TP, DP) or 5 (NC): bound the counts first
        if TP > c.left() or DP > c.left() or NC > c.left():
            raise self.err(w, f"{TP} term pages, {DP} document pages and {NC} norms chunks "
                              f"in {c.left()} bytes")
        tpages = []   # (stored_len, raw_len, crc, terms, post_len, first term)
        prev = b""
        for k in range(TP):
            rw = f"SEARCH root, term page record {k}"
            c.where = rw
            stored_len = c.varint("stored_len")
            raw_len = c.varint("raw_len")
            crc = c.u32("crc")
            terms = c.varint("terms")
            post_len = c.varint("post_len")
            if not 1 <= stored_len <= raw_len <= SE_NODE_MAX:
                raise self.err(rw, f"stored_len {stored_len}, raw_len {raw_len}: not 1 ≤ "
                                   f"stored_len ≤ raw_len ≤ 65536")
            if terms < 1:
                raise self.err(rw, "terms 0")
            t = self._term_bytes(c, prev, k == 0, "first term")
            if k > 0 and not t > prev:
                raise self.err(rw, "first terms not strictly increasing")
            tpages.append((stored_len, raw_len, crc, terms, post_len, t))
            prev = t
        dpages = []   # (stored_len, raw_len, crc, rows)
        for k in range(DP):
            rw = f"SEARCH root, document page record {k}"
            c.where = rw
            stored_len = c.varint("stored_len")
            raw_len = c.varint("raw_len")
            crc = c.u32("crc")
            rows = c.varint("rows")
            if not 1 <= stored_len <= raw_len <= SE_NODE_MAX:
                raise self.err(rw, f"stored_len {stored_len}, raw_len {raw_len}: not 1 ≤ "
                                   f"stored_len ≤ raw_len ≤ 65536")
            if rows < 1:
                raise self.err(rw, "rows 0")
            dpages.append((stored_len, raw_len, crc, rows))
        chunks = []   # (stored_len, raw_len, crc)
        for i in range(NC):
            rw = f"SEARCH root, norms chunk record {i}"
            c.where = rw
            stored_len = c.varint("stored_len")
            crc = c.u32("crc")
            raw_len = (SE_NORMS_CHUNK if i < NC - 1
                       else self.entries - SE_NORMS_CHUNK * (NC - 1))
            if not 1 <= stored_len <= raw_len:
                raise self.err(rw, f"stored_len {stored_len}: not 1 ≤ stored_len ≤ its implied "
                                   f"raw_len {raw_len}")
            chunks.append((stored_len, raw_len, crc))
        c.where = w
        if c.left():
            raise self.err(w, f"{c.left()} bytes after the records")
        nt = sum(p[3] for p in tpages)
        if nt != self.term_count:
            raise self.err(w, f"the term pages' terms add up to {nt}, term_count is "
                              f"{self.term_count}")
        nr = sum(p[3] for p in dpages)
        if nr != self.entries:
            raise self.err(w, f"the document pages' rows add up to {nr}, entries is "
                              f"{self.entries}")
        # where things lie (§15.4): term pages, POSTINGS, norms chunks, document pages
        # (offset, stored_len, raw_len, crc, terms, post_start, post_len, first term)
        self.term_pages = []
        post = 0
        for stored_len, raw_len, crc, terms, post_len, first in tpages:
            self.term_pages.append((at, stored_len, raw_len, crc, terms, post, post_len, first))
            at += stored_len
            post += post_len
        self.postings_at, self.postings_len = at, post
        at += post
        self.chunks = []       # (offset, stored_len, raw_len, crc)
        for stored_len, raw_len, crc in chunks:
            self.chunks.append((at, stored_len, raw_len, crc))
            at += stored_len
        self.doc_pages = []    # (offset, stored_len, raw_len, crc, rows, first_row)
        row = 0
        for stored_len, raw_len, crc, rows in dpages:
            self.doc_pages.append((at, stored_len, raw_len, crc, rows, row))
            at += stored_len
            row += rows
        if at != self.sec.length:
            raise self.err(w, f"the parts end at {at}, the section is {self.sec.length} bytes")
        self.first_terms = [p[7] for p in self.term_pages]
        self.first_rows = [p[5] for p in self.doc_pages]

    # -- term pages (§15.5) ------------------------------------------------------------------

    def term_page(self, k):
        pg = self._term_pages.get(k)
        if pg is None:
            pg = self._parse_term_page(k)
            if len(self._term_pages) >= SE_CACHE:
                del self._term_pages[next(iter(self._term_pages))]
            self._term_pages[k] = pg
        return pg

    def _parse_term_page(self, k):
        at, stored_len, raw_len, crc, n_terms, post_start, post_len, first = self.term_pages[k]
        w = f"SEARCH term page {k}"
        raw = self._stored(at, stored_len, raw_len, crc, w)
        c = Cursor(raw, "damaged_search_index", w)
        kind = c.u8("kind")
        if kind != 17:
            raise self.err(w, f"kind {kind}, not 17")
        n = c.varint("n")
        if n != n_terms:
            raise self.err(w, f"n {n}, the root says {n_terms} terms")
        if n > c.left():
            raise self.err(w, f"{n} term records in {c.left()} bytes")
        nxt = self.first_terms[k + 1] if k + 1 < len(self.first_terms) else None
        out = []
        prev = b""
        pos = 0   # within the page's part of POSTINGS
        for i in range(n):
            c.where = f"{w}, term record {i}"
            t = self._term_bytes(c, prev, i == 0, "term")
            if i == 0 and t != first:
                c.fail(f"first term {key_text(t)!r}, the root says {key_text(first)!r}")
            if i > 0 and not t > prev:
                c.fail(f"term {key_text(t)!r} not above {key_text(prev)!r}")
            if nxt is not None and not t < nxt:
                c.fail(f"term {key_text(t)!r} not below the next page's first term "
                       f"{key_text(nxt)!r}")
            x = c.varint("x")
            df, inline = x >> 1, x & 1
            if not 1 <= df <= self.D:
                c.fail(f"df {df} outside 1 ..= doc_count ({self.D})")
            st = SeTerm()
            st.term, st.df, st.page, st.where = t, df, k, f"{w}, term {key_text(t)!r}"
            if inline:
                if df > SE_BLOCK_POSTINGS:
                    c.fail(f"INLINE with df {df} over 128")
                st.kind = SE_INLINE
                st.postings = self._decode_postings(c, df, -1, "inline postings")
            elif df <= SE_BLOCK_POSTINGS:
                blen = c.varint("blen")
                crc_b = c.u32("crc")
                if not 1 <= blen <= SE_BLOCK_MAX:
                    c.fail(f"blen {blen} outside 1 ..= 2048")
                st.kind, st.blen, st.crc = SE_ONE_BLOCK, blen, crc_b
                st.offset = post_start + pos
                pos += blen
            else:
                head_len = c.varint("head_len")
                list_len = c.varint("list_len")
                crc_h = c.u32("crc")
                m = -(-df // SE_BLOCK_POSTINGS)
                if head_len < 8 * m:
                    c.fail(f"head_len {head_len} under 8 · ceil(df / 128) = {8 * m}")
                if list_len < head_len + df:
                    c.fail(f"list_len {list_len} under head_len + df = {head_len + df}")
                st.kind, st.head_len, st.list_len, st.crc = SE_HEADED, head_len, list_len, crc_h
                st.offset = post_start + pos
                pos += list_len
            out.append(st)
            prev = t
        c.where = w
        if c.left():
            raise self.err(w, f"{c.left()} bytes after the term records")
        if pos != post_len:
            raise self.err(w, f"the page's lists take {pos} bytes, its post_len is {post_len}")
        return out

    def _decode_postings(self, c, n, base, what):
        """n postings of a block (§15.6) from the cursor, base B: [(doc, tf)]."""
        out = []
        doc = base
        for j in range(n):
            p = c.varint(f"{what}: posting {j}")
            gap = p >> 1
            if p & 1:
                tf = 1
            else:
                tf = c.varint(f"{what}: posting {j} tf") + 2
            doc = doc + gap + 1
            if doc >= self.entries:
                c.fail(f"{what}: posting {j}: document {doc} not below entries "
                       f"({self.entries})")
            if tf > SE_TF_MAX:
                c.fail(f"{what}: posting {j}: tf {tf} over 2^32 − 1")
            out.append((doc, tf))
        return out

    def find_term(self, term):
        """§15.5: the term's SeTerm, or None when the dictionary does not hold it."""
        if isinstance(term, str):
            term = term.encode("utf-8")
        k = bisect.bisect_right(self.first_terms, term) - 1
        if k < 0:
            return None
        recs = self.term_page(k)
        i = bisect.bisect_left([r.term for r in recs], term)
        if i < len(recs) and recs[i].term == term:
            return recs[i]
        return None

    # -- postings lists (§15.6) --------------------------------------------------------------

    def _postings_bytes(self, offset, length, where):
        """POSTINGS bytes: offset is from POSTINGS' start (the root has checked that every
        page's lists lie in POSTINGS, and a page that its lists fill its post_len)."""
        return self.a._read(self.sec.offset + self.postings_at + offset, length,
                            "damaged_search_index", where)

    def head(self, st):
        h = self._heads.get((st.page, st.term))
        if h is not None:
            return h
        w = f"{st.where}, head"
        buf = self._postings_bytes(st.offset, st.head_len, w)
        if crc32(buf) != st.crc:
            raise self.err(w, "checksum mismatch")
        c = Cursor(buf, "damaged_search_index", w)
        m = -(-st.df // SE_BLOCK_POSTINGS)
        h = SeHead()
        h.lasts, h.blens, h.max_tfs, h.max_norms, h.crcs, h.offsets = [], [], [], [], [], []
        last = -1
        at = st.offset + st.head_len
        for i in range(m):
            ld = c.varint(f"block {i} last_delta")
            if ld < 1:
                c.fail(f"block {i}: last_delta 0")
            last += ld
            if last >= self.entries:
                c.fail(f"block {i}: last document {last} not below entries ({self.entries})")
            blen = c.varint(f"block {i} blen")
            if not 1 <= blen <= SE_BLOCK_MAX:
                c.fail(f"block {i}: blen {blen} outside 1 ..= 2048")
            max_tf = c.varint(f"block {i} max_tf")
            if not 1 <= max_tf <= SE_TF_MAX:
                c.fail(f"block {i}: max_tf {max_tf} outside 1 ..= 2^32 − 1")
            max_norm = c.u8(f"block {i} max_norm")
            if max_norm < 1:
                c.fail(f"block {i}: max_norm 0")
            bcrc = c.u32(f"block {i} crc")
            h.lasts.append(last)
            h.blens.append(blen)
            h.max_tfs.append(max_tf)
            h.max_norms.append(max_norm)
            h.crcs.append(bcrc)
            h.offsets.append(at)
            at += blen
        if c.left():
            c.fail(f"{c.left()} bytes after the head's {m} entries")
        if sum(h.blens) != st.list_len - st.head_len:
            c.fail(f"the blocks' blen add up to {sum(h.blens)}, list_len − head_len is "
                   f"{st.list_len - st.head_len}")
        if len(self._heads) >= SE_CACHE:
            del self._heads[next(iter(self._heads))]
        self._heads[(st.page, st.term)] = h
        return h

    def block(self, st, i):
        """Block i of a list (0 for a one-block list): its postings, checked (§15.10)."""
        if st.kind == SE_ONE_BLOCK:
            w = f"{st.where}, block"
            buf = self._postings_bytes(st.offset, st.blen, w)
            if crc32(buf) != st.crc:
                raise self.err(w, "checksum mismatch")
            c = Cursor(buf, "damaged_search_index", w)
            out = self._decode_postings(c, st.df, -1, "block")
            if c.left():
                c.fail(f"{c.left()} bytes after the block's {st.df} postings")
            return out
        h = self.head(st)
        w = f"{st.where}, block {i}"
        buf = self._postings_bytes(h.offsets[i], h.blens[i], w)
        if crc32(buf) != h.crcs[i]:
            raise self.err(w, "checksum mismatch")
        m = len(h.lasts)
        n = SE_BLOCK_POSTINGS if i < m - 1 else st.df - SE_BLOCK_POSTINGS * (m - 1)
        base = h.lasts[i - 1] if i > 0 else -1
        c = Cursor(buf, "damaged_search_index", w)
        out = self._decode_postings(c, n, base, "block")
        if c.left():
            c.fail(f"{c.left()} bytes after the block's {n} postings")
        if out[-1][0] != h.lasts[i]:
            c.fail(f"last document {out[-1][0]}, the head says {h.lasts[i]}")
        return out

    def postings(self, st):
        """Every posting of the term's list, [(doc, tf)], with, for a list with a head, the
        block each came from: [(doc, tf, block or None)]."""
        if st.kind == SE_INLINE:
            return [(d, tf, None) for d, tf in st.postings]
        if st.kind == SE_ONE_BLOCK:
            return [(d, tf, None) for d, tf in self.block(st, 0)]
        h = self.head(st)
        out = []
        for i in range(len(h.lasts)):
            out.extend((d, tf, i) for d, tf in self.block(st, i))
        return out

    # -- norms (§15.7) -----------------------------------------------------------------------

    def norms_chunk(self, i):
        ch = self._norms.get(i)
        if ch is None:
            at, stored_len, raw_len, crc = self.chunks[i]
            ch = self._stored(at, stored_len, raw_len, crc, f"SEARCH norms chunk {i}")
            if len(self._norms) >= SE_CACHE:
                del self._norms[next(iter(self._norms))]
            self._norms[i] = ch
        return ch

    def norm(self, doc):
        return self.norms_chunk(doc // SE_NORMS_CHUNK)[doc % SE_NORMS_CHUNK]

    # -- document pages (§15.8) --------------------------------------------------------------

    def doc_page(self, k):
        pg = self._doc_pages.get(k)
        if pg is None:
            pg = self._parse_doc_page(k)
            if len(self._doc_pages) >= SE_CACHE:
                del self._doc_pages[next(iter(self._doc_pages))]
            self._doc_pages[k] = pg
        return pg

    def _parse_doc_page(self, k):
        at, stored_len, raw_len, crc, n_rows, first_row = self.doc_pages[k]
        w = f"SEARCH document page {k}"
        raw = self._stored(at, stored_len, raw_len, crc, w)
        c = Cursor(raw, "damaged_search_index", w)
        kind = c.u8("kind")
        if kind != 18:
            raise self.err(w, f"kind {kind}, not 18")
        n = c.varint("n")
        if n != n_rows:
            raise self.err(w, f"n {n}, the root says {n_rows} rows")
        if n > c.left():
            raise self.err(w, f"{n} rows in {c.left()} bytes")
        rows = []
        prev = None
        total = 0
        for i in range(n):
            d = first_row + i
            c.where = f"{w}, row {d}"
            flags = c.u8("flags")
            if flags & ~(SE_INDEXED | SE_HAS_TITLE):
                c.fail(f"flags {flags:#04x}: bits other than INDEXED and HAS_TITLE")
            if flags & SE_HAS_TITLE and not flags & SE_INDEXED:
                c.fail("HAS_TITLE without INDEXED")
            r = SeRow()
            r.doc, r.indexed, r.key, r.title = d, bool(flags & SE_INDEXED), None, None
            if r.indexed:
                shared = c.varint("shared")
                suffix_len = c.varint("suffix_len")
                if prev is None and shared != 0:
                    c.fail(f"shared {shared} in the page's first INDEXED row, not 0")
                if prev is not None and shared > len(prev):
                    c.fail(f"shared {shared} over the previous key's {len(prev)} bytes")
                if shared + suffix_len > SE_KEY_MAX:
                    c.fail(f"a key of {shared + suffix_len} bytes, over 4096")
                key = (prev[:shared] if prev else b"") + c.take(suffix_len, "key suffix")
                if not key:
                    c.fail("an empty key")
                utf8(key, "damaged_search_index", c.where, "the key")
                if prev is not None and not key > prev:
                    c.fail(f"key {key_text(key)!r} not above {key_text(prev)!r}")
                total += len(key)
                if total > SE_PAGE_KEYS_MAX:
                    c.fail(f"the page's keys take {total} bytes, over 1 MiB (1,048,576) "
                           f"together")
                r.key = prev = key
                if flags & SE_HAS_TITLE:
                    tl = c.varint("title_len")
                    if tl > SE_TITLE_MAX:
                        c.fail(f"title_len {tl} over 4096")
                    r.title = utf8(c.take(tl, "title"), "damaged_search_index", c.where,
                                   "the title")
            rows.append(r)
        c.where = w
        if c.left():
            raise self.err(w, f"{c.left()} bytes after the rows")
        return rows

    def row(self, doc):
        k = bisect.bisect_right(self.first_rows, doc) - 1
        return self.doc_page(k)[doc - self.doc_pages[k][5]]

    # -- queries (§15.2, §15.9) --------------------------------------------------------------

    def check_text_query(self, text):
        """§15.10 "search (text queries)": the query's size, then the tokenizer. This reader
        implements no tokenizer, so every text query within the limits is
        unsupported_tokenizer (term lookups and analysed queries still work)."""
        n = len(text.encode("utf-8"))
        if n > SE_QUERY_BYTES_MAX:
            raise QuireError("invalid_query", "query", f"a query of {n} bytes, over 4096")
        if not tokenizer_in_family(self.tokenizer):
            raise QuireError("unsupported_tokenizer", "SEARCH root",
                             f"tokenizer {self.tokenizer!r} is not one of §15.1's "
                             f"quire-text/1 strings")
        if self.tokenizer not in SE_TOKENIZERS:
            raise QuireError("unsupported_tokenizer", "SEARCH root",
                             f"tokenizer {self.tokenizer!r} (§15.1) is not one this reader "
                             f"implements: it has no text analysis (query by analysed terms)")

    def score_parts(self, tf, code):
        return bm25_tfn(tf, norm_len(code), self.D, self.T, self.k1, self.b)

    def candidates(self, terms):
        """§15.2 conjunctive matches of the distinct `terms` (bytes or str), scored and in
        result order: [(score, doc)], with every check of §15.10 that scoring makes (a
        scored posting's norm code not 0, no posting above its block's bound)."""
        terms = [t.encode("utf-8") if isinstance(t, str) else t for t in terms]
        terms = list(dict.fromkeys(terms))
        if len(terms) > SE_QUERY_TERMS_MAX:
            raise QuireError("invalid_query", "query", f"{len(terms)} terms, over 64")
        if not terms:
            return []
        found = [self.find_term(t) for t in terms]   # every term looked up (§15.9 step 3)
        if any(st is None for st in found):
            return []
        for st in found:                              # heads first (§15.9 step 4)
            if st.kind == SE_HEADED:
                self.head(st)
        found.sort(key=lambda st: st.df)              # rarest first
        lists = [self.postings(st) for st in found]
        maps = [{d: (tf, blk) for d, tf, blk in li} for li in lists[1:]]
        out = []
        for d, tf0, blk0 in lists[0]:
            hit = [(tf0, blk0)]
            for mp in maps:
                x = mp.get(d)
                if x is None:
                    break
                hit.append(x)
            else:
                code = self.norm(d)
                if code == 0:
                    raise self.err(f"SEARCH norms chunk {d // SE_NORMS_CHUNK}",
                                   f"document {d} has postings but norm code 0")
                score = 0
                for st, (tf, blk) in zip(found, hit):
                    tfn = self.score_parts(tf, code)
                    if blk is not None:
                        h = self.head(st)
                        bound = self.score_parts(h.max_tfs[blk], h.max_norms[blk])
                        if tfn > bound:
                            raise self.err(f"{st.where}, block {blk}",
                                           f"document {d}: tfn {tfn} above the block's bound "
                                           f"{bound} (max_tf {h.max_tfs[blk]}, max_norm "
                                           f"{h.max_norms[blk]})")
                    score += bm25_idf(self.D, st.df) * tfn
                out.append((score, d))
        out.sort(key=lambda x: (-x[0], x[1]))
        return out

    def search_terms(self, terms, limit=None, read_entries=True):
        """A query given as analysed terms (no phrases): [(key, title or None, score, doc)],
        §15.2's results and order, the first `limit`. With read_entries, each result's entry
        is read by its row's key, as a reader showing it does (§15.9 step 7), and checked."""
        cand = self.candidates(terms)
        if limit is not None:
            cand = cand[:limit]
        out = [self.result(score, d) for score, d in cand]
        if read_entries:
            for _, _, _, d in out:
                self.result_entry(d)
        return out

    def result(self, score, d):
        r = self.row(d)
        if not r.indexed:
            raise self.err(f"SEARCH document page {bisect.bisect_right(self.first_rows, d) - 1}"
                           f", row {d}", "a result's row is not INDEXED")
        return (r.key.decode("utf-8"), r.title, score, d)

    def result_entry(self, d):
        """Document d's entry, read by its row's key (§15.9 step 7, for phrases and snippets):
        §15.10 — an entry with that key exists and its number is the row's. An error of the
        archive's own index on the way is its own (§11)."""
        r = self.row(d)
        if not r.indexed:
            raise self.err(f"SEARCH document page {bisect.bisect_right(self.first_rows, d) - 1}"
                           f", row {d}", "a result's row is not INDEXED")
        ent = self.a.get(r.key)
        if ent is None or ent.number != d:
            raise self.err(f"SEARCH document page {bisect.bisect_right(self.first_rows, d) - 1}"
                           f", row {d}",
                           f"the row's key {key_text(r.key)!r} is "
                           + ("no entry's" if ent is None else f"entry {ent.number}'s")
                           + f", not document {d}'s (§15.10)")
        return ent

    # -- full verification (§15.10) ----------------------------------------------------------

    def verify(self, entry_info=None):
        """The index whole: every term page, list, block, norms chunk and document page;
        terms across pages; Σ df; block bounds attained; rows against the entries; non-zero
        norms. entry_info: [(key bytes, title or None, content type)] of entries 0 ..
        entry_count, when the archive's entries read (else the rows are not compared).
        Returns (faults, notes): notes say what was not checked."""
        faults = []
        notes = []
        norms = bytearray()
        norms_ok = True
        for i in range(len(self.chunks)):
            try:
                norms += self.norms_chunk(i)
            except QuireError as e:
                faults.append(e)
                norms_ok = False
        nonzero = sum(1 for x in norms if x) if norms_ok else None
        if norms_ok and nonzero != self.D:
            faults.append(self.err("SEARCH norms", f"{nonzero} documents have a non-zero norm, "
                                                   f"doc_count is {self.D}"))
        dl = {}          # document -> Σ tf over every term: its length dl (§15.1)
        doc_terms = {}   # document -> {term: tf}, for the analysis of the documents it can do
        sum_df = 0
        terms_ok = True
        for k in range(len(self.term_pages)):
            try:
                recs = self.term_page(k)
            except QuireError as e:
                faults.append(e)
                terms_ok = False
                continue
            for st in recs:
                sum_df += st.df
                try:
                    posts = self.postings(st)
                except QuireError as e:
                    faults.append(e)
                    terms_ok = False
                    continue
                if len(posts) != st.df:   # cannot happen: each block holds its count
                    faults.append(self.err(st.where, f"{len(posts)} postings, df {st.df}"))
                attained = set()
                for d, tf, blk in posts:
                    dl[d] = dl.get(d, 0) + tf
                    doc_terms.setdefault(d, {})[st.term.decode("utf-8")] = tf
                    if not norms_ok:
                        continue
                    code = norms[d]
                    if code == 0:
                        faults.append(self.err(st.where, f"a posting of document {d}, whose "
                                                         f"norm code is 0"))
                        continue
                    if blk is not None:
                        h = self.head(st)
                        tfn = self.score_parts(tf, code)
                        bound = self.score_parts(h.max_tfs[blk], h.max_norms[blk])
                        if tfn > bound:
                            faults.append(self.err(f"{st.where}, block {blk}",
                                                   f"document {d}: tfn {tfn} above the "
                                                   f"block's bound {bound}"))
                        elif tfn == bound:
                            attained.add(blk)
                if norms_ok and st.kind == SE_HEADED:
                    h = self.head(st)
                    for blk in range(len(h.lasts)):
                        if blk not in attained:
                            faults.append(self.err(f"{st.where}, block {blk}",
                                                   f"its bound (max_tf {h.max_tfs[blk]}, "
                                                   f"max_norm {h.max_norms[blk]}) is attained "
                                                   f"by none of its postings"))
        if terms_ok and sum_df != self.posting_count:
            faults.append(self.err("SEARCH header", f"the terms' df add up to {sum_df}, "
                                                    f"posting_count is {self.posting_count}"))
        # What §15.1 implies without the tokenizer: a document's tf over all terms adds up to
        # its length dl (dropped tokens count nowhere), so its norm code is code(Σ tf) and
        # token_sum is Σ tf over every posting. A subset of the tokenizer row of §15.10.
        if terms_ok and norms_ok:
            for d in range(self.entries):
                want = norm_code(dl.get(d, 0))
                if norms[d] != want:
                    faults.append(self.err(f"SEARCH norms chunk {d // SE_NORMS_CHUNK}",
                                           f"document {d}: norm code {norms[d]}, its postings' "
                                           f"tf add up to {dl.get(d, 0)}: code {want}"))
            T = sum(dl.values())
            if T != self.T:
                faults.append(self.err("SEARCH header", f"token_sum {self.T}, the postings' tf "
                                                        f"add up to {T}"))
        # document pages: rows against the entries and the norms
        untitled_html = 0
        for k in range(len(self.doc_pages)):
            try:
                rows = self.doc_page(k)
            except QuireError as e:
                faults.append(e)
                continue
            for r in rows:
                w = f"SEARCH document page {k}, row {r.doc}"
                if norms_ok and r.indexed != bool(norms[r.doc]):
                    faults.append(self.err(w, f"INDEXED {r.indexed}, norm code {norms[r.doc]}"))
                if entry_info is None or not r.indexed:
                    continue
                family = tokenizer_in_family(self.tokenizer)
                if family and entry_info[r.doc][1] is None and entry_info[r.doc][3] == 0:
                    faults.append(self.err(w, "INDEXED, but its entry has no title and an "
                                              "empty body: no token (§15.1)"))
                    continue
                key, title, ctype, body_len = entry_info[r.doc]
                if r.key != key:
                    faults.append(self.err(w, f"key {key_text(r.key)!r}, entry {r.doc}'s key is "
                                              f"{key_text(key)!r}"))
                if family and text_kind(ctype) is None:
                    faults.append(self.err(w, f"an entry of content type {ctype!r} (no text, "
                                              f"§15.1) is INDEXED"))
                if title is None and text_kind(ctype) == "html":
                    # its title field is its HTML title (§15.1), where this reader finds it
                    try:
                        want = html_title(decode_body(self.a.entry(r.doc)))
                    except (Undecided, QuireError):
                        untitled_html += 1
                        continue
                else:
                    want = title_field(title)
                if r.title != want:
                    faults.append(self.err(w, f"title field {r.title!r}, the entry's is "
                                              f"{want!r}"))
        if untitled_html:
            notes.append(f"{untitled_html} HTML rows without an entry title: their title field "
                         f"(the HTML title) not compared (an HTML this reader does not "
                         f"tokenize)")
        if entry_info is None:
            notes.append("rows not compared with the entries (the entries do not all read)")
        # §15.10's tokenizer row, for the documents whose analysis needs none of html5ever,
        # Snowball or jieba (field_tokens): their terms and tfs exactly the postings'
        analysed = undecided = confirmed = 0
        if entry_info is not None and terms_ok:
            for d in range(self.entries):
                try:
                    want = self.analyse_document(d)
                except (Undecided, QuireError):   # an entry's own damage is reported above
                    try:
                        # English stems by this reader's Porter2: only a confirmation, never
                        # a fault (it is not frostem)
                        if "stem=snowball-english" in self.tokenizer and \
                                self.analyse_document(d, porter=True) == doc_terms.get(d, {}):
                            confirmed += 1
                            continue
                    except (Undecided, QuireError):
                        pass
                    undecided += 1
                    continue
                analysed += 1
                got = doc_terms.get(d, {})
                if got != want:
                    diff = sorted(t for t in set(got) | set(want) if got.get(t) != want.get(t))
                    faults.append(self.err(
                        f"SEARCH document {d} ({key_text(entry_info[d][0])!r})",
                        f"its postings differ from its text's analysis (§15.1) for "
                        f"{len(diff)} term(s): " + ", ".join(
                            f"{t!r} index tf {got.get(t, 0)}, text {want.get(t, 0)}"
                            for t in diff[:5])))
        notes.append(f"each entry's analysis (§15.10's tokenizer row: its terms and tfs "
                     f"against its text) checked for {analysed} of {self.entries} entries "
                     f"(those that need no HTML extraction, stemmer or jieba)"
                     + (f", reproduced for {confirmed} more by this reader's Porter2 (a "
                        f"confirmation only)" if confirmed else "")
                     + f", not for {undecided} (tokenizer {self.tokenizer!r} not implemented "
                       f"here; not an error)")
        return faults, notes

    def analyse_document(self, d, porter=False, ent=None):
        """§15.1's terms of document d with their tf (title tokens weighted W), for a document
        field_tokens() can analyse; Undecided otherwise. A document of a type without text has
        none. porter: English stems by this reader's porter2() (to be confirmed against the
        postings, see doc_postings)."""
        if not tokenizer_in_family(self.tokenizer):
            raise Undecided("a tokenizer string outside quire-text/1")
        ent = self.a.entry(d) if ent is None else ent
        if text_kind(ent.content_type) is None:
            return {}
        title, body = entry_fields(ent, self)
        out = {}
        for text, weight in ((body, 1), (title, self.W)):
            if not text:
                continue
            for _, t in field_tokens(text, self.tokenizer, porter):
                if t is None:
                    raise Undecided("a stemmed word")
                if t:
                    out[t] = out.get(t, 0) + weight
        return out

    def doc_postings(self, d):
        """{term: tf} of document d from every list of the index (built once; for the
        vectors runner's phrase decisions)."""
        if getattr(self, "_doc_postings", None) is None:
            m = {}
            for k in range(len(self.term_pages)):
                for st in self.term_page(k):
                    for doc, tf, _ in self.postings(st):
                        m.setdefault(doc, {})[st.term.decode("utf-8")] = tf
            self._doc_postings = m
        return self._doc_postings.get(d, {})


# --------------------------------------------------------------------------------------------
# Deciding phrases (§15.2) without a tokenizer, where §15.1's analysis needs no library: the
# vectors runner uses this to decide phrase queries exactly when it can, and says so when it
# cannot. A document qualifies when each field it needs is plain text (not HTML: its text
# needs html5ever) whose spaced runs are ASCII (UAX #29's word rules restricted to ASCII, below,
# plus punctuation and spaces that always break), whose CJK runs are cut into bigrams (not
# jieba), and whose unspaced runs are Thai or Lao (where an extended grapheme cluster is a
# base with the marks after it: Mn, and SARA AM / Lao AM, which are SpacingMark), every
# character assigned in this Python's Unicode (14.0). Otherwise Undecided is raised.


class Undecided(Exception):
    pass


def _run_class(c):
    o = ord(c)
    if _is_ideographic(c) or 0xFF66 <= o <= 0xFF9F:
        return "cjk"
    if (0x0E00 <= o <= 0x0EFF or 0x1000 <= o <= 0x109F or 0xA9E0 <= o <= 0xA9FF
            or 0xAA60 <= o <= 0xAA7F or 0x1780 <= o <= 0x17FF or 0x19E0 <= o <= 0x19FF):
        return "unspaced"
    return "spaced"


# UAX #29 word-break classes of ASCII characters, and of non-ASCII characters a spaced run may
# hold here (punctuation and spaces of class Other, WSegSpace or Newline, which break on both
# sides); any other non-ASCII character in a spaced run is Undecided.
_WB_MID_NONASCII = set("\u00b7\u0387\u055f\u05f4\u2027\ufe13\ufe55\uff1a"      # MidLetter
                       "\u2018\u2019\u2024\ufe52\uff07\uff0e"                  # MidNumLet
                       "\u037e\u0589\u060c\u060d\u066c\u07f8\u2044\ufe10\ufe14\ufe50\ufe54"
                       "\uff0c\uff1b"                                          # MidNum
                       "\u202f\u203f\u2040\u2054\ufe33\ufe34\ufe4d\ufe4e\ufe4f\uff3f")


def _wb_ascii(c):
    if c.isascii():
        if c.isalpha():
            return "L"
        if c.isdigit():
            return "N"
        return {"_": "X", ":": "ML", ".": "MNL", "'": "MNL", ",": "MN", ";": "MN"}.get(c, "O")
    cat = unicodedata.category(c)
    if c in _WB_MID_NONASCII or not (cat[0] == "P" or cat == "Zs"):
        raise Undecided(f"a spaced character U+{ord(c):04X} this reader does not segment")
    return "O"


def ascii_words(run):
    """The UAX #29 words (segments holding a letter or digit) of a run of ASCII text and
    breaking punctuation: WB5–WB13b on ASCII (letters, digits, '_' ExtendNumLet, ':'
    MidLetter, '.' and "'" MidNumLet(Q), ',' ';' MidNum; everything else breaks)."""
    cls = [_wb_ascii(c) for c in run]
    n = len(run)
    words = []
    start = 0
    AH = ("L",)
    for i in range(1, n + 1):
        brk = True
        if i < n:
            a, b = cls[i - 1], cls[i]
            a2 = cls[i - 2] if i >= 2 else None
            b2 = cls[i + 1] if i + 1 < n else None
            if a in AH and b in AH:                                          # WB5
                brk = False
            elif a in AH and b in ("ML", "MNL") and b2 in AH:                # WB6
                brk = False
            elif a2 in AH and a in ("ML", "MNL") and b in AH:                # WB7
                brk = False
            elif a == "N" and b == "N" or a in AH and b == "N" or a == "N" and b in AH:
                brk = False                                                  # WB8–WB10
            elif a2 == "N" and a in ("MN", "MNL") and b == "N":              # WB11
                brk = False
            elif a == "N" and b in ("MN", "MNL") and b2 == "N":              # WB12
                brk = False
            elif a in ("L", "N", "X") and b == "X":                          # WB13a
                brk = False
            elif a == "X" and b in ("L", "N"):                               # WB13b
                brk = False
        if brk:
            seg = run[start:i]
            if any(ch.isalnum() for ch in seg):
                words.append(seg)
            start = i
    return words


_EXTEND_EXTRA = {"\u0e33", "\u0eb3", "\uff9e", "\uff9f"}   # SpacingMark (AM), halfwidth marks


def _clusters(run, kind):
    out = []
    for c in run:
        cat = unicodedata.category(c)
        if cat == "Cn":
            raise Undecided(f"U+{ord(c):04X} unassigned in this Python's Unicode")
        if kind == "unspaced" and not 0x0E00 <= ord(c) <= 0x0EFF:
            raise Undecided("an unspaced run other than Thai or Lao")
        ext = cat in ("Mn", "Me") or c in _EXTEND_EXTRA
        if cat in ("Mc", "Cf") or c == "\u200d":
            raise Undecided(f"U+{ord(c):04X}: a cluster rule this reader does not make")
        if ext:
            if not out:
                raise Undecided("a run starting with a mark")
            out[-1] += c
        else:
            out.append(c)
    return out


def _has_alnum(term):
    if any(ch.isalnum() for ch in term):
        return True
    if any(unicodedata.category(ch) in ("Mn", "Mc", "Me") for ch in term):
        raise Undecided("a term of marks only (Unicode Alphabetic not known here)")
    return False


# --------------------------------------------------------------------------------------------
# Porter2 (Snowball's english.sbl), written from its published description: used only where a
# document's analysis with it gives exactly the document's postings (then the phrase queries
# that need English stems are decided from it); it is not a claim to implement `frostem`.

_P2_V = set("aeiouy")
_P2_DOUBLE = ("bb", "dd", "ff", "gg", "mm", "nn", "pp", "rr", "tt")
_P2_LI = set("cdeghkmnrt")
_P2_EXC1 = {"skis": "ski", "skies": "sky", "dying": "die", "lying": "lie", "tying": "tie",
            "idly": "idl", "gently": "gentl", "ugly": "ugli", "early": "earli", "only": "onli",
            "singly": "singl", "sky": "sky", "news": "news", "howe": "howe", "atlas": "atlas",
            "cosmos": "cosmos", "bias": "bias", "andes": "andes"}
_P2_EXC2 = {"inning", "outing", "canning", "herring", "earring", "proceed", "exceed",
            "succeed"}


def _p2_vowel(w, i):
    return w[i] in _P2_V


def _p2_regions(w):
    for pre in ("gener", "commun", "arsen"):
        if w.startswith(pre):
            r1 = len(pre)
            break
    else:
        r1 = len(w)
        for i in range(1, len(w)):
            if not _p2_vowel(w, i) and _p2_vowel(w, i - 1):
                r1 = i + 1
                break
    r2 = len(w)
    for i in range(r1 + 1, len(w)):
        if not _p2_vowel(w, i) and _p2_vowel(w, i - 1):
            r2 = i + 1
            break
    return r1, r2


def _p2_short_syllable(w):
    n = len(w)
    if n >= 3 and not _p2_vowel(w, n - 3) and _p2_vowel(w, n - 2) and \
            not _p2_vowel(w, n - 1) and w[-1] not in "wxY":
        return True
    return n == 2 and _p2_vowel(w, 0) and not _p2_vowel(w, 1)


def porter2(word):
    """Snowball's English (Porter2) stemmer on a lower-case word."""
    if len(word) <= 2:
        return word
    if word in _P2_EXC1:
        return _P2_EXC1[word]
    w = word[1:] if word.startswith("'") else word
    if w.startswith("y"):
        w = "Y" + w[1:]
    w = "".join("Y" if c == "y" and i > 0 and w[i - 1] in _P2_V else c
                for i, c in enumerate(w))
    r1, r2 = _p2_regions(w)
    # Step 0
    for suf in ("'s'", "'s", "'"):
        if w.endswith(suf):
            w = w[:-len(suf)]
            break
    # Step 1a
    if w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("ied") or w.endswith("ies"):
        w = w[:-3] + ("i" if len(w) > 4 else "ie")
    elif w.endswith("us") or w.endswith("ss"):
        pass
    elif w.endswith("s"):
        if any(c in _P2_V for c in w[:-2]):
            w = w[:-1]
    if w in _P2_EXC2:
        return w
    # Step 1b
    for suf in ("eedly", "ingly", "edly", "eed", "ing", "ed"):
        if w.endswith(suf):
            if suf in ("eed", "eedly"):
                if len(w) - len(suf) >= r1:
                    w = w[:-len(suf)] + "ee"
            else:
                stem = w[:-len(suf)]
                if any(c in _P2_V for c in stem):
                    w = stem
                    if w.endswith(("at", "bl", "iz")):
                        w += "e"
                    elif w.endswith(_P2_DOUBLE):
                        w = w[:-1]
                    elif _p2_short_syllable(w) and r1 >= len(w):
                        w += "e"
            break
    # Step 1c
    if len(w) > 2 and w[-1] in "yY" and w[-2] not in _P2_V:
        w = w[:-1] + "i"
    # Step 2
    step2 = (("ization", "ize"), ("ational", "ate"), ("fulness", "ful"), ("ousness", "ous"),
             ("iveness", "ive"), ("tional", "tion"), ("biliti", "ble"), ("lessli", "less"),
             ("entli", "ent"), ("ation", "ate"), ("alism", "al"), ("aliti", "al"),
             ("ousli", "ous"), ("iviti", "ive"), ("fulli", "ful"), ("enci", "ence"),
             ("anci", "ance"), ("abli", "able"), ("izer", "ize"), ("ator", "ate"),
             ("alli", "al"), ("bli", "ble"), ("ogi", "og"), ("li", ""))
    for suf, rep in step2:
        if w.endswith(suf):
            if len(w) - len(suf) >= r1:
                if suf == "ogi":
                    if w[:-3].endswith("l"):
                        w = w[:-3] + "og"
                elif suf == "li":
                    if len(w) >= 3 and w[-3] in _P2_LI:
                        w = w[:-2]
                else:
                    w = w[:-len(suf)] + rep
            break
    # Step 3
    step3 = (("ational", "ate"), ("tional", "tion"), ("alize", "al"), ("icate", "ic"),
             ("iciti", "ic"), ("ative", ""), ("ical", "ic"), ("ness", ""), ("ful", ""))
    for suf, rep in step3:
        if w.endswith(suf):
            if len(w) - len(suf) >= r1:
                if suf == "ative":
                    if len(w) - len(suf) >= r2:
                        w = w[:-len(suf)]
                else:
                    w = w[:-len(suf)] + rep
            break
    # Step 4
    step4 = ("ement", "ance", "ence", "able", "ible", "ment", "ant", "ent", "ism", "ate",
             "iti", "ous", "ive", "ize", "ion", "al", "er", "ic")
    for suf in step4:
        if w.endswith(suf):
            if len(w) - len(suf) >= r2:
                if suf == "ion":
                    if len(w) >= 4 and w[-4] in "st":
                        w = w[:-3]
                else:
                    w = w[:-len(suf)]
            break
    # Step 5
    if w.endswith("e"):
        if len(w) - 1 >= r2 or (len(w) - 1 >= r1 and not _p2_short_syllable(w[:-1])):
            w = w[:-1]
    elif w.endswith("l"):
        if len(w) - 1 >= r2 and w[:-1].endswith("l"):
            w = w[:-1]
    return w.replace("Y", "y")


def field_tokens(text, tokenizer, porter=False):
    """§15.1's tokens of a field as [(position, term or None)] (None: a word whose term this
    reader does not compute — a stemmed ASCII word, which can equal no bigram; "": a dropped
    term, which keeps its position), or Undecided. porter: stem ASCII words with this
    reader's porter2() under snowball-english (an analysis to be confirmed by the postings,
    not an exact one)."""
    m = re.search(r"stem=(\S+) cjk=(\S+)", tokenizer)
    if not tokenizer_in_family(tokenizer) or m is None:
        raise Undecided("a tokenizer string outside quire-text/1")
    stem, cjk = m.groups()
    out = []
    pos = 0
    i = 0
    n = len(text)
    while i < n:
        kind = _run_class(text[i])
        j = i + 1
        while j < n and _run_class(text[j]) == kind:
            j += 1
        run = text[i:j]
        i = j
        if kind == "spaced":
            for w in ascii_words(run):
                term = None
                if len(w) > 256:
                    term = ""                       # a word over 256 bytes gives no term
                elif "elision=1" in tokenizer:
                    pass
                elif stem == "none":
                    term = w.lower()
                elif stem == "snowball-english" and porter:
                    term = porter2(w.lower())
                if term is not None and len(term) > SE_TERM_MAX:
                    term = ""                       # dropped, keeping its position
                out.append((pos, term))
                pos += 1
            continue
        if kind == "cjk" and cjk != "bigram":
            raise Undecided("a CJK run cut by jieba")
        cl = _clusters(run, kind)
        grams = [run] if len(cl) == 1 else [cl[k] + cl[k + 1] for k in range(len(cl) - 1)]
        for g in grams:
            t = unicodedata.normalize("NFKC", g)
            ok = bool(t) and len(t.encode("utf-8")) <= SE_TERM_MAX and _has_alnum(t)
            out.append((pos, t if ok else ""))
            pos += 1
    return out


def phrase_in(tokens, phrase):
    """Whether the tokens hold the phrase [(term, offset)] at some position (§15.2)."""
    at = {}
    for p, t in tokens:
        at[p] = t
    t1 = phrase[0][0]
    for p, t in tokens:
        if t == t1 and all(at.get(p + o) == ti for ti, o in phrase[1:]):
            return True
    return False


_CP1252_HOLES = {0x81, 0x8D, 0x8F, 0x90, 0x9D}


def decode_body(ent):
    """§15.1: the body's first 1 MiB, decoded as windows-1252 when the content type's charset
    is iso-8859-1, latin1, us-ascii or windows-1252 (WHATWG's windows-1252: the five bytes that
    Python's cp1252 leaves undefined are U+0081 …), else as UTF-8 with each invalid sequence
    replaced by U+FFFD and a sequence cut by the 1 MiB cap dropped."""
    import codecs
    raw = ent.body[:1 << 20]
    charset = None
    for p in ent.content_type.split(";")[1:]:
        k, _, v = p.strip().partition("=")
        if k.strip().lower() == "charset":
            charset = v.strip().strip('"').lower()
            break
    if charset in ("iso-8859-1", "latin1", "us-ascii", "windows-1252"):
        return "".join(chr(b) if b in _CP1252_HOLES else bytes([b]).decode("cp1252")
                       for b in raw)
    return codecs.getincrementaldecoder("utf-8")("replace").decode(raw, final=False)


def entry_fields(ent, si):
    """A document's fields (§15.1) as text: [title field or None, body text]; Undecided for
    what needs html5ever (HTML text)."""
    kind = text_kind(ent.content_type)
    if kind != "plain":
        raise Undecided(f"content type {ent.content_type!r}: not plain text")
    return [title_field(ent.title), decode_body(ent)]


_HTML_WS = "\t\n\f\r "
_RAWTEXT = ("style", "noscript", "iframe", "noembed", "noframes")


def _end_tag_at(low, name, i):
    """Where the first '</name' followed by white space, '/' or '>' starts in low[i:], or -1
    (the end of an RCDATA, RAWTEXT or script data run)."""
    pat = "</" + name
    while True:
        j = low.find(pat, i)
        if j < 0:
            return -1
        k = j + len(pat)
        if k < len(low) and low[k] in _HTML_WS + "/>":
            return j
        i = j + 1


def _skip_attributes(text, m):
    """From the end of a tag's name to its '>' (WHATWG's attribute states: names end at white
    space, '/', '>' or '='; values quoted with '"' or "'" run to the same quote, unquoted ones
    to white space or '>'). Returns the position of the '>', or None at the end of input."""
    n = len(text)
    while m < n:
        ch = text[m]
        if ch == ">":
            return m
        if ch in _HTML_WS or ch == "/":
            m += 1
            continue
        m += 1                                   # an attribute name (its first character
        while m < n and text[m] not in _HTML_WS + "/>=":   # may be '=')
            m += 1
        while m < n and text[m] in _HTML_WS:
            m += 1
        if m < n and text[m] == "=":
            m += 1
            while m < n and text[m] in _HTML_WS:
                m += 1
            if m < n and text[m] in "\"'":
                q = text.find(text[m], m + 1)
                if q < 0:
                    return None
                m = q + 1
            else:
                while m < n and text[m] not in _HTML_WS + ">":
                    m += 1
    return None


def html_title(text):
    """§15.1's *HTML title* of a decoded HTML body: the text of the first `title` element
    outside `svg` and `math`, white space collapsed, cut to 4096 bytes (None: no title field),
    by a WHATWG tokenizer cut down to what finding it needs: comments, doctypes and bogus
    comments, start and end tags with their attributes, and the RCDATA, RAWTEXT, script data
    and PLAINTEXT runs that §15.1 names. Undecided for what that does not cover: svg, math or
    template before the title, a '<!--' inside a script, CDATA, NUL, a title running to the end
    of the input, white space other than ASCII's or at either end of the title."""
    import html as _html
    if "\0" in text:
        raise Undecided("a NUL in an HTML body")
    low = text.lower()
    i = 0
    n = len(text)
    while True:
        i = text.find("<", i)
        if i < 0 or i + 1 >= n:
            return None
        c = text[i + 1]
        if text.startswith("<!--", i):
            j = text.find("-->", i + 4)
            body = text[i + 4:j if j >= 0 else n]
            if body.startswith(">") or body.startswith("->") or "--!" in body or j < 0:
                raise Undecided("an HTML comment this reader does not end")
            i = j + 3
            continue
        if text.startswith("<![cdata[", i) or low.startswith("<![cdata[", i):
            raise Undecided("CDATA in HTML")
        if c in "!?":
            j = text.find(">", i + 2)
            if j < 0:
                return None
            i = j + 1
            continue
        end = c == "/"
        k = i + (2 if end else 1)
        if k >= n or not ("a" <= low[k] <= "z"):
            i += 1
            continue
        m = k
        while m < n and text[m] not in _HTML_WS + "/>":
            m += 1
        name = low[k:m]
        m = _skip_attributes(text, m)
        if m is None:
            return None
        i = m + 1
        if end:
            continue
        if name in ("svg", "math", "template"):
            raise Undecided(f"an HTML <{name}> element before the title")
        if name == "plaintext":
            return None
        if name == "title":
            j = _end_tag_at(low, "title", i)
            if j < 0:
                raise Undecided("a title element running to the end of the HTML")
            t = _html.unescape(text[i:j])
            if any(ch.isspace() and ch not in _HTML_WS for ch in t):
                raise Undecided("white space other than ASCII's in an HTML title")
            if t != t.strip(_HTML_WS):
                raise Undecided("white space at an end of an HTML title (collapsed to one "
                                "space or dropped?)")
            t = re.sub("[\t\n\f\r ]+", " ", t)
            t = cut_utf8(t.encode("utf-8"), SE_TITLE_MAX).decode("utf-8")
            return t or None
        if name == "script":
            j = _end_tag_at(low, "script", i)
            if "<!--" in text[i:j if j >= 0 else n]:
                raise Undecided("'<!--' in a script (script data escape states)")
        elif name in _RAWTEXT or name == "textarea":
            j = _end_tag_at(low, name, i)
        else:
            continue
        if j < 0:
            return None
        i = j


def decide_phrases(a, si, doc, phrases):
    """Whether document `doc` holds every phrase in one of its fields; Undecided when this
    reader cannot analyse what it would need."""
    ent = si.result_entry(doc)          # by its row's key, checked (§15.9 step 7, §15.10)
    fields = [f for f in entry_fields(ent, si) if f]
    toks = [field_tokens(f, si.tokenizer) for f in fields]
    unknown = any(t is None for tk in toks for _, t in tk)
    needs_words = any(t.isascii() for ph in phrases for t, _ in ph)
    if unknown and needs_words:
        # English stems: by this reader's Porter2, trusted for this document only when its
        # analysis gives exactly the document's postings
        if "stem=snowball-english" not in si.tokenizer:
            raise Undecided("a phrase of stemmed words")
        if si.analyse_document(doc, porter=True, ent=ent) != si.doc_postings(doc):
            raise Undecided("this reader's Porter2 does not reproduce the document's postings")
        toks = [field_tokens(f, si.tokenizer, porter=True) for f in fields]
    for ph in phrases:
        if not any(phrase_in(tk, ph) for tk in toks):
            return False
    return True


def open_archive(path):
    return Archive(path)


# --------------------------------------------------------------------------------------------
# §9.1: JSON Lines, writing


def json_str(s):
    """A JSON string as §9.1 writes it: `"` and `\\` escaped, U+0008 U+0009 U+000A U+000C
    U+000D as `\\b \\t \\n \\f \\r`, the other U+0000–U+001F as `\\u00xx` (lowercase hex),
    nothing else escaped."""
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


class NotJson(ValueError):
    pass


INT_MIN, INT_MAX = -(1 << 63), (1 << 64) - 1


def _json_int(token):
    """§9.1 Numbers: a number without fraction or exponent, from −2^63 to 2^64 − 1, is that
    integer (except `-0`, the binary64 −0.0); any other is the nearest binary64."""
    if token == "-0":
        return -0.0
    digits = token.lstrip("-")
    if len(digits) <= 20:  # so int() never meets Python's limit on digits
        v = int(token)
        if INT_MIN <= v <= INT_MAX:
            return v
    return _json_float(token)


def _json_float(token):
    """The nearest binary64 (float() rounds correctly). §9.1: "a number beyond binary64's
    range is an error when reading a record ... a listed value whose text holds [one] does not
    parse"; "one too small for it is 0.0, or −0.0 when negative" (float() gives those)."""
    v = float(token)
    if v in (float("inf"), float("-inf")):
        raise NotJson(f"number beyond binary64's range: {token[:40]}")
    return v


def _json_constant(name):
    raise NotJson(f"not JSON: {name}")  # Python's json would take NaN, Infinity, -Infinity


def _no_lone_surrogates(v):
    """§9.1: a listed value with "a string holding an unpaired surrogate escape (`"\\ud800"`)"
    does not parse. (json.loads joins a high and a low surrogate escape into one character and
    leaves an unpaired one as it is, which then does not encode as UTF-8.)"""
    stack = [v]
    while stack:
        x = stack.pop()
        if isinstance(x, str):
            try:
                x.encode("utf-8")
            except UnicodeEncodeError:
                raise NotJson("a lone surrogate in a string") from None
        elif isinstance(x, list):
            stack.extend(x)
        elif isinstance(x, dict):
            stack.extend(x.keys())
            stack.extend(x.values())


# §9.1 (741ae04): a value "nested 128 or more arrays or objects deep" does not parse ("a value
# is level 1: `[]` is 1 deep, `[[]]` 2; so 127 levels parse and 128 do not"). The most that parse:
MAX_JSON_DEPTH = 127


def json_depth(text):
    """How many arrays and objects deep JSON text nests (`5` 0, `[]` 1, `[{"a":[]}]` 3):
    the most `[`/`{` open at once outside strings. Exact for JSON text; for other text the
    value does not parse anyway."""
    depth = deepest = 0
    in_str = esc = False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
        elif ch in "]}":
            depth -= 1
    return deepest


def value_depth(v):
    """The same for a parsed value (iteratively)."""
    deepest = 0
    stack = [(v, 0)]
    while stack:
        x, d = stack.pop()
        if isinstance(x, (list, dict)):
            d += 1
            deepest = max(deepest, d)
            stack.extend((y, d) for y in (x.values() if isinstance(x, dict) else x))
    return deepest


def parse_json(text):
    """JSON text (RFC 8259) to a value, as §9.1 reads it: objects keep their member order, a
    repeated member name keeps its last value at its first place (a dict does exactly that);
    numbers as _json_int / _json_float. Raises NotJson (a ValueError) if it does not parse:
    not JSON, a number beyond binary64's range, nested 128 or more arrays or objects deep
    (127 parse), or a string holding an unpaired surrogate escape (§9.1)."""
    if json_depth(text) > MAX_JSON_DEPTH:
        raise NotJson(f"nested {MAX_JSON_DEPTH + 1} or more arrays or objects deep")
    try:
        v = json.loads(text, parse_int=_json_int, parse_float=_json_float,
                       parse_constant=_json_constant)
    except RecursionError:
        raise NotJson("nested too deeply") from None
    _no_lone_surrogates(v)
    return v


def json_number(v):
    """§9.1 Numbers: integers in decimal; a binary64 with the fewest significant digits that
    read back as it (Python's repr gives those digits, the closest of several), d₁.d₂…dₙ ×
    10^E, positional when −5 ≤ E ≤ 15 with at least one digit after the point, else
    d₁[.d₂…dₙ]e±E."""
    if isinstance(v, int):
        return str(v)
    sign = "-" if str(v)[0] == "-" else ""  # keeps -0.0's sign
    a = abs(v)
    if a == 0.0:
        return sign + "0.0"
    r = repr(a)  # shortest round-trip digits: '1e-07', '0.1', '1.5e+300', '100.0'
    mant, _, exp = r.partition("e")
    ip, _, fp = mant.partition(".")
    digits = (ip + fp).lstrip("0")
    # the exponent of the first significant digit
    lead_zeros = len(ip + fp) - len((ip + fp).lstrip("0"))
    E = (int(exp) if exp else 0) + len(ip) - 1 - lead_zeros
    digits = digits.rstrip("0") or "0"
    n = len(digits)
    if -5 <= E <= 15:
        if E >= 0:
            whole = digits[:E + 1].ljust(E + 1, "0")
            frac = digits[E + 1:] or "0"
        else:
            whole = "0"
            frac = "0" * (-E - 1) + digits
        return f"{sign}{whole}.{frac}"
    m = digits[0] + ("." + digits[1:] if n > 1 else "")
    return f"{sign}{m}e{'+' if E >= 0 else '-'}{abs(E)}"


def json_value(v):
    """A parsed JSON value written as §9.1 says: compactly, object members in their order,
    numbers as json_number."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return json_str(v)
    if isinstance(v, (int, float)):
        return json_number(v)
    if isinstance(v, list):
        return "[" + ",".join(json_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(json_str(k) + ":" + json_value(x) for k, x in v.items()) + "}"
    raise TypeError(v)


def json_names(value):
    """Names listed by a `quire:json` value (§9.1): the strings of the JSON array it is;
    elements that are not strings are ignored; a value that is not a JSON array (or not JSON)
    lists no names."""
    try:
        v = parse_json(value)
    except ValueError:
        return set()
    if isinstance(v, list):
        return {x for x in v if isinstance(x, str)}
    return set()


RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?"
    r"(?:[Zz]|[+-]([0-9]{2}):([0-9]{2}))")


def is_rfc3339(s):
    """§9.1 "An RFC 3339 date-time here is": a valid YYYY-MM-DD date; T, t or a space;
    hh:mm:ss (hours 00–23, minutes 00–59, seconds 00–60); optionally `.` and one or more
    digits; then Z, z or ±hh:mm (hours 00–23, minutes 00–59). Nothing may follow. Digits are
    ASCII digits."""
    m = RFC3339.fullmatch(s)
    if not m:
        return False
    y, mo, d, hh, mi, ss, oh, om = m.groups()
    if not valid_date(int(y) * 10000 + int(mo) * 100 + int(d)):
        return False
    if not (int(hh) <= 23 and int(mi) <= 59 and int(ss) <= 60):
        return False
    if oh is not None and not (int(oh) <= 23 and int(om) <= 59):
        return False
    return True


def entry_json(ent):
    parts = ['"key":' + json_str(ent.key)]
    if ent.title is not None:  # an empty title is a title
        parts.append('"title":' + json_str(ent.title))
    meta = list(ent.metadata)
    # the names the entry's first pair named quire:json lists
    json_fields = next((json_names(v) for n, v in meta if n == "quire:json"), set())
    if ent.date is not None:
        date = ent.date_str
        # only the entry's first pair named date is looked at
        i = next((i for i, (n, _) in enumerate(meta) if n == "date"), None)
        if i is not None:
            value = meta[i][1]
            if is_rfc3339(value) and value[:10] == date:
                date = value
                del meta[i]
        parts.append('"date":' + json_str(date))
    meta = [(n, v) for n, v in meta if n != "quire:json"]  # never written
    body = ent.body
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if ent.content_type != TEXT_PLAIN or text is None:
        parts.append('"content_type":' + json_str(ent.content_type))
    if meta:
        items = []
        for name, value in meta:  # a repeated name is written once for each pair
            if name in json_fields:
                try:
                    items.append(json_str(name) + ":" + json_value(parse_json(value)))
                    continue
                except ValueError:  # a listed value that does not parse: a string
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


def lookups(a):
    """Look every key up by key and by number, and a key just above each (absent: in the gap
    after a page's last key it is confirmed by the next page's bounds, and in the gap before a
    page's first key by the previous page's bounds, §6.3). Returns the
    number of lookups; raises QuireError on damage, AssertionError on a wrong answer."""
    n = 0
    for page in a._walk():
        for e in page.entries:
            got = a._find(e.key)
            assert got is not None and got.number == e.number, f"lookup of {e.key!r}"
            assert a._find_number(e.number).key == e.key, f"lookup of entry {e.number}"
            assert a._find(e.key + b"\x00") is None, f"lookup of {e.key!r} + NUL"
            n += 3
    return n


def check(path, stage=None):
    """What the vectors' reject files are checked with: open; read every entry (a walk, each
    entry used: §11's use and walk rows); look every key up; full verification. The first
    error is raised (a reject file's error shows on open, or else when its entries are read,
    or else at full verification). stage: a list, given the stage reached ("open", "use",
    "verification")."""
    stage = [] if stage is None else stage
    stage.append("open")
    with open_archive(path) as a:
        stage.append("use")
        for ent in a.entries():
            for _ in ent.body_chunks():
                pass
        lookups(a)
        stage.append("verification")
        a.verify()


def check_all(path, notes=None):
    """As check, but returns every fault of full verification (an open or read error alone).
    notes: a list, given what full verification did not check (the full-text index's
    tokenizer-dependent checks)."""
    with open_archive(path) as a:
        try:
            for ent in a.entries():
                for _ in ent.body_chunks():
                    pass
            lookups(a)
        except QuireError as e:
            return [e]
        faults = a.verify_all()
        if notes is not None:
            notes.extend(a.search_notes)
        return faults


def expected_when(d):
    """The "when" column of the reject table in the vectors' README.md (open, use or
    verification), if it has one: {file: when}."""
    p = os.path.join(d, "README.md")
    out = {}
    if os.path.exists(p):
        for line in open(p, encoding="utf-8"):
            mt = re.match(r"\|\s*`([^`]+\.quire)`\s*\|\s*`(\w+)`\s*\|\s*(open|use|verification)\s*\|",
                          line)
            if mt:
                out[mt.group(1)] = mt.group(3)
    return out


def run_accept(d, prefix="", search=False):
    """Every NAME.quire of d must pass full verification and lookups, and dump to exactly
    NAME.jsonl; with search, also NAME.terms.json and NAME.queries.json of §15.12 (else
    NAME.queries.json is run as suggestion queries, §14.7). Returns (passed, failed)."""
    passed = failed = 0
    for name in sorted(os.listdir(d)):
        if not name.endswith(".quire"):
            continue
        path = os.path.join(d, name)
        exp_path = path[:-6] + ".jsonl"
        name = prefix + name
        try:
            with open_archive(path) as a:
                faults = a.verify_all()
                if faults:
                    raise faults[0]
                nl = lookups(a)
                qpath = path[:-6] + ".queries.json"
                nq = None
                if search:
                    extra = run_search_checks(a, path[:-6])
                elif os.path.exists(qpath):
                    nq = run_queries(a, qpath)
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
                print(f"ok   {name} ({nl} lookups"
                      + (f", {nq} suggestion queries" if nq is not None else "")
                      + (f", {extra}" if search else "") + ")")
                passed += 1
        except QuireError as e:
            print(f"FAIL {name}: rejected: {e.kind}: {e.where}: {e.message}")
            failed += 1
        except AssertionError as e:
            print(f"FAIL {name}: wrong lookup answer: {e}")
            failed += 1
    return passed, failed


def run_queries(a, qpath):
    """NAME.queries.json (§14.7): a JSON array of {"q", "limit", "results": [[key, title or
    null, kind], …]}; each query must give exactly its results, in order. Returns the number
    of queries; raises AssertionError on a wrong answer, QuireError on damage."""
    queries = json.load(open(qpath, encoding="utf-8"))
    rows_match_entries(a)
    for t in queries:
        got = [list(x) for x in a.suggest(t["q"], t["limit"])]
        assert got == t["results"], (f"suggestions for {t['q']!r} (limit {t['limit']}):\n"
                                     f"  got  {got}\n  want {t['results']}")
    return len(queries)


def rows_match_entries(a):
    """A check of the vectors (also a rule of §11's full verification since the spec added
    it; this one skips nothing for Unicode versions): every row's title is its entry's title and its folded title is §14.1's fold of
    the indexed text, by Python's unicodedata. Raises AssertionError."""
    ti = a.titles()
    for k in range(len(ti.pages)):
        for r in ti.list_page(k).starts:
            ent = a.get(r.entry_key)
            assert ent is not None, f"row {r.row}: key {r.entry_key!r} is no entry"
            assert ent.title == r.title, (f"row {r.row} ({r.entry_key!r}): title {r.title!r}, "
                                          f"the entry's {ent.title!r}")
            text = r.title if r.title is not None else r.entry_key.decode("utf-8")
            F = folded_title(text)
            assert F == r.key, (f"row {r.row} ({r.entry_key!r}): folded title {r.key!r}, "
                                f"fold() gives {F!r} (Python's Unicode "
                                f"{__import__('unicodedata').unidata_version})")


def run_title_rejects(rdir, prefix):
    """titles/reject/ (§14.7): every file opens and every entry reads; a file whose `when` is
    `suggest` fails its query with the code, and full verification finds it too; one whose
    `when` is `verify` is found by full verification (the suggestions of "" are then expected
    to answer: a WARN if one fails). Returns (passed, failed)."""
    passed = failed = 0
    expected = json.load(open(os.path.join(rdir, "expected.json"), encoding="utf-8"))
    listed = set()
    for t in expected:
        name, want, when = t["file"], t["code"], t["when"]
        listed.add(name)
        label = prefix + name
        path = os.path.join(rdir, name)
        if not os.path.exists(path):
            print(f"FAIL {label}: listed in expected.json but missing")
            failed += 1
            continue
        stage = "open"
        try:
            with open_archive(path) as a:
                stage = "use"
                for ent in a.entries():
                    for _ in ent.body_chunks():
                        pass
                stage = "suggest"
                got = None
                qs = ([(t["query"]["q"], t["query"]["limit"])] if t.get("query") else
                      [("", None), ("", a.titles().tops_n if a.has_titles() else None)])
                for q, limit in qs:
                    try:
                        a.suggest(q, limit)
                    except QuireError as e:
                        got = e
                        break
                stage = "verification"
                faults = a.verify_all()
        except QuireError as e:
            print(f"FAIL {label}: {e.kind} at {stage} ({e.where}: {e.message}); expected.json: "
                  f"{want} at {when} (every file opens and every entry reads)")
            failed += 1
            continue
        kinds = {e.kind for e in faults}
        if when == "suggest":
            if got is None:
                print(f"FAIL {label}: the query {t['query']} answered; expected {want}")
                failed += 1
            elif got.kind != want:
                print(f"FAIL {label}: got {got.kind} ({got.where}: {got.message}), "
                      f"expected {want}")
                failed += 1
            elif kinds != {want}:
                print(f"FAIL {label}: {got.kind} on the query, but full verification found "
                      f"{sorted(kinds) or 'nothing'}")
                failed += 1
            else:
                print(f"ok   {label}: {got.kind} (suggest {t['query']['q']!r}): {got.where}: "
                      f"{got.message}")
                passed += 1
        else:
            if kinds != {want}:
                print(f"FAIL {label}: full verification found {sorted(kinds) or 'nothing'}, "
                      f"expected {want}")
                failed += 1
                continue
            e = faults[0]
            print(f"ok   {label}: {e.kind} (verification): {e.where}: {e.message}"
                  + (f" (+{len(faults) - 1} more)" if len(faults) > 1 else ""))
            passed += 1
            if got is not None:
                print(f"WARN {label}: the suggestions of \"\" fail already ({got.kind}: "
                      f"{got.message}); expected.json says {when}")
    for name in sorted(set(os.listdir(rdir)) - listed):
        if name.endswith(".quire"):
            print(f"FAIL {prefix}{name}: not listed in expected.json")
            failed += 1
    return passed, failed


def _posting_pairs(a, items, what):
    """A vector's postings as [(doc, tf)]: each [doc or key, tf] or {"doc" or "key", "tf"}."""
    out = []
    for it in items:
        if isinstance(it, dict):
            doc = it.get("doc", it.get("key"))
            tf = it["tf"]
        else:
            doc, tf = it[0], it[1]
        if isinstance(doc, str):
            ent = a.get(doc)
            assert ent is not None, f"{what}: key {doc!r} is no entry"
            doc = ent.number
        out.append((doc, tf))
    return out


SEARCH_HEADER_FIELDS = {"tokenizer": "tokenizer", "title_weight": "W", "k1": "k1", "b": "b",
                        "entries": "entries", "doc_count": "D", "term_count": "term_count",
                        "token_sum": "T", "posting_count": "posting_count"}


def load_search_terms(path):
    """NAME.terms.json (§15.12): {"tokenizer", "title_weight", "k1", "b", "entries",
    "doc_count", "term_count", "token_sum", "posting_count", "norms": [code, …], "terms":
    [{"term", "df", "list", "postings": [[doc, tf], …]}, …]} (a bare list of terms, or a
    {term: postings} object, is read too). Returns (header fields, {term: (df, list kind,
    postings)})."""
    data = json.load(open(path, encoding="utf-8"))
    fields = {}
    if isinstance(data, dict) and isinstance(data.get("terms"), list):
        fields = {k: v for k, v in data.items() if k != "terms"}
        data = data["terms"]
    if isinstance(data, dict):
        return fields, {t: (None, None, p) for t, p in data.items()}
    out = {}
    for x in data:
        if isinstance(x, dict):
            out[x["term"]] = (x.get("df"), x.get("list"), x["postings"])
        else:
            out[x[0]] = (None, None, x[1])
    return fields, out


def run_search_terms(a, tpath):
    """The index's header fields, norms, and every term with its postings (and list kind:
    inline, one block, or a head and blocks) are exactly NAME.terms.json's. Returns the number
    of terms; raises AssertionError on a difference."""
    si = a.search_index()
    fields, want = load_search_terms(tpath)
    for name, attr in SEARCH_HEADER_FIELDS.items():
        if name in fields:
            assert getattr(si, attr) == fields[name], (f"{name}: the index has "
                                                       f"{getattr(si, attr)!r}, terms.json "
                                                       f"{fields[name]!r}")
    if "norms" in fields:
        norms = [si.norm(d) for d in range(si.entries)]
        assert norms == fields["norms"], (f"norms {norms[:20]}…, terms.json "
                                          f"{fields['norms'][:20]}…")
    unknown = set(fields) - set(SEARCH_HEADER_FIELDS) - {"norms"}
    assert not unknown, f"terms.json has fields this reader does not check: {sorted(unknown)}"
    got = {}
    kinds = {}
    for k in range(len(si.term_pages)):
        for st in si.term_page(k):
            got[st.term.decode("utf-8")] = [(d, tf) for d, tf, _ in si.postings(st)]
            kinds[st.term.decode("utf-8")] = st.kind
    extra = sorted(set(got) - set(want))
    missing = sorted(set(want) - set(got))
    assert not extra and not missing, (f"terms: the index has {len(extra)} not in terms.json "
                                       f"({extra[:5]}), lacks {len(missing)} ({missing[:5]})")
    for t, (df, kind, items) in want.items():
        w = _posting_pairs(a, items, f"term {t!r}")
        assert got[t] == w, f"term {t!r}: postings {got[t][:8]}…, terms.json {w[:8]}…"
        assert df is None or df == len(got[t]), f"term {t!r}: df {len(got[t])}, terms.json {df}"
        assert kind is None or kind == kinds[t], (f"term {t!r}: a list of kind {kinds[t]}, "
                                                  f"terms.json {kind}")
        # and the same by a lookup of the term alone (§15.5)
        st = si.find_term(t)
        assert st is not None and st.df == len(w), f"lookup of term {t!r}"
    return len(want)


def _query_parts(t):
    """A query of NAME.queries.json as (plain terms, phrases): phrases as [(term, offset)]."""
    terms = list(t.get("terms") or [])
    phrases = []
    for ph in t.get("phrases") or []:
        if ph and isinstance(ph[0], (list, tuple)):
            phrases.append([(x[0], x[1]) for x in ph])
        elif isinstance(ph, dict):
            phrases.append([(x, o) for x, o in zip(ph["terms"], ph.get("offsets",
                                                                     range(len(ph["terms"]))))])
        else:
            phrases.append([(x, i) for i, x in enumerate(ph)])
    return terms, phrases


def run_search_queries(a, qpath, counts):
    """NAME.queries.json (§15.12): each query, given with its analysed terms and phrases,
    must give exactly its results (key, title, integer score), in order. A query with
    phrases cannot be decided without the tokenizer: its results must then be, in order and
    with their scores, among the conjunctive candidates (counted as "phrase queries checked
    only as candidates"). A text query is also run as text: it must fail with
    unsupported_tokenizer (this reader implements none) or invalid_query when over 4096
    bytes. counts: a dict updated with what was checked. Raises AssertionError."""
    si = a.search_index()
    queries = json.load(open(qpath, encoding="utf-8"))
    if isinstance(queries, dict):
        queries = queries.get("queries", [])
    for t in queries:
        terms, phrases = _query_parts(t)
        limit = t.get("limit")
        want = [(r[0], r[1], r[2]) for r in t["results"]]
        label = t.get("q", terms)
        all_terms = list(dict.fromkeys(terms + [x for ph in phrases for x, _ in ph]))
        if t.get("error"):
            try:
                if isinstance(t.get("q"), str):
                    # §15.10's text-query checks as a reader of quire-text/1 makes them
                    n = len(t["q"].encode("utf-8"))
                    if n > SE_QUERY_BYTES_MAX:
                        raise QuireError("invalid_query", "query",
                                         f"a query of {n} bytes, over 4096")
                    if not tokenizer_in_family(si.tokenizer):
                        si.check_text_query(t["q"])
                si.candidates([x.encode("utf-8") for x in all_terms])
            except QuireError as e:
                assert e.kind == t["error"], f"query {label!r}: {e.kind}, expected {t['error']}"
                counts["errors"] = counts.get("errors", 0) + 1
                continue
            raise AssertionError(f"query {label!r}: answered, expected {t['error']}")
        cand = [si.result(sc, d)[:3] for sc, d in si.candidates(all_terms)]
        if not phrases:
            got = cand if limit is None else cand[:limit]
            assert got == want, (f"query {label!r} (limit {limit}):\n  got  {got[:10]}\n"
                                 f"  want {want[:10]}")
            counts["exact"] = counts.get("exact", 0) + 1
        else:
            # decide the phrases where this reader can analyse the candidates (see
            # field_tokens); else only check that the results are among the candidates
            try:
                docs = [d for _, d in si.candidates(all_terms)]
                got = []
                for r, d in zip(cand, docs):
                    if limit is not None and len(got) >= limit:
                        break
                    if decide_phrases(a, si, d, phrases):
                        got.append(r)
            except Undecided as u:
                got = None
                why = str(u)
            if got is not None:
                assert got == want, (f"phrase query {label!r} (limit {limit}), phrases decided "
                                     f"here:\n  got  {got[:10]}\n  want {want[:10]}")
                counts["phrase_decided"] = counts.get("phrase_decided", 0) + 1
            else:
                it = iter(cand)
                for r in want:
                    assert any(c == r for c in it), (f"phrase query {label!r}: result {r} is "
                                                     f"not among the conjunctive candidates in "
                                                     f"order (candidates {cand[:10]})")
                counts["phrase"] = counts.get("phrase", 0) + 1
                counts.setdefault("why", []).append(f"{label}: {why}")
        if isinstance(t.get("q"), str):
            # this reader's own analysis, where it makes one, must agree with the vector's
            mine = simple_analysis(si.tokenizer, t["q"])
            if mine is not None:
                assert sorted(mine) == sorted(all_terms), (f"query {label!r}: analysed here "
                                                           f"as {mine}, the vector says "
                                                           f"{all_terms}")
                counts["analysed"] = counts.get("analysed", 0) + 1
            try:
                si.check_text_query(t["q"])
                raise AssertionError("a text query was answered without a tokenizer")
            except QuireError as e:
                assert e.kind in ("unsupported_tokenizer", "invalid_query"), e.kind
    return len(queries)


def run_search_checks(a, stem):
    """The §15.12 files beside an accept archive: NAME.terms.json and NAME.queries.json.
    Returns a short account for the ok line."""
    parts = []
    if not a.has_search():
        raise AssertionError("no SEARCH section")
    tpath = stem + ".terms.json"
    if os.path.exists(tpath):
        parts.append(f"{run_search_terms(a, tpath)} terms")
    else:
        parts.append("no terms.json")
    try:
        a.search_index().check_text_query("a")
        raise AssertionError("a text query answered without a tokenizer")
    except QuireError as e:
        assert e.kind == "unsupported_tokenizer", e.kind
        if not tokenizer_in_family(a.search_index().tokenizer):
            parts.append("text queries unsupported_tokenizer (a string outside quire-text/1), "
                         "term lookups answered")
    qpath = stem + ".queries.json"
    if os.path.exists(qpath):
        counts = {}
        n = run_search_queries(a, qpath, counts)
        parts.append(f"{n} search queries: {counts.get('exact', 0)} without phrases exact, "
                     f"{counts.get('phrase_decided', 0)} with phrases decided here and exact, "
                     f"{counts.get('phrase', 0)} with phrases NOT decided (no tokenizer for "
                     f"their candidates' text: results checked only to be among the "
                     f"conjunctive candidates)"
                     + (f", {counts['errors']} errors" if counts.get("errors") else "")
                     + f"; {counts.get('analysed', 0)} query texts analysed here too, alike")
        if os.environ.get("QUIRE_SPEC_VERBOSE"):
            for w in counts.get("why", []):
                print(f"     not decided: {w}")
    else:
        parts.append("no queries.json")
    parts.extend(a.search_notes)
    return ", ".join(p for p in parts if p)


def known_analyses(d):
    """The analyses that the accept vectors of d give: {(tokenizer, query text): terms}, from
    each NAME.queries.json's "terms" and "phrases" and NAME.terms.json's tokenizer."""
    out = {}
    if not os.path.isdir(d):
        return out
    for name in sorted(os.listdir(d)):
        if not name.endswith(".queries.json"):
            continue
        tpath = os.path.join(d, name[:-len(".queries.json")] + ".terms.json")
        try:
            tok = json.load(open(tpath, encoding="utf-8"))["tokenizer"]
            queries = json.load(open(os.path.join(d, name), encoding="utf-8"))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        for t in queries:
            if isinstance(t, dict) and isinstance(t.get("q"), str) and "terms" in t:
                terms, phrases = _query_parts(t)
                out[(tok, t["q"])] = list(dict.fromkeys(
                    terms + [x for ph in phrases for x, _ in ph]))
    return out


def _search_query_of(t):
    """A reject's query: (terms, text) from expected.json's "query" (a string, or an object
    with "q" and/or "terms"/"phrases")."""
    qy = t.get("query")
    if qy is None:
        return None, None
    if isinstance(qy, str):
        return None, qy
    if isinstance(qy, list):
        return qy, None
    terms, phrases = _query_parts(qy)
    all_terms = terms + [x for ph in phrases for x, _ in ph]
    return (all_terms if ("terms" in qy or "phrases" in qy) else None), qy.get("q")


def resolve_terms(tokenizer, text, known):
    """A text query's analysed terms without a tokenizer: the accept vectors' analysis of the
    same text under the same tokenizer string, else simple_analysis(); (terms, how) or (None,
    None)."""
    if (tokenizer, text) in known:
        return known[(tokenizer, text)], "the accept vectors' analysis"
    terms = simple_analysis(tokenizer, text)
    if terms is not None:
        return terms, "ASCII words, analysed here"
    return None, None


def query_limit(t):
    qy = t.get("query")
    if isinstance(qy, dict) and "limit" in qy:
        return qy["limit"]
    return t.get("limit")


def run_search_rejects(rdir, prefix):
    """search/reject/ (§15.12): every file opens and every entry reads (a damaged search index
    fails searches only); a file whose `when` is `search` fails its query (given as analysed
    terms; a text query only as far as this reader goes without a tokenizer) with the code,
    and full verification finds it too (for damaged_search_index); one whose `when` is
    `verify` is found by full verification alone. Returns (passed, failed)."""
    passed = failed = 0
    unanalysed = []
    later = []
    expected = json.load(open(os.path.join(rdir, "expected.json"), encoding="utf-8"))
    known = known_analyses(os.path.dirname(os.path.normpath(rdir)))
    listed = set()
    for t in expected:
        name, want, when = t["file"], t["code"], t["when"]
        when = "verify" if when == "verification" else when
        listed.add(name)
        label = prefix + name
        path = os.path.join(rdir, name)
        if not os.path.exists(path):
            print(f"FAIL {label}: listed in expected.json but missing")
            failed += 1
            continue
        stage = "open"
        got = None
        how = None
        try:
            with open_archive(path) as a:
                stage = "use"
                for ent in a.entries():
                    for _ in ent.body_chunks():
                        pass
                stage = "search"
                terms, text = _search_query_of(t)
                try:
                    if t.get("query") is not None:
                        si = a.search_index()
                    if text is not None:
                        # §15.10 "search (text queries)", as a reader of quire-text/1 makes
                        # them: the query's bytes, then the tokenizer string (its family:
                        # this reader has no analysis, and takes analysed terms instead)
                        n = len(text.encode("utf-8"))
                        if n > SE_QUERY_BYTES_MAX:
                            raise QuireError("invalid_query", "query",
                                             f"a query of {n} bytes, over 4096")
                        if not tokenizer_in_family(si.tokenizer):
                            si.check_text_query(text)
                        if terms is None:
                            terms, how = resolve_terms(si.tokenizer, text, known)
                        else:
                            how = "expected.json's analysis"
                    if terms is not None:
                        si.search_terms(terms, query_limit(t))
                except QuireError as e:
                    got = e
                stage = "verification"
                faults = a.verify_all()
        except QuireError as e:
            print(f"FAIL {label}: {e.kind} at {stage} ({e.where}: {e.message}); expected.json: "
                  f"{want} at {when} (every file opens and every entry reads)")
            failed += 1
            continue
        kinds = {e.kind for e in faults}
        if when == "search" and got is None and terms is None and text is not None:
            # the query could not be analysed here: the damage is looked for by full
            # verification, and the file is counted apart (never silently)
            unanalysed.append(name)
            if kinds == {want}:
                e = faults[0]
                print(f"ok   {label}: {e.kind} (verification; the query {text!r} not analysed: "
                      f"no tokenizer for {si.tokenizer!r}): {e.where}: {e.message}")
                passed += 1
            else:
                print(f"FAIL {label}: the query {text!r} not analysed (no tokenizer), and full "
                      f"verification found {sorted(kinds) or 'nothing'}, expected {want}")
                failed += 1
        elif when == "search":
            if got is None and kinds == {want}:
                # as §11's reject files: the right code at a later stage is a WARN (the stage
                # that §15.10 gives a check is the spec's to say: see SPEC_ISSUES §15)
                e = faults[0]
                print(f"ok   {label}: {e.kind} (verification): {e.where}: {e.message}")
                print(f"WARN {label}: the query {t.get('query')} answered"
                      + (f" (terms {terms}: {how})" if how else "")
                      + "; expected.json says the search fails, found by full verification")
                later.append(name)
                passed += 1
            elif got is None:
                print(f"FAIL {label}: the query {t.get('query')} answered"
                      + (f" (terms {terms}: {how})" if how else "") + f"; expected {want}, "
                      f"and full verification found {sorted(kinds) or 'nothing'}")
                failed += 1
            elif got.kind != want:
                print(f"FAIL {label}: got {got.kind} ({got.where}: {got.message}), "
                      f"expected {want}")
                failed += 1
            elif want == "damaged_search_index" and kinds != {want}:
                print(f"FAIL {label}: {got.kind} on the query, but full verification found "
                      f"{sorted(kinds) or 'nothing'}")
                failed += 1
            else:
                print(f"ok   {label}: {got.kind} (search {t.get('query')}"
                      + (f", terms {terms}: {how}" if how and got.kind != "unsupported_tokenizer"
                         and terms is not None else "")
                      + f"): {got.where}: {got.message}")
                passed += 1
        else:
            if kinds != {want}:
                print(f"FAIL {label}: full verification found {sorted(kinds) or 'nothing'}, "
                      f"expected {want}"
                      + (f" (the search failed: {got.kind}: {got.message})" if got else ""))
                failed += 1
                continue
            e = faults[0]
            print(f"ok   {label}: {e.kind} (verification): {e.where}: {e.message}"
                  + (f" (+{len(faults) - 1} more)" if len(faults) > 1 else ""))
            passed += 1
            if got is not None:
                print(f"WARN {label}: the query fails already ({got.kind}: {got.message}); "
                      f"expected.json says {when}")
    for name in sorted(set(os.listdir(rdir)) - listed):
        if name.endswith(".quire"):
            print(f"FAIL {prefix}{name}: not listed in expected.json")
            failed += 1
    if unanalysed:
        print(f"NOTE {prefix}: {len(unanalysed)} file(s) whose query text this reader cannot "
              f"analyse (no tokenizer) checked by full verification only: "
              f"{', '.join(unanalysed)}")
    if later:
        print(f"NOTE {prefix}: {len(later)} file(s) that expected.json says a search finds, "
              f"found by full verification only (the search answered, by §15.10's search "
              f"checks): {', '.join(later)}")
    return passed, failed


SEARCH_CODES = ("damaged_search_index", "unsupported_tokenizer", "invalid_query")


def _is_search_rejects(rdir):
    try:
        exp = json.load(open(os.path.join(rdir, "expected.json"), encoding="utf-8"))
        return any(t.get("code") in SEARCH_CODES for t in exp)
    except (OSError, ValueError, AttributeError):
        return False


def run_vectors(d):
    """The vectors of d: its accept vectors, those of d/jsonl/ if there is one (the JSON Lines
    vectors of §9, run the same way; `vectors spec/vectors/jsonl` runs them alone), and the
    reject files of d/reject/."""
    search = (os.path.basename(os.path.normpath(d)) == "search"
              or any(f.endswith(".terms.json") for f in os.listdir(d)))
    passed, failed = run_accept(d, search=search)
    jdir = os.path.join(d, "jsonl")
    if os.path.isdir(jdir):
        p, f = run_accept(jdir, "jsonl/")
        passed += p
        failed += f
    tdir = os.path.join(d, "titles")
    if os.path.isdir(tdir):
        p, f = run_accept(tdir, "titles/")
        passed += p
        failed += f
        trdir = os.path.join(tdir, "reject")
        if os.path.exists(os.path.join(trdir, "expected.json")):
            p, f = run_title_rejects(trdir, "titles/reject/")
            passed += p
            failed += f
    sdir = os.path.join(d, "search")
    if os.path.isdir(sdir):
        p, f = run_accept(sdir, "search/", search=True)
        passed += p
        failed += f
        srdir = os.path.join(sdir, "reject")
        if os.path.exists(os.path.join(srdir, "expected.json")):
            p, f = run_search_rejects(srdir, "search/reject/")
            passed += p
            failed += f
    rdir = os.path.join(d, "reject")
    if os.path.exists(os.path.join(rdir, "expected.json")) and _is_search_rejects(rdir):
        p, f = run_search_rejects(rdir, "reject/")   # `vectors spec/vectors/search` alone
        passed += p
        failed += f
    elif os.path.exists(os.path.join(rdir, "expected.json")):
        p, f = run_title_rejects(rdir, "reject/")   # `vectors spec/vectors/titles` alone
        passed += p
        failed += f
    elif os.path.isdir(rdir):
        exp = expected_kinds(rdir)
        when = expected_when(d)
        for name in sorted(os.listdir(rdir)):
            if not name.endswith(".quire"):
                continue
            path = os.path.join(rdir, name)
            stage = []
            try:
                check(path, stage)
            except QuireError as e:
                want = exp.get(name)
                if want is None or want == e.kind:
                    print(f"ok   reject/{name}: {e.kind} ({stage[-1]}): {e.where}: {e.message}"
                          + ("" if want else " (no expected kind listed)"))
                    passed += 1
                    if name in when and when[name] != stage[-1]:
                        print(f"WARN reject/{name}: shows at {stage[-1]}, the vectors' README "
                              f"says {when[name]}")
                else:
                    print(f"FAIL reject/{name}: got {e.kind} ({e.where}: {e.message}), "
                          f"expected {want}")
                    failed += 1
                continue
            except AssertionError as e:
                print(f"FAIL reject/{name}: wrong lookup answer: {e}")
                failed += 1
                continue
            print(f"FAIL reject/{name}: accepted")
            failed += 1
        missing = sorted(set(exp) - {n for n in os.listdir(rdir)})
        for name in missing:
            print(f"FAIL reject/{name}: listed in expected.txt but missing")
            failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def parse_query_args(args):
    """Analysed query arguments: a plain term, or a phrase as a JSON array of terms
    (offsets 0, 1, 2 …) or of [term, offset] pairs. Returns (terms, phrases)."""
    terms, phrases = [], []
    for x in args:
        if x.startswith("["):
            ph = json.loads(x)
            ph = [(t, i) if isinstance(t, str) else (t[0], t[1]) for i, t in enumerate(ph)]
            if len(ph) == 1:
                terms.append(ph[0][0])
            elif ph:
                phrases.append(ph)
        else:
            terms.append(x)
    return terms, phrases


def search_main(argv):
    """The search commands (§15): search-postings, search-terms, search, search-text."""
    cmd = argv[1]
    limit = None
    args = argv[2:]
    if cmd == "search" and "--limit" in args[:-1]:
        i = args.index("--limit")
        limit = int(args[i + 1])
        del args[i:i + 2]
    if not args or (cmd == "search-postings" and len(args) != 2) or (
            cmd == "search-terms" and len(args) != 1) or (
            cmd == "search-text" and len(args) not in (2, 3)):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        with open_archive(args[0]) as a:
            if not a.has_search():
                print("error: the archive has no full-text index (SEARCH)", file=sys.stderr)
                return 1
            si = a.search_index()
            if cmd == "search-postings":
                st = si.find_term(args[1])
                if st is None:
                    print(json.dumps({"term": args[1], "df": 0, "postings": []},
                                     ensure_ascii=False))
                    return 0
                posts = [[d, tf] for d, tf, _ in si.postings(st)]
                print(json.dumps({"term": args[1], "df": st.df, "list": st.kind,
                                  "postings": posts}, ensure_ascii=False))
                return 0
            if cmd == "search-terms":
                for k in range(len(si.term_pages)):
                    for st in si.term_page(k):
                        posts = [[d, tf] for d, tf, _ in si.postings(st)]
                        print(json.dumps({"term": st.term.decode("utf-8"), "df": st.df,
                                          "postings": posts}, ensure_ascii=False))
                return 0
            if cmd == "search-text":
                si.check_text_query(args[1])   # unsupported_tokenizer: no tokenizer here
                return 1
            terms, phrases = parse_query_args(args[1:])
            all_terms = terms + [t for ph in phrases for t, _ in ph]
            cand = si.candidates(all_terms)
            if phrases:
                print(f"note: {len(phrases)} phrase(s) not checked against the text (no "
                      f"tokenizer): these are the conjunctive candidates, a superset of the "
                      f"results", file=sys.stderr)
            elif limit is not None:
                cand = cand[:limit]
            for score, d in cand:
                key, title, score, d = si.result(score, d)
                si.result_entry(d)   # read by its row's key, as a reader showing it does
                print(json.dumps([key, title, score], ensure_ascii=False))
            return 0
    except QuireError as e:
        print(f"error {e.kind}: {e.message} ({e.where})", file=sys.stderr)
        return 1


def main(argv):
    if len(argv) >= 3 and argv[1] in ("search", "search-postings", "search-terms",
                                      "search-text"):
        return search_main(argv)
    if len(argv) >= 4 and argv[1] == "suggest" and len(argv) <= 5:
        try:
            with open_archive(argv[2]) as a:
                res = a.suggest(argv[3], int(argv[4]) if len(argv) == 5 else None)
        except QuireError as e:
            print(f"error {e.kind}: {e.message} ({e.where})", file=sys.stderr)
            return 1
        for key, title, kind in res:
            print(json.dumps([key, title, kind], ensure_ascii=False))
        return 0
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
        notes = []
        faults = check_all(arg, notes)
        for e in faults:
            print(f"error {e.kind}: {e.message} ({e.where})")
        for n in notes:
            print(f"note: {n}")
        if faults:
            return 1
        print("ok")
        return 0
    return run_vectors(arg)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
