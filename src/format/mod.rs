//! The on-disk format, one module per section of `spec/FORMAT.md`.
//!
//! Each module opens with the spec section it mirrors and holds that section's constants,
//! the named byte offsets of its fields, and both directions: `encode` produces the exact
//! bytes, `decode` reads them back. Nothing outside this module knows a byte offset. Decoding
//! checks what the bytes alone can tell (lengths, record CRCs, UTF-8); what a field must lie
//! within is the reader's job (`src/reader/`), which knows the rest of the archive.
//!
//! | module | spec |
//! |---|---|
//! | [`header`] | §2 header, §2.1 section table, §2.2 versions and flags |
//! | [`meta`] | §3 META |
//! | [`ctypes`] | §4 CTYPES |
//! | [`blocks`] | §5 DICT and DATA, §5.1 BLOCKS |
//! | [`entries`] | §6 ENTRIES |
//! | [`strings`] | §6.1 STRINGS and §6.2 leads: string fields |
//! | [`keyhash`] | §7 KEYHASH: the key hash, its probe sequence, buckets, building |
//! | [`sorted`] | §8 SORTED |
//! | [`date`] | the date field of §6 |

pub mod blocks;
pub(crate) mod bytes;
pub mod ctypes;
pub mod date;
pub mod entries;
pub mod header;
pub mod keyhash;
pub mod meta;
pub mod sorted;
pub mod strings;

pub use blocks::{
    BlockRecord, Codec, BLOCK_RECORD_LEN, MAX_BLOCK_LEN, MAX_DICT_LEN, ZSTD_DICT_MAGIC,
};
pub use date::Date;
pub use entries::{EntryRecord, ENTRY_RECORD_LEN, MAX_KEY_LEN, MAX_STRINGS_LEN, MAX_U48};
pub use header::{
    header_len, Header, SectionId, SectionRecord, HEADER_FIXED_LEN, KNOWN_REQUIRED_FLAGS, MAGIC,
    MAX_BLOCKS, MAX_ENTRIES, MAX_PROBE, MAX_SECTIONS, MAX_SMALL_SECTION, OPTIONAL_SHARED_BODIES,
    REQUIRED_DICT, REQUIRED_RAW_DICT, SECTION_RECORD_LEN, VERSION_MAJOR, VERSION_MINOR,
};
pub use keyhash::{key_hash, Slot, BUCKET_LEN, NO_ENTRY, SLOTS_PER_BUCKET};
pub use sorted::{ENTRIES_PER_GROUP, SORTED_GROUP_LEN};
pub use strings::{FIELD_META, FIELD_TITLE};

/// CRC32 (zlib/PNG flavour) of a byte slice: the checksum of every record, block and
/// section (§1).
pub fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn crc_check_value() {
        assert_eq!(super::crc32(b"123456789"), 0xCBF4_3926);
    }
}
