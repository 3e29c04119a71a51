//! The dictionary (§5): a raw-content dictionary sampled from entries spread over the archive, the
//! [`DictionaryMode::Auto`] check of whether it pays for itself, and its stored frame.

use std::io;
use std::thread;

use super::compress::new_compressor;
use super::options::{DictionaryMode, WriterOptions};
use crate::format;

/// The dictionary for this sample, or `None` when the mode or the sample's size says no.
pub(super) fn pick(opts: &WriterOptions, sample: &[u8], sizes: &[usize]) -> Option<Vec<u8>> {
    let total: usize = sizes.iter().sum();
    if total != sample.len() || sizes.len() < 8 {
        return None;
    }
    let size = match opts.get_dictionary() {
        DictionaryMode::Auto if total < 64 << 10 => return None,
        DictionaryMode::Auto => opts.get_dict_size().min(total / 4),
        DictionaryMode::On => opts.get_dict_size().min(total / 2).max(256),
        _ => return None,
    };
    Some(sample_dictionary(sample, sizes, size)).filter(|d| d.len() >= 8)
}

/// The DICT section's contents (§5): sampled bodies, compressed like a solid archive at the
/// archive's level (at level 19, 2 MiB take ~0.85 s, longer than compressing all the blocks
/// of a level-3 pack).
fn compress_dictionary(dict: &[u8], level: i32) -> io::Result<Vec<u8>> {
    let mut c = zstd::bulk::Compressor::new(level)?;
    c.include_contentsize(true)?;
    c.include_checksum(false)?;
    c.compress(dict)
}

/// Longest piece of one body that goes into a dictionary.
const DICT_PIECE: usize = 64 << 10;

/// A raw-content dictionary (§5) of at most `size` bytes: bodies of the sample (`sizes` are
/// their lengths, back to back in `sample`), each up to [`DICT_PIECE`], picked evenly over
/// the sample. On news text such a dictionary needs about twice the bytes of one trained by
/// zstd for the same gain on articles it has not seen, but it takes no training (~1 s per
/// MiB on one core, which kept packing from scaling with threads), and on the articles it
/// holds it works like solid compression (`BENCHMARKS.md`).
fn sample_dictionary(sample: &[u8], sizes: &[usize], size: usize) -> Vec<u8> {
    let total = sample.len() as u128;
    let mut dict = Vec::with_capacity(size.min(sample.len()));
    let mut start = 0usize;
    for &len in sizes {
        let body = sample.get(start..start + len).unwrap_or_default();
        start += len;
        if dict.len() >= size {
            break;
        }
        // Take a body when the dictionary has fallen behind the share of the sample passed.
        if (start - len) as u128 * size as u128 >= dict.len() as u128 * total {
            let take = len.min(DICT_PIECE).min(size - dict.len());
            dict.extend_from_slice(&body[..take]);
        }
    }
    // zstd reads a dictionary that starts with its magic as a trained one.
    if dict.starts_with(&format::ZSTD_DICT_MAGIC) {
        dict.remove(0);
    }
    dict
}

/// About how many bytes of the sample the Auto dictionary check compresses.
const ESTIMATE_BYTES: usize = 2 << 20;

/// `packed`: the compressed size of `measured` bytes, evenly spaced over `total`.
#[derive(Default)]
struct Estimate {
    total: u64,
    measured: u64,
    packed: u64,
}

/// For [`DictionaryMode::Auto`]: the blocks, or an evenly spaced part of them of about
/// [`ESTIMATE_BYTES`], compressed quickly with or without the dictionary. Large blocks often
/// gain less from a dictionary than it costs to store.
fn estimate(dict: Option<&[u8]>, blocks: &[&[u8]]) -> io::Result<Estimate> {
    let all: Vec<&[u8]> = blocks.iter().copied().filter(|b| !b.is_empty()).collect();
    let total: usize = all.iter().map(|b| b.len()).sum();
    let step = total.div_ceil(ESTIMATE_BYTES).max(1);
    let mut c = new_compressor(3, dict)?;
    let mut e = Estimate {
        total: total as u64,
        ..Estimate::default()
    };
    for raw in all.iter().step_by(step) {
        e.measured += raw.len() as u64;
        e.packed += c.compress(raw)?.len() as u64;
    }
    Ok(e)
}

/// Whether to use the picked dictionary: always unless the mode is
/// [`DictionaryMode::Auto`], and then when the estimate says it pays for itself over the
/// archive's `whole` bytes, measured on `blocks` (the sample). The dictionary's stored size is
/// estimated by a level-3 compression (no smaller than the final frame, so the estimate errs
/// towards no dictionary).
pub(super) fn pays_off(
    mode: DictionaryMode,
    dict: &[u8],
    blocks: &[&[u8]],
    whole: u64,
    threads: usize,
) -> io::Result<bool> {
    if mode != DictionaryMode::Auto {
        return Ok(true);
    }
    let quick_stored = || -> io::Result<usize> {
        let mut c = zstd::bulk::Compressor::new(3)?;
        c.include_checksum(false)?;
        Ok(c.compress(dict)?.len())
    };
    let (with, without) = if threads > 1 {
        thread::scope(|s| -> io::Result<_> {
            let with = s.spawn(|| estimate(Some(dict), blocks));
            let without = estimate(None, blocks)?;
            let with = with
                .join()
                .map_err(|_| io::Error::other("estimate thread panicked"))??;
            Ok((with, without))
        })?
    } else {
        (estimate(Some(dict), blocks)?, estimate(None, blocks)?)
    };
    let stored = quick_stored()?;
    // Scale the measured part to the whole archive: stored + with · whole/measured <
    // without · whole/measured.
    let scale = |x: u64| u128::from(x) * u128::from(whole.max(with.total));
    Ok(
        u128::from(stored as u64) * u128::from(with.measured) + scale(with.packed)
            < scale(without.packed),
    )
}

/// The DICT section's bytes: compressed already, or on their way from a helper thread.
pub(super) enum StoredDict {
    Ready(Option<Vec<u8>>),
    Pending(thread::JoinHandle<io::Result<Vec<u8>>>),
}

impl StoredDict {
    /// Starts compressing the dictionary for the DICT section: on a helper thread when
    /// there are threads to spare (at level 19, ~0.85 s for 2 MiB), beside the blocks.
    pub(super) fn start(dict: Option<&[u8]>, level: i32, threads: usize) -> io::Result<Self> {
        Ok(match dict {
            Some(d) if threads > 1 => {
                let d = d.to_vec();
                StoredDict::Pending(thread::spawn(move || compress_dictionary(&d, level)))
            }
            Some(d) => StoredDict::Ready(Some(compress_dictionary(d, level)?)),
            None => StoredDict::Ready(None),
        })
    }

    /// The DICT section's bytes, once compressed; `None` without a dictionary.
    pub(super) fn wait(self) -> io::Result<Option<Vec<u8>>> {
        match self {
            StoredDict::Ready(d) => Ok(d),
            StoredDict::Pending(h) => h
                .join()
                .map_err(|_| io::Error::other("dictionary compression thread panicked"))?
                .map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_dictionary_picks_evenly_and_never_starts_with_the_magic() {
        // 100 bodies of 100 bytes, body i filled with byte i; the first starts with the
        // trained-dictionary magic.
        let mut sample: Vec<u8> = (0..100u8).flat_map(|i| [i; 100]).collect();
        sample[..4].copy_from_slice(&format::ZSTD_DICT_MAGIC);
        let sizes = vec![100; 100];
        let dict = sample_dictionary(&sample, &sizes, 1000);
        assert!(!dict.starts_with(&format::ZSTD_DICT_MAGIC));
        assert_eq!(
            dict.len(),
            999,
            "ten whole bodies, less the magic's first byte"
        );
        // Bodies 0, 10, 20, ..., 90: one in ten, spread over the whole sample.
        let mut picked: Vec<u8> = dict[99..].chunks(100).map(|c| c[0]).collect();
        picked.insert(0, 0);
        assert_eq!(picked, (0..10).map(|i| i * 10).collect::<Vec<u8>>());
        // Never more than asked for, cutting the last body short.
        assert_eq!(sample_dictionary(&sample, &sizes, 250).len(), 249);
    }
}
