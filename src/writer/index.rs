//! Building the index tree (spec §6, §8): pages filled in key order up to 16 KiB, then
//! branches over them until the top fits in the prelude.

use crate::error::WriteError;
use crate::format::bytes::varint_len;
use crate::format::entries::EntryEncoder;
use crate::format::nodes::{
    self, branch_head_len, child_record_len, encode_branch, encode_page, foreign_record_len,
    run_record_len, separator, Child, MAX_NODE_ITEMS, MAX_NODE_LEN,
};
use crate::format::{self, BlockRecord, EntryRecord};

/// The tree: the root (for the prelude), the other nodes (INDEX), and the branch levels.
pub(super) struct Tree {
    pub(super) depth: u8,
    pub(super) root: Vec<u8>,
    pub(super) nodes: Vec<u8>,
    /// Whether a node in `nodes` is packed (§6.5): the archive needs PACKED_NODES.
    pub(super) packed: bool,
}

/// Where closed nodes go: INDEX's bytes, and whether nodes are packed when that is shorter.
struct Sink {
    bytes: Vec<u8>,
    pack: bool,
    packed: bool,
}

impl Sink {
    /// Appends a node to INDEX (packed when allowed and shorter, §6.5) and returns its
    /// record for the parent: the length and CRC of the node as stored.
    fn add(&mut self, node: Vec<u8>, entries: u64, sep: Vec<u8>) -> Child {
        let stored = match self.pack.then(|| nodes::pack_node(&node)).flatten() {
            Some(p) => {
                self.packed = true;
                p
            }
            None => node,
        };
        let c = Child {
            first_entry: 0,
            entries,
            offset: self.bytes.len() as u64,
            len: stored.len() as u32,
            crc: format::crc32(&stored),
            sep,
        };
        self.bytes.extend_from_slice(&stored);
        c
    }
}

/// A page being filled.
struct PageFill {
    enc: EntryEncoder,
    run: Option<(u32, u32)>,
    run_bytes: usize,
    foreign: Vec<u32>,
    foreign_bytes: usize,
    first_key: Vec<u8>,
    last_key: Vec<u8>,
}

impl PageFill {
    fn new() -> Self {
        PageFill {
            enc: EntryEncoder::new(),
            run: None,
            run_bytes: 0,
            foreign: Vec::new(),
            foreign_bytes: 0,
            first_key: Vec::new(),
            last_key: Vec::new(),
        }
    }

    fn head_len(
        &self,
        n: usize,
        run: Option<(u32, u32)>,
        run_bytes: usize,
        f: usize,
        fb: usize,
        blocks: &[BlockRecord],
    ) -> usize {
        let (m, first) = match run {
            Some((a, b)) => {
                let r = &blocks[a as usize];
                (
                    (b - a + 1) as usize,
                    varint_len(a.into()) + varint_len(r.offset) + varint_len(r.stream_start),
                )
            }
            None => (0, 0),
        };
        1 + varint_len(n as u64)
            + varint_len(m as u64)
            + first
            + run_bytes
            + varint_len(f as u64)
            + fb
    }

    fn len(&self, blocks: &[BlockRecord]) -> usize {
        self.head_len(
            self.enc.len(),
            self.run,
            self.run_bytes,
            self.foreign.len(),
            self.foreign_bytes,
            blocks,
        ) + self.enc.encoded_len()
    }
}

/// The blocks an entry's own lead and body lie in (`None` when it stores nothing), and the
/// block its shared body lies in.
fn blocks_of(e: &EntryRecord, blocks: &[BlockRecord]) -> (Option<(u32, u32)>, Option<u32>) {
    let holding = |s: u64| {
        let i = blocks.partition_point(|b| b.stream_start <= s);
        (i - 1) as u32
    };
    let own_len = u64::from(e.lead_len)
        + if e.shared_body_at.is_some() {
            0
        } else {
            e.body_len
        };
    let own = (own_len > 0).then(|| (holding(e.lead_at), holding(e.lead_at + own_len - 1)));
    (own, e.shared_body_at.map(holding))
}

/// Builds the tree over `count` entries (`entry(i)`, in key order, stream positions set) and
/// `blocks`; the root gets at most `root_budget` bytes; the other nodes are packed when
/// `pack` and that makes them shorter (the root never is).
pub(super) fn build(
    count: usize,
    entry: impl Fn(usize) -> EntryRecord,
    blocks: &[BlockRecord],
    root_budget: usize,
    page_size: usize,
    pack: bool,
) -> Result<Tree, WriteError> {
    let mut nodes = Sink {
        bytes: Vec::new(),
        pack,
        packed: false,
    };
    // Each page goes to INDEX as it closes (held once, not also in a list of closed pages),
    // its record for the level above kept in `children`.
    let mut children: Vec<Child> = Vec::new();
    let mut prev_last: Option<Vec<u8>> = None;
    let mut emit = |nodes: &mut Sink, (bytes, n, first, last): Closed| {
        let sep = prev_last
            .as_deref()
            .map_or(Vec::new(), |p| separator(p, &first));
        children.push(nodes.add(bytes, n, sep));
        prev_last = Some(last);
    };
    let mut fill = PageFill::new();
    for i in 0..count {
        let e = &entry(i);
        let (own, shared) = blocks_of(e, blocks);
        loop {
            let run = match (fill.run, own) {
                (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
                (r, None) => r,
                (None, o) => o,
            };
            let run_bytes = match run {
                Some((a, b)) => {
                    fill.run_bytes
                        + (a..=b)
                            .filter(|n| fill.run.is_none_or(|(x, y)| *n < x || *n > y))
                            .map(|n| run_record_len(&blocks[n as usize]))
                            .sum::<usize>()
                }
                None => 0,
            };
            let mut foreign = fill.foreign.clone();
            if let Some(s) = shared {
                if run.is_none_or(|(a, b)| s < a || s > b) && !foreign.contains(&s) {
                    foreign.push(s);
                }
            }
            foreign.retain(|f| run.is_none_or(|(a, b)| *f < a || *f > b));
            let fb: usize = foreign
                .iter()
                .map(|&f| foreign_record_len(&blocks[f as usize]))
                .sum();
            let n = fill.enc.len() + 1;
            let len = fill.head_len(n, run, run_bytes, foreign.len(), fb, blocks)
                + fill.enc.encoded_len()
                + fill.enc.cost(e);
            if (len > page_size || n > MAX_NODE_ITEMS) && !fill.enc.is_empty() {
                let closed = close(std::mem::replace(&mut fill, PageFill::new()), blocks);
                emit(&mut nodes, closed);
                continue;
            }
            if fill.enc.is_empty() {
                fill.first_key = e.key.as_bytes().to_vec();
            }
            fill.run = run;
            fill.run_bytes = run_bytes;
            fill.foreign = foreign;
            fill.foreign_bytes = fb;
            fill.enc.push(e);
            fill.last_key.clear();
            fill.last_key.extend_from_slice(e.key.as_bytes());
            break;
        }
    }
    // One page that fits in the prelude is the root.
    if nodes.bytes.is_empty() && fill.len(blocks) <= root_budget.min(page_size) {
        let (root, ..) = close(fill, blocks);
        return Ok(Tree {
            depth: 0,
            root,
            nodes: nodes.bytes,
            packed: false,
        });
    }
    if !fill.enc.is_empty() {
        emit(&mut nodes, close(fill, blocks));
    }
    let mut depth = 1u8;
    loop {
        let root_len = branch_len(&children);
        if root_len <= root_budget && children.len() <= MAX_NODE_ITEMS {
            return Ok(Tree {
                depth,
                root: encode_branch(&children),
                nodes: nodes.bytes,
                packed: nodes.packed,
            });
        }
        if depth >= format::header::MAX_INDEX_DEPTH {
            return Err(WriteError::TooLarge(
                "the index needs more than 4 levels".into(),
            ));
        }
        children = group(&mut nodes, children);
        depth += 1;
    }
}

/// The encoded length of a branch over `children`.
fn branch_len(children: &[Child]) -> usize {
    branch_head_len(children.len(), children.first().map_or(0, |c| c.offset))
        + children
            .iter()
            .map(|c| child_record_len(c.entries, c.len, &c.sep))
            .sum::<usize>()
}

/// Groups `children` into branches of at most 16 KiB, appended to `nodes`; returns the
/// branches as children of the level above.
fn group(nodes: &mut Sink, children: Vec<Child>) -> Vec<Child> {
    let mut out = Vec::new();
    let mut cur: Vec<Child> = Vec::new();
    for c in children {
        cur.push(c);
        if cur.len() > 1 && (branch_len(&cur) > MAX_NODE_LEN || cur.len() > MAX_NODE_ITEMS) {
            if let Some(last) = cur.pop() {
                out.push(finish_branch(nodes, std::mem::take(&mut cur)));
                cur.push(last);
            }
        }
    }
    if !cur.is_empty() {
        out.push(finish_branch(nodes, cur));
    }
    out
}

fn finish_branch(nodes: &mut Sink, mut children: Vec<Child>) -> Child {
    let entries = children.iter().map(|c| c.entries).sum();
    let sep = std::mem::take(&mut children[0].sep);
    let bytes = encode_branch(&children);
    nodes.add(bytes, entries, sep)
}

/// A page encoded: its bytes, entry count, first and last key.
type Closed = (Vec<u8>, u64, Vec<u8>, Vec<u8>);

/// Encodes a filled page.
fn close(fill: PageFill, blocks: &[BlockRecord]) -> Closed {
    let run: &[BlockRecord] = match fill.run {
        Some((a, b)) => &blocks[a as usize..=b as usize],
        None => &[],
    };
    let mut foreign: Vec<BlockRecord> = fill.foreign.iter().map(|&f| blocks[f as usize]).collect();
    foreign.sort_by_key(|b| b.number);
    let n = fill.enc.len() as u64;
    let bytes = encode_page(run, &foreign, fill.enc);
    debug_assert_eq!(nodes::PageHead::decode(&bytes).map(|h| h.n as u64), Ok(n));
    (bytes, n, fill.first_key, fill.last_key)
}
