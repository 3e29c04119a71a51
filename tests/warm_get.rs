//! Issue 25, a warm get on a website: a stored (raw) block is kept by the block cache when
//! it has room, never in place of a block that costs a decompression; a whole body over
//! several blocks is read into one allocation of its exact length; a lookup finds every key
//! of a page and no other.

use quire::{Archive, ArchiveWriter, NewEntry, WriterOptions};

/// `n` bytes no compressor can shrink (xorshift).
fn noise(n: usize, mut seed: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

/// `n` bytes of text-like words.
fn text(n: usize, seed: u64) -> Vec<u8> {
    let words = [
        "the ", "archive ", "page ", "reads ", "block ", "index ", "of ",
    ];
    let mut out = Vec::with_capacity(n + 16);
    let mut s = seed | 1;
    while out.len() < n {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        out.extend_from_slice(words[(s % words.len() as u64) as usize].as_bytes());
    }
    out.truncate(n);
    out
}

/// Packs `entries` (key, content type, body) in memory at the defaults, without a title
/// index.
fn pack(entries: &[(&str, &str, Vec<u8>)]) -> Vec<u8> {
    let opts = WriterOptions::new()
        .index(quire::IndexKind::None)
        .threads(1);
    let mut w = ArchiveWriter::in_memory(opts).unwrap();
    for (key, ct, body) in entries {
        w.add(&NewEntry::new(key, body).content_type(ct)).unwrap();
    }
    w.finish_into_inner().unwrap().0.into_inner()
}

/// Blocks decoded (read from the source and checked) by one `get` and `body` of `key`.
fn decodes(a: &Archive<Vec<u8>>, key: &str, want: &[u8]) -> u64 {
    a.reset_counters();
    assert_eq!(a.get(key).unwrap().unwrap().body().unwrap(), want, "{key}");
    a.counters().blocks_decompressed
}

#[test]
fn a_stored_block_is_kept_when_the_cache_has_room_and_evicts_nothing() {
    let image = noise(6000, 7);
    let page = text(8000, 1);
    let bytes = pack(&[
        ("a.html", "text/html", page.clone()),
        ("b.png", "image/png", image.clone()),
    ]);
    // The default cache has room: the image's raw block is read and checked once.
    let a = Archive::new(bytes.clone()).unwrap();
    assert_eq!(decodes(&a, "b.png", &image), 1);
    assert_eq!(decodes(&a, "b.png", &image), 0);
    assert_eq!(decodes(&a, "a.html", &page), 1);
    assert_eq!(decodes(&a, "a.html", &page), 0);
    // A cache of one block holding the page's (compressed) block: the image does not take
    // its place, so each read of it is checked again, and the page stays a hit.
    let a = Archive::new(bytes).unwrap().with_block_cache(1);
    assert_eq!(decodes(&a, "a.html", &page), 1);
    assert_eq!(decodes(&a, "b.png", &image), 1);
    assert_eq!(decodes(&a, "b.png", &image), 1);
    assert_eq!(decodes(&a, "a.html", &page), 0);
}

#[test]
fn a_whole_body_over_several_blocks_is_one_allocation_of_its_length() {
    let long = text(600_000, 3);
    let bytes = pack(&[
        ("long.html", "text/html", long.clone()),
        ("short.html", "text/html", text(3000, 4)),
    ]);
    let a = Archive::new(bytes).unwrap();
    assert!(a.block_count() >= 3, "{} blocks", a.block_count());
    for _ in 0..2 {
        let e = a.get("long.html").unwrap().unwrap();
        let body = e.body().unwrap();
        assert_eq!(body, long);
        assert_eq!(
            body.capacity(),
            body.len(),
            "one allocation, exactly the body"
        );
        let doc = e.document().unwrap();
        assert_eq!(doc.body, long);
        assert_eq!(doc.body.capacity(), long.len());
        // Into a buffer that held something else: its contents replaced.
        let mut out = b"left over".to_vec();
        e.read_body_into(&mut out).unwrap();
        assert_eq!(out, long);
    }
}

#[test]
fn a_lookup_finds_every_key_of_its_page_and_no_other() {
    let keys: Vec<String> = (0..300)
        .map(|i| format!("dir/page{:04}.html", i * 2))
        .collect();
    let entries: Vec<(&str, &str, Vec<u8>)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), "text/html", text(100 + i, i as u64)))
        .collect();
    let a = Archive::new(pack(&entries)).unwrap();
    for (i, (k, _, body)) in entries.iter().enumerate() {
        let e = a.get(k).unwrap().expect("present");
        assert_eq!((e.key(), e.index()), (*k, i as u64));
        assert_eq!(&e.body().unwrap(), body);
    }
    // Between two keys, before the first, after the last, a prefix of one, one longer.
    for k in [
        "dir/page0001.html",
        "dir/page0599.html",
        "a",
        "dir/page",
        "dir/page0000.htm",
        "dir/page0000.html.x",
        "zzz",
    ] {
        assert!(a.get(k).unwrap().is_none(), "{k}");
    }
}
