//! `quire get`: the bodies of the given keys, one after another on stdout.

use std::io::{self, Write};
use std::path::PathBuf;

use super::{open, read_code, read_fail, read_line, say, Fail};

/// Bodies up to this size are read whole before they are written, so a damaged one prints
/// nothing; longer ones are streamed block by block.
const GET_BUFFERED: u64 = 1 << 20;

/// `quire get`'s arguments.
#[derive(clap::Args)]
pub struct Args {
    /// The archive: a path, an http(s):// URL or s3://BUCKET/KEY.
    archive: PathBuf,
    /// Keys to print.
    #[arg(required = true)]
    keys: Vec<String>,
    /// Each entry as its JSON Lines line instead of its bare body (spec §9, as
    /// unpack --jsonl writes it: key, title, date, content_type, meta, body or body_base64),
    /// one line per key found, so that several bodies can be told apart.
    #[arg(long)]
    json: bool,
}

/// What `get` did with the keys: how many were not found, and how many could not be read.
#[derive(Default)]
struct Got {
    missing: u64,
    damaged: u64,
}

impl Got {
    /// 1 when a body could not be read, else 3 when a key was not found, else 0.
    fn exit_code(&self) -> u8 {
        if self.damaged > 0 {
            1
        } else if self.missing > 0 {
            3
        } else {
            0
        }
    }
}

/// Runs `quire get`: each body in turn on stdout, in the order of the arguments; what
/// could not be found or read is said on stderr.
pub fn run(a: Args) -> Result<u8, Fail> {
    let (path, keys) = (a.archive.as_path(), &a.keys);
    let archive = open(path)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut got = Got::default();
    let mut buf = Vec::new();
    // Every key looked up at once: over a network their index pages come in one round per
    // level of the tree, and their blocks are asked for together while the first bodies are
    // written (in the order of the arguments).
    let found = archive.get_many(keys);
    for (k, looked_up) in keys.iter().zip(found) {
        let what = format!("key {:?}: ", k);
        let damage = |e: quire::ReadError, extra: &str| {
            say(format_args!("{}{extra}", read_line(path, &what, &e)));
        };
        // Reading the archive failed (a file, or a remote object that changed, went away or
        // timed out): stop at once, with the cause and its exit code. An error writing the
        // output (no path) is the output's: a closed pipe ends quietly.
        let e = match looked_up {
            Ok(Some(e)) => e,
            Ok(None) => {
                say(format_args!("{}: key not found: {k:?}", path.display()));
                got.missing += 1;
                continue;
            }
            Err(err) if read_code(&err) == 4 => return Err(read_fail(path, &what, err)),
            Err(err) => {
                damage(err, "");
                got.damaged += 1;
                continue;
            }
        };
        if a.json {
            // The library's §9 codec: the entry is read whole (and checked) before its line
            // is begun, then streamed.
            match quire::jsonl::write_entry_line(&e, &mut out) {
                Ok(()) => {}
                Err(quire::jsonl::WriteLineError::Io(io)) => return Err(io.into()),
                Err(quire::jsonl::WriteLineError::Unreadable(err)) if read_code(&err) != 4 => {
                    damage(err, "");
                    got.damaged += 1;
                }
                Err(quire::jsonl::WriteLineError::Unreadable(err))
                | Err(quire::jsonl::WriteLineError::Read(err)) => {
                    return Err(read_fail(path, &what, err))
                }
                Err(other) => return Err(Fail::new(4, super::chain(&other))),
            }
            continue;
        }
        if e.body_len() <= GET_BUFFERED {
            match e.read_body_into(&mut buf) {
                Ok(()) => out.write_all(&buf)?,
                Err(err) if read_code(&err) == 4 => return Err(read_fail(path, &what, err)),
                Err(err) => {
                    damage(err, "");
                    got.damaged += 1;
                }
            }
            continue;
        }
        let mut counted = Counted(&mut out, 0);
        match e.write_body_to(&mut counted) {
            Ok(()) => {}
            Err(quire::ReadError::Output(source)) => return Err(source.into()),
            Err(err) if read_code(&err) == 4 => {
                // What was written of this body cannot be taken back: say so.
                let written = counted.1;
                if written == 0 {
                    return Err(read_fail(path, &what, err));
                }
                let what = format!(
                    "{what}output cut short after {written} bytes (of {}): ",
                    e.body_len()
                );
                return Err(read_fail(path, &what, err));
            }
            Err(err) => {
                let written = counted.1;
                damage(
                    err,
                    &format!(
                        " (its output is cut short: {written} of {} bytes written)",
                        e.body_len()
                    ),
                );
                got.damaged += 1;
            }
        }
    }
    out.flush()?;
    Ok(got.exit_code())
}

/// Counts the bytes written through it.
struct Counted<'a>(&'a mut dyn Write, u64);

impl Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.0.write(buf)?;
        self.1 += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}
