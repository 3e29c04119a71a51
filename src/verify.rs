//! Full verification: every checksum, every record, every block, both indexes.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::ReadError;
use crate::format::{self, SectionId, BUCKET_LEN, ENTRIES_PER_GROUP, NO_ENTRY, SORTED_GROUP_LEN};
use crate::reader::{slice_at, View};

/// One thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What is damaged, and where.
    pub what: String,
    /// Keys of the entries it affects (for damaged blocks: the entries whose bodies lie in it).
    pub keys: Vec<String>,
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
            writeln!(f, "  {}", p.what)?;
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
    let mut problems = Vec::new();
    let mut note = |what: String| {
        problems.push(Problem {
            what,
            keys: Vec::new(),
        })
    };

    let records = view.section_records();
    for r in records {
        let name = SectionId::from_u32(r.id)
            .map_or_else(|| format!("#{}", r.id), |s| s.name().to_string());
        match slice_at(view.bytes, r.offset, r.length) {
            Some(b) if format::crc32(b) == r.crc => {}
            Some(_) => note(format!("checksum mismatch in section '{name}'")),
            None => note(format!("section '{name}' lies outside the file")),
        }
    }

    // Blocks: record, data CRC and decompression of each, and the chain of stream offsets.
    let mut raw_lens: Vec<Option<u32>> = Vec::new();
    let mut starts: Vec<u64> = Vec::new();
    let mut damaged: BTreeMap<u32, usize> = BTreeMap::new();
    let mut block_problems: Vec<Problem> = Vec::new();
    let mut stream_pos = 0u64;
    for b in 0..h.block_count {
        let b = b as u32;
        let rec = view.block(b).ok();
        if let Some(r) = rec {
            if r.stream_offset != stream_pos {
                note(format!(
                    "block {b}: stream offset {} but the blocks before it end at {stream_pos}",
                    r.stream_offset
                ));
            }
        }
        starts.push(stream_pos);
        stream_pos = stream_pos.saturating_add(rec.map_or(0, |r| u64::from(r.raw_len)));
        match view.with_block_from(b, false, |raw| raw.len() as u32) {
            Ok(n) => raw_lens.push(Some(n)),
            Err(e) => {
                raw_lens.push(rec.map(|r| r.raw_len));
                damaged.insert(b, block_problems.len());
                block_problems.push(Problem {
                    what: describe(&e, b),
                    keys: Vec::new(),
                });
            }
        }
    }
    if stream_pos != h.stream_len {
        note(format!(
            "the blocks hold {stream_pos} bytes but the header says {}",
            h.stream_len
        ));
    }

    // Entries: record and strings, the blocks their bodies span, the lead, and the key index.
    // Leads are read from the last decompressed block: entries mostly come in block order.
    let mut last_block: Option<(u32, Vec<u8>)> = None;
    for i in 0..h.entry_count {
        let e = match view.entry(i) {
            Ok(e) => e,
            Err(err) => {
                note(err.to_string());
                continue;
            }
        };
        if let Some((block, offset)) = e.location() {
            let first_len = raw_lens.get(block as usize).copied().flatten();
            if first_len.is_some_and(|l| offset >= l) {
                note(format!(
                    "entry {i} ({:?}): body offset {offset} is past the end of block {block}",
                    e.key()
                ));
            }
            let start = starts.get(block as usize).copied().unwrap_or(u64::MAX);
            match start
                .checked_add(u64::from(offset))
                .and_then(|s| s.checked_add(e.body_len()))
                .filter(|end| *end <= h.stream_len)
            {
                None => note(format!(
                    "entry {i} ({:?}): body of {} bytes runs past the end of the data",
                    e.key(),
                    e.body_len()
                )),
                Some(end) => {
                    // Blocks block..=last hold the body: the last is the one `end` falls in.
                    let last = starts.partition_point(|s| *s < end).saturating_sub(1) as u32;
                    for (_, p) in damaged.range(block..=last.max(block)) {
                        block_problems[*p].keys.push(e.key().to_string());
                    }
                }
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
                    note(format!("entry {i}: {err}"));
                }
            }
        }
        match view_get(view, e.key()) {
            Ok(Some(j)) if j == i => {}
            Ok(Some(j)) => note(format!(
                "key index: {:?} leads to entry {j}, not {i}",
                e.key()
            )),
            Ok(None) => note(format!("key index: {:?} (entry {i}) is not found", e.key())),
            Err(_) => {} // the damaged bucket is reported below
        }
    }

    // Hash buckets and sorted groups: each by its own CRC, then their contents.
    if let Ok(t) = view.section(SectionId::KeyHash) {
        check_buckets(view, t, &mut note);
    }
    if let Ok(t) = view.section(SectionId::Sorted) {
        for (g, raw) in t.chunks_exact(SORTED_GROUP_LEN).enumerate() {
            let Some(group) = raw.try_into().ok().and_then(format::decode_group) else {
                note(format!("checksum mismatch in sorted index group {g}"));
                continue;
            };
            let first_unused = (h.entry_count as usize).saturating_sub(g * ENTRIES_PER_GROUP);
            if group.iter().skip(first_unused).any(|e| *e != NO_ENTRY) {
                note(format!(
                    "sorted index group {g}: unused places are not empty"
                ));
            }
        }
        check_sorted(view, h.entry_count, &mut note);
    }

    problems.extend(block_problems);
    Report {
        sections: records.len(),
        blocks: h.block_count,
        entries: h.entry_count,
        problems,
    }
}

fn view_get(view: &View<'_>, key: &str) -> Result<Option<u64>, ReadError> {
    Ok(view.get_key(key.as_bytes())?.map(|e| e.index()))
}

/// The sorted index lists every entry once, in strictly increasing key order.
fn check_sorted(view: &View<'_>, n: u64, note: &mut impl FnMut(String)) {
    let mut seen = vec![false; usize::try_from(n).unwrap_or(0)];
    let mut prev: Option<String> = None;
    for pos in 0..n {
        let index = match view.sorted_at(pos) {
            Ok(i) => i,
            Err(ReadError::ChecksumMismatch { .. }) => {
                prev = None;
                continue; // reported with its group
            }
            Err(e) => {
                note(format!("sorted index: {e}"));
                prev = None;
                continue;
            }
        };
        let Ok(e) = view.entry(index) else {
            prev = None;
            continue; // reported with the entry
        };
        if let Some(s) = seen.get_mut(e.index() as usize) {
            if *s {
                note(format!("sorted index lists entry {} twice", e.index()));
            }
            *s = true;
        }
        if let Some(p) = &prev {
            if p.as_bytes() >= e.key().as_bytes() {
                note(format!("sorted index is out of order at position {pos}"));
            }
        }
        prev = Some(e.key().to_string());
    }
}

/// Every bucket's CRC, and every occupied slot: a real entry, the tag of that entry's key,
/// within `max_probe` of its home bucket, occupied slots before empty ones; each entry once.
fn check_buckets(view: &View<'_>, table: &[u8], note: &mut impl FnMut(String)) {
    let h = view.header();
    let mut occupied = 0u64;
    for (b, raw) in table.chunks_exact(BUCKET_LEN).enumerate() {
        let Some(slots) = raw.try_into().ok().and_then(format::decode_bucket) else {
            note(format!("checksum mismatch in hash bucket {b}"));
            continue;
        };
        let mut seen_empty = false;
        for (i, slot) in slots.iter().enumerate() {
            if slot.entry == NO_ENTRY {
                seen_empty = true;
                continue;
            }
            occupied += 1;
            let bad = |why: String| format!("hash bucket {b} slot {i}: {why}");
            if seen_empty {
                note(bad("occupied after an empty slot".into()));
            }
            let Ok(e) = view.entry(u64::from(slot.entry)) else {
                if u64::from(slot.entry) >= h.entry_count {
                    note(bad(format!("entry {} does not exist", slot.entry)));
                }
                continue; // a damaged entry is reported with the entry
            };
            let hash = format::key_hash(e.key().as_bytes(), h.hash_seed);
            if (hash >> 32) as u32 != slot.tag {
                note(bad(format!(
                    "tag does not match the key of entry {}",
                    slot.entry
                )));
            }
            let home = hash % h.bucket_count.max(1);
            let distance = (b as u64 + h.bucket_count - home) % h.bucket_count.max(1);
            if distance > u64::from(h.max_probe) {
                note(bad(format!(
                    "entry {} is {distance} buckets from home, past max_probe {}",
                    slot.entry, h.max_probe
                )));
            }
        }
    }
    if occupied != h.entry_count {
        note(format!(
            "hash index holds {occupied} slots for {} entries",
            h.entry_count
        ));
    }
}

fn describe(e: &ReadError, block: u32) -> String {
    match e {
        ReadError::BlockDamaged { .. } | ReadError::Decompress { .. } => e.to_string(),
        other => format!("block {block}: {other}"),
    }
}
