//! A global allocator that counts allocations per thread: [`ThreadCounting`],
//! [`thread_allocations`], [`thread_allocated_bytes`] and [`thread_live_bytes`]. Other threads (the test harness's "running for over 60 seconds"
//! notice, encoder threads) do not disturb the count of the thread under test, unlike a
//! process-wide counter.
//!
//! Install it in a test binary with
//! `#[global_allocator] static A: ThreadCounting = ThreadCounting;`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
    static BYTES: Cell<u64> = const { Cell::new(0) };
    static LIVE: Cell<i64> = const { Cell::new(0) };
}

fn live(delta: i64) {
    let _ = LIVE.try_with(|c| c.set(c.get() + delta));
}

/// Bytes allocated minus bytes freed so far on the calling thread (through
/// [`ThreadCounting`]): what the thread holds, when what it allocates it also frees (memory
/// handed to or freed by other threads makes it drift).
pub fn thread_live_bytes() -> i64 {
    LIVE.try_with(Cell::get).unwrap_or(0)
}

fn bump(bytes: usize) {
    // `try_with`: a thread being torn down has no counter any more; that is fine.
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
    let _ = BYTES.try_with(|c| c.set(c.get() + bytes as u64));
}

/// Bytes asked for so far on the calling thread by allocations and reallocations (a
/// reallocation counts its new size), through [`ThreadCounting`]; 0 otherwise. Freed bytes
/// are not subtracted: this measures allocation traffic, not what is held.
pub fn thread_allocated_bytes() -> u64 {
    BYTES.try_with(Cell::get).unwrap_or(0)
}

/// Allocations and reallocations made so far on the calling thread (through
/// [`ThreadCounting`], when it is the global allocator; 0 otherwise).
pub fn thread_allocations() -> u64 {
    ALLOCS.try_with(Cell::get).unwrap_or(0)
}

/// Forwards to [`System`] and counts allocations, zeroed allocations and reallocations
/// per thread. See the [module docs](self).
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadCounting;

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the only
// addition is bumping const-initialised thread-local `Cell`s without a destructor, which
// neither allocates nor re-enters the allocator.
unsafe impl GlobalAlloc for ThreadCounting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump(layout.size());
        live(layout.size() as i64);
        // SAFETY: forwarded unchanged (the caller upholds `GlobalAlloc::alloc`'s contract).
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump(layout.size());
        live(layout.size() as i64);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        live(-(layout.size() as i64));
        // SAFETY: `ptr` came from `System` through this allocator with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump(new_size);
        live(new_size as i64 - layout.size() as i64);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
