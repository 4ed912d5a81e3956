//! [`ReuseList`]: a result list that keeps its elements' heap buffers when it shrinks, so a
//! result whose length changes from frame to frame does not allocate once warm.

use serde::Serialize;

/// A list whose first `len` elements are live; retired elements keep their buffers for reuse.
/// Serializes, compares and clones as the live slice.
#[derive(Debug)]
pub struct ReuseList<T> {
    items: Vec<T>,
    len: usize,
}

impl<T> Default for ReuseList<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            len: 0,
        }
    }
}

impl<T: Default> ReuseList<T> {
    /// An empty list with room for `n` elements.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            items: Vec::with_capacity(n),
            len: 0,
        }
    }

    /// Forgets every element (keeping their storage).
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Appends an element, reusing a retired one when there is one; returns it to fill in.
    pub fn push(&mut self) -> &mut T {
        if self.len == self.items.len() {
            self.items.push(T::default());
        }
        self.len += 1;
        &mut self.items[self.len - 1]
    }
}

impl<T> std::ops::Deref for ReuseList<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.items[..self.len]
    }
}

impl<T: Clone + Default> Clone for ReuseList<T> {
    fn clone(&self) -> Self {
        Self {
            items: self.to_vec(),
            len: self.len,
        }
    }
    fn clone_from(&mut self, src: &Self) {
        self.clear();
        for e in src.iter() {
            self.push().clone_from(e);
        }
    }
}

impl<T: PartialEq> PartialEq for ReuseList<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Serialize> Serialize for ReuseList<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}
