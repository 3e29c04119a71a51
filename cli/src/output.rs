//! Where the CLI writes: checks and resolution of `-o` / `--jsonl` targets.
//!
//! A regular file is written to a temporary file beside it and renamed into place (the
//! library's [`quire::AtomicFile`]), so a failed command never leaves half a file under the
//! target's name. A symbolic link is followed: with `--force` the file it points to is
//! replaced and the link stays. A FIFO, a character device or `/dev/stdout` is written into
//! as it is: there is nothing to replace, and a rename would destroy it.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// How many symbolic links [`resolve_links`] follows.
const MAX_LINKS: usize = 40;

/// The file `path` finally names, following symbolic links (relative ones from the link's
/// directory). A dangling link resolves to the path it points to.
pub fn resolve_links(path: &Path) -> io::Result<PathBuf> {
    let mut cur = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = fs::read_link(&cur)?;
                cur = match cur.parent() {
                    Some(dir) if to.is_relative() => dir.join(to),
                    _ => to,
                };
            }
            _ => return Ok(cur),
        }
    }
    Err(io::Error::other(format!(
        "{}: too many levels of symbolic links",
        path.display()
    )))
}

/// Whether `path` names this process's standard output.
pub fn is_stdout_path(path: &Path) -> bool {
    path.as_os_str() == "-"
        || ["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"]
            .iter()
            .any(|p| path == Path::new(p))
}

/// Checks a regular-file target before anything is written: its directory exists, it is
/// not a directory, and without `force` it does not exist. Returns the file to write (links
/// followed).
pub fn check_file_target(path: &Path, force: bool) -> Result<PathBuf, Error> {
    if let Ok(m) = fs::symlink_metadata(path) {
        if !force {
            return Err(Error::Input(format!(
                "{} already exists (use --force to replace it)",
                path.display()
            )));
        }
        if m.is_dir() {
            return Err(Error::Input(format!("{} is a directory", path.display())));
        }
    }
    let target = resolve_links(path)?;
    if target.is_dir() {
        return Err(Error::Input(format!("{} is a directory", path.display())));
    }
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(target),
        Ok(_) => Err(Error::Input(format!(
            "cannot create {}: {} is not a directory",
            path.display(),
            dir.display()
        ))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Error::Input(format!(
            "cannot create {}: directory {} does not exist",
            path.display(),
            dir.display()
        ))),
        Err(e) => Err(Error::Input(format!(
            "cannot create {}: {}: {e}",
            path.display(),
            dir.display()
        ))),
    }
}

/// A `--jsonl` target.
pub enum JsonlTarget {
    /// Standard output (`-`, `/dev/stdout`).
    Stdout,
    /// A FIFO, a device or a socket, opened for writing as it is.
    Special(File),
    /// A regular file (links followed), written atomically.
    File(PathBuf),
}

/// Decides how to write JSONL to `path`.
pub fn jsonl_target(path: &Path, force: bool) -> Result<JsonlTarget, Error> {
    if is_stdout_path(path) {
        return Ok(JsonlTarget::Stdout);
    }
    // Following links: `/dev/stderr` or a link to a FIFO is written into too.
    if let Ok(m) = fs::metadata(path) {
        if !m.is_file() && !m.is_dir() {
            let f = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| Error::Input(format!("cannot open {}: {e}", path.display())))?;
            return Ok(JsonlTarget::Special(f));
        }
    }
    check_file_target(path, force).map(JsonlTarget::File)
}
