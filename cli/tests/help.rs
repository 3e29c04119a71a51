//! `--help` and the README's command table agree, option for option (issue 13 item 18), and
//! `--help` lists the exit codes, the input types and the JSONL fields.

mod common;

use std::collections::BTreeSet;

use common::*;

const SUBCOMMANDS: [&str; 6] = ["pack", "unpack", "ls", "get", "info", "verify"];

/// The `--long` options a help text lists in its options section.
fn help_options(help: &str) -> BTreeSet<String> {
    help.lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with('-'))
        .flat_map(long_options)
        .filter(|o| o != "--help" && o != "--version")
        .collect()
}

/// Every `--word` in `text`.
fn long_options(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("--") {
        let start = i + at;
        let mut end = start + 2;
        while end < b.len() && (b[end].is_ascii_lowercase() || b[end] == b'-') {
            end += 1;
        }
        let preceded = start > 0 && (b[start - 1].is_ascii_alphanumeric() || b[start - 1] == b'-');
        if end > start + 2 && !preceded {
            out.push(text[start..end].trim_end_matches('-').to_string());
        }
        i = end.max(start + 2);
    }
    out
}

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap()
}

/// The README command table's rows for one subcommand.
fn readme_rows(readme: &str, sub: &str) -> String {
    readme
        .lines()
        .filter(|l| l.starts_with(&format!("| `quire {sub} ")))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn readme_command_table_and_help_agree_option_for_option() {
    let readme = readme();
    for sub in SUBCOMMANDS {
        let help = ok(&run(&[sub, "--help"]));
        let rows = readme_rows(&readme, sub);
        assert!(!rows.is_empty(), "no README row for {sub}");
        let in_help = help_options(&help);
        let in_rows: BTreeSet<String> = long_options(&rows).into_iter().collect();
        for o in &in_help {
            assert!(
                in_rows.contains(o),
                "{sub} {o} is in --help but not in the README table"
            );
        }
        for o in &in_rows {
            assert!(
                in_help.contains(o),
                "{sub} {o} is in the README table but not in --help"
            );
        }
        // Short options too: each `-x, --long` of --help appears as `-x` in the row.
        for line in help.lines().map(str::trim_start) {
            if let Some(short) = line
                .strip_prefix('-')
                .filter(|l| l.as_bytes().get(1) == Some(&b','))
            {
                let flag = format!("-{}", &short[..1]);
                if flag != "-h" && flag != "-V" {
                    assert!(
                        rows.contains(&format!("`{flag}")),
                        "{sub} {flag} not in the README row"
                    );
                }
            }
        }
    }
}

#[test]
fn help_lists_exit_codes_inputs_jsonl_fields_and_defaults() {
    let top = ok(&run(&["--help"]));
    for code in [
        "0  success",
        "1  the archive",
        "2  usage",
        "3  get",
        "4  input/output",
    ] {
        assert!(top.contains(code), "{code:?} not in --help:\n{top}");
    }
    let pack = ok(&run(&["pack", "--help"]));
    for want in [
        "Exit codes:",
        "Inputs:",
        "FILE.jsonl",
        "JSONL fields",
        "body_base64",
        "content_type",
        "RFC 3339",
        "64..=4M",
        "default 16K",
        "--strict-names",
    ] {
        assert!(pack.contains(want), "{want:?} not in pack --help:\n{pack}");
    }
    let threads = pack.lines().find(|l| l.contains("--threads")).unwrap();
    assert_eq!(threads.matches("default").count(), 1, "{threads}");
    let unpack = ok(&run(&["unpack", "--help"]));
    assert!(
        unpack.contains("Exit codes:") && unpack.contains("FIFO"),
        "{unpack}"
    );
}
