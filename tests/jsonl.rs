//! The JSONL codec, `quire::jsonl` (spec/FORMAT.md §9): round trips, every value type §9
//! names, errors with their line and field, §9's decided open points, and the JSONL test
//! vectors in `spec/vectors/jsonl/` (made here; regenerate with
//! `QUIRE_BLESS=1 cargo test -p quire --features jsonl --test integration jsonl::`).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use quire::jsonl::{
    self, Error, Line, LineReader, ParseError, Record, WriteLineError, BINARY_CONTENT_TYPE,
    JSON_FIELDS,
};
use quire::{Archive, ArchiveWriter, Date, DictionaryMode, NewEntry, WriterOptions};

fn entry(line: &str) -> Record {
    match jsonl::parse_line(line) {
        Ok(Line::Entry(r)) => r,
        other => panic!("{line}: {other:?}"),
    }
}

fn parse_err(line: &str) -> ParseError {
    jsonl::parse_line(line).expect_err(line)
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// Packs entries in memory (one thread, fixed `created`), returns the archive's bytes.
fn pack(opts: WriterOptions, entries: &[NewEntry<'_>]) -> Vec<u8> {
    let mut w = ArchiveWriter::in_memory(opts).unwrap();
    for e in entries {
        w.add(e).unwrap();
    }
    w.finish_into_inner().unwrap().0.into_inner()
}

fn small_opts() -> WriterOptions {
    // No title index (§14): the vectors made with these options predate it.
    WriterOptions::new()
        .index(quire::IndexKind::None)
        .level(3)
        .dedup(false)
        .block_size(256)
        .dictionary(DictionaryMode::Off)
        .threads(1)
        .created(1_000_000_000)
}

/// Packs records and gives each entry's line back, from `entry_line` and, checked equal,
/// from `write_entry_line`.
fn lines_of(records: &[Record]) -> Vec<String> {
    let entries: Vec<NewEntry<'_>> = records.iter().map(Record::as_entry).collect();
    let bytes = pack(small_opts(), &entries);
    unpack(&bytes)
}

fn unpack(bytes: &[u8]) -> Vec<String> {
    let archive = Archive::new(bytes).unwrap();
    let mut out = Vec::new();
    for e in archive.prefix("") {
        let e = e.unwrap();
        let whole = jsonl::entry_line(&e).unwrap();
        let mut streamed = Vec::new();
        jsonl::write_entry_line(&e, &mut streamed).unwrap();
        assert_eq!(String::from_utf8(streamed).unwrap(), format!("{whole}\n"));
        out.push(whole);
    }
    out
}

/// One record of every value type §9 names, as a user would write it, and the line
/// `unpack --jsonl` gives for it.
const EVERY_TYPE_IN: &str = r#"{"id": 7, "title": "", "date": "2002-03-14T10:00:00+01:00", "content_type": "text/html; charset=utf-8", "s": "plain \"quoted\" / é \u0001", "i": -12, "u": 18446744073709551615, "f": 1.50, "e": 1e300, "t": true, "n": null, "a": [1, "two", [3.0], {}], "o": {"z": 1, "a": {"b": false}}, "meta": {"": "empty name", "lang": "en"}, "body": "<p>x</p>"}"#;
const EVERY_TYPE_OUT: &str = r#"{"key":"7","title":"","date":"2002-03-14T10:00:00+01:00","content_type":"text/html; charset=utf-8","meta":{"s":"plain \"quoted\" / é \u0001","i":-12,"u":18446744073709551615,"f":1.5,"e":1e+300,"t":true,"n":null,"a":[1,"two",[3.0],{}],"o":{"z":1,"a":{"b":false}},"":"empty name","lang":"en"},"body":"<p>x</p>"}"#;

#[test]
fn every_value_type_round_trips() {
    let r = entry(EVERY_TYPE_IN);
    assert_eq!(r.key, "7");
    assert_eq!(r.title.as_deref(), Some(""));
    assert_eq!(r.date, Date::new(2002, 3, 14));
    assert_eq!(r.content_type.as_deref(), Some("text/html; charset=utf-8"));
    assert_eq!(
        r.metadata,
        pairs(&[
            ("date", "2002-03-14T10:00:00+01:00"),
            ("s", "plain \"quoted\" / é \u{1}"),
            ("i", "-12"),
            ("u", "18446744073709551615"),
            ("f", "1.5"),
            ("e", "1e+300"),
            ("t", "true"),
            ("n", "null"),
            ("a", r#"[1,"two",[3.0],{}]"#),
            ("o", r#"{"z":1,"a":{"b":false}}"#),
            ("", "empty name"),
            ("lang", "en"),
            (JSON_FIELDS, r#"["i","u","f","e","t","n","a","o"]"#),
        ])
    );
    assert_eq!(r.body, b"<p>x</p>");
    assert_eq!(r.to_line(), EVERY_TYPE_OUT);
    assert_eq!(lines_of(std::slice::from_ref(&r)), [EVERY_TYPE_OUT]);
    // The written line reads back to the same record: unpack then pack is the identity.
    assert_eq!(entry(EVERY_TYPE_OUT), r);
}

#[test]
fn records_round_trip_through_an_archive() {
    let inputs = [
        r#"{"key":"a"}"#,
        r#"{"key":"b","title":"T","date":"2020-01-02","body":"text"}"#,
        r#"{"key":"c","body_base64":"AAH/"}"#,
        r#"{"key":"d","content_type":"text/plain; charset=utf-8","body_base64":"AAH/"}"#,
        r#"{"key":"e","content_type":"image/png","body":"not really"}"#,
        r#"{"key":"f","meta":{"x":"1","y":[]},"z":{"k":"v"},"body":"Grüße\n\t€"}"#,
        r#"{"key":"g","date":"2002-03-14 23:59:60.123Z","body":""}"#,
    ];
    let records: Vec<Record> = inputs.iter().map(|l| entry(l)).collect();
    let lines = lines_of(&records);
    for (line, r) in lines.iter().zip(&records) {
        assert_eq!(&entry(line), r, "{line}");
        assert_eq!(&r.to_line(), line);
    }
    assert_eq!(lines[0], r#"{"key":"a","body":""}"#);
    assert_eq!(
        lines[2],
        r#"{"key":"c","content_type":"application/octet-stream","body_base64":"AAH/"}"#
    );
    // A binary body with the default type says so, or pack would give it another.
    assert_eq!(
        lines[3],
        r#"{"key":"d","content_type":"text/plain; charset=utf-8","body_base64":"AAH/"}"#
    );
}

#[test]
fn body_base64_defaults_to_octet_stream() {
    let r = entry(r#"{"key":"b","body_base64":"AAH/"}"#);
    assert_eq!(r.body, [0, 1, 255]);
    assert_eq!(r.content_type.as_deref(), Some(BINARY_CONTENT_TYPE));
    let r = entry(r#"{"key":"b","body_base64":"AAH/","content_type":"image/png"}"#);
    assert_eq!(r.content_type.as_deref(), Some("image/png"));
    // A text body keeps the default: no content type given.
    assert_eq!(entry(r#"{"key":"t","body":"x"}"#).content_type, None);
}

#[test]
fn metadata_is_an_ordinary_field_not_an_alias_of_meta() {
    let r = entry(r#"{"key":"k","metadata":{"a":"b"},"meta":{"c":"d"}}"#);
    assert_eq!(
        r.metadata,
        pairs(&[
            ("metadata", r#"{"a":"b"}"#),
            ("c", "d"),
            (JSON_FIELDS, r#"["metadata"]"#)
        ])
    );
}

/// §9: numbers in non-string metadata are parsed as serde_json parses them and written in
/// the shortest form that reads back to the same value, in this layout.
#[test]
fn numbers_are_reserialised_as_section_9_says() {
    let cases = [
        ("0", "0"),
        ("-0", "-0.0"),
        ("-0.0", "-0.0"),
        ("0e0", "0.0"),
        ("1.0", "1.0"),
        ("1.50", "1.5"),
        ("1e2", "100.0"),
        ("1E+2", "100.0"),
        ("12345678.9e-3", "12345.6789"),
        ("0.1", "0.1"),
        ("0.00001", "0.00001"),
        ("0.000001", "1e-6"),
        ("1e-7", "1e-7"),
        ("123e-10", "1.23e-8"),
        ("1e15", "1000000000000000.0"),
        ("1e16", "1e+16"),
        ("1.5e300", "1.5e+300"),
        ("5e-324", "5e-324"),
        ("1.7976931348623157e308", "1.7976931348623157e+308"),
        ("0.30000000000000004", "0.30000000000000004"),
        ("9007199254740993", "9007199254740993"),
        ("9007199254740993.0", "9007199254740992.0"),
        ("18446744073709551615", "18446744073709551615"),
        ("18446744073709551616", "1.8446744073709552e+19"),
        ("-9223372036854775808", "-9223372036854775808"),
        ("-9223372036854775809", "-9.223372036854776e+18"),
        ("123456789012345678901234567890", "1.2345678901234568e+29"),
        // Correctly rounded (serde_json's float_roundtrip): the nearest binary64.
        ("2.2250738585072011e-308", "2.225073858507201e-308"),
        ("[1.10,{\"x\":-2E-3}]", "[1.1,{\"x\":-0.002}]"),
    ];
    for (given, stored) in cases {
        let r = entry(&format!(r#"{{"key":"k","n":{given}}}"#));
        assert_eq!(r.metadata[0], ("n".into(), stored.into()), "{given}");
        // Written back as the same JSON, and read back to the same text.
        let line = lines_of(std::slice::from_ref(&r)).remove(0);
        assert_eq!(
            line,
            format!(r#"{{"key":"k","meta":{{"n":{stored}}},"body":""}}"#)
        );
        assert_eq!(entry(&line), r);
    }
    // Beyond binary64: not a number serde_json reads.
    let e = parse_err(r#"{"key":"k","n":1e400}"#);
    assert!(
        matches!(&e, ParseError::Json { message, column: 20 } if message == "number out of range"),
        "{e:?}"
    );
}

#[test]
fn rfc3339_date_times() {
    for ok in [
        "2002-03-14T10:00:00Z",
        "2002-03-14t10:00:00z",
        "2002-03-14 23:59:60.123+01:00",
        "2002-03-14T00:00:00-23:59",
    ] {
        assert_eq!(jsonl::rfc3339_date_part(ok), Date::new(2002, 3, 14), "{ok}");
        let r = entry(&format!(r#"{{"key":"k","date":"{ok}"}}"#));
        assert_eq!(r.date, Date::new(2002, 3, 14));
        assert_eq!(r.metadata, pairs(&[("date", ok)]));
        let line = lines_of(std::slice::from_ref(&r)).remove(0);
        assert_eq!(line, format!(r#"{{"key":"k","date":"{ok}","body":""}}"#));
    }
    for bad in [
        "2002-03-14T10:00:00",
        "2002-03-14T24:00:00Z",
        "2002-03-14T10:00Z",
        "2002-03-14T10:00:00.Z",
        "2002-03-14T10:00:00+0100",
        "2002-03-14T10:00:00ZZ",
        "2002-03-14T10:00:00+01:00:00",
        "2002-02-30T10:00:00Z",
        "2002-3-14",
    ] {
        assert_eq!(jsonl::rfc3339_date_part(bad), None, "{bad}");
        let e = parse_err(&format!(r#"{{"key":"k","date":"{bad}"}}"#));
        assert_eq!(
            e,
            ParseError::Date {
                key: "k".into(),
                value: bad.into()
            }
        );
    }
    // A plain date is the entry's date, kept nowhere else; an empty one is no date.
    let r = entry(r#"{"key":"k","date":"2002-03-14"}"#);
    assert_eq!((r.date, r.metadata.len()), (Date::new(2002, 3, 14), 0));
    assert_eq!(entry(r#"{"key":"k","date":""}"#).date, None);
    assert_eq!(entry(r#"{"key":"k","date":null}"#).date, None);
}

/// §9: only the first metadata pair named `date` can become `"date"`, and only when it is an
/// RFC 3339 date-time on the entry's date.
#[test]
fn date_time_merging_takes_the_first_date_pair_only() {
    let d = Date::new(2002, 3, 14).unwrap();
    type Case<'a> = (Option<Date>, &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case<'_>; 6] = [
        (
            Some(d),
            &[("date", "2002-03-14T10:00:00Z")],
            r#""date":"2002-03-14T10:00:00Z","body""#,
        ),
        (
            Some(d),
            &[("date", "2002-03-15T10:00:00Z")],
            r#""date":"2002-03-14","meta":{"date":"2002-03-15T10:00:00Z"},"body""#,
        ),
        (
            Some(d),
            &[("date", "2002-03-14Tgarbage")],
            r#""date":"2002-03-14","meta":{"date":"2002-03-14Tgarbage"},"body""#,
        ),
        (
            Some(d),
            &[("date", "x"), ("date", "2002-03-14T10:00:00Z")],
            r#""date":"2002-03-14","meta":{"date":"x","date":"2002-03-14T10:00:00Z"},"body""#,
        ),
        (
            None,
            &[("date", "2002-03-14T10:00:00Z")],
            r#""meta":{"date":"2002-03-14T10:00:00Z"},"body""#,
        ),
        (
            Some(d),
            &[("date", "2002-03-14")],
            r#""date":"2002-03-14","meta":{"date":"2002-03-14"},"body""#,
        ),
    ];
    for (date, meta, want) in cases {
        let mut e = NewEntry::new("k", b"");
        if let Some(d) = date {
            e = e.date(d);
        }
        for (n, v) in meta {
            e = e.meta(n, v);
        }
        let line = unpack(&pack(small_opts(), &[e])).remove(0);
        assert_eq!(line, format!(r#"{{"key":"k",{want}:""}}"#));
    }
}

/// §9: a `quire:json` value lists the strings of a JSON array; anything else lists none;
/// a name of no pair is ignored; the pair itself is never written; a listed value that is
/// not JSON is written as a string.
#[test]
fn quire_json_values_that_are_not_arrays_or_name_missing_pairs() {
    let cases: [(&[(&str, &str)], &str); 7] = [
        (&[("n", "5"), ("quire:json", "{\"n\":1}")], r#"{"n":"5"}"#),
        (&[("n", "5"), ("quire:json", "not json")], r#"{"n":"5"}"#),
        (
            &[("n", "5"), ("quire:json", "[\"gone\",\"n\"]")],
            r#"{"n":5}"#,
        ),
        (
            &[("n", "5"), ("quire:json", "[5,\"n\",null]")],
            r#"{"n":5}"#,
        ),
        (
            &[("n", "5"), ("quire:json", "[]"), ("quire:json", "[\"n\"]")],
            r#"{"n":"5"}"#,
        ),
        (
            &[("n", "{oops"), ("quire:json", "[\"n\"]")],
            r#"{"n":"{oops"}"#,
        ),
        (
            &[
                ("n", " [1, 2.50 ,{\"b\":1,\"b\":2}] "),
                ("quire:json", "[\"n\"]"),
            ],
            r#"{"n":[1,2.5,{"b":2}]}"#,
        ),
    ];
    for (meta, want) in cases {
        let mut e = NewEntry::new("k", b"");
        for (n, v) in meta {
            e = e.meta(n, v);
        }
        let line = unpack(&pack(small_opts(), &[e])).remove(0);
        assert_eq!(
            line,
            format!(r#"{{"key":"k","meta":{want},"body":""}}"#),
            "{meta:?}"
        );
    }
    // Only an only-quire:json lead writes no "meta" at all.
    let e = NewEntry::new("k", b"").meta(JSON_FIELDS, "[]");
    assert_eq!(
        unpack(&pack(small_opts(), &[e])),
        [r#"{"key":"k","body":""}"#]
    );
}

/// §9: a record gives each metadata name once; an entry with a repeated name (made by
/// other means) is written with the name repeated, in order.
#[test]
fn repeated_names() {
    let repeated = |key: &str, name: &str| ParseError::RepeatedName {
        key: key.into(),
        name: name.into(),
    };
    assert_eq!(
        parse_err(r#"{"key":"k","x":"1","meta":{"x":"2"}}"#),
        repeated("k", "x")
    );
    assert_eq!(
        parse_err(r#"{"key":"k","meta":{"x":"1","x":2}}"#),
        repeated("k", "x")
    );
    assert_eq!(parse_err(r#"{"key":"k","x":1,"x":1}"#), repeated("k", "x"));
    assert_eq!(
        parse_err(r#"{"key":"k","date":"2002-03-14T10:00:00Z","meta":{"date":"x"}}"#),
        repeated("k", "date")
    );
    assert_eq!(
        parse_err(r#"{"key":"k","title":"a","title":"b"}"#),
        ParseError::RepeatedField {
            field: "title".into()
        }
    );
    assert_eq!(
        parse_err(r#"{"key":"k","meta":{},"meta":{}}"#),
        ParseError::RepeatedField {
            field: "meta".into()
        }
    );
    // A plain date is no metadata: a `date` in meta beside it is fine.
    let r = entry(r#"{"key":"k","date":"2002-03-14","meta":{"date":"x"}}"#);
    assert_eq!(r.metadata, pairs(&[("date", "x")]));
    // Inside a value, a repeated member keeps its last value at its first place.
    let r = entry(r#"{"key":"k","o":{"b":1,"a":2,"b":3}}"#);
    assert_eq!(r.metadata[0].1, r#"{"b":3,"a":2}"#);
    // Written repeated.
    let e = NewEntry::new("k", b"").meta("x", "1").meta("x", "2");
    assert_eq!(
        unpack(&pack(small_opts(), &[e])),
        [r#"{"key":"k","meta":{"x":"1","x":"2"},"body":""}"#]
    );
}

#[test]
fn quire_json_is_reserved() {
    for line in [
        r#"{"key":"k","quire:json":"[]"}"#,
        r#"{"key":"k","meta":{"quire:json":["a"]}}"#,
    ] {
        assert_eq!(
            parse_err(line),
            ParseError::ReservedName {
                key: "k".into(),
                name: JSON_FIELDS.into()
            }
        );
    }
}

#[test]
fn empty_title_and_empty_metadata_name_are_kept() {
    // The member "" and the meta member "" are one name given twice.
    let e = parse_err(r#"{"key":"k","":"v","meta":{"":""}}"#);
    assert_eq!(
        e,
        ParseError::RepeatedName {
            key: "k".into(),
            name: String::new()
        }
    );
    let r = entry(r#"{"key":"k","title":"","":"v"}"#);
    assert_eq!(r.title.as_deref(), Some(""));
    assert_eq!(r.metadata, pairs(&[("", "v")]));
    let line = lines_of(std::slice::from_ref(&r)).remove(0);
    assert_eq!(line, r#"{"key":"k","title":"","meta":{"":"v"},"body":""}"#);
    // No title is not an empty title.
    let r = entry(r#"{"key":"k","title":null}"#);
    assert_eq!(r.title, None);
}

#[test]
fn keys() {
    assert_eq!(entry(r#"{"id":7}"#).key, "7");
    assert_eq!(entry(r#"{"id":-7.50}"#).key, "-7.5");
    assert_eq!(
        entry(r#"{"key":"k","id":"i"}"#).metadata,
        pairs(&[("id", "i")])
    );
    assert_eq!(parse_err(r#"{"key":true}"#), ParseError::KeyType);
    assert_eq!(parse_err(r#"{"key":null}"#), ParseError::KeyType);
    assert_eq!(parse_err(r#"{"body":"x"}"#), ParseError::NoKey);
}

#[test]
fn archive_lines() {
    let meta = pairs(&[("title", "T \"q\""), ("created", "2001-09-09T01:46:40Z")]);
    let line = jsonl::archive_line(&meta);
    assert_eq!(
        line,
        r#"{"archive":{"title":"T \"q\"","created":"2001-09-09T01:46:40Z"}}"#
    );
    assert_eq!(jsonl::parse_line(&line).unwrap(), Line::Archive(meta));
    assert_eq!(
        jsonl::parse_line(r#"{"archive":{}}"#).unwrap(),
        Line::Archive(vec![])
    );
    assert_eq!(
        parse_err(r#"{"archive":{"n":1}}"#),
        ParseError::ArchiveValue {
            name: "n".into(),
            value: "1".into()
        }
    );
    // With anything else beside it, it is a record without a key.
    assert_eq!(parse_err(r#"{"archive":{},"body":"x"}"#), ParseError::NoKey);
}

#[test]
fn errors_name_the_line_and_the_field() {
    let input = "\n{\"key\":\"a\"}\n  \n{\"key\":\"b\",\"title\":5}\n\u{feff}{}\nnot json\n[1]\n\
                 {\"key\":\"c\",\"meta\":[]}\n{\"key\":\"d\",\"body\":\"x\",\"body_base64\":\"eA==\"}\n\
                 {\"key\":\"e\",\"body_base64\":\"eA=\"}\n{\"key\":\"f\",\"date\":\"2002-02-30\"}\n";
    let got: Vec<Result<Line, Error>> = LineReader::new(input.as_bytes()).collect();
    let errors: Vec<String> = got
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
        .collect();
    assert_eq!(
        errors,
        [
            "line 4: \"title\" of \"b\" must be a string",
            "line 5: the line starts with a UTF-8 byte order mark (BOM, U+FEFF), which JSONL \
             does not allow: save the file without it",
            "line 6: invalid JSON: expected ident (column 2)",
            "line 7: each line must be a JSON object",
            "line 8: \"meta\" of \"c\" must be an object",
            "line 9: \"d\" has both \"body\" and \"body_base64\"",
            "line 10: body_base64 of \"e\" is not base64: Invalid padding",
            "line 11: date \"2002-02-30\" of \"f\" is not a valid YYYY-MM-DD date or RFC 3339 \
             date-time",
        ]
    );
    let first = got.iter().find_map(|r| r.as_ref().err()).unwrap();
    assert_eq!(first.line(), 4);
    assert_eq!(
        first.parse_error(),
        Some(&ParseError::NotAString {
            key: "b".into(),
            field: "title"
        })
    );
    assert_eq!(got.iter().filter(|r| r.is_ok()).count(), 1);
    // Input that is not UTF-8 is an I/O error on its line.
    let mut r = LineReader::new(&b"{\"key\":\"a\"}\n{\"key\":\"\xff\"}\n"[..]);
    assert!(r.next().unwrap().is_ok());
    let e = r.next().unwrap().unwrap_err();
    assert!(matches!(e, Error::Io { line: 2, .. }), "{e:?}");
    assert_eq!(r.line_number(), 1);
}

#[test]
fn line_reader_counts_bytes() {
    let input = "{\"key\":\"a\"}\r\n\n{\"key\":\"b\"}";
    let mut r = LineReader::new(input.as_bytes());
    assert_eq!(r.by_ref().count(), 2);
    assert_eq!((r.line_number(), r.bytes_read()), (3, input.len() as u64));
}

/// A long body over many blocks, text and binary, streamed: the same bytes as whole.
#[test]
fn streamed_lines_equal_whole_lines() {
    let text: String = (0..5000).map(|i| format!("é{i}\u{1}\"€😀 ")).collect();
    let mut binary = text.clone().into_bytes();
    binary[40_000] = 0xFF;
    let opts = small_opts().block_size(4096);
    let bytes = pack(
        opts,
        &[
            NewEntry::new("bin", &binary),
            NewEntry::new("text", text.as_bytes())
                .meta("n", "1")
                .meta(JSON_FIELDS, "[\"n\"]"),
        ],
    );
    let lines = unpack(&bytes);
    assert!(lines[0]
        .starts_with(r#"{"key":"bin","content_type":"text/plain; charset=utf-8","body_base64":""#));
    assert_eq!(
        entry(&lines[1]).body,
        text.as_bytes(),
        "the streamed text reads back"
    );
    assert!(lines[1].starts_with(r#"{"key":"text","meta":{"n":1},"body":"é0\u0001\"€😀 é1"#));
}

/// An output that fails is an I/O error, told apart from a damaged archive.
#[test]
fn a_failing_output_is_an_io_error() {
    struct Fails(usize);
    impl Write for Fails {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            if self.0 < b.len() {
                return Err(io::Error::other("disk full"));
            }
            self.0 -= b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let body = "x".repeat(100_000);
    let bytes = pack(
        small_opts().block_size(4096),
        &[NewEntry::new("k", body.as_bytes())],
    );
    let archive = Archive::new(&bytes[..]).unwrap();
    let e = archive.get("k").unwrap().unwrap();
    for room in [0, 5, 30, 50_000] {
        match jsonl::write_entry_line(&e, &mut Fails(room)) {
            Err(WriteLineError::Io(io)) => assert_eq!(io.to_string(), "disk full"),
            other => panic!("{room}: {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The JSONL vectors: spec/vectors/jsonl/NAME.quire reads back to NAME.jsonl (§9), and
// today's writer and codec make both byte for byte.

fn vector_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("spec/vectors/jsonl")
}

fn vector_opts() -> WriterOptions {
    small_opts()
        .metadata("title", "quire test vector")
        .metadata("source", "spec/vectors")
        .metadata("tool", "quire test vectors")
}

/// The input of `values.quire`: one record per value type §9 names, as JSONL input.
const VALUES_INPUT: &str = r#"{"archive":{"title":"ignored: the vector's options give the metadata"}}
{"key":"strings","title":"Strings","s":"plain","e":"","esc":"\"\\/\b\f\n\r\t\u0000\u001f\u007f\u2028é😀"}
{"key":"integers","i":0,"neg":-12,"big":18446744073709551615,"min":-9223372036854775808,"beyond":18446744073709551616}
{"key":"floats","f":1.50,"g":0.1,"small":0.00001,"tiny":1e-7,"large":1e15,"huge":1e16,"exp":1.5E300,"negzero":-0.0,"whole":100e-2}
{"key":"booleans and null","t":true,"f":false,"n":null}
{"key":"arrays","empty":[],"mixed":[1,"two",3.0,true,null,[[]],{"k":"v"}]}
{"key":"objects","empty":{},"nested":{"z":1,"a":{"b":[false]},"m":"x"}}
{"key":"meta object","title":"","meta":{"lang":"en","":"empty name","n":2},"after":"x","body":"body"}
{"id":42,"body_base64":"AAECAwT/","content_type":null}
"#;

/// The input of `dates.quire`: RFC 3339 date-times as `"date"`.
const DATES_INPUT: &str = r#"{"key":"d/plain","date":"2002-03-14","body":"a plain date"}
{"key":"d/utc","date":"2002-03-14T10:00:00Z","body":"UTC"}
{"key":"d/offset","date":"2002-03-14T23:30:00.25+05:30","body":"an offset and a fraction"}
{"key":"d/lower","date":"2002-03-14t10:00:00z","body":"lower-case t and z"}
{"key":"d/space","date":"2002-03-14 10:00:00-08:00","body":"a space for the T"}
{"key":"d/leap","date":"2016-12-31T23:59:60Z","meta":{"lang":"en"},"body":"a leap second"}
{"key":"d/meta","meta":{"date":"2002-03-14T10:00:00Z"},"body":"no date: the date-time stays metadata"}
{"key":"d/both","date":"2002-03-14","meta":{"date":"2002-03-15T10:00:00Z"},"body":"another day: stays in meta"}
{"key":"d/same","date":"2002-03-14","meta":{"date":"2002-03-14T08:00:00Z"},"body":"merged: comes back as the date"}
"#;

fn records(input: &str) -> Vec<Record> {
    LineReader::new(input.as_bytes())
        .filter_map(|l| match l.unwrap() {
            Line::Entry(r) => Some(r),
            Line::Archive(_) => None,
        })
        .collect()
}

/// `edges.quire`: entries the library API can make that JSONL input cannot, for §9's rules
/// on writing them.
fn edges() -> Vec<u8> {
    let d = Date::new(2002, 3, 14).unwrap();
    let e = |k| NewEntry::new(k, b"");
    pack(
        vector_opts(),
        &[
            e("e/not-an-array")
                .meta("n", "5")
                .meta(JSON_FIELDS, "{\"n\":1}"),
            e("e/not-json").meta("n", "5").meta(JSON_FIELDS, "n"),
            e("e/missing-name")
                .meta("n", "5")
                .meta(JSON_FIELDS, "[\"gone\",\"n\"]"),
            e("e/mixed-array")
                .meta("n", "5")
                .meta(JSON_FIELDS, "[5,\"n\",null]"),
            e("e/two-markers")
                .meta("n", "5")
                .meta("m", "6")
                .meta(JSON_FIELDS, "[\"m\"]")
                .meta(JSON_FIELDS, "[\"n\"]"),
            e("e/listed-not-json")
                .meta("n", "{oops")
                .meta(JSON_FIELDS, "[\"n\"]"),
            e("e/listed-not-compact")
                .meta(
                    "n",
                    " [1, 2.50 ,{\"b\":1,\"a\":0,\"b\":2}, 1E2, 123456789012345678901234567890] ",
                )
                .meta(JSON_FIELDS, "[\"n\"]"),
            e("e/repeated").meta("x", "1").meta("y", "2").meta("x", "3"),
            e("e/dates")
                .date(d)
                .meta("date", "x")
                .meta("date", "2002-03-14T10:00:00Z"),
            e("e/date-garbage")
                .date(d)
                .meta("date", "2002-03-14Tgarbage"),
            e("e/empty").title("").meta("", ""),
        ],
    )
}

fn build_vector(name: &str) -> Vec<u8> {
    match name {
        "edges" => edges(),
        _ => {
            let recs = records(if name == "values" {
                VALUES_INPUT
            } else {
                DATES_INPUT
            });
            let entries: Vec<NewEntry<'_>> = recs.iter().map(Record::as_entry).collect();
            pack(vector_opts(), &entries)
        }
    }
}

/// The §9 form of an archive: the archive line, then each entry's line.
fn jsonl_of(bytes: &[u8]) -> String {
    let archive = Archive::new(bytes).unwrap();
    let meta: Vec<(String, String)> = archive.metadata().to_vec();
    let mut out = format!("{}\n", jsonl::archive_line(&meta)).into_bytes();
    for e in archive.prefix("") {
        jsonl::write_entry_line(&e.unwrap(), &mut out).unwrap();
    }
    String::from_utf8(out).unwrap()
}

const VECTORS: [&str; 3] = ["values", "dates", "edges"];

#[test]
fn jsonl_vectors_read_back_and_are_reproduced() {
    let bless = std::env::var_os("QUIRE_BLESS").is_some();
    for name in VECTORS {
        let fresh = build_vector(name);
        let (q, j) = (
            vector_dir().join(format!("{name}.quire")),
            vector_dir().join(format!("{name}.jsonl")),
        );
        if bless {
            fs::create_dir_all(vector_dir()).unwrap();
            fs::write(&q, &fresh).unwrap();
            fs::write(&j, jsonl_of(&fresh)).unwrap();
        }
        let stored = fs::read(&q).unwrap_or_else(|e| panic!("{}: {e}", q.display()));
        let want = fs::read_to_string(&j).unwrap();
        assert_eq!(
            jsonl_of(&stored),
            want,
            "{name}.quire does not read back to {name}.jsonl"
        );
        assert!(
            Archive::new(&stored[..]).unwrap().verify().is_ok(),
            "{name}"
        );
        assert!(
            stored == fresh,
            "{name}.quire is no longer made byte for byte: regenerate with QUIRE_BLESS=1 if \
             that is intended"
        );
        // What JSONL input can make comes back from its own lines: unpack then pack gives
        // the same archive.
        if name != "edges" {
            let again: Vec<Record> = records(&want);
            let entries: Vec<NewEntry<'_>> = again.iter().map(Record::as_entry).collect();
            assert!(
                pack(vector_opts(), &entries) == stored,
                "{name}: unpack then pack"
            );
        }
    }
}

/// The codec writes every accept vector of `spec/vectors/` exactly as its `.jsonl` (which
/// `quire unpack --jsonl` made before the codec moved into the library).
#[test]
fn accept_vectors_read_back_through_the_codec() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("spec/vectors");
    let mut n = 0;
    for item in fs::read_dir(&dir).unwrap() {
        let path = item.unwrap().path();
        if path.extension().is_some_and(|e| e == "quire") {
            let bytes = fs::read(&path).unwrap();
            let want = fs::read_to_string(path.with_extension("jsonl")).unwrap();
            assert!(jsonl_of(&bytes) == want, "{}", path.display());
            // And every line of it reads as a record.
            for line in LineReader::new(want.as_bytes()) {
                line.unwrap();
            }
            n += 1;
        }
    }
    assert!(n >= 10, "{n} vectors");
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    /// Any JSON value, a few levels deep: strings of any characters, integers and finite
    /// floats of any size, booleans, null, arrays and objects.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<String>().prop_map(Value::String),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            any::<bool>().prop_map(Value::Bool),
            Just(Value::Null),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((any::<String>(), inner), 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
            ]
        })
    }

    /// A record as a JSON object: a key, maybe a title, a date, a content type, a body (text
    /// or base64), `meta` members and other members, all names distinct.
    fn record_object() -> impl Strategy<Value = Map<String, Value>> {
        (
            "[^\u{0}]{1,40}",
            proptest::option::of(any::<String>()),
            proptest::option::of(prop_oneof![
                Just("2002-03-14".to_string()),
                Just("1999-12-31T23:59:60.5-08:00".to_string()),
                Just("2024-02-29 00:00:00z".to_string()),
            ]),
            proptest::option::of("[a-z]{1,8}/[a-z]{1,8}"),
            prop_oneof![
                any::<String>().prop_map(|s| ("body", Value::String(s))),
                prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| {
                    use base64::Engine as _;
                    let s = base64::engine::general_purpose::STANDARD.encode(b);
                    ("body_base64", Value::String(s))
                }),
            ],
            prop::collection::btree_map("[^\u{0}]{0,12}", json_value(), 0..6),
            prop::collection::btree_map("x-[a-z]{0,6}", json_value(), 0..3),
        )
            .prop_map(|(key, title, date, ct, (body_name, body), meta, extra)| {
                let mut o = Map::new();
                o.insert("key".into(), Value::String(key));
                for (n, v) in extra {
                    o.insert(n, v);
                }
                if let Some(t) = title {
                    o.insert("title".into(), Value::String(t));
                }
                if let Some(d) = date {
                    o.insert("date".into(), Value::String(d));
                }
                if let Some(c) = ct {
                    o.insert("content_type".into(), Value::String(c));
                }
                let meta: Map<String, Value> = meta
                    .into_iter()
                    .filter(|(n, _)| n != JSON_FIELDS && n != "date" && !n.starts_with("x-"))
                    .collect();
                o.insert("meta".into(), Value::Object(meta));
                o.insert(body_name.into(), body);
                o
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Any record: its line, written and read again, is the same record; packed, the
        /// entry's line is the record's line; and a dict-like object gives what its text does.
        #[test]
        fn any_record_round_trips(obj in record_object()) {
            let text = Value::Object(obj.clone()).to_string();
            let r = entry(&text);
            prop_assert_eq!(jsonl::parse_object(obj).unwrap(), Line::Entry(r.clone()));
            let line = r.to_line();
            prop_assert_eq!(&entry(&line), &r);
            prop_assert_eq!(entry(&line).to_line(), line.clone());
            let packed = lines_of(std::slice::from_ref(&r));
            prop_assert_eq!(&packed[0], &line);
        }
    }
}
