//! Tokenising by language: text to terms with positions and byte ranges.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

use frostem::{Algorithm, Stemmer};
use unicode_segmentation::UnicodeSegmentation;

use crate::format::titles::{fold, is_ideographic};

/// The version of the analysis, the `N` of `quire-text/N` in [`Analyzer::identity`].
///
/// It changes whenever some text could give other terms, positions or byte ranges than
/// before for the same identity string: other word boundaries (a new Unicode version of
/// UAX #29, a new `unicode-segmentation` minor), other folding (spec §14.1), a new Snowball
/// algorithm release (`frostem` minor), a new jieba model or algorithm (`jieba-rs` minor),
/// other limits ([`MAX_TERM_BYTES`], [`MAX_WORD_BYTES`]), other CJK handling or elision
/// rules, or another way of counting positions. Adding a language or a stemmer does not
/// change it: the new analyzer has a new `lang=`/`stem=` in its identity, and the old ones
/// give what they gave. Neither does another jieba dictionary: it gets a new name in
/// `cjk=` ([`CjkMode::name`]; `jieba` was jieba-rs's whole dictionary, `jieba-f70` is
/// [`JIEBA_MIN_FREQ`]'s), which a build without that dictionary refuses.
pub const VERSION: u32 = 1;

/// The least frequency of a word of jieba's dictionary that Chinese analysis keeps
/// ([`CjkMode::Jieba`]): the embedded dictionary is the lines of jieba-rs 0.11.0's
/// `src/data/dict.txt` whose frequency is at least this, unchanged and in order (spec
/// §15.1; `src/text/jieba_dict.py` makes it). Its 43,813 words (of 349,045) take about
/// 3.5 MB once loaded where the whole dictionary took 33 MB, which made a pack of the
/// Chinese corpus peak at 2.3× the memory of one without full-text search (and a reader
/// pay as much for one Chinese query); jieba's HMM still finds the words it lacks. From 65
/// up the words' trie fits jieba-rs's hash table of 65,536 slots (1 MiB); 70 leaves room.
pub const JIEBA_MIN_FREQ: u64 = 70;

/// How many words the embedded dictionary has ([`JIEBA_MIN_FREQ`]).
pub const JIEBA_WORDS: usize = 43_813;

/// The embedded dictionary, zstd-compressed: `word freq tag` lines (spec §15.1).
static JIEBA_DICT: &[u8] = include_bytes!("jieba_dict.txt.zst");

/// Bytes of the embedded dictionary's text (spec §15.1).
const JIEBA_DICT_BYTES: usize = 606_229;

/// The Unicode version of the word boundaries (UAX #29, as `unicode-segmentation` ~1.13
/// implements it). The folding is spec §14.1's, of Unicode 16.0.
pub const UNICODE_VERSION: (u8, u8, u8) = (17, 0, 0);

/// Longest term kept, in bytes of UTF-8 after folding and stemming: a longer one (a URL, a
/// hash, a run of base64) is dropped, not cut, so that two long words that share their
/// first 64 bytes do not become one term. It still takes its position.
pub const MAX_TERM_BYTES: usize = 64;

/// Longest word looked at, in bytes of the text: a longer one is dropped before folding
/// (no term of it could be short enough but in contrived text). It still takes its
/// position.
pub const MAX_WORD_BYTES: usize = 256;

/// How runs of CJK ideographs and kana are cut into terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CjkMode {
    /// Overlapping pairs of characters ("北京大学" → 北京, 京大, 大学 at consecutive
    /// positions), a run of one character as itself. A phrase of a query's bigrams finds
    /// exactly the texts that hold the query's characters in a row. The mode of Japanese
    /// and of every language but Chinese, and of text without a language.
    Bigram,
    /// Chinese words by jieba (jieba-rs 0.11) with the words of its dictionary whose
    /// frequency is at least [`JIEBA_MIN_FREQ`], and its HMM for the others
    /// ("我来到北京清华大学" → 我, 来到, 北京, 清华大学), one position each. The mode of
    /// Chinese (`zho`, `cmn`, `yue`).
    Jieba,
}

impl CjkMode {
    /// Its name in an identity: `bigram` or `jieba-f70` (jieba with the words of
    /// frequency 70 or more; an archive whose identity says `cjk=jieba`, made with jieba's
    /// whole dictionary before, is another tokenizer, which this build does not have).
    pub fn name(self) -> &'static str {
        match self {
            CjkMode::Bigram => "bigram",
            CjkMode::Jieba => "jieba-f70",
        }
    }
}

/// A term of analysed text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Token {
    /// The term: folded (spec §14.1: case, width, compatibility forms and diacritics), and
    /// stemmed where the language has a stemmer. Never empty, at most [`MAX_TERM_BYTES`].
    pub term: String,
    /// The word's index in the text, from 0: consecutive words have consecutive positions
    /// (a dropped word keeps its position; punctuation and spaces take none).
    pub position: u32,
    /// Where the word is in the text (bytes, on character boundaries): what a snippet marks.
    pub range: Range<usize>,
}

/// A term of analysed text, borrowed: what [`Analyzer::for_each_token`] hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRef<'a> {
    /// The term (see [`Token::term`]).
    pub term: &'a str,
    /// The word's index in the text (see [`Token::position`]).
    pub position: u32,
    /// Where the word is in the text (see [`Token::range`]).
    pub range: Range<usize>,
}

impl TokenRef<'_> {
    /// An owned copy.
    pub fn to_token(&self) -> Token {
        Token {
            term: self.term.to_owned(),
            position: self.position,
            range: self.range.clone(),
        }
    }
}

/// A term of a phrase in a query, with its offset from the phrase's first word.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhraseTerm {
    /// The term.
    pub term: String,
    /// Its position minus the position of the phrase's first term (0 for the first; a gap
    /// where the query had a dropped word).
    pub offset: u32,
}

/// A part of an analysed query (see [`Analyzer::analyze_query`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum QueryPart {
    /// A term that a document must hold.
    Term(String),
    /// Terms that must stand at these offsets from one another.
    Phrase(Vec<PhraseTerm>),
}

/// A language's analysis: how text becomes terms, for the full-text index and for queries
/// alike (a query must go through the same analyzer as the text it searches).
///
/// Words are found by UAX #29 word boundaries (words with no letter or digit, such as
/// punctuation and emoji, are skipped), except in runs of CJK ideographs and kana (see
/// [`CjkMode`]) and of Thai, Lao, Myanmar and Khmer, which are written without spaces
/// between words and are cut into bigrams of grapheme clusters whatever the language. Each word is lower-cased, stemmed when the language has a Snowball
/// stemmer, then folded as the title index folds (spec §14.1: NFKD, full case folding,
/// nonspacing marks dropped, NFC), so `Zürich` and `zurich` are one term; CJK terms are
/// only NFKC-normalized (so a half-width `ｶﾞ` is `ガ`, whose voicing mark is kept). In
/// French, Italian and Catalan an elided article or pronoun (`l'`, `d'`, `qu'`, …) is
/// dropped from the front of a word.
///
/// ```
/// use quire::text::Analyzer;
///
/// let english = Analyzer::new(Some("eng"));
/// assert_eq!(english.identity(), "quire-text/1 lang=eng stem=snowball-english cjk=bigram");
/// let tokens = english.tokens("Running to Zürich!");
/// let terms: Vec<&str> = tokens.iter().map(|t| t.term.as_str()).collect();
/// assert_eq!(terms, ["run", "to", "zurich"]);
/// assert_eq!(tokens[2].position, 2);
/// assert_eq!(&"Running to Zürich!"[tokens[2].range.clone()], "Zürich");
///
/// // Without a language: no stemming, CJK in bigrams.
/// let plain = Analyzer::new(None);
/// let terms: Vec<String> = plain.tokens("Running 北京大学").into_iter().map(|t| t.term).collect();
/// assert_eq!(terms, ["running", "北京", "京大", "大学"]);
/// ```
#[derive(Clone)]
pub struct Analyzer {
    language: Option<String>,
    stemmer: Option<(Stemmer, &'static str)>,
    cjk: CjkMode,
    elision: bool,
    identity: String,
}

impl fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Analyzer")
            .field("identity", &self.identity)
            .finish()
    }
}

impl Default for Analyzer {
    /// The analyzer of text without a language.
    fn default() -> Self {
        Analyzer::new(None)
    }
}

/// The languages with a stemmer: ISO 639-3 code, Snowball algorithm.
const STEMMERS: &[(&str, Algorithm)] = &[
    ("ara", Algorithm::Arabic),
    ("arb", Algorithm::Arabic),
    ("hye", Algorithm::Armenian),
    ("eus", Algorithm::Basque),
    ("cat", Algorithm::Catalan),
    ("ces", Algorithm::Czech),
    ("dan", Algorithm::Danish),
    ("nld", Algorithm::Dutch),
    ("eng", Algorithm::English),
    ("epo", Algorithm::Esperanto),
    ("est", Algorithm::Estonian),
    ("ekk", Algorithm::Estonian),
    ("fin", Algorithm::Finnish),
    ("fra", Algorithm::French),
    ("deu", Algorithm::German),
    ("ell", Algorithm::Greek),
    ("hin", Algorithm::Hindi),
    ("hun", Algorithm::Hungarian),
    ("ind", Algorithm::Indonesian),
    ("gle", Algorithm::Irish),
    ("ita", Algorithm::Italian),
    ("lit", Algorithm::Lithuanian),
    ("nep", Algorithm::Nepali),
    ("npi", Algorithm::Nepali),
    ("nor", Algorithm::Norwegian),
    ("nob", Algorithm::Norwegian),
    ("nno", Algorithm::Norwegian),
    ("fas", Algorithm::Persian),
    ("pes", Algorithm::Persian),
    ("pol", Algorithm::Polish),
    ("por", Algorithm::Portuguese),
    ("ron", Algorithm::Romanian),
    ("rus", Algorithm::Russian),
    ("srp", Algorithm::Serbian),
    ("spa", Algorithm::Spanish),
    ("swe", Algorithm::Swedish),
    ("tam", Algorithm::Tamil),
    ("tur", Algorithm::Turkish),
    ("ukr", Algorithm::Ukrainian),
    ("yid", Algorithm::Yiddish),
    ("ydd", Algorithm::Yiddish),
];

/// ISO 639-1 and 639-2/B codes of the languages quire treats specially, to their ISO 639-3
/// codes.
const ALIASES: &[(&str, &str)] = &[
    ("ar", "ara"),
    ("hy", "hye"),
    ("arm", "hye"),
    ("eu", "eus"),
    ("baq", "eus"),
    ("ca", "cat"),
    ("cs", "ces"),
    ("cze", "ces"),
    ("da", "dan"),
    ("nl", "nld"),
    ("dut", "nld"),
    ("en", "eng"),
    ("eo", "epo"),
    ("et", "est"),
    ("fi", "fin"),
    ("fr", "fra"),
    ("fre", "fra"),
    ("de", "deu"),
    ("ger", "deu"),
    ("el", "ell"),
    ("gre", "ell"),
    ("hi", "hin"),
    ("hu", "hun"),
    ("id", "ind"),
    ("ga", "gle"),
    ("it", "ita"),
    ("lt", "lit"),
    ("ne", "nep"),
    ("no", "nor"),
    ("nb", "nob"),
    ("nn", "nno"),
    ("fa", "fas"),
    ("per", "fas"),
    ("pl", "pol"),
    ("pt", "por"),
    ("ro", "ron"),
    ("rum", "ron"),
    ("ru", "rus"),
    ("sr", "srp"),
    ("es", "spa"),
    ("sv", "swe"),
    ("ta", "tam"),
    ("tr", "tur"),
    ("uk", "ukr"),
    ("yi", "yid"),
    ("zh", "zho"),
    ("chi", "zho"),
    ("ja", "jpn"),
    ("ko", "kor"),
];

/// Chinese: segmented by jieba.
const CHINESE: &[&str] = &["zho", "cmn", "yue"];

/// Languages whose elided articles and pronouns are dropped from the front of words.
const ELIDING: &[&str] = &["fra", "ita", "cat"];

/// Elided forms dropped from the front of a word, before an apostrophe (Lucene's French,
/// Italian and Catalan elision lists, merged).
const ELISIONS: &[&str] = &[
    "c", "d", "j", "l", "m", "n", "s", "t", "qu", "jusqu", "quoiqu", "lorsqu", "puisqu", "all",
    "dall", "dell", "nell", "sull", "coll", "pell", "gl", "agl", "dagl", "degl", "negl", "sugl",
    "un", "quell", "quest", "nessun", "buon", "bell", "sant",
];

/// The language code as quire records it: trimmed, lower-cased, the first of a list
/// (`eng,fra`), without a region or script (`en-US`), ISO 639-1 and 639-2/B codes of the
/// languages in [`STEMMERS`] and of Chinese, Japanese and Korean mapped to ISO 639-3.
/// `None` for an empty code, `und`, `mul`, `zxx`, or anything that is not 2 or 3 ASCII
/// letters.
fn canonical_language(code: &str) -> Option<String> {
    let first = code.split(',').next()?.trim();
    let base = first.split(['-', '_']).next()?.trim().to_ascii_lowercase();
    if !(2..=3).contains(&base.len()) || !base.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    if matches!(base.as_str(), "und" | "mul" | "zxx" | "mis") {
        return None;
    }
    let mapped = ALIASES
        .iter()
        .find(|(alias, _)| *alias == base)
        .map(|(_, code)| (*code).to_owned());
    Some(mapped.unwrap_or(base))
}

fn stemmer_name(algorithm: Algorithm) -> &'static str {
    algorithm.name()
}

fn stemmer_by_name(name: &str) -> Option<(Stemmer, &'static str)> {
    STEMMERS
        .iter()
        .map(|&(_, a)| a)
        .find(|a| stemmer_name(*a) == name)
        .map(|a| (Stemmer::new(a), stemmer_name(a)))
}

/// The embedded dictionary's text (`word freq tag` lines).
fn jieba_dict_text() -> Vec<u8> {
    // Our own bytes, not an archive's: the unit tests below decompress and check them.
    zstd::bulk::decompress(JIEBA_DICT, JIEBA_DICT_BYTES).expect("the embedded jieba dictionary")
}

/// The shared jieba instance: its dictionary ([`JIEBA_WORDS`] words) is decompressed and
/// loaded on first use, once per process; the text is dropped once loaded.
fn jieba() -> &'static jieba_rs::Jieba {
    static JIEBA: OnceLock<jieba_rs::Jieba> = OnceLock::new();
    JIEBA.get_or_init(|| {
        let text = jieba_dict_text();
        jieba_rs::Jieba::with_dict(&mut text.as_slice()).expect("the embedded jieba dictionary")
    })
}

/// How a script separates its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    /// By spaces and punctuation: UAX #29 finds the words.
    Spaced,
    /// CJK ideographs and kana (spec §14.1's ideographic characters) and half-width
    /// katakana: jieba's words or bigrams.
    Cjk,
    /// Thai, Lao, Myanmar and Khmer (with their marks), written without spaces between
    /// words, which UAX #29 leaves to a dictionary it does not have: bigrams.
    Unspaced,
}

fn script(c: char) -> Script {
    if is_ideographic(c) || ('\u{FF66}'..='\u{FF9F}').contains(&c) {
        Script::Cjk
    } else if matches!(u32::from(c), 0x0E00..=0x0EFF | 0x1000..=0x109F | 0x1780..=0x17FF | 0x19E0..=0x19FF | 0xAA60..=0xAA7F | 0xA9E0..=0xA9FF)
    {
        Script::Unspaced
    } else {
        Script::Spaced
    }
}

impl Analyzer {
    /// The analyzer of a language given by its code (the archive's `language` metadata:
    /// ISO 639-3 as ZIM uses, e.g. `eng`, `fra`, `deu`, `zho`, `jpn`, `rus`; 639-1 codes,
    /// a list such as `eng,fra` (the first counts) and a region (`en-US`) are accepted
    /// too). `None`, or a code that is not 2 or 3 ASCII letters, or `und`: text without a
    /// language (no stemming, CJK in bigrams).
    ///
    /// A language with a Snowball stemmer gets it (Arabic, Armenian, Basque, Catalan,
    /// Czech, Danish, Dutch, English, Esperanto, Estonian, Finnish, French, German, Greek,
    /// Hindi, Hungarian, Indonesian, Irish, Italian, Lithuanian, Nepali, Norwegian,
    /// Persian, Polish, Portuguese, Romanian, Russian, Serbian, Spanish, Swedish, Tamil,
    /// Turkish, Ukrainian, Yiddish); Chinese gets jieba's words ([`CjkMode::Jieba`]);
    /// every other language is analysed as text without a language, but its code is kept
    /// in the identity.
    pub fn new(language: Option<&str>) -> Analyzer {
        let language = language.and_then(canonical_language);
        let code = language.as_deref().unwrap_or("");
        let stemmer = STEMMERS
            .iter()
            .find(|(c, _)| *c == code)
            .map(|&(_, a)| (Stemmer::new(a), stemmer_name(a)));
        let cjk = if CHINESE.contains(&code) {
            CjkMode::Jieba
        } else {
            CjkMode::Bigram
        };
        let elision = ELIDING.contains(&code);
        Analyzer::build(language, stemmer, cjk, elision)
    }

    fn build(
        language: Option<String>,
        stemmer: Option<(Stemmer, &'static str)>,
        cjk: CjkMode,
        elision: bool,
    ) -> Analyzer {
        let mut identity = format!(
            "quire-text/{VERSION} lang={} stem=",
            language.as_deref().unwrap_or("und")
        );
        match &stemmer {
            Some((_, name)) => {
                identity.push_str("snowball-");
                identity.push_str(name);
            }
            None => identity.push_str("none"),
        }
        identity.push_str(" cjk=");
        identity.push_str(cjk.name());
        if elision {
            identity.push_str(" elision=1");
        }
        Analyzer {
            language,
            stemmer,
            cjk,
            elision,
            identity,
        }
    }

    /// The analyzer that an identity string names (what [`Analyzer::identity`] returned),
    /// or `None` when this build does not know it: another version, a stemmer or CJK mode
    /// it lacks, a field it does not know. A reader uses it to analyse queries as the
    /// archive's text was analysed, whatever its `language` metadata says.
    ///
    /// ```
    /// use quire::text::Analyzer;
    /// let a = Analyzer::new(Some("fra"));
    /// let b = Analyzer::from_identity(a.identity()).unwrap();
    /// assert_eq!(b.identity(), a.identity());
    /// assert!(Analyzer::from_identity("quire-text/99 lang=und stem=none cjk=bigram").is_none());
    /// ```
    pub fn from_identity(identity: &str) -> Option<Analyzer> {
        let mut fields = identity.split(' ');
        if fields.next()? != format!("quire-text/{VERSION}") {
            return None;
        }
        let (mut language, mut stemmer, mut cjk, mut elision) = (None, None, None, false);
        for field in fields {
            let (name, value) = field.split_once('=')?;
            match name {
                "lang" if language.is_none() => {
                    language = Some(if value == "und" {
                        None
                    } else {
                        Some(canonical_language(value).filter(|c| c == value)?)
                    })
                }
                "stem" if stemmer.is_none() => {
                    stemmer = Some(match value {
                        "none" => None,
                        _ => Some(stemmer_by_name(value.strip_prefix("snowball-")?)?),
                    })
                }
                "cjk" if cjk.is_none() => {
                    cjk = Some(match value {
                        "bigram" => CjkMode::Bigram,
                        "jieba-f70" => CjkMode::Jieba,
                        _ => return None,
                    })
                }
                "elision" if value == "1" => elision = true,
                _ => return None,
            }
        }
        let a = Analyzer::build(language?, stemmer?, cjk?, elision);
        (a.identity == identity).then_some(a)
    }

    /// Which tokenizer this is, as the archive records it:
    /// `quire-text/VERSION lang=CODE stem=snowball-ALGORITHM|none cjk=bigram|jieba-f70`,
    /// followed by ` elision=1` for French, Italian and Catalan. `CODE` is the language as
    /// [`Analyzer::new`] understood it (ISO 639-3 where quire knows the language), `und`
    /// without one. Two analyzers with the same identity give the same terms for the same
    /// text; [`VERSION`] says what changes it.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The language code (see [`Analyzer::identity`]), `None` without one.
    pub fn language(&self) -> Option<&str> {
        self.language.as_deref()
    }

    /// The Snowball algorithm's name (`english`, `french`, …), `None` without a stemmer.
    pub fn stemmer(&self) -> Option<&'static str> {
        self.stemmer.map(|(_, name)| name)
    }

    /// How CJK runs are cut.
    pub fn cjk_mode(&self) -> CjkMode {
        self.cjk
    }

    /// The tokens of `text`, in order.
    pub fn tokens(&self, text: &str) -> Vec<Token> {
        let mut out = Vec::new();
        self.for_each_token(text, |t| out.push(t.to_token()));
        out
    }

    /// Hand each token of `text` to `f`, in order, with no allocation per token: what the
    /// index writer uses.
    pub fn for_each_token(&self, text: &str, mut f: impl FnMut(TokenRef<'_>)) {
        let mut state = State::default();
        self.run(text, &mut state, &mut |t, _| f(t));
    }

    /// The parts of a query, analysed as text is (the same terms), so that a search finds
    /// what the index holds: each word is a [`QueryPart::Term`]; the words between double
    /// quotes (`"…"`, or `“…”`) make a [`QueryPart::Phrase`] (a single word between quotes
    /// is a term; an unclosed quote runs to the end), as does a CJK run that gives more
    /// than one bigram (so that `北京大学` finds those four characters in a row; the same
    /// for Thai, Lao, Myanmar and Khmer). Jieba's
    /// words of one run are separate terms.
    ///
    /// ```
    /// use quire::text::{Analyzer, PhraseTerm, QueryPart};
    /// let a = Analyzer::new(Some("eng"));
    /// let parts = a.analyze_query(r#"cats "New York" ..."#);
    /// assert_eq!(parts, [
    ///     QueryPart::Term("cat".into()),
    ///     QueryPart::Phrase(vec![
    ///         PhraseTerm { term: "new".into(), offset: 0 },
    ///         PhraseTerm { term: "york".into(), offset: 1 },
    ///     ]),
    /// ]);
    /// ```
    pub fn analyze_query(&self, query: &str) -> Vec<QueryPart> {
        let mut parts = Vec::new();
        for (i, piece) in query.split(['"', '\u{201C}', '\u{201D}']).enumerate() {
            let quoted = i % 2 == 1;
            let mut state = State::default();
            let mut phrase: Vec<(String, u32)> = Vec::new();
            let mut run: Option<usize> = None;
            let flush =
                |phrase: &mut Vec<(String, u32)>, parts: &mut Vec<QueryPart>| match phrase.len() {
                    0 => {}
                    1 => parts.push(QueryPart::Term(phrase.remove(0).0)),
                    _ => {
                        let first = phrase[0].1;
                        parts.push(QueryPart::Phrase(
                            phrase
                                .drain(..)
                                .map(|(term, p)| PhraseTerm {
                                    term,
                                    offset: p.saturating_sub(first),
                                })
                                .collect(),
                        ))
                    }
                };
            self.run(piece, &mut state, &mut |t, bigram_run| {
                if quoted {
                    phrase.push((t.term.to_owned(), t.position));
                } else if let Some(id) = bigram_run {
                    if run != Some(id) {
                        flush(&mut phrase, &mut parts);
                        run = Some(id);
                    }
                    phrase.push((t.term.to_owned(), t.position));
                } else {
                    flush(&mut phrase, &mut parts);
                    run = None;
                    parts.push(QueryPart::Term(t.term.to_owned()));
                }
            });
            flush(&mut phrase, &mut parts);
        }
        parts
    }

    /// The analysis: `emit` gets each token and, for a bigram of a CJK run, the run's
    /// number (so that a query can keep a run's bigrams together).
    fn run(
        &self,
        text: &str,
        state: &mut State,
        emit: &mut dyn FnMut(TokenRef<'_>, Option<usize>),
    ) {
        let mut runs = 0usize;
        let mut rest = text;
        let mut base = 0usize;
        while !rest.is_empty() {
            let start = rest
                .find(|c| script(c) != Script::Spaced)
                .unwrap_or(rest.len());
            let (plain, tail) = rest.split_at(start);
            for (at, word) in plain.unicode_word_indices() {
                self.word(word, base + at, state, emit);
            }
            base += plain.len();
            let Some(kind) = tail.chars().next().map(script) else {
                break;
            };
            let len = tail.find(|c| script(c) != kind).unwrap_or(tail.len());
            let (run, tail) = tail.split_at(len);
            runs += 1;
            match (kind, self.cjk) {
                (Script::Cjk, CjkMode::Jieba) => {
                    for token in jieba().cut(run, true) {
                        if let Some(word) = run.get(token.byte_start..token.byte_end) {
                            unspaced_term(word, base + token.byte_start, None, state, emit);
                        }
                    }
                }
                _ => bigrams(run, base, runs, state, emit),
            }
            base += run.len();
            rest = tail;
        }
    }

    /// One word of a non-CJK run, at byte `at` of the text.
    fn word(
        &self,
        word: &str,
        at: usize,
        state: &mut State,
        emit: &mut dyn FnMut(TokenRef<'_>, Option<usize>),
    ) {
        let position = state.next_position();
        if word.len() > MAX_WORD_BYTES {
            return;
        }
        let term = self.term(word, &mut state.buf);
        if term.is_empty()
            || term.len() > MAX_TERM_BYTES
            || !term.chars().any(char::is_alphanumeric)
        {
            return;
        }
        emit(
            TokenRef {
                term,
                position,
                range: at..at + word.len(),
            },
            None,
        );
    }

    /// The term of a word: lower-cased, elision dropped, stemmed, folded.
    fn term<'b>(&self, word: &str, buf: &'b mut String) -> &'b str {
        buf.clear();
        if word.is_ascii() {
            buf.push_str(word);
            buf.make_ascii_lowercase();
        } else {
            // Lower case before stemming, with the diacritics the stemmer reads; the
            // typographic apostrophe as the ASCII one (English possessives, elision).
            let cased = caseless::default_case_fold_str(word);
            buf.extend(
                unicode_normalization::UnicodeNormalization::nfc(cased.as_str()).map(|c| {
                    if c == '\u{2019}' {
                        '\''
                    } else {
                        c
                    }
                }),
            );
        }
        if self.elision {
            if let Some((head, tail)) = buf.split_once('\'') {
                if !tail.is_empty() && ELISIONS.contains(&head) {
                    let cut = head.len() + 1;
                    buf.drain(..cut);
                }
            }
        }
        if let Some((stemmer, _)) = &self.stemmer {
            if let Cow::Owned(stem) = stemmer.stem(buf) {
                *buf = stem;
            }
        }
        if !buf.is_ascii() {
            *buf = fold(buf);
        }
        buf.as_str()
    }
}

/// Positions and the scratch buffer of one analysis.
#[derive(Default)]
struct State {
    position: u32,
    buf: String,
}

impl State {
    fn next_position(&mut self) -> u32 {
        let p = self.position;
        self.position = self.position.saturating_add(1);
        p
    }
}

/// Bigrams of a run of CJK or of a script written without spaces, at byte `base` of the
/// text: overlapping pairs of grapheme clusters (so that a mark, such as a kana voicing
/// mark or a Thai vowel, stays with its letter); a run of one cluster is itself.
fn bigrams(
    run: &str,
    base: usize,
    id: usize,
    state: &mut State,
    emit: &mut dyn FnMut(TokenRef<'_>, Option<usize>),
) {
    let mut starts: Vec<usize> = run.grapheme_indices(true).map(|(i, _)| i).collect();
    starts.push(run.len());
    if starts.len() == 2 {
        unspaced_term(run, base, Some(id), state, emit);
        return;
    }
    for w in starts.windows(3) {
        if let Some(pair) = run.get(w[0]..w[2]) {
            unspaced_term(pair, base + w[0], Some(id), state, emit);
        }
    }
}

/// A term of a CJK run or of a script written without spaces: NFKC (width and
/// compatibility forms), no case, no stemming, marks kept.
fn unspaced_term(
    word: &str,
    at: usize,
    run: Option<usize>,
    state: &mut State,
    emit: &mut dyn FnMut(TokenRef<'_>, Option<usize>),
) {
    let position = state.next_position();
    let buf = &mut state.buf;
    buf.clear();
    buf.extend(unicode_normalization::UnicodeNormalization::nfkc(word));
    if buf.is_empty() || buf.len() > MAX_TERM_BYTES || !buf.chars().any(char::is_alphanumeric) {
        return;
    }
    emit(
        TokenRef {
            term: buf,
            position,
            range: at..at + word.len(),
        },
        run,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xxh3-64 of the embedded dictionary's text (the spec gives its SHA-256, 31a1e026…).
    const JIEBA_DICT_XXH3: u64 = 14_970_019_566_291_422_242;

    /// The embedded dictionary is what spec §15.1 says: jieba-rs 0.11.0's lines of
    /// frequency ≥ [`JIEBA_MIN_FREQ`], well-formed, in its order, and jieba loads it whole.
    #[test]
    fn embedded_jieba_dictionary() {
        let text = jieba_dict_text();
        assert_eq!(text.len(), JIEBA_DICT_BYTES);
        assert_eq!(xxhash_rust::xxh3::xxh3_64(&text), JIEBA_DICT_XXH3);
        let text = std::str::from_utf8(&text).unwrap();
        assert!(text.ends_with('\n'));
        let mut words = std::collections::HashSet::new();
        let mut least = u64::MAX;
        for line in text.lines() {
            let fields: Vec<&str> = line.split(' ').collect();
            let [word, freq, tag] = fields[..] else {
                panic!("not `word freq tag`: {line:?}");
            };
            assert!(!word.is_empty() && !tag.is_empty(), "{line:?}");
            assert!(freq.bytes().all(|b| b.is_ascii_digit()), "{line:?}");
            let freq: u64 = freq.parse().unwrap();
            assert!(freq >= JIEBA_MIN_FREQ, "{line:?}");
            least = least.min(freq);
            assert!(words.insert(word), "twice: {word}");
        }
        assert_eq!(words.len(), JIEBA_WORDS);
        assert_eq!(
            least, JIEBA_MIN_FREQ,
            "the threshold is the least frequency kept"
        );
        let jieba = jieba();
        assert!(words.iter().all(|w| jieba.has_word(w)));
        // Words just below the threshold (frequency 69 in dict.txt) are not in it, those at
        // it (70) are.
        assert!(!jieba.has_word("一蹴而就") && !jieba.has_word("七七事变"));
        assert!(jieba.has_word("一个头") && jieba.has_word("丁基"));
        assert!(jieba.has_word("清华大学") && jieba.has_word("北京"));
    }
}
