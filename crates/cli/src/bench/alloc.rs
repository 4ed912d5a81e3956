//! Allocation counting for the benchmarks. With the cargo feature `bench-alloc`, the
//! `framebus` binary uses `stats_alloc`'s counting allocator (a few atomic adds per
//! allocation); without it nothing is counted and the figures say so. The feature stays off
//! by default so a normal build pays nothing.

/// Allocations (including reallocations) made so far by every thread, or `None` when the
/// binary was built without `bench-alloc`.
#[cfg(feature = "bench-alloc")]
pub(crate) fn count() -> Option<u64> {
    let s = GLOBAL.stats();
    Some((s.allocations + s.reallocations) as u64)
}

/// Allocations made so far, or `None` when the binary was built without `bench-alloc`.
#[cfg(not(feature = "bench-alloc"))]
pub(crate) fn count() -> Option<u64> {
    None
}

#[cfg(feature = "bench-alloc")]
#[global_allocator]
static GLOBAL: &stats_alloc::StatsAlloc<std::alloc::System> = &stats_alloc::INSTRUMENTED_SYSTEM;

/// The resident set size of this process, bytes (Linux; `None` elsewhere).
pub(crate) fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
