//! `ThreadCounting` counts this thread's allocations and reallocations, and not another
//! thread's.

use framebus_testkit::alloc::{
    ThreadCounting, thread_allocated_bytes, thread_allocations, thread_live_bytes,
};

#[global_allocator]
static A: ThreadCounting = ThreadCounting;

#[test]
fn counts_this_threads_allocations_only() {
    let before = thread_allocations();
    let bytes = thread_allocated_bytes();
    let mut v: Vec<u64> = Vec::with_capacity(4);
    v.extend([1, 2, 3, 4]);
    assert_eq!(thread_allocations() - before, 1, "one allocation");
    assert_eq!(thread_allocated_bytes() - bytes, 32, "of 4 × 8 bytes");
    v.push(5);
    assert_eq!(thread_allocations() - before, 2, "and one reallocation");
    assert_eq!(thread_allocated_bytes() - bytes, 32 + 64, "to 8 × 8 bytes");
    let before = thread_allocations();
    std::thread::spawn(|| {
        let s: Vec<String> = (0..100).map(|i| i.to_string()).collect();
        assert!(thread_allocations() >= 100);
        s.len()
    })
    .join()
    .unwrap();
    drop(v);
    // Spawning and joining allocate on this thread too (the handle); the other thread's
    // hundred strings are not counted here.
    assert!(thread_allocations() - before < 20);
}

#[test]
fn live_bytes_rise_with_what_is_held_and_fall_when_freed() {
    let before = thread_live_bytes();
    let mut v: Vec<u8> = Vec::with_capacity(1000);
    assert_eq!(thread_live_bytes() - before, 1000);
    v.reserve_exact(3000);
    assert_eq!(
        thread_live_bytes() - before,
        3000,
        "a reallocation counts its growth"
    );
    drop(v);
    assert_eq!(thread_live_bytes(), before);
}
