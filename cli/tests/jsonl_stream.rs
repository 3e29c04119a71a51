//! `unpack --jsonl` streams each body block by block (issue 13 item 2): a UTF-8 body whose
//! multi-byte characters straddle block boundaries, and binary bodies whose base64 triples
//! straddle them, give exactly the bytes of the whole-body encoding.

use std::fs;
use std::path::Path;
use std::process::Command;

use base64::Engine as _;

const BLOCK: u32 = 1024;

fn quire() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_quire"));
    c.env("SOURCE_DATE_EPOCH", "1700000000");
    c
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Deterministic bytes that are not UTF-8.
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn streamed_jsonl_equals_whole_body_encoding_across_block_boundaries() {
    let t = tempfile::tempdir().unwrap();
    let mut bodies: Vec<(String, Vec<u8>)> = Vec::new();
    for p in 0..4 {
        // Four-byte characters after 0..3 ASCII bytes: block cuts fall inside characters.
        let text = format!("{}{}", "x".repeat(p), "😀".repeat(2000));
        bodies.push((format!("emoji/{p}"), text.into_bytes()));
        let mixed = format!("{}{}", "y".repeat(p), "aé€😀\"\\\n\u{1}".repeat(700));
        bodies.push((format!("mixed/{p}"), mixed.into_bytes()));
    }
    for (i, n) in [9000usize, 9001, 9002, 5000].into_iter().enumerate() {
        bodies.push((format!("bin/{i}"), noise(n, i as u64)));
    }
    // UTF-8 for seven blocks, then one invalid byte; and text cut inside its last character.
    let mut late = "é".repeat(4000).into_bytes();
    late.push(0xFF);
    bodies.push(("bin/late-invalid".into(), late));
    let mut cut = "€".repeat(3000).into_bytes();
    cut.pop();
    bodies.push(("bin/cut-char".into(), cut));

    let mut jsonl = String::new();
    for (k, b) in &bodies {
        let line = match std::str::from_utf8(b) {
            Ok(text) => {
                serde_json::json!({"key": k, "title": "T", "meta": {"m": "v"}, "body": text})
            }
            Err(_) => serde_json::json!({
                "key": k,
                "content_type": "application/octet-stream",
                "body_base64": base64::engine::general_purpose::STANDARD.encode(b),
            }),
        };
        jsonl.push_str(&line.to_string());
        jsonl.push('\n');
    }
    let input = t.path().join("in.jsonl");
    fs::write(&input, jsonl).unwrap();
    let arc = t.path().join("a.quire");
    let o = quire()
        .args(["pack", s(&input), "-o", s(&arc), "--block-size", "1K"])
        .args(["--no-dict", "--level", "1", "-q"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // The reference: each body read whole and encoded at once.
    // SAFETY: the test wrote the file and nothing modifies it while it is mapped.
    let archive = unsafe { quire::Archive::open(&arc) }.unwrap();
    assert_eq!(archive.header().block_target, BLOCK);
    let mut want = quire::jsonl::archive_line(archive.metadata());
    want.push('\n');
    let mut straddles = 0;
    for e in archive.iter() {
        let e = e.unwrap();
        let body = e.body().unwrap();
        assert!(
            body.len() > 3 * BLOCK as usize,
            "{} spans few blocks",
            e.key()
        );
        want.push_str(&quire::jsonl::entry_line(&e).unwrap());
        want.push('\n');
        // Blocks are cut every BLOCK bytes of the stream: where do the cuts fall in the body?
        let (_, offset) = e.location().unwrap();
        let first_cut = (BLOCK - offset) as usize;
        if e.key().starts_with("emoji/") {
            let p: usize = e.key()[6..].parse().unwrap();
            if !(first_cut + 4 - p).is_multiple_of(4) {
                straddles += 1;
            }
        }
    }
    assert!(straddles >= 2, "too few block cuts inside a character");
    drop(archive);

    let o = quire()
        .args(["unpack", s(&arc), "--jsonl", "-"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.stdout == want.as_bytes(), "streamed JSONL differs");
    for (k, _) in bodies.iter().filter(|(k, _)| k.starts_with("bin/")) {
        let line = want
            .lines()
            .find(|l| l.contains(&format!("\"{k}\"")))
            .unwrap();
        assert!(line.contains("\"body_base64\":"), "{k}");
    }

    // And the same through a file target.
    let out = t.path().join("out.jsonl");
    let o = quire()
        .args(["unpack", s(&arc), "--jsonl", s(&out)])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(fs::read(&out).unwrap() == want.as_bytes());
}
