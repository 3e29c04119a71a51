//! The JSONL codec (spec/FORMAT.md §9): round trips, every value type, errors, open points.

use quire::jsonl::{self, Line};

#[test]
fn placeholder_parses() {
    assert!(matches!(jsonl::parse_line(r#"{"key":"a"}"#), Ok(Line::Entry(_))));
}
