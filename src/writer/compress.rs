//! Block compression: [`Compressors`], inline or a pool of worker threads that hands the
//! blocks back in order, and the zstd settings every block is compressed with. With a
//! dictionary, every compressor references one dictionary prepared once ([`cdict`]).

// zstd's C API, for one prepared dictionary shared by every compressor: see the module.
#[allow(unsafe_code)]
mod cdict;

use std::collections::BTreeMap;
use std::io;
use std::sync::{mpsc, Arc, Mutex};
use std::thread;

use zstd::zstd_safe::CParameter;

use crate::format::Codec;

use cdict::DictCompressor;
pub(super) use cdict::{compress_frame, SharedDict};

/// A block ready to compress.
pub(super) struct Job {
    /// Block number.
    pub(super) seq: u64,
    /// Its uncompressed bytes.
    pub(super) raw: Vec<u8>,
    /// It holds one opaque entry ([`super::opaque`]): stored as it is (codec 0) unless
    /// compressing saves at least 1/[`OPAQUE_MUST_SAVE`] of it.
    pub(super) opaque: bool,
}

/// A compressed (or raw) block.
pub(super) struct Done {
    /// Block number.
    pub(super) seq: u64,
    /// Uncompressed length.
    pub(super) raw_len: u32,
    /// How `bytes` are stored.
    pub(super) codec: Codec,
    /// The stored bytes.
    pub(super) bytes: Vec<u8>,
    /// CRC32 of the uncompressed bytes.
    pub(super) raw_crc: u32,
}

/// An opaque block is stored compressed only when that saves at least this fraction
/// (1/32) of it: otherwise reading it is a checksum and a copy, not a decompression.
pub(super) const OPAQUE_MUST_SAVE: usize = 32;

/// A block compressor: without a dictionary zstd's safe one, with one a context that
/// references the pack's [`SharedDict`].
pub(super) enum BlockCompressor {
    Plain(zstd::bulk::Compressor<'static>),
    Dict(DictCompressor),
}

impl BlockCompressor {
    fn new(level: i32, dict: Option<&Arc<SharedDict>>) -> io::Result<BlockCompressor> {
        Ok(match dict {
            Some(d) => BlockCompressor::Dict(DictCompressor::new(Arc::clone(d))?),
            None => BlockCompressor::Plain(new_compressor(level, None)?),
        })
    }

    fn compress(&mut self, raw: &[u8]) -> io::Result<Vec<u8>> {
        match self {
            BlockCompressor::Plain(c) => c.compress(raw),
            BlockCompressor::Dict(c) => c.compress(raw),
        }
    }
}

fn compress_block(c: &mut BlockCompressor, job: Job) -> io::Result<Done> {
    let with_dict = matches!(c, BlockCompressor::Dict(_));
    let raw_len = job.raw.len() as u32;
    let raw_crc = crate::format::crc32(&job.raw);
    let packed = c.compress(&job.raw)?;
    let worth = match job.opaque {
        true => packed.len() + job.raw.len() / OPAQUE_MUST_SAVE <= job.raw.len(),
        false => packed.len() < job.raw.len(),
    };
    Ok(if worth {
        Done {
            seq: job.seq,
            raw_len,
            codec: if with_dict {
                Codec::ZstdDict
            } else {
                Codec::Zstd
            },
            bytes: packed,
            raw_crc,
        }
    } else {
        Done {
            seq: job.seq,
            raw_len,
            codec: Codec::Raw,
            bytes: job.raw,
            raw_crc,
        }
    })
}

/// A zstd compressor for blocks (or, at level 3, for the Auto dictionary estimate): no
/// checksum or dictionary id, the content size in every frame.
pub(super) fn new_compressor(
    level: i32,
    dict: Option<&[u8]>,
) -> io::Result<zstd::bulk::Compressor<'static>> {
    let mut c = match dict {
        Some(d) => zstd::bulk::Compressor::with_dictionary(level, d)?,
        None => zstd::bulk::Compressor::new(level)?,
    };
    c.include_checksum(false)?;
    c.include_contentsize(true)?;
    c.include_dictid(false)?;
    if let Some(d) = dict {
        if let Some((chain, hash)) = dict_settings(level, d.len()).tables {
            c.set_parameter(CParameter::ChainLog(chain))?;
            c.set_parameter(CParameter::HashLog(hash))?;
        }
        attach(&mut c)?;
    }
    Ok(c)
}

/// How blocks are compressed with a dictionary of `len` bytes at `level`.
///
/// From [`BT_LEVELS`] up, match tables sized to the dictionary rather than to the level.
/// Every block starts from the dictionary's match-finder tables. zstd sizes them for the level
/// (at 19: 2^22-entry chain and hash tables, 32 MiB), and copying them dominated packing.
/// Tables that just cover the dictionary give the same output size within bytes and pack
/// ~1.4x faster (news corpus, 1 MiB dictionary, 16 KiB blocks).
pub(super) fn dict_settings(level: i32, len: usize) -> cdict::Settings {
    let tables = (level >= BT_LEVELS).then(|| {
        let chain = dict_table_log(len);
        (chain, chain.min(18))
    });
    cdict::Settings { level, tables }
}

/// Has `c` search the dictionary's own match tables (zstd's "attach" mode) rather than
/// start every block from a copy of them: the copy, as large as the tables (16 MiB at a
/// 2 MiB dictionary, 32 MiB at 4 MiB), was held by every worker beside the dictionary's own,
/// and copied for every block. Same output size within 0.1 % (news: 3,736,341 B attached,
/// 3,737,483 B copied).
fn attach(c: &mut zstd::bulk::Compressor<'static>) -> io::Result<()> {
    use zstd::zstd_safe::DictAttachPref;
    c.set_parameter(CParameter::ForceAttachDict(DictAttachPref::ForceAttach))
}

/// From this level up zstd uses binary-tree match finders (btlazy2, btopt, btultra).
const BT_LEVELS: i32 = 13;

/// log2 of a binary-tree chain table that covers a dictionary of `len` bytes (two entries
/// per position), within zstd's bounds.
pub(super) fn dict_table_log(len: usize) -> u32 {
    let positions = len.max(1).next_power_of_two().trailing_zeros();
    (positions + 1).clamp(16, 24)
}

/// Compresses blocks, inline or on worker threads, and hands them back in order.
pub(super) enum Compressors {
    Inline(BlockCompressor),
    Pool {
        jobs: Option<mpsc::SyncSender<Job>>,
        done: mpsc::Receiver<io::Result<Done>>,
        workers: Vec<thread::JoinHandle<()>>,
        in_flight: usize,
        limit: usize,
        reorder: BTreeMap<u64, Done>,
    },
}

impl Compressors {
    /// Compresses inline with one thread, else starts a pool of `threads` workers. A
    /// dictionary is prepared here, once, for all of them.
    /// `prepared`, when given, is `dict` prepared already with [`dict_settings`] at `level`.
    pub(super) fn start(
        level: i32,
        dict: Option<Arc<Vec<u8>>>,
        prepared: Option<Arc<SharedDict>>,
        threads: usize,
    ) -> io::Result<Compressors> {
        let dict = match (dict, prepared) {
            (Some(_), Some(p)) => Some(p),
            (Some(d), None) => Some(SharedDict::new(&d, dict_settings(level, d.len()))?),
            (None, _) => None,
        };
        if threads <= 1 {
            return Ok(Compressors::Inline(BlockCompressor::new(
                level,
                dict.as_ref(),
            )?));
        }
        let (job_tx, job_rx) = mpsc::sync_channel::<Job>(threads * 2);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (done_tx, done_rx) = mpsc::channel();
        let workers = (0..threads)
            .map(|_| {
                let (rx, tx, dict) = (Arc::clone(&job_rx), done_tx.clone(), dict.clone());
                thread::spawn(move || work(level, dict.as_ref(), &rx, &tx))
            })
            .collect();
        Ok(Compressors::Pool {
            jobs: Some(job_tx),
            done: done_rx,
            workers,
            in_flight: 0,
            limit: threads * 3,
            reorder: BTreeMap::new(),
        })
    }

    /// Submits a block; returns the blocks that are now ready, in order from `next_seq`.
    pub(super) fn submit(
        &mut self,
        job: Job,
        ready: &mut Vec<Done>,
        next_seq: &mut u64,
    ) -> io::Result<()> {
        match self {
            Compressors::Inline(c) => {
                ready.push(compress_block(c, job)?);
                *next_seq += 1;
                Ok(())
            }
            Compressors::Pool {
                jobs, in_flight, ..
            } => {
                let Some(tx) = jobs.as_ref() else {
                    return Err(io::Error::other("compression pool closed"));
                };
                tx.send(job)
                    .map_err(|_| io::Error::other("compression worker stopped"))?;
                *in_flight += 1;
                self.collect(ready, next_seq, false)
            }
        }
    }

    /// Moves finished blocks into `ready` in sequence order. With `all`, waits for every
    /// block in flight; otherwise waits only while too many are in flight.
    pub(super) fn collect(
        &mut self,
        ready: &mut Vec<Done>,
        next_seq: &mut u64,
        all: bool,
    ) -> io::Result<()> {
        let Compressors::Pool {
            done,
            in_flight,
            limit,
            reorder,
            ..
        } = self
        else {
            return Ok(());
        };
        loop {
            let must_wait = if all {
                *in_flight > 0
            } else {
                *in_flight + reorder.len() > *limit
            };
            let got = if must_wait {
                Some(
                    done.recv()
                        .map_err(|_| io::Error::other("compression worker stopped"))?,
                )
            } else {
                done.try_recv().ok()
            };
            let Some(d) = got else { break };
            let d = d?;
            *in_flight -= 1;
            reorder.insert(d.seq, d);
            while let Some(d) = reorder.remove(next_seq) {
                ready.push(d);
                *next_seq += 1;
            }
        }
        Ok(())
    }

    /// Lets the workers finish and waits for them.
    pub(super) fn stop(&mut self) {
        if let Compressors::Pool { jobs, workers, .. } = self {
            jobs.take();
            for w in workers.drain(..) {
                let _ = w.join();
            }
        }
    }
}

impl Drop for Compressors {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A worker: compresses the jobs it takes until the queue closes or the writer goes away.
fn work(
    level: i32,
    dict: Option<&Arc<SharedDict>>,
    jobs: &Mutex<mpsc::Receiver<Job>>,
    done: &mpsc::Sender<io::Result<Done>>,
) {
    let mut c = match BlockCompressor::new(level, dict) {
        Ok(c) => c,
        Err(e) => {
            let _ = done.send(Err(e));
            return;
        }
    };
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        if done.send(compress_block(&mut c, job)).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writer::dictionary;
    use crate::{Archive, ArchiveWriter, DictionaryMode, NewEntry, WriterOptions};

    /// News-like prose (xorshift, fixed seed): `count` articles of sentences drawn from 3,000
    /// made-up words, the frequent ones far more often than the rare ones, as in text.
    fn news(count: usize, seed: u64) -> Vec<Vec<u8>> {
        let mut x = seed | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let words: Vec<Vec<u8>> = (0..3000)
            .map(|_| {
                let len = 2 + next() % 9;
                (0..len).map(|_| b'a' + (next() % 26) as u8).collect()
            })
            .collect();
        (0..count)
            .map(|i| {
                let mut a = format!("Article {i}\n\n").into_bytes();
                for _ in 0..3 + next() % 6 {
                    for _ in 0..3 + next() % 4 {
                        for w in 0..8 + next() % 18 {
                            let rank = (next() % 3000) * (next() % 3000) / 3000;
                            let word = &words[rank as usize];
                            if w == 0 {
                                a.push(word[0].to_ascii_uppercase());
                                a.extend_from_slice(&word[1..]);
                            } else {
                                a.push(b' ');
                                a.extend_from_slice(word);
                            }
                        }
                        a.extend_from_slice(b". ");
                    }
                    a.extend_from_slice(b"\n\n");
                }
                a
            })
            .collect()
    }

    /// `articles` packed in memory with `opts` as `news/0000`, `news/0001`, …, created at 0.
    fn pack_news(articles: &[Vec<u8>], opts: WriterOptions) -> Vec<u8> {
        let mut w = ArchiveWriter::in_memory(opts.created(0)).unwrap();
        for (i, a) in articles.iter().enumerate() {
            w.add(&NewEntry::new(&format!("news/{i:04}"), a)).unwrap();
        }
        w.finish_into_inner().unwrap().0.into_inner()
    }

    #[test]
    fn frames_with_the_shared_dictionary_are_those_of_a_dictionary_loaded_per_context() {
        let text: Vec<u8> = news(2400, 7).concat();
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let noise: Vec<u8> = (0..20_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        // (dictionary length, levels, block lengths). Blocks of up to 16 KiB, 128 KiB,
        // 256 KiB and more each take another row of zstd's parameter tables; over 256 KiB
        // zstd's level 3 (what a context referencing such a CDict would take) has a smaller
        // window than 16 or 19, which a 3 MiB block shows.
        let small = [0, 1, 700, 16 << 10, (16 << 10) + 1, 24 << 10, 100 << 10];
        let large = [(128 << 10) + 1, (256 << 10) + 1];
        let cases: [(usize, &[i32], &[usize]); 5] = [
            (300 << 10, &[1, 3, 4, 7, 12, 13, 16, 19, 22], &small),
            (300 << 10, &[3, 13, 19], &large),
            (20 << 10, &[3, 19], &small),
            (1100 << 10, &[19], &[24 << 10, (128 << 10) + 1]),
            (300 << 10, &[16], &[3 << 20]),
        ];
        for (dict_len, levels, lens) in cases {
            let (dict, rest) = text.split_at(dict_len);
            for &level in levels {
                let shared = SharedDict::new(dict, dict_settings(level, dict.len())).unwrap();
                let mut new = DictCompressor::new(shared).unwrap();
                let mut old = new_compressor(level, Some(dict)).unwrap();
                let mut at = 0;
                for &len in lens.iter().chain([&noise.len()]) {
                    let block = match len == noise.len() {
                        true => &noise[..],
                        false => &rest[at..at + len],
                    };
                    at += len % (512 << 10);
                    let frame = new.compress(block).unwrap();
                    assert!(
                        frame == old.compress(block).unwrap(),
                        "level {level}, {dict_len} B dictionary, {len} B block"
                    );
                    let back = zstd::bulk::Decompressor::with_dictionary(dict)
                        .unwrap()
                        .decompress(&frame, block.len())
                        .unwrap();
                    assert!(back == block);
                }
            }
        }
    }

    #[test]
    fn frames_of_the_dict_section_are_those_of_zstds_bulk_compressor() {
        // Over 2 MiB of input the tables go on huge pages (cdict.rs, `huge`): the bytes are
        // the same either way.
        let text: Vec<u8> = news(6000, 3).concat();
        assert!(text.len() > 3 << 20);
        // (length, level, chain, hash, the shortest match asked for, what zstd is given:
        // the level's own minMatch where that is longer, as at level 12 over 256 KiB; zstd's
        // tables give level 3 minMatch 4 at 16 KiB and under, 5 above)
        for (len, level, chain, hash, asked, min) in [
            (0, 19, 16, 16, 4, 4),
            (1000, 3, 16, 16, 4, 4),
            (300 << 10, 3, 16, 16, 4, 5),
            (300 << 10, 19, 20, 20, 0, 3),
            (300 << 10, 19, 20, 20, 4, 4),
            (3 << 20, 19, 22, 20, 4, 4),
            (3 << 20, 12, 22, 20, 4, 5),
        ] {
            let src = &text[..len];
            let mut old = zstd::bulk::Compressor::new(level).unwrap();
            old.include_contentsize(true).unwrap();
            old.include_checksum(false).unwrap();
            old.set_parameter(CParameter::ChainLog(chain)).unwrap();
            old.set_parameter(CParameter::HashLog(hash)).unwrap();
            old.set_parameter(CParameter::MinMatch(min)).unwrap();
            let frame = compress_frame(src, level, chain, hash, asked).unwrap();
            assert!(
                frame == old.compress(src).unwrap(),
                "{len} B at level {level}, min {min}"
            );
            assert!(zstd::bulk::decompress(&frame, len).unwrap() == src);
        }
    }

    #[test]
    fn a_dictionary_prepared_while_weighed_makes_the_same_archive() {
        // Two candidates (128 and 256 KiB) weighed at level 19: with two threads the larger
        // is prepared beside the weighing and handed to the compressors when it is kept.
        let articles = news(1500, 5);
        let text: Vec<u8> = articles.concat();
        let blocks: Vec<&[u8]> = text.chunks(16 << 10).collect();
        let sizes: Vec<usize> = articles.iter().map(Vec::len).collect();
        let opts = WriterOptions::new().level(19).dict_size(256 << 10);
        let whole = text.len() as u64;
        let pick = |threads| {
            dictionary::choose(
                &opts,
                (256 << 10, 128 << 10),
                &text,
                &sizes,
                &blocks,
                whole,
                threads,
            )
            .unwrap()
            .unwrap()
        };
        let (one, two) = (pick(1), pick(2));
        assert!(one.dict == two.dict && one.frame == two.frame);
        assert!(one.prepared.is_none());
        assert_eq!(two.dict.len(), 256 << 10, "the larger is kept here");
        assert!(two.prepared.is_some());
        let pack = |threads: usize| {
            let opts = WriterOptions::new().level(19).dict_size(256 << 10);
            pack_news(&articles, opts.threads(threads))
        };
        let one = pack(1);
        let a = Archive::new(&one[..]).unwrap();
        assert!(a
            .dictionary()
            .unwrap()
            .is_some_and(|d| d.len() == 256 << 10));
        assert!(pack(2) == one, "2 threads wrote other bytes");
    }

    #[test]
    fn archives_with_a_dictionary_are_identical_at_one_two_and_three_threads() {
        let articles = news(500, 11);
        let pack = |threads: usize| {
            let opts = WriterOptions::new()
                .level(19)
                .dictionary(DictionaryMode::On)
                .dict_size(128 << 10);
            pack_news(&articles, opts.threads(threads))
        };
        let one = pack(1);
        let a = Archive::new(&one[..]).unwrap();
        assert!(a.dictionary().unwrap().is_some_and(|d| d.len() > 64 << 10));
        for (i, body) in articles.iter().enumerate().step_by(37) {
            let e = a.get(&format!("news/{i:04}")).unwrap().unwrap();
            assert!(e.body().unwrap() == *body);
        }
        for threads in [2, 3] {
            assert!(pack(threads) == one, "{threads} threads wrote other bytes");
        }
    }
}
