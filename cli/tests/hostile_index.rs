//! Issue 18's hostile files through the real `quire` binary: the files of classes 1 to 5
//! are generated here (by the library tests' own builder, `tests/common/crafted.rs`, every
//! checksum of the chain valid), then each is run through `info`, `ls`, `ls --long`,
//! `get KEY` (a key whose lookup goes through the crafted part), `unpack -o DIR` and
//! `verify`, each with a deadline so that a hang is a failure.
//!
//! - A command that reads the crafted part exits 1 and says on stderr which node, block or
//!   entry is damaged and how (the library's message); `info` and `get` say it in one line.
//!   `info` and `ls` read no block, so a damaged block leaves them at 0; a shared body
//!   pointing into another page's lead, and bytes between the levels of INDEX, are only
//!   found by `verify` (spec §6.4, §7.2).
//! - `verify` exits 1 and its report names the node (or block, or entry).
//! - A file refused at open makes every command exit 1 with one line.
//!
//! When `/usr/bin/time` is there, each command's peak RSS is measured too and must stay
//! under 64 MiB.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::crafted::{all_cases, zero_block, Case, Damage, Expect};

/// A command's deadline: far above what any of these takes, so a timeout means a hang.
const DEADLINE: Duration = Duration::from_secs(60);

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// Peak RSS in KiB, when `/usr/bin/time` measured it.
    rss_kib: Option<u64>,
}

/// Runs `quire args…` with a deadline, its output in files (no pipe to fill).
fn run(dir: &Path, args: &[&str]) -> Run {
    let out = dir.join("stdout");
    let err = dir.join("stderr");
    let rss = dir.join("rss");
    let _ = fs::remove_file(&rss);
    let time = Path::new("/usr/bin/time");
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.args(["-f", "%M", "-o"])
            .arg(&rss)
            .arg(env!("CARGO_BIN_EXE_quire"));
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_quire"))
    };
    cmd.args(args)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out).unwrap())
        .stderr(fs::File::create(&err).unwrap());
    let mut child = cmd.spawn().expect("spawn quire");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("quire {args:?}: no answer within {DEADLINE:?} (a hang)");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let read = |p: &Path| String::from_utf8_lossy(&fs::read(p).unwrap_or_default()).into_owned();
    Run {
        code: status.code(),
        stdout: read(&out),
        // /usr/bin/time adds nothing to stderr with -o, unless the command was killed.
        stderr: read(&err),
        rss_kib: read(&rss)
            .trim()
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok()),
    }
}

/// The library's words for a damage: "index node at offset 123: keys are out of order".
fn words(d: Damage) -> String {
    format!("{}: {}", d.0, d.1)
}

struct Checked {
    name: String,
    max_rss_kib: u64,
}

/// Every command on one case's file.
fn check(dir: &Path, c: &Case) -> Checked {
    let name = c.name.as_str();
    let file = dir.join(format!("{name}.quire"));
    fs::write(&file, &c.bytes).unwrap();
    let f = file.to_str().unwrap();
    let out_dir: PathBuf = dir.join(format!("{name}.out"));
    let o = out_dir.to_str().unwrap();
    let commands: [(&str, Vec<&str>); 6] = [
        ("info", vec!["info", f]),
        ("ls", vec!["ls", f]),
        ("ls --long", vec!["ls", "--long", f]),
        ("get", vec!["get", f, &c.routed]),
        ("unpack", vec!["unpack", f, "-o", o, "-q"]),
        ("verify", vec!["verify", f]),
    ];
    let mut max_rss_kib = 0;
    for (what, args) in commands {
        let r = run(dir, &args);
        let ctx = format!(
            "{name}: quire {what}: exit {:?}\nstderr: {}\nstdout (start): {}",
            r.code,
            r.stderr,
            r.stdout.chars().take(2000).collect::<String>()
        );
        if let Some(kib) = r.rss_kib {
            max_rss_kib = max_rss_kib.max(kib);
            assert!(kib < 64 * 1024, "{ctx}\npeak RSS {kib} KiB");
        }
        assert!(
            !r.stderr.contains("panicked") && !r.stderr.contains("overflowed"),
            "{ctx}"
        );
        let lines: Vec<&str> = r.stderr.lines().collect();
        match &c.expect {
            Expect::Open { code, damage } => {
                // Every command fails at open, in one line naming the file.
                assert_eq!(r.code, Some(1), "{ctx}");
                assert_eq!(lines.len(), 1, "one line: {ctx}");
                assert!(
                    lines[0].starts_with("quire: ") && lines[0].contains(f),
                    "{ctx}"
                );
                match damage {
                    Some(d) => assert!(lines[0].contains(&words(*d)), "{ctx}"),
                    None => {
                        assert_eq!(*code, "unsupported_feature");
                        assert!(lines[0].contains("re-pack"), "{ctx}");
                    }
                }
            }
            Expect::Use {
                lookup,
                walk,
                verify,
                verify_alone,
            } => {
                // What this command meets: a walk's damage for the listings, a lookup's for
                // get and unpack (entries by number), either for ls --long (it walks, then
                // reads titles and the blocks bodies start in).
                let meets = match what {
                    "info" | "ls" => *walk,
                    "ls --long" => walk.or(*lookup),
                    "get" | "unpack" => *lookup,
                    _ => Some(*verify),
                };
                match (what, meets) {
                    ("verify", _) => {
                        assert_eq!(r.code, Some(1), "{ctx}");
                        assert!(r.stdout.contains(&words(*verify)), "verify names it: {ctx}");
                        if *verify_alone {
                            assert!(r.stdout.contains(": 1 problem(s) found"), "{ctx}");
                        }
                    }
                    (_, None) => {
                        assert_eq!(r.code, Some(0), "{ctx}");
                        assert!(lines.is_empty(), "{ctx}");
                    }
                    (_, Some(d)) => {
                        assert_eq!(r.code, Some(1), "{ctx}");
                        let w = words(d);
                        assert!(lines.iter().any(|l| l.contains(&w)), "names {w}: {ctx}");
                        if matches!(what, "info" | "get") {
                            assert_eq!(lines.len(), 1, "one line: {ctx}");
                        }
                        // ls, ls --long and unpack say it once for each entry they lose
                        // (and then how many): every line is about this damage.
                        for l in &lines {
                            assert!(l.starts_with("quire: "), "{ctx}");
                            assert!(
                                l.contains(&w) || l.contains("could not be read"),
                                "a line about other damage: {l}\n{ctx}"
                            );
                        }
                    }
                }
            }
        }
    }
    let _ = fs::remove_dir_all(&out_dir);
    Checked {
        name: name.to_string(),
        max_rss_kib,
    }
}

#[test]
fn hostile_indexes_through_the_cli() {
    let dir = common::scratch();
    let cases = all_cases();
    let mut classes = [0usize; 6];
    for c in &cases {
        classes[c.class as usize] += 1;
        let done = check(dir.path(), c);
        println!(
            "{} ({}): every command as expected; peak RSS {} KiB",
            done.name,
            c.code(),
            done.max_rss_kib
        );
    }
    assert!(
        classes[1..].iter().all(|&n| n > 0),
        "every class: {classes:?}"
    );
}

#[test]
fn the_largest_block_reads_through_the_cli() {
    // 4 MiB of zeros in one block (the 3.1 limit): every command succeeds.
    let dir = common::scratch();
    let (_, bytes) = zero_block();
    let file = dir.path().join("zeros.quire");
    fs::write(&file, bytes).unwrap();
    let f = file.to_str().unwrap();
    let out = dir.path().join("out");
    for args in [
        vec!["info", f],
        vec!["ls", "--long", f],
        vec!["get", f, "zeros"],
        vec!["unpack", f, "-o", out.to_str().unwrap(), "-q"],
        vec!["verify", f],
    ] {
        let r = run(dir.path(), &args);
        assert_eq!(r.code, Some(0), "{args:?}: {}", r.stderr);
        if let Some(kib) = r.rss_kib {
            println!("quire {args:?}: peak RSS {kib} KiB");
            assert!(kib < 64 * 1024, "{args:?}: peak RSS {kib} KiB");
        }
    }
    assert_eq!(fs::read(out.join("zeros")).unwrap().len(), 4 << 20);
}
