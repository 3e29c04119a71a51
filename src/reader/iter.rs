//! Iterators over entries: in entry order ([`Entries`]) and in key order under a prefix
//! ([`PrefixIter`], through the sorted index of §8).

use std::iter::FusedIterator;

use super::entry::Entry;
use super::view::View;
use crate::error::{Location, ReadError, ReadResult, Rule};

/// Entries in entry order, from [`Archive::iter`](crate::Archive::iter). A damaged entry is
/// an `Err` item; iteration goes on past it.
pub struct Entries<'a> {
    view: View<'a>,
    next: u64,
    end: u64,
}

impl<'a> Entries<'a> {
    pub(crate) fn new(view: View<'a>) -> Self {
        Entries {
            view,
            next: 0,
            end: view.header().entry_count,
        }
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = ReadResult<Entry<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        let i = self.next;
        self.next += 1;
        Some(self.view.entry(i))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::try_from(self.end - self.next).unwrap_or(usize::MAX);
        (n, Some(n))
    }
    fn nth(&mut self, n: usize) -> Option<Self::Item> {
        self.next = self.next.saturating_add(n as u64).min(self.end);
        self.next()
    }
}

impl DoubleEndedIterator for Entries<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        self.end -= 1;
        Some(self.view.entry(self.end))
    }
}

impl ExactSizeIterator for Entries<'_> {}
impl FusedIterator for Entries<'_> {}

/// Entries with a key prefix, in sorted key order, from
/// [`Archive::prefix`](crate::Archive::prefix). Keys come out strictly increasing: a sorted
/// index that is out of order (or repeats an entry) where the listing passes is an error,
/// never a wrong listing. After an error the iterator ends.
pub struct PrefixIter<'a> {
    view: View<'a>,
    prefix: &'a [u8],
    pos: u64,
    /// The key at `pos - 1`: every key listed must be greater.
    prev: Option<&'a str>,
    /// Whether the key before the first one listed sorts before the prefix.
    before_start_ok: bool,
    done: bool,
}

impl<'a> PrefixIter<'a> {
    pub(crate) fn new(view: View<'a>, prefix: &'a [u8]) -> Self {
        let pos = view.lower_bound(prefix);
        // The key before the first one listed must sort before the prefix; it is the lower
        // bound's own evidence, checked again as the listing starts.
        let prev = pos
            .checked_sub(1)
            .and_then(|p| view.sorted_at(p).and_then(|e| view.entry(e)).ok())
            .map(|e| e.key());
        PrefixIter {
            view,
            prefix,
            pos,
            prev,
            // A key at or past the prefix just before the lower bound: out of order.
            before_start_ok: prev.is_none_or(|p| p.as_bytes() < prefix),
            done: false,
        }
    }

    fn out_of_order(&self, key: &str) -> bool {
        !self.before_start_ok || self.prev.is_some_and(|p| p >= key)
    }
}

impl<'a> Iterator for PrefixIter<'a> {
    type Item = ReadResult<Entry<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.pos >= self.view.header().entry_count {
            return None;
        }
        let r = self
            .view
            .sorted_at(self.pos)
            .and_then(|e| self.view.entry(e));
        let at = Location::SortedPosition(self.pos);
        self.pos += 1;
        match r {
            Ok(e) if self.out_of_order(e.key()) => {
                self.done = true;
                Some(Err(ReadError::violates(at, Rule::SortedOrder)))
            }
            Ok(e) if e.key().as_bytes().starts_with(self.prefix) => {
                self.prev = Some(e.key());
                Some(Ok(e))
            }
            Ok(_) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl FusedIterator for PrefixIter<'_> {}
