//! `quire search` (spec §15): `pack --index full --language`, text and JSON output, the
//! exit code without a full-text index, and what `info` says of the index.

use crate::cli_common as common;

use std::path::Path;

use serde_json::Value;

use common::*;

const ENTRIES: &str = r#"{"key": "a", "title": "Running cats", "body": "The cats were running to the river bank."}
{"key": "b", "title": "Dogs", "body": "A dog runs <fast> & far."}
{"key": "c", "content_type": "text/html", "body": "<html><head><title>Page</title><script>hiddenword()</script></head><body><p>Cats and dogs</p></body></html>"}
{"key": "d", "content_type": "image/png", "body": "cats"}
"#;

fn packed(dir: &Path, extra: &[&str]) -> std::path::PathBuf {
    let arc = dir.join("a.quire");
    let mut args = vec!["pack", "-", "-o", s(&arc), "-q", "--force"];
    args.extend_from_slice(extra);
    ok(&run_stdin(&args, ENTRIES.as_bytes()));
    arc
}

fn search(arc: &Path, args: &[&str]) -> String {
    let mut all = vec!["search", s(arc)];
    all.extend_from_slice(args);
    ok(&run(&all))
}

#[test]
fn search_finds_stems_ranks_and_prints_snippets() {
    let t = tempfile::tempdir().unwrap();
    let arc = packed(t.path(), &["--index", "full", "--language", "eng"]);
    let out = search(&arc, &["run"]);
    let keys: Vec<&str> = out.lines().map(|l| l.split('\t').next().unwrap()).collect();
    assert_eq!(keys, ["a", "b"], "{out}");
    assert!(out.lines().next().unwrap().contains("[running]"), "{out}");
    let json = search(&arc, &["cats", "--json", "--limit", "5"]);
    let rows: Vec<Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let keys: Vec<&str> = rows.iter().map(|r| r["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["a", "c"], "{json}");
    assert_eq!(rows[1]["title"], "Page");
    assert!(rows[0]["score"].as_u64().unwrap() >= rows[1]["score"].as_u64().unwrap());
    assert_eq!(
        rows[1]["snippet"], "<b>Cats</b> and dogs",
        "HTML stripped, marks as <b>"
    );
    let json = search(&arc, &["far", "--json"]);
    let row: Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(row["snippet"], "A dog runs &lt;fast&gt; &amp; <b>far</b>.");
    assert_eq!(search(&arc, &["hiddenword"]), "");
    assert_eq!(
        search(&arc, &["\"river bank\"", "--limit", "1"])
            .lines()
            .count(),
        1
    );
    assert_eq!(search(&arc, &["\"bank river\""]), "");
    let info: Value = serde_json::from_str(&ok(&run(&["info", "--json", s(&arc)]))).unwrap();
    assert_eq!(info["search_index"], true);
    assert!(info["search_index_bytes"].as_u64().unwrap() > 64);
    assert_eq!(info["metadata"]["language"], "eng");
}

#[test]
fn without_the_index_search_exits_5() {
    let t = tempfile::tempdir().unwrap();
    let arc = packed(t.path(), &[]);
    let e = fails(&run(&["search", s(&arc), "cats"]), 5);
    assert!(e.contains("--index full"), "{e}");
    let info: Value = serde_json::from_str(&ok(&run(&["info", "--json", s(&arc)]))).unwrap();
    assert_eq!(info["search_index"], false);
    assert_eq!(info["search_index_bytes"], 0);
    let long = "w ".repeat(3000);
    let arc = packed(t.path(), &["--index", "full"]);
    fails(&run(&["search", s(&arc), &long]), 2);
}
