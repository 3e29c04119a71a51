//! Bounds-checked reading of little-endian bytes: every read of archive bytes goes through
//! these, so an out-of-range offset or length is a `None`, never a panic.

use byteorder::{ByteOrder, LittleEndian as LE};

/// `bytes[offset .. offset + len]`, or `None` when any part of it is out of range.
pub(crate) fn slice_at(bytes: &[u8], offset: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let len = usize::try_from(len).ok()?;
    bytes.get(start..)?.get(..len)
}

/// A fixed-size array read at `offset`, or `None` when out of range.
pub(crate) fn array_at<const N: usize>(bytes: &[u8], offset: u64) -> Option<&[u8; N]> {
    slice_at(bytes, offset, N as u64)?.try_into().ok()
}

/// A cursor over a variable-length area; every read is bounds-checked.
pub(crate) struct Cursor<'b> {
    bytes: &'b [u8],
    pos: usize,
}

impl<'b> Cursor<'b> {
    pub(crate) fn new(bytes: &'b [u8]) -> Self {
        Cursor { bytes, pos: 0 }
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.bytes.len()
    }
    pub(crate) fn take(&mut self, n: usize) -> Option<&'b [u8]> {
        let s = self.bytes.get(self.pos..)?.get(..n)?;
        self.pos += n;
        Some(s)
    }
    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    pub(crate) fn u16(&mut self) -> Option<u16> {
        self.take(2).map(LE::read_u16)
    }
    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.take(4).map(LE::read_u32)
    }
    pub(crate) fn rest(&mut self) -> &'b [u8] {
        let s = self.bytes.get(self.pos..).unwrap_or_default();
        self.pos = self.bytes.len();
        s
    }
}
