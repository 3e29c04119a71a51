//! Opening an archive (§2, §11 "on open"): the prelude read in one range, checked in the
//! order of §2.3, then the sections, counts and flags, META, CTYPES and the root node.

use std::ops::Range;

use super::nodes::{Env, Node};
use crate::error::{DamageKind, Location, ReadError, ReadResult, Rule};
use crate::format::header::{Prelude, MAX_PRELUDE_LEN};
use crate::format::{self, ctypes, meta, Header, SectionId, SectionRecord};
use crate::source::ByteSource;

/// What open learned: the header, the sections and the small tables, and the root node.
pub(crate) struct Layout {
    pub(crate) header: Header,
    pub(crate) records: Vec<SectionRecord>,
    pub(crate) meta: Vec<(String, String)>,
    pub(crate) ctypes: Vec<String>,
    pub(crate) root: Node,
    dict: Range<u64>,
    index: Range<u64>,
    data: Range<u64>,
}

fn io_error(src: &dyn ByteSource, source: std::io::Error) -> ReadError {
    ReadError::Io {
        path: Some(src.describe().into()),
        source,
    }
}

impl Layout {
    /// Reads and checks the prelude of `src`. With `salvage`, a source longer or shorter
    /// than the header's `file_len` is accepted: the archive is read as `file_len` bytes long,
    /// and what lies past the source's end cannot be read.
    pub(crate) fn open(src: &dyn ByteSource, salvage: bool) -> ReadResult<Layout> {
        let file_len = src.size();
        let first = file_len.min(MAX_PRELUDE_LEN as u64) as usize;
        let bytes = src.read_at(0, first).map_err(|e| io_error(src, e))?;
        let p = Prelude::decode(&bytes, file_len)?;
        let h = &p.header;
        if h.file_len != file_len && !salvage {
            let kind = if file_len < h.file_len {
                DamageKind::Truncated {
                    end: h.file_len,
                    file_len,
                }
            } else {
                DamageKind::TrailingBytes {
                    expected: h.file_len,
                    file_len,
                }
            };
            return Err(ReadError::damaged(Location::File, kind));
        }
        check_counts(h)?;
        let (dict, index, data) = tile(h, &p.sections)?;
        let has_dict = dict.end > dict.start;
        if (h.required_flags & format::REQUIRED_DICT != 0) != has_dict {
            return Err(ReadError::violates(Location::Prelude, Rule::DictFlag));
        }
        if h.required_flags & format::REQUIRED_RAW_DICT != 0 && !has_dict {
            return Err(ReadError::violates(Location::Prelude, Rule::DictKind));
        }
        if (data.end > data.start) != (h.block_count > 0) {
            return Err(ReadError::violates(Location::Prelude, Rule::StreamLength));
        }
        let meta = meta::decode(p.meta)?;
        let ctypes = ctypes::decode(p.ctypes)?;
        if ctypes.is_empty() && h.entry_count > 0 {
            return Err(ReadError::violates(
                Location::ContentTypes,
                Rule::RecordBounds,
            ));
        }
        let env = Env {
            header: h,
            index_len: index.end - index.start,
            data_len: data.end - data.start,
        };
        let root = Node::decode_root(p.root, &env)?;
        Ok(Layout {
            header: p.header.clone(),
            records: p.sections,
            meta,
            ctypes,
            root,
            dict,
            index,
            data,
        })
    }

    /// The byte range of a known section.
    pub(crate) fn range(&self, id: SectionId) -> Range<u64> {
        match id {
            SectionId::Dict => self.dict.clone(),
            SectionId::Index => self.index.clone(),
            SectionId::Data => self.data.clone(),
        }
    }

    /// The section record of a known section.
    pub(crate) fn record(&self, id: SectionId) -> Option<&SectionRecord> {
        self.records.iter().find(|r| r.id == id as u32)
    }
}

/// §11: counts and lengths that must agree with each other.
fn check_counts(h: &Header) -> ReadResult<()> {
    let at = Location::Prelude;
    let over = |value: u64, limit: u64| -> ReadResult<()> {
        if value > limit {
            Err(ReadError::damaged(
                at,
                DamageKind::OverLimit { value, limit },
            ))
        } else {
            Ok(())
        }
    };
    over(h.entry_count, format::MAX_ENTRIES)?;
    over(h.block_count, format::MAX_BLOCKS)?;
    if h.max_block_len > format::MAX_BLOCK_LEN
        && h.minor == 0
        && h.max_block_len <= format::blocks::MAX_BLOCK_LEN_3_0
    {
        return Err(ReadError::BlocksOverLimit {
            max_block_len: h.max_block_len,
        });
    }
    over(h.max_block_len.into(), format::MAX_BLOCK_LEN.into())?;
    if h.block_count == 0 && h.max_block_len != 0 {
        return Err(ReadError::violates(at, Rule::StreamLength));
    }
    let most = h.block_count.checked_mul(h.max_block_len.into());
    if (h.block_count == 0) != (h.stream_len == 0)
        || h.stream_len < h.block_count
        || most.is_none_or(|m| h.stream_len > m)
    {
        return Err(ReadError::violates(at, Rule::StreamLength));
    }
    Ok(())
}

/// §2.2: the sections tile `prelude_len .. file_len` in table order; each known id once; all
/// three present. Returns the ranges of DICT, INDEX and DATA.
fn tile(h: &Header, records: &[SectionRecord]) -> ReadResult<(Range<u64>, Range<u64>, Range<u64>)> {
    let at = Location::Prelude;
    let mut pos = u64::from(h.prelude_len);
    let mut found: [Option<Range<u64>>; 3] = [None, None, None];
    for r in records {
        let range = r
            .range()
            .filter(|x| x.start == pos)
            .ok_or(ReadError::violates(at, Rule::Tiling))?;
        pos = range.end;
        if let Some(id) = SectionId::from_u32(r.id) {
            let slot = &mut found[id as usize - 1];
            if slot.replace(range).is_some() {
                return Err(ReadError::violates(at, Rule::UniqueSection));
            }
        }
    }
    if pos != h.file_len {
        return Err(ReadError::violates(at, Rule::Tiling));
    }
    match found {
        [Some(d), Some(i), Some(x)] => {
            if d.end - d.start > format::MAX_DICT_LEN {
                return Err(ReadError::damaged(
                    Location::Dictionary,
                    DamageKind::OverLimit {
                        value: d.end - d.start,
                        limit: format::MAX_DICT_LEN,
                    },
                ));
            }
            Ok((d, i, x))
        }
        _ => Err(ReadError::violates(at, Rule::RequiredSection)),
    }
}
