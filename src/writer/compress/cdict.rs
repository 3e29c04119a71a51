//! One prepared zstd dictionary shared by every block compressor of a pack: the only place in
//! the writer that calls zstd's C API itself, and so the only `unsafe` code of the writer.
//!
//! A compressor that loads the dictionary into its own context has zstd prepare it (a
//! `ZSTD_CDict`) on that context's first block: at level 19, binary-tree match tables over the
//! whole dictionary (2–8 MiB), built again by every worker. zstd-safe shares a `CDict` only as
//! `ZSTD_createCDict` makes it, with the level's own table sizes; the writer sizes them to the
//! dictionary ([`super::dict_table_log`]). [`SharedDict`] makes the `CDict` with
//! `ZSTD_createCDict_advanced2` from the very parameters a worker's context had, once, and each
//! [`DictCompressor`] references it (`ZSTD_CCtx_refCDict`).
//!
//! The frames are the bytes a context that loaded the dictionary itself made. One difference
//! had to be undone: a context that references a `CDict` takes the `CDict`'s level for the
//! frame, and a `CDict` made from parameters has none (`ZSTD_NO_CLEVEL`, read as level 3),
//! while a context's own dictionary keeps the context's level (zstd_compress.c,
//! `ZSTD_CCtx_init_compressStream2`). So every block sets the level's parameters for its length
//! explicitly ([`DictCompressor::compress`]). The tests compare frames with the old way's.

use std::ffi::c_int;
use std::io;
use std::ptr::NonNull;
use std::sync::Arc;

use zstd::zstd_safe::{self, zstd_sys as sys};

use sys::ZSTD_cParameter as P;

/// The settings of every block compressor with a dictionary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::writer) struct Settings {
    /// zstd level.
    pub(in crate::writer) level: i32,
    /// ChainLog and HashLog for the dictionary's match tables, when the level's are not used.
    pub(in crate::writer) tables: Option<(u32, u32)>,
}

impl Settings {
    /// The parameters a context with the dictionary is given, in the order the writer always
    /// set them (a `zstd::bulk::Compressor` with its dictionary): the level, no checksum,
    /// the content size in every frame, no dictionary id, the dictionary's table sizes, and
    /// its tables searched where they are ("attach") rather than copied for every block.
    fn parameters(self) -> Vec<(P, c_int)> {
        let mut p = vec![
            (P::ZSTD_c_compressionLevel, self.level),
            (P::ZSTD_c_checksumFlag, 0),
            (P::ZSTD_c_contentSizeFlag, 1),
            (P::ZSTD_c_dictIDFlag, 0),
        ];
        if let Some((chain, hash)) = self.tables {
            p.push((P::ZSTD_c_chainLog, chain as c_int));
            p.push((P::ZSTD_c_hashLog, hash as c_int));
        }
        p.push((
            FORCE_ATTACH_DICT,
            sys::ZSTD_dictAttachPref_e::ZSTD_dictForceAttach as c_int,
        ));
        p
    }
}

/// `ZSTD_c_forceAttachDict` (zstd.h names it so; the bindings only by its number).
const FORCE_ATTACH_DICT: P = P::ZSTD_c_experimentalParam4;

/// zstd's result code as a length, or its error.
fn check(code: usize) -> io::Result<usize> {
    // SAFETY: ZSTD_isError reads nothing but its argument.
    if unsafe { sys::ZSTD_isError(code) } != 0 {
        Err(io::Error::other(zstd_safe::get_error_name(code)))
    } else {
        Ok(code)
    }
}

fn out_of_memory(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::OutOfMemory,
        format!("zstd could not allocate {what}"),
    )
}

/// A dictionary prepared once for compression (a `ZSTD_CDict`), read by any number of
/// [`DictCompressor`]s on any threads.
pub(in crate::writer) struct SharedDict {
    cdict: NonNull<sys::ZSTD_CDict>,
    settings: Settings,
}

// SAFETY: the CDict is zstd's own copy of the dictionary and its match tables; after
// ZSTD_createCDict_advanced2 returns, zstd only reads it (contexts take it as
// `const ZSTD_CDict*`; zstd.h: "a CDict can be created once and shared by multiple threads
// concurrently, since its usage is read-only"). Nothing here writes through the pointer, and it
// is freed only in `Drop`, when no reference (and so no `DictCompressor`, which holds an `Arc`)
// is left. So moving it to, and reading it from, other threads is sound.
unsafe impl Send for SharedDict {}
// SAFETY: see `Send`: every use through `&SharedDict` is a read of the read-only CDict.
unsafe impl Sync for SharedDict {}

impl SharedDict {
    /// Prepares `dict` (raw content, or a trained dictionary, as zstd detects) with
    /// `settings`. zstd keeps its own copy of the bytes.
    pub(in crate::writer) fn new(dict: &[u8], settings: Settings) -> io::Result<Arc<SharedDict>> {
        let params = Params::new()?;
        for (p, v) in settings.parameters() {
            // SAFETY: `params.0` is a live parameter set that only `params` owns.
            check(unsafe { sys::ZSTD_CCtxParams_setParameter(params.0.as_ptr(), p, v) })?;
        }
        let memory = huge::memory();
        // SAFETY: `dict` is a live slice of `dict.len()` bytes, which zstd copies
        // (ZSTD_dlm_byCopy) and does not keep a pointer to; `params` is live and only read
        // (zstd copies it). The result is null or a CDict that this function now owns.
        let cdict = unsafe {
            sys::ZSTD_createCDict_advanced2(
                dict.as_ptr().cast(),
                dict.len(),
                sys::ZSTD_dictLoadMethod_e::ZSTD_dlm_byCopy,
                sys::ZSTD_dictContentType_e::ZSTD_dct_auto,
                params.0.as_ptr(),
                memory,
            )
        };
        let cdict = NonNull::new(cdict).ok_or_else(|| out_of_memory("a dictionary"))?;
        Ok(Arc::new(SharedDict { cdict, settings }))
    }
}

impl Drop for SharedDict {
    fn drop(&mut self) {
        // SAFETY: the CDict is ours and still live (freed only here), and no context uses it:
        // each `DictCompressor` holds an `Arc<SharedDict>` and frees its context first.
        unsafe { sys::ZSTD_freeCDict(self.cdict.as_ptr()) };
    }
}

/// A `ZSTD_CCtx_params`, freed on drop.
struct Params(NonNull<sys::ZSTD_CCtx_params>);

impl Params {
    fn new() -> io::Result<Params> {
        // SAFETY: no arguments; the result is null or a parameter set we own (freed in Drop).
        let p = unsafe { sys::ZSTD_createCCtxParams() };
        NonNull::new(p)
            .map(Params)
            .ok_or_else(|| out_of_memory("parameters"))
    }
}

impl Drop for Params {
    fn drop(&mut self) {
        // SAFETY: ours and live; zstd kept no pointer to it (createCDict copies parameters).
        unsafe { sys::ZSTD_freeCCtxParams(self.0.as_ptr()) };
    }
}

/// A compression context that references a [`SharedDict`]: one per worker.
pub(in crate::writer) struct DictCompressor {
    /// Owned by this struct alone: created in `new`, freed in `Drop`.
    cctx: NonNull<sys::ZSTD_CCtx>,
    /// Kept alive for as long as `cctx` references it (fields drop after `Drop::drop`).
    dict: Arc<SharedDict>,
}

// SAFETY: a ZSTD_CCtx has no tie to the thread that made it, and this one is reached only
// through `&mut self` (one thread at a time); the CDict it references is `Sync` (above), and
// the `Arc` keeps it alive wherever the compressor goes.
unsafe impl Send for DictCompressor {}

impl DictCompressor {
    /// A context with `dict`'s settings that compresses against it.
    pub(in crate::writer) fn new(dict: Arc<SharedDict>) -> io::Result<DictCompressor> {
        // SAFETY: `memory()` is a valid allocator pair (see `huge`); the result is null or a
        // context we own (freed in Drop).
        let cctx = unsafe { sys::ZSTD_createCCtx_advanced(huge::memory()) };
        let cctx = NonNull::new(cctx).ok_or_else(|| out_of_memory("a context"))?;
        let mut c = DictCompressor { cctx, dict };
        for (p, v) in c.dict.settings.parameters() {
            c.set(p, v)?;
        }
        // SAFETY: both are live; the context only reads the CDict, which outlives the
        // context's use of it: `c` holds the `Arc` and frees the context before the `Arc` drops.
        check(unsafe { sys::ZSTD_CCtx_refCDict(c.cctx.as_ptr(), c.dict.cdict.as_ptr()) })?;
        Ok(c)
    }

    fn set(&mut self, p: P, v: c_int) -> io::Result<()> {
        // SAFETY: `self.cctx` is live and only reached through `&mut self`.
        check(unsafe { sys::ZSTD_CCtx_setParameter(self.cctx.as_ptr(), p, v) }).map(drop)
    }

    /// One zstd frame of `src`.
    ///
    /// First the level's parameters for a block of this length, which a context that loaded
    /// the dictionary itself would take from its level (see the module's documentation):
    /// `ZSTD_getCParams(level, len, 0)` is what zstd derives for a block compressed against an
    /// attached dictionary (whose size then does not count), and the dictionary's table sizes
    /// replace the level's as before. zstd derives the rest from these exactly as it did.
    pub(in crate::writer) fn compress(&mut self, src: &[u8]) -> io::Result<Vec<u8>> {
        let s = self.dict.settings;
        // A length of 0 would read as "unknown"; 1 picks the same parameters as 0.
        let len = src.len().max(1) as u64;
        // SAFETY: reads nothing but its arguments.
        let cp = unsafe { sys::ZSTD_getCParams(s.level, len, 0) };
        let (chain, hash) = s.tables.unwrap_or((cp.chainLog, cp.hashLog));
        for (p, v) in [
            (P::ZSTD_c_windowLog, cp.windowLog),
            (P::ZSTD_c_chainLog, chain),
            (P::ZSTD_c_hashLog, hash),
            (P::ZSTD_c_searchLog, cp.searchLog),
            (P::ZSTD_c_minMatch, cp.minMatch),
            (P::ZSTD_c_targetLength, cp.targetLength),
            (P::ZSTD_c_strategy, cp.strategy as u32),
        ] {
            self.set(p, v as c_int)?;
        }
        let capacity = zstd_safe::compress_bound(src.len());
        let mut out: Vec<u8> = Vec::with_capacity(capacity);
        // SAFETY: `out` has room for `capacity` bytes, at most what zstd writes; `src` is a
        // live slice of `src.len()` bytes; the context is ours (`&mut self`).
        let code = unsafe {
            sys::ZSTD_compress2(
                self.cctx.as_ptr(),
                out.as_mut_ptr().cast(),
                capacity,
                src.as_ptr().cast(),
                src.len(),
            )
        };
        match check(code) {
            Ok(written) => {
                // SAFETY: zstd initialised the first `written` (≤ `capacity`) bytes of `out`.
                unsafe { out.set_len(written.min(capacity)) };
                Ok(out)
            }
            Err(e) => {
                // A failed ZSTD_compress2 leaves its frame open; end it so that the next
                // block starts afresh (a session reset keeps parameters and dictionary).
                // SAFETY: `self.cctx` is live and ours.
                unsafe {
                    sys::ZSTD_CCtx_reset(
                        self.cctx.as_ptr(),
                        sys::ZSTD_ResetDirective::ZSTD_reset_session_only,
                    )
                };
                Err(e)
            }
        }
    }
}

impl Drop for DictCompressor {
    fn drop(&mut self) {
        // SAFETY: the context is ours and live (freed only here); the CDict it references is
        // still alive, as `self.dict` drops after this.
        unsafe { sys::ZSTD_freeCCtx(self.cctx.as_ptr()) };
    }
}

/// One zstd frame of `src` at `level`, with its content size and no checksum, the match
/// tables at 2^`chain` and 2^`hash` entries, and matches of at least `min_match` bytes where
/// the level's own minimum is shorter: the bytes `zstd::bulk::Compressor` makes with these
/// settings, with the tables on huge pages (see [`huge`]). For the DICT section, whose
/// level-19 frame of a 4 MiB dictionary searches 20 MiB of tables.
pub(in crate::writer) fn compress_frame(
    src: &[u8],
    level: i32,
    chain: u32,
    hash: u32,
    min_match: u32,
) -> io::Result<Vec<u8>> {
    // SAFETY: reads nothing but its arguments.
    let own = unsafe { sys::ZSTD_getCParams(level, src.len() as u64, 0) }.minMatch;
    // SAFETY: `memory()` is a valid allocator pair (see `huge`); the result is null or a
    // context we own, freed below on every path.
    let cctx = unsafe { sys::ZSTD_createCCtx_advanced(huge::memory()) };
    let cctx = NonNull::new(cctx).ok_or_else(|| out_of_memory("a context"))?;
    let result = (|| {
        for (p, v) in [
            (P::ZSTD_c_compressionLevel, level),
            (P::ZSTD_c_contentSizeFlag, 1),
            (P::ZSTD_c_checksumFlag, 0),
            (P::ZSTD_c_chainLog, chain as c_int),
            (P::ZSTD_c_hashLog, hash as c_int),
            (P::ZSTD_c_minMatch, own.max(min_match) as c_int),
        ] {
            // SAFETY: `cctx` is live and used by this function alone.
            check(unsafe { sys::ZSTD_CCtx_setParameter(cctx.as_ptr(), p, v) })?;
        }
        let capacity = zstd_safe::compress_bound(src.len());
        let mut out: Vec<u8> = Vec::with_capacity(capacity);
        // SAFETY: `out` has room for `capacity` bytes, at most what zstd writes; `src` is a
        // live slice of `src.len()` bytes; the context is live and ours.
        let written = check(unsafe {
            sys::ZSTD_compress2(
                cctx.as_ptr(),
                out.as_mut_ptr().cast(),
                capacity,
                src.as_ptr().cast(),
                src.len(),
            )
        })?;
        // SAFETY: zstd initialised the first `written` (≤ `capacity`) bytes of `out`.
        unsafe { out.set_len(written.min(capacity)) };
        Ok(out)
    })();
    // SAFETY: the context is ours and live, and nothing uses it after this.
    unsafe { sys::ZSTD_freeCCtx(cctx.as_ptr()) };
    result
}

/// The allocator of the shared dictionary and of the contexts that search it.
///
/// At level 19 a dictionary's binary-tree match tables are 2^chainLog + 2^hashLog 4-byte
/// entries (48–96 MiB for a 4–8 MiB dictionary), and every position of every block walks them
/// at random: with 4 KiB pages nearly every step of the walk misses the TLB (and, on a virtual
/// machine, walks two page tables). On Linux, allocations of 2 MiB and more are aligned to
/// 2 MiB and marked `MADV_HUGEPAGE`, so that the kernel backs them with transparent huge pages
/// where it has them (`/sys/kernel/mm/transparent_hugepage/enabled` set to `madvise` or
/// `always`); the bytes zstd writes are the same either way. Elsewhere zstd's own allocator.
mod huge {
    use zstd::zstd_safe::zstd_sys as sys;

    #[cfg(target_os = "linux")]
    pub(super) fn memory() -> sys::ZSTD_customMem {
        sys::ZSTD_customMem {
            customAlloc: Some(alloc),
            customFree: Some(free),
            opaque: std::ptr::null_mut(),
        }
    }

    #[cfg(not(target_os = "linux"))]
    pub(super) fn memory() -> sys::ZSTD_customMem {
        // zstd's own allocator (ZSTD_defaultCMem is these three nulls).
        sys::ZSTD_customMem {
            customAlloc: None,
            customFree: None,
            opaque: std::ptr::null_mut(),
        }
    }

    /// The huge page size of x86-64 and of arm64 with 4 KiB pages.
    #[cfg(target_os = "linux")]
    const HUGE: usize = 2 << 20;

    /// zstd's `ZSTD_allocFunction`: `size` bytes (uninitialised, as `malloc` gives them), or
    /// null when there is no memory.
    #[cfg(target_os = "linux")]
    unsafe extern "C" fn alloc(
        _opaque: *mut std::ffi::c_void,
        size: usize,
    ) -> *mut std::ffi::c_void {
        if size < HUGE {
            // SAFETY: malloc takes any size and returns null or a block of it.
            return unsafe { libc::malloc(size) };
        }
        let mut p = std::ptr::null_mut();
        // SAFETY: `p` is a valid place for the result; HUGE is a power of two and a multiple
        // of the pointer size, as posix_memalign requires.
        if unsafe { libc::posix_memalign(&mut p, HUGE, size) } != 0 {
            return std::ptr::null_mut();
        }
        // SAFETY: [p, p + size) is the block just allocated, and p is page-aligned (2 MiB).
        // madvise changes only how the kernel backs those pages, never their contents or
        // whether they are mapped; its failure (a kernel without THP) leaves ordinary pages.
        unsafe { libc::madvise(p, size, libc::MADV_HUGEPAGE) };
        p
    }

    /// zstd's `ZSTD_freeFunction`: frees what `alloc` returned (malloc and posix_memalign
    /// blocks alike go back with `free`), or nothing for null.
    #[cfg(target_os = "linux")]
    unsafe extern "C" fn free(_opaque: *mut std::ffi::c_void, p: *mut std::ffi::c_void) {
        // SAFETY: zstd passes only null or a pointer `alloc` returned and has not freed.
        unsafe { libc::free(p) }
    }
}
