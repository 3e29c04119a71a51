//! A global allocator that tracks the bytes currently allocated and their peak, for tests
//! that assert bounded memory. A test binary installs it with
//! `#[global_allocator] static ALLOC: common::alloc::Counting = common::alloc::Counting;`
//! (tests/bounded.rs does, for the suites that measure), and each of its tests runs in a process
//! of its own through [`alone`].
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Mutex, MutexGuard};

pub struct Counting;

pub static CURRENT: AtomicUsize = AtomicUsize::new(0);
pub static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let now = CURRENT.fetch_add(n, SeqCst) + n;
    PEAK.fetch_max(now, SeqCst);
}

// SAFETY: every method forwards to `System` unchanged and only updates counters.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is `System.alloc`'s.
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            grew(l.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc_zeroed` is `System.alloc_zeroed`'s.
        let p = unsafe { System.alloc_zeroed(l) };
        if !p.is_null() {
            grew(l.size());
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: `p` was allocated by `System` (every method here forwards to it) with `l`.
        unsafe { System.dealloc(p, l) };
        CURRENT.fetch_sub(l.size(), SeqCst);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        // SAFETY: `p` was allocated by `System` with `l`; the caller's contract is `System.realloc`'s.
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new >= l.size() {
                grew(new - l.size());
            } else {
                CURRENT.fetch_sub(l.size() - new, SeqCst);
            }
        }
        q
    }
}

/// The peak is the whole process's: a test that measures it holds this lock while it runs
/// (through [`serial`], or [`alone`] where it cannot have a process of its own), so that the
/// peak of one test is not another's.
pub static SERIAL: Mutex<()> = Mutex::new(());

/// Takes [`SERIAL`] for a test, whether or not a test that held it before failed.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Set in the process [`alone`] starts for one test.
const ALONE_ENV: &str = "QUIRE_TEST_ALONE";

/// Runs the calling test in a process of its own, so that its peak is not another test's and
/// the tests of a measuring binary still run side by side (as many as libtest's threads).
///
/// Call it first in the test: `let Some(_g) = alone() else { return };`.
/// - In libtest's process it starts this test binary again with only this test
///   (`--exact`, named by libtest's thread), waits, fails the test with the child's output
///   unless the child ran exactly this test and passed, and returns `None`: the test is done.
/// - In that child, or where libtest runs tests on its main thread (`--test-threads=1`,
///   where the thread has no test's name), it returns [`serial`]'s guard and the test runs
///   here, one at a time.
pub fn alone() -> Option<MutexGuard<'static, ()>> {
    let thread = std::thread::current();
    let name = match thread.name() {
        Some(n) if n != "main" && std::env::var_os(ALONE_ENV).is_none() => n.to_string(),
        _ => return Some(serial()),
    };
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = std::process::Command::new(exe)
        .args([&name, "--exact", "--test-threads=1", "--nocapture"])
        .env(ALONE_ENV, &name)
        .output()
        .expect("cannot start the test binary again");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed;"),
        "{name}, in a process of its own: {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    // What the test printed, for `--nocapture` and for libtest's report.
    print!("{stdout}");
    eprint!("{stderr}");
    None
}

/// Starts measuring: the peak is reset to what is allocated now, which is returned.
pub fn start() -> usize {
    let base = CURRENT.load(SeqCst);
    PEAK.store(base, SeqCst);
    base
}

/// The peak allocation since [`start`] returned `base`, above `base`.
pub fn peak_since(base: usize) -> usize {
    PEAK.load(SeqCst).saturating_sub(base)
}

/// Runs `f` on a worker thread with a deadline, measuring its peak heap (above what was
/// allocated when it started). A panic fails the test with its message.
pub fn bounded<T: Send + 'static>(
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> (T, usize) {
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        let base = start();
        let out = f();
        let peak = peak_since(base);
        let _ = tx.send((out, peak));
    });
    match rx.recv_timeout(std::time::Duration::from_secs(120)) {
        Ok(r) => r,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: no answer within 120 s (a hang)")
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            let e = worker
                .join()
                .expect_err("the worker ended without an answer");
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("{what}: {msg}")
        }
    }
}
