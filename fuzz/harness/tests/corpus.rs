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

/// The `search` and `suggest` targets' seeds in fuzz/corpus/ (small archives with a
/// full-text or title index, their nodes stored raw) are what the harness makes today, so a
/// format change cannot leave the fuzzers starting from archives of an older layout.
/// Regenerate after an intended change with `QUIRE_BLESS=1 cargo test -p quire-fuzz-harness
/// --test corpus seeds`.
#[test]
fn seeds_are_what_the_harness_makes() {
    let bless = std::env::var_os("QUIRE_BLESS").is_some();
    for (target, seeds) in [
        ("search", quire_fuzz_harness::search_seeds()),
        ("suggest", quire_fuzz_harness::suggest_seeds()),
    ] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../corpus")
            .join(target);
        assert!(!seeds.is_empty(), "{target}: no seeds");
        for (name, bytes) in seeds {
            let path = dir.join(format!("seed-{name}"));
            if bless {
                fs::create_dir_all(&dir).unwrap();
                fs::write(&path, &bytes).unwrap();
            } else {
                let on_disk = fs::read(&path)
                    .unwrap_or_else(|e| panic!("{}: {e} (QUIRE_BLESS=1 makes it)", path.display()));
                assert!(
                    on_disk == bytes,
                    "{} is not what the harness makes (QUIRE_BLESS=1 remakes it)",
                    path.display()
                );
            }
        }
    }
}
