//! Index nodes (§6): decoding them with their checks, fetching them through the checksum
//! chain, keeping recent ones, walking from the root to the page of a key or an entry, and
//! walking the pages in key order ([`Walker`]).
//!
//! Nothing here trusts the tree to be what the writer makes (§6.4): a child is read at its
//! parent's level minus one, a branch's children lie before it in INDEX, a node is checked
//! whole when it is read, a lookup checks the keys it finds against the separators above
//! them, and a walk in key order checks that each node lies where the previous node of its
//! level ended. So a cycle or a shared child is an error the moment a walk reaches it, no
//! walk visits a node twice, and no recursion's depth is set by the file.

use std::ops::Range;
use std::sync::Arc;

use super::Ctx;
use crate::error::{DamageKind, Location, ReadError, ReadResult, Rule};
use crate::format::nodes::{
    check_entries, child_for_key, decode_branch, unpack_node_with, Child, KeyRange, PageHead,
    KIND_BRANCH, KIND_PAGE, PACKED_RATIO,
};
use crate::format::{self, BlockRecord, Codec, Header, SectionId};

/// Every entry takes at least this many bytes of its page (§6.4): `shared`, `suffix_len`, a
/// suffix of at least one byte (keys increase strictly), `flags`, `lead_len`, `body_len`,
/// `content_type`.
pub(crate) const MIN_ENTRY_BYTES: u64 = 7;

/// Levels a tree can have: `index_depth ≤ 4`, plus the pages.
const LEVELS: usize = 5;

/// A page (§6.2): its bytes, decoded head, the number of its first entry, and its first and
/// last keys.
#[derive(Debug)]
pub(crate) struct PageNode {
    pub(crate) first_entry: u64,
    pub(crate) at: Location,
    pub(crate) bytes: Vec<u8>,
    pub(crate) head: PageHead,
    pub(crate) keys: Option<KeyRange>,
}

/// A branch (§6.3): its children and the level they are at.
#[derive(Debug)]
pub(crate) struct BranchNode {
    pub(crate) level: u8,
    pub(crate) at: Location,
    pub(crate) children: Vec<Child>,
}

/// A decoded node.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Page(Arc<PageNode>),
    Branch(Arc<BranchNode>),
}

/// What a node is checked against: the header and the sections' lengths.
pub(crate) struct Env<'h> {
    pub(crate) header: &'h Header,
    pub(crate) index_len: u64,
    pub(crate) data_len: u64,
}

/// Where a node lies: the root in the prelude, or a node at this offset of INDEX.
#[derive(Debug, Clone, Copy)]
enum Place {
    Root,
    Index(u64),
}

/// Checks a page's block records against the archive (§5, §6.2): the block exists, its
/// lengths fit `max_block_len`, its stored bytes lie in DATA and its stream range in the
/// stream, its codec is known (and 2 only with a dictionary).
fn check_records(head: &PageHead, env: &Env<'_>) -> Result<(), DamageKind> {
    let h = env.header;
    for b in head.run.iter().chain(&head.foreign) {
        check_record(b, h, env.data_len)?;
    }
    Ok(())
}

/// One block record against the archive (§5, §6.2).
pub(crate) fn check_record(
    b: &BlockRecord,
    h: &Header,
    data_len: u64,
) -> Result<Codec, DamageKind> {
    if u64::from(b.number) >= h.block_count {
        return Err(DamageKind::NoSuchBlock(b.number.into()));
    }
    if b.raw_len == 0 || b.raw_len > h.max_block_len || b.stored_len > b.raw_len {
        return Err(DamageKind::Violates(Rule::BlockLength));
    }
    if b.end().is_none_or(|e| e > data_len) || b.stream_end().is_none_or(|e| e > h.stream_len) {
        return Err(DamageKind::Violates(Rule::BlockInData));
    }
    match Codec::from_u8(b.codec) {
        None => Err(DamageKind::UnknownCodec(b.codec)),
        Some(Codec::Raw) if b.stored_len != b.raw_len => {
            Err(DamageKind::Violates(Rule::RawBlockLength))
        }
        Some(Codec::ZstdDict) if h.required_flags & format::REQUIRED_DICT == 0 => {
            Err(DamageKind::Violates(Rule::DictFlag))
        }
        Some(c) => Ok(c),
    }
}

impl Node {
    /// Decodes `bytes` as a node at `level` holding `entries` entries from `first_entry`,
    /// and checks it whole (§6, §7.1): O(its length).
    fn decode(
        bytes: Vec<u8>,
        level: u8,
        first_entry: u64,
        entries: u64,
        at: Location,
        place: Place,
        env: &Env<'_>,
    ) -> ReadResult<Node> {
        let damaged = |kind| ReadError::damaged(at, kind);
        let kind = bytes.first().copied();
        if level == 0 {
            if kind != Some(KIND_PAGE) {
                return Err(ReadError::violates(at, Rule::NodeKind));
            }
            let head = PageHead::decode(&bytes).map_err(damaged)?;
            if head.n as u64 != entries {
                return Err(ReadError::violates(at, Rule::EntryCount));
            }
            check_records(&head, env).map_err(damaged)?;
            let keys = check_entries(&bytes, &head).map_err(damaged)?;
            return Ok(Node::Page(Arc::new(PageNode {
                first_entry,
                at,
                bytes,
                head,
                keys,
            })));
        }
        if kind != Some(KIND_BRANCH) {
            return Err(ReadError::violates(at, Rule::NodeKind));
        }
        let children = decode_branch(&bytes, first_entry).map_err(damaged)?;
        let total = children
            .iter()
            .try_fold(0u64, |t, c| t.checked_add(c.entries));
        if total != Some(entries) {
            return Err(ReadError::violates(at, Rule::EntryCount));
        }
        // The children lie back to back (their encoding says so); where they end is fixed by
        // §6.4: before their parent, or, under the root, at INDEX's end.
        let end = children
            .last()
            .and_then(|c| c.offset.checked_add(c.len.into()));
        let placed = match place {
            Place::Root => end == Some(env.index_len),
            Place::Index(own) => end.is_some_and(|e| e <= own),
        };
        if !placed {
            return Err(ReadError::violates(at, Rule::NodePlace));
        }
        Ok(Node::Branch(Arc::new(BranchNode {
            level: level - 1,
            at,
            children,
        })))
    }

    /// The root, from the prelude: checked whole, and against INDEX (§6.4): a root page
    /// leaves INDEX empty, a root branch's children end where INDEX does, and INDEX has
    /// bytes for the entries it claims.
    pub(crate) fn decode_root(bytes: &[u8], env: &Env<'_>) -> ReadResult<Node> {
        let h = env.header;
        // A packed node holds at most PACKED_RATIO times its own length (§6.5).
        let packed = h.required_flags & format::REQUIRED_PACKED_NODES != 0;
        let index_room = if packed {
            env.index_len.saturating_mul(PACKED_RATIO as u64)
        } else {
            env.index_len
        };
        let room = (bytes.len() as u64).saturating_add(index_room);
        if h.entry_count.saturating_mul(MIN_ENTRY_BYTES) > room {
            return Err(ReadError::violates(Location::Root, Rule::EntryBound));
        }
        let root = Node::decode(
            bytes.to_vec(),
            h.index_depth,
            0,
            h.entry_count,
            Location::Root,
            Place::Root,
            env,
        )?;
        if let Node::Page(p) = &root {
            if p.head.n == 0 && h.entry_count > 0 {
                return Err(ReadError::violates(Location::Root, Rule::EntryCount));
            }
            if env.index_len != 0 {
                return Err(ReadError::violates(Location::Root, Rule::NodePlace));
            }
        }
        Ok(root)
    }
}

/// What a parent says of a child, which a cached node must match to be used for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Claim {
    offset: u64,
    len: u32,
    crc: u32,
    level: u8,
    first_entry: u64,
    entries: u64,
}

impl Claim {
    /// What branch record `c`, whose children are at `level`, says of its child.
    fn of(c: &Child, level: u8) -> Claim {
        Claim {
            offset: c.offset,
            len: c.len,
            crc: c.crc,
            level,
            first_entry: c.first_entry,
            entries: c.entries,
        }
    }
}

/// Recently used nodes by file offset, most recent last.
pub(crate) struct NodeCache {
    capacity: usize,
    nodes: Vec<(Claim, Node)>,
}

impl NodeCache {
    /// Forgets every node.
    pub(crate) fn clear(&mut self) {
        self.nodes.clear();
    }

    pub(crate) fn new(capacity: usize) -> Self {
        NodeCache {
            capacity,
            nodes: Vec::new(),
        }
    }

    /// The node cached for exactly this claim: a node read for another parent's claim (its
    /// level or entry numbers differ) is not reused.
    fn get(&mut self, claim: &Claim) -> Option<Node> {
        let i = self.nodes.iter().rposition(|(c, _)| c == claim)?;
        let hit = self.nodes.remove(i);
        let node = hit.1.clone();
        self.nodes.push(hit);
        Some(node)
    }

    fn put(&mut self, claim: Claim, node: Node) {
        if self.capacity == 0 {
            return;
        }
        self.nodes.retain(|(c, _)| c.offset != claim.offset);
        if self.nodes.len() >= self.capacity {
            self.nodes.remove(0);
        }
        self.nodes.push((claim, node));
    }
}

/// A separator on a lookup's path: child `.1` of branch `.0` (held, not copied).
type SepRef = Option<(Arc<BranchNode>, usize)>;

fn sep_of(r: &SepRef) -> Option<&[u8]> {
    r.as_ref()
        .and_then(|(b, i)| b.children.get(*i))
        .map(|c| c.sep.as_slice())
}

/// The key bounds a lookup carries down the tree (§6.3): every key under the current node is
/// ≥ `lo` and < `hi` (`None`: no bound). The separators are referred to in their branches,
/// so carrying them costs no copy.
#[derive(Debug, Clone, Default)]
pub(crate) struct Bounds {
    lo: SepRef,
    hi: SepRef,
}

impl Bounds {
    /// The separator that bounds the node reached from above (`None`: the tree's end).
    pub(crate) fn upper(&self) -> Option<&[u8]> {
        sep_of(&self.hi)
    }

    fn above_lo(&self, k: &[u8]) -> bool {
        sep_of(&self.lo).is_none_or(|l| k >= l)
    }

    fn below_hi(&self, k: &[u8]) -> bool {
        sep_of(&self.hi).is_none_or(|h| k < h)
    }

    /// A branch's separators (children 1..) lie strictly inside the bounds.
    fn check_branch(&self, b: &BranchNode) -> ReadResult<()> {
        let inside = |c: &Child| {
            sep_of(&self.lo).is_none_or(|l| c.sep.as_slice() > l) && self.below_hi(&c.sep)
        };
        let ok = b.children.get(1).is_none_or(inside) && b.children.last().is_none_or(inside);
        if ok || b.children.len() < 2 {
            Ok(())
        } else {
            Err(ReadError::violates(b.at, Rule::KeyBounds))
        }
    }

    /// A page's keys lie inside the bounds.
    fn check_page(&self, p: &PageNode) -> ReadResult<()> {
        match &p.keys {
            Some((first, last)) if !self.above_lo(first) || !self.below_hi(last) => {
                Err(ReadError::violates(p.at, Rule::KeyBounds))
            }
            _ => Ok(()),
        }
    }

    /// The bounds of child `i` of `b`.
    fn child(&self, b: &Arc<BranchNode>, i: usize) -> Bounds {
        let lo = if i > 0 {
            Some((Arc::clone(b), i))
        } else {
            self.lo.clone()
        };
        let hi = if i + 1 < b.children.len() {
            Some((Arc::clone(b), i + 1))
        } else {
            self.hi.clone()
        };
        Bounds { lo, hi }
    }
}

impl<'a> Ctx<'a> {
    fn env(&self) -> Env<'a> {
        let l = &self.st.layout;
        let index = l.range(SectionId::Index);
        let data = l.range(SectionId::Data);
        Env {
            header: &l.header,
            index_len: index.end - index.start,
            data_len: data.end - data.start,
        }
    }

    /// The child node `c` of a branch whose children are at `level`, fetched (or from the
    /// cache) and checked against the CRC its parent gives, then whole.
    pub(crate) fn child(&self, c: &Child, level: u8) -> ReadResult<Node> {
        self.st.counters.node_visit();
        let claim = Claim::of(c, level);
        if let Some(hit) = self.st.nodes.lock().ok().and_then(|mut n| n.get(&claim)) {
            return Ok(hit);
        }
        let index = self.st.layout.range(SectionId::Index);
        let start = index.start.saturating_add(c.offset);
        let at = Location::Node(start);
        let end = start.checked_add(c.len.into());
        if end.is_none_or(|e| e > index.end) {
            return Err(ReadError::violates(at, Rule::NodeLength));
        }
        self.st.counters.node_read();
        let stored = self.read(start, c.len as usize)?;
        if format::crc32(&stored) != c.crc {
            return Err(self.checksum_failed(at));
        }
        let packed = self.st.layout.header.required_flags & format::REQUIRED_PACKED_NODES != 0;
        // A packed node is decompressed with one of the archive's kept contexts (the one the
        // first block read after it then reuses), not a context made for it.
        let mut scratch = self.st.pool.take();
        let unpacked = unpack_node_with(&stored, packed, |frame, len| {
            let mut buf = Vec::with_capacity(len);
            scratch.dctx()?.decompress(&mut buf, frame).ok()?;
            Some(buf)
        });
        self.st.pool.put(scratch);
        let bytes = unpacked
            .map_err(|kind| ReadError::damaged(at, kind))?
            .into_owned();
        let env = self.env();
        let node = Node::decode(
            bytes,
            level,
            c.first_entry,
            c.entries,
            at,
            Place::Index(c.offset),
            &env,
        )?;
        if let Ok(mut n) = self.st.nodes.lock() {
            n.put(claim, node.clone());
        }
        Ok(node)
    }

    /// Reads, together, the index nodes that lookups of `keys` need and the node cache
    /// lacks: one round per level of the tree, each round's nodes asked of the source at
    /// once (a remote source fetches them in parallel). Nothing is checked here beyond what
    /// reading a node checks; what cannot be read is left for the lookups to report. At most
    /// `index_depth` rounds, each reading at most one node per key.
    ///
    /// A remote source's error (the network, or the object changed) ends it: it is returned,
    /// and the lookups are not to ask again.
    pub(crate) fn warm_paths(&self, keys: &[&[u8]]) -> Option<ReadError> {
        self.warm(
            keys,
            |cs, key| child_for_key(cs, key),
            |ranges| self.src.prefetch(&ranges),
        )
    }

    /// Reads, together, the index nodes on the paths to entries `entries` (each below the
    /// entry count) that the node cache lacks, as [`warm_paths`](Self::warm_paths) does for
    /// keys: one round per level of the tree. A node that lies inside one of `in_hand`
    /// (ranges of the file asked for earlier, whose bytes the source holds or is fetching)
    /// is read without asking for it again; the first round that asks for any node asks
    /// for `extra` too (other ranges wanted at the same step: a search's document pages),
    /// in the same call, and leaves `extra` empty. At most `index_depth` rounds, each
    /// reading at most one node per entry.
    ///
    /// A remote source's error (the network, or the object changed) ends it: it is
    /// returned, and the lookups are not to ask again.
    #[cfg_attr(not(feature = "fulltext"), allow(dead_code))]
    pub(crate) fn warm_entries(
        &self,
        entries: &[u64],
        extra: &mut Vec<Range<u64>>,
        in_hand: &[Range<u64>],
    ) -> Option<ReadError> {
        let held = |r: &Range<u64>| in_hand.iter().any(|h| h.start <= r.start && r.end <= h.end);
        self.warm(
            entries,
            |cs, &e| entry_child(cs, e),
            |ranges| {
                let mut ranges: Vec<_> = ranges.into_iter().filter(|r| !held(r)).collect();
                if !ranges.is_empty() {
                    ranges.append(extra);
                    self.src.prefetch(&coalesce(ranges));
                }
            },
        )
    }

    /// The rounds of [`warm_paths`](Self::warm_paths) and
    /// [`warm_entries`](Self::warm_entries): per level, the first uncached node on each
    /// target's path (`pick` chooses a branch's child for a target), each node once, handed
    /// to `fetch` as ranges of the file, then read.
    fn warm<T>(
        &self,
        targets: &[T],
        pick: impl for<'c> Fn(&'c [Child], &T) -> Option<&'c Child>,
        mut fetch: impl FnMut(Vec<Range<u64>>),
    ) -> Option<ReadError> {
        let index = self.st.layout.range(SectionId::Index);
        let mut tried: Vec<Claim> = Vec::new();
        for _ in 0..usize::from(self.header().index_depth) {
            let mut need: Vec<(Child, u8)> = Vec::new();
            for t in targets {
                if let Some((c, level)) = self.first_uncached(|cs| pick(cs, t)) {
                    let claim = Claim::of(&c, level);
                    if !tried.contains(&claim) {
                        tried.push(claim);
                        need.push((c, level));
                    }
                }
            }
            if need.is_empty() {
                return None;
            }
            fetch(
                need.iter()
                    .map(|(c, _)| {
                        let start = index.start.saturating_add(c.offset);
                        start..start.saturating_add(c.len.into())
                    })
                    .collect(),
            );
            for (c, level) in &need {
                // Damage is the lookups' to report; the network's stops the batch.
                if let Err(e @ ReadError::Io { .. }) = self.child(c, *level) {
                    if let Some(stop) = remote_copy(&e) {
                        return Some(stop);
                    }
                }
            }
        }
        None
    }

    /// The first node on the path `pick` chooses (a child of each branch) that the node
    /// cache lacks, and its level.
    fn first_uncached(&self, pick: impl Fn(&[Child]) -> Option<&Child>) -> Option<(Child, u8)> {
        let mut node = self.st.layout.root.clone();
        loop {
            let Node::Branch(b) = node else {
                return None;
            };
            let c = pick(&b.children)?;
            let hit = self.st.nodes.lock().ok()?.get(&Claim::of(c, b.level));
            match hit {
                Some(n) => node = n,
                None => return Some((c.clone(), b.level)),
            }
        }
    }

    /// Walks down from the root to a page, choosing a child with `pick`, checking every
    /// node it reaches against the separators above it.
    fn descend(
        &self,
        pick: impl Fn(&[Child]) -> Option<usize>,
    ) -> ReadResult<Option<(Arc<PageNode>, Bounds)>> {
        let mut node = self.st.layout.root.clone();
        let mut bounds = Bounds::default();
        loop {
            match node {
                Node::Page(p) => {
                    bounds.check_page(&p)?;
                    return Ok(Some((p, bounds)));
                }
                Node::Branch(b) => {
                    bounds.check_branch(&b)?;
                    let Some(i) = pick(&b.children) else {
                        return Ok(None);
                    };
                    let Some(c) = b.children.get(i) else {
                        return Ok(None);
                    };
                    let next = self.child(c, b.level)?;
                    bounds = bounds.child(&b, i);
                    node = next;
                }
            }
        }
    }

    /// The page a key would be in. Its keys are checked against the separators on the way:
    /// a key that lies outside them is damage, never "not found" (§6.3).
    pub(crate) fn page_for_key(&self, key: &[u8]) -> ReadResult<Option<Arc<PageNode>>> {
        Ok(self.page_and_bounds(key)?.map(|(p, _)| p))
    }

    /// The page a key would be in, and the bounds its separators give it.
    pub(crate) fn page_and_bounds(
        &self,
        key: &[u8],
    ) -> ReadResult<Option<(Arc<PageNode>, Bounds)>> {
        // The last child whose separator is ≤ key (§6.3).
        self.descend(|cs| {
            cs.partition_point(|c| c.sep.as_slice() <= key)
                .checked_sub(1)
        })
    }

    /// Whether a key that its page does not hold is truly absent. A key past the page's last
    /// key and below the next separator lies in the gap between two pages: the page after
    /// the separator must start at or above it (§6.3), which is checked by going there, so
    /// that a separator set above its child's first key is damage, never "not found". One
    /// more node read, only for such keys.
    /// `hi` is the page's upper bound, from the lookup that reached it.
    pub(crate) fn confirm_absent(
        &self,
        page: &PageNode,
        key: &[u8],
        hi: Option<&[u8]>,
    ) -> ReadResult<()> {
        let before_first = page
            .keys
            .as_ref()
            .is_some_and(|(first, _)| key < first.as_slice());
        if before_first && page.first_entry > 0 {
            // The mirror case: a key below its page's first key lies after the previous
            // page's last key, which must be below this page's separator: reaching that
            // page by number checks it against the separator (its upper bound).
            return self.page_for_entry(page.first_entry - 1).map(|_| ());
        }
        let past_last = page
            .keys
            .as_ref()
            .is_none_or(|(_, last)| key > last.as_slice());
        if !past_last {
            return Ok(());
        }
        match hi {
            Some(hi) => self.page_for_key(hi).map(|_| ()),
            None => Ok(()),
        }
    }

    /// The first entry of the node that a lookup of `key` cannot read (its checksum or its
    /// contents), when that is why the lookup fails: where a walk must start to report it as
    /// lost and go on (`None` when the lookup fails for another reason).
    pub(crate) fn first_entry_of_unreadable(&self, key: &[u8]) -> Option<u64> {
        let mut node = self.st.layout.root.clone();
        loop {
            let Node::Branch(b) = node else {
                return None;
            };
            let c = child_for_key(&b.children, key)?;
            match self.child(c, b.level) {
                Ok(n) => node = n,
                Err(e) if is_damage(&e) => return Some(c.first_entry),
                Err(_) => return None,
            }
        }
    }

    /// The page holding entry `e` (which must be below the entry count).
    pub(crate) fn page_for_entry(&self, e: u64) -> ReadResult<Arc<PageNode>> {
        self.descend(|cs| entry_child_index(cs, e))?
            .map(|(p, _)| p)
            .filter(|p| e >= p.first_entry && e - p.first_entry < p.head.n as u64)
            .ok_or(ReadError::violates(Location::Entry(e), Rule::EntryCount))
    }
}

/// The number of the child of `cs` whose entry range holds entry `e`.
fn entry_child_index(cs: &[Child], e: u64) -> Option<usize> {
    let i = cs.partition_point(|c| c.first_entry <= e).checked_sub(1)?;
    let c = cs.get(i)?;
    (e - c.first_entry < c.entries).then_some(i)
}

/// The child of `cs` whose entry range holds entry `e`.
#[cfg_attr(not(feature = "fulltext"), allow(dead_code))]
fn entry_child(cs: &[Child], e: u64) -> Option<&Child> {
    cs.get(entry_child_index(cs, e)?)
}

/// `ranges` sorted, with those that touch or overlap made one (one request each).
pub(crate) fn coalesce(mut ranges: Vec<std::ops::Range<u64>>) -> Vec<std::ops::Range<u64>> {
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut out: Vec<std::ops::Range<u64>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// A copy of `e` when it is a remote source's error, which ends a batch of lookups.
pub(crate) fn remote_copy(e: &ReadError) -> Option<ReadError> {
    match e {
        ReadError::Io { path, source } => {
            crate::source::copy_remote_error(source).map(|source| ReadError::Io {
                path: path.clone(),
                source,
            })
        }
        _ => None,
    }
}

/// Whether `e` is damage that a walk goes on after: a checksum that fails, or bytes that
/// could not be read (a file cut short). A remote source's error (the network, or an object replaced on its server) is neither:
/// it says nothing of the archive, and a walk stops at it.
pub(crate) fn is_damage(e: &ReadError) -> bool {
    match e {
        ReadError::Io { source, .. } => !crate::source::is_remote_error(source),
        ReadError::Damaged {
            kind: DamageKind::ChecksumMismatch,
            ..
        } => true,
        _ => false,
    }
}

/// Why a walk could not give the next page.
#[derive(Debug)]
pub(crate) enum WalkError {
    /// A node could not be read (its checksum, or its bytes): its entries are lost, and the
    /// walk goes on after them.
    Skipped(Box<Lost>),
    /// The tree is not a tree (a node out of place: shared, a cycle, a gap): the walk stops.
    Stopped(ReadError),
}

/// The entries `first .. first + entries` of a node a walk could not read.
#[derive(Debug)]
pub(crate) struct Lost {
    pub(crate) error: ReadError,
    pub(crate) first: u64,
    pub(crate) entries: u64,
    /// The keys under it are at least this and below `to`, as far as the separators above
    /// it tell.
    pub(crate) from: Option<Vec<u8>>,
    pub(crate) to: Option<Vec<u8>>,
}

/// Where the next node of a level must start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Exactly here: where the previous node of the level ended.
    At(u64),
    /// Here or later: nodes under a node the walk could not read were passed over, but a
    /// level's offsets only grow, so nothing before here may be visited (again).
    AtLeast(u64),
}

/// A walk over the pages in key order (§6.4): one descent to where it starts, then each next
/// page through the branches on the path. It remembers, for each level, where the next node
/// of that level must start, so every node is visited at most once and a node out of place
/// stops the walk.
#[derive(Default)]
pub(crate) struct Walker {
    /// The branches from the root down to the current page, with the child taken in each.
    path: Vec<(Arc<BranchNode>, usize)>,
    /// Per level: the INDEX offset where the next node the walk visits at that level must
    /// start (`None` before the walk has visited one there).
    next_at: [Option<Next>; LEVELS],
    /// Per level: the offset of the first node visited there (for full verification).
    pub(crate) first_at: [Option<u64>; LEVELS],
    /// Whether the walk skipped a branch, losing track of the levels under it.
    pub(crate) lost_track: bool,
    /// The last key of the last page the walk gave.
    prev_last: Option<Vec<u8>>,
    /// Over a network: the branch whose children were asked for ahead, and up to which
    /// child (see [`Walker::read_ahead`]).
    ahead: Option<(usize, usize)>,
    /// Nodes the walk has read: how far ahead it may ask.
    walked: usize,
}

/// The most sibling nodes a walk asks for ahead of the one it reads.
const READ_AHEAD: usize = 32;

impl Walker {
    /// Notes a visit to `c` at `level`; in order when it starts where the level's previous
    /// node ended.
    fn visit(&mut self, c: &Child, level: u8, check: bool) -> bool {
        let l = usize::from(level).min(LEVELS - 1);
        let ok = !check
            || match self.next_at[l] {
                None => true,
                Some(Next::At(n)) => n == c.offset,
                Some(Next::AtLeast(n)) => c.offset >= n,
            };
        self.next_at[l] = c.offset.checked_add(c.len.into()).map(Next::At);
        self.first_at[l].get_or_insert(c.offset);
        ok
    }

    /// After a node at `level` could not be read, where the levels under it go on is not
    /// known, only that it is after where they were: a level's offsets only grow.
    fn forget_below(&mut self, level: u8) {
        for l in 0..usize::from(level).min(LEVELS) {
            if let Some(Next::At(n)) = self.next_at[l] {
                self.next_at[l] = Some(Next::AtLeast(n));
            }
        }
        if level > 0 {
            self.lost_track = true;
        }
    }

    /// The separator that bounds the current page from below: the nearest one on the path
    /// that is not a first child's (`None` when the page is the tree's first).
    pub(crate) fn lower_separator(&self) -> Option<&[u8]> {
        self.path
            .iter()
            .rev()
            .find(|(_, i)| *i > 0)
            .and_then(|(b, i)| b.children.get(*i))
            .map(|c| c.sep.as_slice())
    }

    /// A page the walk reached: its keys follow the previous page's, and lie above the
    /// separator that leads to it (§6.3): else the walk stops at it.
    fn arrive(&mut self, p: Arc<PageNode>) -> Result<Arc<PageNode>, WalkError> {
        let Some((first, last)) = &p.keys else {
            return Ok(p);
        };
        let after_prev = self.prev_last.as_ref().is_none_or(|k| k < first);
        let sep_ok = self.lower_separator().is_none_or(|s| {
            s <= first.as_slice() && self.prev_last.as_deref().is_none_or(|k| k < s)
        });
        if !after_prev || !sep_ok {
            let rule = if after_prev {
                Rule::KeyBounds
            } else {
                Rule::KeyOrder
            };
            return Err(WalkError::Stopped(ReadError::violates(p.at, rule)));
        }
        self.prev_last = Some(last.clone());
        Ok(p)
    }

    /// The separator that bounds the current node from above: the nearest next sibling's on
    /// the path (`None` for the tree's last node).
    fn upper_separator(&self) -> Option<&[u8]> {
        self.path
            .iter()
            .rev()
            .find_map(|(b, i)| b.children.get(i + 1))
            .map(|c| c.sep.as_slice())
    }

    /// The child `c` at the end of the path could not be read. Damage (its checksum fails,
    /// or its bytes could not be fetched) costs its entries, and the walk goes on; a node
    /// whose checksum holds but that breaks the format's rules was made so, and stops it.
    fn skipped(&self, error: ReadError, c: &Child) -> WalkError {
        if !is_damage(&error) {
            return WalkError::Stopped(error);
        }
        WalkError::Skipped(Box::new(Lost {
            error,
            first: c.first_entry,
            entries: c.entries,
            from: self.lower_separator().map(<[u8]>::to_vec),
            to: self.upper_separator().map(<[u8]>::to_vec),
        }))
    }

    /// Over a network, asks for the next siblings of child `i` of `b` together with it, as
    /// many as the walk has read nodes so far (at most [`READ_AHEAD`]): a long walk costs a
    /// round trip per 32 pages instead of one a page, and a short one (a prefix) reads at
    /// most about twice the nodes it uses.
    fn read_ahead(&mut self, ctx: &Ctx<'_>, b: &Arc<BranchNode>, i: usize) {
        self.walked += 1;
        if !ctx.src.is_remote() {
            return;
        }
        let id = Arc::as_ptr(b) as usize;
        if self.ahead.is_some_and(|(a, end)| a == id && i < end) {
            return;
        }
        let n = self.walked.clamp(1, READ_AHEAD);
        let end = i.saturating_add(n).min(b.children.len());
        let index = ctx.st.layout.range(SectionId::Index);
        let ranges: Vec<_> = b
            .children
            .get(i..end)
            .unwrap_or_default()
            .iter()
            .map(|c| {
                let start = index.start.saturating_add(c.offset);
                start..start.saturating_add(c.len.into())
            })
            .collect();
        if ranges.len() > 1 {
            ctx.src.prefetch(&ranges);
        }
        self.ahead = Some((id, end));
    }

    /// Starts the walk at the page holding entry `e` (below the entry count).
    pub(crate) fn seek(&mut self, ctx: &Ctx<'_>, e: u64) -> Result<Arc<PageNode>, WalkError> {
        self.path.clear();
        self.next_at = [None; LEVELS];
        self.prev_last = None;
        let mut node = ctx.st.layout.root.clone();
        loop {
            match node {
                Node::Page(p) => return self.arrive(p),
                Node::Branch(b) => {
                    let i = b
                        .children
                        .partition_point(|c| c.first_entry <= e)
                        .checked_sub(1);
                    let Some((i, c)) = i.and_then(|i| Some((i, b.children.get(i)?.clone()))) else {
                        return Err(WalkError::Stopped(ReadError::violates(
                            Location::Entry(e),
                            Rule::EntryCount,
                        )));
                    };
                    self.visit(&c, b.level, false);
                    self.path.push((Arc::clone(&b), i));
                    node = match ctx.child(&c, b.level) {
                        Ok(n) => n,
                        Err(error) => {
                            self.forget_below(b.level);
                            return Err(self.skipped(error, &c));
                        }
                    };
                }
            }
        }
    }

    /// The page after the current one in key order; `None` after the last.
    pub(crate) fn next_page(&mut self, ctx: &Ctx<'_>) -> Result<Option<Arc<PageNode>>, WalkError> {
        loop {
            let Some((b, i)) = self.path.last_mut() else {
                return Ok(None);
            };
            if *i + 1 < b.children.len() {
                *i += 1;
                break;
            }
            self.path.pop();
        }
        loop {
            let Some((b, i)) = self.path.last() else {
                return Ok(None);
            };
            let Some(c) = b.children.get(*i).cloned() else {
                return Ok(None);
            };
            let b = Arc::clone(b);
            if !self.visit(&c, b.level, true) {
                let at = ctx
                    .st
                    .layout
                    .range(SectionId::Index)
                    .start
                    .saturating_add(c.offset);
                return Err(WalkError::Stopped(ReadError::violates(
                    Location::Node(at),
                    Rule::NodePlace,
                )));
            }
            let i = self.path.last().map_or(0, |(_, i)| *i);
            self.read_ahead(ctx, &b, i);
            match ctx.child(&c, b.level) {
                Ok(Node::Page(p)) => return self.arrive(p).map(Some),
                Ok(Node::Branch(nb)) => self.path.push((nb, 0)),
                Err(error) => {
                    self.forget_below(b.level);
                    return Err(self.skipped(error, &c));
                }
            }
        }
    }

    /// The next node at `level` would start here (`None` before the walk visited one).
    pub(crate) fn next_at(&self, level: usize) -> Option<u64> {
        match self.next_at.get(level).copied().flatten() {
            Some(Next::At(n)) => Some(n),
            _ => None,
        }
    }
}
