//! [`AtomicFile`]: a file that appears under its name complete or not at all.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::options::Overwrite;
use crate::error::WriteError;

/// A file written to a temporary name beside its target and renamed over it on
/// [`commit`](AtomicFile::commit); dropped without commit, it is deleted.
///
/// The temporary file is `.NAME.quire-tmp-PID-N-NANOS.partial` in the target's directory,
/// created with the permissions [`File::create`] gives (`0o666` less the umask on Unix) — or,
/// when it replaces a file, that file's permissions — and
/// locked while it is written: a later commit to the same target removes such files only
/// when no live writer holds them (those of killed processes).
///
/// With [`Overwrite::Never`] the commit is a no-clobber rename: the file is hard-linked
/// under the target name, which fails if anything got there first, and the temporary name
/// is removed. On a file system without hard links the commit falls back to checking that
/// the target is absent and renaming, which a file created between the check and the
/// rename would lose to.
#[derive(Debug)]
pub struct AtomicFile {
    /// `None` once committed or being dropped.
    file: Option<io::BufWriter<File>>,
    temp: PathBuf,
    target: PathBuf,
    overwrite: Overwrite,
    committed: bool,
}

/// How many temporary names to try before giving up.
const CREATE_TRIES: u32 = 16;

const TEMP_SUFFIX: &str = ".partial";

/// Makes temporary names unique within the process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

impl AtomicFile {
    /// Creates the temporary file in `target`'s directory. With [`Overwrite::Never`], fails
    /// at once with [`WriteError::TargetExists`] if `target` exists.
    pub fn create(target: &Path, overwrite: Overwrite) -> Result<AtomicFile, WriteError> {
        if overwrite == Overwrite::Never && target.symlink_metadata().is_ok() {
            return Err(WriteError::TargetExists(target.to_path_buf()));
        }
        let (file, temp) = create_temp(target)?;
        let mut f = AtomicFile {
            file: None,
            temp,
            target: target.to_path_buf(),
            overwrite,
            committed: false,
        };
        // Held until the file is renamed or dropped: tells a later writer that this temp
        // file is in use, not left over from a killed process.
        file.try_lock()
            .map_err(|e| io::Error::other(format!("cannot lock {}: {e}", f.temp.display())))?;
        f.file = Some(io::BufWriter::with_capacity(1 << 20, file));
        Ok(f)
    }

    /// Flushes, syncs to disk and renames over the target (see the type's documentation for
    /// [`Overwrite::Never`]); then removes temp files that earlier writers of the same target
    /// left when they were killed.
    pub fn commit(mut self) -> Result<(), WriteError> {
        let Some(buffered) = self.file.take() else {
            return Err(io::Error::other("the file was already committed").into());
        };
        let file = buffered.into_inner().map_err(|e| e.into_error())?;
        // A file replaced keeps its permissions (a 0640 archive stays 0640): what replacing
        // it in place would have kept.
        if self.overwrite != Overwrite::Never {
            if let Ok(old) = fs::metadata(&self.target) {
                if old.is_file() {
                    file.set_permissions(old.permissions())?;
                }
            }
        }
        file.sync_all()?;
        match self.overwrite {
            Overwrite::Never => self.rename_no_clobber()?,
            _ => {
                fs::rename(&self.temp, &self.target)?;
                self.committed = true;
            }
        }
        // The lock goes with the handle, after the rename.
        drop(file);
        let dir = parent_dir(&self.target);
        // Make the rename itself durable.
        #[cfg(unix)]
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        remove_stale_temp_files(&dir, &temp_prefix(&self.target));
        Ok(())
    }

    /// Puts the file under the target name unless something is there already.
    fn rename_no_clobber(&mut self) -> Result<(), WriteError> {
        match fs::hard_link(&self.temp, &self.target) {
            Ok(()) => {
                self.committed = true;
                // Should this fail, the archive is in place all the same, and the second
                // name is a stale temp file for the next writer to remove.
                let _ = fs::remove_file(&self.temp);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                Err(WriteError::TargetExists(self.target.clone()))
            }
            // No hard links here (FAT, some network file systems): check, then rename.
            Err(_) if self.target.symlink_metadata().is_ok() => {
                Err(WriteError::TargetExists(self.target.clone()))
            }
            Err(_) => {
                fs::rename(&self.temp, &self.target)?;
                self.committed = true;
                Ok(())
            }
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some(buffered) = self.file.take() {
            // Discard what is still buffered: the file is going away.
            let (file, _unwritten) = buffered.into_parts();
            drop(file);
        }
        if !self.committed {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffered()?.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.buffered()?.flush()
    }
}

impl Seek for AtomicFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.buffered()?.seek(pos)
    }
}

impl AtomicFile {
    fn buffered(&mut self) -> io::Result<&mut io::BufWriter<File>> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("the file was already committed"))
    }
}

/// Creates a new temporary file beside `target` (never opening an existing one).
fn create_temp(target: &Path) -> io::Result<(File, PathBuf)> {
    let dir = parent_dir(target);
    let prefix = temp_prefix(target);
    let mut last = None;
    for _ in 0..CREATE_TRIES {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{prefix}{}-{n}-{nanos}{TEMP_SUFFIX}", std::process::id());
        let path = dir.join(name);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(f) => return Ok((f, path)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temporary file name")))
}

/// `.NAME.quire-tmp-`: temp files are named after their target, so stale ones can be found.
fn temp_prefix(target: &Path) -> String {
    let name = target
        .file_name()
        .map_or_else(|| "archive".into(), |n| n.to_string_lossy());
    format!(".{name}.quire-tmp-")
}

fn parent_dir(target: &Path) -> PathBuf {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Deletes `PREFIX*.partial` files in `dir` that no live writer holds locked.
fn remove_stale_temp_files(dir: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        let is_file = e.file_type().is_ok_and(|t| t.is_file());
        if !is_file || !name.starts_with(prefix) || !name.ends_with(TEMP_SUFFIX) {
            continue;
        }
        let path = e.path();
        let Ok(f) = OpenOptions::new().write(true).open(&path) else {
            continue;
        };
        // Locked: another writer is still working on it.
        if f.try_lock().is_ok() {
            let _ = fs::remove_file(&path);
        }
    }
}
