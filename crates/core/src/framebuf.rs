//! [`FrameBuf`]: the pixel buffer of a frame, either on the heap or in shared memory (a memfd
//! the host maps and hands to process-isolated stages without copying). It derefs to
//! `[u8]`, so stages never see the difference.

use std::sync::Arc;

use crate::isolation::process::shm::{ShmRegion, ShmView};

/// Pixel bytes of a frame. Derefs to `[u8]`; [`FrameBuf::resize`] keeps the storage when it
/// is big enough, so a pooled frame stops allocating once warmed up.
pub struct FrameBuf {
    repr: Repr,
}

enum Repr {
    Heap(Vec<u8>),
    /// A memfd region (made on the first resize) and the used length.
    Shared(Option<ShmRegion>, usize),
    /// A read-only window into a worker's mapping of a host buffer.
    View(Arc<ShmView>, usize, usize),
}

impl FrameBuf {
    /// An empty heap buffer.
    pub fn new() -> Self {
        Self {
            repr: Repr::Heap(Vec::new()),
        }
    }

    /// An empty shared-memory buffer: its storage is a memfd, made on the first resize.
    pub fn shared() -> Self {
        Self {
            repr: Repr::Shared(None, 0),
        }
    }

    /// A read-only window `offset..offset + len` into a worker's mapping (worker side).
    /// `None` if the window does not fit in the mapping.
    pub fn view(map: Arc<ShmView>, offset: usize, len: usize) -> Option<Self> {
        let end = offset.checked_add(len)?;
        (end <= map.as_slice().len()).then_some(Self {
            repr: Repr::View(map, offset, len),
        })
    }

    /// The shared-memory region holding these bytes (always from offset 0), if any.
    pub fn shm(&self) -> Option<&ShmRegion> {
        match &self.repr {
            Repr::Shared(r, _) => r.as_ref(),
            _ => None,
        }
    }

    /// True for a memfd-backed buffer.
    pub fn is_shared(&self) -> bool {
        matches!(self.repr, Repr::Shared(..))
    }

    /// Sets the length, filling new bytes with `value`. A shared buffer grows into a new,
    /// larger memfd only when its capacity is exceeded. Panics on a read-only view.
    pub fn resize(&mut self, len: usize, value: u8) {
        match &mut self.repr {
            Repr::Heap(v) => v.resize(len, value),
            Repr::Shared(region, used) => {
                let cap = region.as_ref().map_or(0, ShmRegion::capacity);
                if len > cap {
                    match ShmRegion::new(len) {
                        Ok(mut fresh) => {
                            if let Some(old) = region.as_ref() {
                                fresh.as_mut_slice()[..*used]
                                    .copy_from_slice(&old.as_slice()[..*used]);
                            }
                            *region = Some(fresh);
                        }
                        Err(e) => {
                            // No memfd (sandbox, limits): keep working on the heap; a
                            // process stage then copies this frame and counts it.
                            tracing::warn!("shared frame memory unavailable: {e}");
                            let mut v = region
                                .as_ref()
                                .map_or_else(Vec::new, |r| r.as_slice()[..*used].to_vec());
                            v.resize(len, value);
                            self.repr = Repr::Heap(v);
                            return;
                        }
                    }
                }
                let r = region.as_mut().expect("a region exists once sized");
                if len > *used {
                    r.as_mut_slice()[*used..len].fill(value);
                }
                *used = len;
            }
            Repr::View(..) => panic!("a worker's frame view is read-only"),
        }
    }

    /// Empties the buffer, keeping its storage.
    pub fn clear(&mut self) {
        self.resize(0, 0);
    }

    /// Appends bytes (heap buffers grow; shared ones within or beyond capacity as in
    /// [`FrameBuf::resize`]).
    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        let at = self.len();
        self.resize(at + bytes.len(), 0);
        self[at..].copy_from_slice(bytes);
    }
}

impl Default for FrameBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl From<Vec<u8>> for FrameBuf {
    fn from(v: Vec<u8>) -> Self {
        Self {
            repr: Repr::Heap(v),
        }
    }
}

impl std::ops::Deref for FrameBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.repr {
            Repr::Heap(v) => v,
            Repr::Shared(r, used) => r.as_ref().map_or(&[], |r| &r.as_slice()[..*used]),
            Repr::View(m, off, len) => &m.as_slice()[*off..*off + *len],
        }
    }
}

impl std::ops::DerefMut for FrameBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        match &mut self.repr {
            Repr::Heap(v) => v,
            Repr::Shared(r, used) => r
                .as_mut()
                .map_or(&mut [], |r| &mut r.as_mut_slice()[..*used]),
            Repr::View(..) => panic!("a worker's frame view is read-only"),
        }
    }
}

/// Clones into a heap buffer (a clone is a private copy, not another view of shared memory).
impl Clone for FrameBuf {
    fn clone(&self) -> Self {
        Self::from(self.to_vec())
    }
}

impl std::fmt::Debug for FrameBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.repr {
            Repr::Heap(_) => "heap",
            Repr::Shared(..) => "shared",
            Repr::View(..) => "view",
        };
        write!(f, "FrameBuf({kind}, {} bytes)", self.len())
    }
}

impl PartialEq for FrameBuf {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_buffers_resize_within_capacity_without_a_new_memfd() {
        let mut b = FrameBuf::shared();
        assert!(b.shm().is_none());
        b.resize(100, 7);
        let id = b.shm().unwrap().id();
        assert_eq!(&b[..], &[7u8; 100][..]);
        b.resize(50, 0);
        b.resize(4000, 1);
        assert_eq!(b.shm().unwrap().id(), id, "same memfd within capacity");
        assert_eq!(b[49], 7);
        assert_eq!(b[50], 1);
        b.resize(10_000, 2);
        assert_ne!(b.shm().unwrap().id(), id, "a larger memfd past capacity");
        assert_eq!(b[0], 7, "contents kept");
        assert_eq!(b.len(), 10_000);
        b[9_999] = 3;
        assert_eq!(b.clone()[9_999], 3);
        assert!(b.clone().shm().is_none(), "a clone is a heap copy");
    }

    #[test]
    fn views_check_their_window() {
        let mut r = ShmRegion::new(16).unwrap();
        r.as_mut_slice()[4] = 9;
        let v = Arc::new(ShmView::map(r.fd().try_clone_to_owned().unwrap(), 16).unwrap());
        let b = FrameBuf::view(v.clone(), 4, 2).unwrap();
        assert_eq!(&b[..], &[9, 0]);
        assert!(FrameBuf::view(v, 10, 7).is_none());
    }
}
