//! `verify` over a network: the file read in aligned chunks, each fetched once, and each
//! section's CRC put together from the chunks as they arrive, so that checking every node,
//! every block and every section costs one transfer of the file, not two.
//!
//! The walk reads nodes and blocks through [`Chunked`], which fetches the 1 MiB chunks that
//! hold them (asking for the next ones ahead) and keeps the last few; whenever a chunk
//! arrives, the CRC of each part of a section in it is taken. The sections' CRCs are then
//! combined from those parts, fetching only the chunks that the walk never needed.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::io;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use crate::format::SectionRecord;
use crate::source::ByteSource;

/// Bytes per chunk.
const CHUNK: u64 = 1 << 20;
/// Chunks kept after use (the walk reads two forward streams, INDEX and DATA).
const KEEP: usize = 16;
/// Chunks asked for ahead of the one read.
const AHEAD: u64 = 4;

#[derive(Default)]
struct State {
    kept: VecDeque<(u64, Arc<Vec<u8>>)>,
    /// (section number, chunk number) → that section's bytes in that chunk, hashed.
    parts: HashMap<(usize, u64), crc32fast::Hasher>,
    /// Chunks asked for ahead already.
    asked: u64,
}

/// A source read in aligned chunks (see the module's documentation).
pub(crate) struct Chunked<'a> {
    src: &'a dyn ByteSource,
    sections: Vec<Range<u64>>,
    state: Mutex<State>,
}

impl<'a> Chunked<'a> {
    pub(crate) fn new(src: &'a dyn ByteSource, records: &[SectionRecord]) -> Self {
        Chunked {
            src,
            sections: records
                .iter()
                .map(|r| r.offset..r.offset.saturating_add(r.length))
                .collect(),
            state: Mutex::new(State::default()),
        }
    }

    fn chunk_range(&self, n: u64) -> Range<u64> {
        let start = n.saturating_mul(CHUNK).min(self.src.size());
        start..start.saturating_add(CHUNK).min(self.src.size())
    }

    /// Chunk `n`, kept or fetched (its sections' parts hashed when fetched).
    fn chunk(&self, n: u64) -> io::Result<Arc<Vec<u8>>> {
        if let Ok(st) = self.state.lock() {
            if let Some((_, c)) = st.kept.iter().find(|(k, _)| *k == n) {
                return Ok(Arc::clone(c));
            }
        }
        let r = self.chunk_range(n);
        let ahead: Vec<Range<u64>> = {
            let mut st = self.state.lock().map_err(|_| poisoned())?;
            let from = st.asked.max(n + 1);
            let to = n + 1 + AHEAD;
            st.asked = st.asked.max(to);
            (from..to)
                .map(|k| self.chunk_range(k))
                .filter(|r| !r.is_empty())
                .collect()
        };
        if !ahead.is_empty() {
            self.src.prefetch(&ahead);
        }
        let bytes = Arc::new(
            self.src
                .read_at(r.start, (r.end - r.start) as usize)?
                .into_owned(),
        );
        let mut st = self.state.lock().map_err(|_| poisoned())?;
        for (i, s) in self.sections.iter().enumerate() {
            let (a, b) = (s.start.max(r.start), s.end.min(r.end));
            if a < b && !st.parts.contains_key(&(i, n)) {
                let mut crc = crc32fast::Hasher::new();
                // a and b lie inside the chunk, whose length is a usize.
                crc.update(&bytes[(a - r.start) as usize..(b - r.start) as usize]);
                st.parts.insert((i, n), crc);
            }
        }
        if st.kept.len() >= KEEP {
            st.kept.pop_front();
        }
        st.kept.push_back((n, Arc::clone(&bytes)));
        Ok(bytes)
    }

    /// The CRC of section number `i` (`Err`: a chunk of it could not be read).
    pub(crate) fn section_crc(&self, i: usize) -> io::Result<u32> {
        let Some(s) = self.sections.get(i).cloned() else {
            return Ok(0);
        };
        let mut crc = crc32fast::Hasher::new();
        if s.is_empty() {
            return Ok(crc.finalize());
        }
        for n in s.start / CHUNK..=(s.end - 1) / CHUNK {
            let have = self
                .state
                .lock()
                .ok()
                .and_then(|st| st.parts.get(&(i, n)).cloned());
            let part = match have {
                Some(p) => p,
                None => {
                    self.chunk(n)?;
                    let st = self.state.lock().map_err(|_| poisoned())?;
                    st.parts.get(&(i, n)).cloned().ok_or_else(poisoned)?
                }
            };
            crc.combine(&part);
        }
        Ok(crc.finalize())
    }
}

fn poisoned() -> io::Error {
    io::Error::other("verify's chunk state was lost")
}

impl ByteSource for Chunked<'_> {
    fn size(&self) -> u64 {
        self.src.size()
    }

    fn read_at(&self, offset: u64, len: usize) -> io::Result<Cow<'_, [u8]>> {
        let end = u64::try_from(len)
            .ok()
            .and_then(|l| offset.checked_add(l))
            .filter(|&e| e <= self.src.size())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("range {offset}+{len} runs past the end"),
                )
            })?;
        let mut out = Vec::with_capacity(len);
        let mut pos = offset;
        while pos < end {
            let n = pos / CHUNK;
            let c = self.chunk(n)?;
            let start = n * CHUNK;
            let from = (pos - start) as usize;
            let to = ((end - start).min(c.len() as u64)) as usize;
            let piece = c.get(from..to).filter(|p| !p.is_empty()).ok_or_else(|| {
                io::Error::new(io::ErrorKind::UnexpectedEof, "a chunk came back short")
            })?;
            out.extend_from_slice(piece);
            pos += piece.len() as u64;
        }
        Ok(Cow::Owned(out))
    }

    fn revalidate(&self) -> io::Result<()> {
        self.src.revalidate()
    }

    fn is_remote(&self) -> bool {
        self.src.is_remote()
    }

    fn describe(&self) -> String {
        self.src.describe()
    }
}
