//! The on-disk format, one module per section of `spec/FORMAT.md`.
//!
//! Each module opens with the spec section it mirrors and holds that section's constants,
//! field layout, and both directions: encoding produces the exact bytes, decoding reads them
//! back. Nothing outside this module knows a byte offset. Decoding checks what the bytes alone
//! can tell (lengths, UTF-8, the rules a node obeys on its own); what a field must lie within
//! is the reader's job (`src/reader/`), which knows the rest of the archive.
//!
//! | module | spec |
//! |---|---|
//! | [`header`] | §2 the prelude: header, section table, versions, flags |
//! | [`meta`] | §3 META |
//! | [`ctypes`] | §4 CTYPES |
//! | [`blocks`] | §5 blocks and the dictionary |
//! | `nodes` | §6 the index: pages and branches (hidden: tools and tests) |
//! | `entries` | §7.1 entries inside a page (hidden) |
//! | `strings` | §7.3 the lead: title and metadata fields (hidden) |
//! | [`date`] | the date of §7.1 |
//! | [`titles`] | §14 the title index: folding, word starts, its header and nodes |
//! | `chain` | recomputing §1's checksum chain after an edit (hidden: tools and tests) |

// What a program reading archives may want: the header, the sections, the blocks' records,
// the limits, dates. The rest (encoders and decoders of pages, entries and leads, the
// checksum chain's resealer) is there for the reader, the writer, tools and tests, and kept
// out of the documentation: it follows the spec, not a promise of stability.
pub mod blocks;
pub(crate) mod bytes;
#[doc(hidden)]
pub mod chain;
pub mod ctypes;
pub mod date;
#[doc(hidden)]
pub mod entries;
pub mod header;
pub mod meta;
#[doc(hidden)]
pub mod nodes;
pub mod search;
#[doc(hidden)]
pub mod strings;
pub mod titles;

pub use blocks::{BlockRecord, Codec, MAX_BLOCK_LEN, MAX_DICT_LEN, ZSTD_DICT_MAGIC};
#[doc(hidden)]
pub use bytes::{put_varint, unzigzag, varint_len, zigzag};
pub use date::{BadDate, Date};
#[doc(hidden)]
pub use entries::EntryRecord;
pub use entries::{MAX_KEY_LEN, MAX_LEAD_LEN, RESTART_INTERVAL};
pub use header::{
    Header, Prelude, SectionId, SectionRecord, KNOWN_REQUIRED_FLAGS, MAGIC, MAX_BLOCKS,
    MAX_ENTRIES, MAX_PRELUDE_LEN, OPTIONAL_SHARED_BODIES, REQUIRED_DICT, REQUIRED_PACKED_NODES,
    REQUIRED_RAW_DICT, VERSION_MAJOR, VERSION_MINOR,
};
#[doc(hidden)]
pub use nodes::PageHead;
pub use nodes::MAX_NODE_LEN;
#[doc(hidden)]
pub use strings::{FIELD_META, FIELD_TITLE};

/// CRC32 (zlib/PNG flavour) of a byte slice: every checksum of the format (§1).
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
