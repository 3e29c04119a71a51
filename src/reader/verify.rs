//! Full verification (§11): every section's checksum, every node down the tree, every block
//! (stored and decompressed checksums), every entry and its lead, and the rules that tie
//! pages together (keys in order, runs of blocks covering DATA and the stream once).

use std::collections::BTreeMap;
use std::fmt;

use super::chunked::Chunked;
use super::nodes::{Node, PageNode, WalkError, Walker};
use super::Ctx;
use crate::error::{DamageKind, Location, ReadError, Rule};
use crate::format::entries::{EntryDecoder, RESTART_INTERVAL};
use crate::format::{self, BlockRecord, SectionId};

/// One thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where.
    pub at: Location,
    /// What.
    pub kind: DamageKind,
    /// Keys of the entries it affects (for damaged blocks: the entries whose bodies lie in it).
    pub keys: Vec<String>,
}

impl Problem {
    fn new(at: Location, kind: DamageKind) -> Problem {
        Problem {
            at,
            kind,
            keys: Vec::new(),
        }
    }

    fn from_error(e: &ReadError, at: Location) -> Problem {
        match e {
            ReadError::Damaged { at, kind } => Problem::new(*at, *kind),
            _ => Problem::new(at, DamageKind::Undecodable),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.kind)
    }
}

/// What [`Archive::verify`](crate::Archive::verify) found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Sections checked.
    pub sections: usize,
    /// Blocks checked.
    pub blocks: u64,
    /// Entries checked.
    pub entries: u64,
    /// Everything found wrong; empty when the archive is intact.
    pub problems: Vec<Problem>,
    /// Why the check stopped before the end, when the source failed (a remote source: the
    /// network, or the object changed on its server): that says nothing of the archive, so
    /// it is not a problem, but what comes after it was not checked.
    pub interrupted: Option<String>,
}

impl Report {
    /// Whether nothing was found wrong and everything was checked.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty() && self.interrupted.is_none()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(why) = &self.interrupted {
            writeln!(f, "not finished: {why}")?;
        }
        if self.is_ok() {
            return write!(
                f,
                "ok: {} sections, {} blocks, {} entries, every checksum matches",
                self.sections, self.blocks, self.entries
            );
        }
        writeln!(f, "{} problem(s) found:", self.problems.len())?;
        for p in &self.problems {
            writeln!(f, "  {p}")?;
            if !p.keys.is_empty() {
                let shown: Vec<&str> = p.keys.iter().take(20).map(String::as_str).collect();
                write!(f, "    affected keys: {}", shown.join(", "))?;
                if p.keys.len() > shown.len() {
                    write!(f, " (and {} more)", p.keys.len() - shown.len())?;
                }
                writeln!(f)?;
            }
        }
        Ok(())
    }
}

pub(crate) fn verify(ctx: Ctx<'_>) -> Report {
    // Check the bytes as they are now, not what earlier reads decoded and kept.
    if let Ok(mut n) = ctx.st.nodes.lock() {
        n.clear();
    }
    if let Some(Ok(mut b)) = ctx.st.blocks.as_ref().map(|b| b.lock()) {
        b.clear();
    }
    if let Ok(mut f) = ctx.st.failed.lock() {
        f.clear();
    }
    if !ctx.src.is_remote() {
        return verify_with(ctx, None);
    }
    // Over a network: every byte fetched once (see `chunked`).
    let chunked = Chunked::new(ctx.src, &ctx.st.layout.records);
    let ctx = Ctx {
        src: &chunked,
        st: ctx.st,
    };
    verify_with(ctx, Some(&chunked))
}

/// Verifies through `ctx`; with `chunked` (the source `ctx` reads), the sections' CRCs are
/// taken last, from the chunks the walk fetched, and their problems listed first all the
/// same.
fn verify_with(ctx: Ctx<'_>, chunked: Option<&Chunked<'_>>) -> Report {
    let h = ctx.header();
    let data = ctx.st.layout.range(SectionId::Data);
    let mut v = Verifier {
        ctx,
        problems: Vec::new(),
        next_block: 0,
        next_offset: 0,
        next_stream: 0,
        last_run: None,
        seen: Vec::new(),
        foreign: Vec::new(),
        bad: BTreeMap::new(),
        prev_key: None,
        entries: 0,
        cursor: Some(0),
        shared: false,
        bodies: Vec::new(),
        lost: false,
        stopped: false,
        interrupted: None,
        keys: Default::default(),
    };
    if chunked.is_none() {
        v.sections(None);
    }
    if let Err(e) = ctx.dictionary() {
        v.problem_from(&e, Location::Dictionary);
    }
    v.walk();
    v.finish(h.block_count, data.end - data.start, h.stream_len);
    if v.interrupted.is_none() {
        let keys = (!v.lost && !v.stopped).then_some(v.keys);
        for e in ctx.verify_titles(keys) {
            v.problem_from(&e, Location::TitleIndex(0));
        }
        for e in ctx.verify_search() {
            v.problem_from(&e, Location::SearchIndex(0));
        }
    }
    if let Some(c) = chunked.filter(|_| v.interrupted.is_none()) {
        let walked = std::mem::take(&mut v.problems);
        v.sections(Some(c));
        v.problems.extend(walked);
    }
    Report {
        sections: ctx.st.layout.records.len(),
        blocks: h.block_count,
        entries: v.entries,
        problems: v.problems,
        interrupted: v.interrupted,
    }
}

struct Verifier<'a> {
    ctx: Ctx<'a>,
    problems: Vec<Problem>,
    /// The block the next run must start with (or repeat the last of).
    next_block: u64,
    next_offset: u64,
    next_stream: u64,
    last_run: Option<BlockRecord>,
    /// Every run block seen, by number (to check foreign records against).
    seen: Vec<BlockRecord>,
    foreign: Vec<(Location, BlockRecord)>,
    /// Damaged blocks: the index of their problem.
    bad: BTreeMap<u32, usize>,
    prev_key: Option<String>,
    entries: u64,
    /// Where the next entry's lead must be (entries back to back, §7.1); `None` once a
    /// page could not be read.
    cursor: Option<u64>,
    /// Whether any entry shares a body.
    shared: bool,
    /// Where each body without SHARED starts, and its length, in stream order: what a shared
    /// body must point at (§7.2). Kept only when the SHARED_BODIES flag is set.
    bodies: Vec<(u64, u64)>,
    /// Whether a node could not be read (what depends on every node is not checked then).
    lost: bool,
    /// Whether the walk stopped at a node out of place (§6.4).
    stopped: bool,
    /// Why the source failed, when it did (the check stops there).
    interrupted: Option<String>,
    /// The keys of the entries walked, summed, for the title index (§14).
    keys: super::suggest::KeySum,
}

impl Verifier<'_> {
    fn problem(&mut self, at: Location, kind: DamageKind) -> usize {
        self.problems.push(Problem::new(at, kind));
        self.problems.len() - 1
    }

    /// A problem from an error; but an error of a remote source (the network) is no
    /// problem of the archive: it interrupts the check instead (and the index returned is
    /// then no problem's).
    fn problem_from(&mut self, e: &ReadError, at: Location) -> usize {
        if let ReadError::Io { source, .. } = e {
            if crate::source::is_remote_error(source) {
                self.interrupted.get_or_insert_with(|| source.to_string());
                return usize::MAX;
            }
        }
        self.problems.push(Problem::from_error(e, at));
        self.problems.len() - 1
    }

    /// Every section's CRC, read in pieces of 1 MiB (or from `chunked`'s chunks).
    fn sections(&mut self, chunked: Option<&Chunked<'_>>) {
        for (i, r) in self.ctx.st.layout.records.iter().enumerate() {
            let at = match SectionId::from_u32(r.id) {
                Some(id) => Location::Section(id),
                None if r.id == crate::format::titles::SECTION_ID => Location::TitleIndex(r.offset),
                None if r.id == crate::format::search::SECTION_ID => {
                    Location::SearchIndex(r.offset)
                }
                None => Location::UnknownSection(r.id),
            };
            if let Some(c) = chunked {
                match c.section_crc(i) {
                    Ok(crc) if crc != r.crc => {
                        self.problem(at, DamageKind::ChecksumMismatch);
                    }
                    Ok(_) => {}
                    Err(source) => {
                        let e = ReadError::Io {
                            path: Some(self.ctx.src.describe().into()),
                            source,
                        };
                        self.problem_from(&e, at);
                    }
                }
                continue;
            }
            let mut h = crc32fast::Hasher::new();
            let mut pos = r.offset;
            let end = r.offset.saturating_add(r.length);
            let mut failed = false;
            while pos < end {
                let n = (end - pos).min(1 << 20) as usize;
                match self.ctx.read(pos, n) {
                    Ok(b) => h.update(&b),
                    Err(e) => {
                        self.problem_from(&e, at);
                        failed = true;
                        break;
                    }
                }
                pos += n as u64;
            }
            if !failed && h.finalize() != r.crc {
                self.problem(at, DamageKind::ChecksumMismatch);
            }
        }
    }

    /// Every page in key order (§6.4): a node that cannot be read costs its entries, a node
    /// out of place stops the walk; each is reported once.
    fn walk(&mut self) {
        let ctx = self.ctx;
        let mut w = Walker::default();
        let mut step = match ctx.st.layout.root.clone() {
            Node::Page(p) => Ok(Some(p)),
            Node::Branch(_) if ctx.header().entry_count == 0 => Ok(None),
            Node::Branch(_) => w.seek(&ctx, 0).map(Some),
        };
        loop {
            match step {
                Ok(None) => break,
                Ok(Some(p)) => {
                    let sep = w.lower_separator().map(<[u8]>::to_vec);
                    self.page(&p, sep.as_deref());
                }
                Err(WalkError::Skipped(lost)) => {
                    self.missing(lost.entries, &lost.error);
                }
                Err(WalkError::Stopped(error)) => {
                    self.problem_from(&error, Location::Section(SectionId::Index));
                    self.stopped = true;
                    return;
                }
            }
            if self.interrupted.is_some() {
                self.stopped = true;
                return;
            }
            step = w.next_page(&ctx);
        }
        if !w.lost_track {
            self.levels(&w);
        }
    }

    /// After a whole walk: the pages start INDEX, and each level starts where the one below
    /// it ended (§6.4).
    fn levels(&mut self, w: &Walker) {
        let depth = usize::from(self.ctx.header().index_depth);
        if depth == 0 {
            return;
        }
        let index = self.ctx.st.layout.range(SectionId::Index);
        let mut expect = Some(0);
        for level in 0..depth {
            let first = w.first_at.get(level).copied().flatten();
            if first.is_some() && first != expect {
                let at = index.start.saturating_add(first.unwrap_or(0));
                self.problem(Location::Node(at), DamageKind::Violates(Rule::NodePlace));
                return;
            }
            expect = w.next_at(level);
        }
    }

    /// §7.2: a shared body is where an earlier entry without SHARED has its body, of the same
    /// length. Kept and checked only when the SHARED_BODIES flag is set (without it, any
    /// shared entry is reported by the flag's check).
    fn shared_body(&mut self, index: u64, rec: &format::EntryRecord) {
        if self.ctx.header().optional_flags & format::OPTIONAL_SHARED_BODIES == 0 {
            return;
        }
        match rec.shared_body_at {
            None => self.bodies.push((rec.body_at(), rec.body_len)),
            Some(at) => {
                let i = self.bodies.partition_point(|b| b.0 < at);
                let same = self.bodies.get(i..).unwrap_or_default().iter();
                let found = same.take_while(|b| b.0 == at).any(|b| b.1 == rec.body_len);
                if !found && !self.lost {
                    self.problem(
                        Location::Entry(index),
                        DamageKind::Violates(Rule::SharedBody),
                    );
                }
            }
        }
    }

    /// A node that cannot be read: its entries are lost, which the problem says.
    fn missing(&mut self, entries: u64, e: &ReadError) {
        self.cursor = None;
        self.lost = true;
        self.problem_from(e, Location::Section(SectionId::Index));
        self.entries += entries;
    }

    fn page(&mut self, p: &PageNode, sep: Option<&[u8]>) {
        self.runs(p);
        for f in &p.head.foreign {
            self.foreign.push((p.at, *f));
        }
        let mut d = EntryDecoder::new(&p.bytes, p.head.entries_at, p.head.restarts_at, 0);
        for i in 0..p.head.n {
            self.entries += 1;
            if i % RESTART_INTERVAL == 0 {
                let at = p.head.restart(&p.bytes, i / RESTART_INTERVAL);
                if at != Ok(d.pos()) {
                    self.problem(p.at, DamageKind::Violates(Rule::Restart));
                    return;
                }
            }
            let rec = match d.next_entry() {
                Ok(r) => r,
                Err(kind) => {
                    self.problem(p.at, kind);
                    self.cursor = None;
                    return;
                }
            };
            let key = rec.key.clone();
            if i == 0 {
                if let Some(s) = sep {
                    let below = self.prev_key.as_ref().is_none_or(|k| k.as_bytes() < s);
                    if !(below && s <= key.as_bytes()) {
                        self.problem(p.at, DamageKind::Violates(Rule::Separator));
                    }
                }
            }
            if self.prev_key.as_ref().is_some_and(|k| *k >= key) {
                // Within a page, order was checked when the page was read: this is the
                // page's first key against the page before.
                self.problem(p.at, DamageKind::Violates(Rule::KeyOrder));
            }
            self.shared_body(p.first_entry + i as u64, &rec);
            self.prev_key = Some(key);
            if let Some(c) = self.cursor {
                if rec.lead_at != c {
                    self.problem(
                        Location::Entry(p.first_entry + i as u64),
                        DamageKind::Violates(Rule::BodyRange),
                    );
                }
            }
            self.cursor = rec.next_at();
            self.shared |= rec.shared_body_at.is_some();
            self.entry(p, i, rec);
        }
        if d.pos() != p.head.restarts_at {
            self.problem(p.at, DamageKind::Violates(Rule::RecordBounds));
        }
    }

    /// The page's run: continuing the runs before it, each new block checked.
    fn runs(&mut self, p: &PageNode) {
        for (i, b) in p.head.run.iter().enumerate() {
            if i == 0 && self.lost && !p.head.run.is_empty() {
                // After a page that could not be read, take up the runs where this one
                // starts: a gap is that page's, already reported.
                if u64::from(b.number) >= self.next_block && b.offset >= self.next_offset {
                    self.next_block = b.number.into();
                    self.next_offset = b.offset;
                    self.next_stream = b.stream_start;
                    self.last_run = None;
                }
            }
            if i == 0 {
                if let Some(last) = self.last_run.filter(|l| l.number == b.number) {
                    if last != *b {
                        self.problem(p.at, DamageKind::Violates(Rule::BlockRun));
                    }
                    continue;
                }
            }
            if u64::from(b.number) != self.next_block
                || b.offset != self.next_offset
                || b.stream_start != self.next_stream
            {
                self.problem(p.at, DamageKind::Violates(Rule::BlockRun));
                return;
            }
            if self.interrupted.is_some() {
                return;
            }
            if let Err(e) = self.ctx.block(b, true) {
                // A damaged dictionary is one fault, already reported: the blocks that need
                // it are listed under it rather than reported again.
                let known = (e.location() == Some(Location::Dictionary))
                    .then(|| {
                        self.problems
                            .iter()
                            .position(|p| p.at == Location::Dictionary)
                    })
                    .flatten();
                let i = match known {
                    Some(i) => i,
                    None => self.problem_from(&e, Location::Block(b.number)),
                };
                self.bad.insert(b.number, i);
            }
            self.next_block += 1;
            self.next_offset = b.end().unwrap_or(u64::MAX);
            self.next_stream = b.stream_end().unwrap_or(u64::MAX);
            if self.seen.len() < b.number as usize {
                self.seen.resize(b.number as usize, BlockRecord::default());
            }
            self.seen.push(*b);
            self.last_run = Some(*b);
        }
    }

    fn entry(&mut self, p: &PageNode, i: usize, rec: format::EntryRecord) {
        if self.interrupted.is_some() {
            return;
        }
        self.keys.add(rec.key.as_bytes());
        let index = p.first_entry + i as u64;
        let touched = |s: u64, len: u64| {
            let end = s.saturating_add(len);
            p.head
                .run
                .iter()
                .chain(&p.head.foreign)
                .filter(move |b| {
                    len > 0 && b.stream_start < end && b.stream_end().is_some_and(|e| e > s)
                })
                .map(|b| b.number)
        };
        let blocks: Vec<u32> = touched(rec.lead_at, rec.lead_len.into())
            .chain(touched(rec.body_at(), rec.body_len))
            .collect();
        let key = rec.key.clone();
        let page = std::sync::Arc::new(PageNode {
            first_entry: p.first_entry,
            at: p.at,
            bytes: Vec::new(),
            head: p.head.clone(),
            keys: None,
        });
        let damaged_block = blocks.iter().find_map(|b| self.bad.get(b).copied());
        if let Some(pi) = damaged_block {
            self.keys.add_title(key.as_bytes(), None);
            if let Some(p) = self.problems.get_mut(pi) {
                p.keys.push(key);
            }
            return;
        }
        match self.ctx.make_entry(&page, i, rec) {
            Ok(e) => match e.info() {
                Ok(info) => self
                    .keys
                    .add_title(key.as_bytes(), Some(info.title.as_deref())),
                Err(err) => {
                    self.keys.add_title(key.as_bytes(), None);
                    self.problem_from(&err, Location::Entry(index));
                }
            },
            Err(err) => {
                self.keys.add_title(key.as_bytes(), None);
                self.problem_from(&err, Location::Entry(index));
            }
        }
    }

    /// The runs ended where DATA and the stream end; foreign records agree with the runs.
    fn finish(&mut self, block_count: u64, data_end: u64, stream_len: u64) {
        if self.stopped {
            return;
        }
        let reached = !self.lost || self.next_block == block_count;
        if reached
            && (self.next_block != block_count
                || self.next_offset != data_end
                || self.next_stream != stream_len)
        {
            self.problem(
                Location::Section(SectionId::Data),
                DamageKind::Violates(Rule::BlockRun),
            );
        }
        if self.cursor.is_some_and(|c| c != stream_len) {
            self.problem(
                Location::Section(SectionId::Data),
                DamageKind::Violates(Rule::BodyRange),
            );
        }
        let flag = self.ctx.header().optional_flags & format::OPTIONAL_SHARED_BODIES != 0;
        if flag != self.shared && !(self.lost && flag) {
            self.problem(Location::Prelude, DamageKind::Violates(Rule::SharedBody));
        }
        for (at, f) in std::mem::take(&mut self.foreign) {
            let known = self.seen.get(f.number as usize).filter(|r| r.raw_len > 0);
            if known.is_some_and(|r| *r != f) || (known.is_none() && !self.lost) {
                self.problem(at, DamageKind::Violates(Rule::BlockRun));
            }
        }
    }
}
