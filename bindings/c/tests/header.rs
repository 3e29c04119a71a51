//! The committed `include/quire.h` is what cbindgen generates from `src/lib.rs` (by
//! `build.rs`, into `OUT_DIR`). After changing the API, refresh it with
//! `QUIRE_BLESS=1 cargo test -p quire-c --test header`.

const GENERATED: &str = include_str!(concat!(env!("OUT_DIR"), "/quire.h"));
const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/include/quire.h");

#[test]
fn committed_header_is_up_to_date() {
    if std::env::var_os("QUIRE_BLESS").is_some() {
        std::fs::write(COMMITTED, GENERATED).expect("write include/quire.h");
        return;
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == GENERATED,
        "bindings/c/include/quire.h differs from what cbindgen generates from src/lib.rs; \
         run `QUIRE_BLESS=1 cargo test -p quire-c --test header` and commit the header"
    );
}
