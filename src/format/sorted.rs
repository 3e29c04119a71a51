//! §8 SORTED: the sorted index.
//!
//! Entry numbers in byte-wise key order, 15 to a 64-byte group with the group's CRC; unused
//! places in the last group hold `0xFFFFFFFF`. Sorted position *p* is in group `p / 15`.

use byteorder::{ByteOrder, LittleEndian as LE};

use super::crc32;
use super::keyhash::NO_ENTRY;

/// Size of a sorted-index group (§8).
pub const SORTED_GROUP_LEN: usize = 64;
/// Entry numbers in a sorted-index group (§8).
pub const ENTRIES_PER_GROUP: usize = 15;
const CRC: usize = 60;

/// Number of groups for `entries` entries.
pub fn group_count(entries: u64) -> u64 {
    entries.div_ceil(ENTRIES_PER_GROUP as u64)
}

/// Encodes a group, CRC included.
pub fn encode_group(entries: &[u32; ENTRIES_PER_GROUP]) -> [u8; SORTED_GROUP_LEN] {
    let mut b = [0u8; SORTED_GROUP_LEN];
    for (i, e) in entries.iter().enumerate() {
        LE::write_u32(&mut b[i * 4..], *e);
    }
    let crc = crc32(&b[..CRC]);
    LE::write_u32(&mut b[CRC..], crc);
    b
}

/// Encodes the whole section for entry numbers in sorted order.
pub fn encode(order: &[u32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(order.len().div_ceil(ENTRIES_PER_GROUP) * SORTED_GROUP_LEN);
    for chunk in order.chunks(ENTRIES_PER_GROUP) {
        let mut g = [NO_ENTRY; ENTRIES_PER_GROUP];
        g[..chunk.len()].copy_from_slice(chunk);
        out.extend_from_slice(&encode_group(&g));
    }
    out
}

/// Decodes a group if its CRC matches.
pub fn decode_group(b: &[u8; SORTED_GROUP_LEN]) -> Option<[u32; ENTRIES_PER_GROUP]> {
    if crc32(&b[..CRC]) != LE::read_u32(&b[CRC..]) {
        return None;
    }
    let mut out = [NO_ENTRY; ENTRIES_PER_GROUP];
    for (i, e) in out.iter_mut().enumerate() {
        *e = LE::read_u32(&b[i * 4..]);
    }
    Some(out)
}

/// Recomputes the CRC of an encoded group (for tools that rewrite one).
pub fn reseal_group(b: &mut [u8; SORTED_GROUP_LEN]) {
    let crc = crc32(&b[..CRC]);
    LE::write_u32(&mut b[CRC..], crc);
}
