//! `quire`: the command-line shell over the quire library. This file parses the arguments
//! and dispatches; each command is a module of [`cmd`], which gathers its facts and renders
//! them as text (or JSON).
//!
//! Exit codes: 0 success; 1 the archive is damaged: bytes that were read are wrong (for
//! `verify`: damage found; for `unpack`, `ls`, `get`: some entries could not be read, every
//! other one was written); 2 usage error; 3 `get` did not find some key; 4 input or output
//! error (files, the network, JSONL, refused keys, existing targets); 5 `suggest`: the archive
//! has no title index, `search`: it has no full-text index; 130 and 143 a pack
//! stopped by Ctrl-C or SIGTERM. A closed output pipe ends any command quietly with 0.

mod cmd;
mod serve;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use quire::source::RemoteOptions;

use cmd::{Fail, ARCHIVE_HELP, EXIT_CODES};

#[derive(Parser)]
#[command(
    name = "quire",
    version,
    about = "Compact, versioned, read-optimised archives of articles",
    after_help = format!("{ARCHIVE_HELP}\n\n{EXIT_CODES}")
)]
struct Cli {
    #[command(flatten)]
    remote: RemoteArgs,
    #[command(subcommand)]
    command: Command,
}

/// How URLs are read: global flags, each with its environment variable.
#[derive(clap::Args)]
struct RemoteArgs {
    /// For URLs: the longest one request may take, in seconds (default 30); connecting may
    /// take at most 10 of them.
    #[arg(
        long,
        global = true,
        value_name = "SECONDS",
        env = "QUIRE_TIMEOUT",
        hide_env_values = true,
        value_parser = parse_seconds
    )]
    timeout: Option<Duration>,
    /// For URLs: how many times a request is tried again after a timeout, a lost connection
    /// or a server error (default 3).
    #[arg(
        long,
        global = true,
        value_name = "N",
        env = "QUIRE_RETRIES",
        hide_env_values = true,
        value_parser = clap::value_parser!(u32).range(0..=100)
    )]
    retries: Option<u32>,
    /// For URLs: how many requests may be in flight at once (default 32).
    #[arg(
        long,
        global = true,
        value_name = "N",
        env = "QUIRE_PARALLEL",
        hide_env_values = true,
        value_parser = clap::value_parser!(u32).range(1..=1024)
    )]
    parallel: Option<u32>,
}

impl RemoteArgs {
    fn options(&self) -> RemoteOptions {
        let mut o = RemoteOptions::new();
        if let Some(t) = self.timeout {
            // Connecting is part of a request: it may take the whole timeout when that is
            // short, and at most the default 10 s when it is long.
            o = o
                .request_timeout(t)
                .connect_timeout(t.min(Duration::from_secs(10)));
        }
        if let Some(r) = self.retries {
            o = o.retries(r as usize);
        }
        if let Some(p) = self.parallel {
            o = o.parallelism(p as usize);
        }
        o
    }
}

/// A positive number of seconds, e.g. `30` or `0.5`.
fn parse_seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= 86_400.0) {
        return Err(format!("{s:?} is not in 0..=86400 seconds (and not 0)"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[derive(Subcommand)]
enum Command {
    /// Pack directories, JSONL files, single files (or `-` for JSONL on stdin) into an archive.
    #[command(after_help = format!("{}\n\n{EXIT_CODES}", cmd::pack::HELP))]
    Pack(cmd::pack::Args),
    /// Write every entry back out, as files under a directory or as JSONL.
    #[command(after_help = format!("{}\n\n{ARCHIVE_HELP}\n\n{EXIT_CODES}", cmd::unpack::HELP))]
    Unpack(cmd::unpack::Args),
    /// List keys, in key order (the order entries are numbered in).
    #[command(after_help = format!("{ARCHIVE_HELP}\n\n{EXIT_CODES}"))]
    Ls(cmd::ls::Args),
    /// Write the bodies of the given keys to stdout.
    #[command(after_help = format!("{ARCHIVE_HELP}\n\n{EXIT_CODES}"))]
    Get(cmd::get::Args),
    /// Title suggestions: entries whose title (folded: case, diacritics, width) starts with
    /// TEXT, or has a word that does; best first.
    #[command(after_help = format!("{}\n\n{ARCHIVE_HELP}\n\n{EXIT_CODES}", cmd::suggest::HELP))]
    Suggest(cmd::suggest::Args),
    /// Full-text search: entries that hold every word of QUERY (and its "quoted phrases"),
    /// ranked by BM25, with snippets; best first.
    #[command(after_help = format!("{}\n\n{ARCHIVE_HELP}\n\n{EXIT_CODES}", cmd::search::HELP))]
    Search(cmd::search::Args),
    /// Show the version, flags, sections, sizes and compression ratio of an archive.
    #[command(after_help = format!("{ARCHIVE_HELP}\n\n{EXIT_CODES}"))]
    Info(cmd::info::Args),
    /// Check every checksum; print the result (damaged blocks and their keys) on stdout.
    #[command(after_help = format!("{ARCHIVE_HELP}\n\n{EXIT_CODES}"))]
    Verify(cmd::verify::Args),
    /// Recover what can be read of a damaged copy (cut short, bytes appended, damaged pages
    /// or blocks) into a new, valid archive; list what was lost.
    #[command(after_help = format!("{}\n\n{ARCHIVE_HELP}\n\n{EXIT_CODES}", cmd::salvage::HELP))]
    Salvage(cmd::salvage::Args),
    /// Serve archives to web browsers: a library page, each archive's pages and entries,
    /// title suggestions as you type, full-text results, and a JSON API.
    #[command(after_help = format!("{}\n\n{ARCHIVE_HELP}\n\n{EXIT_CODES}", serve::HELP))]
    Serve(serve::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    cmd::set_remote_options(cli.remote.options());
    let result = match cli.command {
        Command::Pack(a) => cmd::pack::run(a),
        Command::Unpack(a) => cmd::unpack::run(a),
        Command::Ls(a) => cmd::ls::run(a),
        Command::Get(a) => cmd::get::run(a),
        Command::Suggest(a) => cmd::suggest::run(a),
        Command::Search(a) => cmd::search::run(a),
        Command::Info(a) => cmd::info::run(a),
        Command::Verify(a) => cmd::verify::run(a),
        Command::Salvage(a) => cmd::salvage::run(a),
        Command::Serve(a) => serve::run(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Fail(code, msg)) => {
            if let Some(msg) = msg {
                cmd::say(format_args!("{msg}"));
            }
            ExitCode::from(code)
        }
    }
}

/// What clap found wrong with the arguments, as one line on stderr and exit 2 (`--help` and
/// `--version` print as clap prints them, with exit 0).
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let line = match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => e.exit(),
        // `quire` alone: clap would print the whole help as the error.
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            "no command given: pack, unpack, ls, get, suggest, search, info, verify, salvage or serve (see `quire --help`)"
                .to_string()
        }
        _ => cmd::usage_line(&e.render().to_string()),
    };
    cmd::say(format_args!("{line}"));
    ExitCode::from(2)
}
