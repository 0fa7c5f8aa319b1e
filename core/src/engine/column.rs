//! [`Column`]: one column of the bar stream, read in place. The bindings hand the engine the stream's
//! read-only NumPy arrays and the engine reads their buffers where they are, so a run holds the bar stream
//! once (issue #18: a copy inside the engine was 80 bytes per bar). Tests and pure-Rust callers build a
//! column from a `Vec`.

use std::any::Any;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// A read-only column: its own `Vec`, or `len` values at `ptr` kept alive by `owner` (a buffer nobody writes
/// while the owner lives). Reads as a slice; a write (tests only) first copies a shared column into its own
/// `Vec`.
pub struct Column<T: 'static> {
    inner: Inner<T>,
}

enum Inner<T: 'static> {
    Owned(Vec<T>),
    Shared {
        ptr: *const T,
        len: usize,
        _owner: Arc<dyn Any + Send + Sync>,
    },
}

// SAFETY: a shared column is a read-only view of a buffer that no one writes while `_owner` lives (the
// contract of `Column::shared`), so reading it from any thread is as safe as reading a `&[T]`.
unsafe impl<T: Send + Sync> Send for Column<T> {}
// SAFETY: as above; `&Column` only gives `&[T]`.
unsafe impl<T: Send + Sync> Sync for Column<T> {}

impl<T: Copy + 'static> Column<T> {
    /// The `len` values at `ptr`, read in place for as long as the column lives.
    ///
    /// # Safety
    /// `ptr` must point to `len` initialized, aligned values of `T` that stay valid and unchanged while
    /// `owner` is alive (the column keeps `owner` alive).
    pub unsafe fn shared(ptr: *const T, len: usize, owner: Arc<dyn Any + Send + Sync>) -> Self {
        Self {
            inner: Inner::Shared {
                ptr,
                len,
                _owner: owner,
            },
        }
    }

    /// The column as its own `Vec` (copying a shared column once), for writing.
    pub fn make_mut(&mut self) -> &mut Vec<T> {
        if let Inner::Shared { .. } = self.inner {
            self.inner = Inner::Owned(self.deref().to_vec());
        }
        match &mut self.inner {
            Inner::Owned(values) => values,
            Inner::Shared { .. } => unreachable!("made owned above"),
        }
    }

    /// Whether the column reads another owner's buffer in place (no copy was made).
    pub fn is_shared(&self) -> bool {
        matches!(self.inner, Inner::Shared { .. })
    }
}

impl<T: 'static> Deref for Column<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match &self.inner {
            Inner::Owned(values) => values,
            // from_raw_parts wants a non-null pointer even for no values (NumPy may give null for an empty array)
            Inner::Shared { len: 0, .. } => &[],
            // SAFETY: the contract of `Column::shared`.
            Inner::Shared { ptr, len, .. } => unsafe { std::slice::from_raw_parts(*ptr, *len) },
        }
    }
}

impl<T: Copy + 'static> DerefMut for Column<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        self.make_mut()
    }
}

impl<T: 'static> From<Vec<T>> for Column<T> {
    fn from(values: Vec<T>) -> Self {
        Self {
            inner: Inner::Owned(values),
        }
    }
}

impl<T: 'static> FromIterator<T> for Column<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Vec::from_iter(iter).into()
    }
}

impl<T: 'static> Default for Column<T> {
    fn default() -> Self {
        Vec::new().into()
    }
}

impl<T: Clone + 'static> Clone for Column<T> {
    fn clone(&self) -> Self {
        let inner = match &self.inner {
            Inner::Owned(values) => Inner::Owned(values.clone()),
            Inner::Shared { ptr, len, _owner } => Inner::Shared {
                ptr: *ptr,
                len: *len,
                _owner: Arc::clone(_owner),
            },
        };
        Self { inner }
    }
}

impl<T: fmt::Debug + 'static> fmt::Debug for Column<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_column_reads_in_place_and_copies_on_write() {
        let buffer: Arc<Vec<f64>> = Arc::new(vec![1.0, 2.0, 3.0]);
        let owner: Arc<dyn Any + Send + Sync> = buffer.clone();
        // SAFETY: `buffer` is never written and `owner` keeps it alive.
        let mut column = unsafe { Column::shared(buffer.as_ptr(), buffer.len(), owner) };
        assert!(column.is_shared());
        assert_eq!(column.as_ptr(), buffer.as_ptr(), "no copy");
        assert_eq!(&column[..], [1.0, 2.0, 3.0]);
        let copy = column.clone();
        assert!(copy.is_shared() && copy.as_ptr() == buffer.as_ptr());
        column[0] = 9.0;
        assert!(!column.is_shared());
        assert_eq!((&column[..], &buffer[..]), (&[9.0, 2.0, 3.0][..], &[1.0, 2.0, 3.0][..]));
    }

    #[test]
    fn an_empty_shared_column_is_an_empty_slice() {
        let owner: Arc<dyn Any + Send + Sync> = Arc::new(());
        // SAFETY: no value is read.
        let column: Column<i64> = unsafe { Column::shared(std::ptr::null(), 0, owner) };
        assert!(column.is_empty());
    }
}
