//! Running the `quire` binary as a user would, for the CLI's integration tests.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

// tests/common/scratch.rs, through the library tests' helpers, which tests/integration.rs
// includes as `crate::common` (a second `mod` of the file would be a second copy).
#[allow(unused_imports)]
pub use crate::common::scratch::scratch;

pub fn quire() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_quire"));
    c.env("SOURCE_DATE_EPOCH", "1700000000");
    c
}

pub fn run(args: &[&str]) -> Output {
    quire().args(args).output().unwrap()
}

pub fn run_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = quire()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The child may exit before reading: its exit status says why.
    if let Err(e) = child.stdin.take().unwrap().write_all(input) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

/// Asserts success; returns stdout.
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the exit code and that stderr is one line; returns stderr.
pub fn fails(o: &Output, code: i32) -> String {
    let e = err(o);
    assert_eq!(
        o.status.code(),
        Some(code),
        "stderr: {e}\nstdout: {}",
        out(o)
    );
    assert_eq!(e.lines().count(), 1, "not one line: {e}");
    e
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Packs JSONL text into `arc` (quietly, replacing it).
pub fn pack_jsonl(arc: &Path, jsonl: &str) {
    ok(&run_stdin(
        &["pack", "-", "-o", s(arc), "-q", "--force"],
        jsonl.as_bytes(),
    ));
}
