//! `LimitedAlloc`, the fuzz targets' stand-in for `-malloc_limit_mb=64`, aborts on an
//! allocation of 64 MiB and lets smaller ones through. The test runs itself again as a child
//! process that makes the allocation, since the abort ends the process.

use std::process::Command;

#[global_allocator]
static ALLOC: quire_fuzz_harness::LimitedAlloc = quire_fuzz_harness::LimitedAlloc;

const CHILD: &str = "QUIRE_ALLOC_LIMIT_CHILD";

#[test]
fn aborts_at_64_mib() {
    if let Ok(size) = std::env::var(CHILD) {
        let size: usize = size.parse().expect("size");
        let v: Vec<u8> = Vec::with_capacity(size);
        std::hint::black_box(&v);
        println!("allocated {size}");
        return;
    }
    let run = |size: usize| {
        Command::new(std::env::current_exe().expect("exe"))
            .args([
                "--exact",
                "aborts_at_64_mib",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, size.to_string())
            .output()
            .expect("child")
    };
    let small = run(quire_fuzz_harness::LimitedAlloc::LIMIT - 1);
    assert!(small.status.success(), "{small:?}");
    let big = run(quire_fuzz_harness::LimitedAlloc::LIMIT);
    assert!(!big.status.success(), "{big:?}");
    assert!(String::from_utf8_lossy(&big.stderr).contains("out-of-memory"));
}
