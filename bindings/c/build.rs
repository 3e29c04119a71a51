//! Generates `quire.h` from `src/lib.rs` with cbindgen into `OUT_DIR`; `tests/header.rs`
//! fails when the committed `include/quire.h` differs (and rewrites it with QUIRE_BLESS=1).

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=src/lib.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo")).join("quire.h");
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml"))
        .unwrap_or_else(|e| panic!("bindings/c/cbindgen.toml: {e}"));
    // One source file, no `cargo metadata`: the whole C API is in src/lib.rs.
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen could not generate quire.h: {e}"));
    bindings.write_to_file(&out);
}
