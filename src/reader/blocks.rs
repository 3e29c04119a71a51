//! Blocks (§5): the dictionary, decompression contexts kept for reuse, fetching a block
//! through the checksum chain (stored CRC, frame rules, decompressed CRC) and the cache of
//! decompressed blocks.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex};

use super::dict_bytes::DictBytes;
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

impl Scratch {
    /// The context, made on first use; None if zstd cannot make one.
    pub(crate) fn dctx(&mut self) -> Option<&mut DCtx<'static>> {
        if self.dctx.is_none() {
            self.dctx = DCtx::try_create();
        }
        self.dctx.as_mut()
    }
}

/// Decompression contexts kept for the archive's life, so a lookup does not rebuild one.
#[derive(Default)]
pub(crate) struct ScratchPool(Mutex<Vec<Scratch>>);

impl ScratchPool {
    pub(crate) fn take(&self) -> Scratch {
        self.0
            .lock()
            .ok()
            .and_then(|mut p| p.pop())
            .unwrap_or_default()
    }

    pub(crate) fn put(&self, s: Scratch) {
        if let Ok(mut p) = self.0.lock() {
            if p.len() < 64 {
                p.push(s);
            }
        }
    }
}

/// Decompressed blocks, bounded in count and in bytes. Which block goes when it is full is
/// decided by frequency with aging (Greedy-Dual-Size-Frequency with a cost proportional to
/// size, so priority = age + uses): a block read often stays, whatever its size, and a
/// block read once leaves first. With random lookups, a block that holds many small entries
/// is read many times for each read of a block that holds one long page, so the cache keeps
/// the many small ones and the reads that find their block here are most of the reads
/// (`BENCHMARKS.md`, issue 25: the website's median read).
pub(crate) struct BlockCache {
    capacity: usize,
    budget: usize,
    used: usize,
    /// The priority of the last block evicted: new blocks start above it, so blocks that
    /// were used often long ago age out.
    age: u64,
    /// Block number → its entry.
    blocks: HashMap<u32, Cached, BuildHasherDefault<BlockHasher>>,
}

/// Hashes a block number with one multiplication (Fibonacci hashing) instead of SipHash: a
/// cache hit is most of a warm read's work besides the copy. Block numbers come from the
/// file, so a hostile archive could choose ones that collide; that costs probes in a table
/// of at most the cache's block count, never memory.
#[derive(Default)]
pub(crate) struct BlockHasher(u64);

impl Hasher for BlockHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// One block in the [`BlockCache`].
struct Cached {
    raw_crc: u32,
    bytes: BlockBytes,
    /// Reads since it came in.
    uses: u64,
    /// `age` when it came in (or was last read) plus `uses`.
    priority: u64,
}

impl BlockCache {
    /// Forgets every block.
    pub(crate) fn clear(&mut self) {
        let (capacity, budget) = (self.capacity, self.budget);
        *self = BlockCache::new(capacity, budget);
    }

    /// Lets the cache hold up to `budget` bytes, if that is more than it may now.
    pub(crate) fn raise_budget(&mut self, budget: usize) {
        self.budget = self.budget.max(budget);
    }

    /// Up to `capacity` blocks and `budget` bytes.
    pub(crate) fn new(capacity: usize, budget: usize) -> Self {
        BlockCache {
            capacity,
            budget,
            used: 0,
            age: 0,
            blocks: HashMap::default(),
        }
    }

    fn get(&mut self, number: u32, raw_crc: u32) -> Option<BlockBytes> {
        let age = self.age;
        let hit = self
            .blocks
            .get_mut(&number)
            .filter(|c| c.raw_crc == raw_crc)?;
        hit.uses = hit.uses.saturating_add(1);
        hit.priority = age.saturating_add(hit.uses);
        Some(Arc::clone(&hit.bytes))
    }

    /// Keeps `data` only if there is room for it without evicting a block.
    fn put_spare(&mut self, number: u32, raw_crc: u32, data: BlockBytes) {
        let room = self.blocks.len() < self.capacity
            && self.used.saturating_add(data.len()) <= self.budget
            && !self.blocks.contains_key(&number);
        if room {
            self.put(number, raw_crc, data);
        }
    }

    fn put(&mut self, number: u32, raw_crc: u32, data: BlockBytes) {
        if self.capacity == 0 || data.len() > self.budget / 2 {
            return;
        }
        if let Some(old) = self.blocks.remove(&number) {
            self.used -= old.bytes.len();
        }
        while !self.blocks.is_empty()
            && (self.blocks.len() >= self.capacity || self.used + data.len() > self.budget)
        {
            // The lowest priority (the oldest among equals): a scan, done only when full.
            let lowest = self
                .blocks
                .iter()
                .min_by_key(|(_, c)| c.priority)
                .map(|(k, c)| (*k, c.priority));
            if let Some((k, priority)) = lowest {
                self.age = self.age.max(priority);
                if let Some(old) = self.blocks.remove(&k) {
                    self.used -= old.bytes.len();
                }
            }
        }
        self.used += data.len();
        let priority = self.age.saturating_add(1);
        self.blocks.insert(
            number,
            Cached {
                raw_crc,
                bytes: data,
                uses: 1,
                priority,
            },
        );
    }
}

/// The DICT section is one zstd frame (§5) that declares its content size, at most
/// `MAX_DICT_LEN`; its content is the dictionary: raw content when `raw` (the RAW_DICT
/// flag), else a trained dictionary. Which one it is shows in its first four bytes, and
/// zstd goes by them, so they must agree with the flag.
pub(crate) fn unpack_dictionary(
    dctx: &mut DCtx<'_>,
    stored: &[u8],
    raw: bool,
) -> Result<DictBytes, DamageKind> {
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
    // `declared` is at most MAX_DICT_LEN (16 MiB), checked above.
    let mut dict = DictBytes::for_decoding(declared as usize);
    let n = dctx
        .decompress(dict.as_mut_slice(), stored)
        .map_err(|_| DamageKind::Undecodable)?;
    if n as u64 != declared {
        return Err(DamageKind::WrongLength {
            expected: declared,
            actual: n as u64,
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
                let raw = st.layout.header.required_flags & format::REQUIRED_RAW_DICT != 0;
                let checked = if format::crc32(&stored) != crc {
                    if let err @ ReadError::Io { .. } = self.checksum_failed(Location::Dictionary) {
                        return Err(err);
                    }
                    Err(DamageKind::ChecksumMismatch)
                } else {
                    // The context the first block will take from the pool: one context
                    // made, not two.
                    let mut s = self.st.pool.take();
                    let got = match s.dctx() {
                        Some(dctx) => unpack_dictionary(dctx, &stored, raw),
                        None => Err(DamageKind::Undecodable),
                    };
                    self.st.pool.put(s);
                    got
                };
                let dict = st.dict.get_or_init(|| checked);
                // The default cache takes what the dictionary's real size leaves (§12).
                if let (Ok(d), true, Some(cache)) = (dict, st.cache_auto, st.blocks.as_ref()) {
                    let footprint = super::dict_footprint(d.resident(), raw);
                    let budget =
                        super::default_cache_budget(st.layout.header.max_block_len, footprint);
                    if let Ok(mut cache) = cache.lock() {
                        cache.raise_budget(budget);
                    }
                }
                dict
            }
        };
        match dict {
            Ok(d) => Ok(Some(d)),
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
        // A stored block (codec 0) costs a checksum and a copy to read again: it takes only
        // room the cache has free, never a block that costs a decompression (a website's
        // images, read again and again, are then a lookup, not a checksum and two copies).
        if let Some(c) = cache {
            if let Ok(mut c) = c.lock() {
                if codec == Codec::Raw {
                    c.put_spare(rec.number, rec.raw_crc, Arc::clone(&raw));
                } else {
                    c.put(rec.number, rec.raw_crc, Arc::clone(&raw));
                }
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
            // The stored bytes are the block: their checksum, just computed, is `raw_crc`'s.
            Codec::Raw if rec.raw_crc == rec.stored_crc => {
                return Ok(Arc::new(stored.into_owned()))
            }
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
        let Some(dctx) = s.dctx() else {
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
