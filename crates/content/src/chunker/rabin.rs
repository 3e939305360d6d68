//! Rabin fingerprint chunking compatible with Go's `whyrusleeping/chunker` as boxo's
//! `chunker/rabin.go` drives it (Kubo's `--chunker=rabin[-…]`).
//!
//! The fingerprint is a 64-bit polynomial hash over a sliding 16-byte window, reduced modulo an
//! irreducible polynomial of degree 53. Each chunk starts from a fresh state; the first
//! `min - 16` bytes of a chunk are skipped without hashing (so the window is full of chunk bytes by
//! the time a cut is allowed), and a cut falls after the first byte where the chunk is at least
//! `min` long and either `fingerprint & (2^⌊log2 avg⌋ - 1) == 0` or the chunk has reached `max`.

use std::io::{self, Read};
use std::sync::OnceLock;

#[cfg(test)]
#[path = "../../tests/support/gomathrand.rs"]
pub(super) mod gomathrand;

/// Default average chunk size of `--chunker=rabin`.
pub(crate) const DEFAULT_AVG: usize = 262_144;
/// Boxo's `IpfsRabinPoly`: the irreducible polynomial (degree 53) every Kubo rabin chunker uses.
pub(crate) const IPFS_POLYNOMIAL: u64 = 17_437_180_132_763_653;
/// Bytes in the sliding window (`windowSize` in Go's chunker).
const WINDOW: usize = 16;
/// How much is read from the input at a time.
const READ_BUF: usize = 64 * 1024;

/// Degree of a non-zero polynomial over GF(2).
fn degree(p: u64) -> u32 {
    63 - p.leading_zeros()
}

/// `x mod d` over GF(2) (`d` non-zero).
fn poly_mod(mut x: u64, d: u64) -> u64 {
    let dd = degree(d);
    while x != 0 && degree(x) >= dd {
        x ^= d << (degree(x) - dd);
    }
    x
}

/// Precomputed tables for one polynomial: `out[b]` removes byte `b` leaving the window,
/// `reduce[b]` folds the 8 bits shifted above the polynomial's degree back in.
#[derive(Clone)]
struct Tables {
    out: [u64; 256],
    reduce: [u64; 256],
    shift: u32,
}

impl Tables {
    /// Tables for `pol`, which must have a degree in 9..=55 so shifted values fit in 64 bits.
    fn new(pol: u64) -> Self {
        let deg = degree(pol);
        let mut out = [0u64; 256];
        let mut reduce = [0u64; 256];
        for b in 0..256u64 {
            // fingerprint of b followed by WINDOW-1 zero bytes
            let mut h = poly_mod(b, pol);
            for _ in 0..WINDOW - 1 {
                h = poly_mod(h << 8, pol);
            }
            out[b as usize] = h;
            reduce[b as usize] = poly_mod(b << deg, pol) | (b << deg);
        }
        Tables {
            out,
            reduce,
            shift: deg - 8,
        }
    }

    fn ipfs() -> &'static Tables {
        static TABLES: OnceLock<Tables> = OnceLock::new();
        TABLES.get_or_init(|| Tables::new(IPFS_POLYNOMIAL))
    }
}

/// Streaming rabin chunker: holds at most one chunk (`max` bytes) plus a 64 KiB read buffer.
pub(crate) struct RabinChunks<R> {
    reader: R,
    tables: &'static Tables,
    min: usize,
    max: usize,
    mask: u64,
    buf: Box<[u8]>,
    bpos: usize,
    bend: usize,
    chunk: Vec<u8>,
    window: [u8; WINDOW],
    wpos: usize,
    digest: u64,
    /// Bytes still to take into the chunk before fingerprinting starts.
    skip: usize,
    done: bool,
    /// The fingerprint at the last cut (Go's `Chunk.Cut`), for tests.
    #[cfg(test)]
    last_cut: u64,
}

impl<R: Read> RabinChunks<R> {
    /// Chunk `reader` with Kubo's polynomial. The parser guarantees `16 <= min < avg < max`;
    /// other values still give chunks in `[min, max]` (except the last), but Go rejects them.
    pub(crate) fn new(reader: R, min: usize, avg: usize, max: usize) -> Self {
        Self::with_tables(reader, Tables::ipfs(), min, avg, max)
    }

    fn with_tables(reader: R, tables: &'static Tables, min: usize, avg: usize, max: usize) -> Self {
        let bits = avg.max(1).ilog2();
        let mut c = RabinChunks {
            reader,
            tables,
            min,
            max,
            mask: (1u64 << bits) - 1,
            buf: vec![0u8; READ_BUF].into_boxed_slice(),
            bpos: 0,
            bend: 0,
            chunk: Vec::new(),
            window: [0; WINDOW],
            wpos: 0,
            digest: 0,
            skip: 0,
            done: false,
            #[cfg(test)]
            last_cut: 0,
        };
        c.reset();
        c
    }

    /// Fresh state for a new chunk: as Go does, the window starts zeroed with a single byte 1
    /// slid in (that byte leaves the window exactly when it fills with chunk bytes).
    fn reset(&mut self) {
        self.window = [0; WINDOW];
        self.wpos = 0;
        self.digest = 0;
        self.slide(1);
        self.skip = self.min.saturating_sub(WINDOW);
        self.chunk = Vec::with_capacity(self.min.min(self.max).min(1 << 20));
    }

    #[inline]
    fn slide(&mut self, b: u8) {
        let t = self.tables;
        let old = self.window[self.wpos];
        self.window[self.wpos] = b;
        self.wpos = (self.wpos + 1) % WINDOW;
        self.digest ^= t.out[old as usize];
        let index = (self.digest >> t.shift) as usize;
        self.digest = ((self.digest << 8) | u64::from(b)) ^ t.reduce[index & 0xff];
    }
}

impl<R: Read> Iterator for RabinChunks<R> {
    type Item = io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            if self.bpos == self.bend {
                match self.reader.read(&mut self.buf) {
                    Ok(0) => {
                        self.done = true;
                        #[cfg(test)]
                        {
                            self.last_cut = self.digest;
                        }
                        let last = std::mem::take(&mut self.chunk);
                        return (!last.is_empty()).then_some(Ok(last));
                    }
                    Ok(n) => {
                        self.bpos = 0;
                        self.bend = n.min(self.buf.len());
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
            }
            if self.skip > 0 {
                let n = self.skip.min(self.bend - self.bpos);
                self.chunk
                    .extend_from_slice(&self.buf[self.bpos..self.bpos + n]);
                self.bpos += n;
                self.skip -= n;
                continue;
            }
            let start = self.bpos;
            let before = self.chunk.len();
            for i in start..self.bend {
                self.slide(self.buf[i]);
                let len = before + (i - start) + 1;
                if len >= self.min && (self.digest & self.mask == 0 || len >= self.max) {
                    self.chunk.extend_from_slice(&self.buf[start..=i]);
                    self.bpos = i + 1;
                    let out = std::mem::take(&mut self.chunk);
                    #[cfg(test)]
                    {
                        self.last_cut = self.digest;
                    }
                    self.reset();
                    return Some(Ok(out));
                }
            }
            self.chunk.extend_from_slice(&self.buf[start..self.bend]);
            self.bpos = self.bend;
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// Kubo's deterministic test input: ChaCha20 keystream, key = SHA-256(seed), zero nonce.
    pub(in crate::chunker) fn chacha(seed: &str, size: usize) -> Vec<u8> {
        use chacha20::cipher::{KeyIvInit, StreamCipher};
        let key: [u8; 32] = Sha256::digest(seed.as_bytes()).into();
        let mut c = chacha20::ChaCha20::new(&key.into(), &[0u8; 12].into());
        let mut out = vec![0u8; size];
        c.apply_keystream(&mut out);
        out
    }

    /// A reader that hands out 1..=`step` bytes per call, varying, to test streaming.
    pub(in crate::chunker) struct Dribble<'a> {
        pub(in crate::chunker) data: &'a [u8],
        pub(in crate::chunker) step: usize,
        pub(in crate::chunker) n: usize,
    }

    impl Read for Dribble<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.n = self
                .n
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let want = 1 + (self.n >> 33) % self.step;
            let k = want.min(buf.len()).min(self.data.len());
            buf[..k].copy_from_slice(&self.data[..k]);
            self.data = &self.data[k..];
            Ok(k)
        }
    }

    fn sizes(data: &[u8], min: usize, avg: usize, max: usize) -> Vec<usize> {
        RabinChunks::new(data, min, avg, max)
            .map(|c| c.unwrap().len())
            .collect()
    }

    /// whyrusleeping/chunker's own test (chunker_test.go `TestChunker`, values for window 16):
    /// 32 MiB of Go `math/rand` `Uint32()` seeded with 23, polynomial 0x3DA3358B4DC173,
    /// avg 1 MiB, min 512 KiB, max 8 MiB: chunk lengths, cut fingerprints and SHA-256 digests.
    #[test]
    fn go_chunker_published_vector() {
        const CHUNKS: [(usize, u64, &str); 22] = [
            (
                1579758,
                0x001d06f777d00000,
                "2931d6dff887a8597b333fd13fcade3ee0c11ad747c5a0eb5ebe7f9d86ab4e42",
            ),
            (
                1089328,
                0x001c99190f500000,
                "c8a84f85953a2bfbc5555d43e570f5ffa8ca7f0db3a2bc6e47f9e5da06130313",
            ),
            (
                614316,
                0x0002e95018f00000,
                "2f99d99fd70f6bcbe01a945c81a5bb355ea8d82a368c82b6bbd57c81df0173db",
            ),
            (
                1183251,
                0x00187291a9d00000,
                "56db29489e7b8f81e9076d451db131a2501264452509ec5dd2732c5ca3d043da",
            ),
            (
                2079238,
                0x00150d9af0e00000,
                "9cd438ed06933b4d3e1ccbfef9e5b26d3e98171c557ed56a841d20d6b31cc1bb",
            ),
            (
                1282082,
                0x0001d7df88a00000,
                "63284dafb2da8040f01ee8c68e431d0e5c63fbc4c94e72826af3bbf9458edfee",
            ),
            (
                1656779,
                0x001881427eb00000,
                "31b07bddd5d4baf0c7a9d77e66b5134595a4b57ed9e10864dbae9a6cc8511361",
            ),
            (
                1053264,
                0x0006e8249a400000,
                "b630ea907fcae93b3b2da07de81d885eadb44b5a61e9d8d34d256c42acd54faf",
            ),
            (
                1028060,
                0x00179e806ee00000,
                "f91c9aa5ad51515ba9d2b22b88ce6064a5bca7d11a6233d641aaf4226b26f991",
            ),
            (
                896166,
                0x001a90cfa7900000,
                "b3b0faf1476b77ae20aecec498faa99d8743b6057d99cb35f8b8f3e178970f32",
            ),
            (
                1633016,
                0x001c77ba2dc00000,
                "7dfc1baf511bb19d003d7fde2718296681133a51995b4b7497381b4c7551f0ff",
            ),
            (
                1051769,
                0x001c7ee3e8900000,
                "e5cd24f70553b4cec0ff26e756a634d374c50280b21ed199d7dcc6f6c9d5b185",
            ),
            (
                5719810,
                0x00004e5c0ca00000,
                "21b576c8340813e1a3b517b5727ed256e3a13a060fa3b5a2b05279fc625dddce",
            ),
            (
                2490321,
                0x0014eedcd5900000,
                "47adb6a6cbf2ecfe18e1b90f03b19f8155bb7222d5ca264698c1f94666224043",
            ),
            (
                544210,
                0x00063fcba2b00000,
                "2a55f181b50a2af4efa85e2cb43479980490519537b85b945238cea33d682233",
            ),
            (
                892726,
                0x000b6da997300000,
                "10c413cd7eddfd4d5577984cc137fe25d59b357fe282aa4d6b085482eefc1127",
            ),
            (
                1147747,
                0x000745edc1700000,
                "c39a798ca1516b0bf41a925de18bc225df2c51078d0c5330a4230c0919c64a32",
            ),
            (
                1964963,
                0x000a609a0f900000,
                "e44ad9856707b191144ee597b845f8253906c3e1b4112cc28c49bf196e5f5be7",
            ),
            (
                798928,
                0x000ed5aa9e200000,
                "7bb618d427aa47512c414a682496e861c81c905deac8434fc55c1caf34655501",
            ),
            (
                2585098,
                0x00108d5fd0500000,
                "678291ddd056c63af055f206bf59c4e773036e2f67564edd3c159729586d1275",
            ),
            (
                975521,
                0x000603e82f500000,
                "faa1244cca467335cd3c04e4a9f9c2d72fa49b7e9d6c6392a68923d1372a16c0",
            ),
            (
                1288081,
                0x00097e6e5e2e0920,
                "857eab0067640c83275d628d2f22c027855afd8aa816bb1f15e6233d19fa8cea",
            ),
        ];
        let mut rng = gomathrand::GoRand::new(23);
        let data: Vec<u8> = (0..(32 << 20) / 4)
            .flat_map(|_| rng.uint32().to_le_bytes())
            .collect();
        static TEST_TABLES: OnceLock<Tables> = OnceLock::new();
        let tables = TEST_TABLES.get_or_init(|| Tables::new(0x3DA3358B4DC173));
        let mut ch = RabinChunks::with_tables(&data[..], tables, 512 << 10, 1 << 20, 8 << 20);
        for (i, (len, cut, sha)) in CHUNKS.into_iter().enumerate() {
            let chunk = ch.next().expect("a chunk").unwrap();
            assert_eq!(chunk.len(), len, "chunk {i}");
            assert_eq!(ch.last_cut, cut, "chunk {i} cut");
            assert_eq!(hex::encode(Sha256::digest(&chunk)), sha, "chunk {i}");
        }
        assert!(ch.next().is_none());

        // chunks2: zero bytes are cut exactly at min, with fingerprint 0
        let zeros = vec![0u8; 4 * (512 << 10)];
        let mut ch = RabinChunks::with_tables(&zeros[..], tables, 512 << 10, 1 << 20, 8 << 20);
        for _ in 0..4 {
            assert_eq!(ch.next().unwrap().unwrap().len(), 512 << 10);
            assert_eq!(ch.last_cut, 0);
        }
        assert!(ch.next().is_none());
    }

    /// Boundaries printed by Go 1.19 running whyrusleeping/chunker (@fe64bd2) through boxo's
    /// `NewRabinMinMax` (polynomial 17437180132763653) on the same inputs.
    #[test]
    fn ipfs_polynomial_matches_go() {
        let c1m = chacha("ipfs-reference-1MB", 1_000_000);
        assert_eq!(
            sizes(&c1m, 87381, 262144, 393216),
            [153448, 393216, 144683, 141229, 167424]
        );
        assert_eq!(
            sizes(&c1m, 16384, 65536, 131072),
            [
                131072, 22376, 55304, 68394, 27764, 17905, 34682, 73114, 101995, 51390, 107351,
                59286, 81943, 131072, 36352
            ]
        );
        let c4m = chacha("chunker-test", 4 << 20);
        assert_eq!(
            sizes(&c4m, 87381, 262144, 393216),
            [
                393216, 393216, 88581, 213523, 266808, 383474, 211184, 393216, 355039, 393216,
                393216, 120284, 173472, 355971, 59888
            ]
        );
        let r41 = gomathrand::go_math_rand_v1(41, 5 << 20);
        assert_eq!(
            sizes(&r41, 87381, 262144, 393216),
            [
                269688, 258612, 101128, 241637, 393216, 393216, 112628, 139925, 157208, 393216,
                146689, 393216, 281652, 182900, 318984, 129182, 393216, 182761, 220735, 299305,
                202622, 31144
            ]
        );
        assert_eq!(
            sizes(&r41, 16384, 65536, 131072),
            [
                81204, 51618, 93402, 43464, 131072, 65964, 61576, 18202, 82926, 59351, 131072,
                20233, 30981, 50574, 19091, 131072, 24013, 62902, 30768, 39905, 62427, 23033,
                19847, 118753, 122840, 94866, 91552, 24364, 27755, 52770, 42453, 42362, 43948,
                42052, 28846, 26944, 90101, 80095, 78401, 64357, 131072, 48110, 17934, 58705,
                125344, 131072, 37027, 70758, 29546, 60064, 82167, 83076, 47163, 42402, 93335,
                55433, 76102, 43158, 131072, 41189, 48507, 40533, 39212, 18135, 61103, 120792,
                68886, 30427, 80147, 47328, 101583, 20536, 131072, 63562, 26101, 131072, 31038,
                44384, 92811, 81999, 77830, 42793, 26746, 4398
            ]
        );
    }

    #[test]
    fn streaming_gives_the_same_cuts() {
        let data = chacha("rabin-stream", 3 << 20);
        let whole = sizes(&data, 16384, 65536, 131072);
        // as printed by Go (see ipfs_polynomial_matches_go)
        assert_eq!(
            whole,
            [
                131072, 131072, 36429, 30088, 131072, 76334, 60956, 121825, 24545, 129219, 46295,
                82590, 49905, 131072, 111632, 58760, 99065, 102414, 53320, 25483, 42812, 91859,
                39567, 32691, 26570, 63371, 66583, 33807, 102192, 61393, 131072, 127718, 50665,
                131072, 57673, 37639, 18764, 51483, 131072, 131072, 18970, 64535
            ]
        );
        for step in [1, 7, 4096, 100_000] {
            let got: Vec<usize> = RabinChunks::new(
                Dribble {
                    data: &data,
                    step,
                    n: step,
                },
                16384,
                65536,
                131072,
            )
            .map(|c| c.unwrap().len())
            .collect();
            assert_eq!(got, whole, "step {step}");
        }
        assert_eq!(whole.iter().sum::<usize>(), data.len());
        let (last, rest) = whole.split_last().unwrap();
        assert!(rest.iter().all(|&n| (16384..=131072).contains(&n)));
        assert!(*last <= 131072);
    }

    #[test]
    fn chunks_concatenate_to_input_and_respect_bounds() {
        for (seed, size) in [
            ("a", 0usize),
            ("b", 10),
            ("c", 87381),
            ("d", 393217),
            ("e", 2_000_000),
        ] {
            let data = chacha(seed, size);
            let chunks: Vec<Vec<u8>> = RabinChunks::new(&data[..], 87381, 262144, 393216)
                .map(|c| c.unwrap())
                .collect();
            assert_eq!(chunks.concat(), data, "{seed}");
            if let Some((_, rest)) = chunks.split_last() {
                assert!(rest.iter().all(|c| (87381..=393216).contains(&c.len())));
            }
            assert_eq!(chunks.is_empty(), size == 0);
        }
        // all-zero input: every chunk is cut at min
        let zeros = vec![0u8; 300_000];
        assert_eq!(
            sizes(&zeros, 87381, 262144, 393216),
            [87381, 87381, 87381, 37857]
        );
    }
}
