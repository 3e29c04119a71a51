//! The dictionary (§5): a raw-content dictionary sampled from entries spread over the archive, the
//! [`DictionaryMode::Auto`] check of whether it pays for itself, and its stored frame.

use std::io;
use std::sync::Arc;
use std::thread;

use zstd::zstd_safe::CParameter;

use super::compress::{compress_frame, dict_settings, dict_table_log, new_compressor, SharedDict};
use super::options::{DictionaryMode, WriterOptions};
use crate::format;

/// The dictionary the writer picked, and its stored frame when the pick compressed it
/// already.
pub(super) struct Chosen {
    /// The dictionary's bytes (raw content).
    pub(super) dict: Vec<u8>,
    /// The DICT section's bytes for it, at the archive's level, if already made.
    pub(super) frame: Option<Vec<u8>>,
    /// The dictionary prepared for the block compressors, if already made.
    pub(super) prepared: Option<Arc<SharedDict>>,
}

/// The dictionary for this sample (`sizes` are its bodies' lengths, back to back), or `None`
/// when the mode, the sample's size or the estimate says no. `blocks` cut the sample as the
/// archive's blocks will be cut; `whole` is the archive's text in bytes; `dict_size` the
/// largest dictionary and the smaller one ([`WriterOptions::dict_sizes_for`]).
///
/// [`DictionaryMode::Auto`] weighs two sizes, the largest allowed (at most a quarter of the
/// sample) and the smaller one (if smaller, and the larger only when [`larger_may_pay`]), by
/// [`estimate`]: the larger must save at least [`LARGER_MUST_SAVE`] of the archive, since a first get after open decodes the whole dictionary (~0.7 µs per
/// KiB). Two candidates are weighed on the whole sample (up to [`WEIGH_BYTES`]) with their
/// frames as stored at the archive's level (`level`); the frame of the one kept is returned.
/// Then the one kept must cost less to store than it saves.
pub(super) fn choose(
    opts: &WriterOptions,
    (dict_size, half): (usize, usize),
    sample: &[u8],
    sizes: &[usize],
    blocks: &[&[u8]],
    whole: u64,
    threads: usize,
) -> io::Result<Option<Chosen>> {
    let total: usize = sizes.iter().sum();
    if total != sample.len() || sizes.len() < 8 {
        return Ok(None);
    }
    let largest = match opts.get_dictionary() {
        DictionaryMode::Auto if total < 64 << 10 => return Ok(None),
        DictionaryMode::Auto => dict_size.min(total / 4),
        DictionaryMode::On => {
            let size = dict_size.min(total / 2).max(256);
            let dict = Some(sample_dictionary(sample, sizes, size)).filter(|d| d.len() >= 8);
            return Ok(dict.map(|dict| Chosen {
                dict,
                frame: None,
                prepared: None,
            }));
        }
        _ => return Ok(None),
    };
    let smaller = largest.min(half);
    let mut candidates = Vec::new();
    if smaller < largest && smaller >= 64 << 10 {
        candidates.push(sample_dictionary(sample, sizes, smaller));
        if larger_may_pay(opts, smaller, whole) {
            candidates.push(sample_dictionary(sample, sizes, largest));
        }
    } else {
        candidates.push(sample_dictionary(sample, sizes, largest));
    }
    candidates.retain(|d| d.len() >= 8);
    // One candidate is weighed only against none, which it beats or loses by far: a quick
    // look. Two are close, and a quick look misjudged them (docs: 4 MiB against 2 MiB, part
    // of 2 MiB of blocks and frames stored at level 3 said 4 MiB saved nothing; the whole
    // sample and the frames at level 19 say 1.9 %, and so did the archives).
    let weigh = match candidates.len() {
        2 => Weigh {
            bytes: WEIGH_BYTES,
            level: Some(opts.get_level()),
        },
        _ => Weigh {
            bytes: ESTIMATE_BYTES,
            level: None,
        },
    };
    // With threads to spare and two candidates (weighed at the archive's level, the long
    // way), the larger (the one kept when it pays, and the slowest to weigh) is prepared for
    // the block compressors while they are weighed, on the thread that weighs none once it
    // is done (the quickest): at level 19 that is 1–2 s on one core for 4 MiB, which
    // otherwise ran alone between the weighing and the first block. It is dropped if the
    // other is kept. Its tables take their memory early (peak RSS: docs +37 MB, 141 MB; web,
    // 8 MiB, +74 MB). Not when the stored frame has a bound: that may pick again.
    let prepare = threads > 1 && candidates.len() == 2 && opts.get_dict_stored_max().is_none();
    let level = opts.get_level();
    let early = candidates
        .last()
        .filter(|_| prepare)
        .map(|d| move || SharedDict::new(d, dict_settings(level, d.len())));
    let (mut costs, prepared) = estimate_all(&candidates, blocks, whole, weigh, threads, early)?;
    let prepared = prepared.transpose()?;
    let (none, _) = costs.remove(0);
    let last = candidates.len().saturating_sub(1);
    let mut best: Option<(usize, Vec<u8>, Cost)> = None;
    for (i, (dict, cost)) in candidates.into_iter().zip(costs).enumerate() {
        let better = match &best {
            None => true,
            Some((_, _, (b, _))) => cost.0 * LARGER_MUST_SAVE.1 < b * LARGER_MUST_SAVE.0,
        };
        if better {
            best = Some((i, dict, cost));
        }
    }
    let chosen = best
        .filter(|(_, _, (cost, _))| *cost < none)
        .map(|(i, dict, (_, frame))| Chosen {
            dict,
            frame,
            prepared: prepared.filter(|_| i == last),
        });
    Ok(chosen)
}

/// A candidate's estimated archive bytes, and its stored frame when the weighing made it.
type Cost = (u128, Option<Vec<u8>>);

/// Whether the larger of the two Auto candidates is weighed at all: with the size the
/// writer's own, only when the text is at least [`TEXT_PER_SMALLER`] times the smaller one.
/// A first article after open decodes the whole dictionary, so a corpus that a smaller one
/// already covers well keeps it (news, 12.5 MB of text: 2 MiB, though 3.1 MB would make it
/// 1.6 % smaller and its first article 1.5× slower).
fn larger_may_pay(opts: &WriterOptions, smaller: usize, whole: u64) -> bool {
    !opts.get_dict_size_is_auto() || whole >= (smaller as u64).saturating_mul(TEXT_PER_SMALLER)
}

/// See [`larger_may_pay`].
const TEXT_PER_SMALLER: u64 = 8;

/// A larger dictionary is kept only when its estimated archive is this much smaller (a
/// fraction: 99/100 of the smaller dictionary's, i.e. 1 % saved). Measured with the estimate
/// at 2 and 4 MiB: docs (128 KiB blocks) 2.8 % (1.4 % at level 19), news 0.5 % (1.6 % at
/// level 19; its first article would cost ~1 ms more).
const LARGER_MUST_SAVE: (u128, u128) = (99, 100);

/// The DICT section's contents (§5): sampled bodies, compressed like a solid archive at the
/// archive's level (at level 19, 2 MiB take ~0.85 s, longer than compressing all the blocks
/// of a level-3 pack). Its match tables are capped at 2^22 + 2^20 entries (20 MiB): zstd
/// would size them at 48 MiB for a 4 MiB dictionary, held while the blocks compress, for
/// 0.08 % of the frame (docs: 919,878 B instead of 919,179; news: no change).
fn compress_dictionary(dict: &[u8], level: i32) -> io::Result<Vec<u8>> {
    let chain = dict_table_log(dict.len()).min(22);
    let min_match = match dict.len() <= SMALL_DICT {
        true => SMALL_DICT_MIN_MATCH,
        false => DICT_MIN_MATCH,
    };
    compress_frame(dict, level, chain, chain.min(20), min_match)
}

/// A dictionary of at most this many bytes (2 MiB: what the writer weighs larger ones
/// against, and what news, Chinese news and short entries get) is stored with matches of at
/// least [`SMALL_DICT_MIN_MATCH`] bytes.
const SMALL_DICT: usize = 2 << 20;

/// The shortest match in a frame of a dictionary up to [`SMALL_DICT`]. The dictionary is most
/// of a first article after open (short entries: 79 % of its instructions), and 6 decodes it
/// in 10–16 % fewer instructions than 4 (`valgrind zstd -d`: short's 256 KiB 6.08 M → 5.33 M,
/// Chinese news's 1.4 MB 31.2 M → 28.1 M, news's 2 MiB 39.3 M → 37.2 M) for +0.12 % (news) to
/// +0.55 % (Chinese news) of the archive: their first articles after open take 4–7 % less
/// time. Larger dictionaries keep [`DICT_MIN_MATCH`]: they come with large text, where the
/// archive's size weighs more (docs's 3.6 MB would cost +0.36 %, 0.3 % under the size target
/// it must meet; `BENCHMARKS.md`).
const SMALL_DICT_MIN_MATCH: u32 = 6;

/// The shortest match in the DICT frame. The first read after open decodes the whole frame,
/// and zstd's levels 18–22 (minMatch 3) fill it with 3-byte matches that decode slowly:
/// Chinese news's 1.4 MB dictionary decodes at 852 MB/s with them and 968 MB/s without
/// (zstd 1.5.4, `-b19`); `quire get` of a first article counts 10 % fewer instructions
/// (callgrind), for 2.4 % more frame (+11 KB, 0.6 % of that archive). docs's 4 MiB costs
/// 0.07 % of its archive (+5 KB), short entries' 256 KiB +108 B. Levels whose own minimum is
/// longer keep theirs. (minMatch 5, level 16's own, decodes as fast as level 16 did, but
/// costs docs 0.2 %, which would put it over the size target.)
const DICT_MIN_MATCH: u32 = 4;

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

/// About how many bytes of the sample the Auto dictionary check compresses to weigh one
/// dictionary against none.
const ESTIMATE_BYTES: usize = 2 << 20;

/// About how many bytes of the sample it compresses to weigh two dictionaries: the whole of
/// the largest automatic sample (64 MiB; at level 3, ~1 s a candidate on docs's 28 MB).
const WEIGH_BYTES: usize = 64 << 20;

/// How [`estimate_all`] weighs: about how many bytes of blocks it compresses, and the level
/// at which it stores each dictionary (`None`: a quick level 3, frame not kept).
#[derive(Clone, Copy)]
struct Weigh {
    bytes: usize,
    level: Option<i32>,
}

/// `packed`: the compressed size of `measured` bytes, evenly spaced over `total`.
#[derive(Default)]
struct Estimate {
    total: u64,
    measured: u64,
    packed: u64,
}

/// For [`DictionaryMode::Auto`]: the blocks, or an evenly spaced part of them of about
/// `bytes`, compressed quickly with or without the dictionary. Large blocks often gain less
/// from a dictionary than it costs to store.
fn estimate(dict: Option<&[u8]>, blocks: &[&[u8]], bytes: usize) -> io::Result<Estimate> {
    let all: Vec<&[u8]> = blocks.iter().copied().filter(|b| !b.is_empty()).collect();
    let total: usize = all.iter().map(|b| b.len()).sum();
    let step = total.div_ceil(bytes.max(1)).max(1);
    let mut c = new_compressor(3, dict)?;
    if let Some(d) = dict {
        // Level 3's tables (2^17 entries) hold only the last part of a large dictionary, so
        // its matches into the rest went unseen and the estimate declined dictionaries
        // that level 19 gains from (docs, 4 MiB at 128 KiB blocks: declined, yet 1.5 %
        // smaller). Tables that cover the dictionary see what the final level sees.
        let log = dict_table_log(d.len()) - 1;
        c.set_parameter(CParameter::HashLog(log))?;
        c.set_parameter(CParameter::ChainLog(log))?;
    }
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

/// The estimated archive bytes with no dictionary (first) and with each of `dicts`: the
/// dictionary's stored size plus its [`estimate`] scaled to the `whole` archive, with the
/// stored frame when `weigh` gives a level (else the size of a quick level-3 frame, no
/// smaller than the final one). On threads when there are threads; then `after_none` runs on
/// the thread that weighed no dictionary, once it has, and its result is returned (`None`
/// with one thread, where it does not run).
fn estimate_all<T: Send>(
    dicts: &[Vec<u8>],
    blocks: &[&[u8]],
    whole: u64,
    weigh: Weigh,
    threads: usize,
    after_none: Option<impl FnOnce() -> T + Send>,
) -> io::Result<(Vec<Cost>, Option<T>)> {
    let cost = |dict: Option<&[u8]>| -> io::Result<Cost> {
        let e = estimate(dict, blocks, weigh.bytes)?;
        let (stored, frame) = match (dict, weigh.level) {
            (Some(d), Some(level)) => {
                let frame = compress_dictionary(d, level)?;
                (frame.len() as u128, Some(frame))
            }
            (Some(d), None) => {
                let mut c = zstd::bulk::Compressor::new(3)?;
                c.include_checksum(false)?;
                (c.compress(d)?.len() as u128, None)
            }
            (None, _) => (0, None),
        };
        let packed =
            u128::from(e.packed) * u128::from(whole.max(e.total)) / u128::from(e.measured.max(1));
        Ok((stored + packed, frame))
    };
    let all: Vec<Option<&[u8]>> = std::iter::once(None)
        .chain(dicts.iter().map(|d| Some(d.as_slice())))
        .collect();
    if threads <= 1 {
        let costs = all.into_iter().map(cost).collect::<io::Result<_>>()?;
        return Ok((costs, None));
    }
    let panicked = || io::Error::other("estimate thread panicked");
    thread::scope(|s| {
        let cost = &cost;
        let none = s.spawn(move || (cost(None), after_none.map(|f| f())));
        let handles: Vec<_> = all[1..].iter().map(|&d| s.spawn(move || cost(d))).collect();
        let (first, after) = none.join().map_err(|_| panicked())?;
        let mut costs = vec![first?];
        for h in handles {
            costs.push(h.join().map_err(|_| panicked())??);
        }
        Ok((costs, after))
    })
}

/// The DICT section's bytes: compressed already, or on their way from a helper thread.
pub(super) enum StoredDict {
    Ready(Option<Vec<u8>>),
    Pending(thread::JoinHandle<io::Result<Vec<u8>>>),
}

impl StoredDict {
    /// Starts compressing the dictionary for the DICT section: on a helper thread when
    /// there are threads to spare (at level 19, ~0.85 s for 2 MiB), beside the blocks.
    /// A `frame` made already (by [`choose`]) is taken as it is.
    pub(super) fn start(
        dict: Option<&Arc<Vec<u8>>>,
        frame: Option<Vec<u8>>,
        level: i32,
        threads: usize,
    ) -> io::Result<Self> {
        if let (Some(_), Some(frame)) = (dict, frame) {
            return Ok(StoredDict::Ready(Some(frame)));
        }
        Ok(match dict {
            Some(d) if threads > 1 => {
                let d = Arc::clone(d);
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

    /// `count` bodies of 4 KiB, each 64 phrases of 64 random letters drawn from `phrases`
    /// distinct ones (xorshift, fixed seed).
    fn phrase_sample(phrases: usize, count: usize) -> (Vec<u8>, Vec<usize>) {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let table: Vec<Vec<u8>> = (0..phrases)
            .map(|_| (0..64).map(|_| b'a' + (next() % 26) as u8).collect())
            .collect();
        let mut sample = Vec::new();
        for _ in 0..count * 64 {
            sample.extend_from_slice(&table[(next() % phrases as u64) as usize]);
        }
        (sample, vec![4096; count])
    }

    fn chosen_len(phrases: usize) -> Option<usize> {
        let (sample, sizes) = phrase_sample(phrases, 1100);
        // Level 3: the frames weighed are quick to make in a debug build.
        let opts = WriterOptions::new().level(3).dict_size(1 << 20);
        let blocks: Vec<&[u8]> = sample.chunks(16 << 10).collect();
        let whole = sample.len() as u64;
        choose(
            &opts,
            (1 << 20, 512 << 10),
            &sample,
            &sizes,
            &blocks,
            whole,
            2,
        )
        .unwrap()
        .map(|c| c.dict.len())
    }

    #[test]
    fn auto_takes_the_larger_dictionary_only_when_it_saves_enough() {
        // 16,384 phrases (1 MiB): half a MiB of sampled bodies holds ~39 % of them, a MiB
        // ~63 %, and every block gains from the difference.
        assert_eq!(chosen_len(16_384), Some(1 << 20));
        // 64 phrases: half a MiB holds them all, a larger dictionary adds nothing.
        assert_eq!(chosen_len(64), Some(512 << 10));
    }

    #[test]
    fn the_larger_candidate_is_weighed_only_for_enough_text() {
        // 4,096 phrases (256 KiB) in 300 bodies: as above at a quarter of the scale, 256 KiB
        // saves enough over 128 KiB; but with the size the writer's own it is weighed only
        // when the text is at least 8 × 128 KiB, while a size set by the caller weighs it
        // whatever the text.
        let (sample, sizes) = phrase_sample(4_096, 300);
        let blocks: Vec<&[u8]> = sample.chunks(16 << 10).collect();
        let pick = |opts: &WriterOptions, whole: u64| {
            let sizes_for = (256 << 10, 128 << 10);
            let c = choose(opts, sizes_for, &sample, &sizes, &blocks, whole, 2).unwrap();
            c.map(|c| (c.dict.len(), c.frame))
        };
        // Level 3 keeps the frames quick to make in a debug build.
        let auto = WriterOptions::new().level(3);
        let (len, frame) = pick(&auto, 1 << 20).unwrap();
        assert_eq!(len, 256 << 10);
        // Two candidates: the kept one's frame comes back, as DICT stores it.
        let frame = frame.expect("the frame of the dictionary kept");
        let dict = sample_dictionary(&sample, &sizes, 256 << 10);
        assert_eq!(frame, compress_dictionary(&dict, auto.get_level()).unwrap());
        let (len, frame) = pick(&auto, (1 << 20) - 1).unwrap();
        assert_eq!(len, 128 << 10);
        assert!(frame.is_none(), "one candidate: no frame made yet");
        let set = WriterOptions::new().level(3).dict_size(256 << 10);
        assert_eq!(pick(&set, (1 << 20) - 1).unwrap().0, 256 << 10);
    }

    #[test]
    fn auto_declines_a_dictionary_that_cannot_help() {
        // 4.5 MiB of random letters: no block shares a byte sequence with a dictionary,
        // which would cost its stored bytes for nothing.
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let sample: Vec<u8> = (0..1100 * 4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b'a' + (x % 26) as u8
            })
            .collect();
        let sizes = vec![4096; 1100];
        let opts = WriterOptions::new();
        let blocks: Vec<&[u8]> = sample.chunks(16 << 10).collect();
        let got = choose(
            &opts,
            opts.dict_sizes_for(4096, sample.len() as u64),
            &sample,
            &sizes,
            &blocks,
            sample.len() as u64,
            1,
        )
        .unwrap();
        assert!(got.is_none());
    }
}
