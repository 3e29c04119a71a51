//! Writing an archive's entries back to files, without ever writing outside the target.
//!
//! Keys are not paths. A key becomes a relative path only if it is plainly one: `/`-separated
//! components that are not empty, `.` or `..`, no backslash, NUL or other control character,
//! drive letter or leading `/`,
//! no component over 255 bytes. Anything else is refused with an error naming the key, or
//! rewritten by [`sanitize_key`] when the caller asks for that. Files are created with
//! `create_new`, directories one component at a time, and an existing symbolic link anywhere
//! on the way is refused rather than followed.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::Error;
use quire::jsonl::WriteLineError;
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
    if key.chars().any(|c| c.is_ascii_control()) {
        // Escape sequences and line breaks in file names mislead whoever lists them (§12).
        return Err("contains a control character".into());
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
/// components are dropped, a drive letter's colon, NUL and other control characters become
/// `_`, over-long components
/// are cut (with a hash of the whole component appended so they stay distinct).
pub fn sanitize_key(key: &str) -> String {
    let cleaned: String = key
        .chars()
        .map(|c| match c {
            '\\' => '/',
            c if c.is_ascii_control() => '_',
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
            let h = xxhash_rust::xxh3::xxh3_64_with_seed(p.as_bytes(), 0);
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

/// An entry that could not be read because the archive is damaged where it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lost {
    /// Entry number.
    pub index: u64,
    /// The key, when the entry's record could be read.
    pub key: Option<String>,
    /// What is wrong.
    pub why: String,
}

impl std::fmt::Display for Lost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.key {
            Some(k) => write!(f, "key {k:?}: {}", self.why),
            None => write!(f, "entry {}: {}", self.index, self.why),
        }
    }
}

/// Neighbouring lost entries that were lost for the same reason, for one line of report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostRun {
    /// The first and last entry numbers.
    pub first: u64,
    /// The last entry number.
    pub last: u64,
    /// The first and last keys, when they could be read.
    pub keys: (Option<String>, Option<String>),
    /// Why.
    pub why: String,
}

impl std::fmt::Display for LostRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.first == self.last {
            return match &self.keys.0 {
                Some(k) => write!(f, "key {k:?}: {}", self.why),
                None => write!(f, "entry {}: {}", self.first, self.why),
            };
        }
        write!(
            f,
            "entries {}..={} ({} entries",
            self.first,
            self.last,
            self.last - self.first + 1
        )?;
        if let (Some(a), Some(b)) = &self.keys {
            write!(f, ", keys {a:?} to {b:?}")?;
        }
        write!(f, "): {}", self.why)
    }
}

/// `lost` (in entry order) grouped into runs of neighbouring entries with one reason.
pub fn runs_of_lost(lost: &[Lost]) -> Vec<LostRun> {
    let mut runs: Vec<LostRun> = Vec::new();
    for l in lost {
        push_lost(&mut runs, l, false);
    }
    runs
}

/// Adds `l` to the last run when it follows it for the same reason and neither has a key
/// (entries lost with their page: one line for the page), else starts a run (an entry whose
/// key is known is named on its own line).
/// With `keyed`, entries whose keys are known are grouped too (a range of keys).
pub fn push_lost(runs: &mut Vec<LostRun>, l: &Lost, keyed: bool) {
    let groups = |r: &LostRun| keyed || (l.key.is_none() && r.keys.0.is_none());
    match runs.last_mut() {
        Some(r) if r.last + 1 == l.index && r.why == l.why && groups(r) => {
            r.last = l.index;
            r.keys.1 = l.key.clone();
        }
        _ => runs.push(LostRun {
            first: l.index,
            last: l.index,
            keys: (l.key.clone(), l.key.clone()),
            why: l.why.clone(),
        }),
    }
}

/// What [`unpack_to_dir`] and [`unpack_jsonl`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnpackSummary {
    /// Files (or JSONL lines) written.
    pub files: u64,
    /// Body bytes written.
    pub bytes: u64,
    /// Entries skipped because the archive is damaged where they are stored: damage costs
    /// only the entries of the damaged blocks, every other entry is written.
    pub lost: Vec<Lost>,
}

/// The path under the target for `key`: the key itself when it is a safe relative path,
/// its sanitized form with `sanitize`, else an error naming the key.
fn target_rel(key: &str, sanitize: bool) -> Result<String, Error> {
    match check_key_path(key) {
        Ok(_) => Ok(key.to_string()),
        Err(_) if sanitize => Ok(sanitize_key(key)),
        Err(why) => Err(Error::Input(format!(
            "refusing to unpack key {key:?}: {why} (use --sanitize to rewrite such keys)"
        ))),
    }
}

/// 128 bits identifying a path, so that the checks over every key hold no key strings.
fn path_id(p: &str) -> (u64, u64) {
    (
        xxhash_rust::xxh3::xxh3_64_with_seed(p.as_bytes(), 0),
        xxhash_rust::xxh3::xxh3_64_with_seed(p.as_bytes(), 0x9E37_79B9_7F4A_7C15),
    )
}

/// Checks every key before anything is written: each must be a safe relative path (or be
/// sanitized), no two may land on the same path, no key may need another key's file as a
/// directory, nothing on the way may be a symbolic link or a non-directory, and without
/// `force` no target may exist. Entries whose record cannot be read are returned as lost.
fn check_all_keys<D: quire::source::ByteSource>(
    archive: &Archive<D>,
    root: &Path,
    opts: UnpackOptions,
) -> Result<Vec<Lost>, Error> {
    let mut lost = Vec::new();
    // path id -> the entry that writes a file there; directory ids seen so far.
    let mut files: HashMap<(u64, u64), u64> = HashMap::new();
    let mut dirs: HashMap<(u64, u64), u64> = HashMap::new();
    for index in 0..archive.len() {
        let entry = match archive.get_by_index(index) {
            Ok(e) => e,
            Err(e) if stops(&e) => return Err(Error::Read(e)),
            Err(e) => {
                lost.push(Lost {
                    index,
                    key: None,
                    why: e.to_string(),
                });
                continue;
            }
        };
        let key = entry.key();
        let rel = target_rel(key, opts.sanitize)?;
        let other_key = |i: u64| {
            archive
                .get_by_index(i)
                .map_or_else(|_| format!("entry {i}"), |e| format!("{:?}", e.key()))
        };
        if let Some(&first) = files.get(&path_id(&rel)) {
            return Err(Error::Input(format!(
                "keys {} and {key:?} would both be unpacked to {rel:?}",
                other_key(first)
            )));
        }
        if let Some(&other) = dirs.get(&path_id(&rel)) {
            return Err(Error::Input(format!(
                "cannot unpack key {key:?}: {rel:?} is also a directory (of key {})",
                other_key(other)
            )));
        }
        let mut cur = root.to_path_buf();
        let parts: Vec<&str> = rel.split('/').collect();
        for n in 1..parts.len() {
            let dir = parts[..n].join("/");
            cur.push(parts[n - 1]);
            if let Some(&other) = files.get(&path_id(&dir)) {
                return Err(Error::Input(format!(
                    "cannot unpack key {key:?}: {dir:?} is also the file of key {}",
                    other_key(other)
                )));
            }
            if dirs.insert(path_id(&dir), index).is_some() {
                continue;
            }
            match cur.symlink_metadata() {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(Error::Input(format!(
                        "refusing to unpack key {key:?}: {} is a symbolic link",
                        cur.display()
                    )))
                }
                Ok(m) if !m.is_dir() => {
                    return Err(Error::Input(format!(
                        "cannot unpack key {key:?}: {} exists and is not a directory",
                        cur.display()
                    )))
                }
                _ => {}
            }
        }
        files.insert(path_id(&rel), index);
        let path = root.join(&rel);
        check_target(&path, opts.force, key)?;
    }
    Ok(lost)
}

/// Writes every entry of `archive` as a file under `dir` (created if missing).
/// `progress` is called after each file with the bytes written so far.
///
/// Every key is checked first (see the module documentation); a refused key fails the
/// whole unpack before any file is written. An entry that cannot be read because the
/// archive is damaged where it is stored is skipped (no partial file is left) and listed
/// in [`UnpackSummary::lost`]; every other entry is written.
pub fn unpack_to_dir<D: quire::source::ByteSource>(
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
    let mut summary = UnpackSummary {
        lost: check_all_keys(archive, &root, opts)?,
        ..UnpackSummary::default()
    };
    let mut written: HashSet<(u64, u64)> = HashSet::new();
    for index in 0..archive.len() {
        // Entries whose record is unreadable were listed by the check.
        let Ok(entry) = archive.get_by_index(index) else {
            continue;
        };
        let key = entry.key();
        let rel = target_rel(key, opts.sanitize)?;
        let collides = !written.insert(path_id(&rel.to_lowercase()));
        let path = prepare_path(&root, &rel, key)?;
        if collides && path.symlink_metadata().is_ok() {
            return Err(Error::Input(format!(
                "key {key:?} collides with another key written as {rel:?} \
                 (the same name on a case-insensitive file system)"
            )));
        }
        let f = create_file(&path, opts.force, key)?;
        let mut w = io::BufWriter::new(f);
        let result = entry.write_body_to(&mut w);
        let result = match result {
            Ok(()) => w.flush().map_err(|e| (true, e.to_string())),
            // The file could not be written.
            Err(quire::ReadError::Output(e)) => Err((true, e.to_string())),
            // The archive's source failed (the network, an object changed on its server):
            // nothing is lost to damage, the unpack stops.
            Err(e) if stops(&e) => {
                drop(w);
                let _ = fs::remove_file(&path);
                return Err(Error::Read(e));
            }
            // The archive could not be read.
            Err(e) => Err((false, e.to_string())),
        };
        if let Err((output, why)) = result {
            // Leave no partial file behind.
            drop(w);
            let _ = fs::remove_file(&path);
            if output {
                return Err(Error::Input(format!("writing {}: {why}", path.display())));
            }
            summary.lost.push(Lost {
                index,
                key: Some(key.to_string()),
                why,
            });
            continue;
        }
        summary.files += 1;
        summary.bytes += entry.body_len();
        progress(summary.bytes);
    }
    summary.lost.sort_by_key(|l| l.index);
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

/// Whether something (a file or a link, never followed) is at `path`; an error when it is
/// there and `force` is not given, or when it is a directory.
fn check_target(path: &Path, force: bool, key: &str) -> Result<bool, Error> {
    let Ok(m) = path.symlink_metadata() else {
        return Ok(false);
    };
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
    Ok(true)
}

/// Creates a new file, never following a symbolic link: an existing file (or link) is an
/// error, or with `force` is removed first.
fn create_file(path: &Path, force: bool, key: &str) -> Result<fs::File, Error> {
    if check_target(path, force, key)? {
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

/// Whether a read error stops an unpack rather than losing one entry: the archive's source
/// failed (a file that cannot be read, the network, an object that changed on its server),
/// which says nothing of the entry.
fn stops(e: &quire::ReadError) -> bool {
    matches!(e, quire::ReadError::Io { .. })
}

/// Writes the archive as JSONL that `quire pack` reads back to the same archive: first the
/// archive metadata line, then one line per entry in entry order, each body streamed block by
/// block. An entry that cannot be read because the archive is damaged is left out and listed
/// in [`UnpackSummary::lost`] (damage found only after its line was begun fails the whole
/// unpack, as the line cannot be taken back).
pub fn unpack_jsonl<D: quire::source::ByteSource>(
    archive: &Archive<D>,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Result<UnpackSummary, Error> {
    writeln!(out, "{}", quire::jsonl::archive_line(archive.metadata()))?;
    let mut summary = UnpackSummary::default();
    for index in 0..archive.len() {
        let lose = |key: Option<&str>, e: quire::ReadError| Lost {
            index,
            key: key.map(str::to_string),
            why: e.to_string(),
        };
        let entry = match archive.get_by_index(index) {
            Ok(e) => e,
            Err(e) if stops(&e) => return Err(Error::Read(e)),
            Err(e) => {
                summary.lost.push(lose(None, e));
                continue;
            }
        };
        // The library's §9 codec writes the line, streaming the body block by block.
        match quire::jsonl::write_entry_line(&entry, out) {
            Ok(()) => {}
            Err(WriteLineError::Unreadable(e)) if stops(&e) => return Err(Error::Read(e)),
            Err(WriteLineError::Unreadable(e)) => {
                summary.lost.push(lose(Some(entry.key()), e));
                continue;
            }
            Err(WriteLineError::Read(e)) => return Err(Error::Read(e)),
            Err(WriteLineError::Io(e)) => return Err(Error::Io(e)),
            Err(e) => return Err(Error::Input(e.to_string())),
        }
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
            "ctl\x1b[31mred",
            "line\nbreak",
            "del\x7f",
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
            "ctl\x1b[31mred\n\r\x07",
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
