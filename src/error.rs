//! Error types: [`ReadError`] for reading archives, [`WriteError`] for writing them.
//!
//! Damage to an archive is a [`ReadError::Damaged`]: a [`Location`] (the header, a section,
//! block *n*, entry *n*, index node at *offset*, …) and a [`DamageKind`] (what is wrong there), both plain
//! data that a program can match on; the messages are built from them by `Display`.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::format::SectionId;

/// Where in an archive a problem lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Location {
    /// The archive as a whole (its length).
    File,
    /// The prelude: header, section table, or its checksum (§2).
    Prelude,
    /// META (§3).
    Meta,
    /// CTYPES (§4).
    ContentTypes,
    /// A section known to this reader, as a whole.
    Section(SectionId),
    /// A section with an id this reader does not know (checked by `verify` only).
    UnknownSection(u32),
    /// The dictionary (§5).
    Dictionary,
    /// The root node of the index, in the prelude (§6).
    Root,
    /// The index node at this file offset (§6).
    Node(u64),
    /// Block `n`: its stored or its decompressed bytes (§5).
    Block(u32),
    /// Entry `n`: its record or its lead (§7).
    Entry(u64),
    /// The title index (§14): its header, root or a page, at this file offset.
    TitleIndex(u64),
    /// The full-text index (§15): its header, root, a page, a list or a block, at this file
    /// offset.
    SearchIndex(u64),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File => f.write_str("file"),
            Location::Prelude => f.write_str("prelude"),
            Location::Meta => f.write_str("metadata (META)"),
            Location::ContentTypes => f.write_str("content types (CTYPES)"),
            Location::Section(id) => write!(f, "section '{}'", id.name()),
            Location::UnknownSection(id) => write!(f, "section #{id}"),
            Location::Dictionary => f.write_str("dictionary"),
            Location::Root => f.write_str("index root"),
            Location::Node(at) => write!(f, "index node at offset {at}"),
            Location::Block(n) => write!(f, "block {n}"),
            Location::Entry(n) => write!(f, "entry {n}"),
            Location::TitleIndex(at) => write!(f, "title index at offset {at}"),
            Location::SearchIndex(at) => write!(f, "full-text index at offset {at}"),
        }
    }
}

/// A consistency rule of the format that a field breaks (the spec section says more).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// The DICT flag is set exactly when the DICT section is non-empty (§2.4).
    DictFlag,
    /// RAW_DICT only with a dictionary, and the dictionary's first bytes agree with it (§5).
    DictKind,
    /// The prelude's parts add up to `prelude_len`, the root is not empty (§2.1).
    PreludeLength,
    /// Reserved bytes are zero (§2.1, §2.2).
    Reserved,
    /// Block and stream counts agree: `block_count ≤ stream_len ≤ block_count ·
    /// max_block_len`, DATA empty iff there are no blocks (§2.1, §11).
    StreamLength,
    /// Sections tile the file from the end of the prelude to `file_len`, in table order
    /// (§2.2).
    Tiling,
    /// Each known section appears once (§2.2).
    UniqueSection,
    /// Every section of this version is present (§2.2).
    RequiredSection,
    /// Names in META and content types in CTYPES are unique (§3, §4).
    Unique,
    /// A block's stored bytes lie inside DATA and its stream range inside the stream (§5).
    BlockInData,
    /// A block's lengths are non-zero, `stored_len ≤ raw_len` and `raw_len ≤ max_block_len`
    /// (§5).
    BlockLength,
    /// A raw (codec 0) block's stored and raw lengths are equal (§5).
    RawBlockLength,
    /// Runs of blocks follow each other and agree between pages; foreign blocks lie outside
    /// the run in increasing order (§6.2).
    BlockRun,
    /// A node's kind matches its level (§6.1).
    NodeKind,
    /// A node is 1..=16384 bytes (§6.1).
    NodeLength,
    /// A packed node declares 1..=16384 bytes, at most 16 × its own length (§6.5).
    PackedNode,
    /// Entry counts of a branch's children add up, none is zero (§6.3).
    EntryCount,
    /// Separators: the first empty, then increasing, each between its neighbours' keys
    /// (§6.3).
    Separator,
    /// Restart entries: whole keys, explicit positions, offsets inside the entries (§6.2,
    /// §7.1).
    Restart,
    /// Entry flags: only known bits (§7.1).
    EntryFlags,
    /// A key is 1..=4096 bytes (§7.1).
    KeyLength,
    /// Keys increase strictly through the archive (§7.1).
    KeyOrder,
    /// A lead is at most 16 MiB and its fields fill it (§7.1, §7.3).
    Lead,
    /// A lead or body lies inside its page's blocks and inside the stream (§7.1).
    BodyRange,
    /// A shared body is non-empty; the SHARED_BODIES flag is set exactly when some entry
    /// shares a body (§7.2).
    SharedBody,
    /// An entry has at most one title (§7.3).
    OneTitle,
    /// A record does not run past the end of its area (§3, §4, §6, §7).
    RecordBounds,
    /// Nodes lie in INDEX level by level, each exactly once: a child before its parent, each
    /// node of a walk where the previous one of its level ended, the root's children ending
    /// at INDEX's end (§6.4).
    NodePlace,
    /// A page's keys lie within the bounds its parents' separators give (§6.3).
    KeyBounds,
    /// The title index lists exactly the archive's entries, in order, each with a word-start
    /// record for every word start of its folded title (§14.4).
    TitleRows,
    /// A tops list is exactly the first suggestions of its prefix (§14.5).
    TopsList,
    /// Every entry takes at least 7 bytes of its page: the entry count is at most a seventh
    /// of the index's bytes (§6.4).
    EntryBound,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rule::DictFlag => "the DICT flag does not agree with the dictionary section",
            Rule::DictKind => "the dictionary's kind does not agree with the RAW_DICT flag",
            Rule::PreludeLength => "the prelude's parts do not add up to its length",
            Rule::Reserved => "a reserved field is not zero",
            Rule::StreamLength => "the stream length does not fit the blocks",
            Rule::Tiling => "the sections overlap, leave a gap or run past the end",
            Rule::UniqueSection => "a section appears twice",
            Rule::RequiredSection => "a required section is missing",
            Rule::Unique => "a name appears twice",
            Rule::BlockInData => "a block lies outside the data section or the stream",
            Rule::BlockLength => {
                "a block's length is zero, its stored bytes longer than its raw ones, or over max_block_len"
            }
            Rule::RawBlockLength => "a stored (raw) block's lengths differ",
            Rule::BlockRun => "block records do not follow each other or disagree",
            Rule::NodeKind => "the node's kind does not match its level",
            Rule::NodeLength => "a node's length is not in 1..=16384",
            Rule::PackedNode => {
                "a packed node declares no bytes, over 16384, or over 16 × its own length"
            }
            Rule::EntryCount => "entry counts do not add up",
            Rule::Separator => "separators are out of order",
            Rule::Restart => "a restart entry or offset is malformed",
            Rule::EntryFlags => "unknown entry flags",
            Rule::KeyLength => "the key length is not in 1..=4096",
            Rule::KeyOrder => "keys are out of order",
            Rule::Lead => "the lead is too long or its fields do not fill it",
            Rule::BodyRange => "the lead or body runs outside its page's blocks",
            Rule::SharedBody => {
                "a shared body is empty, is not an earlier entry's body, or the SHARED_BODIES flag is wrong"
            }
            Rule::OneTitle => "more than one title",
            Rule::RecordBounds => "a record runs past the end of its area",
            Rule::NodePlace => {
                "the node is not where the index's layout puts it (a shared child, a cycle, a gap or bytes after the last node)"
            }
            Rule::KeyBounds => "keys lie outside the bounds the separators above give",
            Rule::TitleRows => {
                "the title index does not list exactly the archive's entries, in order, with their word starts"
            }
            Rule::TopsList => "a tops list is not the first suggestions of its prefix",
            Rule::EntryBound => "more entries than the index has bytes for",
        })
    }
}

/// What is wrong at a [`Location`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DamageKind {
    /// A CRC32 does not match (of stored bytes, a node, the prelude or a section).
    ChecksumMismatch,
    /// A block's decompressed bytes do not match the CRC32 its page gives: the block decodes
    /// to other bytes than the ones written (another dictionary, another archive).
    DecodedChecksumMismatch,
    /// A stored block breaks the rules for its zstd frame (§5).
    Frame(crate::format::blocks::FrameProblem),
    /// The file ends at `file_len` before this part, which ends at `end`.
    Truncated {
        /// Where the part ends.
        end: u64,
        /// How long the file is.
        file_len: u64,
    },
    /// The file is longer than the header says.
    TrailingBytes {
        /// The length the header gives.
        expected: u64,
        /// How long the file is.
        file_len: u64,
    },
    /// A count or length is over the format's limit.
    OverLimit {
        /// The value found.
        value: u64,
        /// The largest value allowed.
        limit: u64,
    },
    /// A consistency rule of the format is broken.
    Violates(Rule),
    /// A string is not valid UTF-8.
    NotUtf8,
    /// An entry names a content type past the end of the table.
    UnknownContentType(u32),
    /// An entry's date is not a valid `YYYYMMDD` (§6).
    ImpossibleDate(u32),
    /// A block record has a codec this reader does not know.
    UnknownCodec(u8),
    /// A record names a block that does not exist.
    NoSuchBlock(u64),
    /// zstd could not decompress the bytes.
    Undecodable,
    /// The bytes decompressed to another length than the one recorded.
    WrongLength {
        /// The length recorded.
        expected: u64,
        /// The length they decompressed to.
        actual: u64,
    },
    /// The dictionary is not one zstd frame that declares a non-empty size.
    NotAFrame,
}

impl fmt::Display for DamageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DamageKind::ChecksumMismatch => f.write_str("checksum mismatch"),
            DamageKind::DecodedChecksumMismatch => {
                f.write_str("decompressed bytes do not match their checksum")
            }
            DamageKind::Frame(p) => write!(f, "stored frame: {p}"),
            DamageKind::Truncated { end, file_len } => {
                write!(f, "truncated: ends at {end}, file is {file_len} bytes")
            }
            DamageKind::TrailingBytes { expected, file_len } => write!(
                f,
                "file is {file_len} bytes but the header says {expected} (extra bytes at the end)"
            ),
            DamageKind::OverLimit { value, limit } => {
                write!(f, "{value} is over the limit of {limit}")
            }
            DamageKind::Violates(rule) => rule.fmt(f),
            DamageKind::NotUtf8 => f.write_str("a string is not UTF-8"),
            DamageKind::UnknownContentType(n) => {
                write!(f, "content type {n} is not in the table")
            }
            DamageKind::ImpossibleDate(d) => write!(f, "impossible date {d}"),
            DamageKind::UnknownCodec(c) => write!(f, "unknown codec {c}"),
            DamageKind::NoSuchBlock(n) => write!(f, "names block {n}, which does not exist"),
            DamageKind::Undecodable => f.write_str("does not decompress"),
            DamageKind::WrongLength { expected, actual } => {
                write!(f, "decompresses to {actual} bytes instead of {expected}")
            }
            DamageKind::NotAFrame => f.write_str("not a zstd frame that declares a non-empty size"),
        }
    }
}

/// Everything that can go wrong reading an archive.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadError {
    /// An I/O error opening, mapping or reading the archive.
    Io {
        /// The file, when known.
        path: Option<PathBuf>,
        /// What the operating system said.
        source: io::Error,
    },
    /// Writing what was read to the caller's writer failed ([`Entry::write_body_to`]): the
    /// archive was read, the output was not written. A closed pipe is `BrokenPipe` here.
    ///
    /// [`Entry::write_body_to`]: crate::Entry::write_body_to
    Output(io::Error),
    /// The file does not start with the quire magic number.
    BadMagic,
    /// The file is empty (0 bytes): no archive, and no magic number (code `not_quire`, as
    /// [`BadMagic`](ReadError::BadMagic)). Said by [`Archive::open_any`](crate::Archive::open_any)
    /// and [`Archive::open_source`](crate::Archive::open_source), which the CLI and the
    /// bindings open with.
    Empty,
    /// The file is too short to hold its prelude, or the prelude's length is out of range
    /// (§2.3).
    TruncatedPrelude {
        /// The prelude length the file gives, when it is long enough to give one.
        prelude_len: Option<u64>,
        /// How long the file is.
        file_len: u64,
    },
    /// The major version is not one this reader knows.
    UnsupportedVersion {
        /// Major version found.
        major: u16,
        /// Minor version found.
        minor: u16,
    },
    /// A required feature flag this reader does not know.
    UnsupportedFeatures {
        /// The unknown bits.
        flags: u64,
    },
    /// The archive is damaged (or was made to lie): what, and where.
    Damaged {
        /// Where.
        at: Location,
        /// What.
        kind: DamageKind,
    },
    /// A format 3.0 archive whose blocks are larger than format 3.1 allows (4 MiB): written
    /// with a body over 2 GiB or a block size over 4 MiB. This reader refuses it rather than
    /// allocate such blocks; re-pack it (§2.1).
    BlocksOverLimit {
        /// The archive's `max_block_len`.
        max_block_len: u32,
    },
    /// Entries a walk in key order passed over: the index node that holds them could not be
    /// read, so they are lost (and so may be their keys), and the walk went on after them.
    Skipped {
        /// The first entry lost.
        first: u64,
        /// How many.
        count: u64,
        /// Their keys are at least this, as far as the separators above them tell (`None`:
        /// no bound, from the first key).
        from: Option<String>,
        /// Their keys are below this (`None`: no bound, to the last key).
        to: Option<String>,
        /// Why the node could not be read.
        cause: Box<ReadError>,
    },
    /// The archive has no title index (it was packed without one: `--index none`), so it
    /// cannot suggest titles (code `no_title_index`).
    NoTitleIndex,
    /// The archive has no full-text index (it was packed without `--index full`), so it
    /// cannot answer searches (code `no_search_index`).
    NoSearchIndex,
    /// The archive's full-text index was made by a tokenizer this reader does not implement
    /// (spec §15.1): text queries are refused, since other terms would give silently
    /// incomplete results (code `unsupported_tokenizer`).
    UnsupportedTokenizer {
        /// The tokenizer string the archive records.
        tokenizer: String,
    },
    /// A query over the limits of spec §15.2 (4096 bytes, 64 distinct terms): an error of
    /// the query, not of the archive (code `invalid_query`).
    InvalidQuery {
        /// Why.
        reason: &'static str,
    },
    /// An entry number past the end.
    EntryOutOfRange {
        /// The entry asked for.
        index: u64,
        /// How many entries there are.
        len: u64,
    },
}

impl ReadError {
    /// `kind` at `at`.
    pub(crate) fn damaged(at: Location, kind: DamageKind) -> ReadError {
        ReadError::Damaged { at, kind }
    }

    /// A broken rule at `at`.
    pub(crate) fn violates(at: Location, rule: Rule) -> ReadError {
        ReadError::Damaged {
            at,
            kind: DamageKind::Violates(rule),
        }
    }

    /// A checksum mismatch at `at`.
    pub(crate) fn checksum(at: Location) -> ReadError {
        ReadError::Damaged {
            at,
            kind: DamageKind::ChecksumMismatch,
        }
    }

    /// Where the damage is, for [`ReadError::Damaged`].
    pub fn location(&self) -> Option<Location> {
        match self {
            ReadError::Damaged { at, .. } => Some(*at),
            ReadError::Skipped { cause, .. } => cause.location(),
            _ => None,
        }
    }

    /// What the damage is, for [`ReadError::Damaged`].
    pub fn damage(&self) -> Option<DamageKind> {
        match self {
            ReadError::Damaged { kind, .. } => Some(*kind),
            ReadError::Skipped { cause, .. } => cause.damage(),
            _ => None,
        }
    }

    /// The stable error code of spec §11 (`damaged_node`, `length_mismatch`, …), or `io` for
    /// an I/O error reading the archive, `output` for one writing to the caller's writer and
    /// `entry_out_of_range` for a caller's out-of-range entry number.
    pub fn code(&self) -> &'static str {
        match self {
            ReadError::Io { .. } => "io",
            ReadError::Output(_) => "output",
            ReadError::BadMagic | ReadError::Empty => "not_quire",
            ReadError::TruncatedPrelude { .. } => "truncated_prelude",
            ReadError::UnsupportedVersion { .. } => "unsupported_version",
            ReadError::UnsupportedFeatures { .. } | ReadError::BlocksOverLimit { .. } => {
                "unsupported_feature"
            }
            ReadError::Damaged { at, kind } => damage_code(*at, *kind),
            ReadError::Skipped { cause, .. } => cause.code(),
            ReadError::EntryOutOfRange { .. } => "entry_out_of_range",
            ReadError::NoTitleIndex => "no_title_index",
            ReadError::NoSearchIndex => "no_search_index",
            ReadError::UnsupportedTokenizer { .. } => "unsupported_tokenizer",
            ReadError::InvalidQuery { .. } => "invalid_query",
        }
    }
}

/// The §11 code of damage `kind` found at `at`.
pub fn damage_code(at: Location, kind: DamageKind) -> &'static str {
    match (at, kind) {
        (Location::File, _) => "length_mismatch",
        (Location::Prelude | Location::Meta | Location::ContentTypes, _) => "damaged_prelude",
        (Location::Section(SectionId::Dict) | Location::Dictionary, _) => "damaged_dictionary",
        (Location::Section(SectionId::Index) | Location::Root | Location::Node(_), _) => {
            "damaged_node"
        }
        (Location::Section(SectionId::Data), DamageKind::ChecksumMismatch) => {
            "damaged_block_stored"
        }
        (Location::Section(SectionId::Data), _) => "damaged_node",
        (Location::UnknownSection(_), _) => "damaged_prelude",
        (Location::Block(_), DamageKind::ChecksumMismatch) => "damaged_block_stored",
        (Location::Block(_), DamageKind::DecodedChecksumMismatch) => "damaged_block_raw",
        (Location::Block(_), _) => "damaged_block_frame",
        (Location::Entry(_), _) => "damaged_entry",
        (Location::TitleIndex(_), _) => "damaged_title_index",
        (Location::SearchIndex(_), _) => "damaged_search_index",
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The source is returned by `source()`, not repeated here.
            ReadError::Io { path: Some(p), .. } => write!(f, "cannot read {}", p.display()),
            ReadError::Io { path: None, .. } => f.write_str("cannot read the archive"),
            ReadError::Output(_) => f.write_str("cannot write the output"),
            ReadError::Empty => f.write_str("not a quire archive: the file is empty (0 bytes)"),
            ReadError::BadMagic => f.write_str(
                "not a quire archive (bad magic number; was it transferred in text mode?)",
            ),
            ReadError::TruncatedPrelude {
                prelude_len: Some(p),
                file_len,
            } => write!(
                f,
                "truncated or damaged prelude: it says {p} bytes (22..=16384), file is {file_len} bytes"
            ),
            ReadError::TruncatedPrelude {
                prelude_len: None,
                file_len,
            } => write!(f, "truncated prelude: file is only {file_len} bytes"),
            ReadError::UnsupportedVersion { major, minor } => write!(
                f,
                "unsupported format version {major}.{minor} (this reader knows {}.x)",
                crate::format::VERSION_MAJOR
            ),
            ReadError::UnsupportedFeatures { flags } => write!(
                f,
                "archive needs features this reader does not know (required flags {flags:#x})"
            ),
            ReadError::BlocksOverLimit { max_block_len } => write!(
                f,
                "archive has blocks of up to {max_block_len} bytes, over format 3.1's limit of {} \
                 (a 3.0 archive with a body over 2 GiB or a block size over 4 MiB): re-pack it",
                crate::format::MAX_BLOCK_LEN
            ),
            ReadError::Damaged { at, kind } => write!(f, "damaged archive: {at}: {kind}"),
            ReadError::Skipped {
                first,
                count,
                from,
                to,
                cause,
            } => {
                let last = first.saturating_add(count.saturating_sub(1));
                write!(f, "{count} entries lost (entries {first}..={last}")?;
                match (from, to) {
                    (Some(a), Some(b)) => write!(f, ", keys from {a:?} up to {b:?}")?,
                    (Some(a), None) => write!(f, ", keys from {a:?} on")?,
                    (None, Some(b)) => write!(f, ", keys below {b:?}")?,
                    (None, None) => {}
                }
                write!(f, "): {cause}")
            }
            ReadError::EntryOutOfRange { index, len } => {
                write!(f, "entry {index} out of range (archive has {len} entries)")
            }
            ReadError::NoTitleIndex => f.write_str(
                "the archive has no title index (it was packed with --index none): no suggestions",
            ),
            ReadError::NoSearchIndex => f.write_str(
                "the archive has no full-text index (it was packed without --index full): no search",
            ),
            ReadError::UnsupportedTokenizer { tokenizer } => write!(
                f,
                "the full-text index was made by tokenizer {tokenizer:?}, which this reader does \
                 not implement: text queries are refused (a newer quire may read it)"
            ),
            ReadError::InvalidQuery { reason } => write!(f, "invalid query: {reason}"),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io { source, .. } | ReadError::Output(source) => Some(source),
            ReadError::Skipped { cause, .. } => cause.source(),
            _ => None,
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(source: io::Error) -> Self {
        ReadError::Io { path: None, source }
    }
}

/// Everything that can go wrong writing an archive.
#[derive(Debug)]
#[non_exhaustive]
pub enum WriteError {
    /// An I/O error.
    Io(io::Error),
    /// The same key was added twice (and the policy is to refuse).
    DuplicateKey {
        /// The key.
        key: String,
        /// Entry number of the first occurrence.
        first: u64,
    },
    /// The key is empty or longer than 4096 bytes.
    InvalidKey {
        /// The key (possibly shortened).
        key: String,
        /// Why.
        reason: &'static str,
    },
    /// An entry's field is outside what the format allows.
    InvalidEntry {
        /// The key of the entry.
        key: String,
        /// Why.
        reason: String,
    },
    /// Options out of range.
    InvalidOptions(String),
    /// The target exists and overwriting was not allowed.
    TargetExists(std::path::PathBuf),
    /// Reading a body given to [`ArchiveWriter::add_reader`](crate::ArchiveWriter::add_reader)
    /// failed (the I/O error is the [`source`](std::error::Error::source)).
    BodyRead {
        /// The key of the entry.
        key: String,
        /// What the reader returned.
        source: io::Error,
    },
    /// An earlier error left an entry half written; the writer refuses to go on, so that no
    /// archive with a partial entry is finished.
    Poisoned,
    /// The archive would exceed a format limit (entries, blocks, ...).
    TooLarge(String),
    /// zstd failed.
    Compression(String),
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::Io(_) => f.write_str("cannot write the archive"),
            WriteError::DuplicateKey { key, first } => {
                write!(f, "duplicate key {key:?} (first added as entry {first})")
            }
            WriteError::InvalidKey { key, reason } => write!(f, "invalid key {key:?}: {reason}"),
            WriteError::InvalidEntry { key, reason } => write!(f, "entry {key:?}: {reason}"),
            WriteError::InvalidOptions(s) => write!(f, "invalid options: {s}"),
            WriteError::TargetExists(p) => write!(f, "{} already exists", p.display()),
            WriteError::BodyRead { key, .. } => write!(f, "reading the body of {key:?} failed"),
            WriteError::Poisoned => write!(
                f,
                "the writer cannot go on: an earlier error left an entry half written"
            ),
            WriteError::TooLarge(s) => write!(f, "archive too large: {s}"),
            WriteError::Compression(s) => write!(f, "compression failed: {s}"),
        }
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WriteError::Io(e) | WriteError::BodyRead { source: e, .. } => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for WriteError {
    fn from(e: io::Error) -> Self {
        WriteError::Io(e)
    }
}

/// Result of reading an archive.
pub type ReadResult<T> = Result<T, ReadError>;
