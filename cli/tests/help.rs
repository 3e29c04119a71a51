//! `--help` and the README's command table agree, option for option (issue 13 item 18), and
//! `--help` lists the exit codes, the input types and the JSONL fields.

use crate::cli_common as common;

use std::collections::BTreeSet;

use common::*;

const SUBCOMMANDS: [&str; 8] = [
    "pack", "unpack", "ls", "get", "suggest", "search", "info", "verify",
];

/// The commands that read an ARCHIVE (a path or a URL).
const READERS: [&str; 8] = [
    "unpack", "ls", "get", "suggest", "search", "info", "verify", "salvage",
];

/// The global options for URLs: every command's --help lists them, and the README's table
/// gives them once, not per command.
const GLOBAL: [&str; 3] = ["--timeout", "--retries", "--parallel"];

/// The `--long` options a help text lists in its options section.
fn help_options(help: &str) -> BTreeSet<String> {
    help.lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with('-'))
        .flat_map(long_options)
        .filter(|o| o != "--help" && o != "--version")
        .filter(|o| !GLOBAL.contains(&o.as_str()))
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
        "default 24K",
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

#[test]
fn help_says_an_archive_may_be_a_url_and_documents_the_remote_settings() {
    let top = ok(&run(&["--help"]));
    let mut helps = vec![("quire".to_string(), top)];
    for sub in READERS {
        helps.push((format!("quire {sub}"), ok(&run(&[sub, "--help"]))));
    }
    for (name, help) in &helps {
        for want in [
            "http://",
            "https://",
            "s3://BUCKET/KEY",
            "--timeout",
            "--retries",
            "--parallel",
            "QUIRE_TIMEOUT",
            "QUIRE_RETRIES",
            "QUIRE_PARALLEL",
            "AWS_ENDPOINT_URL",
            "AWS_REGION",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_SKIP_SIGNATURE",
            "AWS_ALLOW_HTTP",
            "SSL_CERT_FILE",
            "4  input/output",
            "the network",
        ] {
            assert!(
                help.contains(want),
                "{want:?} not in {name} --help:\n{help}"
            );
        }
    }
    // Exit 1 is for bytes that arrived and are wrong; the network's failures are 4.
    let top = &helps[0].1;
    let one = top.lines().find(|l| l.starts_with("  1  ")).unwrap();
    assert!(one.contains("damaged"), "{one}");
    for fault in [
        "timeout",
        "certificate",
        "403",
        "404",
        "5xx",
        "cut short",
        "ignores",
        "changed",
    ] {
        assert!(
            top.contains(fault),
            "{fault:?} not among the exit codes:\n{top}"
        );
    }
}

#[test]
fn remote_settings_come_from_flags_or_the_environment_and_are_checked() {
    // A bad value is a usage error, from the flag or from the variable.
    for args in [
        &["--timeout", "0", "info", "x.quire"][..],
        &["--timeout", "soon", "info", "x.quire"],
        &["--parallel", "0", "info", "x.quire"],
        &["--retries", "-1", "info", "x.quire"],
    ] {
        let o = run(args);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let o = run_env(&["info", "x.quire"], &[("QUIRE_PARALLEL", "zero")]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Good values are taken after the command as well as before it.
    let o = run_env(
        &["info", "--timeout", "2.5", "--retries", "0", "nope.quire"],
        &[("QUIRE_PARALLEL", "4")],
    );
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn run_env(args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    quire()
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .unwrap()
}
