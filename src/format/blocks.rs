//! §5 Blocks and the dictionary: codecs, block records, and the rules a stored zstd frame
//! must follow.
//!
//! DATA holds the blocks' stored bytes back to back. A block is described by a
//! [`BlockRecord`] in the page(s) that use it (§6.2): where its stored bytes lie, how they are
//! stored, and the CRC32 of both its stored and its decompressed bytes.

/// Largest uncompressed block (§2.1, `max_block_len`).
pub const MAX_BLOCK_LEN: u32 = 1 << 28;
/// Largest dictionary (§5).
pub const MAX_DICT_LEN: u64 = 16 << 20;
/// The first four bytes of a trained zstd dictionary (§5); raw content never starts so.
pub const ZSTD_DICT_MAGIC: [u8; 4] = [0x37, 0xA4, 0x30, 0xEC];
/// The magic number of a zstd frame (RFC 8878 §3.1.1), little-endian.
const ZSTD_FRAME_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// How a block's bytes are stored (§5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// Stored as is.
    Raw = 0,
    /// One zstd frame.
    Zstd = 1,
    /// One zstd frame using the archive dictionary.
    ZstdDict = 2,
}

impl Codec {
    /// The codec for a byte, if known.
    pub fn from_u8(b: u8) -> Option<Codec> {
        match b {
            0 => Some(Codec::Raw),
            1 => Some(Codec::Zstd),
            2 => Some(Codec::ZstdDict),
            _ => None,
        }
    }
}

/// One block record (§5, encoded in pages by §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockRecord {
    /// The block's number.
    pub number: u32,
    /// Absolute file offset of the stored bytes.
    pub offset: u64,
    /// Length of the stored bytes.
    pub stored_len: u32,
    /// Uncompressed length.
    pub raw_len: u32,
    /// Where the block starts in the stream.
    pub stream_start: u64,
    /// Codec byte (kept raw so that a reader can report an unknown value).
    pub codec: u8,
    /// CRC32 of the stored bytes.
    pub stored_crc: u32,
    /// CRC32 of the decompressed bytes.
    pub raw_crc: u32,
}

impl BlockRecord {
    /// Where the block ends in the stream (`None` on overflow).
    pub fn stream_end(&self) -> Option<u64> {
        self.stream_start.checked_add(self.raw_len.into())
    }

    /// Where its stored bytes end in the file (`None` on overflow).
    pub fn end(&self) -> Option<u64> {
        self.offset.checked_add(self.stored_len.into())
    }

    /// Whether stream offset `s` lies in this block.
    pub fn holds(&self, s: u64) -> bool {
        s >= self.stream_start && self.stream_end().is_some_and(|e| s < e)
    }
}

/// What is wrong with a stored zstd frame (§5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameProblem {
    /// Not a zstd frame (a skippable frame or other bytes).
    NotAFrame,
    /// The frame does not fill the stored bytes exactly (more frames or bytes after it).
    NotOneFrame,
    /// No `Frame_Content_Size`, or one other than `raw_len`.
    ContentSize,
    /// The `Content_Checksum_Flag` is set.
    ChecksumFlag,
    /// The frame header carries a `Dictionary_ID` field.
    DictionaryId,
}

impl std::fmt::Display for FrameProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FrameProblem::NotAFrame => "not a zstd frame",
            FrameProblem::NotOneFrame => "not exactly one zstd frame",
            FrameProblem::ContentSize => "content size missing or not the block's length",
            FrameProblem::ChecksumFlag => "has a zstd checksum (not allowed)",
            FrameProblem::DictionaryId => "has a dictionary id field (not allowed)",
        })
    }
}

/// Checks the rules of §5 for a block of codec 1 or 2 whose stored bytes are `stored`:
/// exactly one zstd frame, no skippable frame, content size present and equal to `raw_len`,
/// no content checksum, no dictionary id field.
pub fn check_frame(stored: &[u8], raw_len: u32) -> Result<(), FrameProblem> {
    if !stored.starts_with(&ZSTD_FRAME_MAGIC) {
        return Err(FrameProblem::NotAFrame);
    }
    let descriptor = *stored.get(4).ok_or(FrameProblem::NotAFrame)?;
    if descriptor & 0x04 != 0 {
        return Err(FrameProblem::ChecksumFlag);
    }
    if descriptor & 0x03 != 0 {
        return Err(FrameProblem::DictionaryId);
    }
    match zstd::zstd_safe::find_frame_compressed_size(stored) {
        Ok(n) if n == stored.len() => {}
        Ok(_) => return Err(FrameProblem::NotOneFrame),
        Err(_) => return Err(FrameProblem::NotAFrame),
    }
    match zstd::zstd_safe::get_frame_content_size(stored) {
        Ok(Some(n)) if n == u64::from(raw_len) => Ok(()),
        _ => Err(FrameProblem::ContentSize),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(data: &[u8], checksum: bool) -> Vec<u8> {
        let mut c = zstd::bulk::Compressor::new(3).unwrap();
        c.set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(checksum))
            .unwrap();
        c.set_parameter(zstd::zstd_safe::CParameter::ContentSizeFlag(true))
            .unwrap();
        c.compress(data).unwrap()
    }

    #[test]
    fn one_frame_with_its_size_and_no_checksum_passes() {
        let f = frame(b"hello hello hello", false);
        assert_eq!(check_frame(&f, 17), Ok(()));
        assert_eq!(check_frame(&f, 16), Err(FrameProblem::ContentSize));
        let mut two = f.clone();
        two.extend_from_slice(&f);
        assert_eq!(check_frame(&two, 17), Err(FrameProblem::NotOneFrame));
        let mut tail = f.clone();
        tail.push(0);
        assert_eq!(check_frame(&tail, 17), Err(FrameProblem::NotOneFrame));
        assert_eq!(
            check_frame(&frame(b"hello", true), 5),
            Err(FrameProblem::ChecksumFlag)
        );
        let mut skippable = vec![0x50, 0x2A, 0x4D, 0x18, 0, 0, 0, 0];
        skippable.extend_from_slice(&f);
        assert_eq!(check_frame(&skippable, 17), Err(FrameProblem::NotAFrame));
    }

    #[test]
    fn records_know_their_stream_range() {
        let b = BlockRecord {
            stream_start: 10,
            raw_len: 5,
            ..Default::default()
        };
        assert!(b.holds(10) && b.holds(14) && !b.holds(15) && !b.holds(9));
        assert_eq!(b.stream_end(), Some(15));
    }
}
