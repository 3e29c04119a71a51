//! The CLI's error: a library error, an I/O error, or input that is not acceptable.

use std::fmt;
use std::io;

use quire::{ReadError, WriteError};

/// Any error of the command-line tool and its ingest and unpack modules.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Reading an archive failed.
    Read(ReadError),
    /// Writing an archive failed.
    Write(WriteError),
    /// Reading input or writing output files failed.
    Io(io::Error),
    /// Input (JSONL, a key to unpack, ...) is not acceptable; the message says why and where.
    Input(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Read(e) => e.fmt(f),
            Error::Write(e) => e.fmt(f),
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Input(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Read(e) => Some(e),
            Error::Write(e) => Some(e),
            Error::Io(e) => Some(e),
            Error::Input(_) => None,
        }
    }
}

impl From<ReadError> for Error {
    fn from(e: ReadError) -> Self {
        Error::Read(e)
    }
}

impl From<WriteError> for Error {
    fn from(e: WriteError) -> Self {
        Error::Write(e)
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}
