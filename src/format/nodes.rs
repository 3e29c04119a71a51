//! §6 The index: pages (§6.2) and branches (§6.3).
//!
//! A page is a run of entries in key order with the records of the blocks they are stored in;
//! a branch lists its children's entry counts, lengths, CRCs and separators. Both are at most
//! 16 KiB (the root, inside the prelude, is bounded by it). A node in INDEX may be stored
//! packed (§6.5): its kind byte says so, and one zstd frame of the node follows.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::blocks::{check_frame, BlockRecord, FrameProblem, MAX_BLOCK_LEN};
use super::bytes::{put_varint, varint_len, Cursor};
use super::entries::{
    check_content_of, EntryDecoder, EntryEncoder, EntryRecord, MAX_KEY_LEN, RESTART_INTERVAL,
};
use crate::error::{DamageKind, Rule};

/// Largest node outside the prelude (§6.1).
pub const MAX_NODE_LEN: usize = 16384;
/// Most entries in a page, or children in a branch (§6.1).
pub const MAX_NODE_ITEMS: usize = 65535;
/// Node kind byte: page (§6.2).
pub const KIND_PAGE: u8 = 0;
/// Node kind byte: branch (§6.3).
pub const KIND_BRANCH: u8 = 1;
/// Node kind byte: a packed node (§6.5), one zstd frame whose content is a page or a branch.
/// Only in INDEX, and only with the PACKED_NODES flag.
pub const KIND_PACKED: u8 = 2;
/// A packed node's content is at most this many times the packed node's length (§6.5), so
/// that unpacking a walk's nodes is work proportional to INDEX's length.
pub const PACKED_RATIO: usize = 16;
/// The zstd level the quire writer packs nodes at (a node is at most 16 KiB).
pub const PACK_LEVEL: i32 = 19;
/// The shortest match the writer's node frames use (level 19 would take 3). A node is
/// decompressed on its first use, the first article after open included, and a frame of
/// fewer, longer matches decodes faster: a `quire get` of short entries (256 KiB dictionary,
/// 16 KiB pages) takes 4 % more instructions than with raw pages at 6, against 8 % at 3,
/// for an INDEX 3.5 % larger than at 3 (0.25 % of the archive).
pub const PACK_MIN_MATCH: u32 = 6;

/// The node stored as `stored` (§6.5): `stored` itself when its kind byte is not
/// [`KIND_PACKED`]; otherwise, when `packed_allowed` (the PACKED_NODES flag), the content of
/// the zstd frame after the kind byte. The frame follows §5's rules for a block of codec 1
/// (one frame filling the rest, `Frame_Content_Size` present, no checksum, no dictionary id,
/// the window rule), declares `1 ..= 16384` bytes and at most [`PACKED_RATIO`] × the packed
/// node's length — checked from its header before anything is decompressed — and yields
/// exactly that many. What comes out is checked as a node by the caller (a packed node
/// holding a packed node fails there: its kind matches no level).
///
/// ```
/// use quire::format::nodes::{pack_node, unpack_node, KIND_BRANCH};
/// let mut node = vec![KIND_BRANCH];
/// let mut x = 7u32;
/// for _ in 0..300 {
///     x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
///     let section = ["world", "sport", "arts"][(x >> 16) as usize % 3];
///     node.extend_from_slice(format!("news/{section}/{};", x % 100_000).as_bytes());
/// }
/// let packed = pack_node(&node).expect("these bytes pack, within the ratio bound");
/// assert!(packed.len() < node.len());
/// assert_eq!(unpack_node(&packed, true).unwrap().as_ref(), node.as_slice());
/// assert!(unpack_node(&packed, false).is_err(), "only with the PACKED_NODES flag");
/// assert_eq!(unpack_node(&node, false).unwrap().as_ref(), node.as_slice());
/// ```
pub fn unpack_node(stored: &[u8], packed_allowed: bool) -> Result<Cow<'_, [u8]>, DamageKind> {
    unpack_node_with(stored, packed_allowed, |frame, len| {
        zstd::bulk::decompress(frame, len).ok()
    })
}

/// [`unpack_node`], decompressing with `decompress(frame, len)`: the frame's content into
/// a buffer of `len` bytes (`None` when it does not decode or needs more room), so that a
/// reader can use a decompression context it keeps.
pub(crate) fn unpack_node_with(
    stored: &[u8],
    packed_allowed: bool,
    decompress: impl FnOnce(&[u8], usize) -> Option<Vec<u8>>,
) -> Result<Cow<'_, [u8]>, DamageKind> {
    let Some((&KIND_PACKED, frame)) = stored.split_first() else {
        return Ok(Cow::Borrowed(stored));
    };
    if !packed_allowed {
        return Err(DamageKind::Violates(Rule::NodeKind));
    }
    let limit = MAX_NODE_LEN.min(PACKED_RATIO.saturating_mul(stored.len()));
    let declared = match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(n)) => n,
        Ok(None) => return Err(DamageKind::Frame(FrameProblem::ContentSize)),
        Err(_) => return Err(DamageKind::Frame(FrameProblem::NotAFrame)),
    };
    let len = match usize::try_from(declared) {
        Ok(n) if (1..=limit).contains(&n) => n,
        _ => return Err(DamageKind::Violates(Rule::PackedNode)),
    };
    // `len` ≤ 16384, so it fits the frame rules' `u32`.
    check_frame(frame, len as u32).map_err(DamageKind::Frame)?;
    let out = decompress(frame, len).ok_or(DamageKind::Undecodable)?;
    if out.len() != len {
        return Err(DamageKind::WrongLength {
            expected: declared,
            actual: out.len() as u64,
        });
    }
    Ok(Cow::Owned(out))
}

/// `node` packed (§6.5) at [`PACK_LEVEL`] with matches of at least [`PACK_MIN_MATCH`]
/// bytes, when that is shorter than the node and within
/// [`PACKED_RATIO`]; `None` when the node is better stored as it is.
pub fn pack_node(node: &[u8]) -> Option<Vec<u8>> {
    let mut c = super::blocks::frame_compressor(PACK_LEVEL).ok()?;
    c.set_parameter(zstd::zstd_safe::CParameter::MinMatch(PACK_MIN_MATCH))
        .ok()?;
    let frame = c.compress(node).ok()?;
    let packed_len = frame.len() + 1;
    if packed_len >= node.len() || node.len() > PACKED_RATIO * packed_len {
        return None;
    }
    let mut out = Vec::with_capacity(packed_len);
    out.push(KIND_PACKED);
    out.extend_from_slice(&frame);
    Some(out)
}

fn bounds() -> DamageKind {
    DamageKind::Violates(Rule::RecordBounds)
}

fn put_block_fields(out: &mut Vec<u8>, b: &BlockRecord) {
    put_varint(out, b.stored_len.into());
    put_varint(out, b.raw_len.into());
    out.push(b.codec);
    out.extend_from_slice(&b.stored_crc.to_le_bytes());
    out.extend_from_slice(&b.raw_crc.to_le_bytes());
}

/// Bytes a run block record takes in a page.
pub fn run_record_len(b: &BlockRecord) -> usize {
    varint_len(b.stored_len.into()) + varint_len(b.raw_len.into()) + 9
}

/// Bytes a foreign block record takes in a page.
pub fn foreign_record_len(b: &BlockRecord) -> usize {
    varint_len(b.number.into())
        + varint_len(b.offset)
        + varint_len(b.stream_start)
        + run_record_len(b)
}

/// Encodes a page: its run blocks (consecutive, back to back), its foreign blocks (in
/// increasing number) and its entries, encoded by an [`EntryEncoder`].
pub fn encode_page(run: &[BlockRecord], foreign: &[BlockRecord], entries: EntryEncoder) -> Vec<u8> {
    let n = entries.len();
    let mut b = page_head(n, run, foreign);
    let base = b.len();
    b.extend_from_slice(&entries.finish(base));
    b
}

pub(crate) fn page_head(n: usize, run: &[BlockRecord], foreign: &[BlockRecord]) -> Vec<u8> {
    let mut b = vec![KIND_PAGE];
    put_varint(&mut b, n as u64);
    put_varint(&mut b, run.len() as u64);
    if let Some(first) = run.first() {
        put_varint(&mut b, first.number.into());
        put_varint(&mut b, first.offset);
        put_varint(&mut b, first.stream_start);
    }
    for r in run {
        put_block_fields(&mut b, r);
    }
    put_varint(&mut b, foreign.len() as u64);
    for f in foreign {
        put_varint(&mut b, f.number.into());
        put_varint(&mut b, f.offset);
        put_varint(&mut b, f.stream_start);
        put_block_fields(&mut b, f);
    }
    b
}

/// Where the entries of a page with these blocks and `n` entries start: the length of its
/// head.
pub fn page_entries_offset(n: usize, run: &[BlockRecord], foreign: &[BlockRecord]) -> usize {
    let first = run.first().map_or(0, |f| {
        varint_len(f.number.into()) + varint_len(f.offset) + varint_len(f.stream_start)
    });
    1 + varint_len(n as u64)
        + varint_len(run.len() as u64)
        + first
        + run.iter().map(run_record_len).sum::<usize>()
        + varint_len(foreign.len() as u64)
        + foreign.iter().map(foreign_record_len).sum::<usize>()
}

/// A page's head, decoded: its blocks and where its entries and restarts lie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageHead {
    /// Number of entries.
    pub n: usize,
    /// The run blocks, in order.
    pub run: Vec<BlockRecord>,
    /// The foreign blocks, in increasing number.
    pub foreign: Vec<BlockRecord>,
    /// Byte offset of the first entry.
    pub entries_at: usize,
    /// Byte offset of the restart array (where the entries end).
    pub restarts_at: usize,
}

fn block_fields(c: &mut Cursor<'_>, number: u32, offset: u64, stream: u64) -> Option<BlockRecord> {
    let stored_len = u32::try_from(c.varint()?).ok()?;
    let raw_len = u32::try_from(c.varint()?).ok()?;
    let codec = c.u8()?;
    let stored_crc = c.u32()?;
    let raw_crc = c.u32()?;
    Some(BlockRecord {
        number,
        offset,
        stored_len,
        raw_len,
        stream_start: stream,
        codec,
        stored_crc,
        raw_crc,
    })
}

fn check_block(b: &BlockRecord) -> Result<(), DamageKind> {
    if b.stored_len == 0 || b.raw_len == 0 || b.raw_len > MAX_BLOCK_LEN || b.stored_len > b.raw_len
    {
        return Err(DamageKind::Violates(Rule::BlockLength));
    }
    if b.end().is_none() || b.stream_end().is_none() {
        return Err(DamageKind::Violates(Rule::BlockInData));
    }
    Ok(())
}

impl PageHead {
    /// Decodes the head of `page` (whose kind byte was checked by the caller or is checked
    /// here). Checks what the page alone tells: lengths, counts, block records' own fields,
    /// run blocks back to back, foreign blocks in increasing order outside the run.
    pub fn decode(page: &[u8]) -> Result<PageHead, DamageKind> {
        let mut c = Cursor::new(page);
        if c.u8().ok_or_else(bounds)? != KIND_PAGE {
            return Err(DamageKind::Violates(Rule::NodeKind));
        }
        let n = c.len_at_most(MAX_NODE_ITEMS).ok_or_else(bounds)?;
        let m = c.len_at_most(page.len()).ok_or_else(bounds)?;
        let mut run = Vec::with_capacity(m);
        if m > 0 {
            let first = u32::try_from(c.varint().ok_or_else(bounds)?).map_err(|_| bounds())?;
            let mut offset = c.varint().ok_or_else(bounds)?;
            let mut stream = c.varint().ok_or_else(bounds)?;
            for i in 0..m {
                let number = u32::try_from(u64::from(first) + i as u64)
                    .map_err(|_| DamageKind::Violates(Rule::BlockRun))?;
                let b = block_fields(&mut c, number, offset, stream).ok_or_else(bounds)?;
                check_block(&b)?;
                offset = b.end().ok_or(DamageKind::Violates(Rule::BlockInData))?;
                stream = b
                    .stream_end()
                    .ok_or(DamageKind::Violates(Rule::BlockInData))?;
                run.push(b);
            }
        }
        let f = c.len_at_most(page.len()).ok_or_else(bounds)?;
        let mut foreign: Vec<BlockRecord> = Vec::with_capacity(f);
        for _ in 0..f {
            let number = u32::try_from(c.varint().ok_or_else(bounds)?).map_err(|_| bounds())?;
            let offset = c.varint().ok_or_else(bounds)?;
            let stream = c.varint().ok_or_else(bounds)?;
            let b = block_fields(&mut c, number, offset, stream).ok_or_else(bounds)?;
            check_block(&b)?;
            let in_run = run
                .first()
                .is_some_and(|r| number >= r.number && u64::from(number - r.number) < m as u64);
            if in_run || foreign.last().is_some_and(|p| p.number >= number) {
                return Err(DamageKind::Violates(Rule::BlockRun));
            }
            foreign.push(b);
        }
        let entries_at = c.pos();
        let restarts = n.div_ceil(RESTART_INTERVAL);
        let restarts_at = page
            .len()
            .checked_sub(2 * restarts)
            .filter(|&r| r >= entries_at)
            .ok_or_else(bounds)?;
        if n == 0 && restarts_at != entries_at {
            return Err(bounds());
        }
        Ok(PageHead {
            n,
            run,
            foreign,
            entries_at,
            restarts_at,
        })
    }

    /// The byte offset of restart entry `r` (entry `16 r`), checked to lie among the entries.
    pub fn restart(&self, page: &[u8], r: usize) -> Result<usize, DamageKind> {
        let at = self.restarts_at + 2 * r;
        let b = page.get(at..at + 2).ok_or_else(bounds)?;
        let off = usize::from(u16::from_le_bytes([b[0], b[1]]));
        if off < self.entries_at || off >= self.restarts_at {
            return Err(DamageKind::Violates(Rule::Restart));
        }
        Ok(off)
    }

    /// A decoder positioned at restart `r`.
    pub fn decoder_at<'p>(&self, page: &'p [u8], r: usize) -> Result<EntryDecoder<'p>, DamageKind> {
        let off = self.restart(page, r)?;
        Ok(EntryDecoder::new(
            page,
            off,
            self.restarts_at,
            r * RESTART_INTERVAL,
        ))
    }

    /// The block holding stream offset `s`, among the page's blocks.
    pub fn block_holding(&self, s: u64) -> Option<&BlockRecord> {
        let i = self
            .run
            .partition_point(|b| b.stream_end().is_some_and(|e| e <= s));
        self.run
            .get(i)
            .filter(|b| b.holds(s))
            .or_else(|| self.foreign.iter().find(|b| b.holds(s)))
    }

    /// The page's block numbered `number`, if it has it.
    pub fn block(&self, number: u32) -> Option<&BlockRecord> {
        let first = self.run.first().map_or(0, |b| b.number);
        number
            .checked_sub(first)
            .and_then(|i| self.run.get(i as usize))
            .or_else(|| self.foreign.iter().find(|b| b.number == number))
    }
}

/// A page's first and last keys.
pub type KeyRange = (Vec<u8>, Vec<u8>);

/// Checks every entry of a page (§6.2, §7.1): each decodes, keys increase strictly, each
/// restart offset is the real position of its entry, and the entries end where the restart
/// array begins. Returns the page's first and last keys (`None` for a page of no entries).
/// Work and memory are bounded by the page's length.
pub fn check_entries(page: &[u8], head: &PageHead) -> Result<Option<KeyRange>, DamageKind> {
    let mut d = EntryDecoder::new(page, head.entries_at, head.restarts_at, 0);
    let mut first: Option<Vec<u8>> = None;
    // The previous key, in one buffer reused for every entry (no allocation per entry).
    let mut prev: Vec<u8> = Vec::new();
    // Where the page's own bodies start (in stream order, as entries are laid out), for
    // shared bodies that point inside the page (§7.2).
    let mut first_lead: Option<u64> = None;
    let mut bodies: Vec<(u64, u64)> = Vec::new();
    for i in 0..head.n {
        if i % RESTART_INTERVAL == 0 && head.restart(page, i / RESTART_INTERVAL)? != d.pos() {
            return Err(DamageKind::Violates(Rule::Restart));
        }
        let e = d.next_fields()?;
        if i > 0 && prev.as_slice() >= d.key() {
            return Err(DamageKind::Violates(Rule::KeyOrder));
        }
        if first.is_none() {
            first = Some(d.key().to_vec());
        }
        prev.clear();
        prev.extend_from_slice(d.key());
        let from = *first_lead.get_or_insert(e.lead_at);
        match e.shared_body_at {
            None => bodies.push((e.body_at(), e.body_len)),
            Some(at) if at >= from => {
                // Empty bodies and leads can put several bodies at one offset.
                let j = bodies.partition_point(|b| b.0 < at);
                let same = bodies.get(j..).unwrap_or_default().iter();
                if !same.take_while(|b| b.0 == at).any(|b| b.1 == e.body_len) {
                    return Err(DamageKind::Violates(Rule::SharedBody));
                }
            }
            Some(_) => {}
        }
    }
    if d.pos() != head.restarts_at {
        return Err(bounds());
    }
    Ok(first.map(|f| (f, prev)))
}

/// Finds the entry with `key` in a page: bisects the restarts, then reads forward.
/// Returns its number within the page and its record. Every entry it passes is decoded with
/// every check of its encoding ([`EntryDecoder::next_key_parts`] and
/// [`EntryDecoder::skip_after_key`]: those of [`EntryDecoder::next_passed`]), without its key
/// being built or its record made; the one it stops at is decoded whole, and the one found
/// also gets the checks of what it holds (its key is UTF-8, its date a date) and its key as
/// a `String`. Of a page checked whole ([`check_entries`]) the answer is the one a decoding
/// of every entry with every check would give.
pub fn find_in_page(
    page: &[u8],
    head: &PageHead,
    key: &[u8],
) -> Result<Option<(usize, EntryRecord)>, DamageKind> {
    let groups = head.n.div_ceil(RESTART_INTERVAL);
    // The last restart whose key is ≤ key.
    let (mut lo, mut hi) = (0usize, groups);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if head.decoder_at(page, mid)?.peek_restart_key()? <= key {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if lo == 0 {
        return Ok(None);
    }
    let mut d = head.decoder_at(page, lo - 1)?;
    let end = (lo * RESTART_INTERVAL).min(head.n);
    // Keys are compared as the page stores them: `common` is how many leading bytes the
    // key read last shares with `key`, which is above it. A key that shares more than that
    // with the last one differs from `key` where the last one did, the same way, so it is
    // below `key` too; one that shares at most that starts with `key`'s first `shared`
    // bytes, and its suffix decides.
    let mut common = 0;
    while d.index() < end {
        let i = d.index();
        let (shared, suffix) = d.next_key_parts()?;
        let order = if shared > common {
            Ordering::Less
        } else {
            let rest = key.get(shared..).unwrap_or_default();
            let order = suffix.cmp(rest);
            if order.is_lt() {
                common = shared + suffix.iter().zip(rest).take_while(|(a, b)| a == b).count();
            }
            order
        };
        match order {
            Ordering::Less => d.skip_after_key()?,
            Ordering::Equal => {
                let mut e = d.next_after_key()?;
                check_content_of(&e, key)?;
                e.key = String::from_utf8(key.to_vec()).map_err(|_| DamageKind::NotUtf8)?;
                return Ok(Some((i, e)));
            }
            Ordering::Greater => {
                d.next_after_key()?;
                return Ok(None);
            }
        }
    }
    Ok(None)
}

/// One child of a branch (§6.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Child {
    /// First entry number held by the child.
    pub first_entry: u64,
    /// Number of entries it holds.
    pub entries: u64,
    /// File offset.
    pub offset: u64,
    /// Length in bytes.
    pub len: u32,
    /// CRC32 of its bytes.
    pub crc: u32,
    /// Separator: empty for the first child.
    pub sep: Vec<u8>,
}

/// Bytes one child record takes in a branch.
pub fn child_record_len(entries: u64, len: u32, sep: &[u8]) -> usize {
    varint_len(entries) + varint_len(len.into()) + 4 + varint_len(sep.len() as u64) + sep.len()
}

/// Encodes a branch over `children` (back to back from the first's offset).
pub fn encode_branch(children: &[Child]) -> Vec<u8> {
    let mut b = vec![KIND_BRANCH];
    put_varint(&mut b, children.len() as u64);
    put_varint(&mut b, children.first().map_or(0, |c| c.offset));
    for c in children {
        put_varint(&mut b, c.entries);
        put_varint(&mut b, c.len.into());
        b.extend_from_slice(&c.crc.to_le_bytes());
        put_varint(&mut b, c.sep.len() as u64);
        b.extend_from_slice(&c.sep);
    }
    b
}

/// Bytes of a branch's head (kind, count and first offset).
pub fn branch_head_len(children: usize, first_offset: u64) -> usize {
    1 + varint_len(children as u64) + varint_len(first_offset)
}

/// Decodes a branch whose first entry is `first_entry`: checks counts, lengths, the first
/// separator being empty and separators increasing.
pub fn decode_branch(node: &[u8], first_entry: u64) -> Result<Vec<Child>, DamageKind> {
    let mut c = Cursor::new(node);
    if c.u8().ok_or_else(bounds)? != KIND_BRANCH {
        return Err(DamageKind::Violates(Rule::NodeKind));
    }
    let count = c.len_at_most(MAX_NODE_ITEMS).ok_or_else(bounds)?;
    if count == 0 {
        return Err(DamageKind::Violates(Rule::EntryCount));
    }
    let mut offset = c.varint().ok_or_else(bounds)?;
    let mut first = first_entry;
    let mut out: Vec<Child> = Vec::with_capacity(count.min(node.len()));
    for i in 0..count {
        let entries = c.varint().ok_or_else(bounds)?;
        let len = c
            .len_at_most(MAX_NODE_LEN)
            .filter(|&l| l > 0)
            .ok_or(DamageKind::Violates(Rule::NodeLength))? as u32;
        let crc = c.u32().ok_or_else(bounds)?;
        let sep_len = c.len_at_most(MAX_KEY_LEN).ok_or_else(bounds)?;
        let sep = c.take(sep_len).ok_or_else(bounds)?.to_vec();
        if entries == 0 {
            return Err(DamageKind::Violates(Rule::EntryCount));
        }
        let sep_ok = match out.last() {
            None => sep.is_empty(),
            Some(prev) => !sep.is_empty() && (i == 1 || sep > prev.sep),
        };
        if !sep_ok {
            return Err(DamageKind::Violates(Rule::Separator));
        }
        out.push(Child {
            first_entry: first,
            entries,
            offset,
            len,
            crc,
            sep,
        });
        first = first
            .checked_add(entries)
            .ok_or(DamageKind::Violates(Rule::EntryCount))?;
        offset = offset
            .checked_add(len.into())
            .ok_or(DamageKind::Violates(Rule::NodeLength))?;
    }
    if !c.is_empty() {
        return Err(bounds());
    }
    Ok(out)
}

/// The child to descend into for `key`: the last whose separator is ≤ `key`.
pub fn child_for_key<'c>(children: &'c [Child], key: &[u8]) -> Option<&'c Child> {
    let i = children.partition_point(|c| c.sep.as_slice() <= key);
    children.get(i.checked_sub(1)?)
}

/// The child holding entry number `e`.
pub fn child_for_entry(children: &[Child], e: u64) -> Option<&Child> {
    let i = children.partition_point(|c| c.first_entry <= e);
    children
        .get(i.checked_sub(1)?)
        .filter(|c| e - c.first_entry < c.entries)
}

/// The shortest prefix of `next` that is greater than `prev` (`prev < next`): a separator.
pub fn separator(prev: &[u8], next: &[u8]) -> Vec<u8> {
    let common = prev.iter().zip(next).take_while(|(a, b)| a == b).count();
    next[..(common + 1).min(next.len())].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(number: u32, offset: u64, stream: u64) -> BlockRecord {
        BlockRecord {
            number,
            offset,
            stored_len: 100,
            raw_len: 1000,
            stream_start: stream,
            codec: 1,
            stored_crc: 1,
            raw_crc: 2,
        }
    }

    proptest::proptest! {
        /// Keys over a two-letter alphabet share long prefixes with their neighbours, so the
        /// lookup's prefix bookkeeping meets every case: a key that shares more with the
        /// last than the one sought does, less, as much, and a key that is a prefix of it.
        #[test]
        fn a_lookup_finds_what_a_scan_of_every_key_finds(
            keys in proptest::collection::btree_set("[ab]{1,7}", 1..60),
            probes in proptest::collection::vec("[ab]{0,8}", 0..40),
        ) {
            let mut enc = EntryEncoder::new();
            let mut at = 3000;
            let mut all = Vec::new();
            for key in &keys {
                let e = EntryRecord { key: key.clone(), lead_at: at, body_len: 5, ..Default::default() };
                at = e.next_at().unwrap();
                enc.push(&e);
                all.push(e);
            }
            let run = [block(3, 500, 3000)];
            let page = encode_page(&run, &[], enc);
            let head = PageHead::decode(&page).unwrap();
            for probe in keys.iter().chain(&probes) {
                let want = all.iter().position(|e| e.key == *probe).map(|i| (i, all[i].clone()));
                proptest::prop_assert_eq!(find_in_page(&page, &head, probe.as_bytes()), Ok(want));
            }
        }
    }

    #[test]
    fn pages_round_trip_and_find_keys() {
        let run = [block(3, 500, 3000), block(4, 600, 4000)];
        let foreign = [block(7, 900, 7000)];
        let n = 40;
        let mut enc = EntryEncoder::new();
        let start = page_entries_offset(n, &run, &foreign);
        let mut at = 3000;
        let mut all = Vec::new();
        for i in 0..n {
            let e = EntryRecord {
                key: format!("key{i:04}"),
                lead_at: at,
                lead_len: 0,
                body_len: 40,
                ..Default::default()
            };
            at = e.next_at().unwrap();
            enc.push(&e);
            all.push(e);
        }
        let page = encode_page(&run, &foreign, enc);
        let head = PageHead::decode(&page).unwrap();
        assert_eq!(head.entries_at, start);
        assert_eq!(
            (head.run.as_slice(), head.foreign.as_slice()),
            (&run[..], &foreign[..])
        );
        for (i, e) in all.iter().enumerate() {
            assert_eq!(
                find_in_page(&page, &head, e.key.as_bytes()).unwrap(),
                Some((i, e.clone()))
            );
        }
        assert_eq!(find_in_page(&page, &head, b"key").unwrap(), None);
        assert_eq!(find_in_page(&page, &head, b"key00005").unwrap(), None);
        assert_eq!(find_in_page(&page, &head, b"zzz").unwrap(), None);
        assert_eq!(head.block_holding(4500).map(|b| b.number), Some(4));
        assert_eq!(head.block_holding(7999).map(|b| b.number), Some(7));
        assert_eq!(head.block_holding(5000), None);
        assert_eq!(head.block(4).map(|b| b.offset), Some(600));
    }

    /// A page `check_entries` refuses (a key that is not UTF-8, an impossible date): a
    /// lookup that passes over those entries still finds what lies after them, and one that
    /// stops at them gets their error, as a decoding of every entry would give it.
    #[test]
    fn a_lookup_checks_what_an_entry_holds_where_it_stops() {
        let mut enc = EntryEncoder::new();
        let mut at = 0;
        for (key, date) in [("a", 20240101), ("bX", 20240102), ("c", 20241340), ("d", 0)] {
            let e = EntryRecord {
                key: key.into(),
                lead_at: at,
                body_len: 5,
                date,
                ..Default::default()
            };
            at = e.next_at().unwrap();
            enc.push(&e);
        }
        let mut page = encode_page(&[], &[], enc);
        let x = page.windows(2).position(|w| w == b"bX").unwrap() + 1;
        page[x] = 0xFF;
        let head = PageHead::decode(&page).unwrap();
        assert_eq!(check_entries(&page, &head), Err(DamageKind::NotUtf8));
        let (i, d) = find_in_page(&page, &head, b"d").unwrap().unwrap();
        assert_eq!((i, d.key.as_str(), d.lead_at), (3, "d", 15));
        assert_eq!(find_in_page(&page, &head, b"a").unwrap().unwrap().0, 0);
        assert_eq!(find_in_page(&page, &head, b"bb"), Ok(None));
        assert_eq!(
            find_in_page(&page, &head, b"b\xff"),
            Err(DamageKind::NotUtf8)
        );
        assert_eq!(
            find_in_page(&page, &head, b"c"),
            Err(DamageKind::ImpossibleDate(20241340))
        );
    }

    #[test]
    fn branches_round_trip_and_route() {
        let kids = vec![
            Child {
                first_entry: 0,
                entries: 10,
                offset: 100,
                len: 50,
                crc: 1,
                sep: vec![],
            },
            Child {
                first_entry: 10,
                entries: 5,
                offset: 150,
                len: 60,
                crc: 2,
                sep: b"m".to_vec(),
            },
        ];
        let b = encode_branch(&kids);
        assert_eq!(decode_branch(&b, 0).unwrap(), kids);
        assert_eq!(child_for_key(&kids, b"a").unwrap().crc, 1);
        assert_eq!(child_for_key(&kids, b"m").unwrap().crc, 2);
        assert_eq!(child_for_entry(&kids, 14).unwrap().crc, 2);
        assert!(child_for_entry(&kids, 15).is_none());
        assert_eq!(separator(b"apple", b"apricot"), b"apr");
        assert_eq!(separator(b"a", b"ab"), b"ab");
    }
}
