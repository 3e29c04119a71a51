//! Recomputing the checksum chain of §1 after bytes were edited: for tools and tests that
//! build hostile or damaged archives on purpose (the fuzz harness, the test suite, the
//! reject vectors), so that an edit reaches the reader's later checks instead of failing the
//! first checksum. Readers never call this.

use byteorder::{ByteOrder, LittleEndian as LE};

use super::bytes::slice_at;
use super::header::{self, HEADER_LEN, SECTION_RECORD_LEN};
use super::nodes::{decode_branch, encode_branch, page_head, PageHead, KIND_BRANCH, KIND_PAGE};
use super::{crc32, SectionId};

/// What [`reseal`] recomputes besides node, section and prelude checksums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reseal {
    /// Also recompute every block record's `stored_crc` from the stored bytes.
    pub stored_crcs: bool,
}

fn field(bytes: &[u8], name: &str) -> Option<u64> {
    let f = header::HEADER_FIELDS.iter().find(|f| f.name == name)?;
    let b = bytes.get(f.offset..f.offset + f.width)?;
    Some(LE::read_uint(b, f.width))
}

/// Recomputes, bottom-up, every checksum the chain holds: block `stored_crc`s (when asked),
/// each node's CRC in its parent, every section's CRC in the table and the prelude's CRC.
/// Parts too broken to parse are left as they are. Returns false when the prelude itself
/// cannot be parsed.
pub fn reseal(bytes: &mut [u8], opts: Reseal) -> bool {
    let get = |n| field(bytes, n);
    let (Some(sections), Some(meta), Some(ctypes), Some(root_len), Some(depth)) = (
        get("section_count"),
        get("meta_len"),
        get("ctypes_len"),
        get("root_len"),
        get("index_depth"),
    ) else {
        return false;
    };
    let table = HEADER_LEN;
    let root_at = table + SECTION_RECORD_LEN * sections as usize + (meta + ctypes) as usize;
    let mut ranges = Vec::new();
    for i in 0..sections as usize {
        let at = table + SECTION_RECORD_LEN * i;
        let Some(r) = bytes.get(at..at + SECTION_RECORD_LEN) else {
            return false;
        };
        ranges.push((
            LE::read_u32(&r[0..]),
            LE::read_u64(&r[8..]),
            LE::read_u64(&r[16..]),
        ));
    }
    let find = |id: SectionId| {
        ranges
            .iter()
            .find(|r| r.0 == id as u32)
            .map(|r| (r.1, r.2))
            .unwrap_or((0, 0))
    };
    let (index, data) = (find(SectionId::Index).0, find(SectionId::Data).0);
    let Some(root) = slice_at(bytes, root_at as u64, root_len).map(<[u8]>::to_vec) else {
        return false;
    };
    let mut ctx = Ctx {
        index,
        data,
        opts,
        done: std::collections::HashSet::new(),
    };
    let root = ctx.node(bytes, root, depth as u8);
    if let Some(slot) = bytes.get_mut(root_at..root_at + root.len()) {
        slot.copy_from_slice(&root);
    }
    for (i, (_, offset, length)) in ranges.iter().enumerate() {
        let crc = slice_at(bytes, *offset, *length).map(crc32);
        let at = table + SECTION_RECORD_LEN * i + 24;
        if let (Some(crc), Some(slot)) = (crc, bytes.get_mut(at..at + 4)) {
            LE::write_u32(slot, crc);
        }
    }
    reseal_titles(bytes, sections as usize);
    header::reseal(bytes)
}

/// Recomputes only the sections' CRCs and the prelude's CRC, leaving every node and block
/// checksum as it is: what makes an edit inside a node or a block reach the reader's check
/// of that node or block (a broken chain) rather than the prelude's. False when the prelude
/// cannot be parsed.
pub fn reseal_sections(bytes: &mut [u8]) -> bool {
    let Some(sections) = field(bytes, "section_count") else {
        return false;
    };
    for i in 0..sections as usize {
        let at = HEADER_LEN + SECTION_RECORD_LEN * i;
        let Some(r) = bytes.get(at..at + SECTION_RECORD_LEN) else {
            return false;
        };
        let (offset, length) = (LE::read_u64(&r[8..]), LE::read_u64(&r[16..]));
        let crc = slice_at(bytes, offset, length).map(crc32);
        if let (Some(crc), Some(slot)) = (crc, bytes.get_mut(at + 24..at + 28)) {
            LE::write_u32(slot, crc);
        }
    }
    reseal_titles(bytes, sections as usize);
    header::reseal(bytes)
}

/// The title index's header (§14.3) seals the CRCs of INDEX and DATA: recomputes its
/// `head_crc` from the table's (already recomputed) CRCs, then the TITLES section's CRC.
fn reseal_titles(bytes: &mut [u8], sections: usize) {
    let record = |bytes: &[u8], i: usize| {
        let at = HEADER_LEN + SECTION_RECORD_LEN * i;
        bytes.get(at..at + SECTION_RECORD_LEN).map(|r| {
            (
                LE::read_u32(&r[0..]),
                LE::read_u64(&r[8..]),
                LE::read_u64(&r[16..]),
                LE::read_u32(&r[24..]),
            )
        })
    };
    let crc_of = |bytes: &[u8], id: SectionId| {
        (0..sections)
            .filter_map(|i| record(bytes, i))
            .find(|r| r.0 == id as u32)
            .map_or(0, |r| r.3)
    };
    let (index_crc, data_crc) = (
        crc_of(bytes, SectionId::Index),
        crc_of(bytes, SectionId::Data),
    );
    for i in 0..sections {
        let Some((id, offset, length, _)) = record(bytes, i) else {
            return;
        };
        if id != super::titles::SECTION_ID || length < super::titles::HEADER_LEN as u64 {
            continue;
        }
        let Some(head) = slice_at(bytes, offset, super::titles::HEADER_LEN as u64) else {
            continue;
        };
        let crc = super::titles::head_crc(&head[4..], index_crc, data_crc);
        LE::write_u32(&mut bytes[offset as usize..offset as usize + 4], crc);
        let crc = slice_at(bytes, offset, length).map(crc32);
        let at = HEADER_LEN + SECTION_RECORD_LEN * i + 24;
        if let (Some(crc), Some(slot)) = (crc, bytes.get_mut(at..at + 4)) {
            LE::write_u32(slot, crc);
        }
    }
}

struct Ctx {
    index: u64,
    data: u64,
    opts: Reseal,
    /// Nodes already resealed (by offset and level): a node two branches share (which the
    /// format forbids, §6.4) is resealed once, so the work stays linear in the file's size
    /// whatever the bytes.
    done: std::collections::HashSet<(u64, u8)>,
}

impl Ctx {
    /// Reseals the subtree of `node` (at `level`) and returns its bytes with the children's
    /// CRCs (and block CRCs) updated.
    fn node(&mut self, bytes: &mut [u8], node: Vec<u8>, level: u8) -> Vec<u8> {
        match node.first() {
            Some(&KIND_PAGE) if level == 0 => self.page(bytes, node),
            Some(&KIND_BRANCH) if level > 0 => {
                let Ok(mut children) = decode_branch(&node, 0) else {
                    return node;
                };
                for c in &mut children {
                    let at = self.index.saturating_add(c.offset);
                    let Some(child) = slice_at(bytes, at, c.len.into()).map(<[u8]>::to_vec) else {
                        continue;
                    };
                    let child = if self.done.insert((c.offset, level - 1)) {
                        self.node(bytes, child, level - 1)
                    } else {
                        child
                    };
                    c.crc = crc32(&child);
                    if let Some(slot) = bytes.get_mut(at as usize..at as usize + child.len()) {
                        slot.copy_from_slice(&child);
                    }
                }
                encode_branch(&children)
            }
            _ => node,
        }
    }

    fn page(&self, bytes: &[u8], node: Vec<u8>) -> Vec<u8> {
        if !self.opts.stored_crcs {
            return node;
        }
        let Ok(mut head) = PageHead::decode(&node) else {
            return node;
        };
        for b in head.run.iter_mut().chain(head.foreign.iter_mut()) {
            if let Some(s) = slice_at(
                bytes,
                self.data.saturating_add(b.offset),
                b.stored_len.into(),
            ) {
                b.stored_crc = crc32(s);
            }
        }
        let mut out = page_head(head.n, &head.run, &head.foreign);
        out.extend_from_slice(node.get(head.entries_at..).unwrap_or_default());
        out
    }
}
