//! Issue 21's rough edges, each as a new user would meet it: usage errors, an empty file,
//! the progress display, a pack stopped by a signal, the help texts and the README.

use crate::cli_common as common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

fn readme() -> String {
    fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap()
}

/// JSONL of `n` entries of about `len` bytes of word-like text each (compressible, but not
/// trivially).
fn articles(n: usize, len: usize) -> String {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let words: Vec<String> = (0..4000)
        .map(|_| {
            let l = 2 + next() % 8;
            (0..l)
                .map(|_| (b'a' + (next() % 26) as u8) as char)
                .collect()
        })
        .collect();
    let mut out = String::with_capacity(n * (len + 40));
    for i in 0..n {
        let mut body = String::with_capacity(len + 10);
        while body.len() < len {
            body.push_str(&words[(next() % words.len() as u64) as usize]);
            body.push(' ');
        }
        out.push_str(&format!(
            "{{\"key\": \"a/{i:07}\", \"body\": \"{body}\"}}\n"
        ));
    }
    out
}

#[test]
fn usage_errors_are_one_line_with_exit_2() {
    let t = common::scratch();
    let arc = t.path().join("a.quire");
    pack_jsonl(&arc, "{\"key\": \"k\", \"body\": \"x\"}\n");
    for args in [
        &[][..],
        &["pack"],
        &["pack", "-", "-o", s(&arc), "--level", "99"],
        &["lss", s(&arc)],
        &["ls", "--forc", s(&arc)],
        &["get", s(&arc)],
        &["unpack", s(&arc)],
        &["unpack", s(&arc), "-o", "d", "--jsonl", "-"],
        &["info", s(&arc), "extra"],
        &["--timeout", "soon", "info", s(&arc)],
    ] {
        let o = run(args);
        let e = fails(&o, 2);
        assert!(e.starts_with("quire: "), "{args:?}: {e}");
        assert!(
            e.contains("--help"),
            "{args:?} does not say where to read more: {e}"
        );
        assert!(!e.contains("Usage:"), "{args:?}: {e}");
    }
    // What the error names is kept on its one line: the missing argument, the bad value.
    let e = err(&run(&["pack", "-"]));
    assert!(e.contains("--output"), "{e}");
    let e = err(&run(&["pack", "-", "-o", s(&arc), "--level", "99"]));
    assert!(e.contains("--level") && e.contains("99"), "{e}");
    // Help and version are not errors.
    assert!(ok(&run(&["--help"])).contains("Usage:"));
    assert!(ok(&run(&["pack", "--help"])).contains("Usage:"));
    assert!(ok(&run(&["--version"])).starts_with("quire "));
}

#[test]
fn an_empty_file_is_called_empty_not_mangled() {
    let t = common::scratch();
    let empty = t.path().join("empty.quire");
    fs::write(&empty, b"").unwrap();
    let out_dir = t.path().join("out");
    for args in [
        vec!["info", s(&empty)],
        vec!["ls", s(&empty)],
        vec!["get", s(&empty), "k"],
        vec!["verify", s(&empty)],
        vec!["unpack", s(&empty), "-o", s(&out_dir)],
    ] {
        let e = fails(&run(&args), 1);
        assert!(e.contains("empty (0 bytes)"), "{args:?}: {e}");
        assert!(!e.contains("text mode"), "{args:?}: {e}");
    }
    // A file that is not empty but is no archive still gets the text-mode hint.
    let junk = t.path().join("junk.quire");
    fs::write(&junk, b"hello\r\n").unwrap();
    let e = fails(&run(&["info", s(&junk)]), 1);
    assert!(e.contains("not a quire archive"), "{e}");
}

/// The writer's progress callback: stages in order, counts that only grow and reach their
/// totals, a big entry and a shared body included, on several threads.
#[test]
fn the_writers_progress_reaches_its_totals() {
    use quire::{ArchiveWriter, NewEntry, Progress, Stage, WriterOptions};
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let mut w = ArchiveWriter::in_memory(WriterOptions::new().block_size(4096).threads(2)).unwrap();
    let log = Arc::clone(&seen);
    w.on_progress(move |p| log.lock().unwrap().push(*p));
    let text = articles(300, 900);
    let mut n = 0;
    for (i, line) in text.lines().enumerate() {
        w.add(&NewEntry::new(&format!("k{i:04}"), line.as_bytes()))
            .unwrap();
        n += 1;
    }
    // One body over the target (cut into blocks of its own), two identical ones.
    let big = text.as_bytes()[..200_000].to_vec();
    w.add(&NewEntry::new("big", &big)).unwrap();
    w.add(&NewEntry::new("same1", b"the same body")).unwrap();
    w.add(&NewEntry::new("same2", b"the same body")).unwrap();
    n += 3;
    let (_, summary) = w.finish_into_inner().unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.first().map(|p| p.stage), Some(Stage::Dictionary));
    let compressing: Vec<&Progress> = seen
        .iter()
        .filter(|p| p.stage == Stage::Compressing)
        .collect();
    assert!(compressing.len() > 10, "{} calls", compressing.len());
    for pair in compressing.windows(2) {
        assert!(pair[1].bytes >= pair[0].bytes && pair[1].entries >= pair[0].entries);
    }
    let last = compressing.last().unwrap();
    assert_eq!((last.entries, last.entries_total), (n, n));
    assert_eq!(last.bytes, last.bytes_total);
    // Some calls came while the big entry was being cut, not only between entries.
    assert!(compressing
        .iter()
        .any(|p| p.bytes > 0 && p.bytes < last.bytes_total / 2));
    let writing: Vec<&Progress> = seen.iter().filter(|p| p.stage == Stage::Writing).collect();
    let end = writing.last().unwrap();
    assert_eq!(
        (end.bytes, end.bytes_total),
        (summary.file_len, summary.file_len)
    );
    // Writing comes last.
    assert_eq!(seen.last().map(|p| p.stage), Some(Stage::Writing));
}

/// Without a terminal on stderr no bar is drawn: the one summary line, no carriage return
/// and no escape sequence.
#[test]
fn no_progress_is_drawn_when_stderr_is_not_a_terminal() {
    let t = common::scratch();
    let input = t.path().join("in.jsonl");
    fs::write(&input, articles(3000, 1000)).unwrap();
    let arc = t.path().join("a.quire");
    let o = run(&["pack", s(&input), "-o", s(&arc)]);
    let e = ok_err(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.starts_with("packed 3000 entries"), "{e}");
    assert!(!e.contains('\r') && !e.contains('\x1b'), "{e:?}");
}

/// On a terminal (a pseudo-terminal from util-linux `script`) the display goes through every
/// stage of the pack: reading, choosing the dictionary, compressing with a percentage, the
/// rate and the time left, then writing. `script` is in util-linux (Debian's essential
/// `bsdutils`): without it the test fails rather than pass unchecked.
#[test]
fn on_a_terminal_the_progress_covers_the_whole_pack() {
    assert!(
        Command::new("script").arg("--version").output().is_ok(),
        "this test needs util-linux's `script` to give the pack a terminal"
    );
    let t = common::scratch();
    let input = t.path().join("in.jsonl");
    fs::write(&input, articles(4_000, 1000)).unwrap();
    let arc = t.path().join("a.quire");
    let typescript = t.path().join("tty.txt");
    let line = format!(
        "{} pack {} -o {} --threads 1 --level 19",
        env!("CARGO_BIN_EXE_quire"),
        s(&input),
        s(&arc)
    );
    let o = Command::new("script")
        .args(["-qefc", &line, s(&typescript)])
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("COLUMNS", "100")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let shown = fs::read_to_string(&typescript).unwrap_or_default();
    for want in [
        "reading",
        "compressing",
        "%",
        "/s",
        "left",
        "packed 4000 entries",
    ] {
        assert!(shown.contains(want), "{want:?} never shown:\n{shown}");
    }
    // The entries are counted against their total (the last frame drawn may come just
    // before the end: the terminal is redrawn at most every few milliseconds).
    assert!(shown.contains("/4000"), "{shown}");
}

/// `ok` for stderr.
fn ok_err(o: &std::process::Output) -> String {
    ok(o);
    err(o)
}

/// The temporary files a pack leaves beside its target.
fn partials(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains(".quire-tmp-") && n.ends_with(".partial"))
        })
        .collect()
}

/// Starts a slow pack of a large generated input, waits until its temporary file exists and
/// then `after`, sends `signal`, and returns the exit code.
fn pack_and_signal(signal: &str, after: Duration) -> (Option<i32>, String, tempfile::TempDir) {
    let t = common::scratch();
    let input = t.path().join("in.jsonl");
    fs::write(&input, articles(40_000, 1000)).unwrap();
    let out_dir = t.path().join("out");
    fs::create_dir(&out_dir).unwrap();
    let arc = out_dir.join("big.quire");
    let mut child = quire()
        .args([
            "pack",
            s(&input),
            "-o",
            s(&arc),
            "--threads",
            "1",
            "--level",
            "22",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while partials(&out_dir).is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no temporary file appeared"
        );
        assert!(child.try_wait().unwrap().is_none(), "the pack ended early");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(after);
    assert!(
        child.try_wait().unwrap().is_none(),
        "the pack ended before the signal"
    );
    let killed = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let o = child.wait_with_output().unwrap();
    assert!(partials(&out_dir).is_empty(), "{:?}", partials(&out_dir));
    assert!(!arc.exists());
    (o.status.code(), err(&o), t)
}

#[test]
fn sigterm_during_a_pack_leaves_no_partial_file() {
    // Well into the pack: reading is done in well under a second, then it compresses.
    let (code, e, _t) = pack_and_signal("TERM", Duration::from_millis(1500));
    assert_eq!(code, Some(143), "{e}");
    assert!(e.contains("terminated") && e.contains("not written"), "{e}");
}

#[test]
fn ctrl_c_during_a_pack_leaves_no_partial_file() {
    let (code, e, _t) = pack_and_signal("INT", Duration::from_millis(0));
    assert_eq!(code, Some(130), "{e}");
    assert!(e.contains("interrupted"), "{e}");
}

/// Every command that reads an archive says, at its ARCHIVE argument, that it may be a URL
/// (issue 20 put the URL settings in every help; this holds the argument's own line too).
#[test]
fn every_archive_argument_may_be_a_url() {
    for sub in ["unpack", "ls", "get", "info", "verify", "salvage"] {
        let help = ok(&run(&[sub, "--help"]));
        let arg = help
            .split("Arguments:")
            .nth(1)
            .unwrap_or_else(|| panic!("{sub}: no Arguments section"));
        let line = arg
            .lines()
            .find(|l| l.trim_start().starts_with("<ARCHIVE>"))
            .unwrap_or_else(|| panic!("{sub}: no <ARCHIVE> argument"));
        assert!(
            line.contains("http(s):// URL") && line.contains("s3://"),
            "{sub}: {line}"
        );
    }
}

/// Directory packs keep no file modes, owners or modification times, and say so.
#[test]
fn pack_help_and_readme_say_file_modes_and_times_are_not_kept() {
    let help = ok(&run(&["pack", "--help"]));
    assert!(
        help.contains("modes") && help.contains("modification times"),
        "{help}"
    );
    let readme = readme();
    assert!(
        readme.contains("modes") && readme.contains("modification times are not kept"),
        "README"
    );
}

/// The README's S3 example says how to start the local server it talks to.
#[test]
fn readme_s3_example_says_how_to_start_the_server() {
    let readme = readme();
    assert!(readme.contains("tests/servers/s3.sh start"), "README");
    assert!(readme.contains("tests/servers/s3.sh env"), "README");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/servers/s3.sh");
    let script = fs::read_to_string(script).unwrap();
    assert!(script.contains("start") && script.contains("env"));
}

/// The README's C compile line gives a program that finds libquire at run time.
#[test]
fn readme_c_compile_line_finds_the_library_at_run_time() {
    let readme = readme();
    let line = readme
        .lines()
        .find(|l| l.contains("cc prog.c"))
        .expect("a C compile line");
    assert!(
        line.contains("-Wl,-rpath") || line.contains("libquire.a"),
        "{line}"
    );
}

/// The README's key list for `info --json` is exactly what the command emits.
#[test]
fn readme_info_json_keys_are_exactly_the_keys_info_emits() {
    let readme = readme();
    let row = readme
        .lines()
        .find(|l| l.starts_with("| `quire info "))
        .expect("README row for info");
    let list = row
        .split("--json` prints one object with these keys:")
        .nth(1)
        .expect("the key list");
    // Top-level keys only: drop parenthesised notes (a key's own fields, examples).
    let mut top = String::new();
    let mut depth = 0;
    for c in list.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            c if depth == 0 => top.push(c),
            _ => {}
        }
    }
    let in_readme: Vec<String> = top
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    let t = common::scratch();
    let arc = t.path().join("a.quire");
    pack_jsonl(&arc, &articles(50, 400));
    let v: serde_json::Value =
        serde_json::from_str(&ok(&run(&["info", "--json", s(&arc)]))).unwrap();
    let emitted: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        in_readme, emitted,
        "README's keys (in order) vs info --json's"
    );
    for retired in ["buckets", "hash_seed", "max_probe"] {
        assert!(!row.contains(retired), "{retired} is still in the README");
    }
}

/// A release binary built since the last change to the workspace's Cargo.toml (where the
/// release profile lives) is at most 15 MB. Skipped when there is none (`cargo test` builds
/// no release binary).
#[test]
fn a_fresh_release_binary_is_at_most_15_mb() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let bin = root.join("target/release/quire");
    let (Ok(b), Ok(manifest)) = (fs::metadata(&bin), fs::metadata(root.join("Cargo.toml"))) else {
        eprintln!("skipped: no release binary");
        return;
    };
    if b.modified().unwrap() < manifest.modified().unwrap() {
        eprintln!("skipped: the release binary is older than the release profile");
        return;
    }
    assert!(
        b.len() <= 15_000_000,
        "target/release/quire is {} bytes, over 15 MB",
        b.len()
    );
}

/// Every command renders its facts as JSON too: pack, unpack, salvage and verify print one
/// object on stdout; get prints one §9 line per key found.
#[test]
fn every_command_has_a_json_form() {
    let t = common::scratch();
    let arc = t.path().join("a.quire");
    let jsonl = "{\"key\":\"a\",\"title\":\"T\",\"body\":\"first\"}\n\
                 {\"key\":\"b\",\"body_base64\":\"AAH/\"}\n";
    let o = run_stdin(&["pack", "-", "-o", s(&arc), "--json"], jsonl.as_bytes());
    let packed: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(packed["entries"], 2);
    assert_eq!(packed["output"], s(&arc));
    assert!(err(&o).is_empty(), "{}", err(&o));

    let out = t.path().join("out.jsonl");
    let o = run(&["unpack", s(&arc), "--jsonl", s(&out), "--json"]);
    let unpacked: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(
        (
            unpacked["written"].clone(),
            unpacked["lost_entries"].clone()
        ),
        (2.into(), 0.into())
    );
    let e = fails(&run(&["unpack", s(&arc), "--jsonl", "-", "--json"]), 2);
    assert!(e.contains("--json"), "{e}");

    let copy = t.path().join("copy.quire");
    let o = run(&["salvage", s(&arc), "-o", s(&copy), "--json"]);
    let salvaged: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(salvaged["kept"], 2);

    let lines = ok(&run(&["get", "--json", s(&arc), "b", "a"]));
    let keys: Vec<String> = lines
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["key"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(keys, ["b", "a"]);
    let first: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!(first["body_base64"], "AAH/");

    let v: serde_json::Value =
        serde_json::from_str(&ok(&run(&["verify", "--json", s(&arc)]))).unwrap();
    assert_eq!(
        (v["ok"].clone(), v["entries"].clone()),
        (true.into(), 2.into())
    );
    // A flipped byte in the data: a problem with its §11 code, exit 1.
    let mut bytes = fs::read(&arc).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0x55;
    let bad = t.path().join("bad.quire");
    fs::write(&bad, &bytes).unwrap();
    let o = run(&["verify", "--json", s(&bad)]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&out_of(&o)).unwrap();
    assert_eq!(v["ok"], false);
    let code = v["problems"][0]["code"].as_str().unwrap();
    assert!(code.starts_with("damaged_"), "{code}");
}

fn out_of(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[cfg(unix)]
#[test]
fn pack_force_keeps_the_permissions_of_the_archive_it_replaces() {
    use std::os::unix::fs::PermissionsExt;
    let t = common::scratch();
    let input = t.path().join("in.jsonl");
    fs::write(&input, articles(20, 200)).unwrap();
    let out = t.path().join("a.quire");
    ok(&run(&["pack", "-q", s(&input), "-o", s(&out)]));
    fs::set_permissions(&out, fs::Permissions::from_mode(0o640)).unwrap();
    ok(&run(&["pack", "-q", "--force", s(&input), "-o", s(&out)]));
    let mode = fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "{mode:o}");
}

#[cfg(unix)]
#[test]
fn packing_to_a_fifo_says_why_at_once_and_never_suggests_force() {
    let t = common::scratch();
    let input = t.path().join("in.jsonl");
    fs::write(&input, articles(5, 100)).unwrap();
    let fifo = t.path().join("out.quire");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    for force in [false, true] {
        let mut args = vec!["pack", s(&input), "-o", s(&fifo)];
        if force {
            args.push("--force");
        }
        let e = fails(&run(&args), 4);
        assert!(e.contains("not a regular file"), "{e}");
        assert!(!e.contains("--force"), "{e}");
    }
}

#[test]
fn unpack_then_pack_gives_the_same_bytes_whatever_order_the_content_types_came_in() {
    let t = common::scratch();
    // Keys out of order, and content types first met in another order than key order.
    let lines = [
        r#"{"key":"z/page.html","content_type":"text/html","body":"<p>z</p>"}"#,
        r#"{"key":"m/logo.svg","content_type":"image/svg+xml","body":"<svg/>"}"#,
        r#"{"key":"a/style.css","content_type":"text/css","body":"p{}"}"#,
        r#"{"key":"b/readme","body":"plain"}"#,
        r#"{"key":"c/page.html","content_type":"text/html","body":"<p>c</p>"}"#,
    ];
    let input = t.path().join("in.jsonl");
    fs::write(&input, lines.join("\n") + "\n").unwrap();
    let pack = |from: &Path, to: &Path| {
        let o = quire()
            .args(["pack", "-q", "--force", s(from), "-o", s(to)])
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .output()
            .unwrap();
        ok(&o);
    };
    let first = t.path().join("first.quire");
    pack(&input, &first);
    let again_jsonl = t.path().join("again.jsonl");
    ok(&run(&["unpack", s(&first), "--jsonl", s(&again_jsonl)]));
    let second = t.path().join("second.quire");
    pack(&again_jsonl, &second);
    assert_eq!(
        fs::read(&first).unwrap(),
        fs::read(&second).unwrap(),
        "unpack --jsonl then pack is not byte-identical"
    );
}
