//! Text extraction by content type: what of a body is indexed.
//!
//! HTML goes through html5ever's tokenizer (the WHATWG tokenizer Servo uses) with a small
//! sink of our own instead of a tree: the text is what a reader sees of the page, the
//! `<title>` is kept apart, and the work and memory are linear in the (capped) input.

use std::cell::{Cell, RefCell};

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

use crate::format::titles::cut;

/// The default of [`ExtractOptions::max_bytes`]: the first 1 MiB of a body's text is
/// indexed, the rest is not.
pub const DEFAULT_MAX_TEXT_BYTES: usize = 1 << 20;

/// The longest title [`extract`] returns, in bytes (the title index's limit, spec §14.1).
pub const MAX_TITLE_BYTES: usize = crate::format::titles::MAX_TEXT;

/// How a content type's bodies are read, as [`text_kind`] tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextKind {
    /// `text/html` and `application/xhtml+xml`: parsed, markup left out.
    Html,
    /// Other text (`text/*`, JSON, XML, JavaScript, YAML, TOML, SQL, …): indexed as it is.
    Plain,
    /// Everything else (images, audio, video, fonts, archives, PDF, `application/octet-stream`,
    /// unknown `application/*` types): not indexed.
    Binary,
}

/// Limits of [`extract`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExtractOptions {
    /// At most this many bytes of the body are read, and the text returned is at most this
    /// long (in bytes of UTF-8): a cap on both the work and the memory. The cut falls on a
    /// character boundary. Default [`DEFAULT_MAX_TEXT_BYTES`].
    pub max_bytes: usize,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions {
            max_bytes: DEFAULT_MAX_TEXT_BYTES,
        }
    }
}

impl ExtractOptions {
    /// The defaults with another byte cap.
    pub fn max_bytes(max_bytes: usize) -> Self {
        ExtractOptions { max_bytes }
    }
}

/// The indexable text of one body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Extracted {
    /// The text: for HTML, the page's text with whitespace runs collapsed to one space (or
    /// one `\n` where a block element began or ended) and no leading or trailing
    /// whitespace; for plain text, the text as it is. At most
    /// [`ExtractOptions::max_bytes`] bytes.
    pub text: String,
    /// The HTML document's `<title>`, whitespace collapsed, at most [`MAX_TITLE_BYTES`];
    /// `None` for plain text and for a page without one (or with an empty one).
    pub title: Option<String>,
    /// Whether the body was cut at the byte cap (its tail is not in `text`).
    pub truncated: bool,
}

/// How bodies of `content_type` are read: HTML, plain text, or not at all.
///
/// The type is matched without its parameters and case-insensitively. An empty type is
/// plain text (the archive's default content type, [`crate::DEFAULT_CONTENT_TYPE`], is
/// `text/plain`).
///
/// ```
/// use quire::text::{text_kind, TextKind};
/// assert_eq!(text_kind("text/html; charset=utf-8"), TextKind::Html);
/// assert_eq!(text_kind("text/markdown"), TextKind::Plain);
/// assert_eq!(text_kind("application/ld+json"), TextKind::Plain);
/// assert_eq!(text_kind("image/svg+xml"), TextKind::Binary);
/// ```
pub fn text_kind(content_type: &str) -> TextKind {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    let essence = essence.to_ascii_lowercase();
    if essence.is_empty() {
        return TextKind::Plain;
    }
    let (top, sub) = essence.split_once('/').unwrap_or((essence.as_str(), ""));
    match (top, sub) {
        ("text", "html") | ("application", "xhtml+xml") => TextKind::Html,
        ("text", _) => TextKind::Plain,
        ("application", sub) => {
            let textual = matches!(
                sub,
                "json"
                    | "xml"
                    | "javascript"
                    | "ecmascript"
                    | "x-javascript"
                    | "yaml"
                    | "x-yaml"
                    | "toml"
                    | "sql"
                    | "x-sh"
                    | "x-tex"
                    | "x-latex"
                    | "x-ndjson"
                    | "jsonl"
                    | "rtf"
            ) || sub.ends_with("+json")
                || sub.ends_with("+xml");
            if textual {
                TextKind::Plain
            } else {
                TextKind::Binary
            }
        }
        _ => TextKind::Binary,
    }
}

/// The indexable text of a body of `content_type`, or `None` for a binary type (see
/// [`text_kind`]).
///
/// Bytes are UTF-8, with invalid sequences replaced by U+FFFD, unless the type's `charset`
/// parameter is `iso-8859-1`, `latin1`, `us-ascii` or `windows-1252` (all read as
/// windows-1252, as browsers do). At most `options.max_bytes` of `body` are read.
///
/// ```
/// use quire::text::{extract, ExtractOptions};
/// let page = b"<html><head><title>Rain &amp; sun</title><style>p{}</style></head>\
///              <body><p>First<p>second<br>line<script>var x;</script></body></html>";
/// let out = extract("text/html", page, &ExtractOptions::default()).unwrap();
/// assert_eq!(out.title.as_deref(), Some("Rain & sun"));
/// assert_eq!(out.text, "First\nsecond\nline");
/// assert!(extract("image/png", b"\x89PNG", &ExtractOptions::default()).is_none());
/// ```
pub fn extract(content_type: &str, body: &[u8], options: &ExtractOptions) -> Option<Extracted> {
    let kind = text_kind(content_type);
    if kind == TextKind::Binary {
        return None;
    }
    let max = options.max_bytes;
    let truncated = body.len() > max;
    let head = &body[..body.len().min(max)];
    let decoded = if is_latin1(content_type) {
        decode_windows_1252(head)
    } else {
        decode_utf8(head, truncated)
    };
    let mut out = match kind {
        TextKind::Html => extract_html(&decoded, max),
        _ => Extracted {
            text: decoded,
            title: None,
            truncated: false,
        },
    };
    // Decoding may grow the text (U+FFFD is three bytes, a windows-1252 byte up to three).
    if out.text.len() > max {
        let n = cut(&out.text, max).len();
        out.text.truncate(n);
        out.truncated = true;
    }
    out.truncated |= truncated;
    Some(out)
}

/// Whether the type's charset parameter names one that [`decode_windows_1252`] reads.
fn is_latin1(content_type: &str) -> bool {
    content_type.split(';').skip(1).any(|param| {
        let Some((name, value)) = param.split_once('=') else {
            return false;
        };
        if !name.trim().eq_ignore_ascii_case("charset") {
            return false;
        }
        let value = value.trim().trim_matches('"').to_ascii_lowercase();
        matches!(
            value.as_str(),
            "iso-8859-1" | "iso8859-1" | "latin1" | "l1" | "windows-1252" | "cp1252" | "us-ascii"
        )
    })
}

/// UTF-8 with invalid sequences replaced by U+FFFD; when the bytes were cut at the cap, an
/// incomplete character at the very end is dropped rather than replaced.
fn decode_utf8(bytes: &[u8], cut_short: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut chunks = bytes.utf8_chunks().peekable();
    while let Some(chunk) = chunks.next() {
        out.push_str(chunk.valid());
        let invalid = chunk.invalid();
        let last = chunks.peek().is_none();
        if !invalid.is_empty() {
            let incomplete_tail = last && cut_short && invalid.len() < 4 && {
                // A prefix of a longer sequence: its lead byte announces more bytes than
                // are left.
                let lead = invalid[0];
                let need = match lead {
                    0xC2..=0xDF => 2,
                    0xE0..=0xEF => 3,
                    0xF0..=0xF4 => 4,
                    _ => 0,
                };
                need > invalid.len()
            };
            if !incomplete_tail {
                out.push(char::REPLACEMENT_CHARACTER);
            }
        }
    }
    out
}

/// windows-1252, as the WHATWG Encoding Standard reads the labels `iso-8859-1`, `latin1`,
/// `us-ascii` and `windows-1252`.
fn decode_windows_1252(bytes: &[u8]) -> String {
    // 0x80..=0x9F; the five holes (0x81, 0x8D, 0x8F, 0x90, 0x9D) map to the C1 controls.
    const HIGH: [char; 32] = [
        '\u{20AC}', '\u{81}', '\u{201A}', '\u{192}', '\u{201E}', '\u{2026}', '\u{2020}',
        '\u{2021}', '\u{2C6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8D}', '\u{17D}',
        '\u{8F}', '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}',
        '\u{2014}', '\u{2DC}', '\u{2122}', '\u{161}', '\u{203A}', '\u{153}', '\u{9D}', '\u{17E}',
        '\u{178}',
    ];
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => HIGH[usize::from(b - 0x80)],
            _ => char::from(b),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// HTML
// ---------------------------------------------------------------------------------------

/// Extract the text and title of an HTML document (already decoded), the text cut at
/// `max_bytes`.
///
/// What is left out: comments, doctype, attributes, and the contents of `<script>`,
/// `<style>`, `<noscript>`, `<template>`, `<iframe>`, `<noembed>` and `<noframes>`;
/// `<title>` goes to [`Extracted::title`] (the first one outside `<svg>` and
/// `<math>`). Entities are decoded. Every element but the inline ones of HTML's phrasing
/// content (`a`, `b`, `span`, `em`, …) separates words, so `<p>a</p><p>b</p>` and
/// `a<br>b` give two words, while `<b>a</b>b` gives one, as a browser shows them.
pub fn extract_html(html: &str, max_bytes: usize) -> Extracted {
    let sink = Sink {
        max_bytes,
        ..Sink::default()
    };
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    // The sink never asks for a script to run, so one feed consumes the whole input.
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    let sink = tokenizer.sink;
    let title = sink.title.into_inner();
    let title = collapse(&title, MAX_TITLE_BYTES);
    Extracted {
        text: sink.text.into_inner(),
        title: (!title.is_empty()).then_some(title),
        truncated: sink.full.get(),
    }
}

/// Whitespace runs of `s` as one space, trimmed, cut at `max` bytes.
fn collapse(s: &str, max: usize) -> String {
    let mut out = String::new();
    for word in s.split_whitespace() {
        if out.len() + 1 + word.len() > max {
            if out.is_empty() {
                out.push_str(cut(word, max));
            }
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// What separates the text before from the text after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
enum Gap {
    #[default]
    None,
    Space,
    Line,
}

/// The tokenizer's sink: it keeps the text and the title and tells the tokenizer which
/// elements hold raw text, as the tree builder would. Depths are saturating counters, so
/// stray end tags cannot underflow them.
#[derive(Default)]
struct Sink {
    max_bytes: usize,
    text: RefCell<String>,
    title: RefCell<String>,
    /// What comes before the next character of text.
    gap: Cell<Gap>,
    /// Inside a raw-text element whose text is left out (script, style, …): until the next
    /// end tag, which the tokenizer emits only for the element's own end tag.
    raw_skip: Cell<bool>,
    /// Inside the document's `<title>` (RCDATA, until the next end tag).
    in_title: Cell<bool>,
    /// A title was seen (later ones are body text of no use: left out).
    had_title: Cell<bool>,
    /// Open `<template>`, `<svg>`/`<math>` elements, and elements skipped by depth (in
    /// foreign content, where no raw-text state applies).
    template: Cell<u32>,
    foreign: Cell<u32>,
    foreign_skip: Cell<u32>,
    /// The text reached `max_bytes`: the rest is dropped.
    full: Cell<bool>,
}

/// Elements whose content is left out of the text (and, in HTML content, read raw).
fn skipped(name: &str) -> Option<RawKind> {
    Some(match name {
        "script" => RawKind::ScriptData,
        "style" | "noscript" | "iframe" | "noembed" | "noframes" => RawKind::Rawtext,
        _ => return None,
    })
}

/// HTML's inline (phrasing) elements: they do not separate words.
fn inline(name: &str) -> bool {
    matches!(
        name,
        "a" | "abbr"
            | "b"
            | "bdi"
            | "bdo"
            | "big"
            | "cite"
            | "code"
            | "data"
            | "del"
            | "dfn"
            | "em"
            | "font"
            | "i"
            | "ins"
            | "kbd"
            | "mark"
            | "nobr"
            | "q"
            | "s"
            | "samp"
            | "small"
            | "span"
            | "strike"
            | "strong"
            | "sub"
            | "sup"
            | "time"
            | "tt"
            | "u"
            | "var"
            | "wbr"
            | "ruby"
            | "rb"
            | "rp"
            | "rt"
            | "rtc"
            | "label"
            | "output"
            | "slot"
    )
}

impl Sink {
    fn tag(&self, tag: &Tag) -> TokenSinkResult<()> {
        let name: &str = &tag.name;
        let start = tag.kind == TagKind::StartTag;
        if !start {
            // In a raw-text element, the only end tag the tokenizer emits is its own.
            if self.raw_skip.replace(false) {
                self.separate(Gap::Space);
                return TokenSinkResult::Continue;
            }
            if self.in_title.replace(false) {
                return TokenSinkResult::Continue;
            }
        }
        let in_foreign = self.foreign.get() > 0;
        match name {
            "template" => {
                let t = &self.template;
                t.set(if start {
                    t.get().saturating_add(1)
                } else {
                    t.get().saturating_sub(1)
                });
            }
            "svg" | "math" if !(start && tag.self_closing) => {
                let f = &self.foreign;
                f.set(if start {
                    f.get().saturating_add(1)
                } else {
                    f.get().saturating_sub(1)
                });
            }
            "title" if start && !in_foreign && !tag.self_closing => {
                if self.had_title.replace(true) {
                    // A second title is text, not shown: left out as RCDATA all the same.
                    self.raw_skip.set(true);
                } else {
                    self.in_title.set(true);
                }
                return TokenSinkResult::RawData(RawKind::Rcdata);
            }
            "textarea" if start && !in_foreign => {
                self.separate(Gap::Line);
                return TokenSinkResult::RawData(RawKind::Rcdata);
            }
            "plaintext" if start && !in_foreign => {
                self.separate(Gap::Line);
                return TokenSinkResult::Plaintext;
            }
            _ => {}
        }
        if let Some(raw) = skipped(name) {
            if in_foreign {
                // <style> in SVG has no raw-text state: skip it by depth.
                if !tag.self_closing {
                    let d = &self.foreign_skip;
                    d.set(if start {
                        d.get().saturating_add(1)
                    } else {
                        d.get().saturating_sub(1)
                    });
                }
            } else if start {
                self.raw_skip.set(true);
                self.separate(Gap::Space);
                return TokenSinkResult::RawData(raw);
            }
        }
        if name == "br" || !inline(name) {
            self.separate(Gap::Line);
        }
        TokenSinkResult::Continue
    }

    fn separate(&self, gap: Gap) {
        if self.gap.get() < gap {
            self.gap.set(gap);
        }
    }

    fn chars(&self, s: &str) {
        if self.in_title.get() {
            let mut title = self.title.borrow_mut();
            // Whitespace is collapsed later; keep a little more than the cap for that.
            let room = (MAX_TITLE_BYTES * 2).saturating_sub(title.len());
            title.push_str(cut(s, room));
            return;
        }
        if self.raw_skip.get()
            || self.full.get()
            || self.template.get() > 0
            || self.foreign_skip.get() > 0
        {
            return;
        }
        let mut text = self.text.borrow_mut();
        for (i, word) in s.split(char::is_whitespace).enumerate() {
            if i > 0 {
                self.separate(Gap::Space);
            }
            if word.is_empty() {
                continue;
            }
            let sep = match self.gap.replace(Gap::None) {
                _ if text.is_empty() => "",
                Gap::None => "",
                Gap::Space => " ",
                Gap::Line => "\n",
            };
            if text.len() + sep.len() + word.len() > self.max_bytes {
                let room = self.max_bytes.saturating_sub(text.len() + sep.len());
                let part = cut(word, room);
                if !part.is_empty() {
                    text.push_str(sep);
                    text.push_str(part);
                }
                self.full.set(true);
                return;
            }
            text.push_str(sep);
            text.push_str(word);
        }
    }
}

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        match token {
            Token::TagToken(tag) => self.tag(&tag),
            Token::CharacterTokens(s) => {
                self.chars(&s);
                TokenSinkResult::Continue
            }
            _ => TokenSinkResult::Continue,
        }
    }

    fn adjusted_current_node_present_but_not_in_html_namespace(&self) -> bool {
        // CDATA sections are text inside <svg> and <math>, bogus comments elsewhere.
        self.foreign.get() > 0
    }
}
