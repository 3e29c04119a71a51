//! Iterators over entries, in key order: all of them ([`Entries`]) or those under a prefix
//! ([`PrefixIter`]). Both decode a restart group of a page at a time.

use std::collections::VecDeque;
use std::iter::FusedIterator;

use std::sync::Arc;

use super::entry::Entry;
use super::nodes::{Lost, PageNode, WalkError, Walker};
use super::Ctx;
use crate::error::{DamageKind, Location, ReadError, ReadResult, Rule};

/// Entries in key order, from [`Archive::iter`](crate::Archive::iter). A damaged entry is
/// an `Err` item, and so is each entry of a page that cannot be read; iteration goes on past
/// them. An index that is not a tree (a node shared by two parents, a cycle: §6.4) ends the
/// iteration after one `Err` at the node where the walk found it.
pub struct Entries<'a> {
    ctx: Ctx<'a>,
    next: u64,
    end: u64,
    ahead: VecDeque<Entry<'a>>,
    /// The walk over the pages, and the page it is at.
    walk: Walker,
    page: Option<Arc<PageNode>>,
    /// Entries lost with a node that could not be read: up to here, and why.
    lost: Option<(u64, Location, DamageKind)>,
    stopped: bool,
}

/// The same error again, for every entry a lost node takes with it.
fn damage_of(e: &ReadError, fallback: Location) -> (Location, DamageKind) {
    match e {
        ReadError::Damaged { at, kind } => (*at, *kind),
        _ => (fallback, DamageKind::Undecodable),
    }
}

impl<'a> Entries<'a> {
    pub(crate) fn new(ctx: Ctx<'a>) -> Self {
        Entries {
            ctx,
            next: 0,
            end: ctx.header().entry_count,
            ahead: VecDeque::new(),
            walk: Walker::default(),
            page: None,
            lost: None,
            stopped: false,
        }
    }

    /// Moves the walk to the page holding entry `self.next`: the next page when the walk is
    /// just before it, else a fresh descent.
    fn page_for_next(&mut self) -> ReadResult<Arc<PageNode>> {
        let e = self.next;
        let follows = self
            .page
            .as_ref()
            .is_some_and(|p| p.first_entry + p.head.n as u64 == e)
            || self.lost.is_some_and(|(end, _, _)| end == e);
        let step = if follows {
            self.walk.next_page(&self.ctx).and_then(|p| {
                p.ok_or(WalkError::Stopped(ReadError::violates(
                    Location::Entry(e),
                    Rule::EntryCount,
                )))
            })
        } else {
            self.walk.seek(&self.ctx, e)
        };
        self.lost = None;
        self.page = None;
        match step {
            Ok(p) if p.first_entry == e || (!follows && p.first_entry <= e) => {
                self.page = Some(Arc::clone(&p));
                Ok(p)
            }
            Ok(p) => {
                self.stopped = true;
                Err(ReadError::violates(p.at, Rule::EntryCount))
            }
            Err(WalkError::Skipped(lost)) => {
                let (at, kind) = damage_of(&lost.error, Location::Entry(e));
                self.lost = Some((lost.first.saturating_add(lost.entries), at, kind));
                Err(lost.error)
            }
            Err(WalkError::Stopped(error)) => {
                self.stopped = true;
                Err(error)
            }
        }
    }

    /// Entry `self.next`, from the entries decoded ahead or a fresh group.
    fn take(&mut self) -> ReadResult<Entry<'a>> {
        if let Some(e) = self.ahead.pop_front() {
            return Ok(e);
        }
        if let Some((end, at, kind)) = self.lost {
            if self.next < end {
                return Err(ReadError::damaged(at, kind));
            }
        }
        let page = match &self.page {
            Some(p)
                if self.next >= p.first_entry && self.next - p.first_entry < p.head.n as u64 =>
            {
                Arc::clone(p)
            }
            _ => self.page_for_next()?,
        };
        self.ahead = self.ctx.group_in(&page, self.next)?.into();
        self.ahead.pop_front().ok_or(ReadError::violates(
            Location::Entry(self.next),
            Rule::EntryCount,
        ))
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = ReadResult<Entry<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end || self.stopped {
            return None;
        }
        let r = self.take();
        self.next += 1;
        if r.is_err() {
            self.ahead.clear();
        }
        Some(r)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::try_from(self.end - self.next).unwrap_or(usize::MAX);
        (n, Some(n))
    }
    fn nth(&mut self, n: usize) -> Option<Self::Item> {
        let skip = (n as u64).min(self.end - self.next);
        if skip as usize >= self.ahead.len() {
            self.ahead.clear();
        } else {
            self.ahead.drain(..skip as usize);
        }
        self.next += skip;
        self.next()
    }
}

impl DoubleEndedIterator for Entries<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        self.end -= 1;
        let in_ahead = (self.end - self.next) as usize;
        if in_ahead < self.ahead.len() {
            self.ahead.truncate(in_ahead + 1);
            return self.ahead.pop_back().map(Ok);
        }
        Some(self.ctx.entry(self.end))
    }
}

impl ExactSizeIterator for Entries<'_> {}
impl FusedIterator for Entries<'_> {}

/// Entries with a key prefix, in key order, from [`Archive::prefix`](crate::Archive::prefix):
/// one descent of the index, then a walk forward, page by page.
///
/// Damage costs only what it touches: a page (or branch) that cannot be read is one `Err`
/// item, a [`ReadError::Skipped`] naming the entries it held and the range of keys the
/// separators give them, and the walk goes on after it; a damaged entry is one `Err` item.
/// An index that is not a tree (a node shared by two parents, a cycle, keys out of order
/// between pages: §6.4) ends the walk after one `Err` at the node where it was found. Keys
/// come out strictly increasing.
pub struct PrefixIter<'a> {
    ctx: Ctx<'a>,
    prefix: &'a [u8],
    walk: Walker,
    /// The page being read, and the next entry of it to decode.
    page: Option<Arc<PageNode>>,
    next: u64,
    ahead: VecDeque<ReadResult<Entry<'a>>>,
    /// An error to give before anything else.
    pending: Option<ReadError>,
    /// Where the walk starts (`None` once started).
    start: Option<u64>,
    prev: Option<String>,
    done: bool,
}

impl<'a> PrefixIter<'a> {
    pub(crate) fn new(ctx: Ctx<'a>, prefix: &'a [u8]) -> Self {
        let mut it = PrefixIter {
            ctx,
            prefix,
            walk: Walker::default(),
            page: None,
            next: 0,
            ahead: VecDeque::new(),
            pending: None,
            start: None,
            prev: None,
            done: false,
        };
        match ctx.lower_bound(prefix) {
            Ok(start) if start >= ctx.header().entry_count => it.done = true,
            Ok(start) => it.start = Some(start),
            // The page where the prefix would start cannot be read: start with it (the walk
            // reports it as lost and goes on), if the tree says where it is.
            Err(e) => match ctx.first_entry_of_unreadable(prefix) {
                Some(first) => it.start = Some(first),
                None => it.pending = Some(e),
            },
        }
        it
    }

    /// Whether every key from `k` on is past the prefix (greater, and not starting with it).
    fn past(&self, k: &[u8]) -> bool {
        k > self.prefix && !k.starts_with(self.prefix)
    }

    /// Moves to the next page of the walk (or the first); false at the end.
    fn advance(&mut self) -> bool {
        let seek_to = self.start.take();
        let step = match seek_to {
            Some(e) => self.walk.seek(&self.ctx, e).map(Some),
            None => self.walk.next_page(&self.ctx),
        };
        self.page = None;
        match step {
            Ok(Some(p)) => {
                self.next = seek_to.unwrap_or(p.first_entry);
                self.page = Some(p);
                true
            }
            Ok(None) => false,
            Err(WalkError::Skipped(lost)) => {
                let Lost {
                    error,
                    first,
                    entries,
                    from,
                    to,
                } = *lost;
                if from.as_deref().is_some_and(|f| self.past(f)) {
                    return false;
                }
                let text = |k: Option<Vec<u8>>| k.map(|k| String::from_utf8_lossy(&k).into_owned());
                self.pending = Some(ReadError::Skipped {
                    first,
                    count: entries,
                    from: text(from),
                    to: text(to),
                    cause: Box::new(error),
                });
                true
            }
            Err(WalkError::Stopped(e)) => {
                self.pending = Some(e);
                self.done = true;
                true
            }
        }
    }
}

impl<'a> Iterator for PrefixIter<'a> {
    type Item = ReadResult<Entry<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(e) = self.pending.take() {
                return Some(Err(e));
            }
            if let Some(item) = self.ahead.pop_front() {
                let e = match item {
                    Ok(e) => e,
                    Err(err) => return Some(Err(err)),
                };
                let key = e.key().as_bytes();
                if key < self.prefix {
                    continue;
                }
                if !key.starts_with(self.prefix) {
                    self.done = true;
                    self.ahead.clear();
                    return None;
                }
                if self.prev.as_ref().is_some_and(|p| p.as_bytes() >= key) {
                    self.done = true;
                    self.ahead.clear();
                    return Some(Err(ReadError::violates(
                        Location::Entry(e.index()),
                        Rule::KeyOrder,
                    )));
                }
                self.prev = Some(e.key().to_owned());
                return Some(Ok(e));
            }
            if self.done {
                return None;
            }
            let in_page = self.page.as_ref().filter(|p| {
                self.next >= p.first_entry && self.next - p.first_entry < p.head.n as u64
            });
            match in_page {
                Some(p) => {
                    let p = Arc::clone(p);
                    let group = self.ctx.group_results(&p, self.next);
                    self.next += group.len().max(1) as u64;
                    self.ahead.extend(group);
                }
                None => {
                    if !self.advance() {
                        self.done = true;
                    }
                }
            }
        }
    }
}

impl FusedIterator for PrefixIter<'_> {}
