//! Streams one entry's body through `std::io::Read` into standard output (or counts it):
//! memory stays at about one block, whatever the body's length.
//!
//! ```sh
//! cargo run --release --example stream_body -- ARCHIVE KEY [--count]
//! ```

use std::io::{self, Read, Write};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(path), Some(key)) = (args.first(), args.get(1)) else {
        eprintln!("usage: stream_body ARCHIVE KEY [--count]");
        std::process::exit(2);
    };
    let count_only = args.get(2).is_some_and(|a| a == "--count");
    // SAFETY: the example reads an archive that nothing modifies while it runs.
    let archive = unsafe { quire::Archive::open(path)? };
    let entry = archive.get(key)?.ok_or("key not found")?;
    let mut body = entry.reader();
    let mut buf = vec![0u8; 64 << 10];
    let (mut total, mut out) = (0u64, io::stdout().lock());
    loop {
        let n = body.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if !count_only {
            out.write_all(&buf[..n])?;
        }
    }
    if count_only {
        println!("{total}");
    }
    Ok(())
}
