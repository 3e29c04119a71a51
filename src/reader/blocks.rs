//! Blocks (§5): the dictionary, decompression contexts kept for reuse, fetching a block
//! through the checksum chain (stored CRC, frame rules, decompressed CRC) and the cache of
//! decompressed blocks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::Ctx;
use crate::error::{DamageKind, Location, ReadError, ReadResult, Rule};
use crate::format::blocks::{check_frame, check_window};
use crate::format::{self, BlockRecord, Codec, SectionId};
use zstd::zstd_safe::{DCtx, DDict};

/// Damaged blocks remembered (by number and CRCs) so that they are not decoded again; the
/// memory is cleared when full.
pub(crate) const FAILED_BLOCKS: usize = 4096;

/// Decompressed bytes of a block, shared between the cache and readers.
pub(crate) type BlockBytes = Arc<Vec<u8>>;

/// A reusable decompression context. None holds a dictionary: every one decompresses codec
/// 2 with the archive's single copy (raw content in place, a trained one's shared tables),
/// so memory does not grow with the number of threads reading, and the first read after
/// open copies nothing.
#[derive(Default)]
pub(crate) struct Scratch {
    dctx: Option<DCtx<'static>>,
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
            .unwrap_or_default()
    }

    fn put(&self, s: Scratch) {
        if let Ok(mut p) = self.0.lock() {
            if p.len() < 64 {
                p.push(s);
            }
        }
    }
}

/// Recently decompressed blocks, bounded in count and in bytes; the least recently used
/// goes first.
pub(crate) struct BlockCache {
    capacity: usize,
    budget: usize,
    used: usize,
    tick: u64,
    /// Block number → (its raw CRC, bytes, last use).
    blocks: HashMap<u32, (u32, BlockBytes, u64)>,
}

impl BlockCache {
    /// Forgets every block.
    pub(crate) fn clear(&mut self) {
        let (capacity, budget) = (self.capacity, self.budget);
        *self = BlockCache::new(capacity, budget);
    }

    /// Up to `capacity` blocks and `budget` bytes.
    pub(crate) fn new(capacity: usize, budget: usize) -> Self {
        BlockCache {
            capacity,
            budget,
            used: 0,
            tick: 0,
            blocks: HashMap::new(),
        }
    }

    fn get(&mut self, number: u32, raw_crc: u32) -> Option<BlockBytes> {
        self.tick += 1;
        let tick = self.tick;
        let hit = self
            .blocks
            .get_mut(&number)
            .filter(|(c, _, _)| *c == raw_crc)?;
        hit.2 = tick;
        Some(Arc::clone(&hit.1))
    }

    fn put(&mut self, number: u32, raw_crc: u32, data: BlockBytes) {
        if self.capacity == 0 || data.len() > self.budget / 2 {
            return;
        }
        if let Some((_, old, _)) = self.blocks.remove(&number) {
            self.used -= old.len();
        }
        while !self.blocks.is_empty()
            && (self.blocks.len() >= self.capacity || self.used + data.len() > self.budget)
        {
            // The least recently used: a scan, done only when the cache is full.
            let oldest = self.blocks.iter().min_by_key(|(_, v)| v.2).map(|(k, _)| *k);
            if let Some((_, old, _)) = oldest.and_then(|k| self.blocks.remove(&k)) {
                self.used -= old.len();
            }
        }
        self.tick += 1;
        self.used += data.len();
        self.blocks.insert(number, (raw_crc, data, self.tick));
    }
}

/// The DICT section is one zstd frame (§5) that declares its content size, at most
/// `MAX_DICT_LEN`; its content is the dictionary: raw content when `raw` (the RAW_DICT
/// flag), else a trained dictionary. Which one it is shows in its first four bytes, and
/// zstd goes by them, so they must agree with the flag.
pub(crate) fn unpack_dictionary(stored: &[u8], raw: bool) -> Result<Vec<u8>, DamageKind> {
    let declared = zstd::zstd_safe::get_frame_content_size(stored)
        .ok()
        .flatten()
        .filter(|&d| d > 0)
        .ok_or(DamageKind::NotAFrame)?;
    if declared > format::MAX_DICT_LEN {
        return Err(DamageKind::OverLimit {
            value: declared,
            limit: format::MAX_DICT_LEN,
        });
    }
    if zstd::zstd_safe::find_frame_compressed_size(stored).ok() != Some(stored.len()) {
        return Err(DamageKind::NotAFrame);
    }
    check_window(stored, declared).map_err(DamageKind::Frame)?;
    let dict =
        zstd::bulk::decompress(stored, declared as usize).map_err(|_| DamageKind::Undecodable)?;
    if dict.len() as u64 != declared {
        return Err(DamageKind::WrongLength {
            expected: declared,
            actual: dict.len() as u64,
        });
    }
    if raw == dict.starts_with(&format::ZSTD_DICT_MAGIC) {
        return Err(DamageKind::Violates(Rule::DictKind));
    }
    Ok(dict)
}

impl<'a> Ctx<'a> {
    /// The dictionary bytes, read, CRC-checked and decompressed once (`None` when the
    /// archive has none).
    pub(crate) fn dictionary(&self) -> ReadResult<Option<&'a [u8]>> {
        let st = self.st;
        let range = st.layout.range(SectionId::Dict);
        if range.is_empty() {
            return Ok(None);
        }
        let dict = match st.dict.get() {
            Some(d) => d,
            None => {
                // A failed read (a network error, a timeout) is not damage: it is returned,
                // not kept, and the next use tries again.
                let stored = self.read(range.start, (range.end - range.start) as usize)?;
                let crc = st.layout.record(SectionId::Dict).map_or(0, |r| r.crc);
                let checked = if format::crc32(&stored) != crc {
                    if let err @ ReadError::Io { .. } = self.checksum_failed(Location::Dictionary) {
                        return Err(err);
                    }
                    Err(DamageKind::ChecksumMismatch)
                } else {
                    let raw = st.layout.header.required_flags & format::REQUIRED_RAW_DICT != 0;
                    unpack_dictionary(&stored, raw)
                };
                st.dict.get_or_init(|| checked)
            }
        };
        match dict {
            Ok(d) => Ok(Some(d.as_slice())),
            Err(kind) => Err(ReadError::damaged(Location::Dictionary, *kind)),
        }
    }

    /// A trained dictionary digested once for every context; an error if zstd refuses it.
    fn trained(&self, dict: &[u8]) -> ReadResult<&'a DDict<'static>> {
        self.st
            .trained
            .get_or_init(|| DDict::try_create(dict))
            .as_ref()
            .ok_or(ReadError::damaged(
                Location::Dictionary,
                DamageKind::Undecodable,
            ))
    }

    /// Checks a block record against the header and DATA (§5, §11). Pages are checked whole
    /// when read, so this only guards records that come from elsewhere.
    fn check_record(&self, rec: &BlockRecord) -> ReadResult<Codec> {
        let data = self.st.layout.range(SectionId::Data);
        super::nodes::check_record(rec, &self.st.layout.header, data.end - data.start)
            .map_err(|kind| ReadError::damaged(Location::Block(rec.number), kind))
    }

    /// Block `rec`'s decompressed bytes: its stored bytes read and checked against
    /// `stored_crc`, its frame against §5, its decompressed bytes against `raw_crc` (or from
    /// the block cache, when `use_cache` and the cache is on).
    pub(crate) fn block(&self, rec: &BlockRecord, use_cache: bool) -> ReadResult<BlockBytes> {
        let codec = self.check_record(rec)?;
        let cache = self.st.blocks.as_ref().filter(|_| use_cache);
        if let Some(hit) = cache.and_then(|c| c.lock().ok()?.get(rec.number, rec.raw_crc)) {
            return Ok(hit);
        }
        // A block found damaged is not decoded again: each entry read from it would otherwise
        // cost a whole block (a few bytes an entry against 4 MiB a block).
        let key = (rec.number, rec.stored_crc, rec.raw_crc);
        if let Some(kind) = self
            .st
            .failed
            .lock()
            .ok()
            .and_then(|f| f.get(&key).copied())
        {
            return Err(ReadError::damaged(Location::Block(rec.number), kind));
        }
        let got = self.decode_block(rec, codec);
        if let Err(ReadError::Damaged { at, kind }) = &got {
            if *at == Location::Block(rec.number) {
                if let Ok(mut f) = self.st.failed.lock() {
                    if f.len() >= FAILED_BLOCKS {
                        f.clear();
                    }
                    f.insert(key, *kind);
                }
            }
        }
        let raw = got?;
        if let Some(c) = cache {
            if let Ok(mut c) = c.lock() {
                c.put(rec.number, rec.raw_crc, Arc::clone(&raw));
            }
        }
        Ok(raw)
    }

    /// Reads, checks and decompresses block `rec` (§5).
    fn decode_block(&self, rec: &BlockRecord, codec: Codec) -> ReadResult<BlockBytes> {
        let at = Location::Block(rec.number);
        let data = self.st.layout.range(SectionId::Data);
        self.st.counters.block_decompressed();
        let start = data.start + rec.offset;
        if codec == Codec::ZstdDict && self.st.dict.get().is_none() {
            // The first block that needs the dictionary: ask for both at once (one round
            // trip over a network, not two).
            let dict = self.st.layout.range(SectionId::Dict);
            self.src
                .prefetch(&[dict, start..start + u64::from(rec.stored_len)]);
        }
        let stored = self.read(start, rec.stored_len as usize)?;
        if format::crc32(&stored) != rec.stored_crc {
            return Err(self.checksum_failed(at));
        }
        let raw = match codec {
            Codec::Raw => stored.into_owned(),
            _ => {
                check_frame(&stored, rec.raw_len)
                    .map_err(|p| ReadError::damaged(at, DamageKind::Frame(p)))?;
                self.decompress(codec, rec, &stored)?
            }
        };
        if format::crc32(&raw) != rec.raw_crc {
            return Err(ReadError::damaged(at, DamageKind::DecodedChecksumMismatch));
        }
        Ok(Arc::new(raw))
    }

    /// Decompresses `stored` (codec 1, or 2 with the dictionary) into exactly `raw_len` bytes.
    fn decompress(&self, codec: Codec, rec: &BlockRecord, stored: &[u8]) -> ReadResult<Vec<u8>> {
        let at = Location::Block(rec.number);
        let undecodable = || ReadError::damaged(at, DamageKind::Undecodable);
        let dict = match codec {
            Codec::ZstdDict => Some(
                self.dictionary()?
                    .ok_or(ReadError::violates(Location::Prelude, Rule::DictFlag))?,
            ),
            _ => None,
        };
        // Raw content is used where it is; a trained dictionary through its shared tables.
        let raw = self.st.layout.header.required_flags & format::REQUIRED_RAW_DICT != 0;
        let tables = match dict {
            Some(d) if !raw => Some(self.trained(d)?),
            _ => None,
        };
        let mut s = self.st.pool.take();
        if s.dctx.is_none() {
            s.dctx = DCtx::try_create();
        }
        let Some(dctx) = s.dctx.as_mut() else {
            return Err(undecodable());
        };
        let mut buf = Vec::with_capacity(rec.raw_len as usize);
        let result = match (tables, dict) {
            (Some(t), _) => dctx.decompress_using_ddict(&mut buf, stored, t),
            (None, Some(d)) => dctx.decompress_using_dict(&mut buf, stored, d),
            (None, None) => dctx.decompress(&mut buf, stored),
        };
        let done = match result {
            Ok(n) if n == rec.raw_len as usize && buf.len() == n => Ok(buf),
            Ok(n) => Err(ReadError::damaged(
                at,
                DamageKind::WrongLength {
                    expected: rec.raw_len.into(),
                    actual: n as u64,
                },
            )),
            Err(_) => Err(undecodable()),
        };
        self.st.pool.put(s);
        done
    }
}
