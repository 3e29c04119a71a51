//! The full-text index (spec §15): `Archive::search` against a brute-force scan (every
//! document tokenized with the same analyzer, conjunctive match, phrases, the same integer
//! BM25 and order), stemming, HTML and binary entries, term lookups, and damage.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::ops::Range;
use std::sync::Mutex;

use quire::format::search::{norm_code, Bm25};
use quire::source::ByteSource;
use quire::text::{extract, Analyzer, ExtractOptions, QueryPart, Token};
use quire::{Archive, ArchiveWriter, IndexKind, NewEntry, ReadError, WriterOptions};

const WORDS: &[&str] = &[
    "the",
    "the",
    "the",
    "a",
    "cat",
    "cats",
    "run",
    "running",
    "runs",
    "ran",
    "garden",
    "dog",
    "dogs",
    "New",
    "York",
    "city",
    "Zürich",
    "zurich",
    "café",
    "rain",
    "sun",
    "river",
    "bank",
    "banks",
    "banking",
    "of",
    "in",
    "and",
    "北京大学",
    "东京",
    "green",
    "blue",
];

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn words(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| WORDS[self.below(WORDS.len())])
            .collect::<Vec<_>>()
            .join(" ")
    }
}

struct Doc {
    key: String,
    title: Option<String>,
    ctype: &'static str,
    body: Vec<u8>,
}

fn generate(seed: u64, n: usize) -> Vec<Doc> {
    let mut r = Rng(seed);
    let mut docs = Vec::new();
    for i in 0..n {
        let key = format!("doc/{i:04}");
        let tn = 1 + r.below(3);
        let title = (r.below(3) > 0).then(|| r.words(tn));
        let len = r.below(40);
        let (ctype, body) = match r.below(6) {
            0 => (
                "text/html",
                format!(
                    "<html><head><title>{}</title><script>var scriptword = 1;</script></head>\
                     <body><p>{}</p><div>{}</div></body></html>",
                    r.words(2),
                    r.words(len),
                    r.words(3)
                )
                .into_bytes(),
            ),
            1 if i % 7 == 0 => ("image/png", b"\x89PNG binaryword cat".to_vec()),
            _ => {
                // Terms in 12 to 20 documents each, whose lists lie in POSTINGS (not inline),
                // enough of them for several term pages.
                let spread: Vec<String> = (1..=24)
                    .map(|k| format!("t{}", (i * k + k * k) % 600))
                    .collect();
                let text = format!("{} {}", r.words(len), spread.join(" "));
                ("text/plain", text.into_bytes())
            }
        };
        docs.push(Doc {
            key,
            title,
            ctype,
            body,
        });
    }
    docs
}

fn pack(docs: &[Doc], language: Option<&str>, kind: IndexKind) -> Vec<u8> {
    let mut opts = WriterOptions::new().level(1).index(kind);
    if let Some(l) = language {
        opts = opts.metadata("language", l);
    }
    let mut w = ArchiveWriter::in_memory(opts).unwrap();
    for d in docs {
        let mut e = NewEntry::new(&d.key, &d.body).content_type(d.ctype);
        if let Some(t) = &d.title {
            e = e.title(t);
        }
        w.add(&e).unwrap();
    }
    w.finish_into_inner().unwrap().0.into_inner()
}

/// A document of the model: key, title field, title tokens, body tokens.
type ModelDoc = (String, Option<String>, Vec<Token>, Vec<Token>);

/// The model: each document's title tokens, body tokens, tf per term, length.
struct Model {
    analyzer: Analyzer,
    docs: Vec<ModelDoc>,
    tf: Vec<HashMap<String, u64>>,
    dl: Vec<u64>,
    df: HashMap<String, u64>,
}

fn model(docs: &[Doc], language: Option<&str>) -> Model {
    let analyzer = Analyzer::new(language);
    let mut sorted: Vec<&Doc> = docs.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    let mut m = Model {
        analyzer,
        docs: Vec::new(),
        tf: Vec::new(),
        dl: Vec::new(),
        df: HashMap::new(),
    };
    for d in sorted {
        let ex = extract(d.ctype, &d.body, &ExtractOptions::default());
        let title = d
            .title
            .clone()
            .or_else(|| ex.as_ref().and_then(|e| e.title.clone()))
            .filter(|t| !t.is_empty());
        let (tt, bt) = match &ex {
            Some(e) => (
                title
                    .as_deref()
                    .map(|t| m.analyzer.tokens(t))
                    .unwrap_or_default(),
                m.analyzer.tokens(&e.text),
            ),
            None => (Vec::new(), Vec::new()),
        };
        let mut tf: HashMap<String, u64> = HashMap::new();
        for t in &tt {
            *tf.entry(t.term.clone()).or_default() += 2;
        }
        for t in &bt {
            *tf.entry(t.term.clone()).or_default() += 1;
        }
        let dl = 2 * tt.len() as u64 + bt.len() as u64;
        for t in tf.keys() {
            *m.df.entry(t.clone()).or_default() += 1;
        }
        m.tf.push(tf);
        m.dl.push(dl);
        m.docs.push((d.key.clone(), title, tt, bt));
    }
    m
}

fn has_phrase(tokens: &[Token], phrase: &[quire::text::PhraseTerm]) -> bool {
    (0..tokens.len()).any(|i| {
        let p0 = tokens[i].position;
        phrase.iter().all(|p| {
            tokens
                .iter()
                .any(|t| t.position == p0 + p.offset && t.term == p.term)
        })
    })
}

/// The brute-force answer: (key, score), best first.
fn brute(m: &Model, query: &str, limit: usize) -> Vec<(String, u64)> {
    let parts = m.analyzer.analyze_query(query);
    let mut terms = Vec::new();
    let mut phrases = Vec::new();
    for p in parts {
        match p {
            QueryPart::Term(t) => terms.push(t),
            QueryPart::Phrase(p) => {
                terms.extend(p.iter().map(|t| t.term.clone()));
                phrases.push(p);
            }
        }
    }
    terms.sort();
    terms.dedup();
    if terms.is_empty() {
        return Vec::new();
    }
    let docs = m.dl.iter().filter(|&&d| d > 0).count() as u64;
    let bm = Bm25 {
        docs,
        tokens: m.dl.iter().sum(),
        k1: 1200,
        b: 750,
    };
    let mut out = Vec::new();
    for (i, tf) in m.tf.iter().enumerate() {
        if m.dl[i] == 0 || !terms.iter().all(|t| tf.contains_key(t)) {
            continue;
        }
        let (_, _, tt, bt) = &m.docs[i];
        if !phrases
            .iter()
            .all(|p| has_phrase(tt, p) || has_phrase(bt, p))
        {
            continue;
        }
        let norm = norm_code(m.dl[i]);
        let score: u64 = terms
            .iter()
            .map(|t| bm.idf(m.df[t]) * bm.tfn(tf[t], norm))
            .sum();
        out.push((m.docs[i].0.clone(), score));
    }
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out.truncate(limit);
    out
}

fn got(a: &Archive<Vec<u8>>, q: &str, limit: usize) -> Vec<(String, u64)> {
    a.search(q, limit)
        .unwrap()
        .into_iter()
        .map(|h| (h.key, h.score))
        .collect()
}

#[test]
fn search_equals_a_brute_force_scan() {
    for (seed, n, lang) in [(7u64, 400usize, Some("eng")), (11, 60, None)] {
        let docs = generate(seed, n);
        let a = Archive::new(pack(&docs, lang, IndexKind::Full)).unwrap();
        assert!(a.has_search_index());
        let report = a.verify();
        assert!(report.is_ok(), "{report}");
        let m = model(&docs, lang);
        let mut r = Rng(seed * 31 + 1);
        let mut queries: Vec<String> = vec![
            "the".into(),
            "cat".into(),
            "running cats".into(),
            "\"the cat\"".into(),
            "\"new york\" city".into(),
            "北京大学".into(),
            "the the".into(),
            "nothingsuch".into(),
            "".into(),
            "\"green blue\"".into(),
        ];
        for _ in 0..40 {
            let n = 1 + r.below(3);
            let mut q = r.words(n);
            if r.below(4) == 0 {
                q = format!("\"{q}\"");
            }
            queries.push(q);
        }
        for q in &queries {
            for limit in [1, 10, 10_000] {
                assert_eq!(
                    got(&a, q, limit),
                    brute(&m, q, limit),
                    "seed {seed} {q:?} {limit}"
                );
            }
        }
        // Term lookups agree with the model's postings.
        for term in ["the", "cat", "run", "北京", "zurich", "t5", "t123", "t599"] {
            let want: Vec<(u64, u32)> =
                m.tf.iter()
                    .enumerate()
                    .filter(|(i, _)| m.dl[*i] > 0)
                    .filter_map(|(i, tf)| tf.get(term).map(|&t| (i as u64, t as u32)))
                    .collect();
            let have = a.search_postings(term).unwrap().unwrap_or_default();
            assert_eq!(have, want, "{term}");
        }
    }
}

#[test]
fn stemming_html_binary_and_snippets() {
    let docs = vec![
        Doc {
            key: "a".into(),
            title: Some("Run".into()),
            ctype: "text/plain",
            body: b"She was running to the river bank.".to_vec(),
        },
        Doc {
            key: "b".into(),
            title: None,
            ctype: "text/html; charset=utf-8",
            body: b"<html><head><title>Page</title><style>.hidden{}</style></head><body>\
                    <script>secretword()</script><p>Plain <b>words</b> here</p></body></html>"
                .to_vec(),
        },
        Doc {
            key: "c".into(),
            title: Some("Image".into()),
            ctype: "image/png",
            body: b"\x89PNG uniqueword".to_vec(),
        },
    ];
    let a = Archive::new(pack(&docs, Some("eng"), IndexKind::Full)).unwrap();
    assert_eq!(
        a.search_tokenizer().unwrap(),
        "quire-text/1 lang=eng stem=snowball-english cjk=bigram"
    );
    let hits = a.search("runs", 10).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].key, "a");
    assert_eq!(hits[0].title.as_deref(), Some("Run"));
    assert_eq!(
        hits[0].snippet.to_html(),
        "She was <b>running</b> to the river bank."
    );
    assert!(a.search("secretword", 10).unwrap().is_empty());
    assert!(a.search("hidden", 10).unwrap().is_empty());
    assert!(a.search("uniqueword", 10).unwrap().is_empty());
    assert!(a.search("image", 10).unwrap().is_empty());
    let hits = a.search("words", 10).unwrap();
    assert_eq!(hits[0].key, "b");
    assert_eq!(hits[0].title.as_deref(), Some("Page"));
    assert_eq!(hits[0].snippet.to_html(), "Plain <b>words</b> here");
    assert_eq!(a.search("\"river bank\"", 10).unwrap().len(), 1);
    assert!(a.search("\"bank river\"", 10).unwrap().is_empty());
    // Without a language: no stemming.
    let plain = Archive::new(pack(&docs, None, IndexKind::Full)).unwrap();
    assert!(plain.search("runs", 10).unwrap().is_empty());
    assert_eq!(plain.search("running", 10).unwrap().len(), 1);
    // Limits of the query.
    let long = "word ".repeat(1000);
    assert_eq!(a.search(&long, 10).unwrap_err().code(), "invalid_query");
    let many: String = (0..70).map(|i| format!("w{i} ")).collect();
    assert_eq!(a.search(&many, 10).unwrap_err().code(), "invalid_query");
}

#[test]
fn archives_without_the_index() {
    let docs = generate(3, 10);
    for kind in [IndexKind::Titles, IndexKind::None] {
        let a = Archive::new(pack(&docs, None, kind)).unwrap();
        assert!(!a.has_search_index());
        assert!(matches!(a.search("cat", 10), Err(ReadError::NoSearchIndex)));
    }
    let a = Archive::new(pack(&[], None, IndexKind::Full)).unwrap();
    assert!(a.search("cat", 10).unwrap().is_empty());
}

#[test]
fn byte_flips_in_the_search_index_give_damage_not_panics() {
    let docs = generate(5, 300);
    let bytes = pack(&docs, Some("eng"), IndexKind::Full);
    let a = Archive::new(bytes.clone()).unwrap();
    let s = a
        .sections()
        .iter()
        .find(|r| r.id == quire::format::search::SECTION_ID)
        .copied()
        .unwrap();
    let mut r = Rng(99);
    let mut errors = BTreeMap::new();
    for round in 0..300 {
        let mut b = bytes.clone();
        for _ in 0..1 + r.below(3) {
            let at = s.offset as usize + r.below(s.length as usize);
            b[at] ^= 1 << r.below(8);
        }
        let a = Archive::new(b).unwrap();
        for q in ["the", "cat dog", "\"the cat\"", "zurich", "banking"] {
            match a.search(q, 10) {
                Ok(_) => {}
                Err(e) => {
                    assert_eq!(e.code(), "damaged_search_index", "{e}");
                    *errors.entry(e.code()).or_insert(0) += 1;
                }
            }
        }
        let _ = a.search_postings("the");
        // Entries still read.
        assert!(a.get("doc/0001").unwrap().is_some());
        // Full verification finds every flip (the section's CRC at least), as search damage.
        if round % 6 != 0 {
            continue;
        }
        let report = a.verify();
        assert!(!report.is_ok());
        for p in &report.problems {
            assert_eq!(
                quire::error::damage_code(p.at, p.kind),
                "damaged_search_index"
            );
        }
    }
    assert!(!errors.is_empty());
}

/// Bytes in memory that say they are remote (as a URL is) and count what is asked of them.
struct Remote {
    bytes: Vec<u8>,
    reads: Mutex<u64>,
}

impl ByteSource for Remote {
    fn size(&self) -> u64 {
        self.bytes.len() as u64
    }
    fn read_at(&self, offset: u64, len: usize) -> io::Result<Cow<'_, [u8]>> {
        *self.reads.lock().unwrap() += 1;
        self.bytes.read_at(offset, len)
    }
    fn prefetch(&self, _ranges: &[Range<u64>]) {}
    fn is_remote(&self) -> bool {
        true
    }
}

#[test]
fn a_remote_source_gives_the_same_results() {
    let docs = generate(13, 200);
    let bytes = pack(&docs, Some("eng"), IndexKind::Full);
    let local = Archive::new(bytes.clone()).unwrap();
    let remote = Archive::new(Remote {
        bytes,
        reads: Mutex::new(0),
    })
    .unwrap();
    for q in ["the", "cat dog", "\"new york\"", "北京大学", "banking"] {
        assert_eq!(
            remote.search(q, 10).unwrap(),
            local.search(q, 10).unwrap(),
            "{q}"
        );
    }
    assert!(*remote.source().reads.lock().unwrap() > 0);
}

/// What a [`Recorder`] was asked, in order.
#[derive(Debug, Clone)]
enum Ask {
    Read(Range<u64>),
    Prefetch(Vec<Range<u64>>),
}

/// Bytes in memory that say they are remote and record every range asked of them, as
/// reads and as prefetches (what a remote source starts fetching at once).
struct Recorder {
    bytes: Vec<u8>,
    asks: Mutex<Vec<Ask>>,
}

impl ByteSource for Recorder {
    fn size(&self) -> u64 {
        self.bytes.len() as u64
    }
    fn read_at(&self, offset: u64, len: usize) -> io::Result<Cow<'_, [u8]>> {
        let r = offset..offset + len as u64;
        self.asks.lock().unwrap().push(Ask::Read(r));
        self.bytes.read_at(offset, len)
    }
    fn prefetch(&self, ranges: &[Range<u64>]) {
        let ask = Ask::Prefetch(ranges.to_vec());
        self.asks.lock().unwrap().push(ask);
    }
    fn is_remote(&self) -> bool {
        true
    }
}

impl Recorder {
    /// The round trips of what was asked since the last call, as benches/common.rs
    /// `RoundTrips` counts them over HTTP: a prefetch call that asks for any range no earlier
    /// ask covers is one (its ranges are fetched in parallel), and so is a read that no
    /// earlier ask covers; the first 16 KiB are held from open, as a remote source holds
    /// them. Each step: the ranges it fetched.
    fn steps(&self, fetched: &mut Vec<Range<u64>>) -> Vec<Vec<Range<u64>>> {
        let asks = std::mem::take(&mut *self.asks.lock().unwrap());
        let mut steps = Vec::new();
        let covered = |f: &Vec<Range<u64>>, r: &Range<u64>| {
            r.end <= 16384 || f.iter().any(|s| s.start <= r.start && r.end <= s.end)
        };
        for a in asks {
            let rs = match a {
                Ask::Read(r) => vec![r],
                Ask::Prefetch(rs) => rs,
            };
            let new: Vec<Range<u64>> = rs.into_iter().filter(|r| !covered(fetched, r)).collect();
            if !new.is_empty() {
                fetched.extend(new.iter().cloned());
                steps.push(new);
            }
        }
        steps
    }
}

/// Entries with a dictionary, a key index of at least 2 levels under its root (small pages),
/// and two rare words: `zyzzyva` in 4 documents (an inline list), `quokka` in 50 (a list in
/// POSTINGS). `pad`: bytes added to every key, to make the key index larger (its nodes then
/// stored raw: the padded keys would pack, §6.5, and the point is an index over 256 KiB).
fn rare_word_archive(pad: usize) -> Vec<u8> {
    let mut r = Rng(23);
    let opts = WriterOptions::new()
        .pack_nodes(pad == 0)
        .level(1)
        .index(IndexKind::Full)
        .metadata("language", "eng")
        .page_size(48)
        .block_size(4096)
        .dictionary(quire::DictionaryMode::On)
        .dict_size(16 << 10);
    let mut w = ArchiveWriter::in_memory(opts).unwrap();
    let tail = "x".repeat(pad);
    for i in 0..3000 {
        let n = 20 + r.below(60);
        let mut text = r.words(n);
        if i % 750 == 11 {
            text.push_str(" zyzzyva");
        }
        if i % 60 == 7 {
            text.push_str(" a quokka");
        }
        let key = format!("doc/{i:05}/{tail}");
        let title = format!("Doc {i}");
        let e = NewEntry::new(&key, text.as_bytes()).title(&title);
        w.add(&e).unwrap();
    }
    w.finish_into_inner().unwrap().0.into_inner()
}

/// An archive whose full-text index is over 1 MiB (not fetched whole by the first search)
/// and whose key index is over 256 KiB: 6,000 documents of 48 words of their own each, a
/// rare word in 1 of 60 (a one-block list), two common words in every other one.
fn large_index_archive() -> Vec<u8> {
    let opts = WriterOptions::new()
        .level(1)
        .index(IndexKind::Full)
        .metadata("language", "eng")
        .block_size(4096)
        .dictionary(quire::DictionaryMode::On)
        .dict_size(16 << 10);
    let mut w = ArchiveWriter::in_memory(opts).unwrap();
    let tail = "x".repeat(120);
    for i in 0..6000 {
        // Words that share few leading bytes (a hash's hex digits), so the term pages take
        // room.
        let mut text: String = (0..48u64)
            .map(|j| {
                let h = (i as u64 * 64 + j + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                format!("q{:x} ", h >> 24)
            })
            .collect();
        if i % 60 == 8 {
            text.push_str("a quokka ");
        }
        if i % 2 == 0 {
            text.push_str("red green");
        }
        let key = format!("doc/{i:05}/{tail}");
        w.add(&NewEntry::new(&key, text.as_bytes()).title(&format!("Doc {i}")))
            .unwrap();
    }
    w.finish_into_inner().unwrap().0.into_inner()
}

#[test]
fn a_large_index_over_a_network_fetches_lists_with_their_pages_and_together() {
    let bytes = large_index_archive();
    let local = Archive::new(bytes.clone()).unwrap();
    let len = |id: u32| local.sections().iter().find(|s| s.id == id).unwrap().length;
    let (search, index) = (
        len(quire::format::search::SECTION_ID),
        len(quire::format::SectionId::Index as u32),
    );
    assert!(search > 1 << 20, "full-text index: {search} bytes");
    assert!(index > 256 << 10, "key index: {index} bytes");
    // The rare word: the header and root (with the dictionary and the key index's upper
    // level), the term page with its lists and the norms, the document pages with the index
    // pages, the blocks. Two common words: their lists (heads) come together, one step.
    for (query, most) in [("quokka", 4), ("red green", 5), ("green quokka", 5)] {
        let want = local.search(query, 10).unwrap();
        assert_eq!(want.len(), 10, "{query}");
        let remote = Archive::new(Recorder {
            bytes: bytes.clone(),
            asks: Mutex::new(Vec::new()),
        })
        .unwrap();
        let mut fetched = Vec::new();
        remote.source().steps(&mut fetched);
        assert_eq!(remote.search(query, 10).unwrap(), want, "{query}");
        let steps = remote.source().steps(&mut fetched);
        assert!(
            steps.len() <= most,
            "{query}: {} steps after open: {steps:?}",
            steps.len()
        );
    }
}

#[test]
fn a_rare_word_with_snippets_over_a_network_takes_few_round_trips() {
    // A key index fetched whole with the search's header (small), and one whose upper level
    // is (over 256 KiB).
    for (pad, big) in [(0, false), (200, true)] {
        let bytes = rare_word_archive(pad);
        let local = Archive::new(bytes.clone()).unwrap();
        let depth = local.header().index_depth;
        assert!(depth >= 2, "a level below the root's: depth {depth}");
        assert!(local.dictionary_len() > 0);
        let index = local
            .sections()
            .iter()
            .find(|s| s.id == quire::format::SectionId::Index as u32)
            .unwrap()
            .length;
        assert_eq!(index > 256 << 10, big, "key index: {index} bytes");
        for (word, df) in [("zyzzyva", 4), ("quokka", 50)] {
            let want = local.search(word, 10).unwrap();
            assert_eq!(want.len(), df.min(10), "{word}");
            assert!(want.iter().all(|h| h.snippet.marks.len() == 1), "{word}");
            let remote = Archive::new(Recorder {
                bytes: bytes.clone(),
                asks: Mutex::new(Vec::new()),
            })
            .unwrap();
            let mut fetched = Vec::new();
            let opened = remote.source().steps(&mut fetched);
            assert!(opened.len() <= 1, "open: {opened:?}");
            assert_eq!(remote.search(word, 10).unwrap(), want, "{word}");
            let steps = remote.source().steps(&mut fetched);
            // The header and root (with the dictionary and the key index, or its upper
            // level), [the term page and norms, the list: here within the section's first
            // read], the document pages with the index pages not in hand, the blocks.
            let most = if big { 3 } else { 2 };
            assert!(
                steps.len() <= most,
                "{word}, key index of {index} bytes: {} steps: {steps:?}",
                steps.len()
            );
            // Warm: the index, nodes and dictionary are in hand; the blocks are cached.
            assert_eq!(remote.search(word, 10).unwrap(), want);
            assert_eq!(remote.source().steps(&mut fetched), Vec::<Vec<_>>::new());
        }
    }
}
