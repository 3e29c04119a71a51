//! Blocks (§5): checking a block record, the dictionary, decompression contexts kept for
//! reuse, and the optional cache of decompressed blocks.

use std::sync::{Arc, Mutex};

use super::view::View;
use crate::error::{DamageKind, Location, ReadError, ReadResult, Rule};
use crate::format::bytes::{array_at, slice_at};
use crate::format::{self, BlockRecord, Codec, SectionId, BLOCK_RECORD_LEN};

/// Reusable decompression contexts and an output buffer.
pub(crate) struct Scratch {
    /// A context without dictionary, for codec 1.
    plain: Option<zstd::bulk::Decompressor<'static>>,
    /// A context with the archive dictionary loaded, for codec 2.
    with_dict: Option<zstd::bulk::Decompressor<'static>>,
    buf: Vec<u8>,
}

/// Decompression contexts kept for the archive's life, so a lookup does not rebuild one.
#[derive(Default)]
pub(crate) struct ScratchPool(Mutex<Vec<Scratch>>);

impl ScratchPool {
    fn take(&self) -> Scratch {
        self.0
            .lock()
            .ok()
            .and_then(|mut p| p.pop())
            .unwrap_or(Scratch {
                plain: None,
                with_dict: None,
                buf: Vec::new(),
            })
    }

    fn put(&self, mut s: Scratch) {
        if s.buf.capacity() > 4 << 20 {
            s.buf = Vec::new();
        }
        if let Ok(mut p) = self.0.lock() {
            if p.len() < 64 {
                p.push(s);
            }
        }
    }
}

/// A small most-recently-used list of decompressed blocks, for sequential readers.
pub(crate) struct BlockCache {
    capacity: usize,
    blocks: Vec<(u32, Arc<[u8]>)>,
}

impl BlockCache {
    pub(crate) fn new(capacity: usize) -> Self {
        BlockCache {
            capacity,
            blocks: Vec::with_capacity(capacity),
        }
    }

    fn get(&mut self, block: u32) -> Option<Arc<[u8]>> {
        let i = self.blocks.iter().position(|(b, _)| *b == block)?;
        let hit = self.blocks.remove(i);
        let data = Arc::clone(&hit.1);
        self.blocks.push(hit);
        Some(data)
    }

    fn put(&mut self, block: u32, data: Arc<[u8]>) {
        if self.blocks.len() >= self.capacity {
            self.blocks.remove(0);
        }
        self.blocks.push((block, data));
    }
}

/// The DICT section is one zstd frame (§5) that declares its content size, at most
/// `MAX_DICT_LEN`; its content is the dictionary: raw content when `raw` (the RAW_DICT
/// flag), else a trained dictionary. Which one it is shows in its first four bytes, and
/// zstd goes by them, so they must agree with the flag.
pub(crate) fn unpack_dictionary(stored: &[u8], raw: bool) -> ReadResult<Vec<u8>> {
    let at = Location::Dictionary;
    let declared = zstd::zstd_safe::get_frame_content_size(stored)
        .ok()
        .flatten()
        .ok_or(ReadError::damaged(at, DamageKind::NotAFrame))?;
    if declared == 0 {
        return Err(ReadError::damaged(at, DamageKind::NotAFrame));
    }
    if declared > format::MAX_DICT_LEN {
        let limit = format::MAX_DICT_LEN;
        return Err(ReadError::damaged(
            at,
            DamageKind::OverLimit {
                value: declared,
                limit,
            },
        ));
    }
    let dict = zstd::bulk::decompress(stored, declared as usize)
        .map_err(|_| ReadError::damaged(at, DamageKind::Undecodable))?;
    if dict.len() as u64 != declared {
        return Err(ReadError::damaged(
            at,
            DamageKind::WrongLength {
                expected: declared,
                actual: dict.len() as u64,
            },
        ));
    }
    if raw == dict.starts_with(&format::ZSTD_DICT_MAGIC) {
        return Err(ReadError::violates(at, Rule::DictKind));
    }
    Ok(dict)
}

impl<'a> View<'a> {
    /// The block record `block`, checked against the header and the data section.
    pub(crate) fn block(&self, block: u32) -> ReadResult<BlockRecord> {
        let h = self.header();
        let at = Location::Block(block);
        if u64::from(block) >= h.block_count {
            return Err(ReadError::damaged(
                at,
                DamageKind::NoSuchBlock(u64::from(block)),
            ));
        }
        let table = self.section(SectionId::Blocks)?;
        let raw: &[u8; BLOCK_RECORD_LEN] =
            array_at(table, u64::from(block) * BLOCK_RECORD_LEN as u64).ok_or(
                ReadError::violates(Location::Section(SectionId::Blocks), Rule::SectionLength),
            )?;
        let rec = BlockRecord::decode(raw).ok_or(ReadError::checksum(at))?;
        if rec.raw_len == 0 || rec.raw_len > h.max_block_len {
            return Err(ReadError::violates(at, Rule::BlockLength));
        }
        let stream_end = rec.stream_offset.checked_add(u64::from(rec.raw_len));
        if stream_end.is_none_or(|e| e > h.stream_len) {
            return Err(ReadError::violates(at, Rule::StreamOffset));
        }
        let data = self.layout().range(SectionId::Data);
        let end = rec.offset.checked_add(u64::from(rec.stored_len));
        if rec.offset < data.start || end.is_none_or(|e| e > data.end) {
            return Err(ReadError::violates(at, Rule::BlockInData));
        }
        match Codec::from_u8(rec.codec) {
            None => return Err(ReadError::damaged(at, DamageKind::UnknownCodec(rec.codec))),
            Some(Codec::Raw) if rec.stored_len != rec.raw_len => {
                return Err(ReadError::violates(at, Rule::RawBlockLength))
            }
            _ => {}
        }
        Ok(rec)
    }

    /// The dictionary bytes, CRC-checked and decompressed once (`None` when the archive
    /// has none).
    pub(crate) fn dictionary(&self) -> ReadResult<Option<&'a [u8]>> {
        let d = self.section(SectionId::Dict)?;
        if d.is_empty() {
            return Ok(None);
        }
        let shared = self.shared();
        let dict = shared.dict.get_or_init(|| {
            let bytes = self.bytes;
            shared
                .layout
                .check_crc(bytes, SectionId::Dict)
                .map_err(|e| e.damage())?;
            let raw = shared.layout.header.required_flags & format::REQUIRED_RAW_DICT != 0;
            unpack_dictionary(d, raw).map_err(|e| e.damage())
        });
        match dict {
            Ok(d) => Ok(Some(d.as_slice())),
            Err(kind) => Err(ReadError::damaged(
                Location::Dictionary,
                kind.unwrap_or(DamageKind::Undecodable),
            )),
        }
    }

    /// Decompresses `stored` into `s.buf` with the context its codec needs.
    fn decompress(
        &self,
        s: &mut Scratch,
        codec: Codec,
        block: u32,
        stored: &[u8],
        raw_len: u32,
    ) -> ReadResult<()> {
        let at = Location::Block(block);
        let undecodable = || ReadError::damaged(at, DamageKind::Undecodable);
        let ctx = match codec {
            Codec::ZstdDict => {
                if s.with_dict.is_none() {
                    let dict = self
                        .dictionary()?
                        .ok_or(ReadError::violates(Location::Header, Rule::DictFlag))?;
                    let d = zstd::bulk::Decompressor::with_dictionary(dict).map_err(|_| {
                        ReadError::damaged(Location::Dictionary, DamageKind::Undecodable)
                    })?;
                    s.with_dict = Some(d);
                }
                &mut s.with_dict
            }
            _ => {
                if s.plain.is_none() {
                    s.plain = Some(zstd::bulk::Decompressor::new().map_err(|_| undecodable())?);
                }
                &mut s.plain
            }
        };
        let Some(ctx) = ctx.as_mut() else {
            return Err(undecodable());
        };
        s.buf.clear();
        s.buf.reserve_exact(raw_len as usize);
        match ctx.decompress_to_buffer(stored, &mut s.buf) {
            Ok(n) if n == raw_len as usize && s.buf.len() == n => Ok(()),
            Ok(n) => Err(ReadError::damaged(
                at,
                DamageKind::WrongLength {
                    expected: u64::from(raw_len),
                    actual: n as u64,
                },
            )),
            Err(_) => Err(undecodable()),
        }
    }

    /// Runs `f` over block `block`'s uncompressed bytes, after checking its data CRC
    /// (or from the block cache, when one is on).
    pub(crate) fn with_block<T>(&self, block: u32, f: impl FnOnce(&[u8]) -> T) -> ReadResult<T> {
        self.with_block_from(block, true, f)
    }

    /// Like [`with_block`](Self::with_block); `use_cache: false` always reads and checks
    /// the stored bytes (for verification).
    pub(crate) fn with_block_from<T>(
        &self,
        block: u32,
        use_cache: bool,
        f: impl FnOnce(&[u8]) -> T,
    ) -> ReadResult<T> {
        let rec = self.block(block)?;
        let at = Location::Block(block);
        let stored = slice_at(self.bytes, rec.offset, u64::from(rec.stored_len))
            .ok_or(ReadError::violates(at, Rule::BlockInData))?;
        if format::crc32(stored) != rec.data_crc {
            return Err(ReadError::checksum(at));
        }
        let codec = Codec::from_u8(rec.codec).unwrap_or(Codec::Raw);
        if codec == Codec::Raw {
            return Ok(f(stored));
        }
        let shared = self.shared();
        let cache = shared.cache.as_ref().filter(|_| use_cache);
        if let Some(hit) = cache.and_then(|c| c.lock().ok()?.get(block)) {
            return Ok(f(&hit));
        }
        let mut s = shared.pool.take();
        let done = self.decompress(&mut s, codec, block, stored, rec.raw_len);
        if let (Ok(()), Some(c)) = (&done, cache) {
            if let Ok(mut c) = c.lock() {
                c.put(block, Arc::from(&s.buf[..]));
            }
        }
        let out = done.map(|()| f(&s.buf));
        shared.pool.put(s);
        out
    }
}
