//! Bounds-checked reading of little-endian bytes and varints: every read of archive bytes goes
//! through these, so an out-of-range offset or length is a `None`, never a panic.

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

/// Appends `v` as a varint (unsigned LEB128, minimal).
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The length of `v` as a varint.
pub fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// zigzag: `0, −1, 1, −2, …` ↦ `0, 1, 2, 3, …`.
pub fn zigzag(d: i64) -> u64 {
    ((d << 1) ^ (d >> 63)) as u64
}

/// The inverse of [`zigzag`].
pub fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// A cursor over a variable-length area; every read is bounds-checked.
#[derive(Debug, Clone)]
pub(crate) struct Cursor<'b> {
    bytes: &'b [u8],
    pos: usize,
}

impl<'b> Cursor<'b> {
    pub(crate) fn new(bytes: &'b [u8]) -> Self {
        Cursor { bytes, pos: 0 }
    }
    pub(crate) fn at(bytes: &'b [u8], pos: usize) -> Self {
        Cursor { bytes, pos }
    }
    pub(crate) fn pos(&self) -> usize {
        self.pos
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
    /// A varint (§ conventions): at most 10 bytes, at most `u64::MAX`, minimal.
    #[inline(always)]
    pub(crate) fn varint(&mut self) -> Option<u64> {
        // One or two bytes, the common case (gaps, counts and lengths below 16,384).
        match self.bytes.get(self.pos..self.pos.saturating_add(2)) {
            Some(&[b0, _]) if b0 < 0x80 => {
                self.pos += 1;
                Some(u64::from(b0))
            }
            Some(&[b0, b1]) if b1 < 0x80 => {
                self.pos += 2;
                // A second byte of 0 would be non-minimal.
                (b1 != 0).then(|| u64::from(b0 & 0x7F) | (u64::from(b1) << 7))
            }
            _ => self.varint_long(),
        }
    }
    #[inline(never)]
    fn varint_long(&mut self) -> Option<u64> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let b = self.u8()?;
            let part = u64::from(b & 0x7F);
            if i == 9 && b > 1 {
                return None; // over 64 bits
            }
            v |= part << (7 * i);
            if b & 0x80 == 0 {
                if i > 0 && b == 0 {
                    return None; // non-minimal
                }
                return Some(v);
            }
        }
        None
    }
    /// A varint that must fit a `usize` and be at most `max`.
    pub(crate) fn len_at_most(&mut self, max: usize) -> Option<usize> {
        usize::try_from(self.varint()?).ok().filter(|&n| n <= max)
    }
    pub(crate) fn rest(&mut self) -> &'b [u8] {
        let s = self.bytes.get(self.pos..).unwrap_or_default();
        self.pos = self.bytes.len();
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_reject_overlong_and_non_minimal() {
        for v in [
            0,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u32::MAX as u64,
            u64::MAX,
        ] {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            assert_eq!(b.len(), varint_len(v), "{v}");
            let mut c = Cursor::new(&b);
            assert_eq!(c.varint(), Some(v));
            assert!(c.is_empty());
        }
        let mut b = Vec::new();
        put_varint(&mut b, 300);
        assert_eq!(b, [0xAC, 0x02]);
        assert_eq!(Cursor::new(&[0x80, 0x00]).varint(), None);
        assert_eq!(Cursor::new(&[0x80, 0x00, 0x01]).varint(), None);
        // One- and two-byte values between others, and one at the very end.
        let mut c = Cursor::new(&[0x05, 0xAC, 0x02, 0x81, 0x80, 0x01, 0x07]);
        let got: Vec<_> = std::iter::from_fn(|| c.varint()).collect();
        assert_eq!(got, [5, 300, 16_385, 7]);
        assert!(c.is_empty());
        assert_eq!(Cursor::new(&[0xFF; 10]).varint(), None);
        assert_eq!(Cursor::new(&[0x80]).varint(), None);
        let mut max = vec![0xFF; 9];
        max.push(0x02);
        assert_eq!(Cursor::new(&max).varint(), None);
    }

    #[test]
    fn zigzag_maps_small_differences_to_small_numbers() {
        for (d, z) in [(0, 0), (-1, 1), (1, 2), (-2, 3), (2, 4)] {
            assert_eq!(zigzag(d), z);
            assert_eq!(unzigzag(z), d);
        }
        assert_eq!(unzigzag(zigzag(i64::MIN)), i64::MIN);
        assert_eq!(unzigzag(zigzag(i64::MAX)), i64::MAX);
    }
}
