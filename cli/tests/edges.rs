//! The rough edges of issue 13 that live in the command line, one test (or two) per item.

use crate::cli_common as common;

use std::fs;

use common::*;

/// Item 5: keys (and titles) with ESC, newline or NUL are escaped when listed.
#[test]
fn ls_escapes_control_characters_in_keys() {
    let t = tempfile::tempdir().unwrap();
    let arc = t.path().join("a.quire");
    pack_jsonl(
        &arc,
        "{\"key\": \"esc\\u001b[31mred\", \"title\": \"t\\u001b]0;x\\u0007\", \"body\": \"1\"}\n\
         {\"key\": \"line\\nbreak\", \"body\": \"2\"}\n\
         {\"key\": \"nul\\u0000x\", \"body\": \"3\"}\n\
         {\"key\": \"plain/ünï\", \"body\": \"4\"}\n",
    );
    for args in [vec!["ls"], vec!["ls", "--long"], vec!["ls", "--prefix", ""]] {
        let mut args = args.clone();
        args.push(s(&arc));
        let o = run(&args);
        let listing = ok(&o);
        assert_eq!(listing.lines().count(), 4, "{args:?}: {listing}");
        assert!(
            !o.stdout.iter().any(|&b| b == 0x1b || b == 0 || b == 7),
            "raw control bytes: {listing:?}"
        );
        assert!(listing.contains("\"esc\\u{1b}[31mred\""), "{listing}");
        assert!(listing.contains("\"line\\nbreak\""), "{listing}");
        assert!(listing.contains("\"nul\\u{0}x\""), "{listing}");
        assert!(listing.contains("plain/ünï"), "{listing}");
    }
}

fn sample_archive(dir: &std::path::Path) -> std::path::PathBuf {
    let arc = dir.join("a.quire");
    let mut jsonl = String::new();
    for i in 0..2000 {
        jsonl.push_str(&format!(
            "{{\"key\": \"k{i:04}\", \"title\": \"T{i}\", \"body\": \"{}\"}}\n",
            "words ".repeat(50)
        ));
    }
    pack_jsonl(&arc, &jsonl);
    arc
}

/// Item 6: a FIFO, a device or /dev/stdout given to `--jsonl` is written into, not replaced.
#[cfg(unix)]
#[test]
fn jsonl_into_a_fifo_a_device_and_dev_stdout() {
    use std::os::unix::fs::FileTypeExt;
    let t = tempfile::tempdir().unwrap();
    let arc = sample_archive(t.path());
    let want = ok(&run(&["unpack", s(&arc), "--jsonl", "-"]));
    let fifo = t.path().join("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    for force in [false, true] {
        let f = fifo.clone();
        let reader = std::thread::spawn(move || fs::read_to_string(f).unwrap());
        let mut args = vec!["unpack", s(&arc), "--jsonl", s(&fifo)];
        if force {
            args.push("--force");
        }
        ok(&run(&args));
        assert_eq!(reader.join().unwrap(), want, "force {force}");
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    }
    ok(&run(&["unpack", s(&arc), "--jsonl", "/dev/null"]));
    assert!(fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
    assert_eq!(
        ok(&run(&["unpack", s(&arc), "--jsonl", "/dev/stdout"])),
        want
    );
}

/// Item 7: files the CLI creates honour the umask; --force through a symlink writes the
/// file the link points to and keeps the link.
#[cfg(unix)]
#[test]
fn unpacked_files_honour_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let t = tempfile::tempdir().unwrap();
    let arc = t.path().join("a.quire");
    pack_jsonl(&arc, "{\"key\": \"d/f.txt\", \"body\": \"x\"}\n");
    let out = t.path().join("out");
    for (umask, file, dir) in [("022", 0o644, 0o755), ("077", 0o600, 0o700)] {
        let o = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("umask {umask}; exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_quire"))
            .args(["unpack", s(&arc), "-o", s(&out), "--force", "-q"])
            .output()
            .unwrap();
        ok(&o);
        let mode = |p: &std::path::Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&out.join("d/f.txt")), file, "umask {umask}");
        assert_eq!(mode(&out.join("d")), dir, "umask {umask}");
        fs::remove_dir_all(&out).unwrap();
    }
}

/// Item 7: archives and JSONL files follow the umask too (0644 under 022, also when --force
/// replaces a file). The library's AtomicFile creates them (the writer's change).
#[cfg(unix)]
#[test]
fn archives_and_jsonl_files_honour_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let t = tempfile::tempdir().unwrap();
    let arc = t.path().join("a.quire");
    let jsonl = t.path().join("a.jsonl");
    fs::write(&jsonl, "{\"key\": \"k\", \"body\": \"x\"}\n").unwrap();
    let sh = |args: &[&str]| {
        std::process::Command::new("sh")
            .arg("-c")
            .arg("umask 022; exec \"$0\" \"$@\"")
            .arg(env!("CARGO_BIN_EXE_quire"))
            .args(args)
            .output()
            .unwrap()
    };
    let mode = |p: &std::path::Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for _ in 0..2 {
        ok(&sh(&["pack", s(&jsonl), "-o", s(&arc), "--force", "-q"]));
        assert_eq!(mode(&arc), 0o644);
        let back = t.path().join("back.jsonl");
        ok(&sh(&[
            "unpack",
            s(&arc),
            "--jsonl",
            s(&back),
            "--force",
            "-q",
        ]));
        assert_eq!(mode(&back), 0o644);
    }
}

#[cfg(unix)]
#[test]
fn force_through_a_symlink_writes_the_file_it_points_to() {
    let t = tempfile::tempdir().unwrap();
    let real_dir = t.path().join("real");
    fs::create_dir(&real_dir).unwrap();
    let jsonl = t.path().join("in.jsonl");
    fs::write(&jsonl, "{\"key\": \"k\", \"body\": \"new\"}\n").unwrap();
    for (what, args) in [
        ("pack", vec!["pack", s(&jsonl), "-o"]),
        ("jsonl", vec!["unpack", "ARCHIVE", "--jsonl"]),
    ] {
        let real = real_dir.join(format!("{what}.out"));
        let link = t.path().join(format!("{what}.link"));
        fs::write(&real, "old").unwrap();
        std::os::unix::fs::symlink("real/".to_string() + &format!("{what}.out"), &link).unwrap();
        let arc = t.path().join("src.quire");
        pack_jsonl(&arc, "{\"key\": \"k\", \"body\": \"new\"}\n");
        let mut args: Vec<&str> = args
            .iter()
            .map(|a| if *a == "ARCHIVE" { s(&arc) } else { a })
            .collect();
        args.push(s(&link));
        // Without --force: refused, nothing changes.
        assert!(fails(&run(&args), 4).contains("already exists"));
        assert_eq!(fs::read_to_string(&real).unwrap(), "old");
        args.extend(["--force", "-q"]);
        ok(&run(&args));
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_ne!(fs::read(&real).unwrap(), b"old", "{what}");
        if what == "pack" {
            assert_eq!(ok(&run(&["get", s(&link), "k"])), "new");
        }
    }
}

/// Item 8: an archive written inside its own input directory leaves itself (and its
/// temporary file) out.
#[test]
fn the_output_and_its_temp_file_are_not_packed() {
    let t = tempfile::tempdir().unwrap();
    let input = t.path().join("in");
    fs::create_dir(&input).unwrap();
    fs::write(input.join("a.txt"), "alpha").unwrap();
    let arc = input.join("self.quire");
    for _ in 0..2 {
        ok(&run(&["pack", s(&input), "-o", s(&arc), "--force", "-q"]));
        assert_eq!(ok(&run(&["ls", s(&arc)])), "a.txt\n");
    }
    // Spelled another way, through `..`.
    let other = input.join("..").join("in").join("self.quire");
    ok(&run(&["pack", s(&input), "-o", s(&other), "--force", "-q"]));
    assert_eq!(ok(&run(&["ls", s(&arc)])), "a.txt\n");
}

/// Item 9: a single regular file that is not JSONL is one entry, headline included.
#[test]
fn a_single_text_file_is_one_entry_with_its_headline() {
    let t = tempfile::tempdir().unwrap();
    let article = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../samples/articles/seed-article.txt");
    let arc = t.path().join("a.quire");
    ok(&run(&["pack", s(&article), "-o", s(&arc), "-q"]));
    let long = ok(&run(&["ls", "--long", s(&arc)]));
    assert_eq!(long.lines().count(), 1, "{long}");
    assert!(long.contains("seed-article.txt"), "{long}");
    assert!(long.contains("2002-03-14"), "{long}");
    assert!(
        long.contains("N. Korean Asylum Seekers Break Into Embassy in China"),
        "{long}"
    );
    assert_eq!(
        run(&["get", s(&arc), "seed-article.txt"]).stdout,
        fs::read(&article).unwrap()
    );
    // A .jsonl file is still JSONL.
    let jsonl = t.path().join("x.JSONL");
    fs::write(&jsonl, "{\"key\": \"j\", \"body\": \"b\"}\n").unwrap();
    ok(&run(&["pack", s(&jsonl), "-o", s(&arc), "--force", "-q"]));
    assert_eq!(ok(&run(&["ls", s(&arc)])), "j\n");
}

/// Item 11: invalid option values are usage errors (exit 2).
#[test]
fn invalid_option_values_exit_2() {
    let t = tempfile::tempdir().unwrap();
    let arc = t.path().join("a.quire");
    for bad in [
        ["--level", "99"],
        ["--level", "0"],
        ["--block-size", "0"],
        ["--block-size", "32"],
        ["--block-size", "512M"],
        ["--block-size", "lots"],
        ["--dict-size", "0"],
        ["--dict-size", "32M"],
        ["--dict-sample", "0"],
        ["--threads", "-1"],
        ["--threads", "100000"],
        ["--duplicates", "maybe"],
    ] {
        let mut args = vec!["pack", "-", "-o", s(&arc)];
        args.extend(bad);
        let o = run_stdin(&args, b"{\"key\": \"k\", \"body\": \"x\"}\n");
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", err(&o));
        assert!(!arc.exists());
    }
}

/// Item 12: messages name the right things.
#[test]
fn messages_name_the_target_the_directory_the_line_and_the_bom() {
    let t = tempfile::tempdir().unwrap();
    let missing = t.path().join("missing/dir/x.quire");
    let o = run_stdin(
        &["pack", "-", "-o", s(&missing)],
        b"{\"key\": \"k\", \"body\": \"x\"}\n",
    );
    let e = fails(&o, 4);
    assert!(
        e.contains(s(&missing)) && e.contains("does not exist"),
        "{e}"
    );
    assert!(!e.contains("quire-tmp"), "{e}");
    let o = run(&[
        "unpack",
        s(&sample_archive(t.path())),
        "--jsonl",
        s(&missing),
    ]);
    assert!(fails(&o, 4).contains(s(&missing)));

    let e = fails(&run(&["ls", s(t.path())]), 4);
    assert!(e.contains("is a directory"), "{e}");

    let jsonl = t.path().join("bad.jsonl");
    fs::write(
        &jsonl,
        "{\"key\": \"a\", \"body\": \"x\"}\n\n{\"key\": \"b\", body}\n",
    )
    .unwrap();
    let e = fails(
        &run(&["pack", s(&jsonl), "-o", s(&t.path().join("b.quire"))]),
        4,
    );
    assert!(e.contains("bad.jsonl:3:"), "{e}");
    assert!(!e.contains("line 1"), "two line numbers: {e}");
    assert!(e.contains("column 14"), "{e}");

    fs::write(&jsonl, "\u{feff}{\"key\": \"a\", \"body\": \"x\"}\n").unwrap();
    let e = fails(
        &run(&["pack", s(&jsonl), "-o", s(&t.path().join("b.quire"))]),
        4,
    );
    assert!(
        e.contains("bad.jsonl:1:") && e.contains("byte order mark"),
        "{e}"
    );
}

/// Item 13: a closed output pipe ends every command quietly with exit 0.
#[test]
fn a_closed_output_pipe_ends_quietly() {
    let t = tempfile::tempdir().unwrap();
    let arc = sample_archive(t.path());
    let big = t.path().join("big.quire");
    let mut jsonl = String::from("{\"key\": \"big\", \"body\": \"");
    jsonl.push_str(&"0123456789".repeat(400_000));
    jsonl.push_str("\"}\n");
    pack_jsonl(&big, &jsonl);
    let cases: Vec<Vec<&str>> = vec![
        vec!["ls", s(&arc)],
        vec!["ls", "--long", s(&arc)],
        vec!["get", s(&big), "big"],
        vec!["unpack", s(&arc), "--jsonl", "-"],
        vec!["unpack", s(&big), "--jsonl", "/dev/stdout"],
        vec!["info", s(&arc)],
        vec!["verify", s(&arc)],
    ];
    for args in cases {
        let mut child = quire()
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading end at once, as `| head -c0` would.
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", err(&o));
        assert_eq!(err(&o), "", "{args:?}");
    }
}

/// Item 14: non-UTF-8 names are skipped with a warning (or refused with --strict-names);
/// skipped paths are counted in the summary.
#[cfg(target_os = "linux")]
#[test]
fn skipped_paths_are_warned_about_and_counted() {
    use std::os::unix::ffi::OsStrExt;
    let t = tempfile::tempdir().unwrap();
    let input = t.path().join("in");
    fs::create_dir(&input).unwrap();
    fs::write(input.join("good.txt"), "good").unwrap();
    let bad = input.join(std::ffi::OsStr::from_bytes(b"bad\xff.txt"));
    fs::write(&bad, "bad").unwrap();
    std::os::unix::fs::symlink("good.txt", input.join("link")).unwrap();
    assert!(std::process::Command::new("mkfifo")
        .arg(input.join("fifo"))
        .status()
        .unwrap()
        .success());
    let arc = t.path().join("a.quire");
    let o = run(&["pack", s(&input), "-o", s(&arc)]);
    ok(&o);
    let e = err(&o);
    assert!(e.contains("warning: skipping") && e.contains("bad"), "{e}");
    assert!(
        e.contains("skipped 3 paths (1 symbolic link, 1 special file, 1 non-UTF-8 name)"),
        "{e}"
    );
    assert_eq!(ok(&run(&["ls", s(&arc)])), "good.txt\n");
    let o = run(&[
        "pack",
        s(&input),
        "-o",
        s(&arc),
        "--force",
        "--strict-names",
    ]);
    assert!(fails(&o, 4).contains("not UTF-8"));
}

/// Item 15: a repeated metadata name, or one the writer owns, is a usage error.
#[test]
fn meta_conflicts_are_usage_errors() {
    let t = tempfile::tempdir().unwrap();
    let arc = t.path().join("a.quire");
    for (args, field) in [
        (vec!["--meta", "lang=en", "--meta", "lang=fr"], "lang"),
        (vec!["--meta", "created=1999"], "created"),
        (vec!["--meta", "tool=me"], "tool"),
        (vec!["--title", "A", "--meta", "title=B"], "title"),
    ] {
        let mut all = vec!["pack", "-", "-o", s(&arc)];
        all.extend(args);
        let o = run_stdin(&all, b"{\"key\": \"k\", \"body\": \"x\"}\n");
        let e = fails(&o, 2);
        assert!(e.contains(&format!("\"{field}\"")), "{e}");
        assert!(!arc.exists());
    }
}

/// Item 17: `pack -o -` is refused clearly, and no file named `-` appears.
#[test]
fn pack_to_standard_output_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let o = quire()
        .current_dir(t.path())
        .args(["pack", "-", "-o", "-"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let e = fails(&o, 2);
    assert!(e.contains("standard output"), "{e}");
    assert!(!t.path().join("-").exists());
}

/// Item 19: SOURCE_DATE_EPOCH must be a number; verify reports on stdout; the summary's
/// dictionary is the stored size; ls --long aligns long content types.
#[test]
fn epoch_verify_summary_and_columns() {
    let t = tempfile::tempdir().unwrap();
    let arc = t.path().join("a.quire");
    let o = quire()
        .env("SOURCE_DATE_EPOCH", "abc")
        .args(["pack", "-", "-o", s(&arc)])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(fails(&o, 2).contains("SOURCE_DATE_EPOCH"));

    let o = run(&["verify", s(&sample_archive(t.path()))]);
    assert!(ok(&o).contains("a.quire"));
    assert_eq!(err(&o), "");

    let mut jsonl = String::new();
    for i in 0..800 {
        jsonl.push_str(&format!(
            "{{\"key\": \"n/{i}\", \"content_type\": \"{}\", \"body\": \"Story {i}: the council said the bridge would reopen. {}\"}}\n",
            if i % 2 == 0 { "text/plain; charset=utf-8" } else { "application/vnd.example.very-long-content-type+json; charset=utf-8" },
            "More words about the harbour. ".repeat(i % 9)
        ));
    }
    let o = run_stdin(
        &["pack", "-", "-o", s(&arc), "--force", "--block-size", "2K"],
        jsonl.as_bytes(),
    );
    ok(&o);
    let info = ok(&run(&["info", s(&arc)]));
    let stored = info
        .lines()
        .find(|l| l.starts_with("dictionary:"))
        .and_then(|l| l.split('(').nth(1))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    assert_ne!(stored, "0", "{info}");
    assert!(
        err(&o).contains(&format!("dictionary {stored} bytes stored")),
        "{}\n{info}",
        err(&o)
    );
    let long = ok(&run(&["ls", "--long", s(&arc)]));
    let key_columns: Vec<usize> = long.lines().map(|l| l.rfind(" n/").unwrap()).collect();
    assert!(key_columns.windows(2).all(|w| w[0] == w[1]), "{long}");
}

/// Item 19: the time left is not estimated while the writer only buffers its dictionary
/// sample, and then comes from the steady rate.
#[test]
fn time_left_waits_for_the_dictionary_sample_and_then_is_steady() {
    use quire_cli::progress::Eta;
    use std::time::Duration;
    let sample = 16u64 << 20;
    let len = 100u64 << 20;
    let mut eta = Eta::new(sample);
    // The sample is read in half a second; then 3 MB/s.
    let mut estimates = Vec::new();
    for tenth in 0..400u64 {
        let t = Duration::from_millis(tenth * 100);
        let pos = if tenth <= 5 {
            sample * tenth / 5
        } else {
            (sample + (tenth - 5) * 300_000).min(len)
        };
        eta.observe(t, pos);
        let e = eta.estimate(t, pos, len);
        if tenth < 25 {
            assert_eq!(e, None, "at {t:?}");
        }
        if let Some(e) = e {
            // The truth: what is left at 3 MB/s.
            let truth = (len - pos) as f64 / 3e6;
            assert!(
                (e.as_secs_f64() - truth).abs() <= 1.5,
                "{e:?} vs {truth} at {t:?}"
            );
            estimates.push(e);
        }
    }
    assert!(estimates.len() > 300);
    assert!(
        estimates.windows(2).all(|w| w[1] <= w[0]),
        "the estimate jumps up"
    );
}

/// Item 16: JSONL date-times, non-string extra fields, metadata order and binary content
/// types survive pack → unpack --jsonl → pack, byte for byte.
#[test]
fn jsonl_values_dates_order_and_binary_types_round_trip() {
    let t = tempfile::tempdir().unwrap();
    let input = concat!(
        "{\"key\": \"dt\", \"date\": \"2002-03-14T10:00:00+01:00\", \"body\": \"x\"}\n",
        "{\"key\": \"vals\", \"z\": \"1\", \"n\": 3, \"f\": 2.5, \"ok\": true, \"nil\": null, ",
        "\"tags\": [\"a\", 1], \"obj\": {\"x\": {\"y\": false}}, \"s\": \"3\", ",
        "\"meta\": {\"m\": \"in meta\", \"k\": 7}, \"a\": \"last\", \"body\": \"y\"}\n",
        "{\"key\": \"bin\", \"body_base64\": \"AP8=\"}\n",
        "{\"key\": \"png\", \"content_type\": \"image/png\", \"body_base64\": \"iVBO\"}\n",
        "{\"key\": \"bintext\", \"content_type\": \"text/plain; charset=utf-8\", \"body_base64\": \"/w==\"}\n",
    );
    let a1 = t.path().join("a1.quire");
    pack_jsonl(&a1, input);
    let long = ok(&run(&["ls", "--long", s(&a1)]));
    let line = |k: &str| {
        long.lines()
            .find(|l| l.split_whitespace().last() == Some(k))
            .unwrap()
            .to_string()
    };
    assert!(line("dt").contains("2002-03-14"), "{long}");
    assert!(line("bin").contains("application/octet-stream"), "{long}");
    assert!(line("png").contains("image/png"), "{long}");

    let back = ok(&run(&["unpack", s(&a1), "--jsonl", "-"]));
    let lines: Vec<serde_json::Value> = back
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Entries come back in key order.
    let keys: Vec<&str> = lines.iter().map(|l| l["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["bin", "bintext", "dt", "png", "vals"]);
    let entry = |k: &str| lines.iter().find(|l| l["key"] == k).unwrap();
    assert_eq!(entry("dt")["date"], "2002-03-14T10:00:00+01:00");
    assert!(entry("dt").get("meta").is_none(), "{back}");
    let meta = entry("vals")["meta"].as_object().unwrap();
    let names: Vec<&str> = meta.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["z", "n", "f", "ok", "nil", "tags", "obj", "s", "m", "k", "a"]
    );
    assert_eq!(
        serde_json::Value::Object(meta.clone()),
        serde_json::json!({"z": "1", "n": 3, "f": 2.5, "ok": true, "nil": null,
            "tags": ["a", 1], "obj": {"x": {"y": false}}, "s": "3", "m": "in meta", "k": 7,
            "a": "last"})
    );
    assert_eq!(entry("bin")["content_type"], "application/octet-stream");
    assert_eq!(
        entry("bintext")["content_type"],
        "text/plain; charset=utf-8"
    );

    let a2 = t.path().join("a2.quire");
    pack_jsonl(&a2, &back);
    assert!(
        fs::read(&a1).unwrap() == fs::read(&a2).unwrap(),
        "the JSONL round trip changed the archive"
    );
    assert_eq!(ok(&run(&["unpack", s(&a2), "--jsonl", "-"])), back);

    // A date that is neither form is refused, naming both.
    let o = run_stdin(
        &["pack", "-", "-o", s(&t.path().join("x.quire"))],
        b"{\"key\": \"k\", \"date\": \"2002-03-14T25:00:00Z\"}\n",
    );
    assert!(fails(&o, 4).contains("RFC 3339"));
}
