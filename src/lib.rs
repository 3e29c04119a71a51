//! quire: a compact, versioned, read-optimised archive of articles.
//!
//! An archive is one file: a prelude of at most 16 KiB (header, section table, metadata and
//! the root of the index), a zstd dictionary sampled at pack time, an index of pages of at
//! most 16 KiB holding the entries in key order, and zstd-compressed blocks of titles and
//! bodies, every one of them checked against a CRC32 that an earlier checked range holds.
//! The reader opens it in constant time — from a memory map, any byte slice, a file read by
//! ranges, or (feature `remote`) an HTTP(S) or S3 URL — and returns any article by key by
//! reading one page and one block. The byte layout is specified in `spec/FORMAT.md` and
//! mirrored, section by section, by the [`format`](mod@format) module.
//!
//! ```
//! use quire::{Archive, ArchiveWriter, Date, NewEntry, WriterOptions};
//!
//! // Pack two articles in memory (ArchiveWriter::create writes a file atomically).
//! let mut writer = ArchiveWriter::in_memory(WriterOptions::default())?;
//! writer.add(
//!     &NewEntry::new("news/embassy", b"China says it is trying to negotiate...")
//!         .title("N. Korean Asylum Seekers Break Into Embassy in China")
//!         .date(Date::parse("2002-03-14").unwrap()),
//! )?;
//! writer.add(&NewEntry::new("news/weather", b"Sunny, then rain."))?;
//! let (out, summary) = writer.finish_into_inner()?;
//! assert_eq!(summary.entries, 2);
//!
//! // Read them back (Archive::open(path) memory-maps a file instead).
//! let archive = Archive::new(out.into_inner())?;
//! let entry = archive.get("news/embassy")?.expect("present");
//! assert_eq!(entry.date().unwrap().to_string(), "2002-03-14");
//! assert!(entry.body()?.starts_with(b"China says"));
//! // The title is stored compressed, just before the body in its block.
//! assert_eq!(entry.title()?, Some("N. Korean Asylum Seekers Break Into Embassy in China"));
//! assert!(archive.get("news/sports")?.is_none());
//! let keys: Vec<String> = archive
//!     .prefix("news/")
//!     .map(|e| e.map(|e| e.key().to_owned()))
//!     .collect::<Result<_, _>>()?;
//! assert_eq!(keys, ["news/embassy", "news/weather"]);
//! assert!(archive.verify().is_ok());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Robustness
//!
//! Archive bytes are untrusted. Every read is bounds-checked, every node and block is
//! checked against its CRC32 when it is used, no allocation is sized by an unchecked field,
//! and damage is reported as a [`ReadError::Damaged`] that says what ([`DamageKind`]) and
//! where ([`Location`]). Damage to one block leaves every other entry readable.

#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod error;
pub mod format;
#[cfg(feature = "jsonl")]
pub mod jsonl;
#[allow(unsafe_code)] // Archive::open maps the file.
mod reader;
pub mod source; // AnySource maps a file when OpenOptions::memory_map says so.
#[cfg(feature = "fulltext")]
pub mod text;
mod writer;

/// The README's code, compiled and run as a doctest so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use error::{DamageKind, Location, ReadError, ReadResult, Rule, WriteError};
pub use format::titles::MatchKind;
pub use format::{BadDate, Date};
pub use reader::{
    Archive, Body, BodyReader, Document, Entries, Entry, EntryInfo, PrefixIter, Problem,
    ReadCounters, Report, SearchHit, Snippet, Suggestion,
};
pub use writer::{
    ArchiveWriter, AtomicFile, DictionaryMode, DuplicatePolicy, IndexKind, NewEntry, Overwrite,
    Progress, Stage, Summary, WriterOptions, DEFAULT_CONTENT_TYPE,
};
