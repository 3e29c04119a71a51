//! §5 Blocks and the dictionary: codecs, block records, and the rules a stored zstd frame
//! must follow.
//!
//! DATA holds the blocks' stored bytes back to back. A block is described by a
//! [`BlockRecord`] in the page(s) that use it (§6.2): where its stored bytes lie, how they are
//! stored, and the CRC32 of both its stored and its decompressed bytes.

/// Largest uncompressed block (§2.1, `max_block_len`): 4 MiB since format 3.1, so that a
/// reader's two block buffers stay small whatever the file (§12).
pub const MAX_BLOCK_LEN: u32 = 1 << 22;
/// The largest block format 3.0 allowed: a 3.0 archive with blocks between the two limits is
/// refused as an unsupported feature, not as damage (§2.1).
pub const MAX_BLOCK_LEN_3_0: u32 = 1 << 28;
/// Most blocks one entry's lead and body lie in (§8): the page that holds the entry must hold
/// their records. So the largest entry is `MAX_ENTRY_BLOCKS × MAX_BLOCK_LEN` = 2 GiB.
pub const MAX_ENTRY_BLOCKS: u64 = 512;
/// The smallest window a zstd frame can declare (RFC 8878 §3.1.1.1.2).
const MIN_WINDOW: u64 = 1 << 10;
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
    /// The frame declares a window larger than its content needs: over `max(1 KiB, the
    /// content size rounded up to a power of two)` (§5).
    Window,
}

impl std::fmt::Display for FrameProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FrameProblem::NotAFrame => "not a zstd frame",
            FrameProblem::NotOneFrame => "not exactly one zstd frame",
            FrameProblem::ContentSize => "content size missing or not the block's length",
            FrameProblem::ChecksumFlag => "has a zstd checksum (not allowed)",
            FrameProblem::DictionaryId => "has a dictionary id field (not allowed)",
            FrameProblem::Window => "declares a window larger than its content needs",
        })
    }
}

/// The `Window_Size` a frame header declares (RFC 8878 §3.1.1.1.2): from its
/// `Window_Descriptor`, or, for a single-segment frame, its content size (`None` when the
/// header is cut short or declares no size).
fn declared_window(stored: &[u8]) -> Option<u64> {
    let descriptor = *stored.get(4)?;
    if descriptor & 0x20 != 0 {
        return zstd::zstd_safe::get_frame_content_size(stored)
            .ok()
            .flatten();
    }
    let w = *stored.get(5)?;
    let log = 10 + u64::from(w >> 3);
    let base = 1u64.checked_shl(log as u32)?;
    Some(base + (base / 8) * u64::from(w & 7))
}

/// The largest `Window_Size` a frame of `content` bytes may declare (§5).
pub fn window_limit(content: u64) -> u64 {
    content
        .checked_next_power_of_two()
        .unwrap_or(u64::MAX)
        .max(MIN_WINDOW)
}

/// Checks §5's window rule alone: the frame's `Window_Size` is at most
/// [`window_limit`]`(content)`, so a decoder never needs more memory than the content.
pub fn check_window(stored: &[u8], content: u64) -> Result<(), FrameProblem> {
    match declared_window(stored) {
        Some(w) if w <= window_limit(content) => Ok(()),
        Some(_) => Err(FrameProblem::Window),
        None => Err(FrameProblem::NotAFrame),
    }
}

/// A compressor at `level` whose frames follow §5's header rules: the content size present,
/// no content checksum, no dictionary id field. Each `compress` is one frame, and a bulk
/// frame's window is sized from its content, so [`check_frame`] accepts what it makes. The
/// index's packed nodes (§6.5) and the search indexes' stored nodes (§14.3) are made by it.
pub(crate) fn frame_compressor(level: i32) -> std::io::Result<zstd::bulk::Compressor<'static>> {
    use zstd::zstd_safe::CParameter;
    let mut c = zstd::bulk::Compressor::new(level)?;
    c.set_parameter(CParameter::ChecksumFlag(false))?;
    c.set_parameter(CParameter::ContentSizeFlag(true))?;
    c.set_parameter(CParameter::DictIdFlag(false))?;
    Ok(c)
}

/// Checks the rules of §5 for a block of codec 1 or 2 whose stored bytes are `stored`:
/// exactly one zstd frame, no skippable frame, content size present and equal to `raw_len`,
/// no content checksum, no dictionary id field, a window no larger than the content needs.
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
    check_window(stored, raw_len.into())?;
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
    fn a_window_larger_than_the_content_needs_is_refused() {
        // A streamed frame of 300 bytes with a declared 128 MiB window (not single-segment).
        let mut c = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
        c.set_parameter(zstd::zstd_safe::CParameter::WindowLog(27))
            .unwrap();
        c.set_pledged_src_size(Some(300)).unwrap();
        c.include_contentsize(true).unwrap();
        c.include_checksum(false).unwrap();
        std::io::Write::write_all(&mut c, &[7u8; 300]).unwrap();
        let mut f = c.finish().unwrap();
        // Force the window descriptor: clear Single_Segment, set 2^27.
        if f[4] & 0x20 != 0 {
            let fcs = f[4] >> 6;
            assert_eq!(fcs, 1, "a 2-byte content size");
            f[4] &= !0x20;
            f.insert(5, (27 - 10) << 3);
        }
        assert_eq!(check_window(&f, 300), Err(FrameProblem::Window));
        assert_eq!(check_frame(&f, 300), Err(FrameProblem::Window));
        assert_eq!(window_limit(300), 1024);
        assert_eq!(window_limit(5000), 8192);
        assert_eq!(check_frame(&frame(&[1u8; 5000], false), 5000), Ok(()));
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
