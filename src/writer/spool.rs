//! Spools: anonymous temporary files the writer appends to while entries arrive and reads
//! back, by position, when it lays them out (entries) or writes the file (compressed
//! blocks). The operating system deletes them when they are closed, whatever happens.

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};

/// An append-then-read temporary file.
pub(super) struct Spool {
    file: BufWriter<File>,
    len: u64,
}

impl Spool {
    /// A new, empty spool in the system's temporary directory.
    pub(super) fn new() -> io::Result<Spool> {
        Ok(Spool {
            file: BufWriter::with_capacity(256 << 10, tempfile::tempfile()?),
            len: 0,
        })
    }

    /// Bytes appended so far.
    pub(super) fn len(&self) -> u64 {
        self.len
    }

    /// Appends `bytes`; returns where they start.
    pub(super) fn append(&mut self, bytes: &[u8]) -> io::Result<u64> {
        let at = self.len;
        self.file.write_all(bytes)?;
        self.len += bytes.len() as u64;
        Ok(at)
    }

    /// Drops everything from `at` on (an entry whose body could not be read).
    pub(super) fn truncate(&mut self, at: u64) -> io::Result<()> {
        self.file.flush()?;
        let f = self.file.get_mut();
        f.set_len(at)?;
        f.seek(SeekFrom::Start(at))?;
        self.len = at;
        Ok(())
    }

    /// Flushes what was appended, before reading.
    pub(super) fn finish_writing(&mut self) -> io::Result<()> {
        self.file.flush()
    }

    /// Fills `buf` from offset `at` (after [`finish_writing`](Self::finish_writing)).
    pub(super) fn read_at(&self, at: u64, buf: &mut [u8]) -> io::Result<()> {
        crate::source::read_exact_at(self.file.get_ref(), buf, at)
    }

    /// Copies the first `len` bytes to `out`.
    pub(super) fn copy_to(&self, out: &mut dyn Write, len: u64) -> io::Result<()> {
        let mut buf = vec![0u8; (1 << 20).min(len as usize)];
        let mut at = 0;
        while at < len {
            let n = (len - at).min(buf.len() as u64) as usize;
            self.read_at(at, &mut buf[..n])?;
            out.write_all(&buf[..n])?;
            at += n as u64;
        }
        Ok(())
    }
}

/// The most a [`Reader`] reads ahead of what it is asked for.
const MAX_AHEAD: u64 = 1 << 20;

/// A range that starts at most this far past a [`Reader`]'s window still continues its streak
/// (bodies read without their leads, say).
const MAX_GAP: u64 = 4 << 10;

/// Reads ranges of a spool one after another, with one read for many small ranges when they
/// come in the order they lie in the spool: entries added in key order are read back in key
/// order, and each `pread` of a few dozen bytes was a system call (two per entry, most of a
/// million-entry pack's layout).
///
/// A range outside the window is read alone. A range that starts inside the window, or at
/// most [`MAX_GAP`] past its end, continues a streak, and is read together with as many bytes
/// after it as the streak has asked for so far, up to [`MAX_AHEAD`]. Whatever the order, what
/// is read ahead and never asked for stays under what was asked for before it, and the window
/// under its range plus 1 MiB.
pub(super) struct Reader<'s> {
    spool: &'s Spool,
    /// Where the window starts in the spool.
    start: u64,
    /// The window: the spool's bytes from `start`.
    window: Vec<u8>,
    /// Bytes asked for in order since the last range read alone.
    streak: u64,
}

impl<'s> Reader<'s> {
    /// A reader of `spool` (after [`Spool::finish_writing`]).
    pub(super) fn new(spool: &'s Spool) -> Reader<'s> {
        Reader {
            spool,
            start: 0,
            window: Vec::new(),
            streak: 0,
        }
    }

    /// The `len` bytes at `at`.
    pub(super) fn read(&mut self, at: u64, len: usize) -> io::Result<&[u8]> {
        let end = self.start + self.window.len() as u64;
        let wanted = at + len as u64;
        let in_order = at >= self.start && at <= end + MAX_GAP;
        if !(in_order && wanted <= end) {
            self.streak = if in_order { self.streak } else { 0 };
            let ahead = self
                .streak
                .min(MAX_AHEAD)
                .min(self.spool.len.saturating_sub(wanted));
            self.start = at;
            self.window.resize(len + ahead as usize, 0);
            self.spool.read_at(at, &mut self.window)?;
        }
        self.streak += len as u64;
        let from = (at - self.start) as usize;
        self.window
            .get(from..from + len)
            .ok_or_else(|| io::Error::other(format!("spool range {at}+{len} outside its window")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_gives_the_bytes_asked_for_in_any_order_and_reads_ahead_only_in_order() {
        let mut spool = Spool::new().unwrap();
        let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        spool.append(&bytes).unwrap();
        spool.finish_writing().unwrap();
        let mut r = Reader::new(&spool);
        // In order: each range right after the last.
        let mut at = 0u64;
        for len in (0..20_000).map(|i| 1 + (i * 37) % 120) {
            let got = r.read(at, len).unwrap().to_vec();
            assert_eq!(got, &bytes[at as usize..at as usize + len]);
            at += len as u64;
        }
        assert!(r.window.len() as u64 <= 120 + MAX_AHEAD);
        // Anywhere: ranges read alone give the same bytes, the window no longer than the range.
        for (at, len) in [
            (2_999_990u64, 10usize),
            (5, 3),
            (1_000_000, 70_000),
            (0, 0),
            (17, 1),
        ] {
            let got = r.read(at, len).unwrap().to_vec();
            assert_eq!(got, &bytes[at as usize..at as usize + len]);
        }
        assert_eq!(r.window.len(), 1, "a range read alone reads nothing ahead");
        // Past the end is an error, not a panic.
        assert!(r.read(2_999_999, 2).is_err());
    }
}
