//! Object pools whose items return to the pool when the last shared handle is dropped.
//!
//! A [`Pool<T>`] keeps its free items in a lock-free `crossbeam_queue::ArrayQueue`. An
//! acquired item is a [`Pooled<T>`]: a cheap clonable handle (an `Arc` clone, no
//! allocation) that shares the item without copying it. When the last handle is dropped
//! the item goes back to the free queue, keeping its heap buffers, so steady-state use
//! allocates nothing.
//!
//! Two handles dropped at the same instant may both see another handle alive; then
//! neither returns the item, which is simply freed (its slot tells the pool, which makes a
//! new one on a later acquire). That costs an allocation, never safety or capacity.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_queue::ArrayQueue;

struct Inner<T> {
    free: ArrayQueue<Arc<Slot<T>>>,
    make: Box<dyn Fn() -> T + Send + Sync>,
    created: Arc<AtomicUsize>,
    capacity: usize,
}

/// An item and the pool's count of live items, which it decrements when freed.
struct Slot<T> {
    value: T,
    created: Arc<AtomicUsize>,
}

impl<T> Drop for Slot<T> {
    fn drop(&mut self) {
        self.created.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A bounded pool of reusable `T`s.
pub struct Pool<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for Pool<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Send + Sync + 'static> Pool<T> {
    /// A pool of at most `capacity` items, made on demand by `make`.
    pub fn new(capacity: usize, make: impl Fn() -> T + Send + Sync + 'static) -> Self {
        let capacity = capacity.max(1);
        Self {
            inner: Arc::new(Inner {
                free: ArrayQueue::new(capacity),
                make: Box::new(make),
                created: Arc::new(AtomicUsize::new(0)),
                capacity,
            }),
        }
    }

    /// Takes a free item, or makes one while fewer than `capacity` exist; `None` when every
    /// item is in use. The returned handle is unique, so [`Pooled::get_mut`] succeeds.
    pub fn try_acquire(&self) -> Option<Pooled<T>> {
        if let Some(item) = self.inner.free.pop() {
            return Some(Pooled {
                item: Some(item),
                pool: self.inner.clone(),
            });
        }
        let n = self.inner.created.fetch_add(1, Ordering::Relaxed);
        if n >= self.inner.capacity {
            self.inner.created.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        Some(Pooled {
            item: Some(Arc::new(Slot {
                value: (self.inner.make)(),
                created: self.inner.created.clone(),
            })),
            pool: self.inner.clone(),
        })
    }

    /// Like [`Pool::try_acquire`] but waits (yielding, then sleeping briefly) until an item
    /// is free or `give_up` returns true.
    pub fn acquire_or(&self, mut give_up: impl FnMut() -> bool) -> Option<Pooled<T>> {
        let mut spins = 0u32;
        loop {
            if let Some(p) = self.try_acquire() {
                return Some(p);
            }
            if give_up() {
                return None;
            }
            spins += 1;
            if spins < 64 {
                std::thread::yield_now();
            } else {
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
        }
    }

    /// Items currently free in the pool.
    pub fn free(&self) -> usize {
        self.inner.free.len()
    }

    /// Items made so far and still owned by the pool or its handles.
    pub fn created(&self) -> usize {
        self.inner.created.load(Ordering::Relaxed)
    }

    /// The most items this pool will make.
    pub fn capacity(&self) -> usize {
        self.inner.capacity
    }
}

/// A shared handle to a pooled item. Cloning shares the item; dropping the last handle
/// returns it to its pool.
pub struct Pooled<T> {
    item: Option<Arc<Slot<T>>>,
    pool: Arc<Inner<T>>,
}

impl<T> Pooled<T> {
    /// Mutable access while this is the only handle (always true right after acquire).
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.item
            .as_mut()
            .and_then(Arc::get_mut)
            .map(|s| &mut s.value)
    }

    /// Number of handles sharing the item.
    pub fn handles(&self) -> usize {
        self.item.as_ref().map_or(0, Arc::strong_count)
    }
}

impl<T> Clone for Pooled<T> {
    fn clone(&self) -> Self {
        Self {
            item: self.item.clone(),
            pool: self.pool.clone(),
        }
    }
}

impl<T> std::ops::Deref for Pooled<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self
            .item
            .as_ref()
            .expect("a live Pooled always holds its item")
            .value
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Pooled<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

impl<T> Drop for Pooled<T> {
    fn drop(&mut self) {
        if let Some(item) = self.item.take() {
            // Only the last handle sees a count of 1; nobody else can clone it any more.
            // A full free queue (cannot happen while `created <= capacity`) drops the item,
            // and its slot decrements the count.
            if Arc::strong_count(&item) == 1 {
                let _ = self.pool.free.push(item);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_return_on_last_drop_and_keep_their_buffers() {
        let pool = Pool::new(2, || Vec::<u8>::with_capacity(16));
        let mut a = pool.try_acquire().unwrap();
        a.get_mut().unwrap().extend_from_slice(b"hello");
        let ptr = a.as_ptr();
        let shared = a.clone();
        assert!(a.get_mut().is_none(), "shared items are read-only");
        drop(a);
        assert_eq!(pool.free(), 0);
        drop(shared);
        assert_eq!(pool.free(), 1);
        let b = pool.try_acquire().unwrap();
        assert_eq!(b.as_ptr(), ptr, "the same buffer comes back");
    }

    #[test]
    fn bounded() {
        let pool = Pool::new(2, || 0u32);
        let a = pool.try_acquire().unwrap();
        let _b = pool.try_acquire().unwrap();
        assert!(pool.try_acquire().is_none());
        drop(a);
        assert!(pool.try_acquire().is_some());
        assert_eq!(pool.created(), 2);
    }

    #[test]
    fn concurrent_drops_never_lose_more_than_capacity() {
        let pool = Pool::new(4, || [0u8; 64]);
        for _ in 0..2000 {
            let p = pool.acquire_or(|| false).unwrap();
            let clones: Vec<_> = (0..3).map(|_| p.clone()).collect();
            drop(p);
            std::thread::scope(|s| {
                for c in clones {
                    s.spawn(move || drop(c));
                }
            });
        }
        assert!(pool.created() <= 4);
        // Whatever races happened, the pool still hands out its full capacity.
        let all: Vec<_> = (0..4)
            .map(|_| pool.try_acquire().expect("capacity kept"))
            .collect();
        assert!(pool.try_acquire().is_none());
        drop(all);
        assert_eq!(pool.free(), 4);
    }
}
