//! `WriterOptions::remote()` keeps its promise (issue 26): on a news-shaped archive, what a
//! remote reader fetches for its first article after open — the first 16 KiB of the file
//! (the prelude), the stored dictionary, an index page and the entry's block — is at most
//! 256 KiB, however large the largest page and the largest block are. Measured from the
//! archive's own layout through a source that records every range read; no server (the CLI's
//! `remote` test checks the same against nginx's log).

use std::ops::Range;

use quire::format::{SectionId, MAX_PRELUDE_LEN};
use quire::source::Recording;
use quire::{Archive, ArchiveWriter, NewEntry, Summary, WriterOptions};

const KIB: u64 = 1024;
/// What a first remote article may cost.
const BOUND: u64 = 256 * KIB;

/// splitmix64: the same text on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// News-shaped articles: keys `YYYY/MM/DD/slug-N`, titles, bodies of 1–8 KB of sentences of
/// words from a 4,000-word vocabulary drawn roughly Zipf-like (so that a sampled dictionary
/// stores at about a quarter of its size, as news text does).
fn articles(n: usize, seed: u64) -> Vec<(String, String, Vec<u8>)> {
    const SYL: [&str; 40] = [
        "ka", "to", "ren", "mi", "sa", "lo", "ver", "an", "de", "is", "tor", "ul", "pre", "con",
        "ma", "ti", "on", "es", "ar", "ne", "li", "gra", "sto", "pe", "ba", "ri", "ch", "el", "fo",
        "un", "ber", "mo", "qui", "na", "st", "vi", "po", "ly", "te", "dor",
    ];
    let mut rng = Rng(seed);
    let vocab: Vec<String> = (0..4000)
        .map(|i| {
            let n = 1 + (i / 400).min(3) as u64 + rng.below(2);
            (0..n).map(|_| SYL[rng.below(40) as usize]).collect()
        })
        .collect();
    let word = |rng: &mut Rng| {
        let a = rng.below(1 << 20) as f64 / (1 << 20) as f64;
        let b = rng.below(1 << 20) as f64 / (1 << 20) as f64;
        vocab[((a * a * b) * vocab.len() as f64) as usize].clone()
    };
    (0..n)
        .map(|i| {
            let key = format!(
                "{:04}/{:02}/{:02}/{}-{}-{i}",
                2000 + i % 10,
                1 + (i / 10) % 12,
                1 + (i / 120) % 28,
                word(&mut rng),
                word(&mut rng)
            );
            let title: Vec<String> = (0..4 + rng.below(6)).map(|_| word(&mut rng)).collect();
            let want = 1000 + rng.below(7000) as usize;
            let mut body = String::with_capacity(want + 200);
            while body.len() < want {
                for _ in 0..6 + rng.below(14) {
                    body.push_str(&word(&mut rng));
                    body.push(' ');
                }
                body.push_str(".\n");
            }
            body.truncate(want);
            (key, title.join(" "), body.into_bytes())
        })
        .collect()
}

fn pack(arts: &[(String, String, Vec<u8>)], opts: WriterOptions) -> (Vec<u8>, Summary) {
    let mut w = ArchiveWriter::in_memory(opts.created(1_700_000_000)).unwrap();
    for (key, title, body) in arts {
        w.add(&NewEntry::new(key, body).title(title)).unwrap();
    }
    let (cursor, summary) = w.finish_into_inner().unwrap();
    (cursor.into_inner(), summary)
}

fn section(a: &Archive<Recording<&[u8]>>, id: SectionId) -> Range<u64> {
    let s = a.sections().iter().find(|s| s.id == id as u32).unwrap();
    s.offset..s.offset + s.length
}

#[test]
fn a_remote_preset_archive_s_first_article_fits_256_kib() {
    let arts = articles(1000, 26);
    let (bytes, summary) = pack(&arts, WriterOptions::remote().threads(2));
    let stored = summary.stored_dict_len;
    // A dictionary, fitted: the largest candidate (a quarter of the text, 1.1 MB) stores at
    // over 160 KiB on this text, so the writer picked a smaller one.
    assert!(stored > 0, "no dictionary");
    assert!(stored <= 160 * KIB, "stored dictionary {stored} B");
    assert!(
        summary.dict_len >= 2 * stored,
        "dictionary {} B for {stored} B stored",
        summary.dict_len
    );

    // Every page and every block, as a reader reads them: all keys through one reader, each
    // range classified by the section it lies in.
    let a = Archive::new(Recording::new(bytes.as_slice())).unwrap();
    assert_eq!(a.dictionary_len(), stored);
    let (index, data) = (section(&a, SectionId::Index), section(&a, SectionId::Data));
    let (mut page, mut block, mut blocks) = (0u64, 0u64, 0usize);
    for (key, _, body) in &arts {
        a.source().clear();
        let got = a.get(key).unwrap().expect("present").body().unwrap();
        assert!(got == *body, "{key}: other bytes");
        for r in a.source().ranges() {
            if index.start <= r.start && r.end <= index.end {
                page = page.max(r.end - r.start);
            } else if data.start <= r.start && r.end <= data.end {
                block = block.max(r.end - r.start);
                blocks += 1;
            }
        }
    }
    assert_eq!(
        blocks as u64,
        a.block_count(),
        "every block read once (cached after)"
    );
    let first = MAX_PRELUDE_LEN as u64 + stored + page + block;
    println!(
        "remote preset: {} B archive, dictionary {} B ({stored} B stored), largest page {page} B, \
         largest block {block} B: a first article at most {first} B",
        bytes.len(),
        summary.dict_len
    );
    assert!(page > 0 && block > 0);
    assert!(
        first <= BOUND,
        "prelude {MAX_PRELUDE_LEN} + dictionary {stored} + page {page} + block {block} = {first} B > 256 KiB"
    );
}

#[test]
fn the_stored_dictionary_is_fitted_under_its_bound_or_left_out() {
    // Level 3 keeps it quick in a debug build: the frames are what is bounded.
    let arts = articles(400, 7);
    let opts = || WriterOptions::new().level(3).dict_size(1 << 20).threads(2);
    let (_, free) = pack(&arts, opts());
    assert!(free.stored_dict_len > 0);
    // A bound under the free frame: a smaller dictionary whose frame fits.
    let max = free.stored_dict_len * 2 / 3;
    let (bytes, fitted) = pack(&arts, opts().dict_stored_max(max as usize));
    assert!(
        fitted.stored_dict_len > 0 && fitted.stored_dict_len <= max,
        "{} B stored for a bound of {max} (free: {})",
        fitted.stored_dict_len,
        free.stored_dict_len
    );
    assert!(fitted.dict_len < free.dict_len);
    // The archive reads back with it.
    let a = Archive::new(bytes.as_slice()).unwrap();
    assert_eq!(a.dictionary_len(), fitted.stored_dict_len);
    for (key, _, body) in arts.iter().step_by(37) {
        assert!(a.get(key).unwrap().unwrap().body().unwrap() == *body);
    }
    // The smallest bound: a dictionary of a few hundred bytes, or none.
    let (_, tiny) = pack(&arts, opts().dict_stored_max(256));
    assert!(tiny.stored_dict_len <= 256, "{tiny:?}");
    assert_eq!(tiny.stored_dict_len == 0, tiny.dict_len == 0);
}
