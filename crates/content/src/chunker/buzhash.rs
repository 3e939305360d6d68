//! Buzhash content-defined chunking compatible with boxo's `chunker/buzhash.go`.
//! NOTE: work in progress by the chunker helper; until then every input is cut at `MAX`.

use std::io::{self, Read};

/// Largest buzhash chunk.
pub(crate) const MAX: usize = 512 * 1024;

pub(crate) struct BuzhashChunks<R> {
    inner: super::SizeChunks<R>,
}

impl<R: Read> BuzhashChunks<R> {
    pub(crate) fn new(reader: R) -> Self {
        BuzhashChunks {
            inner: super::SizeChunks {
                reader,
                size: MAX,
                done: false,
            },
        }
    }
}

impl<R: Read> Iterator for BuzhashChunks<R> {
    type Item = io::Result<Vec<u8>>;
    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }
}
