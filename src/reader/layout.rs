//! Opening an archive: the header, the section table and the rules that tie them together
//! (§2, §2.1, §9). Constant work whatever the number of entries.

use std::ops::Range;

use crate::error::{DamageKind, Location, ReadError, ReadResult, Rule};
use crate::format::bytes::{array_at, slice_at};
use crate::format::{
    self, header, sorted, Header, SectionId, SectionRecord, BLOCK_RECORD_LEN, BUCKET_LEN,
    ENTRY_RECORD_LEN, HEADER_FIXED_LEN, SORTED_GROUP_LEN,
};

/// Where each section lies, as parsed and checked at open.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub(crate) header: Header,
    /// Byte ranges of the known sections, indexed by [`SectionId::index`].
    known: [Range<u64>; 9],
    /// Every section record, known ids or not, for full verification.
    pub(crate) records: Vec<SectionRecord>,
}

impl Layout {
    pub(crate) fn range(&self, id: SectionId) -> Range<u64> {
        self.known.get(id.index()).cloned().unwrap_or(0..0)
    }

    /// The bytes of a known section.
    pub(crate) fn section<'b>(&self, bytes: &'b [u8], id: SectionId) -> ReadResult<&'b [u8]> {
        let r = self.range(id);
        slice_at(bytes, r.start, r.end - r.start).ok_or(ReadError::damaged(
            Location::Section(id),
            DamageKind::Truncated {
                end: r.end,
                file_len: bytes.len() as u64,
            },
        ))
    }

    /// Checks a known section's CRC.
    pub(crate) fn check_crc(&self, bytes: &[u8], id: SectionId) -> ReadResult<()> {
        let data = self.section(bytes, id)?;
        let want = self
            .records
            .iter()
            .find(|r| r.id == id as u32)
            .map(|r| r.crc)
            .unwrap_or_default();
        if format::crc32(data) != want {
            return Err(ReadError::checksum(Location::Section(id)));
        }
        Ok(())
    }

    /// Parses and checks the header and the section table of `bytes`, and the CRCs of META
    /// and CTYPES.
    pub(crate) fn parse(bytes: &[u8]) -> ReadResult<Layout> {
        let header = parse_header(bytes)?;
        check_counts(&header)?;
        let records = read_section_table(bytes, &header)?;
        check_tiling(
            &records,
            header::header_len(header.section_count),
            bytes.len(),
        )?;
        let known = known_ranges(&records)?;
        check_section_sizes(&header, &known)?;
        let layout = Layout {
            header,
            known,
            records,
        };
        for id in [SectionId::Meta, SectionId::Ctypes] {
            layout.check_crc(bytes, id)?;
        }
        Ok(layout)
    }
}

fn truncated(at: Location, end: u64, file_len: usize) -> ReadError {
    ReadError::damaged(
        at,
        DamageKind::Truncated {
            end,
            file_len: file_len as u64,
        },
    )
}

fn over_limit(at: Location, value: u64, limit: u64) -> ReadError {
    ReadError::damaged(at, DamageKind::OverLimit { value, limit })
}

/// The magic, the header CRC, the version, the flags and the file length — the CRC first,
/// so that a damaged header is reported as damage, never as a newer version or an unknown
/// feature. Every version keeps the magic, the version and `section_count` where 2.0 has
/// them and the CRC right after the section table (§2.2), so the CRC is found whatever the
/// version.
fn parse_header(bytes: &[u8]) -> ReadResult<Header> {
    if !header::has_magic(bytes) {
        return Err(ReadError::BadMagic);
    }
    let fixed: &[u8; HEADER_FIXED_LEN] = array_at(bytes, 0)
        .ok_or_else(|| truncated(Location::Header, header::header_len(1), bytes.len()))?;
    let h = Header::decode(fixed);
    if h.section_count == 0 || h.section_count > format::MAX_SECTIONS {
        return Err(over_limit(
            Location::SectionTable,
            u64::from(h.section_count),
            u64::from(format::MAX_SECTIONS),
        ));
    }
    let header_len = header::header_len(h.section_count);
    let (stored, actual) = header::header_crcs(bytes, h.section_count)
        .ok_or_else(|| truncated(Location::SectionTable, header_len, bytes.len()))?;
    if stored != actual {
        return Err(ReadError::checksum(Location::Header));
    }
    if h.major != format::VERSION_MAJOR {
        return Err(ReadError::UnsupportedVersion {
            major: h.major,
            minor: h.minor,
        });
    }
    let unknown = h.required_flags & !format::KNOWN_REQUIRED_FLAGS;
    if unknown != 0 {
        return Err(ReadError::UnsupportedFeatures { flags: unknown });
    }
    let file_len = bytes.len() as u64;
    if h.file_len > file_len {
        return Err(truncated(Location::File, h.file_len, bytes.len()));
    }
    if h.file_len < file_len {
        return Err(ReadError::damaged(
            Location::File,
            DamageKind::TrailingBytes {
                expected: h.file_len,
                file_len,
            },
        ));
    }
    Ok(h)
}

/// The header's counts against the format's limits and each other.
fn check_counts(h: &Header) -> ReadResult<()> {
    let at = Location::Header;
    if h.entry_count > format::MAX_ENTRIES {
        return Err(over_limit(at, h.entry_count, format::MAX_ENTRIES));
    }
    if h.block_count > format::MAX_BLOCKS {
        return Err(over_limit(at, h.block_count, format::MAX_BLOCKS));
    }
    if (h.bucket_count == 0) != (h.entry_count == 0) {
        return Err(ReadError::violates(at, Rule::BucketCount));
    }
    if h.bucket_count > 0 && u64::from(h.max_probe) >= h.bucket_count {
        return Err(ReadError::violates(at, Rule::MaxProbe));
    }
    if h.max_probe > format::MAX_PROBE {
        let limit = u64::from(format::MAX_PROBE);
        return Err(over_limit(at, u64::from(h.max_probe), limit));
    }
    let stream_fits = u64::from(h.max_block_len)
        .checked_mul(h.block_count)
        .is_some_and(|most| h.stream_len <= most);
    if h.stream_len < h.block_count || !stream_fits {
        return Err(ReadError::violates(at, Rule::StreamLength));
    }
    if h.max_block_len > format::MAX_BLOCK_LEN {
        let limit = u64::from(format::MAX_BLOCK_LEN);
        return Err(over_limit(at, u64::from(h.max_block_len), limit));
    }
    Ok(())
}

fn read_section_table(bytes: &[u8], h: &Header) -> ReadResult<Vec<SectionRecord>> {
    (0..h.section_count)
        .map(|i| {
            array_at(bytes, header::section_record_offset(i))
                .map(SectionRecord::decode)
                .ok_or_else(|| {
                    let end = header::header_len(h.section_count);
                    truncated(Location::SectionTable, end, bytes.len())
                })
        })
        .collect()
}

/// Sorted by offset, the sections cover `header_len..file_len` exactly (§2.1).
fn check_tiling(records: &[SectionRecord], header_len: u64, file_len: usize) -> ReadResult<()> {
    let mut sorted: Vec<SectionRecord> = records.to_vec();
    sorted.sort_by_key(|r| (r.offset, r.length));
    let mut pos = header_len;
    for r in &sorted {
        let at =
            SectionId::from_u32(r.id).map_or(Location::UnknownSection(r.id), Location::Section);
        let range = r.range().ok_or(ReadError::violates(at, Rule::Tiling))?;
        if range.start != pos {
            return Err(ReadError::violates(at, Rule::Tiling));
        }
        if range.end > file_len as u64 {
            return Err(truncated(at, range.end, file_len));
        }
        pos = range.end;
    }
    if pos != file_len as u64 {
        return Err(ReadError::violates(Location::SectionTable, Rule::Tiling));
    }
    Ok(())
}

/// The ranges of the known sections: each once, none missing.
fn known_ranges(records: &[SectionRecord]) -> ReadResult<[Range<u64>; 9]> {
    let mut known: [Option<Range<u64>>; 9] = Default::default();
    for r in records {
        if let Some(id) = SectionId::from_u32(r.id) {
            let slot = &mut known[id.index()];
            if slot.is_some() {
                return Err(ReadError::violates(
                    Location::Section(id),
                    Rule::UniqueSection,
                ));
            }
            *slot = Some(r.offset..r.offset + r.length);
        }
    }
    let mut ranges: [Range<u64>; 9] = Default::default();
    for id in SectionId::ALL {
        ranges[id.index()] = known[id.index()].clone().ok_or(ReadError::violates(
            Location::Section(id),
            Rule::RequiredSection,
        ))?;
    }
    Ok(ranges)
}

/// The fixed-record sections hold exactly their counts' records; META and CTYPES are small.
fn check_section_sizes(h: &Header, ranges: &[Range<u64>; 9]) -> ReadResult<()> {
    let len = |id: SectionId| ranges[id.index()].end - ranges[id.index()].start;
    let expect = [
        (SectionId::Blocks, h.block_count, BLOCK_RECORD_LEN),
        (SectionId::Entries, h.entry_count, ENTRY_RECORD_LEN),
        (SectionId::KeyHash, h.bucket_count, BUCKET_LEN),
        (
            SectionId::Sorted,
            sorted::group_count(h.entry_count),
            SORTED_GROUP_LEN,
        ),
    ];
    for (id, count, size) in expect {
        if count.checked_mul(size as u64) != Some(len(id)) {
            return Err(ReadError::violates(
                Location::Section(id),
                Rule::SectionLength,
            ));
        }
    }
    for id in [SectionId::Meta, SectionId::Ctypes] {
        if len(id) > format::MAX_SMALL_SECTION {
            let at = Location::Section(id);
            return Err(over_limit(at, len(id), format::MAX_SMALL_SECTION));
        }
    }
    let dict = len(SectionId::Dict);
    if dict > format::MAX_DICT_LEN {
        return Err(over_limit(Location::Dictionary, dict, format::MAX_DICT_LEN));
    }
    let has_dict = dict > 0;
    if has_dict != (h.required_flags & format::REQUIRED_DICT != 0) {
        return Err(ReadError::violates(Location::Header, Rule::DictFlag));
    }
    if h.required_flags & format::REQUIRED_RAW_DICT != 0 && !has_dict {
        return Err(ReadError::violates(Location::Header, Rule::DictKind));
    }
    Ok(())
}
