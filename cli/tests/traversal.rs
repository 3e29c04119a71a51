//! Unpacking never writes outside its target, whatever the keys and whatever is already
//! inside the target; refusals name the key.

use std::fs;
use std::path::Path;

use quire::{Archive, ArchiveWriter, NewEntry, WriterOptions};
use quire_cli::unpack::{unpack_to_dir, UnpackOptions};

fn archive(keys: &[&str]) -> Archive<Vec<u8>> {
    let mut w = ArchiveWriter::in_memory(WriterOptions {
        level: 1,
        threads: 1,
        created: Some(0),
        ..WriterOptions::default()
    })
    .unwrap();
    for k in keys {
        w.add(&NewEntry::new(k, b"pwned")).unwrap();
    }
    Archive::new(w.finish_into_inner().unwrap().0.into_inner()).unwrap()
}

/// Every file under `root`, relative.
fn files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                stack.push(p.clone());
            }
            out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
        }
    }
    out.sort();
    out
}

const HOSTILE: [&str; 10] = [
    "../x",
    "a/../../x",
    "/etc/x",
    "C:\\x",
    "a\\..\\x",
    "a/./b",
    "nul\0byte",
    "a//b",
    "trailing/",
    "..",
];

#[test]
fn hostile_keys_are_refused_with_their_name_and_nothing_is_written() {
    let long = format!("dir/{}", "x".repeat(300));
    let mut keys: Vec<&str> = HOSTILE.to_vec();
    keys.push(&long);
    for key in keys {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("target");
        let a = archive(&[key]);
        let err = unpack_to_dir(&a, &target, UnpackOptions::default(), &mut |_| {})
            .expect_err(key)
            .to_string();
        assert!(err.contains(&format!("{key:?}")), "{key:?}: {err}");
        assert_eq!(files(root.path()), ["target"], "{key:?}");
    }
}

#[test]
fn sanitize_keeps_everything_inside() {
    let root = tempfile::tempdir().unwrap();
    let target = root.path().join("target");
    let long = format!("dir/{}", "é".repeat(200));
    // Hostile keys that sanitize to distinct paths (several of HOSTILE become "a/b" or
    // "a/x": that collision is the next test).
    let keys: Vec<&str> = vec![
        "../x",
        "/etc/x",
        "C:\\x",
        "a\\..\\y",
        "nul\0byte",
        "trailing/",
        "..",
        &long,
        "a/b",
    ];
    let a = archive(&keys);
    let opts = UnpackOptions {
        force: false,
        sanitize: true,
    };
    let s = unpack_to_dir(&a, &target, opts, &mut |_| {}).unwrap();
    assert_eq!(s.files, keys.len() as u64);
    let all = files(root.path());
    assert!(all.iter().all(|f| f.starts_with("target")), "{all:?}");
    assert!(all.contains(&"target/x".to_string()), "{all:?}");
    assert!(all.contains(&"target/etc/x".to_string()), "{all:?}");
}

#[test]
fn keys_that_sanitize_to_the_same_path_collide_loudly() {
    let root = tempfile::tempdir().unwrap();
    let target = root.path().join("target");
    let a = archive(&["a//b", "a/./b"]);
    for force in [false, true] {
        let err = unpack_to_dir(
            &a,
            &target,
            UnpackOptions {
                force,
                sanitize: true,
            },
            &mut |_| {},
        )
        .expect_err("collision");
        assert!(err.to_string().contains("\"a/./b\""), "{err}");
        fs::remove_dir_all(&target).unwrap();
    }
}

#[cfg(unix)]
#[test]
fn existing_symlinks_inside_the_target_are_not_followed() {
    use std::os::unix::fs::symlink;
    let root = tempfile::tempdir().unwrap();
    let outside = root.path().join("outside");
    let target = root.path().join("target");
    fs::create_dir_all(&outside).unwrap();
    fs::create_dir_all(&target).unwrap();
    symlink(&outside, target.join("dir")).unwrap();
    symlink(outside.join("file"), target.join("file")).unwrap();

    // Through a symlinked directory: refused, naming the key.
    let a = archive(&["dir/payload"]);
    let err = unpack_to_dir(&a, &target, UnpackOptions::default(), &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("\"dir/payload\""), "{err}");
    assert!(err.to_string().contains("symbolic link"), "{err}");

    // Onto a symlinked file: refused without --force; with --force the link itself is
    // replaced, and its target outside is never created.
    let a = archive(&["file"]);
    let err = unpack_to_dir(&a, &target, UnpackOptions::default(), &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("\"file\""), "{err}");
    let force = UnpackOptions {
        force: true,
        sanitize: false,
    };
    unpack_to_dir(&a, &target, force, &mut |_| {}).unwrap();
    assert!(!target
        .join("file")
        .symlink_metadata()
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read(target.join("file")).unwrap(), b"pwned");
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
}

#[test]
fn case_variants_are_both_written_or_refused_never_merged() {
    // On a case-sensitive file system both files appear; on a case-insensitive one the
    // second is refused (it already exists), naming the key. Either way nothing is lost
    // silently and nothing lands outside.
    let root = tempfile::tempdir().unwrap();
    let target = root.path().join("target");
    let a = archive(&["Readme.txt", "README.txt"]);
    match unpack_to_dir(&a, &target, UnpackOptions::default(), &mut |_| {}) {
        Ok(s) => {
            assert_eq!(s.files, 2);
            assert_eq!(files(&target).len(), 2);
        }
        Err(e) => assert!(e.to_string().contains("\"README.txt\""), "{e}"),
    }
    assert!(files(root.path()).iter().all(|f| f.starts_with("target")));
}

#[test]
fn a_key_that_is_both_file_and_directory_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let target = root.path().join("target");
    let a = archive(&["a", "a/b"]);
    let err = unpack_to_dir(&a, &target, UnpackOptions::default(), &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("\"a/b\""), "{err}");
}
