//! The server's own pages: one layout, a style sheet and a small script (suggestions as you
//! type), and the escaping every string from an archive goes through.

use std::fmt::Write as _;

/// The style sheet, at `/-/static/quire.css`.
pub const CSS: &str = include_str!("quire.css");
/// The script, at `/-/static/quire.js`: suggestions as you type, from the JSON API.
pub const JS: &str = include_str!("quire.js");
/// The icon, at `/favicon.ico` (browsers ask for it).
pub const ICON: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\">\
<rect width=\"16\" height=\"16\" rx=\"3\" fill=\"#1f5fbf\"/>\
<path d=\"M4 4h8v8H4z\" fill=\"none\" stroke=\"#fff\" stroke-width=\"1.6\"/></svg>\n";

/// `s` escaped for HTML text and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `s` percent-encoded for a URL path: unreserved characters and `/` stay.
pub fn enc_path(s: &str) -> String {
    enc(s, true)
}

/// `s` percent-encoded for a query value.
pub fn enc_query(s: &str) -> String {
    enc(s, false)
}

fn enc(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The URL of an entry of archive `name`.
pub fn entry_url(name: &str, key: &str) -> String {
    format!("/{name}/{}", enc_path(key))
}

/// The search form of archive `name`: suggestions as you type when it has a title index.
pub fn search_form(name: &str, title: &str, query: &str, suggest: bool) -> String {
    format!(
        "<form class=\"search\" action=\"/-/search/{name}\" method=\"get\" role=\"search\" \
         data-archive=\"{name}\" data-suggest=\"{}\">\
         <input type=\"search\" name=\"q\" value=\"{}\" placeholder=\"Search {}\" \
         autocomplete=\"off\" aria-label=\"Search {}\" required>\
         <button type=\"submit\">Search</button>\
         <ul class=\"suggestions\" role=\"listbox\" hidden></ul></form>",
        u8::from(suggest),
        esc(query),
        esc(title),
        esc(title),
    )
}

/// A whole page: `title` in the tab, `crumbs` (HTML) and an optional search form in the
/// top bar, `body` (HTML) in the middle.
pub fn page(title: &str, crumbs: &str, form: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><link rel=\"stylesheet\" href=\"/-/static/quire.css\">\
         <link rel=\"icon\" href=\"/favicon.ico\" type=\"image/svg+xml\">\
         <script src=\"/-/static/quire.js\" defer></script></head>\n<body>\
         <header class=\"bar\"><nav class=\"crumbs\"><a class=\"brand\" href=\"/\">quire</a>{crumbs}</nav>{form}</header>\n\
         <main>{body}</main>\n\
         <footer>Served by quire {}</footer></body></html>\n",
        esc(title),
        env!("CARGO_PKG_VERSION"),
    )
}

/// A crumb after the library's: ` / <a href>text</a>`.
pub fn crumb(href: &str, text: &str) -> String {
    format!(
        " <span class=\"sep\">/</span> <a href=\"{}\">{}</a>",
        esc(href),
        esc(text)
    )
}

/// A byte count for people: `1.4 MB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} bytes")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// A count with thousands separated: `12,345`.
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_encoding() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(enc_path("a b/ç?#%.html"), "a%20b/%C3%A7%3F%23%25.html");
        assert_eq!(enc_query("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(count(12), "12");
        assert_eq!(human_bytes(999), "999 bytes");
        assert_eq!(human_bytes(1_500_000), "1.5 MB");
    }
}
