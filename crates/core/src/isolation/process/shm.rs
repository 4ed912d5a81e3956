//! Shared memory for frames: a memfd mapped read-write by the host ([`ShmRegion`], the pixels
//! of a pooled frame) and read-only by a worker ([`ShmView`]). The fd crosses the socket once
//! per buffer (see [`super::wire`]); every later frame in that buffer copies no pixels.
//!
//! The two `mmap` calls are the only `unsafe` in the isolation code.

#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::{Mmap, MmapMut, MmapOptions};
use rustix::fs::{MemfdFlags, memfd_create};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Rounds up to whole 4 KiB pages (a region is never empty: `mmap` refuses length 0).
fn page_round(len: usize) -> usize {
    len.max(1).div_ceil(4096) * 4096
}

/// A memfd of fixed capacity, mapped read-write and shared in this process.
pub struct ShmRegion {
    id: u64,
    file: File,
    map: MmapMut,
}

impl ShmRegion {
    /// A zero-filled region of at least `capacity` bytes (rounded up to whole pages).
    pub fn new(capacity: usize) -> io::Result<Self> {
        let capacity = page_round(capacity);
        let fd = memfd_create("framebus-frame", MemfdFlags::CLOEXEC)?;
        let file = File::from(fd);
        file.set_len(capacity as u64)?;
        // SAFETY: the memfd is ours alone until we pass it to a worker, which maps it
        // read-only; nobody truncates it (its size is fixed here), so the mapping stays
        // valid for its whole life. Concurrent writes by a worker are impossible (PROT_READ
        // on its side), so handing out `&mut [u8]` through `&mut self` is sound.
        let map = unsafe { MmapOptions::new().len(capacity).map_mut(&file)? };
        Ok(Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            file,
            map,
        })
    }

    /// Unique id of this region for the process's lifetime (the protocol's `buffer`).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Bytes mapped.
    pub fn capacity(&self) -> usize {
        self.map.len()
    }

    /// The memfd (to pass to a worker).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }

    /// The whole mapping.
    pub fn as_slice(&self) -> &[u8] {
        &self.map
    }

    /// The whole mapping, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.map
    }
}

impl std::fmt::Debug for ShmRegion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShmRegion")
            .field("id", &self.id)
            .field("capacity", &self.map.len())
            .finish()
    }
}

/// A worker's read-only mapping of a memfd it was given.
pub struct ShmView {
    map: Mmap,
}

impl ShmView {
    /// Maps the first `len` bytes of `fd` read-only and shared; the fd is closed afterwards
    /// (the mapping keeps the memory alive).
    pub fn map(fd: OwnedFd, len: usize) -> io::Result<Self> {
        let file = File::from(fd);
        let size = file.metadata()?.len();
        if (len as u64) > size {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("buffer of {size} bytes is shorter than the {len} announced"),
            ));
        }
        // SAFETY: the length was checked against the file's size above, and the host never
        // shrinks a frame memfd, so every mapped page stays backed. The mapping is
        // read-only: the host may write pixels of a later frame while we hold it, but the
        // protocol is request/response, so it only does so between our frames; a misbehaving
        // host can at worst show us torn pixels, never make us touch unmapped memory.
        let map = unsafe { MmapOptions::new().len(len.max(1)).map(&file)? };
        Ok(Self { map })
    }

    /// The mapped bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_is_shared_with_a_read_only_view_of_its_fd() {
        let mut r = ShmRegion::new(10).unwrap();
        assert_eq!(r.capacity(), 4096);
        r.as_mut_slice()[..5].copy_from_slice(b"hello");
        let fd = r.fd().try_clone_to_owned().unwrap();
        let v = ShmView::map(fd, 4096).unwrap();
        assert_eq!(&v.as_slice()[..5], b"hello");
        // Writes after mapping are seen through the view: the same pages, no copy.
        r.as_mut_slice()[0] = b'j';
        assert_eq!(&v.as_slice()[..5], b"jello");
        let other = ShmRegion::new(10).unwrap();
        assert_ne!(other.id(), r.id());
    }

    #[test]
    fn a_view_longer_than_its_memfd_is_refused() {
        let r = ShmRegion::new(4096).unwrap();
        let fd = r.fd().try_clone_to_owned().unwrap();
        let e = ShmView::map(fd, 1 << 20).err().expect("refused");
        assert!(e.to_string().contains("shorter"), "{e}");
    }
}
