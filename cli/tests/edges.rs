//! The rough edges of issue 13 that live in the command line, one test (or two) per item.

mod common;

use common::*;

/// Item 5: keys (and titles) with ESC, newline or NUL are escaped when listed.
#[test]
fn ls_escapes_control_characters_in_keys() {
    let t = tempfile::tempdir().unwrap();
    let arc = t.path().join("a.quire");
    pack_jsonl(
        &arc,
        "{\"key\": \"esc\\u001b[31mred\", \"title\": \"t\\u001b]0;x\\u0007\", \"body\": \"1\"}\n\
         {\"key\": \"line\\nbreak\", \"body\": \"2\"}\n\
         {\"key\": \"nul\\u0000x\", \"body\": \"3\"}\n\
         {\"key\": \"plain/ünï\", \"body\": \"4\"}\n",
    );
    for args in [vec!["ls"], vec!["ls", "--long"], vec!["ls", "--prefix", ""]] {
        let mut args = args.clone();
        args.push(s(&arc));
        let o = run(&args);
        let listing = ok(&o);
        assert_eq!(listing.lines().count(), 4, "{args:?}: {listing}");
        assert!(
            !o.stdout.iter().any(|&b| b == 0x1b || b == 0 || b == 7),
            "raw control bytes: {listing:?}"
        );
        assert!(listing.contains("\"esc\\u{1b}[31mred\""), "{listing}");
        assert!(listing.contains("\"line\\nbreak\""), "{listing}");
        assert!(listing.contains("\"nul\\u{0}x\""), "{listing}");
        assert!(listing.contains("plain/ünï"), "{listing}");
    }
}
