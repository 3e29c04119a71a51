//! The archives a server serves: each opened once, named for URLs, with the facts its pages
//! show gathered at open, and reopened when a URL archive changes on its server.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use quire::source::{AnySource, ByteSource, RemoteErrorKind};
use quire::{Archive, ReadError};
use serde_json::Value;

use crate::cmd::{self, chain, info::Info, remote_in, say, Fail};

/// Blocks kept decompressed per archive, where a command keeps a few: 256, in at most
/// 16 MiB (`with_block_cache` gives max(16 MiB, blocks × 64 KiB)), as libzim's default
/// cluster cache. More blocks would also raise the byte budget (4096 blocks: 256 MiB,
/// which a website archive fills).
const BLOCK_CACHE: usize = 256;

/// Every archive served, in the order given.
pub struct Library {
    archives: Vec<Served>,
    /// Identifies this set of archives: the hash of their identities, for the library
    /// page's ETag.
    tag: String,
}

impl Library {
    /// Opens every archive: a path, a URL, or every `*.quire` file directly in a directory
    /// (in name order). Fails on the first that cannot be opened, and when there is none.
    pub fn open(locations: &[PathBuf]) -> Result<Library, Fail> {
        let mut paths = Vec::new();
        for loc in locations {
            let is_url = loc.to_str().is_some_and(quire::source::is_url);
            if !is_url && loc.is_dir() {
                let mut found: Vec<PathBuf> = std::fs::read_dir(loc)
                    .map_err(|e| Fail::new(4, format!("cannot read {}: {e}", loc.display())))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "quire") && p.is_file())
                    .collect();
                found.sort();
                if found.is_empty() {
                    return Err(Fail::new(
                        4,
                        format!("{}: no *.quire file in this directory", loc.display()),
                    ));
                }
                paths.extend(found);
            } else {
                paths.push(loc.clone());
            }
        }
        let mut taken = HashSet::new();
        let mut archives = Vec::new();
        for path in paths {
            let name = unique_name(&path, &mut taken);
            let opened = Opened::open(&path)?;
            archives.push(Served {
                name,
                remote: path.to_str().is_some_and(quire::source::is_url),
                location: path,
                current: RwLock::new(Arc::new(opened)),
                reopening: Mutex::new(()),
            });
        }
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for s in &archives {
            h.update(s.name.as_bytes());
            h.update(s.current().tag.as_bytes());
        }
        Ok(Library {
            archives,
            tag: format!("{:016x}", h.digest()),
        })
    }

    /// The archives, in the order given.
    pub fn archives(&self) -> &[Served] {
        &self.archives
    }

    /// The archive served under `name`.
    pub fn get(&self, name: &str) -> Option<&Served> {
        self.archives.iter().find(|s| s.name == name)
    }

    /// The identity of the set of archives (16 hex digits).
    pub fn tag(&self) -> &str {
        &self.tag
    }
}

/// An archive's URL name: its file name without `.quire`, in letters, digits, `.`, `_` and
/// `-` (others become `_`), never starting with `-` (the server's own pages are under
/// `/-/`), made unique with `-2`, `-3`, ….
fn unique_name(path: &Path, taken: &mut HashSet<String>) -> String {
    let stem = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // A URL's last segment may carry a query: `news.quire?x=1`.
    let stem = stem.split(['?', '#']).next().unwrap_or_default();
    let stem = stem.strip_suffix(".quire").unwrap_or(stem);
    let mut base: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    base = base.trim_start_matches(['-', '.']).to_string();
    if base.is_empty() {
        base = "archive".into();
    }
    let mut name = base.clone();
    let mut n = 2;
    while !taken.insert(name.clone()) {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
}

/// One archive served.
pub struct Served {
    name: String,
    location: PathBuf,
    remote: bool,
    current: RwLock<Arc<Opened>>,
    /// Held while the archive is reopened, so that one request reopens it.
    reopening: Mutex<()>,
}

impl Served {
    /// Its name in URLs.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether it is read from a URL.
    pub fn is_remote(&self) -> bool {
        self.remote
    }

    /// The archive as opened now.
    pub fn current(&self) -> Arc<Opened> {
        match self.current.read() {
            Ok(g) => Arc::clone(&g),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }

    /// Runs `f` on the archive; when it fails because the archive changed on its server,
    /// reopens it (once, whichever request sees it first) and runs `f` again.
    pub fn with<T>(&self, f: impl Fn(&Opened) -> Result<T, ReadError>) -> Result<T, ReadError> {
        let opened = self.current();
        match f(&opened) {
            Err(e) if changed(&e) => {
                self.reopen(&opened, &e);
                f(&self.current())
            }
            other => other,
        }
    }

    /// Checks a URL archive against its server (one request for its first range) and
    /// reopens it when it changed.
    pub fn check_for_change(&self) {
        let opened = self.current();
        if let Err(e) = opened.archive.source().revalidate() {
            let e = ReadError::Io {
                path: Some(self.location.clone()),
                source: e,
            };
            if changed(&e) {
                self.reopen(&opened, &e);
            }
        }
    }

    /// Reopens the archive if `seen` is still the one served, and logs what happened.
    fn reopen(&self, seen: &Arc<Opened>, why: &ReadError) {
        let Ok(_guard) = self.reopening.lock() else {
            return;
        };
        if !Arc::ptr_eq(seen, &self.current()) {
            return; // Another request reopened it already.
        }
        let what = remote_in(why)
            .map(|r| r.message().to_string())
            .unwrap_or_else(|| chain(why));
        match Opened::open(&self.location) {
            Ok(new) => {
                say(format_args!(
                    "{}: {what}: reopened ({} entries, identity {} was {})",
                    self.location.display(),
                    new.archive.len(),
                    new.tag,
                    seen.tag
                ));
                if let Ok(mut g) = self.current.write() {
                    *g = Arc::new(new);
                }
            }
            Err(cmd::Fail(_, msg)) => say(format_args!(
                "{}: {what}; reopening it failed: {}",
                self.location.display(),
                msg.unwrap_or_default()
            )),
        }
    }
}

/// Whether a read failed because a URL archive changed on its server.
fn changed(e: &ReadError) -> bool {
    remote_in(e).is_some_and(|r| r.kind() == RemoteErrorKind::Changed)
}

/// An archive opened, and what its pages show of it.
pub struct Opened {
    /// The archive.
    pub archive: Archive<AnySource>,
    /// Its identity: the xxh3-64 of its prelude (16 hex digits). The prelude holds the
    /// header (file length, counts), the CRC of every section (and so, through the checksum
    /// chain, of every byte of the file), the metadata and the index root, and its own CRC:
    /// two archives with the same prelude hold the same bytes.
    pub tag: String,
    /// `quire info --json`'s object for it.
    pub info: Value,
    /// The metadata's `title`, else the served name's file name.
    pub title: String,
    /// The metadata's `description`.
    pub description: Option<String>,
    /// The key of its main page: the metadata's `main` when that entry exists.
    pub main: Option<String>,
}

impl Opened {
    /// Opens the archive at `location` and gathers its facts.
    fn open(location: &Path) -> Result<Opened, Fail> {
        // Like every command, the server reads a local archive through a memory map (see
        // `cmd::open_as` for what that asks of the file), with a larger block cache
        // ([`BLOCK_CACHE`]), which suits many requests better than a command's few blocks.
        let archive = cmd::open(location)?.with_block_cache(BLOCK_CACHE);
        let prelude_len = archive.header().prelude_len as usize;
        let prelude = archive
            .source()
            .read_at(0, prelude_len)
            .map_err(|e| Fail::new(4, format!("{}: {e}", location.display())))?;
        let tag = format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&prelude));
        drop(prelude);
        let info = Info::gather(location, &archive)?;
        let info = serde_json::to_value(&info).unwrap_or(Value::Null);
        let title = archive
            .metadata_value("title")
            .filter(|t| !t.trim().is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| {
                location
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
        let description = archive
            .metadata_value("description")
            .filter(|t| !t.trim().is_empty())
            .map(str::to_string);
        let main = archive
            .metadata_value("main")
            .filter(|k| matches!(archive.get(k), Ok(Some(_))))
            .map(str::to_string);
        Ok(Opened {
            archive,
            tag,
            info,
            title,
            description,
            main,
        })
    }
}

/// A random number, for the random article (std's per-instance random hash keys).
pub fn random() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}
