//! A pack killed at any moment loses nothing: the target is absent or still the previous
//! complete archive, and the next successful pack leaves no temp file behind.

#![cfg(unix)]

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn temp_files(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("quire-tmp"))
        .collect()
}

#[test]
fn sigkill_during_pack_never_damages_the_target() {
    let t = tempfile::tempdir().unwrap();
    // A large input: ~24 MB of JSONL.
    let input = t.path().join("big.jsonl");
    let mut f = std::io::BufWriter::new(fs::File::create(&input).unwrap());
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..12_000 {
        let mut body = String::with_capacity(2000);
        while body.len() < 1900 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            body.push_str(
                ["the ", "council ", "said ", "harbour ", "vote ", "rain "][(x % 6) as usize],
            );
            body.push_str(&(x % 1000).to_string());
            body.push(' ');
        }
        writeln!(f, "{{\"key\": \"a/{i}\", \"body\": \"{body}\"}}").unwrap();
    }
    f.flush().unwrap();
    drop(f);

    let exe = env!("CARGO_BIN_EXE_quire");
    let target = t.path().join("out.quire");
    let pack = |extra: &[&str]| {
        let mut c = Command::new(exe);
        c.args([
            "pack",
            input.to_str().unwrap(),
            "-o",
            target.to_str().unwrap(),
            "--force",
            "-q",
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        c
    };

    let complete =
        |b: &[u8]| quire::Archive::new(b).is_ok_and(|a| a.len() == 12_000 && a.verify().is_ok());
    // First kills happen with no previous archive: the target must not appear.
    let mut previous: Option<Vec<u8>> = None;
    let delays_ms = [5u64, 60, 250, 900, 40, 500, 1500];
    for (round, delay) in delays_ms.iter().enumerate() {
        let mut child = pack(&["--level", "12", "--threads", "2"]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(*delay));
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        match (&previous, fs::read(&target)) {
            (None, Err(_)) => {}
            (Some(p), Ok(now)) if now == *p => {}
            (_, Ok(now)) if status.success() || complete(&now) => {
                // The pack finished before the kill (or was killed after its rename, while
                // exiting): a complete archive is fine too.
                assert!(complete(&now));
                previous = Some(now);
            }
            (p, now) => panic!(
                "round {round}: after SIGKILL at {delay} ms the target is {:?} bytes, previous {:?}",
                now.map(|n| n.len()),
                p.as_ref().map(Vec::len)
            ),
        }
        if round == 2 {
            // From now on there is a previous archive to protect.
            assert!(pack(&["--level", "1"]).status().unwrap().success());
            let bytes = fs::read(&target).unwrap();
            assert!(quire::Archive::new(&bytes[..]).unwrap().verify().is_ok());
            previous = Some(bytes);
        }
    }
    println!("left by killed packs: {:?}", temp_files(t.path()));
    // The next successful pack cleans up what the killed ones left.
    assert!(pack(&["--level", "1"]).status().unwrap().success());
    assert_eq!(temp_files(t.path()), Vec::<String>::new());
    let bytes = fs::read(&target).unwrap();
    let a = quire::Archive::new(&bytes[..]).unwrap();
    assert_eq!(a.len(), 12_000);
    assert!(a.verify().is_ok());
}

#[test]
fn a_live_writers_temp_file_is_not_removed() {
    let t = tempfile::tempdir().unwrap();
    let target = t.path().join("x.quire");
    let opts = || {
        quire::WriterOptions::new()
            .level(1)
            .created(0)
            .overwrite(quire::Overwrite::Replace)
    };
    let mut slow = quire::ArchiveWriter::create(&target, opts()).unwrap();
    slow.add(&quire::NewEntry::new("a", b"1")).unwrap();
    let mut fast = quire::ArchiveWriter::create(&target, opts()).unwrap();
    fast.add(&quire::NewEntry::new("b", b"2")).unwrap();
    fast.finish().unwrap();
    // The slow writer's temp file survived the fast one's clean-up, and it can finish.
    assert_eq!(temp_files(t.path()).len(), 1);
    slow.finish().unwrap();
    assert!(temp_files(t.path()).is_empty());
    // SAFETY: no writer is running any more; nothing modifies the file while it is mapped.
    let a = unsafe { quire::Archive::open(&target) }.unwrap();
    assert!(a.get("a").unwrap().is_some());
}
