//! Index nodes (§6): decoding them with their checks, fetching them through the checksum
//! chain, keeping recent ones, and walking from the root to the page of a key or an entry.

use std::sync::Arc;

use super::Ctx;
use crate::error::{Location, ReadError, ReadResult, Rule};
use crate::format::nodes::{
    self, child_for_entry, child_for_key, decode_branch, Child, PageHead, KIND_BRANCH, KIND_PAGE,
};
use crate::format::{self, Header, SectionId};

/// A page (§6.2): its bytes, decoded head, and the number of its first entry.
#[derive(Debug)]
pub(crate) struct PageNode {
    pub(crate) first_entry: u64,
    pub(crate) at: Location,
    pub(crate) bytes: Vec<u8>,
    pub(crate) head: PageHead,
}

/// A branch (§6.3): its children and the level they are at.
#[derive(Debug)]
pub(crate) struct BranchNode {
    pub(crate) level: u8,
    pub(crate) children: Vec<Child>,
}

/// A decoded node.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Page(Arc<PageNode>),
    Branch(Arc<BranchNode>),
}

impl Node {
    /// Decodes `bytes` as a node at `level` holding `entries` entries from `first_entry`.
    fn decode(
        bytes: Vec<u8>,
        level: u8,
        first_entry: u64,
        entries: u64,
        at: Location,
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
            return Ok(Node::Page(Arc::new(PageNode {
                first_entry,
                at,
                bytes,
                head,
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
        Ok(Node::Branch(Arc::new(BranchNode {
            level: level - 1,
            children,
        })))
    }

    /// The root, from the prelude.
    pub(crate) fn decode_root(bytes: &[u8], h: &Header) -> ReadResult<Node> {
        let root = Node::decode(
            bytes.to_vec(),
            h.index_depth,
            0,
            h.entry_count,
            Location::Root,
        )?;
        if let Node::Page(p) = &root {
            if p.head.n == 0 && h.entry_count > 0 {
                return Err(ReadError::violates(Location::Root, Rule::EntryCount));
            }
        }
        Ok(root)
    }
}

/// Recently used nodes by file offset, most recent last.
pub(crate) struct NodeCache {
    capacity: usize,
    nodes: Vec<(u64, Node)>,
}

impl NodeCache {
    pub(crate) fn new(capacity: usize) -> Self {
        NodeCache {
            capacity,
            nodes: Vec::new(),
        }
    }

    fn get(&mut self, offset: u64) -> Option<Node> {
        let i = self.nodes.iter().rposition(|(o, _)| *o == offset)?;
        let hit = self.nodes.remove(i);
        let node = hit.1.clone();
        self.nodes.push(hit);
        Some(node)
    }

    fn put(&mut self, offset: u64, node: Node) {
        if self.capacity == 0 {
            return;
        }
        if self.nodes.len() >= self.capacity {
            self.nodes.remove(0);
        }
        self.nodes.push((offset, node));
    }
}

impl<'a> Ctx<'a> {
    /// The child node `c` of a branch whose children are at `level`, fetched (or from the
    /// cache) and checked against the CRC its parent gives.
    pub(crate) fn child(&self, c: &Child, level: u8) -> ReadResult<Node> {
        if let Some(hit) = self.st.nodes.lock().ok().and_then(|mut n| n.get(c.offset)) {
            return Ok(hit);
        }
        let index = self.st.layout.range(SectionId::Index);
        let start = index.start.saturating_add(c.offset);
        let at = Location::Node(start);
        let end = start.checked_add(c.len.into());
        if end.is_none_or(|e| e > index.end) {
            return Err(ReadError::violates(at, Rule::NodeLength));
        }
        let bytes = self.read(start, c.len as usize)?.into_owned();
        if format::crc32(&bytes) != c.crc {
            return Err(ReadError::checksum(at));
        }
        let node = Node::decode(bytes, level, c.first_entry, c.entries, at)?;
        if let Ok(mut n) = self.st.nodes.lock() {
            n.put(c.offset, node.clone());
        }
        Ok(node)
    }

    /// Walks down from the root, choosing a child with `pick`, to a page.
    fn descend(
        &self,
        pick: impl Fn(&[Child]) -> Option<&Child>,
    ) -> ReadResult<Option<Arc<PageNode>>> {
        let mut node = self.st.layout.root.clone();
        loop {
            match node {
                Node::Page(p) => return Ok(Some(p)),
                Node::Branch(b) => match pick(&b.children) {
                    Some(c) => node = self.child(c, b.level)?,
                    None => return Ok(None),
                },
            }
        }
    }

    /// The page a key would be in.
    pub(crate) fn page_for_key(&self, key: &[u8]) -> ReadResult<Option<Arc<PageNode>>> {
        self.descend(|cs| child_for_key(cs, key))
    }

    /// The page holding entry `e` (which must be below the entry count).
    pub(crate) fn page_for_entry(&self, e: u64) -> ReadResult<Arc<PageNode>> {
        self.descend(|cs| child_for_entry(cs, e))?
            .filter(|p| e >= p.first_entry && e - p.first_entry < p.head.n as u64)
            .ok_or(ReadError::violates(Location::Entry(e), Rule::EntryCount))
    }
}

/// Re-exported for the reader's other modules.
pub(crate) use nodes::find_in_page;
