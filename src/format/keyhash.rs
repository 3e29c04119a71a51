//! §7 KEYHASH: the hash index.
//!
//! `bucket_count` buckets of 64 bytes: seven 8-byte slots (`u32 entry`, `u32 tag`) and the
//! bucket's CRC. A key's hash is XXH3-64 with the archive's seed; its home bucket is
//! `hash % bucket_count`, its tag the high 32 bits. Slots fill in order within a bucket,
//! and a full bucket sends the key on to the next one (linear probing, wrapping), at most
//! `max_probe` buckets away. This module is the only place that computes a key's home, tag
//! and probe sequence: the writer builds with [`build`], the reader and `verify` look up
//! with [`Probe`].

use byteorder::{ByteOrder, LittleEndian as LE};

use super::crc32;
use super::header::MAX_PROBE;

/// Size of a hash bucket (§7).
pub const BUCKET_LEN: usize = 64;
/// Slots in a hash bucket (§7).
pub const SLOTS_PER_BUCKET: usize = 7;
/// Entry number that marks an empty hash slot or an unused sorted place.
pub const NO_ENTRY: u32 = u32::MAX;
const SLOT_LEN: usize = 8;
const SLOT_ENTRY: usize = 0;
const SLOT_TAG: usize = 4;
const CRC: usize = 60;

/// The key hash of §7: XXH3-64 with the archive's seed.
pub fn key_hash(key: &[u8], seed: u64) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(key, seed)
}

/// Where a key's search starts and what its slots carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// The home bucket.
    pub home: u64,
    /// The tag stored beside the entry number.
    pub tag: u32,
    bucket_count: u64,
}

impl Probe {
    /// The probe of `key` in a table of `bucket_count` (> 0) buckets with `seed`.
    pub fn new(key: &[u8], seed: u64, bucket_count: u64) -> Probe {
        let hash = key_hash(key, seed);
        Probe {
            home: hash % bucket_count.max(1),
            tag: (hash >> 32) as u32,
            bucket_count: bucket_count.max(1),
        }
    }

    /// The bucket `distance` steps from home.
    pub fn bucket(&self, distance: u64) -> u64 {
        (self.home + distance % self.bucket_count) % self.bucket_count
    }

    /// The buckets to look in, home first, for a table whose longest probe is `max_probe`.
    pub fn buckets(&self, max_probe: u32) -> impl Iterator<Item = u64> + '_ {
        (0..=u64::from(max_probe)).map(|d| self.bucket(d))
    }

    /// How many steps from home `bucket` is.
    pub fn distance(&self, bucket: u64) -> u64 {
        (bucket + self.bucket_count - self.home % self.bucket_count) % self.bucket_count
    }
}

/// A hash slot (§7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Entry number, or [`NO_ENTRY`].
    pub entry: u32,
    /// High 32 bits of the key hash.
    pub tag: u32,
}

impl Slot {
    /// An empty slot.
    pub const EMPTY: Slot = Slot {
        entry: NO_ENTRY,
        tag: 0,
    };
}

/// Encodes a hash bucket, CRC included.
pub fn encode_bucket(slots: &[Slot; SLOTS_PER_BUCKET]) -> [u8; BUCKET_LEN] {
    let mut b = [0u8; BUCKET_LEN];
    for (i, s) in slots.iter().enumerate() {
        LE::write_u32(&mut b[i * SLOT_LEN + SLOT_ENTRY..], s.entry);
        LE::write_u32(&mut b[i * SLOT_LEN + SLOT_TAG..], s.tag);
    }
    let crc = crc32(&b[..CRC]);
    LE::write_u32(&mut b[CRC..], crc);
    b
}

/// Decodes a hash bucket if its CRC matches.
pub fn decode_bucket(b: &[u8; BUCKET_LEN]) -> Option<[Slot; SLOTS_PER_BUCKET]> {
    if crc32(&b[..CRC]) != LE::read_u32(&b[CRC..]) {
        return None;
    }
    let mut slots = [Slot::EMPTY; SLOTS_PER_BUCKET];
    for (i, s) in slots.iter_mut().enumerate() {
        s.entry = LE::read_u32(&b[i * SLOT_LEN + SLOT_ENTRY..]);
        s.tag = LE::read_u32(&b[i * SLOT_LEN + SLOT_TAG..]);
    }
    Some(slots)
}

/// Recomputes the CRC of an encoded bucket (for tools that rewrite one).
pub fn reseal_bucket(b: &mut [u8; BUCKET_LEN]) {
    let crc = crc32(&b[..CRC]);
    LE::write_u32(&mut b[CRC..], crc);
}

/// The hash index as built: buckets, seed and largest probe distance.
#[derive(Debug, Clone)]
pub struct HashIndex {
    /// The buckets, in order.
    pub buckets: Vec<[Slot; SLOTS_PER_BUCKET]>,
    /// The seed the keys were hashed with.
    pub seed: u64,
    /// The longest distance of any key from its home bucket.
    pub max_probe: u32,
}

impl HashIndex {
    /// The KEYHASH section's bytes.
    pub fn encode(&self) -> Vec<u8> {
        self.buckets.iter().flat_map(encode_bucket).collect()
    }
}

/// Builds the hash index of §7 for `keys` (entry *i* has key `keys[i]`): `ceil(n / 6)`
/// buckets; seeds tried from 0 while the longest probe exceeds 8 buckets (keeping the
/// best); should even the best exceed [`MAX_PROBE`] (hostile keys), twice the buckets and
/// again.
pub fn build(keys: &[&[u8]]) -> HashIndex {
    let mut bucket_count = (keys.len() as u64).div_ceil(6);
    if bucket_count == 0 {
        return HashIndex {
            buckets: Vec::new(),
            seed: 0,
            max_probe: 0,
        };
    }
    loop {
        let mut best: Option<HashIndex> = None;
        for seed in 0..16u64 {
            let index = fill_buckets(keys, seed, bucket_count);
            let good = index.max_probe <= 8;
            if best.as_ref().is_none_or(|b| index.max_probe < b.max_probe) {
                best = Some(index);
            }
            if good {
                break;
            }
        }
        match best {
            Some(b) if b.max_probe <= MAX_PROBE => return b,
            _ => bucket_count *= 2,
        }
    }
}

/// Linear probing over buckets with one seed.
fn fill_buckets(keys: &[&[u8]], seed: u64, bucket_count: u64) -> HashIndex {
    let mut buckets = vec![[Slot::EMPTY; SLOTS_PER_BUCKET]; bucket_count as usize];
    let mut fill = vec![0u8; bucket_count as usize];
    let mut max_probe = 0u64;
    for (i, k) in keys.iter().enumerate() {
        let probe = Probe::new(k, seed, bucket_count);
        let mut distance = 0u64;
        loop {
            let b = probe.bucket(distance) as usize;
            if usize::from(fill[b]) < SLOTS_PER_BUCKET {
                buckets[b][usize::from(fill[b])] = Slot {
                    entry: i as u32,
                    tag: probe.tag,
                };
                fill[b] += 1;
                break;
            }
            distance += 1;
        }
        max_probe = max_probe.max(distance);
    }
    HashIndex {
        buckets,
        seed,
        max_probe: u32::try_from(max_probe).unwrap_or(u32::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_sequence_wraps_and_distance_inverts_it() {
        let p = Probe {
            home: 5,
            tag: 0,
            bucket_count: 7,
        };
        let seq: Vec<u64> = p.buckets(3).collect();
        assert_eq!(seq, [5, 6, 0, 1]);
        for (d, b) in seq.iter().enumerate() {
            assert_eq!(p.distance(*b), d as u64);
        }
    }

    #[test]
    fn every_key_is_within_max_probe_of_home() {
        let keys: Vec<Vec<u8>> = (0..500).map(|i| format!("k{i}").into_bytes()).collect();
        let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        let idx = build(&refs);
        for (i, k) in refs.iter().enumerate() {
            let p = Probe::new(k, idx.seed, idx.buckets.len() as u64);
            let found = p.buckets(idx.max_probe).any(|b| {
                idx.buckets[b as usize]
                    .iter()
                    .any(|s| s.entry == i as u32 && s.tag == p.tag)
            });
            assert!(found, "key {i}");
        }
    }
}
