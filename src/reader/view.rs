//! The storage-independent part of a reader: the bytes and what was parsed at open. Finding
//! an entry by number (§6), by key (§7) and by sorted position (§8).

use std::sync::OnceLock;

use super::entry::{check_fields, Entry};
use super::layout::Layout;
use super::Shared;
use crate::error::{DamageKind, Location, ReadError, ReadResult, Rule};
use crate::format::bytes::{array_at, slice_at};
use crate::format::keyhash::{self, Probe};
use crate::format::{
    self, sorted, Date, EntryRecord, Header, SectionId, SectionRecord, BUCKET_LEN,
    ENTRIES_PER_GROUP, ENTRY_RECORD_LEN, MAX_KEY_LEN, NO_ENTRY, SORTED_GROUP_LEN,
};

/// The bytes of an archive and the state parsed from them at open.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub(crate) bytes: &'a [u8],
    shared: &'a Shared,
}

impl<'a> View<'a> {
    pub(crate) fn new(bytes: &'a [u8], shared: &'a Shared) -> Self {
        View { bytes, shared }
    }

    pub(crate) fn shared(&self) -> &'a Shared {
        self.shared
    }

    pub(crate) fn layout(&self) -> &'a Layout {
        &self.shared.layout
    }

    pub(crate) fn header(&self) -> &'a Header {
        &self.shared.layout.header
    }

    pub(crate) fn section(&self, id: SectionId) -> ReadResult<&'a [u8]> {
        self.shared.layout.section(self.bytes, id)
    }

    pub(crate) fn section_records(&self) -> &'a [SectionRecord] {
        &self.shared.layout.records
    }

    /// Entry `index`, its record and strings checked.
    pub(crate) fn entry(&self, index: u64) -> ReadResult<Entry<'a>> {
        let h = self.header();
        if index >= h.entry_count {
            return Err(ReadError::EntryOutOfRange {
                index,
                len: h.entry_count,
            });
        }
        let at = Location::Entry(index);
        let table = self.section(SectionId::Entries)?;
        let raw: &[u8; ENTRY_RECORD_LEN] = array_at(table, index * ENTRY_RECORD_LEN as u64).ok_or(
            ReadError::violates(Location::Section(SectionId::Entries), Rule::SectionLength),
        )?;
        let rec = EntryRecord::decode(raw);
        let strings = slice_at(
            self.section(SectionId::Strings)?,
            rec.strings_offset,
            u64::from(rec.strings_len),
        )
        .filter(|s| EntryRecord::crc_matches(raw, s))
        .ok_or(ReadError::checksum(at))?;
        let key_len = usize::from(rec.key_len);
        let (key, fields) = strings
            .split_at_checked(key_len)
            .filter(|_| (1..=MAX_KEY_LEN).contains(&key_len))
            .ok_or(ReadError::violates(at, Rule::KeyLength))?;
        let key =
            std::str::from_utf8(key).map_err(|_| ReadError::damaged(at, DamageKind::NotUtf8))?;
        // The fields in the strings are checked here; those of the lead when they are read.
        check_fields(fields, index)?;
        if rec.lead_len > format::MAX_STRINGS_LEN
            || (rec.lead_len > 0 && (rec.body_len == 0 || rec.offset < rec.lead_len))
        {
            return Err(ReadError::violates(at, Rule::Lead));
        }
        let content_type = self
            .shared
            .ctypes
            .get(usize::from(rec.content_type))
            .ok_or(ReadError::damaged(
                at,
                DamageKind::UnknownContentType(rec.content_type),
            ))?;
        let date = Date::from_u32(rec.date)
            .map_err(|d| ReadError::damaged(at, DamageKind::ImpossibleDate(d)))?;
        if rec.body_len > 0 && u64::from(rec.block) >= h.block_count {
            let block = u64::from(rec.block);
            return Err(ReadError::damaged(at, DamageKind::NoSuchBlock(block)));
        }
        Ok(Entry {
            view: *self,
            index,
            key,
            date,
            content_type,
            fields,
            rec,
            info: OnceLock::new(),
        })
    }

    /// Entry number at sorted position `pos`.
    pub(crate) fn sorted_at(&self, pos: u64) -> ReadResult<u64> {
        let at = Location::SortedPosition(pos);
        let table = self.section(SectionId::Sorted)?;
        let group = pos / ENTRIES_PER_GROUP as u64;
        let raw: &[u8; SORTED_GROUP_LEN] = array_at(table, group * SORTED_GROUP_LEN as u64).ok_or(
            ReadError::violates(Location::Section(SectionId::Sorted), Rule::SectionLength),
        )?;
        let entries = sorted::decode_group(raw).ok_or(ReadError::checksum(at))?;
        let e = entries
            .get((pos % ENTRIES_PER_GROUP as u64) as usize)
            .copied()
            .unwrap_or(NO_ENTRY);
        if u64::from(e) >= self.header().entry_count {
            return Err(ReadError::damaged(
                at,
                DamageKind::NoSuchEntry(u64::from(e)),
            ));
        }
        Ok(u64::from(e))
    }

    /// First sorted position whose key is ≥ `prefix`. Errors end the search early; the
    /// iterator then reports them.
    pub(crate) fn lower_bound(&self, prefix: &[u8]) -> u64 {
        let (mut lo, mut hi) = (0u64, self.header().entry_count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let key_less = self
                .sorted_at(mid)
                .and_then(|e| self.entry(e))
                .map(|e| e.key().as_bytes() < prefix);
            match key_less {
                Ok(true) => lo = mid + 1,
                Ok(false) => hi = mid,
                // Leave the damaged position in range so the iterator reports it.
                Err(_) => return mid,
            }
        }
        lo
    }

    /// The slots of bucket `b`, checked.
    pub(crate) fn bucket(&self, b: u64) -> ReadResult<[format::Slot; format::SLOTS_PER_BUCKET]> {
        let table = self.section(SectionId::KeyHash)?;
        let raw: &[u8; BUCKET_LEN] = array_at(table, b * BUCKET_LEN as u64).ok_or(
            ReadError::violates(Location::Section(SectionId::KeyHash), Rule::SectionLength),
        )?;
        keyhash::decode_bucket(raw).ok_or(ReadError::checksum(Location::Bucket(b)))
    }

    pub(crate) fn get_key(&self, key: &[u8]) -> ReadResult<Option<Entry<'a>>> {
        let h = self.header();
        if h.bucket_count == 0 || key.is_empty() || key.len() > MAX_KEY_LEN {
            return Ok(None);
        }
        let probe = Probe::new(key, h.hash_seed, h.bucket_count);
        for b in probe.buckets(h.max_probe) {
            for slot in self.bucket(b)? {
                if slot.entry == NO_ENTRY {
                    return Ok(None);
                }
                if u64::from(slot.entry) >= h.entry_count {
                    let kind = DamageKind::NoSuchEntry(u64::from(slot.entry));
                    return Err(ReadError::damaged(Location::Bucket(b), kind));
                }
                if slot.tag == probe.tag {
                    let e = self.entry(u64::from(slot.entry))?;
                    if e.key().as_bytes() == key {
                        return Ok(Some(e));
                    }
                }
            }
        }
        Ok(None)
    }
}
