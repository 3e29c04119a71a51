//! Writing an archive's entries back to files, without ever writing outside the target.
//!
//! Keys are not paths. A key becomes a relative path only if it is plainly one: `/`-separated
//! components that are not empty, `.` or `..`, no backslash, NUL, drive letter or leading `/`,
//! no component over 255 bytes. Anything else is refused with an error naming the key, or
//! rewritten by [`sanitize_key`] when the caller asks for that. Files are created with
//! `create_new`, directories one component at a time, and an existing symbolic link anywhere
//! on the way is refused rather than followed.

use std::collections::HashSet;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::Error;
use quire::Archive;

/// Longest path component accepted (most file systems allow 255 bytes).
pub const MAX_COMPONENT: usize = 255;

/// Why a key cannot be used as a path as it is.
pub fn check_key_path(key: &str) -> Result<Vec<&str>, String> {
    if key.is_empty() {
        return Err("empty key".into());
    }
    if key.contains('\0') {
        return Err("contains NUL".into());
    }
    if key.contains('\\') {
        return Err("contains a backslash".into());
    }
    if key.starts_with('/') {
        return Err("is an absolute path".into());
    }
    let b = key.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Err("starts with a drive letter".into());
    }
    let parts: Vec<&str> = key.split('/').collect();
    for p in &parts {
        match *p {
            "" => return Err("has an empty path component".into()),
            "." => return Err("has a '.' component".into()),
            ".." => return Err("has a '..' component".into()),
            _ if p.len() > MAX_COMPONENT => {
                return Err(format!(
                    "has a path component longer than {MAX_COMPONENT} bytes"
                ))
            }
            _ => {}
        }
    }
    Ok(parts)
}

/// Rewrites a key into a safe relative path: backslashes become `/`, empty, `.` and `..`
/// components are dropped, a drive letter's colon and NUL become `_`, over-long components
/// are cut (with a hash of the whole component appended so they stay distinct).
pub fn sanitize_key(key: &str) -> String {
    let cleaned: String = key
        .chars()
        .map(|c| match c {
            '\\' => '/',
            '\0' => '_',
            c => c,
        })
        .collect();
    let mut parts: Vec<String> = Vec::new();
    for (i, p) in cleaned.split('/').enumerate() {
        let mut p = p.to_string();
        if i == 0
            && p.len() >= 2
            && p.as_bytes()[0].is_ascii_alphabetic()
            && p.as_bytes()[1] == b':'
        {
            p.replace_range(1..2, "_");
        }
        if p.is_empty() || p == "." || p == ".." {
            continue;
        }
        if p.len() > MAX_COMPONENT {
            let h = quire::format::key_hash(p.as_bytes(), 0);
            let mut cut = MAX_COMPONENT - 17;
            while !p.is_char_boundary(cut) {
                cut -= 1;
            }
            p = format!("{}~{h:016x}", &p[..cut]);
        }
        parts.push(p);
    }
    if parts.is_empty() {
        return "_".into();
    }
    parts.join("/")
}

/// Options for [`unpack_to_dir`].
#[derive(Debug, Clone, Copy, Default)]
pub struct UnpackOptions {
    /// Replace existing files (never following a symbolic link).
    pub force: bool,
    /// Rewrite unsafe keys with [`sanitize_key`] instead of refusing them.
    pub sanitize: bool,
}

/// What [`unpack_to_dir`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnpackSummary {
    /// Files written.
    pub files: u64,
    /// Body bytes written.
    pub bytes: u64,
}

/// Writes every entry of `archive` as a file under `dir` (created if missing).
/// `progress` is called after each file with the bytes written so far.
pub fn unpack_to_dir<D: AsRef<[u8]>>(
    archive: &Archive<D>,
    dir: &Path,
    opts: UnpackOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<UnpackSummary, Error> {
    fs::create_dir_all(dir)
        .map_err(|e| Error::Input(format!("cannot create {}: {e}", dir.display())))?;
    let root = dir
        .canonicalize()
        .map_err(|e| Error::Input(format!("cannot resolve {}: {e}", dir.display())))?;
    let mut written: HashSet<String> = HashSet::new();
    let mut summary = UnpackSummary::default();
    for entry in archive.iter() {
        let entry = entry?;
        let key = entry.key();
        let rel = match check_key_path(key) {
            Ok(_) => key.to_string(),
            Err(why) if opts.sanitize => {
                let s = sanitize_key(key);
                let _ = why;
                s
            }
            Err(why) => {
                return Err(Error::Input(format!(
                    "refusing to unpack key {key:?}: {why} (use --sanitize to rewrite such keys)"
                )))
            }
        };
        let folded = rel.to_lowercase();
        let collides = !written.insert(folded);
        let path = prepare_path(&root, &rel, key)?;
        if collides && path.symlink_metadata().is_ok() {
            return Err(Error::Input(format!(
                "key {key:?} collides with another key written as {rel:?} \
                 (the same name on a case-insensitive file system, or after --sanitize)"
            )));
        }
        let f = create_file(&path, opts.force, key)?;
        let mut w = io::BufWriter::new(f);
        let written = entry
            .write_body_to(&mut w)
            .map_err(Error::from)
            .and_then(|()| {
                w.flush()
                    .map_err(|e| Error::Input(format!("writing {}: {e}", path.display())))
            });
        if let Err(e) = written {
            // Leave no partial file behind.
            drop(w);
            let _ = fs::remove_file(&path);
            return Err(e);
        }
        summary.files += 1;
        summary.bytes += entry.body_len();
        progress(summary.bytes);
    }
    Ok(summary)
}

/// Creates the directories for `rel` under `root`, one component at a time, refusing any
/// existing symbolic link or non-directory on the way; returns the file's path.
fn prepare_path(root: &Path, rel: &str, key: &str) -> Result<PathBuf, Error> {
    let parts: Vec<&str> = rel.split('/').collect();
    let Some((file, dirs)) = parts.split_last() else {
        return Err(Error::Input(format!("key {key:?} has no file name")));
    };
    let mut cur = root.to_path_buf();
    for d in dirs {
        cur.push(d);
        match cur.symlink_metadata() {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(Error::Input(format!(
                    "refusing to unpack key {key:?}: {} is a symbolic link",
                    cur.display()
                )))
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(Error::Input(format!(
                    "cannot unpack key {key:?}: {} exists and is not a directory",
                    cur.display()
                )))
            }
            Err(_) => fs::create_dir(&cur).map_err(|e| {
                Error::Input(format!(
                    "cannot unpack key {key:?}: creating {}: {e}",
                    cur.display()
                ))
            })?,
        }
    }
    cur.push(file);
    Ok(cur)
}

/// Creates a new file, never following a symbolic link: an existing file (or link) is an
/// error, or with `force` is removed first.
fn create_file(path: &Path, force: bool, key: &str) -> Result<fs::File, Error> {
    if let Ok(m) = path.symlink_metadata() {
        if !force {
            return Err(Error::Input(format!(
                "cannot unpack key {key:?}: {} already exists (use --force to replace it)",
                path.display()
            )));
        }
        if m.is_dir() {
            return Err(Error::Input(format!(
                "cannot unpack key {key:?}: {} is a directory",
                path.display()
            )));
        }
        fs::remove_file(path)
            .map_err(|e| Error::Input(format!("cannot replace {}: {e}", path.display())))?;
    }
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            Error::Input(format!(
                "cannot unpack key {key:?}: creating {}: {e}",
                path.display()
            ))
        })
}

/// Writes the archive as JSONL that `quire pack` reads back to the same archive: first the
/// archive metadata line, then one line per entry in entry order.
pub fn unpack_jsonl<D: AsRef<[u8]>>(
    archive: &Archive<D>,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Result<UnpackSummary, Error> {
    writeln!(
        out,
        "{}",
        crate::ingest::archive_to_jsonl(archive.metadata())
    )?;
    let mut summary = UnpackSummary::default();
    for entry in archive.iter() {
        let entry = entry?;
        let info = entry.info()?;
        crate::ingest::write_entry_jsonl(&entry, &info, out)?;
        summary.files += 1;
        summary.bytes += entry.body_len();
        progress(summary.bytes);
    }
    out.flush()?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_keys_are_refused() {
        for k in [
            "../x",
            "a/../../x",
            "/etc/x",
            "C:\\x",
            "a\\..\\x",
            "a/./b",
            "a\0b",
            "",
            "a//b",
            "c:x",
        ] {
            assert!(check_key_path(k).is_err(), "{k:?} accepted");
        }
        let long = "x".repeat(300);
        assert!(check_key_path(&long).is_err());
        for k in ["a", "a/b.txt", "ünï/cödé", "..a", "a..", ".hidden"] {
            assert!(check_key_path(k).is_ok(), "{k:?} refused");
        }
    }

    #[test]
    fn sanitized_keys_are_safe() {
        for k in [
            "../x",
            "a/../../x",
            "/etc/x",
            "C:\\x",
            "a\\..\\x",
            "a/./b",
            "a\0b",
            "",
            "..",
            "/",
        ] {
            let s = sanitize_key(k);
            assert!(check_key_path(&s).is_ok(), "{k:?} -> {s:?}");
        }
        assert_eq!(sanitize_key("../x"), "x");
        assert_eq!(sanitize_key("C:\\x"), "C_/x");
        let long = format!("d/{}", "é".repeat(200));
        assert!(check_key_path(&sanitize_key(&long)).is_ok());
    }
}
