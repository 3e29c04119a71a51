//! Text analysis for full-text search (feature `fulltext`): what of an entry is indexed,
//! and how text and queries become terms.
//!
//! Two steps, both pure functions of their input:
//!
//! 1. [`extract`] turns a body into text by its content type: HTML through html5ever's
//!    tokenizer (markup, scripts, styles and comments left out, the `<title>` apart),
//!    other text as it is, binary types not at all; at most
//!    [`ExtractOptions::max_bytes`] (default 1 MiB) of a body is read.
//! 2. An [`Analyzer`], made from the archive's language (ISO 639-3), turns text into
//!    [`Token`]s: the term, its position (for phrases) and its byte range in the text (for
//!    snippets). Queries go through the same analyzer ([`Analyzer::analyze_query`]).
//!    [`Analyzer::identity`] names the analysis, for the archive to record.
//!
//! ```
//! use quire::text::{extract, Analyzer, ExtractOptions};
//!
//! let page = b"<html><head><title>Cats</title><script>let x = 1;</script></head>\
//!              <body><h1>Running&nbsp;cats</h1><p>They ran.</p></body></html>";
//! let text = extract("text/html; charset=utf-8", page, &ExtractOptions::default())
//!     .expect("HTML is text");
//! assert_eq!(text.title.as_deref(), Some("Cats"));
//! assert_eq!(text.text, "Running cats\nThey ran.");
//!
//! let analyzer = Analyzer::new(Some("eng"));
//! let tokens = analyzer.tokens(&text.text);
//! let terms: Vec<&str> = tokens.iter().map(|t| t.term.as_str()).collect();
//! assert_eq!(terms, ["run", "cat", "they", "ran"]);
//! // Positions count words; ranges point into the extracted text.
//! assert_eq!(tokens[3].position, 3);
//! assert_eq!(&text.text[tokens[3].range.clone()], "ran");
//! // The same analysis for a query.
//! assert_eq!(analyzer.analyze_query("CATS"), [quire::text::QueryPart::Term("cat".into())]);
//! ```

mod analyze;
mod extract;

pub use analyze::{
    Analyzer, CjkMode, PhraseTerm, QueryPart, Token, TokenRef, JIEBA_MIN_FREQ, JIEBA_WORDS,
    MAX_TERM_BYTES, MAX_WORD_BYTES, UNICODE_VERSION, VERSION,
};
pub use extract::{
    extract, extract_html, text_kind, ExtractOptions, Extracted, TextKind, DEFAULT_MAX_TEXT_BYTES,
    MAX_TITLE_BYTES,
};
