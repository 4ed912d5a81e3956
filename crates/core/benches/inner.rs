//! Inner loops of the runtime, timed with divan: pool acquire/release, edge send/recv, and
//! snapshot serialization. divan's allocation profiler prints allocations per iteration
//! beside each time (one iteration = one frame for the snapshot benches).
//!
//! Run: `cargo bench -p framebus-core --bench inner`. Times are printed, never asserted.

mod common;

use std::sync::Arc;

use divan::Bencher;
use framebus_core::edge::{EdgePolicy, edge};
use framebus_core::frame::{FramePool, PixelFormat};
use framebus_core::harness::Harness;
use framebus_core::pool::Pool;

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

fn main() {
    divan::main();
}

/// Pool acquire then release.
mod pool {
    use super::*;

    /// A bare pool of 4 KiB buffers.
    #[divan::bench]
    fn acquire_release_vec(b: Bencher) {
        let pool = Pool::new(8, || vec![0u8; 4096]);
        b.bench_local(|| pool.try_acquire().map(|p| p.len()));
    }

    /// A frame pool, 640×480 RGB (reshape of a buffer already big enough: no allocation).
    #[divan::bench]
    fn acquire_release_frame_640x480(b: Bencher) {
        let pool = FramePool::new(8, Arc::from("camera_0"), 0);
        b.bench_local(|| {
            pool.try_acquire(640, 480, PixelFormat::Rgb8)
                .map(|f| f.stride)
        });
    }

    /// Acquire, share with three clones (as three consumers would), drop all.
    #[divan::bench]
    fn acquire_share3_release(b: Bencher) {
        let pool = Pool::new(8, || vec![0u8; 4096]);
        b.bench_local(|| {
            let p = pool.try_acquire()?;
            let (a, c, d) = (p.clone(), p.clone(), p.clone());
            Some(a.len() + c.len() + d.len())
        });
    }
}

/// Edge send then receive on one thread (the uncontended cost of the edge itself).
mod edge_send_recv {
    use super::*;

    #[divan::bench(args = ["latest", "drop_oldest_4", "block_4"])]
    fn u64_item(b: Bencher, policy: &str) {
        let policy = match policy {
            "latest" => EdgePolicy::Latest,
            "drop_oldest_4" => EdgePolicy::DropOldest { capacity: 4 },
            _ => EdgePolicy::Block { capacity: 4 },
        };
        let (tx, rx) = edge::<u64>(policy);
        let mut i = 0u64;
        b.bench_local(|| {
            i += 1;
            let _ = tx.send(i);
            rx.rx.try_recv().ok()
        });
    }

    /// A pooled frame through a `latest` edge (acquire, send, receive, drop).
    #[divan::bench]
    fn frame_latest(b: Bencher) {
        let pool = FramePool::new(8, Arc::from("camera_0"), 0);
        let (tx, rx) = edge(EdgePolicy::Latest);
        b.bench_local(|| {
            if let Some(f) = pool.try_acquire(64, 48, PixelFormat::Gray8) {
                let _ = tx.send(f);
            }
            rx.rx.try_recv().ok().map(|f| f.width)
        });
    }

    /// Eviction: a `latest` edge that already holds an unread item.
    #[divan::bench]
    fn latest_overwrite(b: Bencher) {
        let (tx, _rx) = edge::<u64>(EdgePolicy::Latest);
        let mut i = 0u64;
        b.bench_local(|| {
            i += 1;
            tx.send(i).is_ok()
        });
    }
}

/// Run stages and serialize the snapshot, one frame per iteration.
mod snapshot {
    use super::*;

    /// No stages: the pipeline's fixed cost plus the bare snapshot.
    #[divan::bench]
    fn no_stages(b: Bencher) {
        let mut h = Harness::builder().build().expect("empty harness");
        b.bench_local(|| common::step(&mut h));
    }

    /// Three stages writing a list, a point, a signal, a widget and a struct.
    #[divan::bench]
    fn three_stages(b: Bencher) {
        let mut h = common::three_stage_harness();
        for _ in 0..100 {
            common::step(&mut h);
        }
        b.bench_local(|| common::step(&mut h));
    }
}
