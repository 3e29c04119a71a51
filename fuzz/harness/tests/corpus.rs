//! Replays every committed fuzz corpus and regression file through the fuzz harness bodies
//! (`quire_fuzz_harness`), so plain `cargo test` on stable catches any regression the fuzzers
//! once found, without a fuzzer installed.

use std::fs;
use std::path::Path;

fn replay(target: &str, harness: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut n = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(rd) = fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        let mut files: Vec<_> = rd.map(|e| e.unwrap().path()).collect();
        files.sort();
        for f in files {
            let data = fs::read(&f).unwrap();
            let r = std::panic::catch_unwind(|| harness(&data));
            assert!(r.is_ok(), "{} fails the {target} harness", f.display());
            n += 1;
        }
    }
    println!("{target}: replayed {n} inputs");
    assert!(n > 0, "no corpus for {target}");
}

#[test]
fn open_and_read() {
    replay("open_and_read", quire_fuzz_harness::open_and_read);
}

#[test]
fn roundtrip() {
    replay("roundtrip", quire_fuzz_harness::roundtrip);
}

#[test]
fn unpack() {
    replay("unpack", quire_fuzz_harness::unpack);
}

#[test]
fn jsonl_pack() {
    replay("jsonl_pack", quire_fuzz_harness::jsonl_pack);
}

#[test]
fn index_topology() {
    replay("index_topology", quire_fuzz_harness::index_topology);
}

#[test]
fn suggest() {
    replay("suggest", quire_fuzz_harness::suggest);
}

#[test]
fn search() {
    replay("search", quire_fuzz_harness::search);
}

/// Writes the `search` target's seeds (small archives with full-text indexes, their nodes
/// stored raw) into fuzz/corpus/search/: `cargo test -p quire-fuzz-harness --test corpus --
/// --ignored`.
#[test]
#[ignore]
fn write_search_seeds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/search");
    fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in quire_fuzz_harness::search_seeds() {
        fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
    }
}

/// Writes the `suggest` target's seeds (small archives with title indexes) into
/// fuzz/corpus/suggest/: `cargo test -p quire-fuzz-harness --test corpus -- --ignored`.
#[test]
#[ignore]
fn write_suggest_seeds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/suggest");
    fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in quire_fuzz_harness::suggest_seeds() {
        fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
    }
}
