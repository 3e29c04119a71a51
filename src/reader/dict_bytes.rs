//! Where the decompressed dictionary lives. Decoding it writes every byte of a buffer that
//! the process has never touched, and on Linux each 4 KiB page of that buffer costs a page
//! fault. On the 2-core VMs we measure, a fault costs about 4 µs. So a 4 MiB dictionary's
//! 1,024 faults take about 4 ms, as long as decoding it.
//!
//! A dictionary of 1 MiB or more is therefore decoded into an anonymous mapping. The mapping
//! is aligned to 2 MiB and asks for transparent huge pages (`MADV_HUGEPAGE`, which the
//! default `madvise` setting of `/sys/kernel/mm/transparent_hugepage/enabled` honours), so
//! the decode faults once per 2 MiB.
//!
//! Memory: whole 2 MiB pages cover the dictionary, and a last part under 1 MiB stays in
//! 4 KiB pages. So the resident size is at most 1 MiB over the dictionary's length, and
//! [`DictBytes::resident`] reports it for §12's heap bound. Where the kernel gives no huge
//! page (THP off, no free 2 MiB page) the same mapping simply faults in 4 KiB pages. A
//! smaller dictionary, or any on other systems, is an ordinary `Vec`.
//!
//! A process that opens archive after archive should not pay for fresh pages each time
//! either: the heap reuses what a dropped `Vec` freed, and so the last mapping dropped is
//! kept (one, the most recent) for the next dictionary that needs a mapping of the same
//! size. A process that has dropped every archive may so keep one dictionary's pages, at
//! most 16 MiB, as the heap keeps what it has freed.

use std::ops::Deref;
#[cfg(target_os = "linux")]
use std::sync::Mutex;

/// A transparent huge page.
#[cfg(target_os = "linux")]
const HUGE: usize = 2 << 20;

/// The decompressed dictionary's bytes (see the module's documentation).
pub(crate) struct DictBytes(Inner);

enum Inner {
    Heap(Vec<u8>),
    #[cfg(target_os = "linux")]
    Mapped {
        map: memmap2::MmapMut,
        /// Where the 2 MiB-aligned bytes start in `map`.
        start: usize,
        len: usize,
    },
}

/// The last dictionary mapping dropped (see the module's documentation).
#[cfg(target_os = "linux")]
static SPARE: Spare = Spare(Mutex::new(None));

/// One mapping kept for reuse.
#[cfg(target_os = "linux")]
struct Spare(Mutex<Option<memmap2::MmapMut>>);

#[cfg(target_os = "linux")]
impl Spare {
    /// Keeps `map`, in place of the one kept before.
    fn put(&self, map: memmap2::MmapMut) {
        if let Ok(mut spare) = self.0.lock() {
            *spare = Some(map);
        }
    }

    /// The kept mapping, if it is `size` bytes long.
    fn take(&self, size: usize) -> Option<memmap2::MmapMut> {
        let mut spare = self.0.lock().ok()?;
        match spare.as_ref() {
            Some(map) if map.len() == size => spare.take(),
            _ => None,
        }
    }
}

impl DictBytes {
    /// A buffer of `len` bytes to decode a dictionary into: zeroed, or a mapping an earlier
    /// dictionary of the same size left (the decode writes every byte before anyone reads
    /// one, and a decode that fails drops the buffer).
    pub(crate) fn for_decoding(len: usize) -> DictBytes {
        #[cfg(target_os = "linux")]
        if len >= HUGE / 2 {
            if let Some(mapped) = Self::mapped(len) {
                return mapped;
            }
        }
        DictBytes(Inner::Heap(vec![0; len]))
    }

    /// `len` bytes in an anonymous mapping whose huge-page part starts on a 2 MiB boundary.
    /// None when the mapping fails (the caller falls back to the heap).
    #[cfg(target_os = "linux")]
    fn mapped(len: usize) -> Option<DictBytes> {
        let whole = len / HUGE * HUGE;
        let tail = len - whole;
        // A tail of 1 MiB or more takes a huge page of its own; a shorter one stays in 4 KiB
        // pages, so that no more than 1 MiB is ever resident beyond the dictionary.
        let huge = if tail >= HUGE / 2 {
            whole + HUGE
        } else {
            whole
        };
        // Room to slide the start up to the next 2 MiB boundary (an mmap is page-aligned).
        let size = huge.max(len).checked_add(HUGE)?;
        let (map, fresh) = match SPARE.take(size) {
            Some(map) => (map, false),
            None => (memmap2::MmapMut::map_anon(size).ok()?, true),
        };
        let addr = map.as_ptr() as usize;
        let start = addr.next_multiple_of(HUGE) - addr;
        if fresh {
            // Advice only: without huge pages the same bytes fault in 4 KiB pages. The rest
            // of the mapping is kept out of huge pages even where THP is `always`, so the
            // resident bound below holds. (A spare of the same size had the same advice: the
            // same `len` class gives the same `huge`.)
            let _ = map.advise_range(memmap2::Advice::HugePage, start, huge);
            let rest = start + huge;
            let _ = map.advise_range(memmap2::Advice::NoHugePage, rest, map.len() - rest);
        }
        Some(DictBytes(Inner::Mapped { map, start, len }))
    }

    /// The bytes, to decode into.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        match &mut self.0 {
            Inner::Heap(v) => v,
            #[cfg(target_os = "linux")]
            Inner::Mapped {
                map, start, len, ..
            } => &mut map[*start..*start + *len],
        }
    }

    /// The memory the dictionary keeps once written, at most: its length, or its huge
    /// pages and tail.
    pub(crate) fn resident(&self) -> usize {
        match &self.0 {
            Inner::Heap(v) => v.len(),
            #[cfg(target_os = "linux")]
            // The mapping is `huge.max(len)` bytes and the room to align its start, which is
            // never touched: whole huge pages when they cover the tail, else `len`.
            Inner::Mapped { map, .. } => map.len() - HUGE,
        }
    }
}

impl Drop for DictBytes {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        if let Inner::Mapped { map, .. } = std::mem::replace(&mut self.0, Inner::Heap(Vec::new())) {
            SPARE.put(map);
        }
    }
}

impl Deref for DictBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.0 {
            Inner::Heap(v) => v,
            #[cfg(target_os = "linux")]
            Inner::Mapped {
                map, start, len, ..
            } => &map[*start..*start + *len],
        }
    }
}

impl std::fmt::Debug for DictBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DictBytes")
            .field("len", &self.len())
            .field("resident", &self.resident())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_length_reads_back_what_was_written_and_stays_within_a_mebibyte() {
        for len in [
            0,
            1,
            4095,
            (1 << 20) - 1,
            1 << 20,
            1_388_263,
            2 << 20,
            (2 << 20) + 1,
            (3 << 20) - 1,
            3 << 20,
            4 << 20,
            (5 << 20) + 12345,
        ] {
            let mut d = DictBytes::for_decoding(len);
            assert_eq!(d.len(), len);
            for (i, b) in d.as_mut_slice().iter_mut().enumerate() {
                *b = (i % 251) as u8;
            }
            assert!(d.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
            assert!(d.resident() >= len, "{len}: resident {}", d.resident());
            assert!(d.resident() <= len + (1 << 20), "{len}: {}", d.resident());
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_spare_gives_back_only_a_mapping_of_the_size_asked() {
        let spare = Spare(Mutex::new(None));
        assert!(spare.take(6 << 20).is_none());
        let map = memmap2::MmapMut::map_anon(6 << 20).unwrap();
        let at = map.as_ptr();
        spare.put(map);
        assert!(spare.take(4 << 20).is_none(), "another size");
        let back = spare.take(6 << 20).expect("kept");
        assert_eq!(back.as_ptr(), at);
        assert!(spare.take(6 << 20).is_none(), "given once");
        spare.put(back);
        spare.put(memmap2::MmapMut::map_anon(4 << 20).unwrap());
        assert!(spare.take(6 << 20).is_none(), "the most recent one is kept");
        assert!(spare.take(4 << 20).is_some());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_large_dictionary_starts_on_a_huge_page_boundary() {
        let d = DictBytes::for_decoding(4 << 20);
        assert!(matches!(d.0, Inner::Mapped { .. }));
        assert_eq!(d.as_ptr() as usize % HUGE, 0);
        assert_eq!(d.resident(), 4 << 20);
        let small = DictBytes::for_decoding((1 << 20) - 1);
        assert!(matches!(small.0, Inner::Heap(_)));
        assert_eq!(
            DictBytes::for_decoding((2 << 20) + (1 << 19)).resident(),
            (2 << 20) + (1 << 19)
        );
        assert_eq!(
            DictBytes::for_decoding((2 << 20) + (1 << 20)).resident(),
            4 << 20
        );
    }
}
