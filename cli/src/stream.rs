//! Encoding a body for JSONL while it streams past, block by block, never holding it whole.
//!
//! `unpack --jsonl` writes a UTF-8 body as a JSON string (`"body"`) and any other body as
//! base64 (`"body_base64"`). Which one is only known once the whole body has been seen, so the
//! body is read twice: [`is_utf8`] checks it (stopping at the first invalid byte), then
//! [`write_json_str_body`] or [`write_base64_body`] encodes it. Both passes carry state across
//! block boundaries: a UTF-8 sequence or a base64 triple may be split between two blocks. The
//! output is byte-identical to encoding the whole body at once with serde_json and base64's
//! standard engine.

use std::io::{self, Write};

use base64::write::EncoderWriter;

/// Bytes of text escaped at a time: bounds the escape buffer (at most six bytes out per byte
/// in) whatever the block size.
const ESCAPE_PIECE: usize = 64 << 10;

/// Splits a byte stream into complete UTF-8 pieces, carrying a character split between two
/// chunks over to the next one.
#[derive(Debug, Default)]
pub struct Utf8Chunks {
    pending: [u8; 4],
    len: usize,
}

/// Why [`Utf8Chunks::feed`] stopped.
#[derive(Debug)]
pub enum FeedError {
    /// The bytes are not UTF-8.
    NotUtf8,
    /// The callback failed.
    Io(io::Error),
}

/// Length of the UTF-8 sequence that `lead` starts (only called on valid lead bytes).
fn sequence_len(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

impl Utf8Chunks {
    /// Feeds the next chunk; `emit` receives the complete text in it (plus any character
    /// completed from the chunk before), in order.
    pub fn feed(
        &mut self,
        mut chunk: &[u8],
        emit: &mut dyn FnMut(&str) -> io::Result<()>,
    ) -> Result<(), FeedError> {
        if self.len > 0 {
            let want = sequence_len(self.pending[0]);
            let take = (want - self.len).min(chunk.len());
            self.pending[self.len..self.len + take].copy_from_slice(&chunk[..take]);
            self.len += take;
            chunk = &chunk[take..];
            if self.len < want {
                return Ok(());
            }
            let c = std::str::from_utf8(&self.pending[..want]).map_err(|_| FeedError::NotUtf8)?;
            emit(c).map_err(FeedError::Io)?;
            self.len = 0;
        }
        let text = match std::str::from_utf8(chunk) {
            Ok(t) => t,
            Err(e) if e.error_len().is_none() => {
                // A character cut by the end of the chunk: keep its first bytes (1 to 3).
                let (valid, tail) = chunk.split_at(e.valid_up_to());
                self.pending[..tail.len()].copy_from_slice(tail);
                self.len = tail.len();
                std::str::from_utf8(valid).map_err(|_| FeedError::NotUtf8)?
            }
            Err(_) => return Err(FeedError::NotUtf8),
        };
        if !text.is_empty() {
            emit(text).map_err(FeedError::Io)?;
        }
        Ok(())
    }

    /// Ends the stream: a character left incomplete means the bytes are not UTF-8.
    pub fn finish(&self) -> Result<(), FeedError> {
        if self.len == 0 {
            Ok(())
        } else {
            Err(FeedError::NotUtf8)
        }
    }
}

/// A sink that checks whether what is written to it is UTF-8, and fails the write at the
/// first invalid byte so that reading a binary body stops early.
#[derive(Debug, Default)]
pub struct Utf8Check {
    chunks: Utf8Chunks,
    invalid: bool,
}

impl Utf8Check {
    /// Whether everything written so far is UTF-8 and no character is left incomplete.
    pub fn is_utf8(&self) -> bool {
        !self.invalid && self.chunks.finish().is_ok()
    }

    /// Whether a write failed because the bytes are not UTF-8 (not an I/O error).
    pub fn stopped(&self) -> bool {
        self.invalid
    }
}

impl Write for Utf8Check {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.chunks.feed(buf, &mut |_| Ok(())) {
            Ok(()) => Ok(buf.len()),
            Err(_) => {
                self.invalid = true;
                Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "body is not UTF-8",
                ))
            }
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes the contents of a JSON string (without the quotes) for `text`, escaped exactly as
/// serde_json escapes it, in pieces of at most `ESCAPE_PIECE` bytes.
pub fn write_json_str_contents(
    out: &mut dyn Write,
    text: &str,
    buf: &mut Vec<u8>,
) -> io::Result<()> {
    let mut rest = text;
    while !rest.is_empty() {
        let mut cut = rest.len().min(ESCAPE_PIECE);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (piece, tail) = rest.split_at(cut);
        buf.clear();
        serde_json::to_writer(&mut *buf, piece).map_err(io::Error::other)?;
        // serde_json wrote `"…"`: escaping is per character, so the pieces' contents
        // concatenate to the whole string's.
        let inner = buf
            .get(1..buf.len().saturating_sub(1))
            .ok_or_else(|| io::Error::other("serde_json wrote no quotes"))?;
        out.write_all(inner)?;
        rest = tail;
    }
    Ok(())
}

/// A sink that writes the UTF-8 bytes written to it as the contents of a JSON string.
pub struct JsonStrWriter<'w> {
    out: &'w mut dyn Write,
    chunks: Utf8Chunks,
    buf: Vec<u8>,
}

impl<'w> JsonStrWriter<'w> {
    /// Escapes into `out`.
    pub fn new(out: &'w mut dyn Write) -> Self {
        JsonStrWriter {
            out,
            chunks: Utf8Chunks::default(),
            buf: Vec::new(),
        }
    }

    /// Ends the string: fails if a character was left incomplete.
    pub fn finish(self) -> io::Result<()> {
        self.chunks.finish().map_err(|_| not_utf8())
    }
}

fn not_utf8() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "body is no longer UTF-8 on the second read",
    )
}

impl Write for JsonStrWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let (out, buf) = (&mut *self.out, &mut self.buf);
        match self
            .chunks
            .feed(data, &mut |s| write_json_str_contents(out, s, buf))
        {
            Ok(()) => Ok(data.len()),
            Err(FeedError::Io(e)) => Err(e),
            Err(FeedError::NotUtf8) => Err(not_utf8()),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Feeds a body to `sink` (the caller's block-by-block reader, e.g.
/// [`quire::Entry::write_body_to`]) and reports whether it is UTF-8, stopping at the first
/// invalid byte. Errors other than "not UTF-8" are passed on.
pub fn is_utf8(
    feed: impl FnOnce(&mut dyn Write) -> Result<(), quire::ReadError>,
) -> Result<bool, quire::ReadError> {
    let mut check = Utf8Check::default();
    match feed(&mut check) {
        Ok(()) => Ok(check.is_utf8()),
        Err(quire::ReadError::Output(_)) if check.stopped() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Streams a UTF-8 body as the contents of a JSON string into `out`.
pub fn write_json_str_body(
    out: &mut dyn Write,
    feed: impl FnOnce(&mut dyn Write) -> Result<(), quire::ReadError>,
) -> Result<(), quire::ReadError> {
    let mut w = JsonStrWriter::new(out);
    feed(&mut w)?;
    w.finish().map_err(quire::ReadError::Output)
}

/// Streams a body as standard base64 (with padding) into `out`.
pub fn write_base64_body(
    out: &mut dyn Write,
    feed: impl FnOnce(&mut dyn Write) -> Result<(), quire::ReadError>,
) -> Result<(), quire::ReadError> {
    let mut enc = EncoderWriter::new(out, &base64::engine::general_purpose::STANDARD);
    feed(&mut enc)?;
    enc.finish().map_err(quire::ReadError::Output)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    /// Feeds `body` in chunks of every size from 1 to 7 and compares with whole-body encoding.
    #[test]
    fn chunked_encoding_equals_whole_body_encoding() {
        let bodies: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"plain ascii".to_vec(),
            "Grüße — € 😀 \"quoted\" \\ \n\t\u{1}\u{7f}"
                .as_bytes()
                .to_vec(),
            vec![0, 159, 146, 150, 255, 0],
            vec![0xE2, 0x82],       // truncated euro sign
            vec![b'a', 0xE2, b'b'], // broken sequence
            vec![0xF0, 0x9F, 0x98], // truncated emoji
            (0..=255u8).collect(),
        ];
        for body in &bodies {
            for size in 1..8 {
                let feed = |w: &mut dyn Write| -> Result<(), quire::ReadError> {
                    for c in body.chunks(size) {
                        w.write_all(c).map_err(quire::ReadError::Output)?;
                    }
                    Ok(())
                };
                let utf8 = is_utf8(feed).unwrap();
                assert_eq!(utf8, std::str::from_utf8(body).is_ok(), "{body:?}");
                let mut out = Vec::new();
                if utf8 {
                    write_json_str_body(&mut out, feed).unwrap();
                    let whole = serde_json::to_string(std::str::from_utf8(body).unwrap()).unwrap();
                    assert_eq!(out, whole.as_bytes()[1..whole.len() - 1], "{body:?}");
                } else {
                    write_base64_body(&mut out, feed).unwrap();
                    let whole = base64::engine::general_purpose::STANDARD.encode(body);
                    assert_eq!(out, whole.as_bytes(), "{body:?} in chunks of {size}");
                }
            }
        }
    }

    #[test]
    fn long_text_is_escaped_in_bounded_pieces() {
        let text = "\u{0}é".repeat(100_000);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        write_json_str_contents(&mut out, &text, &mut buf).unwrap();
        let whole = serde_json::to_string(&text).unwrap();
        assert_eq!(out, whole.as_bytes()[1..whole.len() - 1]);
        assert!(buf.capacity() <= 8 * ESCAPE_PIECE);
    }
}
