//! Full verification (§9): every checksum, every record, every block, both indexes.

use std::collections::BTreeMap;
use std::fmt;

use super::view::View;
use crate::error::{DamageKind, Location, ReadError, Rule};
use crate::format::bytes::slice_at;
use crate::format::keyhash::{self, Probe};
use crate::format::{
    self, sorted, SectionId, BUCKET_LEN, ENTRIES_PER_GROUP, NO_ENTRY, SORTED_GROUP_LEN,
};

/// One thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where.
    pub at: Location,
    /// What.
    pub kind: DamageKind,
    /// Keys of the entries it affects (for damaged blocks: the entries whose bodies lie in it).
    pub keys: Vec<String>,
}

impl Problem {
    fn new(at: Location, kind: DamageKind) -> Problem {
        Problem {
            at,
            kind,
            keys: Vec::new(),
        }
    }

    fn from_error(e: &ReadError, at: Location) -> Problem {
        match e {
            ReadError::Damaged { at, kind } => Problem::new(*at, *kind),
            _ => Problem::new(at, DamageKind::Undecodable),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.kind)
    }
}

/// What [`Archive::verify`](crate::Archive::verify) found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Sections checked.
    pub sections: usize,
    /// Blocks checked.
    pub blocks: u64,
    /// Entries checked.
    pub entries: u64,
    /// Everything found wrong; empty when the archive is intact.
    pub problems: Vec<Problem>,
}

impl Report {
    /// Whether nothing was found wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_ok() {
            return write!(
                f,
                "ok: {} sections, {} blocks, {} entries, every checksum matches",
                self.sections, self.blocks, self.entries
            );
        }
        writeln!(f, "{} problem(s) found:", self.problems.len())?;
        for p in &self.problems {
            writeln!(f, "  {p}")?;
            if !p.keys.is_empty() {
                let shown: Vec<&str> = p.keys.iter().take(20).map(String::as_str).collect();
                write!(f, "    affected keys: {}", shown.join(", "))?;
                if p.keys.len() > shown.len() {
                    write!(f, " (and {} more)", p.keys.len() - shown.len())?;
                }
                writeln!(f)?;
            }
        }
        Ok(())
    }
}

pub(crate) fn verify(view: &View<'_>) -> Report {
    let h = *view.header();
    let mut v = Verifier {
        view,
        problems: Vec::new(),
    };
    v.sections();
    let mut blocks = v.blocks();
    v.entries(&mut blocks);
    v.buckets();
    v.sorted();
    let mut problems = v.problems;
    problems.extend(blocks.problems);
    Report {
        sections: view.section_records().len(),
        blocks: h.block_count,
        entries: h.entry_count,
        problems,
    }
}

/// What the pass over the blocks learnt: where each block starts in the stream, its raw
/// length, and the damaged ones (whose problems collect the keys they cost).
struct Blocks {
    raw_lens: Vec<Option<u32>>,
    starts: Vec<u64>,
    /// Damaged block → its index in `problems`.
    damaged: BTreeMap<u32, usize>,
    problems: Vec<Problem>,
}

struct Verifier<'v, 'a> {
    view: &'v View<'a>,
    problems: Vec<Problem>,
}

impl Verifier<'_, '_> {
    fn note(&mut self, at: Location, kind: DamageKind) {
        self.problems.push(Problem::new(at, kind));
    }

    fn violates(&mut self, at: Location, rule: Rule) {
        self.note(at, DamageKind::Violates(rule));
    }

    /// Every section's CRC, known ids or not.
    fn sections(&mut self) {
        for r in self.view.section_records() {
            let at =
                SectionId::from_u32(r.id).map_or(Location::UnknownSection(r.id), Location::Section);
            match slice_at(self.view.bytes, r.offset, r.length) {
                Some(b) if format::crc32(b) == r.crc => {}
                Some(_) => self.note(at, DamageKind::ChecksumMismatch),
                None => self.violates(at, Rule::Tiling),
            }
        }
    }

    /// Each block's record, data CRC and decompression, and the chain of stream offsets.
    fn blocks(&mut self) -> Blocks {
        let h = *self.view.header();
        let mut out = Blocks {
            raw_lens: Vec::new(),
            starts: Vec::new(),
            damaged: BTreeMap::new(),
            problems: Vec::new(),
        };
        let mut stream_pos = 0u64;
        for b in 0..h.block_count {
            let b = b as u32;
            let rec = self.view.block(b).ok();
            if rec.is_some_and(|r| r.stream_offset != stream_pos) {
                self.violates(Location::Block(b), Rule::StreamOffset);
            }
            out.starts.push(stream_pos);
            stream_pos = stream_pos.saturating_add(rec.map_or(0, |r| u64::from(r.raw_len)));
            match self.view.with_block_from(b, false, |raw| raw.len() as u32) {
                Ok(n) => out.raw_lens.push(Some(n)),
                Err(e) => {
                    out.raw_lens.push(rec.map(|r| r.raw_len));
                    out.damaged.insert(b, out.problems.len());
                    out.problems
                        .push(Problem::from_error(&e, Location::Block(b)));
                }
            }
        }
        if stream_pos != h.stream_len {
            self.violates(Location::Header, Rule::StreamLength);
        }
        out
    }

    /// Each entry: record and strings, the blocks its body spans, its lead, its key's
    /// lookup. Leads are read from the last decompressed block: entries mostly come in
    /// block order.
    fn entries(&mut self, blocks: &mut Blocks) {
        let view = self.view;
        let h = *view.header();
        let mut last_block: Option<(u32, Vec<u8>)> = None;
        for i in 0..h.entry_count {
            let at = Location::Entry(i);
            let e = match view.entry(i) {
                Ok(e) => e,
                Err(err) => {
                    self.problems.push(Problem::from_error(&err, at));
                    continue;
                }
            };
            if let Some((block, offset)) = e.location() {
                match body_blocks(blocks, &h, block, offset, e.body_len()) {
                    Some(range) => {
                        for (_, p) in blocks.damaged.range(range) {
                            if let Some(problem) = blocks.problems.get_mut(*p) {
                                problem.keys.push(e.key().to_string());
                            }
                        }
                    }
                    None => self.violates(at, Rule::BodyRange),
                }
            }
            if let Some((block, _)) = e.location().filter(|_| e.lead_len() > 0) {
                if last_block.as_ref().is_none_or(|(b, _)| *b != block) {
                    last_block = view
                        .with_block_from(block, false, |raw| raw.to_vec())
                        .ok()
                        .map(|raw| (block, raw));
                }
                // A damaged block is reported with the blocks.
                if let Some((_, raw)) = last_block.as_ref().filter(|(b, _)| *b == block) {
                    if let Err(err) = e.info_in_block(raw) {
                        self.problems.push(Problem::from_error(&err, at));
                    }
                }
            }
            match view
                .get_key(e.key().as_bytes())
                .map(|f| f.map(|f| f.index()))
            {
                Ok(Some(j)) if j == i => {}
                Ok(_) => self.violates(at, Rule::HashReachable),
                Err(_) => {} // the damaged bucket is reported with the buckets
            }
        }
    }

    /// Every bucket's CRC, and every occupied slot: a real entry, the tag of that entry's
    /// key, within `max_probe` of its home bucket, occupied slots before empty ones; as many
    /// occupied slots as entries.
    fn buckets(&mut self) {
        let view = self.view;
        let h = *view.header();
        let Ok(table) = view.section(SectionId::KeyHash) else {
            return;
        };
        let mut occupied = 0u64;
        for (b, raw) in table.chunks_exact(BUCKET_LEN).enumerate() {
            let at = Location::Bucket(b as u64);
            let Some(slots) = raw.try_into().ok().and_then(keyhash::decode_bucket) else {
                self.note(at, DamageKind::ChecksumMismatch);
                continue;
            };
            let mut seen_empty = false;
            for slot in slots {
                if slot.entry == NO_ENTRY {
                    seen_empty = true;
                    continue;
                }
                occupied += 1;
                if seen_empty {
                    self.violates(at, Rule::BucketSlots);
                }
                let Ok(e) = view.entry(u64::from(slot.entry)) else {
                    if u64::from(slot.entry) >= h.entry_count {
                        self.note(at, DamageKind::NoSuchEntry(u64::from(slot.entry)));
                    }
                    continue; // a damaged entry is reported with the entry
                };
                let probe = Probe::new(e.key().as_bytes(), h.hash_seed, h.bucket_count);
                if probe.tag != slot.tag || probe.distance(b as u64) > u64::from(h.max_probe) {
                    self.violates(at, Rule::BucketSlots);
                }
            }
        }
        if occupied != h.entry_count {
            self.violates(Location::Section(SectionId::KeyHash), Rule::BucketSlots);
        }
    }

    /// Every sorted group's CRC and unused places; then every entry listed once, in
    /// strictly increasing key order.
    fn sorted(&mut self) {
        let view = self.view;
        let n = view.header().entry_count;
        let Ok(table) = view.section(SectionId::Sorted) else {
            return;
        };
        for (g, raw) in table.chunks_exact(SORTED_GROUP_LEN).enumerate() {
            let at = Location::SortedPosition((g * ENTRIES_PER_GROUP) as u64);
            let Some(group) = raw.try_into().ok().and_then(sorted::decode_group) else {
                self.note(at, DamageKind::ChecksumMismatch);
                continue;
            };
            let first_unused = (n as usize).saturating_sub(g * ENTRIES_PER_GROUP);
            if group.iter().skip(first_unused).any(|e| *e != NO_ENTRY) {
                self.violates(at, Rule::SortedOrder);
            }
        }
        let mut seen = vec![false; usize::try_from(n).unwrap_or(0)];
        let mut prev: Option<&str> = None;
        for pos in 0..n {
            let at = Location::SortedPosition(pos);
            let index = match view.sorted_at(pos) {
                Ok(i) => i,
                Err(e) => {
                    // A checksum mismatch is reported with its group.
                    if e.damage() != Some(DamageKind::ChecksumMismatch) {
                        self.problems.push(Problem::from_error(&e, at));
                    }
                    prev = None;
                    continue;
                }
            };
            let Ok(e) = view.entry(index) else {
                prev = None;
                continue; // reported with the entry
            };
            let twice = seen
                .get_mut(e.index() as usize)
                .is_some_and(|s| std::mem::replace(s, true));
            let out_of_order = prev.is_some_and(|p| p.as_bytes() >= e.key().as_bytes());
            if twice || out_of_order {
                self.violates(at, Rule::SortedOrder);
            }
            prev = Some(e.key());
        }
    }
}

/// The blocks a body at `block`+`offset` of `len` bytes spans, or `None` when it runs past
/// its first block's end or the end of the stream.
fn body_blocks(
    blocks: &Blocks,
    h: &format::Header,
    block: u32,
    offset: u32,
    len: u64,
) -> Option<std::ops::RangeInclusive<u32>> {
    let first_len = blocks.raw_lens.get(block as usize).copied().flatten();
    if first_len.is_some_and(|l| offset >= l) {
        return None;
    }
    let start = blocks.starts.get(block as usize).copied()?;
    let end = start
        .checked_add(u64::from(offset))?
        .checked_add(len)
        .filter(|end| *end <= h.stream_len)?;
    // The last block holding the body is the one `end` falls in.
    let last = blocks
        .starts
        .partition_point(|s| *s < end)
        .saturating_sub(1) as u32;
    Some(block..=last.max(block))
}
