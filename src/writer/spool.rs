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
