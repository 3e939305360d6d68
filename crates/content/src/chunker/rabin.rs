//! Rabin fingerprint chunking compatible with Go's `whyrusleeping/chunker` as used by boxo.
//! NOTE: work in progress by the chunker helper; until then every input is cut at `max`.

use std::io::{self, Read};

/// Default average chunk size of `--chunker=rabin`.
pub(crate) const DEFAULT_AVG: usize = 262_144;

pub(crate) struct RabinChunks<R> {
    inner: super::SizeChunks<R>,
}

impl<R: Read> RabinChunks<R> {
    pub(crate) fn new(reader: R, _min: usize, _avg: usize, max: usize) -> Self {
        RabinChunks {
            inner: super::SizeChunks {
                reader,
                size: max,
                done: false,
            },
        }
    }
}

impl<R: Read> Iterator for RabinChunks<R> {
    type Item = io::Result<Vec<u8>>;
    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }
}
