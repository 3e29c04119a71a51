//! Opaque entries (spec §8): bodies that zstd cannot make meaningfully smaller — images,
//! fonts, archives, media — which the writer keeps out of the text blocks and out of the
//! dictionary. Each goes into blocks of its own, stored as they are (codec 0), so that
//! reading one costs a checksum and a copy, and reading the text around it never decodes it.

use std::io;

use super::spool::Spool;
use super::Pending;

/// Bodies shorter than this are never opaque: a block of their own would cost more in block
/// records than it saves.
const MIN_BODY: u64 = 512;

/// How much of a body the test compresses.
const PROBE: u64 = 64 << 10;

/// A body is opaque when zstd level 1 saves less than 1/`SAVES_UNDER` of its probe.
const SAVES_UNDER: usize = 32;

/// Whether a content type names text of some kind, which is never tested: HTML, CSS,
/// JavaScript, JSON, XML and SVG compress, whatever their first bytes look like.
fn is_text(content_type: &str) -> bool {
    let ct = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    ct.starts_with("text/")
        || ct.ends_with("+xml")
        || ct.ends_with("+json")
        || ct.ends_with("/xml")
        || ct.ends_with("/json")
        || ct.ends_with("javascript")
        || ct.ends_with("ecmascript")
}

/// Which of `entries` (in key order) are opaque, as one flag per entry: those with a
/// content type that is not text (by `ctypes`, their names) and a body of at least
/// [`MIN_BODY`] bytes whose first [`PROBE`] bytes zstd level 1 shrinks by less than
/// 1/[`SAVES_UNDER`].
pub(super) fn find(entries: &[Pending], ctypes: &[String], spool: &Spool) -> io::Result<Vec<bool>> {
    let texts: Vec<bool> = ctypes.iter().map(|c| is_text(c)).collect();
    let mut flags = vec![false; entries.len()];
    let mut probe = zstd::bulk::Compressor::new(1)?;
    let mut buf = Vec::new();
    for (e, flag) in entries.iter().zip(flags.iter_mut()) {
        let text = texts.get(e.content_type as usize).copied().unwrap_or(true);
        if text || e.body_len < MIN_BODY {
            continue;
        }
        buf.resize(e.body_len.min(PROBE) as usize, 0);
        spool.read_at(e.spool_at + u64::from(e.lead_len), &mut buf)?;
        let packed = probe.compress(&buf)?;
        *flag = packed.len() + buf.len() / SAVES_UNDER > buf.len();
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::is_text;

    #[test]
    fn text_types_are_never_probed() {
        for t in [
            "text/html; charset=utf-8",
            "text/css",
            "application/javascript",
            "text/javascript",
            "application/json",
            "application/ld+json",
            "image/svg+xml",
            "application/xml",
            "APPLICATION/XHTML+XML",
        ] {
            assert!(is_text(t), "{t}");
        }
        for t in [
            "image/png",
            "image/jpeg",
            "font/woff2",
            "application/octet-stream",
            "application/pdf",
            "application/zip",
        ] {
            assert!(!is_text(t), "{t}");
        }
    }
}
