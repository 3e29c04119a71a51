//! A global allocator that tracks the bytes currently allocated and their peak, for tests
//! that assert bounded memory. A test binary installs it with
//! `#[global_allocator] static ALLOC: common::alloc::Counting = common::alloc::Counting;`
//! (tests/bounded.rs does, for the suites that measure), and its tests hold [`serial`] while
//! they run.
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

/// The peak is the whole process's: every test of a binary that measures it holds this lock
/// while it runs (through [`serial`]), so that tests run one at a time and the peak of one is
/// not another's.
pub static SERIAL: Mutex<()> = Mutex::new(());

/// Takes [`SERIAL`] for a test, whether or not a test that held it before failed.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
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
