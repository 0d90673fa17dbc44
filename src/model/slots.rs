//! The memory of a table read at random ([`super::index::Index`]): zeroed words, on huge
//! pages where the system gives them.
//!
//! A look-up in a table of millions of slots reads one word at an address no other look-up
//! near it reads, so with 4 KiB pages nearly every look-up also missed the processor's
//! address cache (the TLB) and walked the page tables. With 2 MiB pages a 32 MiB table
//! needs 16 entries. On Linux a table of at least [`HUGE_BYTES`] is its own anonymous
//! mapping, advised `MADV_HUGEPAGE` before its first touch (the machine's default,
//! `transparent_hugepage=madvise`, gives huge pages only where asked); elsewhere, and if the
//! mapping fails, a plain vector. Advice only: where huge pages are off, the table is the same
//! memory on small pages. (BENCHMARKS.md, fifteenth sitting: why only these tables, not every
//! allocation.) A mapped table made ahead of its entries has its pages mapped in by a thread
//! of its own ([`Mapped::populate`]), not at their first touch in the event loop.

/// From this size a table is mapped on its own and asked to be on huge pages: one huge page.
pub(super) const HUGE_BYTES: usize = 2 << 20;

/// `len` words, all zero at first.
pub(super) enum Slots {
    Vec(Vec<u64>),
    #[cfg(target_os = "linux")]
    Mapped(Mapped),
}

impl Default for Slots {
    fn default() -> Slots {
        Slots::Vec(Vec::new())
    }
}

impl Slots {
    /// `len` zeroed words. `ahead`: the table is made before the entries that will fill it
    /// come, so a mapped table's pages are mapped in by a thread of its own meanwhile
    /// ([`Mapped::populate`]); a table filled at once (grown, its entries moved) is not.
    pub(super) fn zeroed(len: usize, ahead: bool) -> Slots {
        #[cfg(target_os = "linux")]
        if len * 8 >= HUGE_BYTES
            && let Some(mut m) = Mapped::new(len)
        {
            if ahead {
                m.populate();
            }
            return Slots::Mapped(m);
        }
        Slots::Vec(vec![0; len])
    }

    /// Whether this table was mapped on its own and advised onto huge pages.
    #[cfg(test)]
    pub(super) fn advised(&self) -> bool {
        !matches!(self, Slots::Vec(_))
    }

    /// Whether a thread was started to map this table's pages in.
    #[cfg(test)]
    pub(super) fn populating(&self) -> bool {
        match self {
            Slots::Vec(_) => false,
            #[cfg(target_os = "linux")]
            Slots::Mapped(m) => m.populating.is_some(),
        }
    }
}

impl std::ops::Deref for Slots {
    type Target = [u64];
    fn deref(&self) -> &[u64] {
        match self {
            Slots::Vec(v) => v,
            #[cfg(target_os = "linux")]
            Slots::Mapped(m) => m.slice(),
        }
    }
}

impl std::ops::DerefMut for Slots {
    fn deref_mut(&mut self) -> &mut [u64] {
        match self {
            Slots::Vec(v) => v,
            #[cfg(target_os = "linux")]
            Slots::Mapped(m) => m.slice_mut(),
        }
    }
}

/// An anonymous private mapping of `len` words (its length rounded up to whole huge pages,
/// which lets the kernel align it to one), unmapped when dropped.
#[cfg(target_os = "linux")]
pub(super) struct Mapped {
    ptr: std::ptr::NonNull<u64>,
    len: usize,
    bytes: usize,
    /// The thread mapping the table's pages in ahead of use ([`Mapped::populate`]), and what
    /// tells it to stop.
    populating: Option<(std::thread::JoinHandle<()>, std::sync::Arc<std::sync::atomic::AtomicBool>)>,
}

// The mapping is owned memory like a `Vec`'s: nothing else holds its address.
#[cfg(target_os = "linux")]
unsafe impl Send for Mapped {}
#[cfg(target_os = "linux")]
unsafe impl Sync for Mapped {}

#[cfg(target_os = "linux")]
impl Mapped {
    fn new(len: usize) -> Option<Mapped> {
        let bytes = (len * 8).div_ceil(HUGE_BYTES) * HUGE_BYTES;
        // SAFETY: a fresh private anonymous mapping at an address the kernel picks; the
        // result is checked before use.
        let p = unsafe {
            libc::mmap(std::ptr::null_mut(), bytes, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0)
        };
        if p == libc::MAP_FAILED {
            return None;
        }
        // SAFETY: advice on the mapping just made, before any page of it is touched. A
        // refusal (huge pages compiled out) leaves ordinary pages, which is fine.
        unsafe { libc::madvise(p, bytes, libc::MADV_HUGEPAGE) };
        // Anonymous memory reads as zero, and a mapping is page-aligned: valid `u64`s.
        Some(Mapped { ptr: std::ptr::NonNull::new(p.cast())?, len, bytes, populating: None })
    }

    /// Map the table's pages in on another thread, a huge page at a time, while the owner goes
    /// on (`MADV_POPULATE_WRITE`: as if each page were written, without writing). On a virtual
    /// machine whose host takes back free memory, a fresh huge page cost up to 23 ms at its
    /// first touch, where the engine's event loop paid it (a few hundred ms of a region's
    /// run), while the second core waited: BENCHMARKS.md, twenty-first sitting. Advice only:
    /// where the kernel refuses it (before Linux 5.14) or no thread can be had, the pages
    /// come at their first touch as before.
    fn populate(&mut self) {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let (start, bytes, halt) = (self.ptr.as_ptr() as usize, self.bytes, stop.clone());
        let worker = move || {
            for at in (0..bytes).step_by(HUGE_BYTES) {
                if halt.load(Ordering::Relaxed) {
                    return;
                }
                // SAFETY: advice on whole pages of the mapping, which `Drop` unmaps only after
                // this thread has ended; it changes no byte of it.
                if unsafe { libc::madvise((start + at) as *mut libc::c_void, HUGE_BYTES.min(bytes - at), libc::MADV_POPULATE_WRITE) } != 0 {
                    return;
                }
            }
        };
        if let Ok(h) = std::thread::Builder::new().name("table-pages".into()).spawn(worker) {
            self.populating = Some((h, stop));
        }
    }

    fn slice(&self) -> &[u64] {
        // SAFETY: `len` words of the live mapping, which this value owns.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    fn slice_mut(&mut self) -> &mut [u64] {
        // SAFETY: as `slice`, borrowed mutably through `self`.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

#[cfg(target_os = "linux")]
impl Drop for Mapped {
    fn drop(&mut self) {
        if let Some((h, stop)) = self.populating.take() {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            let _ = h.join();
        }
        // SAFETY: the mapping made in `new`, with its length, unmapped once.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.bytes) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small and large tables alike start zeroed, keep what is written, and a large one is
    /// mapped apart (on Linux) while a small one is a vector.
    #[test]
    fn tables_start_zeroed_and_keep_their_words() {
        for (len, ahead) in
            [0, 16, HUGE_BYTES / 8 - 1, HUGE_BYTES / 8, 3 * HUGE_BYTES / 8 + 5].into_iter().flat_map(|l| [(l, false), (l, true)])
        {
            let mut s = Slots::zeroed(len, ahead);
            let mapped = cfg!(target_os = "linux") && len * 8 >= HUGE_BYTES;
            // A table made ahead has its pages mapped in on another thread while it is written.
            assert_eq!(s.populating(), mapped && ahead, "{len} words, ahead {ahead}");
            assert_eq!(s.len(), len);
            assert!(s.iter().all(|w| *w == 0), "{len} words zeroed");
            for (i, w) in s.iter_mut().enumerate() {
                *w = i as u64 * 7 + 1;
            }
            assert!(s.iter().enumerate().all(|(i, w)| *w == i as u64 * 7 + 1), "{len} words kept");
            assert_eq!(s.advised(), mapped, "{len} words");
        }
    }
}
