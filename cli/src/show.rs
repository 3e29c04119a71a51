//! Showing strings from an archive on a terminal: keys, titles, content types and metadata
//! are archive bytes, and may hold escape sequences, newlines or NUL.

use std::borrow::Cow;

/// Whether `c` must not reach a terminal as it is: control characters (C0, DEL, C1: ESC,
/// newline, NUL, ...) and the invisible bidirectional controls that reorder what is shown.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `s` as it is when it is harmless, else quoted and escaped the way Rust's `{:?}` does
/// (`"a\nb"`, `"\u{1b}[31m"`), so that one listed string is one line and cannot drive the
/// terminal. A string that starts with `"` is quoted too, so that a shown string is never
/// ambiguous: the key `"a\nb"` (quotes and a backslash) shows as `"\"a\\nb\""`, not as the
/// key with a newline.
pub fn shown(s: &str) -> Cow<'_, str> {
    if !s.starts_with('"') && !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if needs_escape(c) => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out.push('"');
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::shown;

    #[test]
    fn control_characters_are_escaped_and_plain_strings_kept() {
        assert_eq!(shown("news/2002/embassy"), "news/2002/embassy");
        assert_eq!(shown("ünï cødé \"q\" \\"), "ünï cødé \"q\" \\");
        assert_eq!(shown("a\nb"), "\"a\\nb\"");
        assert_eq!(shown("\u{1b}[31mred"), "\"\\u{1b}[31mred\"");
        assert_eq!(shown("nul\0\"x\\"), "\"nul\\u{0}\\\"x\\\\\"");
        assert_eq!(shown("evil\u{202E}txt.exe"), "\"evil\\u{202e}txt.exe\"");
        assert_eq!(shown("c1\u{9b}"), "\"c1\\u{9b}\"");
    }

    #[test]
    fn a_key_that_looks_escaped_is_not_shown_as_the_key_it_looks_like() {
        let newline = shown("a\nb");
        let literal = shown("\"a\\nb\"");
        assert_ne!(newline, literal);
        assert_eq!(literal, "\"\\\"a\\\\nb\\\"\"");
        assert_eq!(shown("a\\nb"), "a\\nb");
    }
}
