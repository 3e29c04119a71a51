//! Issue 25, the website's shape: opaque entries (images, fonts, archives) lie in blocks of
//! their own, stored as they are, so that reading one costs its own bytes and reading the
//! text beside it never decodes it (spec §8); and the block cache keeps the blocks that are
//! read most often.

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
        "the ", "archive ", "page ", "reads ", "block ", "index ", "of ", "a ",
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

/// The stored bytes and the decompressions one `get` of `key` costs on a fresh reader
/// without a block cache.
fn cost_of(bytes: &[u8], key: &str) -> (u64, u64, Vec<u8>) {
    let a = Archive::new(bytes.to_vec()).unwrap().with_block_cache(0);
    a.get(key).unwrap().unwrap(); // the page
    a.reset_counters();
    let body = a.get(key).unwrap().unwrap().body().unwrap();
    let c = a.counters();
    (c.bytes_read, c.blocks_decompressed, body)
}

#[test]
fn an_image_between_pages_lies_in_a_block_of_its_own_stored_as_it_is() {
    let image = noise(6000, 7);
    let entries = vec![
        ("a.html", "text/html", text(8000, 1)),
        ("b.png", "image/png", image.clone()),
        ("c.html", "text/html", text(8000, 2)),
    ];
    let bytes = pack(&entries);
    // The image's block holds only the image (its lead is empty): reading it reads exactly
    // its bytes, raw — no frame around them.
    let (read, blocks, body) = cost_of(&bytes, "b.png");
    assert_eq!(body, image);
    assert_eq!(blocks, 1);
    assert_eq!(
        read,
        image.len() as u64,
        "the image's block is the image, stored raw"
    );
    // The pages around it (one block together, 16 KB < the 24 KiB target, before and after
    // the image: two blocks) never read the image's bytes.
    for key in ["a.html", "c.html"] {
        let (read, blocks, body) = cost_of(&bytes, key);
        assert_eq!(body.len(), 8000);
        assert_eq!(blocks, 1);
        assert!(
            read < 8000,
            "{key}: {read} bytes read, compressed text, not the image"
        );
    }
    // Without the image the two pages share one block.
    let a = Archive::new(pack(&[entries[0].clone(), entries[2].clone()])).unwrap();
    let b = Archive::new(bytes).unwrap();
    assert_eq!(a.block_count(), 1);
    assert_eq!(b.block_count(), 3);
}

#[test]
fn compressible_binary_and_small_files_stay_with_the_text() {
    // An "image" that compresses well (a run of zeros) and a small one: neither is opaque.
    let entries = vec![
        ("a.html", "text/html", text(4000, 1)),
        ("b.bmp", "image/bmp", vec![0u8; 6000]),
        ("c.ico", "image/x-icon", noise(300, 3)),
        ("d.html", "text/html", text(4000, 2)),
    ];
    let bytes = pack(&entries);
    let a = Archive::new(bytes).unwrap();
    assert_eq!(a.block_count(), 1, "all four in one block");
    for (key, _, body) in &entries {
        assert_eq!(&a.get(key).unwrap().unwrap().body().unwrap(), body);
    }
}

#[test]
fn text_types_are_never_opaque_even_when_their_bytes_do_not_compress() {
    // Random bytes labelled as JavaScript stay in the text blocks (the writer trusts the
    // type: text compresses, and a text type is not probed).
    let entries = vec![
        ("a.html", "text/html", text(4000, 1)),
        ("b.js", "application/javascript", noise(6000, 9)),
        ("c.html", "text/html", text(4000, 2)),
    ];
    let a = Archive::new(pack(&entries)).unwrap();
    assert_eq!(a.block_count(), 1);
    assert_eq!(a.verify().problems.len(), 0);
}

#[test]
fn an_opaque_entry_over_the_block_limit_is_cut_into_raw_blocks() {
    let big = noise((4 << 20) + 1000, 11);
    let entries = vec![
        ("a.html", "text/html", text(3000, 1)),
        ("movie.mp4", "video/mp4", big.clone()),
        ("z.html", "text/html", text(3000, 2)),
    ];
    let a = Archive::new(pack(&entries)).unwrap();
    assert_eq!(
        a.block_count(),
        4,
        "a text block, two for the video, a text block"
    );
    assert_eq!(a.get("movie.mp4").unwrap().unwrap().body().unwrap(), big);
    assert_eq!(a.verify().problems.len(), 0);
}

#[test]
fn the_block_cache_keeps_the_block_read_most_often() {
    // Many small pages in one block, then long pages of a block each. The cache (made small
    // here: room for two blocks of the long pages) keeps the block of small pages, read far
    // more often, while the long pages come and go.
    let mut entries = Vec::new();
    for i in 0..40 {
        entries.push((format!("a/{i:02}"), text(500, i)));
    }
    for i in 0..8 {
        entries.push((format!("z/{i}"), text(100_000, 100 + i)));
    }
    let opts = WriterOptions::new()
        .index(quire::IndexKind::None)
        .threads(1);
    let mut w = ArchiveWriter::in_memory(opts).unwrap();
    for (k, b) in &entries {
        w.add(&NewEntry::new(k, b)).unwrap();
    }
    let bytes = w.finish_into_inner().unwrap().0.into_inner();
    let a = Archive::new(bytes).unwrap().with_block_cache(3);
    // Warm: every small page once, then long pages and small pages interleaved.
    for i in 0..40 {
        a.get(&format!("a/{i:02}"))
            .unwrap()
            .unwrap()
            .body()
            .unwrap();
    }
    a.reset_counters();
    let mut small_misses = 0;
    for round in 0..16 {
        let long = format!("z/{}", round % 8);
        a.get(&long).unwrap().unwrap().body().unwrap();
        let before = a.counters().blocks_decompressed;
        let small = format!("a/{:02}", (round * 7) % 40);
        a.get(&small).unwrap().unwrap().body().unwrap();
        small_misses += a.counters().blocks_decompressed - before;
    }
    assert_eq!(
        small_misses, 0,
        "the often-read block of small pages stayed"
    );
}

#[test]
fn the_default_cache_holds_what_the_reader_heap_leaves() {
    // 40 MB of distinct text: more than the 16 MiB a cache had before, less than the 48 MiB
    // the default takes when the blocks are small and the dictionary is read (spec §12).
    // Read twice, the second pass decompresses nothing.
    let entries: Vec<(String, Vec<u8>)> = (0..400)
        .map(|i| (format!("p/{i:03}"), text(100_000, 2 * i + 1)))
        .collect();
    let opts = WriterOptions::new()
        .level(1)
        .index(quire::IndexKind::None)
        .threads(1);
    let mut w = ArchiveWriter::in_memory(opts).unwrap();
    for (k, b) in &entries {
        w.add(&NewEntry::new(k, b)).unwrap();
    }
    let bytes = w.finish_into_inner().unwrap().0.into_inner();
    let a = Archive::new(bytes).unwrap();
    let read_all = || {
        for (k, b) in &entries {
            assert_eq!(&a.get(k).unwrap().unwrap().body().unwrap(), b);
        }
    };
    read_all();
    let first = a.counters().blocks_decompressed;
    assert!(first >= 200, "40 MB in at least 200 blocks: {first}");
    a.reset_counters();
    read_all();
    assert_eq!(a.counters().blocks_decompressed, 0, "every block stayed");
}
