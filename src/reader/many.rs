//! Many keys at once ([`Archive::get_many`](super::Archive::get_many)): over a network, the
//! index nodes and blocks that the keys need are asked for together, one round of requests
//! per level of the tree and one for the blocks, rather than one key after another.

use std::ops::Range;

use super::entry::Entry;
use super::nodes::remote_copy;
use super::Ctx;
use crate::error::{ReadError, ReadResult};
use crate::format::SectionId;

/// Keys looked up together: their index nodes stay in the node cache (256 nodes) between
/// the round that fetches them and the lookups that use them.
pub(crate) const WINDOW: usize = 64;

/// The most stored bytes of blocks one call asks for ahead of reading them: they wait in the
/// source's cache (a remote source keeps 64 MiB by default) until the bodies are read.
pub(crate) const PREFETCH_BUDGET: u64 = 32 << 20;

impl<'a> Ctx<'a> {
    /// Every key's entry, in the order given. A source that is not remote is read one key
    /// after another (there is nothing to overlap).
    pub(crate) fn get_many(&self, keys: &[&[u8]]) -> Vec<ReadResult<Option<Entry<'a>>>> {
        if !self.src.is_remote() {
            return keys.iter().map(|k| self.get_key(k)).collect();
        }
        let mut budget = PREFETCH_BUDGET;
        let mut out = Vec::with_capacity(keys.len());
        for window in keys.chunks(WINDOW) {
            // After an error of the source (the network, or the object changed), no key is
            // asked for again: each is answered with a copy of that error.
            let stop = |out: &mut Vec<_>, e: ReadError| {
                while out.len() < keys.len() {
                    out.push(Err(remote_copy(&e).unwrap_or_else(|| ReadError::Io {
                        path: None,
                        source: std::io::Error::other(e.to_string()),
                    })));
                }
            };
            if let Some(e) = self.warm_paths(window) {
                stop(&mut out, e);
                return out;
            }
            let mut found = Vec::with_capacity(window.len());
            for k in window {
                let r = self.get_key(k);
                let failed = r.as_ref().err().and_then(remote_copy);
                found.push(r);
                if let Some(e) = failed {
                    out.extend(found);
                    stop(&mut out, e);
                    return out;
                }
            }
            let mut ranges = self.block_ranges_of(found.iter().flatten().flatten(), &mut budget);
            ranges.sort_by_key(|r| (r.start, r.end));
            ranges.dedup();
            // The blocks are fetched while the caller reads the first bodies; each read
            // joins its block's fetch.
            self.src.prefetch(&ranges);
            out.extend(found);
        }
        out
    }

    /// The stored ranges of the blocks that hold `entries`' leads and bodies, at most
    /// `budget` bytes of them (taken from it; each entry's first block always), and the
    /// dictionary's when one of them needs it and it is not loaded yet: what reading them
    /// will ask of the source, to ask for together beforehand.
    pub(crate) fn block_ranges_of<'e>(
        &self,
        entries: impl Iterator<Item = &'e Entry<'a>>,
        budget: &mut u64,
    ) -> Vec<Range<u64>>
    where
        'a: 'e,
    {
        let mut ranges = Vec::new();
        let mut needs_dict = false;
        for entry in entries {
            let (blocks, dict) = entry.block_ranges(*budget);
            for r in blocks {
                *budget = budget.saturating_sub(r.end - r.start);
                ranges.push(r);
            }
            needs_dict |= dict;
        }
        let dict = self.st.layout.range(SectionId::Dict);
        if needs_dict && self.st.dict.get().is_none() && !dict.is_empty() {
            ranges.push(dict);
        }
        ranges
    }
}
