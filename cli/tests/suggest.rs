//! `quire suggest` and the `--index` choice of `quire pack` (issue 22): folded matches in the
//! stated order, limits, the JSON shape, an archive without a title index, `--index none`
//! (no TITLES section), an unknown `--index` (refused), and what `info` says of the title index.

use crate::cli_common as common;

use std::fs;
use std::path::Path;

use serde_json::Value;

use common::*;

/// Six entries: titles in Latin (with and without diacritics, upper case, fullwidth), a key
/// without a title, Greek, Cyrillic and Chinese.
const ENTRIES: &str = r#"{"key": "zh", "title": "Zürich", "body": "a"}
{"key": "air", "title": "Flughafen ZÜRICH", "body": "b"}
{"key": "lake", "title": "Lake Zurich Shores", "body": "c"}
{"key": "zurich-notes", "body": "d"}
{"key": "zug", "title": "Zug", "body": "e"}
{"key": "wide", "title": "ＺＵＲＩＣＨ ＷＩＤＥ", "body": "f"}
{"key": "street", "title": "Große Straße", "body": "g"}
{"key": "athens", "title": "Ἀθῆναι", "body": "h"}
{"key": "moscow", "title": "Москва", "body": "i"}
{"key": "pku", "title": "北京大学", "body": "j"}
{"key": "tab", "title": "a\tb line", "body": "k"}
"#;

fn packed(dir: &Path, extra: &[&str]) -> std::path::PathBuf {
    let arc = dir.join("a.quire");
    let mut args = vec!["pack", "-", "-o", s(&arc), "-q", "--force"];
    args.extend_from_slice(extra);
    ok(&run_stdin(&args, ENTRIES.as_bytes()));
    arc
}

fn suggest(arc: &Path, args: &[&str]) -> String {
    let mut all = vec!["suggest", s(arc)];
    all.extend_from_slice(args);
    ok(&run(&all))
}

/// The keys of the text output's lines.
fn keys(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect()
}

#[test]
fn folding_finds_every_spelling_in_the_stated_order() {
    let t = tempfile::tempdir().unwrap();
    let arc = packed(t.path(), &[]);
    // Title starts before word starts, then shorter folded titles first: "zurich" (6 bytes),
    // "zurich wide" (11), "zurich-notes" (12); then the word starts "flughafen zurich" (16),
    // "lake zurich shores" (18).
    let want = ["zh", "wide", "zurich-notes", "air", "lake"];
    for q in [
        "zurich",
        "Zürich",
        "ZÜRICH",
        "ｚｕｒｉｃｈ",
        "zu\u{308}rich",
        "ZURI",
    ] {
        assert_eq!(keys(&suggest(&arc, &[q])), want, "query {q:?}");
    }
    // The text form: key, a tab, the title (the key for an entry without one).
    let text = suggest(&arc, &["zurich"]);
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        [
            "zh\tZürich",
            "wide\tＺＵＲＩＣＨ ＷＩＤＥ",
            "zurich-notes\tzurich-notes",
            "air\tFlughafen ZÜRICH",
            "lake\tLake Zurich Shores",
        ]
    );
    // ß/ss both ways, and a word start.
    assert_eq!(keys(&suggest(&arc, &["strasse"])), ["street"]);
    assert_eq!(keys(&suggest(&arc, &["STRAß"])), ["street"]);
    assert_eq!(keys(&suggest(&arc, &["grosse str"])), ["street"]);
    // Greek without accents, Cyrillic in upper case, Chinese at any character.
    assert_eq!(keys(&suggest(&arc, &["αθη"])), ["athens"]);
    assert_eq!(keys(&suggest(&arc, &["МОСК"])), ["moscow"]);
    assert_eq!(keys(&suggest(&arc, &["大学"])), ["pku"]);
    // Only at word starts: "urich" is inside a word.
    assert_eq!(suggest(&arc, &["urich"]), "");
    // "zu": title starts (zug, zh, …) before the word starts.
    assert_eq!(
        keys(&suggest(&arc, &["zu"])),
        ["zug", "zh", "wide", "zurich-notes", "air", "lake"]
    );
    // A title with a tab is escaped as ls --long shows it: one line, one tab.
    let tab = suggest(&arc, &["a"]);
    let line = tab.lines().find(|l| l.starts_with("tab\t")).unwrap();
    assert_eq!(line, "tab\t\"a\\tb line\"");
}

#[test]
fn limit_takes_the_first_suggestions_and_defaults_to_ten() {
    let t = tempfile::tempdir().unwrap();
    let arc = t.path().join("many.quire");
    let jsonl: String = (0..30)
        .map(|i| {
            format!(
                "{{\"key\": \"k{i:02}\", \"title\": \"Berlin {}\"}}\n",
                "x".repeat(i)
            )
        })
        .collect();
    pack_jsonl(&arc, &jsonl);
    let all = suggest(&arc, &["berlin", "--limit", "0"]);
    assert_eq!(all.lines().count(), 30);
    // Shorter titles first.
    let want: Vec<String> = (0..30).map(|i| format!("k{i:02}")).collect();
    assert_eq!(keys(&all), want);
    assert_eq!(keys(&suggest(&arc, &["berlin"])), want[..10]);
    assert_eq!(keys(&suggest(&arc, &["berlin", "--limit", "3"])), want[..3]);
    assert_eq!(keys(&suggest(&arc, &["BERL", "-n", "12"])), want[..12]);
    // The empty text suggests every entry.
    assert_eq!(suggest(&arc, &["", "--limit", "0"]).lines().count(), 30);
    // A limit that is not a number is a usage error.
    fails(&run(&["suggest", s(&arc), "b", "--limit", "x"]), 2);
}

#[test]
fn json_is_one_object_per_line_with_key_title_and_kind() {
    let t = tempfile::tempdir().unwrap();
    let arc = packed(t.path(), &[]);
    let out = suggest(&arc, &["zurich", "--json"]);
    let objs: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objs.len(), 5);
    for o in &objs {
        let mut fields: Vec<&str> = o.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        fields.sort_unstable();
        assert_eq!(fields, ["key", "kind", "title"]);
    }
    assert_eq!(
        objs[0],
        serde_json::json!({"key": "zh", "title": "Zürich", "kind": "title"})
    );
    assert_eq!(
        objs[2],
        serde_json::json!({"key": "zurich-notes", "title": null, "kind": "title"})
    );
    assert_eq!(
        objs[3],
        serde_json::json!({"key": "air", "title": "Flughafen ZÜRICH", "kind": "word"})
    );
    // The same keys, in the same order, as the text form.
    let json_keys: Vec<&str> = objs.iter().map(|o| o["key"].as_str().unwrap()).collect();
    assert_eq!(json_keys, keys(&suggest(&arc, &["zurich"])));
    assert_eq!(suggest(&arc, &["nothing matches", "--json"]), "");
}

#[test]
fn index_none_writes_no_title_section_and_suggest_says_how_to_add_one() {
    let t = tempfile::tempdir().unwrap();
    let with = packed(t.path(), &[]);
    let with_len = fs::metadata(&with).unwrap().len();
    let without = t.path().join("none.quire");
    ok(&run_stdin(
        &["pack", "-", "-o", s(&without), "-q", "--index", "none"],
        ENTRIES.as_bytes(),
    ));
    let bytes = fs::read(&without).unwrap();
    let a = quire::Archive::new(&bytes[..]).unwrap();
    assert!(!a.has_title_index());
    assert!(a.sections().iter().all(|r| r.id != 4), "{:?}", a.sections());
    assert!((bytes.len() as u64) < with_len);
    // Every article still reads.
    assert_eq!(ok(&run(&["get", s(&without), "zh"])), "a");

    let e = fails(&run(&["suggest", s(&without), "zurich"]), 5);
    assert!(e.contains("no title index"), "{e}");
    assert!(e.contains("--index titles"), "{e}");
    let e = fails(&run(&["suggest", s(&without), "zurich", "--json"]), 5);
    assert!(e.contains("no title index"), "{e}");

    // info: whether there is one and its size, from the section table.
    let v: Value = serde_json::from_str(&ok(&run(&["info", "--json", s(&without)]))).unwrap();
    assert_eq!(v["title_index"], false);
    assert_eq!(v["title_index_bytes"], 0);
    let text = ok(&run(&["info", s(&without)]));
    assert!(text.contains("title index:    none"), "{text}");

    let v: Value = serde_json::from_str(&ok(&run(&["info", "--json", s(&with)]))).unwrap();
    let bytes = fs::read(&with).unwrap();
    let a = quire::Archive::new(&bytes[..]).unwrap();
    let section = a.sections().iter().find(|r| r.id == 4).unwrap();
    assert_eq!(v["title_index"], true);
    assert_eq!(v["title_index_bytes"].as_u64(), Some(section.length));
    let named: Vec<&str> = v["sections"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["name"].as_str())
        .collect();
    assert!(named.contains(&"TITLES"), "{named:?}");
    // index_bytes is the prelude and INDEX: neither the title index nor the data.
    assert_eq!(
        v["index_bytes"].as_u64(),
        Some(bytes.len() as u64 - a.dictionary_len() - a.data_len() - section.length)
    );
    let text = ok(&run(&["info", s(&with)]));
    assert!(
        text.contains(&format!("title index:    {} bytes", section.length)),
        "{text}"
    );
    // The default is --index titles: the same bytes.
    let explicit = t.path().join("titles.quire");
    ok(&run_stdin(
        &["pack", "-", "-o", s(&explicit), "-q", "--index", "titles"],
        ENTRIES.as_bytes(),
    ));
    assert_eq!(fs::read(&explicit).unwrap(), bytes);
}

#[test]
fn index_kinds_are_checked() {
    let t = tempfile::tempdir().unwrap();
    let arc = t.path().join("full.quire");
    let e = fails(
        &run_stdin(
            &["pack", "-", "-o", s(&arc), "--index", "xapian"],
            ENTRIES.as_bytes(),
        ),
        2,
    );
    assert!(e.contains("titles"), "{e}");
    let help = ok(&run(&["pack", "--help"]));
    for want in ["--index", "titles", "none", "full"] {
        assert!(help.contains(want), "{want} not in pack --help");
    }
}

#[test]
fn damaged_title_index_is_exit_1_and_articles_still_read() {
    let t = tempfile::tempdir().unwrap();
    let arc = packed(t.path(), &[]);
    let mut bytes = fs::read(&arc).unwrap();
    let a = quire::Archive::new(&bytes[..]).unwrap();
    let section = *a.sections().iter().find(|r| r.id == 4).unwrap();
    drop(a);
    // A byte of the root (after the 32-byte header).
    bytes[section.offset as usize + 40] ^= 0x55;
    fs::write(&arc, &bytes).unwrap();
    let e = fails(&run(&["suggest", s(&arc), "zurich"]), 1);
    assert!(e.contains("title index"), "{e}");
    assert_eq!(ok(&run(&["get", s(&arc), "zh"])), "a");
}
