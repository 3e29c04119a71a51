//! The `search` fuzz target's body: a small archive with a full-text index (spec §15),
//! mutated, and query bytes, both from the input.
//!
//! Input: one byte `n`, then `n % 48` bytes of query (read as UTF-8, lossily), then the
//! archive. Each archive is read as it is and again resealed ([`reseal_search`]): every node
//! of the SEARCH section stored raw, every CRC of its chain recomputed (the header's
//! `head_crc`, the root's, each page's and chunk's in the root, each list's in its term
//! record, each block's in its head) as far as the mutated bytes still parse, then the
//! section table's and the prelude's, so that mutations reach the checks behind the CRCs.
//!
//! For each archive: the query, the query as a phrase, and its first word, with limits 1,
//! 10 and 10,000; the term lookup of each of its first four words; then full verification.
//! Nothing may panic; errors must be typed (a damage code — of the index, or of an entry read
//! for a phrase or a snippet — `no_search_index`, `invalid_query` or `unsupported_tokenizer`);
//! a result list is never longer than its limit, its documents are entries; and when
//! verification finds nothing wrong, no search fails as `damaged_search_index`.

use quire::format::header::{encode_prelude, Prelude, SectionRecord};
use quire::format::search::{
    self, decode_head, decode_terms, encode_terms, put_head_entry, Head, Postings, Root,
};
use quire::format::{crc32, titles, SectionId};
use quire::Archive;

/// Splits the input into query and archive bytes.
fn split(data: &[u8]) -> (String, &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return (String::new(), data);
    };
    let n = usize::from(n % 48).min(rest.len());
    (String::from_utf8_lossy(&rest[..n]).into_owned(), &rest[n..])
}

/// The harness: see the module's comment.
pub fn search(data: &[u8]) {
    let (q, archive) = split(data);
    search_one(archive, &q);
    if let Some(fixed) = reseal_search(archive) {
        if fixed != archive {
            search_one(&fixed, &q);
        }
    }
}

/// The codes a search may fail with besides damage (`damaged_*`: of the index, or of an
/// entry read to check a phrase or cut a snippet).
const TYPED: [&str; 3] = ["no_search_index", "invalid_query", "unsupported_tokenizer"];

fn typed(code: &str) -> bool {
    code.starts_with("damaged_") || TYPED.contains(&code)
}

fn search_one(bytes: &[u8], q: &str) {
    let Ok(a) = Archive::new(bytes) else {
        return;
    };
    let first = q.split_whitespace().next().unwrap_or_default().to_string();
    let queries = [q.to_string(), format!("\"{q}\""), first];
    let mut failed = false;
    for q in &queries {
        for limit in [1, 10, 10_000] {
            match a.search(q, limit) {
                Ok(hits) => {
                    assert!(hits.len() <= limit, "search({q:?}, {limit}): too many");
                    for h in &hits {
                        assert!(h.index < a.len(), "search({q:?}): result past the entries");
                    }
                }
                Err(e) => {
                    assert!(
                        typed(e.code()),
                        "search({q:?}, {limit}): untyped error {}: {e}",
                        e.code()
                    );
                    failed |= e.code() == "damaged_search_index";
                }
            }
        }
    }
    for w in q.split_whitespace().take(4) {
        match a.search_postings(w) {
            Ok(Some(p)) => {
                assert!(
                    p.windows(2).all(|w| w[0].0 < w[1].0),
                    "postings out of order"
                );
                assert!(p.iter().all(|&(d, tf)| d < a.len() && tf >= 1));
            }
            Ok(None) => {}
            Err(e) => {
                assert!(typed(e.code()), "postings({w:?}): {e}");
                failed |= e.code() == "damaged_search_index";
            }
        }
    }
    let report = a.verify();
    if report.is_ok() && report.interrupted.is_none() {
        assert!(!failed, "verify passed but a search failed as damaged");
    }
}

/// The file with its SEARCH section laid out again (see the module's comment), or `None`
/// when the prelude does not parse. The other sections are kept; every section CRC and the
/// prelude's are recomputed.
pub fn reseal_search(file: &[u8]) -> Option<Vec<u8>> {
    let mut b = file.to_vec();
    crate::fix_checksums(&mut b);
    let p = Prelude::decode(&b, b.len() as u64).ok()?;
    let crc = |id: u32| p.sections.iter().find(|s| s.id == id).map_or(0, |s| s.crc);
    let (index_crc, data_crc) = (crc(SectionId::Index as u32), crc(SectionId::Data as u32));
    let mut records: Vec<SectionRecord> = p.sections.clone();
    let i = records.iter().position(|s| s.id == search::SECTION_ID)?;
    let s = &records[i];
    let start = usize::try_from(s.offset).ok()?;
    let end = start.checked_add(usize::try_from(s.length).ok()?)?;
    let section = relay(b.get(start..end)?, index_crc, data_crc);
    // Sections after SEARCH move with its new length.
    let mut out = Vec::with_capacity(b.len());
    let mut parts: Vec<(usize, Vec<u8>)> = Vec::new();
    for (j, r) in records.iter().enumerate() {
        let from = usize::try_from(r.offset).ok()?;
        let to = from.checked_add(usize::try_from(r.length).ok()?)?;
        let bytes = if j == i {
            section.clone()
        } else {
            b.get(from..to)?.to_vec()
        };
        parts.push((from, bytes));
    }
    // Only files whose sections lie in order, back to back after the prelude.
    let mut at = u64::from(p.header.prelude_len);
    for (j, r) in records.iter().enumerate() {
        if r.offset != at {
            return None;
        }
        at += r.length;
        let _ = j;
    }
    if at != b.len() as u64 {
        return None;
    }
    let mut at = u64::from(p.header.prelude_len);
    for (r, (_, bytes)) in records.iter_mut().zip(&parts) {
        r.offset = at;
        r.length = bytes.len() as u64;
        r.crc = crc32(bytes);
        at += r.length;
    }
    let mut h = p.header.clone();
    h.file_len = at;
    out.extend_from_slice(&encode_prelude(&h, &records, p.meta, p.ctypes, p.root));
    for (_, bytes) in parts {
        out.extend_from_slice(&bytes);
    }
    Some(out)
}

/// A SEARCH section laid out again with its nodes raw and its CRCs right, as far as it
/// parses; what does not parse is kept as it is (with its CRC in its parent recomputed).
fn relay(s: &[u8], index_crc: u32, data_crc: u32) -> Vec<u8> {
    let mut out = s.to_vec();
    if s.len() < search::HEADER_LEN {
        return out;
    }
    let seal = |out: &mut Vec<u8>| {
        let c = titles::head_crc(&out[4..search::HEADER_LEN], index_crc, data_crc);
        out[..4].copy_from_slice(&c.to_le_bytes());
    };
    seal(&mut out);
    let Ok(mut head) = Head::decode(&out, index_crc, data_crc, s.len() as u64) else {
        return out;
    };
    let root_at = search::HEADER_LEN;
    let Some(stored) = s.get(root_at..root_at + head.root_len as usize) else {
        return out;
    };
    out[48..52].copy_from_slice(&crc32(stored).to_le_bytes());
    seal(&mut out);
    let Ok(raw) = titles::unstore(
        stored,
        head.root_raw_len,
        crc32(stored),
        search::MAX_ROOT_RAW,
    ) else {
        return out;
    };
    let Ok(mut root) = Root::decode(&raw, &head, s.len() as u64) else {
        return out;
    };
    let at = |o: u64, l: u64| -> Option<&[u8]> {
        let o = usize::try_from(o).ok()?;
        s.get(o..o.checked_add(usize::try_from(l).ok()?)?)
    };
    // POSTINGS, to patch: from the first term page's lists to the last's.
    let post_start = root.terms.first().map_or(0, |t| t.post_offset as usize);
    let post_len: u64 = root.terms.iter().map(|t| t.post_len).sum();
    let Some(postings) = at(post_start as u64, post_len) else {
        return out;
    };
    let mut postings = postings.to_vec();
    let mut pages = Vec::new();
    for k in 0..root.terms.len() {
        let r = root.terms[k].clone();
        let Some(stored) = at(r.offset, r.stored_len.into()) else {
            return out;
        };
        let next = root.terms.get(k + 1).map(|n| n.first.clone());
        let page = titles::unstore(stored, r.raw_len, crc32(stored), search::MAX_PAGE_RAW)
            .ok()
            .and_then(|raw| decode_terms(&raw, &r, next.as_deref(), &head).ok());
        let Some(mut page) = page else {
            root.terms[k].crc = crc32(stored);
            pages.push(stored.to_vec());
            continue;
        };
        for rec in &mut page.records {
            let df = rec.df;
            match &mut rec.postings {
                Postings::Inline(_) => {}
                Postings::Block { offset, len, crc } => {
                    if let Some(b) = at(*offset, (*len).into()) {
                        *crc = crc32(b);
                    }
                }
                Postings::Headed {
                    offset,
                    head_len,
                    list_len,
                    crc,
                } => {
                    let Some(hb) = at(*offset, (*head_len).into()) else {
                        continue;
                    };
                    let blocks_at = *offset + u64::from(*head_len);
                    let fixed = decode_head(
                        hb,
                        df,
                        blocks_at,
                        *list_len - u64::from(*head_len),
                        head.entries,
                    )
                    .ok()
                    .and_then(|entries| {
                        let mut h = Vec::with_capacity(hb.len());
                        let mut prev = None;
                        for mut e in entries {
                            e.crc = crc32(at(e.offset, e.len.into())?);
                            put_head_entry(&mut h, prev, &e);
                            prev = Some(e.last);
                        }
                        (h.len() == hb.len()).then_some(h)
                    });
                    let hb = fixed.unwrap_or_else(|| hb.to_vec());
                    *crc = crc32(&hb);
                    let from = (*offset as usize).saturating_sub(post_start);
                    if let Some(dst) = postings.get_mut(from..from + hb.len()) {
                        dst.copy_from_slice(&hb);
                    }
                }
            }
        }
        let raw = encode_terms(&page.records);
        let t = &mut root.terms[k];
        t.stored_len = raw.len() as u32;
        t.raw_len = raw.len() as u32;
        t.crc = crc32(&raw);
        pages.push(raw);
    }
    let mut tail = Vec::new();
    for n in &mut root.norms {
        let Some(b) = at(n.offset, n.stored_len.into()) else {
            return out;
        };
        n.crc = crc32(b);
        tail.extend_from_slice(b);
    }
    for d in &mut root.docs {
        let Some(b) = at(d.offset, d.stored_len.into()) else {
            return out;
        };
        d.crc = crc32(b);
        tail.extend_from_slice(b);
    }
    let root_raw = root.encode();
    if root_raw.len() > search::MAX_ROOT_RAW {
        return out;
    }
    head.root_len = root_raw.len() as u32;
    head.root_raw_len = root_raw.len() as u32;
    head.root_crc = crc32(&root_raw);
    let mut s2 = head.encode(index_crc, data_crc).to_vec();
    s2.extend_from_slice(&root_raw);
    for p in pages {
        s2.extend_from_slice(&p);
    }
    s2.extend_from_slice(&postings);
    s2.extend_from_slice(&tail);
    s2
}

/// A few small archives with full-text indexes, resealed (nodes raw), as seeds: (name,
/// input bytes).
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    use quire::{ArchiveWriter, DictionaryMode, IndexKind, NewEntry, WriterOptions};
    type Docs<'d> = &'d [(&'d str, Option<&'d str>, &'d str, &'d str)];
    let long: String = (0..300)
        .map(|i| if i % 3 == 0 { "storm " } else { "river bank " })
        .collect();
    let sets: [(&str, &str, Option<&str>, Docs<'_>); 4] = [
        (
            "words",
            "storm bank",
            Some("eng"),
            &[
                ("a", Some("Storm"), "text/plain", "storm over the bank"),
                ("b", None, "text/plain", "banks and rivers, a storm"),
                (
                    "c",
                    Some("River"),
                    "text/html",
                    "<p>the river <b>bank</b></p>",
                ),
                ("d", None, "image/png", "storm"),
                (
                    "e",
                    Some("Zürich"),
                    "text/plain",
                    "zürich storm storm storm",
                ),
            ],
        ),
        (
            "phrase",
            "\"new york\" city",
            None,
            &[
                ("ny", Some("New York"), "text/plain", "new york city"),
                ("yn", None, "text/plain", "york new city"),
                ("cjk", Some("北京大学"), "text/plain", "北京大学 东京 city"),
            ],
        ),
        (
            "long",
            "storm river",
            None,
            &[("l", None, "text/plain", "")],
        ),
        (
            "one",
            "only",
            Some("fra"),
            &[("only", Some("L'été"), "text/plain", "l'été only")],
        ),
    ];
    let mut out = Vec::new();
    for (name, q, lang, docs) in sets {
        let mut opts = WriterOptions::new()
            .index(IndexKind::Full)
            .level(1)
            .block_size(256)
            .dictionary(DictionaryMode::Off)
            .threads(1)
            .created(0);
        if let Some(l) = lang {
            opts = opts.metadata("language", l);
        }
        let Ok(mut w) = ArchiveWriter::in_memory(opts) else {
            continue;
        };
        let mut ok = true;
        if name == "long" {
            // 200 documents holding `storm`, so that its list has a head and two blocks.
            for i in 0..200 {
                let k = format!("l/{i:03}");
                ok &= w
                    .add(&NewEntry::new(&k, long.as_bytes()).content_type("text/plain"))
                    .is_ok();
            }
        }
        for (k, t, ct, body) in docs {
            let mut e = NewEntry::new(k, body.as_bytes()).content_type(ct);
            if let Some(t) = t {
                e = e.title(t);
            }
            ok &= w.add(&e).is_ok();
        }
        let Ok((bytes, _)) = w.finish_into_inner() else {
            continue;
        };
        if !ok {
            continue;
        }
        let bytes = bytes.into_inner();
        let bytes = reseal_search(&bytes).unwrap_or(bytes);
        let mut input = vec![q.len() as u8];
        input.extend_from_slice(q.as_bytes());
        input.extend_from_slice(&bytes);
        out.push((name.to_string(), input));
    }
    out
}

#[cfg(test)]
mod tests {
    /// The seeds, resealed, are intact archives whose searches find something; resealing
    /// an intact archive again changes nothing.
    #[test]
    fn seeds_are_clean_and_resealing_is_stable() {
        for (name, input) in super::seeds() {
            let (q, bytes) = super::split(&input);
            let a = quire::Archive::new(bytes).expect("opens");
            assert!(a.verify().is_ok(), "{name}: {:?}", a.verify().problems);
            let hits = a.search(&q, 10).expect("searches");
            assert!(!hits.is_empty(), "{name}: nothing found");
            assert_eq!(
                super::reseal_search(bytes).as_deref(),
                Some(bytes),
                "{name}"
            );
        }
    }
}
