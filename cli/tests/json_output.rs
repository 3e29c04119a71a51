//! `quire info --json` and `quire ls --json` (issue 13, item 21): documented, machine-readable
//! output that agrees with the archive and with the text commands.

use crate::cli_common as common;

use std::fs;
use std::path::Path;

use common::{ok, run, s};
use serde_json::Value;

fn packed_samples(dir: &Path) -> std::path::PathBuf {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples");
    let arc = dir.join("s.quire");
    ok(&run(&[
        "pack",
        s(&samples.join("articles")),
        s(&samples.join("articles.jsonl")),
        "-q",
        "-o",
        s(&arc),
    ]));
    arc
}

#[test]
fn info_json_describes_the_archive() {
    let t = tempfile::tempdir().unwrap();
    let arc = packed_samples(t.path());
    let v: Value = serde_json::from_str(&ok(&run(&["info", "--json", s(&arc)]))).unwrap();
    let bytes = fs::read(&arc).unwrap();
    let a = quire::Archive::new(&bytes[..]).unwrap();
    assert_eq!(v["version"], "3.1");
    assert_eq!(v["entries"].as_u64(), Some(a.len()));
    assert_eq!(v["blocks"].as_u64(), Some(a.block_count()));
    assert_eq!(v["file_bytes"].as_u64(), Some(bytes.len() as u64));
    assert_eq!(
        v["dictionary_stored_bytes"].as_u64(),
        Some(a.dictionary_len())
    );
    let raw: u64 = a.iter().map(|e| e.unwrap().body_len()).sum();
    assert_eq!(v["raw_bytes"].as_u64(), Some(raw));
    // The sections tile the file after the prelude.
    let sections = v["sections"].as_array().unwrap();
    assert_eq!(sections.len(), a.sections().len());
    let total: u64 = sections.iter().map(|x| x["length"].as_u64().unwrap()).sum();
    let prelude = v["prelude_bytes"].as_u64().unwrap();
    assert_eq!(prelude, u64::from(a.header().prelude_len));
    assert_eq!(prelude + total, bytes.len() as u64);
    let names: Vec<&str> = sections
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    for name in ["DICT", "INDEX", "DATA"] {
        assert!(names.contains(&name), "{names:?}");
    }
    // The index: the prelude and INDEX, i.e. everything but the dictionary and the blocks.
    assert_eq!(
        v["index_depth"].as_u64(),
        Some(a.header().index_depth.into())
    );
    assert_eq!(v["data_bytes"].as_u64(), Some(a.data_len()));
    let titles = v["title_index_bytes"].as_u64().unwrap();
    assert!(v["title_index"] == true && titles > 0);
    assert_eq!(
        v["index_bytes"].as_u64(),
        Some(bytes.len() as u64 - a.dictionary_len() - a.data_len() - titles)
    );
    let keys: u64 = a.iter().map(|e| e.unwrap().key().len() as u64).sum();
    assert_eq!(v["key_bytes"].as_u64(), Some(keys));
    for gone in ["buckets", "hash_seed", "max_probe"] {
        assert!(v.get(gone).is_none(), "{gone} is a 2.0 field");
    }
    assert_eq!(v["metadata"]["created"], "2023-11-14T22:13:20Z");
    assert_eq!(
        v["content_types"].as_array().unwrap().len(),
        a.content_types().len()
    );
}

#[test]
fn ls_json_is_one_object_per_entry_matching_ls() {
    let t = tempfile::tempdir().unwrap();
    let arc = packed_samples(t.path());
    let text = ok(&run(&["ls", s(&arc)]));
    let json = ok(&run(&["ls", "--json", "--long", s(&arc)]));
    let objs: Vec<Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let keys: Vec<&str> = objs.iter().map(|o| o["key"].as_str().unwrap()).collect();
    assert_eq!(keys, text.lines().collect::<Vec<_>>());
    let seed = objs
        .iter()
        .find(|o| o["key"] == "seed-article.txt")
        .unwrap();
    assert_eq!(seed["date"], "2002-03-14");
    assert_eq!(
        seed["title"],
        "N. Korean Asylum Seekers Break Into Embassy in China"
    );
    for (i, o) in objs.iter().enumerate() {
        assert_eq!(o["index"].as_u64(), Some(i as u64));
        assert!(o["size"].is_u64() && o["content_type"].is_string());
    }
    // Sorted under a prefix, like ls --prefix.
    let p = ok(&run(&["ls", "--json", "--prefix", "world/", s(&arc)]));
    let sorted: Vec<String> = p
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["key"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        sorted.join("\n") + "\n",
        ok(&run(&["ls", "--prefix", "world/", s(&arc)]))
    );
}

#[test]
fn ls_json_marks_unreadable_entries_and_exits_1() {
    let t = tempfile::tempdir().unwrap();
    let arc = t.path().join("a.quire");
    let jsonl = t.path().join("in.jsonl");
    let mut lines = String::new();
    for i in 0..40 {
        let body = format!("entry {i} ").repeat(60);
        lines.push_str(&format!(
            "{{\"key\":\"k{i:02}\",\"title\":\"T{i}\",\"body\":\"{body}\"}}\n"
        ));
    }
    fs::write(&jsonl, lines).unwrap();
    ok(&run(&[
        "pack",
        s(&jsonl),
        "--no-dict",
        "--block-size",
        "1K",
        "-q",
        "-o",
        s(&arc),
    ]));
    // Damage the stored bytes of the block k20's body starts in.
    let mut bytes = fs::read(&arc).unwrap();
    let (block, rec) = {
        let a = quire::Archive::new(&bytes[..]).unwrap();
        let e = a.get("k20").unwrap().unwrap();
        let block = e.location().unwrap().0;
        (
            block,
            a.sections()
                .iter()
                .find(|r| r.id == quire::format::SectionId::Data as u32)
                .copied()
                .unwrap(),
        )
    };
    let _ = block;
    let mid = (rec.offset + rec.length / 2) as usize;
    bytes[mid] ^= 0x55;
    fs::write(&arc, &bytes).unwrap();
    let o = run(&["ls", "--json", "--long", s(&arc)]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8(o.stdout).unwrap();
    let objs: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objs.len(), 40, "every entry is listed");
    let bad = objs.iter().filter(|o| o.get("error").is_some()).count();
    assert!((1..40).contains(&bad), "{bad} unreadable");
}
