//! The full-text index vectors in `spec/vectors/search/` (spec §15, §15.12): archives with a
//! full-text index that a reader must accept, each with every term's postings and the results
//! it must give for a list of queries, and files whose full-text index a reader must reject
//! with `damaged_search_index`.
//!
//! - `search/NAME.quire` reads back to exactly `search/NAME.jsonl` (§9), passes full
//!   verification, and is made byte for byte by today's writer;
//! - `search/NAME.terms.json` holds the index's figures, every document's norm code and every
//!   term with its `df`, where its list lies (`inline`, `block` or `head`) and its postings
//!   `[doc, tf]`: checked against the reader's term lookups, against the section decoded here
//!   and against a brute-force analysis (§15.1) of every entry;
//! - `search/NAME.queries.json` lists queries (`q`, `limit`), their analysis (`terms`: the
//!   distinct terms; `phrases`: each a list of `[term, offset]`) and their results in order
//!   (`[key, title or null, score]`); each is checked against the reader and against a brute
//!   force reading of §15.2 (every entry analysed, matched, scored and sorted here);
//! - `search/reject/NAME.quire`, listed in `search/reject/expected.json` with its code, the
//!   query that shows it (`when: "search"`) or `when: "verification"` (only full
//!   verification, §11, finds it), and what it is; each made from an accepted vector by one
//!   edit of its SEARCH section, every CRC that would give it away first recomputed. Each
//!   opens and every entry reads; the library and the CLI (`quire search`, `quire verify`)
//!   refuse it as stated.
//!
//! Regenerate after an intended change with `QUIRE_BLESS=1 cargo test -p quire-cli --test
//! integration search_vectors::`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use quire::format::header::{encode_prelude, prelude_len, Prelude, SectionRecord};
use quire::format::search::{
    self as fsearch, decode_block, decode_docs, decode_head, decode_terms, encode_docs,
    encode_terms, norm_code, put_head_entry, put_postings, unstore, BlockEntry, Bm25, Head,
    Postings, Root, TermRecord, MAX_PAGE_RAW, MAX_ROOT_RAW,
};
use quire::format::{self, titles, Header, SectionId};
use quire::text::{extract, Analyzer, ExtractOptions, QueryPart, Token};
use quire::{Archive, ArchiveWriter, DictionaryMode, NewEntry, WriterOptions};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors/search")
}

fn bless() -> bool {
    std::env::var_os("QUIRE_BLESS").is_some()
}

fn opts(language: Option<&str>, block_size: u32) -> WriterOptions {
    let mut o = WriterOptions::new()
        .index(quire::IndexKind::Full)
        .level(3)
        .dedup(false)
        .block_size(block_size)
        .dictionary(DictionaryMode::Off)
        .threads(1)
        .created(1_000_000_000)
        .metadata("title", "quire search vector")
        .metadata("source", "spec/vectors/search")
        .metadata("tool", "quire test vectors");
    if let Some(l) = language {
        o = o.metadata("language", l);
    }
    o
}

/// The accepted archives.
const NAMES: [&str; 6] = [
    "english", "large", "french", "chinese", "unspaced", "notext",
];

/// An entry: key, title, content type, body.
type Entry = (String, Option<String>, String, Vec<u8>);

fn e(key: &str, title: Option<&str>, ctype: &str, body: &[u8]) -> Entry {
    (
        key.to_string(),
        title.map(str::to_string),
        ctype.to_string(),
        body.to_vec(),
    )
}

/// `english` (`language eng`): stemming, an HTML page (its `<title>` as the title field,
/// `script`, `style` and `noscript` left out), a binary entry with a title (not indexed), an
/// entry without a title, one indexed by its title alone, a windows-1252 body, entries with
/// no text (not indexed), four equal entries whose scores tie, a long document (its norm
/// code's length is not its own).
fn english() -> Vec<Entry> {
    let tie = b"Bread, bread and more bread.";
    // 458 tokens (title included): norm code 92, whose length (448) is not the document's.
    let long = format!(
        "Apple orchards. {} The end of the long read.",
        (0..74)
            .map(|i| format!("Row {i} of trees gives fruit."))
            .collect::<Vec<_>>()
            .join(" ")
    );
    vec![
        e("a/apple", Some("Apple pie"), "text/plain",
          b"Apple pie is baked with apples, sugar and butter. Bakers bake apple pies every morning."),
        e("b/bakery", Some("The bakery"), "text/plain; charset=utf-8",
          b"A bakery sells bread and pies. The baker is running late; she runs to the bakery."),
        e("c/html", None, "text/html",
          b"<!DOCTYPE html><html><head><title>Z\xc3\xbcrich  baking guide</title><style>.pie { color: red }</style>\
<script>var secretword = \"apple\";</script></head><body><h1>Baking in Z\xc3\xbcrich</h1>\
<p>Bread &amp; butter, <b>fresh</b> every day.</p><noscript>hiddenword</noscript>\
<!-- commentword --><p title=\"attributeword\">Pie</p></body></html>"),
        e("d/image", Some("Apple picture"), "image/png", b"\x89PNG\r\n\x1a\napple pie bakery bread"),
        e("e/untitled", None, "text/plain",
          b"Running and jumping: the quick brown fox jumps over the lazy dog."),
        e("f/title-only", Some("Butter and sugar"), "text/plain", b""),
        e("g/latin1", Some("Caf\u{e9}"), "text/plain; charset=iso-8859-1",
          b"Caf\xe9 cr\xe8me br\xfbl\xe9e, \x93quoted\x94 in windows-1252."),
        e("h/tie-1", Some("Loaf"), "text/plain", tie),
        e("h/tie-2", Some("Loaf"), "text/plain", tie),
        e("h/tie-3", Some("Loaf"), "text/plain", tie),
        e("h/tie-4", Some("Loaf"), "text/plain", tie),
        e("i/quotes", Some("Pie quotes"), "text/markdown",
          b"He said the pie apple was fine, but apple pie is better; a pie of apples is best."),
        e("j/long-word", None, "text/plain",
          format!("short {} words around a word of 70 letters", "x".repeat(70)).as_bytes()),
        e("k/empty", None, "text/plain", b""),
        e("l/punctuation", None, "text/plain", b"!!! ... ??? --- ***"),
        e("m/json", Some("Data"), "application/json", b"{\"fruit\": \"apple\", \"count\": 3}"),
        e("n/empty-title", Some(""), "text/html",
          b"<title>Headline words</title><p>An empty entry title</p>"),
        e("o/titled-html", Some("Own title"), "text/html; charset=UTF-8",
          b"<html><head><title>Ignored headline</title></head><body>Body of a titled page</body></html>"),
        e("p/long", Some("A long read"), "text/plain", long.as_bytes()),
    ]
}

/// `french` (`language fr`, ISO 639-1): elision (`l'`, `qu'`, `jusqu'`, `d'`) and French
/// stemming, accents folded after it.
fn french() -> Vec<Entry> {
    vec![
        e(
            "fr/1",
            Some("L\u{2019}arbre de Noël"),
            "text/plain",
            "L'arbre est décoré. Les arbres sont grands ; l'enfant regarde l'étoile.".as_bytes(),
        ),
        e(
            "fr/2",
            Some("Qu'est-ce que c'est ?"),
            "text/html",
            "<p>Jusqu'à demain, lorsqu'il viendra. C'est l'heure d'été.</p>".as_bytes(),
        ),
        e(
            "fr/3",
            None,
            "text/plain",
            "Aujourd'hui l'été est chaud, d'accord.".as_bytes(),
        ),
    ]
}

/// `chinese` (`language zho`): jieba words, Chinese beside English.
fn chinese() -> Vec<Entry> {
    vec![
        e(
            "zh/1",
            Some("北京大学"),
            "text/plain",
            "我来到北京清华大学。北京是中国的首都。".as_bytes(),
        ),
        e(
            "zh/2",
            Some("上海"),
            "text/html",
            "<p>上海是一个城市。</p><p>Shanghai is a city.</p>".as_bytes(),
        ),
        e("zh/3", None, "text/plain", "清华大学在北京。".as_bytes()),
        e(
            "zh/4",
            Some("中文"),
            "text/plain",
            "我们学习中文。Running cities.".as_bytes(),
        ),
        e(
            "zh/5",
            Some("首都"),
            "text/plain",
            "北京是首都，上海是城市。".as_bytes(),
        ),
    ]
}

/// `unspaced` (no language): CJK and Thai in bigrams, no stemming.
fn unspaced() -> Vec<Entry> {
    vec![
        e(
            "ja/1",
            Some("東京タワー"),
            "text/plain",
            "東京タワーは東京都港区にある電波塔です。".as_bytes(),
        ),
        e(
            "ja/2",
            Some("京都"),
            "text/plain",
            "京都は日本の古都です。東京から新幹線で行きます。".as_bytes(),
        ),
        e("ja/3", None, "text/plain", "ﾄｳｷｮｳ タワー".as_bytes()),
        e(
            "th/1",
            Some("ภาษาไทย"),
            "text/plain",
            "ภาษาไทยเป็นภาษาราชการของประเทศไทย".as_bytes(),
        ),
        e(
            "th/2",
            None,
            "text/plain",
            "กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย".as_bytes(),
        ),
        e(
            "x/running",
            Some("Running"),
            "text/plain",
            b"running runs ran",
        ),
    ]
}

/// `notext`: no entry gives a token, so an index with no terms (`D = T = 0`).
fn notext() -> Vec<Entry> {
    vec![
        e("bin/1", Some("Picture"), "image/png", b"\x89PNG apple"),
        e("bin/2", Some("Font"), "font/woff2", b"wOF2 pie"),
        e("empty", None, "text/plain", b""),
    ]
}

/// Words of the `large` archive's bodies.
const SYLLABLES: [&str; 8] = ["ka", "lo", "mi", "ne", "ru", "so", "ti", "va"];

/// `large` (`language eng`): 300 entries, so that `market` (in every one) and `river` (in
/// two of three) have heads and several blocks, lists of `df ≤ 128` lie in POSTINGS as one
/// block, and there are several term pages and document pages.
fn large() -> Vec<Entry> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let word = |n: u64| -> String {
        (0..3)
            .map(|k| SYLLABLES[((n >> (3 * k)) & 7) as usize])
            .collect()
    };
    (0..300u64)
        .map(|i| {
            let mut words: Vec<String> = Vec::new();
            for _ in 0..=(i % 5) {
                words.push("market".into());
            }
            if i % 3 != 0 {
                words.push("river".into());
            }
            if i % 2 == 0 {
                words.push("bridge".into());
            }
            if i % 9 == 0 {
                words.push("tower".into());
            }
            if i % 40 == 0 {
                words.push("harbour".into());
            }
            let extra = 2 + next() % 12;
            for _ in 0..extra {
                words.push(word(next() % 512));
            }
            words.push(format!("u{i}"));
            // Reorder deterministically.
            let n = words.len();
            for k in (1..n).rev() {
                let j = (next() % (k as u64 + 1)) as usize;
                words.swap(k, j);
            }
            let body = words.join(" ") + ".";
            let title = (i % 7 != 3).then(|| format!("Report {i} {}", word(i * 37 % 512)));
            e(
                &format!("doc/{i:04}"),
                title.as_deref(),
                "text/plain",
                body.as_bytes(),
            )
        })
        .collect()
}

fn entries(name: &str) -> Vec<Entry> {
    match name {
        "english" => english(),
        "large" => large(),
        "chinese" => chinese(),
        "french" => french(),
        "unspaced" => unspaced(),
        "notext" => notext(),
        _ => panic!("no vector {name}"),
    }
}

fn language(name: &str) -> Option<&'static str> {
    match name {
        "english" | "large" => Some("eng"),
        "chinese" => Some("zho"),
        "french" => Some("fr"),
        _ => None,
    }
}

fn build(name: &str) -> Vec<u8> {
    let block = if name == "large" { 16 << 10 } else { 512 };
    let mut w = ArchiveWriter::in_memory(opts(language(name), block)).unwrap();
    for (k, t, ct, body) in entries(name) {
        let mut e = NewEntry::new(&k, &body).content_type(&ct);
        if let Some(t) = &t {
            e = e.title(t);
        }
        w.add(&e).unwrap();
    }
    w.finish_into_inner().unwrap().0.into_inner()
}

/// The queries of each accepted vector: (text, limit).
fn queries(name: &str) -> Vec<(&'static str, usize)> {
    match name {
        "english" => vec![
            ("apple", 10),
            ("Apples", 10),
            ("baking", 10),
            ("apple pie", 10),
            ("apple pie butter", 10),
            ("\"apple pie\"", 10),
            ("\"pie apple\"", 10),
            ("“pie of apples”", 10),
            ("\"apple pie", 10),
            ("bread", 10),
            ("bread", 2),
            ("bread loaf", 3),
            ("butter", 10),
            ("sugar", 10),
            ("ZURICH", 10),
            ("zürich guide", 10),
            ("secretword", 10),
            ("hiddenword", 10),
            ("commentword", 10),
            ("attributeword", 10),
            ("picture", 10),
            ("café crème", 10),
            ("brulee", 10),
            ("brûlée", 10),
            ("running", 10),
            ("\"quick brown\" fox", 10),
            ("\"brown quick\" fox", 10),
            (
                "\"short xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx words\"",
                10,
            ),
            ("\"short words\"", 10),
            ("apple missingword", 10),
            ("the", 10),
            ("the", 1),
            ("fruit", 10),
            ("headline", 10),
            ("long read", 10),
            ("apple fruit", 10),
            ("empty entry", 10),
            ("own titled page", 10),
            ("", 10),
            ("!!!", 10),
        ],
        "large" => vec![
            ("market", 10),
            ("market", 3),
            ("river", 5),
            ("market river", 10),
            ("market river bridge", 10),
            ("tower", 4),
            ("tower harbour", 10),
            ("harbour", 10),
            ("u17", 10),
            ("u17 market", 10),
            ("report", 5),
            ("report 18", 10),
            ("\"market market\"", 5),
            ("\"market river\"", 5),
            ("kakaka", 10),
            ("vavava lolo", 10),
            ("nowhere", 10),
        ],
        "french" => vec![
            ("arbre", 10),
            ("l'arbre", 10),
            ("L’ARBRE", 10),
            ("arbres", 10),
            ("étoile", 10),
            ("été", 10),
            ("ete", 10),
            ("\"l'arbre est\"", 10),
            ("\"arbre est\"", 10),
            ("aujourd'hui", 10),
            ("accord", 10),
            ("noel", 10),
            ("demain", 10),
        ],
        "chinese" => vec![
            ("北京", 10),
            ("清华大学", 10),
            ("北京 首都", 10),
            ("\"来到北京\"", 10),
            ("上海 城市", 10),
            ("city", 10),
            ("cities", 10),
            ("大学", 10),
            ("不存在", 10),
        ],
        "unspaced" => vec![
            ("東京", 10),
            ("東京タワー", 10),
            ("トウキョウ", 10),
            ("京都", 10),
            ("京", 10),
            ("ประเทศไทย", 10),
            ("ภาษา", 10),
            ("running", 10),
            ("run", 10),
        ],
        _ => vec![("apple", 10), ("picture", 10)],
    }
}

fn expected_jsonl(bytes: &[u8]) -> String {
    let archive = Archive::new(bytes).unwrap();
    let mut out = Vec::new();
    quire_cli::unpack::unpack_jsonl(&archive, &mut out, &mut |_| {}).unwrap();
    String::from_utf8(out).unwrap()
}

// ---------------------------------------------------------------------------------------
// Brute force: §15.1 and §15.2 read directly.

/// A document's fields analysed (title tokens, body tokens), `None` when its type has no
/// text.
struct Doc {
    key: String,
    title: Option<String>,
    title_tokens: Vec<Token>,
    body_tokens: Vec<Token>,
    indexed: bool,
}

fn analyse(a: &Archive<Vec<u8>>, analyzer: &Analyzer) -> Vec<Doc> {
    a.iter()
        .map(|e| {
            let e = e.unwrap();
            let body = e.body().unwrap();
            let ex = extract(e.content_type(), &body, &ExtractOptions::default());
            let title = match e.title().unwrap() {
                Some(t) => Some(titles::cut(t, fsearch::MAX_TEXT).to_string()),
                None => ex.as_ref().and_then(|x| x.title.clone()),
            }
            .filter(|t| !t.is_empty());
            let (title_tokens, body_tokens) = match &ex {
                Some(x) => (
                    title
                        .as_deref()
                        .map(|t| analyzer.tokens(t))
                        .unwrap_or_default(),
                    analyzer.tokens(&x.text),
                ),
                None => (Vec::new(), Vec::new()),
            };
            let indexed = !title_tokens.is_empty() || !body_tokens.is_empty();
            Doc {
                key: e.key().to_string(),
                title: if ex.is_some() { title } else { None },
                title_tokens,
                body_tokens,
                indexed,
            }
        })
        .collect()
}

/// tf of each term in a document, and its length.
fn counts(d: &Doc, w: u32) -> (BTreeMap<String, u32>, u64) {
    let mut m = BTreeMap::new();
    for t in &d.title_tokens {
        *m.entry(t.term.clone()).or_insert(0) += w;
    }
    for t in &d.body_tokens {
        *m.entry(t.term.clone()).or_insert(0) += 1;
    }
    let dl = (d.title_tokens.len() as u64) * u64::from(w) + d.body_tokens.len() as u64;
    (m, dl)
}

fn has_phrase(tokens: &[Token], phrase: &[(String, u32)]) -> bool {
    tokens.iter().any(|t| {
        phrase.iter().all(|(term, o)| {
            tokens
                .iter()
                .any(|x| x.position == t.position + o && &x.term == term)
        })
    })
}

/// A query analysed: its distinct terms, sorted, and its phrases (terms and offsets).
type Analysed = (Vec<String>, Vec<Vec<(String, u32)>>);

fn analysed_query(analyzer: &Analyzer, q: &str) -> Analysed {
    let mut terms = Vec::new();
    let mut phrases = Vec::new();
    for p in analyzer.analyze_query(q) {
        match p {
            QueryPart::Term(t) => terms.push(t),
            QueryPart::Phrase(p) => {
                terms.extend(p.iter().map(|t| t.term.clone()));
                phrases.push(p.into_iter().map(|t| (t.term, t.offset)).collect());
            }
        }
    }
    terms.sort();
    terms.dedup();
    (terms, phrases)
}

type Hit = (String, Option<String>, u64);

fn brute_search(docs: &[Doc], w: u32, bm: &Bm25, q: &Analysed, limit: usize) -> Vec<Hit> {
    let (terms, phrases) = q;
    if terms.is_empty() {
        return Vec::new();
    }
    let all: Vec<(BTreeMap<String, u32>, u64)> = docs.iter().map(|d| counts(d, w)).collect();
    let mut hits = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        let (m, dl) = &all[i];
        if !terms.iter().all(|t| m.contains_key(t)) {
            continue;
        }
        if !phrases
            .iter()
            .all(|p| has_phrase(&d.title_tokens, p) || has_phrase(&d.body_tokens, p))
        {
            continue;
        }
        let norm = norm_code(*dl);
        let score: u64 = terms
            .iter()
            .map(|t| {
                let df = all.iter().filter(|(m, _)| m.contains_key(t)).count() as u64;
                bm.idf(df) * bm.tfn(m[t].into(), norm)
            })
            .sum();
        hits.push((std::cmp::Reverse(score), i, d.key.clone(), d.title.clone()));
    }
    hits.sort();
    hits.into_iter()
        .take(limit)
        .map(|(s, _, k, t)| (k, t, s.0))
        .collect()
}

// ---------------------------------------------------------------------------------------
// The files of an accepted vector.

/// The terms file: the index's figures, the norms, one term a line.
fn terms_json(bytes: &[u8]) -> String {
    let s = Search::of(bytes);
    let h = &s.head;
    let mut lines = vec![
        format!(
            "{{\"tokenizer\": {}, \"title_weight\": {}, \"k1\": {}, \"b\": {}, \"entries\": {}, \"doc_count\": {}, \"term_count\": {}, \"token_sum\": {}, \"posting_count\": {},",
            json!(s.root.tokenizer), h.title_weight, h.k1, h.b, h.entries, h.doc_count,
            h.term_count, h.token_sum, h.posting_count
        ),
        format!(" \"norms\": {},", json!(s.norms_raw())),
        " \"terms\": [".to_string(),
    ];
    let all = s.all_terms();
    let n = all.len();
    for (i, (term, kind, p)) in all.into_iter().enumerate() {
        let p: Vec<Value> = p.iter().map(|&(d, tf)| json!([d, tf])).collect();
        lines.push(format!(
            "  {}{}",
            json!({"term": String::from_utf8(term).unwrap(), "df": p.len(), "list": kind, "postings": p}),
            if i + 1 < n { "," } else { "" }
        ));
    }
    lines.push(" ]".to_string());
    lines.push("}".to_string());
    lines.join("\n") + "\n"
}

/// The queries file: one query per line, in a JSON array.
fn queries_json(name: &str, bytes: &[u8]) -> String {
    let a = Archive::new(bytes.to_vec()).unwrap();
    let analyzer = Analyzer::from_identity(&a.search_tokenizer().unwrap()).unwrap();
    let lines: Vec<String> = queries(name)
        .into_iter()
        .map(|(q, limit)| {
            let (terms, phrases) = analysed_query(&analyzer, q);
            let phrases: Vec<Value> = phrases
                .iter()
                .map(|p| p.iter().map(|(t, o)| json!([t, o])).collect())
                .collect();
            let results: Vec<Value> = a
                .search(q, limit)
                .unwrap()
                .into_iter()
                .map(|h| json!([h.key, h.title, h.score]))
                .collect();
            json!({"q": q, "limit": limit, "terms": terms, "phrases": phrases, "results": results})
                .to_string()
        })
        .collect();
    format!("[\n{}\n]\n", lines.join(",\n"))
}

fn quire_files(d: &Path) -> BTreeSet<String> {
    fs::read_dir(d)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".quire").map(str::to_owned)
        })
        .collect()
}

#[test]
fn accepted_search_vectors_hold_their_terms_and_answer_their_queries() {
    for name in NAMES {
        let fresh = base(name);
        let path = |ext: &str| dir().join(format!("{name}.{ext}"));
        if bless() {
            fs::create_dir_all(dir()).unwrap();
            fs::write(path("quire"), &fresh).unwrap();
            fs::write(path("jsonl"), expected_jsonl(&fresh)).unwrap();
            fs::write(path("terms.json"), terms_json(&fresh)).unwrap();
            fs::write(path("queries.json"), queries_json(name, &fresh)).unwrap();
        }
        let stored = fs::read(path("quire")).unwrap_or_else(|e| panic!("{name}.quire: {e}"));
        assert_eq!(
            expected_jsonl(&stored),
            fs::read_to_string(path("jsonl")).unwrap(),
            "{name}"
        );
        let a = Archive::new(stored.clone()).unwrap();
        assert!(a.has_search_index(), "{name}");
        let report = a.verify();
        assert!(report.is_ok(), "{name}: {report}");

        // The terms: as listed, as the reader looks them up, as the text gives them.
        let listed: Value =
            serde_json::from_str(&fs::read_to_string(path("terms.json")).unwrap()).unwrap();
        assert_eq!(
            terms_json(&stored),
            fs::read_to_string(path("terms.json")).unwrap()
        );
        let tokenizer = a.search_tokenizer().unwrap();
        assert_eq!(listed["tokenizer"], tokenizer.as_str());
        let analyzer = Analyzer::from_identity(&tokenizer).unwrap();
        assert_eq!(
            analyzer.identity(),
            Analyzer::new(language(name)).identity()
        );
        let w = listed["title_weight"].as_u64().unwrap() as u32;
        let docs = analyse(&a, &analyzer);
        let mut want: BTreeMap<String, Vec<(u64, u32)>> = BTreeMap::new();
        let mut norms = Vec::new();
        let mut token_sum = 0;
        for (i, d) in docs.iter().enumerate() {
            let (m, dl) = counts(d, w);
            assert_eq!(d.indexed, dl > 0);
            norms.push(norm_code(dl));
            token_sum += dl;
            for (t, tf) in m {
                want.entry(t).or_default().push((i as u64, tf));
            }
        }
        assert_eq!(listed["norms"], json!(norms), "{name}: norms");
        assert_eq!(listed["token_sum"], token_sum, "{name}");
        let got: BTreeMap<String, Vec<(u64, u32)>> = listed["terms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let p: Vec<(u64, u32)> = t["postings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| (p[0].as_u64().unwrap(), p[1].as_u64().unwrap() as u32))
                    .collect();
                assert_eq!(t["df"], p.len());
                (t["term"].as_str().unwrap().to_string(), p)
            })
            .collect();
        assert!(
            got == want,
            "{name}: the index's postings are not the text's"
        );
        for (t, p) in &got {
            assert_eq!(
                a.search_postings(t).unwrap().as_ref(),
                Some(p),
                "{name}: {t}"
            );
        }
        assert_eq!(a.search_postings("notaterm").unwrap(), None);

        // The queries.
        let bm = Bm25 {
            docs: listed["doc_count"].as_u64().unwrap(),
            tokens: token_sum,
            k1: listed["k1"].as_u64().unwrap(),
            b: listed["b"].as_u64().unwrap(),
        };
        let qs: Value =
            serde_json::from_str(&fs::read_to_string(path("queries.json")).unwrap()).unwrap();
        let qs = qs.as_array().unwrap();
        assert_eq!(qs.len(), queries(name).len(), "{name}: queries");
        for (l, (q, limit)) in qs.iter().zip(queries(name)) {
            assert_eq!(l["q"], q);
            assert_eq!(l["limit"], limit);
            let aq = analysed_query(&analyzer, q);
            assert_eq!(l["terms"], json!(aq.0), "{name}: {q:?}");
            let phrases: Vec<Value> =
                aq.1.iter()
                    .map(|p| p.iter().map(|(t, o)| json!([t, o])).collect())
                    .collect();
            assert_eq!(l["phrases"], json!(phrases), "{name}: {q:?}");
            let listed: Vec<Hit> = l["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r[0].as_str().unwrap().to_string(),
                        r[1].as_str().map(str::to_string),
                        r[2].as_u64().unwrap(),
                    )
                })
                .collect();
            let got: Vec<Hit> = a
                .search(q, limit)
                .unwrap()
                .into_iter()
                .map(|h| (h.key, h.title, h.score))
                .collect();
            assert_eq!(got, listed, "{name}: {q:?} {limit}");
            assert_eq!(
                brute_search(&docs, w, &bm, &aq, limit),
                listed,
                "{name}: {q:?} {limit} against brute force"
            );
        }
        assert!(
            stored == fresh,
            "the writer no longer reproduces search/{name}.quire byte for byte"
        );
    }
    let listed: BTreeSet<String> = NAMES
        .iter()
        .chain(&[UNKNOWN])
        .map(|n| n.to_string())
        .collect();
    assert_eq!(
        quire_files(&dir()),
        listed,
        "spec/vectors/search/ holds other files"
    );
}

#[test]
fn search_vectors_cover_what_the_spec_lists() {
    let l = Search::of(&base("large"));
    // As spec §15.12 describes them.
    assert_eq!(l.root.terms.len(), 3, "term pages");
    assert_eq!(l.root.docs.len(), 2, "document pages");
    assert_eq!(l.head.term_count, 1070);
    let terms = l.all_terms();
    let kinds = |k: &str| terms.iter().filter(|t| t.1 == k).count();
    assert!(kinds("inline") > 0 && kinds("block") > 0 && kinds("head") > 0);
    let market = terms.iter().find(|t| t.0 == b"market").unwrap();
    assert_eq!((market.1, market.2.len()), ("head", 300));
    assert!(l.root.terms[0].stored_len < l.root.terms[0].raw_len);
    let e = Search::of(&base("english"));
    assert!(e.head.doc_count < e.head.entries);
    let n = Search::of(&base("notext"));
    assert_eq!(
        (n.head.doc_count, n.head.term_count, n.root.terms.len()),
        (0, 0, 0)
    );
    for (name, tok) in [
        (
            "english",
            "quire-text/1 lang=eng stem=snowball-english cjk=bigram",
        ),
        ("chinese", "quire-text/1 lang=zho stem=none cjk=jieba-f70"),
        ("unspaced", "quire-text/1 lang=und stem=none cjk=bigram"),
    ] {
        assert_eq!(Search::of(&base(name)).root.tokenizer, tok);
    }
}

// ---------------------------------------------------------------------------------------
// Taking a full-text index apart and laying it out again.

/// A term, where its list lies (`inline`, `block`, `head`), and its postings.
type TermList = (Vec<u8>, &'static str, Vec<(u32, u32)>);

/// An archive's parts (prelude and sections), and its SEARCH section taken apart.
struct Search {
    header: Header,
    meta: Vec<u8>,
    ctypes: Vec<u8>,
    proot: Vec<u8>,
    sections: Vec<(u32, Vec<u8>)>,
    index_crc: u32,
    data_crc: u32,
    head: Head,
    root: Root,
    /// Term pages, stored.
    terms: Vec<Vec<u8>>,
    /// POSTINGS.
    post: Vec<u8>,
    /// Norms chunks, stored.
    norms: Vec<Vec<u8>>,
    /// Document pages, stored.
    docs: Vec<Vec<u8>>,
    /// The root's raw bytes, when an edit sets them instead of `root`.
    root_raw: Option<Vec<u8>>,
    /// The root's stored bytes, when an edit sets them (as they are, not a frame).
    root_stored: Option<Vec<u8>>,
    /// Whether the section table gives SEARCH a wrong CRC.
    bad_section_crc: bool,
}

impl Search {
    fn of(b: &[u8]) -> Search {
        let p = Prelude::decode(b, b.len() as u64).unwrap();
        let sections: Vec<(u32, Vec<u8>)> = p
            .sections
            .iter()
            .map(|s| {
                (
                    s.id,
                    b[s.offset as usize..(s.offset + s.length) as usize].to_vec(),
                )
            })
            .collect();
        let crc = |id: SectionId| p.sections.iter().find(|s| s.id == id as u32).unwrap().crc;
        let (index_crc, data_crc) = (crc(SectionId::Index), crc(SectionId::Data));
        let s = &sections
            .iter()
            .find(|s| s.0 == fsearch::SECTION_ID)
            .unwrap()
            .1;
        let head = Head::decode(s, index_crc, data_crc, s.len() as u64).unwrap();
        let at = fsearch::HEADER_LEN;
        let stored = &s[at..at + head.root_len as usize];
        let raw = unstore(stored, head.root_raw_len, head.root_crc, MAX_ROOT_RAW).unwrap();
        let root = Root::decode(&raw, &head, s.len() as u64).unwrap();
        let slice = |o: u64, l: u64| s[o as usize..(o + l) as usize].to_vec();
        let terms = root
            .terms
            .iter()
            .map(|t| slice(t.offset, t.stored_len.into()))
            .collect();
        let post = match (root.terms.first(), root.terms.last()) {
            (Some(f), Some(l)) => slice(f.post_offset, l.post_offset + l.post_len - f.post_offset),
            _ => Vec::new(),
        };
        let norms = root
            .norms
            .iter()
            .map(|n| slice(n.offset, n.stored_len.into()))
            .collect();
        let docs = root
            .docs
            .iter()
            .map(|d| slice(d.offset, d.stored_len.into()))
            .collect();
        Search {
            header: p.header.clone(),
            meta: p.meta.to_vec(),
            ctypes: p.ctypes.to_vec(),
            proot: p.root.to_vec(),
            sections,
            index_crc,
            data_crc,
            head,
            root,
            terms,
            post,
            norms,
            docs,
            root_raw: None,
            root_stored: None,
            bad_section_crc: false,
        }
    }

    /// Where POSTINGS starts, from the section's start.
    fn post_at(&self) -> u64 {
        fsearch::HEADER_LEN as u64
            + u64::from(self.head.root_len)
            + self.terms.iter().map(|t| t.len() as u64).sum::<u64>()
    }

    /// Term page `i`, decoded (the offsets of its lists from the section's start).
    fn term_page(&self, i: usize) -> Vec<TermRecord> {
        let r = &self.root.terms[i];
        let raw = unstore(&self.terms[i], r.raw_len, r.crc, MAX_PAGE_RAW).unwrap();
        let next = self.root.terms.get(i + 1).map(|n| n.first.as_slice());
        decode_terms(&raw, r, next, &self.head).unwrap().records
    }

    /// Bytes of POSTINGS at `offset` from the section's start.
    fn post_bytes(&self, offset: u64, len: u64) -> &[u8] {
        let at = (offset - self.post_at()) as usize;
        &self.post[at..at + len as usize]
    }

    /// A head's entries.
    fn head_entries(&self, offset: u64, head_len: u32, list_len: u64, df: u32) -> Vec<BlockEntry> {
        let h = self.post_bytes(offset, head_len.into());
        let at = offset + u64::from(head_len);
        decode_head(h, df, at, list_len - u64::from(head_len), self.head.entries).unwrap()
    }

    /// A record's postings, and where its list lies.
    fn postings(&self, r: &TermRecord) -> (&'static str, Vec<(u32, u32)>) {
        match &r.postings {
            Postings::Inline(p) => ("inline", p.clone()),
            Postings::Block { offset, len, .. } => {
                let b = self.post_bytes(*offset, (*len).into());
                (
                    "block",
                    decode_block(b, None, r.df as usize, self.head.entries).unwrap(),
                )
            }
            Postings::Headed {
                offset,
                head_len,
                list_len,
                ..
            } => {
                let mut out = Vec::new();
                let mut base = None;
                let m = self.head_entries(*offset, *head_len, *list_len, r.df);
                for (i, e) in m.iter().enumerate() {
                    let n = if i + 1 < m.len() {
                        fsearch::BLOCK_POSTINGS
                    } else {
                        r.df as usize - fsearch::BLOCK_POSTINGS * (m.len() - 1)
                    };
                    let b = self.post_bytes(e.offset, e.len.into());
                    out.extend(decode_block(b, base, n, self.head.entries).unwrap());
                    base = Some(e.last);
                }
                ("head", out)
            }
        }
    }

    /// Every term, where its list lies, and its postings.
    fn all_terms(&self) -> Vec<TermList> {
        (0..self.root.terms.len())
            .flat_map(|i| self.term_page(i))
            .map(|r| {
                let (kind, p) = self.postings(&r);
                (r.term, kind, p)
            })
            .collect()
    }

    /// The norms, decompressed.
    fn norms_raw(&self) -> Vec<u8> {
        self.root
            .norms
            .iter()
            .zip(&self.norms)
            .flat_map(|(r, s)| unstore(s, r.raw_len, r.crc, MAX_PAGE_RAW).unwrap())
            .collect()
    }

    /// The stored root of `self.root` (header fields set to it).
    fn root_stored(&mut self) -> Vec<u8> {
        let raw = self.root_raw.clone().unwrap_or_else(|| self.root.encode());
        let stored = match &self.root_stored {
            Some(s) => s.clone(),
            None => fsearch::store(&raw, 3).unwrap(),
        };
        self.head.root_len = stored.len() as u32;
        self.head.root_raw_len = raw.len() as u32;
        self.head.root_crc = format::crc32(&stored);
        stored
    }

    /// The section: header (sealed), root, term pages, POSTINGS, norms, document pages.
    fn section(&mut self) -> Vec<u8> {
        let root = self.root_stored();
        let mut s = self.head.encode(self.index_crc, self.data_crc).to_vec();
        s.extend_from_slice(&root);
        for p in &self.terms {
            s.extend_from_slice(p);
        }
        s.extend_from_slice(&self.post);
        for p in self.norms.iter().chain(&self.docs) {
            s.extend_from_slice(p);
        }
        s
    }

    fn set_section(&mut self, bytes: Vec<u8>) {
        let s = self
            .sections
            .iter_mut()
            .find(|s| s.0 == fsearch::SECTION_ID)
            .unwrap();
        s.1 = bytes;
    }

    /// The file: sections back to back, every section CRC and the prelude recomputed.
    fn file(&self) -> Vec<u8> {
        let mut at = prelude_len(
            self.sections.len(),
            self.meta.len(),
            self.ctypes.len(),
            self.proot.len(),
        ) as u64;
        let mut records = Vec::new();
        let mut body = Vec::new();
        for (id, bytes) in &self.sections {
            records.push(SectionRecord {
                id: *id,
                offset: at,
                length: bytes.len() as u64,
                crc: format::crc32(bytes)
                    ^ u32::from(self.bad_section_crc && *id == fsearch::SECTION_ID),
            });
            at += bytes.len() as u64;
            body.extend_from_slice(bytes);
        }
        let mut h = self.header.clone();
        h.file_len = at;
        let mut out = encode_prelude(&h, &records, &self.meta, &self.ctypes, &self.proot);
        out.extend_from_slice(&body);
        out
    }

    /// The file with the section laid out again from its parts.
    fn relaid(&mut self) -> Vec<u8> {
        let s = self.section();
        self.set_section(s);
        self.file()
    }

    /// Replaces term page `i` by `records` (encoded and stored, its root record fixed).
    fn set_terms(&mut self, i: usize, records: &[TermRecord]) {
        let raw = encode_terms(records);
        let stored = fsearch::store(&raw, 3).unwrap();
        let r = &mut self.root.terms[i];
        (r.stored_len, r.raw_len, r.crc) = (
            stored.len() as u32,
            raw.len() as u32,
            format::crc32(&stored),
        );
        r.terms = records.len() as u32;
        r.first = records[0].term.clone();
        self.terms[i] = stored;
    }

    /// Replaces the list of record `j` of term page `i` by `list` (a single block or a head
    /// and its blocks), its record's lengths and CRC and the page's `post_len` fixed.
    fn set_list(&mut self, i: usize, j: usize, list: &[u8], head_len: Option<usize>) {
        let mut recs = self.term_page(i);
        let (offset, old) = match &recs[j].postings {
            Postings::Block { offset, len, .. } => (*offset, u64::from(*len)),
            Postings::Headed {
                offset, list_len, ..
            } => (*offset, *list_len),
            Postings::Inline(_) => panic!("inline"),
        };
        let at = (offset - self.post_at()) as usize;
        self.post
            .splice(at..at + old as usize, list.iter().copied());
        recs[j].postings = match head_len {
            None => Postings::Block {
                offset,
                len: list.len() as u32,
                crc: format::crc32(list),
            },
            Some(h) => Postings::Headed {
                offset,
                head_len: h as u32,
                list_len: list.len() as u64,
                crc: format::crc32(&list[..h]),
            },
        };
        self.root.terms[i].post_len = self.root.terms[i].post_len + list.len() as u64 - old;
        self.set_terms(i, &recs);
    }

    /// Replaces norms chunk `i`'s bytes.
    fn set_norms(&mut self, i: usize, raw: &[u8]) {
        let stored = fsearch::store(raw, 3).unwrap();
        let r = &mut self.root.norms[i];
        (r.stored_len, r.crc) = (stored.len() as u32, format::crc32(&stored));
        self.norms[i] = stored;
    }

    /// Document page `i`, decoded.
    fn doc_page(&self, i: usize) -> Vec<Option<fsearch::DocRow>> {
        let r = &self.root.docs[i];
        let raw = unstore(&self.docs[i], r.raw_len, r.crc, MAX_PAGE_RAW).unwrap();
        decode_docs(&raw, r.rows).unwrap()
    }

    /// Replaces document page `i` by `raw`.
    fn set_docs_raw(&mut self, i: usize, raw: &[u8]) {
        let stored = fsearch::store(raw, 3).unwrap();
        let r = &mut self.root.docs[i];
        (r.stored_len, r.raw_len, r.crc) = (
            stored.len() as u32,
            raw.len() as u32,
            format::crc32(&stored),
        );
        self.docs[i] = stored;
    }

    /// The term page, record and record of `term`.
    fn find(&self, term: &str) -> (usize, usize, TermRecord) {
        for i in 0..self.root.terms.len() {
            let recs = self.term_page(i);
            if let Some(j) = recs.iter().position(|r| r.term == term.as_bytes()) {
                return (i, j, recs[j].clone());
            }
        }
        panic!("no term {term}")
    }
}

/// The vector whose tokenizer no reader implements.
const UNKNOWN: &str = "tokenizer-unknown";

/// `english` with the tokenizer string `quire-text/999 …` (the root's CRC and the header
/// fixed): a reader refuses text queries with `unsupported_tokenizer`, still looks up terms,
/// and verifies it without analysing the text.
fn unknown_tokenizer() -> Vec<u8> {
    let mut s = Search::of(&base("english"));
    s.root.tokenizer = s
        .root
        .tokenizer
        .replacen("quire-text/1 ", "quire-text/999 ", 1);
    assert!(s.root.tokenizer.starts_with("quire-text/999 "));
    s.relaid()
}

#[test]
fn an_unknown_tokenizer_refuses_text_queries_but_not_term_lookups() {
    let fresh = unknown_tokenizer();
    let path = |ext: &str| dir().join(format!("{UNKNOWN}.{ext}"));
    if bless() {
        fs::write(path("quire"), &fresh).unwrap();
        fs::write(path("jsonl"), expected_jsonl(&fresh)).unwrap();
        fs::write(path("terms.json"), terms_json(&fresh)).unwrap();
    }
    let stored = fs::read(path("quire")).unwrap();
    assert!(stored == fresh, "{UNKNOWN}.quire is no longer reproduced");
    assert_eq!(
        expected_jsonl(&stored),
        fs::read_to_string(path("jsonl")).unwrap()
    );
    let terms = fs::read_to_string(path("terms.json")).unwrap();
    assert_eq!(terms_json(&stored), terms);
    // The same terms as `english`, under another tokenizer string.
    let english = fs::read_to_string(dir().join("english.terms.json")).unwrap();
    assert_eq!(
        terms.replacen("quire-text/999 ", "quire-text/1 ", 1),
        english
    );
    let a = Archive::new(stored.clone()).unwrap();
    let e = a.search("apple", 10).unwrap_err();
    assert_eq!(e.code(), "unsupported_tokenizer", "{e}");
    let listed: Value = serde_json::from_str(&terms).unwrap();
    for t in listed["terms"].as_array().unwrap() {
        let p: Vec<(u64, u32)> = t["postings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_u64().unwrap(), p[1].as_u64().unwrap() as u32))
            .collect();
        let term = t["term"].as_str().unwrap();
        assert_eq!(a.search_postings(term).unwrap(), Some(p), "{term}");
    }
    let report = a.verify();
    assert!(report.is_ok(), "{report}");
}

#[test]
fn taking_a_search_index_apart_and_laying_it_out_again_is_exact() {
    for name in NAMES {
        let b = base(name);
        let mut s = Search::of(&b);
        assert!(s.file() == b, "{name}");
        // Stored again at another level, the nodes differ; the file still reads.
        let again = s.relaid();
        let a = Archive::new(again).unwrap();
        assert!(a.verify().is_ok(), "{name}");
        let orig = Archive::new(b).unwrap();
        let (q, limit) = queries(name)[0];
        assert_eq!(a.search(q, limit).unwrap(), orig.search(q, limit).unwrap());
    }
}

// ---------------------------------------------------------------------------------------
// Files whose full-text index a reader must reject.

/// Name, the accepted vector it is made from, when it shows (`search`: the query fails;
/// `verification`: only full verification finds it), and what the file is. The query is
/// worked out by [`reject_query`]; every code is `damaged_search_index`.
const REJECT: &[(&str, &str, &str, &str)] = &[
    ("two-sections", "english", "search", "a second SEARCH section, a copy of the first, after the first"),
    ("short-section", "english", "search", "SEARCH cut to 63 bytes, shorter than its header"),
    ("header-crc", "english", "search", "a byte of the header's doc_count changed, head_crc not fixed"),
    ("header-other-archive", "english", "search", "head_crc sealed with another CRC of INDEX (a full-text index from another archive)"),
    ("header-version", "english", "search", "version 2, head_crc fixed"),
    ("header-reserved", "english", "search", "reserved byte 10 set to 1, head_crc fixed"),
    ("title-weight-0", "english", "search", "title_weight 0, head_crc fixed"),
    ("k1-0", "english", "search", "k1 0, head_crc fixed"),
    ("b-over-1000", "english", "search", "b 1001, head_crc fixed"),
    ("doc-count-over-entries", "english", "search", "doc_count entries + 1, head_crc fixed"),
    ("zero-mismatch", "english", "search", "term_count and posting_count 0 while doc_count and token_sum are not, head_crc fixed (the other header checks hold)"),
    ("root-raw-over-4-mib", "english", "search", "root_raw_len 4 MiB + 1, head_crc fixed: over the root's limit"),
    ("root-crc", "english", "search", "a byte of the stored root changed, root_crc not fixed"),
    ("root-frame", "english", "search", "the root's stored bytes replaced by one byte fewer than its raw length of bytes that are not a zstd frame (root_len, root_crc fixed)"),
    ("root-kind", "english", "search", "the root's kind 15 instead of 16 (CRCs fixed)"),
    ("tokenizer-byte", "english", "search", "the tokenizer string's first space replaced by a tab (0x09, out of 0x20..=0x7E; CRCs fixed)"),
    ("norms-count", "english", "search", "NC 2 for 19 entries (a second norms chunk record, a copy of the first, and its bytes; CRCs fixed)"),
    ("root-terms-sum", "english", "search", "the term page record's terms one more (CRCs fixed): the records' terms do not add up to term_count"),
    ("root-rows-sum", "english", "search", "the document page record's rows one more (CRCs fixed): the records' rows do not add up to entries"),
    ("root-first-order", "large", "search", "the first terms of term pages 1 and 2 swapped in the root (CRCs fixed): not increasing"),
    ("trailing-bytes", "english", "search", "5 bytes after the last document page: the parts the root gives do not add up to the section's length"),
    ("term-page-crc", "large", "search", "a byte of term page 1 changed, its CRC in the root not fixed"),
    ("term-page-frame", "large", "search", "term page 1's stored bytes replaced by as many that are not a zstd frame, its CRC in the root fixed"),
    ("term-page-count", "large", "search", "the root gives term page 1 one term more and page 2 one fewer (the sum kept): page 1's n is not its record's terms"),
    ("term-page-first", "large", "search", "the root's first term of term page 1 set to the page's second term (CRCs fixed): the page's first term is not the root's"),
    ("term-page-last", "large", "search", "the root's first term of term page 2 set to the last term of page 1 (CRCs fixed): page 1's last term is not below the next page's first"),
    ("term-order", "large", "search", "records 1 and 2 of term page 1 swapped (CRCs fixed): its terms do not increase"),
    ("df-over-doc-count", "large", "search", "an inline record of term page 0 given df doc_count + 1 (CRCs fixed)"),
    ("inline-over-128", "large", "search", "an inline record of term page 0 given df 129 (≤ doc_count; CRCs fixed): INLINE with df > 128"),
    ("block-len-over-2048", "large", "search", "the term record of `tower` (one block in POSTINGS) given blen 2049 (CRCs fixed)"),
    ("head-len-short", "large", "search", "the term record of `market` given head_len 8 · ceil(df / 128) − 1 (CRCs fixed)"),
    ("post-len", "large", "search", "the root gives a term page one byte more of POSTINGS and the next one byte fewer (the sum kept): the page's lists do not fill its post_len"),
    ("block-crc", "large", "search", "a byte of the list of `tower` (one block in POSTINGS) changed, the CRC in its term record not fixed"),
    ("block-doc-over-entries", "large", "search", "the block of `tower` with its last document 300 = entries (CRCs and lengths fixed)"),
    ("block-extra-byte", "large", "search", "the block of `tower` with a byte 01 after its postings (blen, post_len and CRCs fixed): its postings do not fill its bytes"),
    ("head-crc", "large", "search", "a byte of the head of `market` changed, the CRC in its term record not fixed"),
    ("head-max-norm-0", "large", "search", "the head of `market`: block 0's max_norm 0 (CRCs fixed)"),
    ("head-blen-sum", "large", "search", "the head of `market`: its last block's blen one more (CRCs fixed): the blocks' lengths do not add up to list_len − head_len"),
    ("head-last-doc", "large", "search", "the head of `market`: block 0's last document one more and block 1's last_delta one less (CRCs fixed): block 0 does not end at the head's last document"),
    ("tfn-above-bound", "large", "search", "the head of `market`: block 0's bound set to max_tf 1, max_norm 255 (CRCs fixed): a posting's tfn above its block's bound"),
    ("norms-crc", "english", "search", "a byte of the norms chunk changed, its CRC in the root not fixed"),
    ("norm-zero", "large", "search", "the norm code of the first document of `tower` set to 0 (the chunk's CRC fixed): a scored posting with norm 0"),
    ("doc-page-crc", "english", "search", "a byte of the document page changed, its CRC in the root not fixed"),
    ("doc-rows-count", "large", "search", "the root gives document page 0 one row more and page 1 one fewer (the sum kept): page 0's n is not its record's rows"),
    ("doc-row-flags", "english", "search", "row 0's flags with bit 2 set (CRCs fixed): a reserved bit"),
    ("doc-keys-order", "english", "search", "the keys of the first two rows of the document page swapped (CRCs fixed): keys not increasing"),
    ("row-not-indexed", "english", "search", "the row of document 0 (a/apple) made not INDEXED, its key and title dropped (CRCs fixed): a result's row is not INDEXED"),
    ("row-key-foreign", "english", "search", "the row of document 0 given the key a/apple-pie, which is no entry's (CRCs fixed): a result's row is not its entry's"),
    ("bound-not-attained", "large", "verification", "the head of `market`: block 0's max_tf one more (CRCs fixed): a bound above every posting of its block, so no search goes wrong, but no posting attains it"),
    ("posting-count", "english", "verification", "posting_count one more, head_crc fixed: Σ df is not posting_count"),
    ("doc-count-norms", "english", "verification", "doc_count one less, head_crc fixed: not the number of non-zero norms"),
    ("token-sum", "english", "verification", "token_sum one more, head_crc fixed: not the sum of the documents' lengths"),
    ("row-title", "english", "verification", "the title of document 0's row changed to `Apple tart` (CRCs fixed): not the entry's title"),
    ("row-html-title", "english", "verification", "the title of document 2's row (c/html, an entry without a title: its HTML title) changed to `Zurich` (CRCs fixed): not the page's title"),
    ("row-indexed-without-norm", "english", "verification", "the row of document 13 (k/empty, norm 0) made INDEXED with its key (CRCs fixed): INDEXED, but its norm is 0"),
    ("postings-not-text", "english", "verification", "the inline posting of `bread` in document 1 given tf 2 instead of 1 (CRCs fixed): the index parses, but the text of b/bakery does not give it"),
    ("section-crc", "english", "verification", "the section table's CRC of SEARCH changed (prelude CRC fixed): every part checks, only the section's CRC fails"),
];

/// Builds each accepted vector once.
fn base(name: &str) -> Vec<u8> {
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<BTreeMap<String, Vec<u8>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(b) = cache.lock().unwrap().get(name) {
        return b.clone();
    }
    let b = build(name);
    cache.lock().unwrap().insert(name.to_string(), b.clone());
    b
}

/// A term of term page `i` that the archive's analysis gives back as itself (a query for
/// it looks it up); `skip` records skipped first.
fn stable_term(s: &Search, i: usize, skip: usize) -> String {
    let analyzer = Analyzer::from_identity(&s.root.tokenizer).unwrap();
    s.term_page(i)
        .into_iter()
        .skip(skip)
        .map(|r| String::from_utf8(r.term).unwrap())
        .find(|t| analyzer.analyze_query(t) == [QueryPart::Term(t.clone())])
        .unwrap()
}

/// The query that shows a reject: a term it breaks, or a term of its base.
fn reject_query(name: &str) -> String {
    match name {
        "term-page-crc" | "term-order" | "term-page-frame" | "term-page-count"
        | "term-page-first" | "term-page-last" => stable_term(&Search::of(&base("large")), 1, 3),
        "post-len" => {
            let s = Search::of(&base("large"));
            stable_term(&s, post_len_page(&s), 3)
        }
        "root-first-order" => "market".into(),
        "doc-rows-count" => "u1".into(),
        "df-over-doc-count" | "inline-over-128" => {
            let s = Search::of(&base("large"));
            inline_target(&s).2
        }
        "block-crc"
        | "block-doc-over-entries"
        | "norm-zero"
        | "block-len-over-2048"
        | "block-extra-byte" => "tower".into(),
        "head-blen-sum" | "head-last-doc" | "bound-not-attained" | "head-crc"
        | "head-len-short" | "head-max-norm-0" | "tfn-above-bound" => "market".into(),
        "postings-not-text" => "bread".into(),
        _ => "apple".into(),
    }
}

/// A term page with lists in POSTINGS whose next page has some too.
fn post_len_page(s: &Search) -> usize {
    (0..s.root.terms.len() - 1)
        .find(|&i| s.root.terms[i].post_len > 0 && s.root.terms[i + 1].post_len > 0)
        .unwrap()
}

fn not_a_frame(len: usize) -> Vec<u8> {
    b"not a zstd frame: "
        .iter()
        .cycle()
        .take(len)
        .copied()
        .collect()
}

/// An inline record of term page 0 whose term a query looks up: (page, record, term).
fn inline_target(s: &Search) -> (usize, usize, String) {
    let analyzer = Analyzer::from_identity(&s.root.tokenizer).unwrap();
    let recs = s.term_page(0);
    let j = recs
        .iter()
        .enumerate()
        .skip(1)
        .position(|(_, r)| {
            let t = String::from_utf8(r.term.clone()).unwrap();
            matches!(r.postings, Postings::Inline(_))
                && analyzer.analyze_query(&t) == [QueryPart::Term(t.clone())]
        })
        .unwrap()
        + 1;
    (0, j, String::from_utf8(recs[j].term.clone()).unwrap())
}

/// A head's entries re-encoded, and the list (head then its blocks unchanged).
fn headed_list(
    s: &Search,
    rec: &TermRecord,
    edit: impl FnOnce(&mut Vec<BlockEntry>),
) -> (Vec<u8>, usize) {
    let Postings::Headed {
        offset,
        head_len,
        list_len,
        ..
    } = rec.postings
    else {
        panic!("no head")
    };
    let mut entries = s.head_entries(offset, head_len, list_len, rec.df);
    let blocks = s
        .post_bytes(offset + u64::from(head_len), list_len - u64::from(head_len))
        .to_vec();
    edit(&mut entries);
    let mut head = Vec::new();
    let mut prev = None;
    for e in &entries {
        put_head_entry(&mut head, prev, e);
        prev = Some(e.last);
    }
    let h = head.len();
    head.extend_from_slice(&blocks);
    (head, h)
}

fn reject_bytes(name: &str) -> Vec<u8> {
    let &(_, from, _, _) = REJECT.iter().find(|r| r.0 == name).unwrap();
    let mut s = Search::of(&base(from));
    let header_edit = |s: &mut Search, at: usize, v: &[u8]| {
        let mut b = s.section();
        b[at..at + v.len()].copy_from_slice(v);
        let crc = titles::head_crc(&b[4..64], s.index_crc, s.data_crc);
        b[..4].copy_from_slice(&crc.to_le_bytes());
        s.set_section(b);
        s.file()
    };
    match name {
        "two-sections" => {
            let i = s
                .sections
                .iter()
                .position(|x| x.0 == fsearch::SECTION_ID)
                .unwrap();
            let copy = s.sections[i].clone();
            s.sections.insert(i + 1, copy);
            s.file()
        }
        "short-section" => {
            let mut b = s.section();
            b.truncate(63);
            s.set_section(b);
            s.file()
        }
        "header-crc" => {
            let mut b = s.section();
            b[16] ^= 1;
            s.set_section(b);
            s.file()
        }
        "header-version" => header_edit(&mut s, 4, &[2]),
        "header-reserved" => header_edit(&mut s, 10, &[1]),
        "root-raw-over-4-mib" => {
            let v = (MAX_ROOT_RAW as u32 + 1).to_le_bytes();
            header_edit(&mut s, 44, &v)
        }
        "header-other-archive" => {
            let mut b = s.section();
            let h = s.head.encode(s.index_crc ^ 1, s.data_crc);
            b[..fsearch::HEADER_LEN].copy_from_slice(&h);
            s.set_section(b);
            s.file()
        }
        "posting-count" => {
            s.head.posting_count += 1;
            s.relaid()
        }
        "doc-count-norms" => {
            s.head.doc_count -= 1;
            s.relaid()
        }
        "token-sum" => {
            s.head.token_sum += 1;
            s.relaid()
        }
        "root-frame" => {
            let raw = s.root.encode();
            let garbage = not_a_frame(raw.len() - 1);
            s.root_stored = Some(garbage);
            s.relaid()
        }
        "root-terms-sum" => {
            s.root.terms[0].terms += 1;
            s.relaid()
        }
        "root-rows-sum" => {
            s.root.docs[0].rows += 1;
            s.relaid()
        }
        "root-first-order" => {
            let f1 = s.root.terms[1].first.clone();
            s.root.terms[1].first = s.root.terms[2].first.clone();
            s.root.terms[2].first = f1;
            s.relaid()
        }
        "term-page-frame" => {
            let n = s.terms[1].len();
            assert!((n as u32) < s.root.terms[1].raw_len);
            s.terms[1] = not_a_frame(n);
            s.root.terms[1].crc = format::crc32(&s.terms[1]);
            s.relaid()
        }
        "term-page-count" => {
            s.root.terms[1].terms += 1;
            s.root.terms[2].terms -= 1;
            s.relaid()
        }
        "term-page-first" => {
            s.root.terms[1].first = s.term_page(1)[1].term.clone();
            s.relaid()
        }
        "term-page-last" => {
            s.root.terms[2].first = s.term_page(1).last().unwrap().term.clone();
            s.relaid()
        }
        "post-len" => {
            let i = post_len_page(&s);
            s.root.terms[i].post_len += 1;
            s.root.terms[i + 1].post_len -= 1;
            s.relaid()
        }
        "block-len-over-2048" | "head-len-short" => {
            let (i, j, _) = s.find(if name == "head-len-short" {
                "market"
            } else {
                "tower"
            });
            let mut recs = s.term_page(i);
            let df = recs[j].df;
            match &mut recs[j].postings {
                Postings::Block { len, .. } => *len = 2049,
                Postings::Headed { head_len, .. } => *head_len = 8 * df.div_ceil(128) - 1,
                Postings::Inline(_) => panic!("inline"),
            }
            s.set_terms(i, &recs);
            s.relaid()
        }
        "block-extra-byte" => {
            let (i, j, rec) = s.find("tower");
            let p = s.postings(&rec).1;
            let mut b = Vec::new();
            put_postings(&mut b, None, &p);
            b.push(1);
            s.set_list(i, j, &b, None);
            s.relaid()
        }
        "head-crc" => {
            let (_, _, rec) = s.find("market");
            let Postings::Headed { offset, .. } = rec.postings else {
                panic!("no head")
            };
            let at = (offset - s.post_at()) as usize + 1;
            s.post[at] ^= 0x01;
            s.relaid()
        }
        "norms-crc" => {
            s.norms[0][0] ^= 0x01;
            s.relaid()
        }
        "doc-page-crc" => {
            s.docs[0][3] ^= 0x01;
            s.relaid()
        }
        "doc-rows-count" => {
            s.root.docs[0].rows += 1;
            s.root.docs[1].rows -= 1;
            s.relaid()
        }
        "doc-row-flags" => {
            let mut raw = encode_docs(&s.doc_page(0));
            assert_eq!(raw[2], 3);
            raw[2] |= 4;
            s.set_docs_raw(0, &raw);
            s.relaid()
        }
        "title-weight-0" => {
            s.head.title_weight = 0;
            s.relaid()
        }
        "k1-0" => {
            s.head.k1 = 0;
            s.relaid()
        }
        "b-over-1000" => {
            s.head.b = 1001;
            s.relaid()
        }
        "doc-count-over-entries" => {
            s.head.doc_count = s.head.entries + 1;
            s.relaid()
        }
        "zero-mismatch" => {
            s.head.term_count = 0;
            s.head.posting_count = 0;
            s.relaid()
        }
        "root-crc" => {
            let mut b = s.section();
            b[fsearch::HEADER_LEN + 3] ^= 0x10;
            s.set_section(b);
            s.file()
        }
        "root-kind" => {
            let mut raw = s.root.encode();
            raw[0] = 15;
            s.root_raw = Some(raw);
            s.relaid()
        }
        "tokenizer-byte" => {
            s.root.tokenizer = s.root.tokenizer.replacen(' ', "\t", 1);
            s.relaid()
        }
        "norms-count" => {
            let r = s.root.norms[0].clone();
            s.root.norms.push(r);
            let n = s.norms[0].clone();
            s.norms.push(n);
            s.relaid()
        }
        "trailing-bytes" => {
            let mut b = s.section();
            b.extend_from_slice(b"extra");
            s.set_section(b);
            s.file()
        }
        "term-page-crc" => {
            s.terms[1][5] ^= 0x04;
            s.relaid()
        }
        "term-order" => {
            let mut recs = s.term_page(1);
            recs.swap(1, 2);
            s.set_terms(1, &recs);
            s.relaid()
        }
        "df-over-doc-count" | "inline-over-128" => {
            let (i, j, _) = inline_target(&s);
            let mut recs = s.term_page(i);
            recs[j].df = if name == "inline-over-128" {
                129
            } else {
                s.head.doc_count + 1
            };
            assert!(s.head.doc_count > 129);
            s.set_terms(i, &recs);
            s.relaid()
        }
        "block-crc" => {
            let (_, _, rec) = s.find("tower");
            let Postings::Block { offset, .. } = rec.postings else {
                panic!("tower is not one block")
            };
            let at = (offset - s.post_at()) as usize + 2;
            s.post[at] ^= 0x08;
            s.relaid()
        }
        "block-doc-over-entries" => {
            let (i, j, rec) = s.find("tower");
            let mut p = s.postings(&rec).1;
            p.last_mut().unwrap().0 = s.head.entries;
            let mut b = Vec::new();
            put_postings(&mut b, None, &p);
            s.set_list(i, j, &b, None);
            s.relaid()
        }
        "head-blen-sum" | "head-last-doc" | "bound-not-attained" | "head-max-norm-0"
        | "tfn-above-bound" => {
            let (i, j, rec) = s.find("market");
            let (list, h) = headed_list(&s, &rec, |e| {
                assert!(e.len() >= 3);
                match name {
                    "head-blen-sum" => e.last_mut().unwrap().len += 1,
                    "head-last-doc" => e[0].last += 1,
                    "head-max-norm-0" => e[0].max_norm = 0,
                    "tfn-above-bound" => (e[0].max_tf, e[0].max_norm) = (1, 255),
                    _ => e[0].max_tf += 1,
                }
            });
            s.set_list(i, j, &list, Some(h));
            s.relaid()
        }
        "norm-zero" => {
            let (_, _, rec) = s.find("tower");
            let d = s.postings(&rec).1[0].0 as usize;
            let mut n = s.norms_raw();
            n[d] = 0;
            s.set_norms(0, &n);
            s.relaid()
        }
        "doc-keys-order"
        | "row-not-indexed"
        | "row-key-foreign"
        | "row-title"
        | "row-html-title"
        | "row-indexed-without-norm" => {
            let mut rows = s.doc_page(0);
            if name == "row-not-indexed" {
                rows[0] = None;
            } else if name == "row-key-foreign" {
                rows[0].as_mut().unwrap().key = "a/apple-pie".into();
            } else if name == "row-title" {
                rows[0].as_mut().unwrap().title = Some("Apple tart".into());
            } else if name == "row-html-title" {
                let r = rows[2].as_mut().unwrap();
                assert_eq!(r.key, "c/html");
                r.title = Some("Zurich".into());
            } else if name == "row-indexed-without-norm" {
                assert!(rows[13].is_none());
                rows[13] = Some(fsearch::DocRow {
                    key: "k/empty".into(),
                    title: None,
                });
            } else {
                let k0 = rows[0].as_ref().unwrap().key.clone();
                let k1 = rows[1].as_ref().unwrap().key.clone();
                rows[0].as_mut().unwrap().key = k1;
                rows[1].as_mut().unwrap().key = k0;
            }
            s.set_docs_raw(0, &encode_docs(&rows));
            s.relaid()
        }
        "postings-not-text" => {
            let (i, j, _) = s.find("bread");
            let mut recs = s.term_page(i);
            let Postings::Inline(p) = &mut recs[j].postings else {
                panic!("bread is not inline")
            };
            assert_eq!(p[0], (1, 1));
            p[0].1 = 2;
            s.set_terms(i, &recs);
            s.relaid()
        }
        "section-crc" => {
            s.bad_section_crc = true;
            s.file()
        }
        _ => panic!("no reject vector {name}"),
    }
}

/// What a reader meets in `bytes`: it opens, every entry reads; then the query fails with
/// `damaged_search_index` (`search`), or it succeeds and only full verification finds the
/// damage (`verification`). Verification finds it in both cases. The CLI says the same.
fn check_reject(name: &str, path: &Path, bytes: &[u8], when: &str, q: &str) {
    let a = Archive::new(bytes.to_vec()).unwrap_or_else(|e| panic!("{name}: open: {e}"));
    for e in a.iter() {
        let e = e.unwrap_or_else(|e| panic!("{name}: an entry fails: {e}"));
        e.body().unwrap();
    }
    let got = a.search(q, 10);
    if let Err(e) = &got {
        eprintln!("{name}: search: {e:?}");
    }
    match when {
        "search" => {
            let e = got.expect_err(name);
            assert_eq!(e.code(), "damaged_search_index", "{name}: {e}");
        }
        _ => {
            got.unwrap_or_else(|e| panic!("{name}: the query fails: {e}"));
        }
    }
    let report = Archive::new(bytes.to_vec()).unwrap().verify();
    let first = report
        .problems
        .first()
        .unwrap_or_else(|| panic!("{name}: verify finds nothing"));
    eprintln!("{name}: verify: {first:?}");
    assert_eq!(
        quire::error::damage_code(first.at, first.kind),
        "damaged_search_index",
        "{name}: {report}"
    );
    // The CLI: `search` fails with exit code 1 (damage) or succeeds; `verify` reports it
    // (checked on the small archives and on every file that only verification finds).
    let p = path.to_str().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_quire"))
        .args(["search", p, q])
        .output()
        .unwrap();
    let code = if when == "search" { 1 } else { 0 };
    assert_eq!(o.status.code(), Some(code), "{name}: quire search");
    if bytes.len() > 10_000 && when == "search" {
        // Full verification of the large vector in a debug build is slow: the library's
        // verification above is enough.
        return;
    }
    let o = Command::new(env!("CARGO_BIN_EXE_quire"))
        .args(["verify", "--json", p])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{name}: quire verify");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["problems"][0]["code"], "damaged_search_index",
        "{name}: {v}"
    );
}

#[test]
fn rejected_search_vectors_fail_with_damaged_search_index() {
    let rdir = dir().join("reject");
    if bless() {
        fs::create_dir_all(&rdir).unwrap();
        let mut lines = Vec::new();
        for &(name, _, when, what) in REJECT {
            fs::write(rdir.join(format!("{name}.quire")), reject_bytes(name)).unwrap();
            let query = (when == "search").then(|| json!({"q": reject_query(name), "limit": 10}));
            lines.push(
                json!({"file": format!("{name}.quire"), "code": "damaged_search_index",
                       "when": when, "query": query, "what": what})
                .to_string(),
            );
        }
        fs::write(
            rdir.join("expected.json"),
            format!("[\n{}\n]\n", lines.join(",\n")),
        )
        .unwrap();
    }
    let listed: Value =
        serde_json::from_str(&fs::read_to_string(rdir.join("expected.json")).unwrap()).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), REJECT.len(), "expected.json is out of date");
    for (l, &(name, _, when, what)) in listed.iter().zip(REJECT) {
        let q = reject_query(name);
        assert_eq!(l["file"], format!("{name}.quire"));
        assert_eq!(l["code"], "damaged_search_index");
        assert_eq!(l["when"], when);
        assert_eq!(l["what"], what);
        if when == "search" {
            assert_eq!(l["query"], json!({"q": q, "limit": 10}), "{name}");
        } else {
            assert!(l["query"].is_null(), "{name}");
        }
        let path = rdir.join(format!("{name}.quire"));
        let bytes = fs::read(&path).unwrap();
        check_reject(name, &path, &bytes, when, &q);
        assert!(
            bytes == reject_bytes(name),
            "{name} is no longer reproduced"
        );
    }
    let all: BTreeSet<String> = REJECT.iter().map(|r| r.0.to_string()).collect();
    assert_eq!(quire_files(&rdir), all, "search/reject/ holds other files");
}
