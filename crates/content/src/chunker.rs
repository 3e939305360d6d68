//! Chunkers: how `ipfs add` splits a byte stream (`--chunker=size-N|rabin[-…]|buzhash`).

use std::io::{self, Read};
use std::str::FromStr;

use crate::{Error, Result};

/// Default chunk size of Kubo's `size` chunker (256 KiB).
pub const DEFAULT_CHUNK_SIZE: usize = 262_144;
/// Largest chunk any chunker may produce (Kubo's limit).
pub const CHUNK_SIZE_LIMIT: usize = 2 * 1024 * 1024 - 256;

/// A parsed `--chunker` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ChunkerSpec {
    /// Fixed-size chunks of `size` bytes (last one shorter).
    Size {
        /// Chunk size in bytes.
        size: usize,
    },
    /// Rabin fingerprint content-defined chunking (Go `whyrusleeping/chunker` compatible).
    Rabin {
        /// Minimum chunk size.
        min: usize,
        /// Average (target) chunk size.
        avg: usize,
        /// Maximum chunk size.
        max: usize,
    },
    /// Buzhash content-defined chunking (boxo compatible).
    Buzhash,
}

impl Default for ChunkerSpec {
    fn default() -> Self {
        ChunkerSpec::Size {
            size: DEFAULT_CHUNK_SIZE,
        }
    }
}

impl ChunkerSpec {
    /// The largest chunk this chunker can produce.
    pub fn max_chunk(&self) -> usize {
        match *self {
            ChunkerSpec::Size { size } => size,
            ChunkerSpec::Rabin { max, .. } => max,
            ChunkerSpec::Buzhash => crate::chunker::buzhash::MAX,
        }
    }

    /// Split `reader` into chunks. An empty input yields no chunk.
    pub fn chunks<'a, R: Read + Send + 'a>(
        &self,
        reader: R,
    ) -> Box<dyn Iterator<Item = io::Result<Vec<u8>>> + Send + 'a> {
        match *self {
            ChunkerSpec::Size { size } => Box::new(SizeChunks {
                reader,
                size,
                done: false,
            }),
            ChunkerSpec::Rabin { min, avg, max } => {
                Box::new(rabin::RabinChunks::new(reader, min, avg, max))
            }
            ChunkerSpec::Buzhash => Box::new(buzhash::BuzhashChunks::new(reader)),
        }
    }
}

impl FromStr for ChunkerSpec {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: String| Error::InvalidOption(format!("chunker {s:?}: {why}"));
        let num = |p: &str| {
            p.parse::<usize>()
                .map_err(|_| bad(format!("{p:?} is not a number")))
        };
        let spec = if s.is_empty() || s == "default" {
            ChunkerSpec::default()
        } else if s == "buzhash" || s.starts_with("buzhash-") {
            // boxo ignores anything after `buzhash-`
            ChunkerSpec::Buzhash
        } else if let Some(n) = s.strip_prefix("size-") {
            let size = num(n)?;
            if size == 0 {
                return Err(bad("chunk size must be greater than 0".into()));
            }
            ChunkerSpec::Size { size }
        } else if s == "rabin" || s.starts_with("rabin-") {
            let parts: Vec<&str> = s.split('-').skip(1).collect();
            let (min, avg, max) = match parts.as_slice() {
                [] => {
                    let avg = rabin::DEFAULT_AVG;
                    (avg / 3, avg, avg + avg / 2)
                }
                [avg] => {
                    let avg = num(avg)?;
                    (avg / 3, avg, avg + avg / 2)
                }
                // boxo accepts optional `min:`, `avg:`, `max:` labels
                [min, avg, max] => {
                    let label = |p: &'_ str, name: &str| match p.split_once(':') {
                        Some((l, v)) if l == name => Ok(v.to_owned()),
                        Some(_) => Err(bad(format!("label of {p:?} must be {name}"))),
                        None => Ok(p.to_owned()),
                    };
                    (
                        num(&label(min, "min")?)?,
                        num(&label(avg, "avg")?)?,
                        num(&label(max, "max")?)?,
                    )
                }
                _ => return Err(bad("use rabin, rabin-AVG or rabin-MIN-AVG-MAX".into())),
            };
            if min < 16 {
                return Err(bad("rabin min must be at least 16".into()));
            }
            if !(min < avg && avg < max) {
                return Err(bad("rabin needs min < avg < max".into()));
            }
            ChunkerSpec::Rabin { min, avg, max }
        } else {
            return Err(bad(
                "unknown chunker (use size-N, rabin[-...] or buzhash)".into()
            ));
        };
        if spec.max_chunk() > CHUNK_SIZE_LIMIT {
            return Err(bad(format!(
                "chunks may not exceed {CHUNK_SIZE_LIMIT} bytes"
            )));
        }
        Ok(spec)
    }
}

impl std::fmt::Display for ChunkerSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChunkerSpec::Size { size } => write!(f, "size-{size}"),
            ChunkerSpec::Rabin { min, avg, max } => write!(f, "rabin-{min}-{avg}-{max}"),
            ChunkerSpec::Buzhash => f.write_str("buzhash"),
        }
    }
}

/// Read until `buf` is full or the input ends; returns bytes read.
pub(crate) fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

struct SizeChunks<R> {
    reader: R,
    size: usize,
    done: bool,
}

impl<R: Read> Iterator for SizeChunks<R> {
    type Item = io::Result<Vec<u8>>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut buf = vec![0u8; self.size];
        match read_full(&mut self.reader, &mut buf) {
            Ok(0) => {
                self.done = true;
                None
            }
            Ok(n) => {
                if n < self.size {
                    self.done = true;
                    buf.truncate(n);
                }
                Some(Ok(buf))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

pub(crate) mod buzhash;
pub(crate) mod rabin;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_specs() {
        assert_eq!("".parse::<ChunkerSpec>().unwrap(), ChunkerSpec::default());
        assert_eq!(
            "size-64".parse::<ChunkerSpec>().unwrap(),
            ChunkerSpec::Size { size: 64 }
        );
        assert_eq!(
            "rabin".parse::<ChunkerSpec>().unwrap(),
            ChunkerSpec::Rabin {
                min: 87381,
                avg: 262144,
                max: 393216
            }
        );
        assert_eq!(
            "rabin-36-512-1024".parse::<ChunkerSpec>().unwrap(),
            ChunkerSpec::Rabin {
                min: 36,
                avg: 512,
                max: 1024
            }
        );
        assert_eq!(
            "rabin-min:16-avg:32-max:64".parse::<ChunkerSpec>().unwrap(),
            ChunkerSpec::Rabin {
                min: 16,
                avg: 32,
                max: 64
            }
        );
        assert_eq!(
            "buzhash-x".parse::<ChunkerSpec>().unwrap(),
            ChunkerSpec::Buzhash
        );
        for bad in [
            "size-0",
            "size-x",
            "rabin-1-2",
            "rabin-8-16-32",
            "size",
            "rabin-16-16-32",
            "rabin-16-32-32",
            "rabin-max:16-avg:32-min:64",
            "foo",
            "size-99999999",
        ] {
            assert!(bad.parse::<ChunkerSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn size_chunks() {
        let data = vec![7u8; 1000];
        let spec = ChunkerSpec::Size { size: 300 };
        let sizes: Vec<usize> = spec.chunks(&data[..]).map(|c| c.unwrap().len()).collect();
        assert_eq!(sizes, [300, 300, 300, 100]);
        assert_eq!(spec.chunks(&[][..]).count(), 0);
    }
}
