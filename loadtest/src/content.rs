//! Deterministic object content: every byte is a function of (key, size, offset), so a
//! GET can be verified without remembering what was written, and a PUT body can be
//! streamed from the generator without holding the object in memory.

use bytes::{Bytes, BytesMut};

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(GOLDEN);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a of the key, mixed with the size: the seed of an object's content.
pub fn seed(key: &str, size: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    splitmix64(h ^ size.rotate_left(17))
}

/// Hash of a key alone (used to pick a size from a distribution).
pub fn key_hash(key: &str) -> u64 {
    seed(key, 0)
}

#[inline]
fn word(seed: u64, index: u64) -> [u8; 8] {
    splitmix64(seed ^ index.wrapping_mul(GOLDEN)).to_le_bytes()
}

/// Fill `buf` with the content bytes at absolute `offset`.
pub fn fill(seed: u64, offset: u64, buf: &mut [u8]) {
    let mut pos = offset;
    let mut rest: &mut [u8] = buf;
    // Unaligned head.
    let head = ((8 - (pos % 8)) % 8) as usize;
    if head > 0 {
        let w = word(seed, pos / 8);
        let n = head.min(rest.len());
        let start = (pos % 8) as usize;
        rest[..n].copy_from_slice(&w[start..start + n]);
        pos += n as u64;
        rest = &mut rest[n..];
    }
    let mut chunks = rest.chunks_exact_mut(8);
    let mut idx = pos / 8;
    for c in &mut chunks {
        c.copy_from_slice(&word(seed, idx));
        idx += 1;
    }
    let tail = chunks.into_remainder();
    if !tail.is_empty() {
        let w = word(seed, idx);
        let n = tail.len();
        tail.copy_from_slice(&w[..n]);
    }
}

/// Streams an object's content as `Bytes` frames of at most `frame` bytes.
#[derive(Debug, Clone)]
pub struct Generator {
    seed: u64,
    /// Where this generator stops (the object's size, or a part's end).
    end: u64,
    pos: u64,
    frame: usize,
}

impl Generator {
    pub fn new(key: &str, size: u64, frame: usize) -> Self {
        Self::range(key, size, 0, size, frame)
    }

    /// Bytes `start..end` of the object (a multipart part).
    pub fn range(key: &str, size: u64, start: u64, end: u64, frame: usize) -> Self {
        Self {
            seed: seed(key, size),
            end: end.min(size),
            pos: start.min(end),
            frame: frame.max(8),
        }
    }

    pub fn remaining(&self) -> u64 {
        self.end - self.pos
    }

    /// Next frame, or `None` at the end.
    pub fn next_frame(&mut self) -> Option<Bytes> {
        let n = self.remaining().min(self.frame as u64) as usize;
        if n == 0 {
            return None;
        }
        let mut buf = BytesMut::zeroed(n);
        fill(self.seed, self.pos, &mut buf);
        self.pos += n as u64;
        Some(buf.freeze())
    }

    /// Write up to `out.len()` next bytes into `out`; returns how many.
    pub fn read_into(&mut self, out: &mut [u8]) -> usize {
        let n = self.remaining().min(out.len() as u64) as usize;
        fill(self.seed, self.pos, &mut out[..n]);
        self.pos += n as u64;
        n
    }
}

/// Why a body did not match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// A byte differs at this offset.
    Corrupt { offset: u64 },
    /// The body ended early.
    Short { got: u64, want: u64 },
    /// The body is longer than the object.
    Long { want: u64 },
}

impl Mismatch {
    pub fn kind(&self) -> &'static str {
        match self {
            Mismatch::Corrupt { .. } => "corrupt",
            Mismatch::Short { .. } => "short_body",
            Mismatch::Long { .. } => "long_body",
        }
    }
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mismatch::Corrupt { offset } => write!(f, "wrong byte at offset {offset}"),
            Mismatch::Short { got, want } => write!(f, "body ended at {got} of {want} bytes"),
            Mismatch::Long { want } => write!(f, "body longer than {want} bytes"),
        }
    }
}

/// Checks a body fed in pieces against the generated content.
#[derive(Debug)]
pub struct Verifier {
    seed: u64,
    size: u64,
    pos: u64,
    scratch: Vec<u8>,
}

impl Verifier {
    pub fn new(key: &str, size: u64) -> Self {
        Self {
            seed: seed(key, size),
            size,
            pos: 0,
            scratch: Vec::new(),
        }
    }

    pub fn feed(&mut self, data: &[u8]) -> Result<(), Mismatch> {
        if self.pos + data.len() as u64 > self.size {
            return Err(Mismatch::Long { want: self.size });
        }
        const STEP: usize = 64 * 1024;
        for (i, piece) in data.chunks(STEP).enumerate() {
            let at = self.pos + (i * STEP) as u64;
            self.scratch.resize(piece.len(), 0);
            fill(self.seed, at, &mut self.scratch);
            if self.scratch.as_slice() != piece {
                let off = piece
                    .iter()
                    .zip(self.scratch.iter())
                    .position(|(a, b)| a != b)
                    .unwrap_or(0);
                return Err(Mismatch::Corrupt {
                    offset: at + off as u64,
                });
            }
        }
        self.pos += data.len() as u64;
        Ok(())
    }

    pub fn finish(&self) -> Result<(), Mismatch> {
        if self.pos == self.size {
            Ok(())
        } else {
            Err(Mismatch::Short {
                got: self.pos,
                want: self.size,
            })
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn whole(key: &str, size: u64) -> Vec<u8> {
        let mut v = vec![0u8; size as usize];
        fill(seed(key, size), 0, &mut v);
        v
    }

    #[test]
    fn fill_is_offset_consistent() {
        let all = whole("a/b", 1000);
        for off in [0u64, 1, 3, 7, 8, 9, 500, 993] {
            for len in [0usize, 1, 5, 8, 13, 64] {
                let end = (off as usize + len).min(1000);
                let mut part = vec![0u8; end - off as usize];
                fill(seed("a/b", 1000), off, &mut part);
                assert_eq!(&part[..], &all[off as usize..end], "off {off} len {len}");
            }
        }
    }

    #[test]
    fn content_depends_on_key_and_size() {
        assert_ne!(whole("k1", 64), whole("k2", 64));
        assert_ne!(whole("k1", 64)[..32], whole("k1", 32)[..]);
    }

    #[test]
    fn generator_frames_match_fill() {
        let mut g = Generator::new("x", 100_003, 4096);
        let mut got = Vec::new();
        while let Some(f) = g.next_frame() {
            assert!(f.len() <= 4096);
            got.extend_from_slice(&f);
        }
        assert_eq!(got, whole("x", 100_003));
        let mut g = Generator::new("x", 10, 4096);
        let mut buf = [0u8; 4];
        assert_eq!(g.read_into(&mut buf), 4);
        assert_eq!(&buf, &whole("x", 10)[..4]);
    }

    #[test]
    fn verifier_accepts_good_body_in_any_split() {
        let body = whole("k", 200_000);
        for split in [1usize, 7, 4096, 65_536, 70_000, 200_000] {
            let mut v = Verifier::new("k", 200_000);
            for piece in body.chunks(split) {
                assert_eq!(v.feed(piece), Ok(()));
            }
            assert_eq!(v.finish(), Ok(()));
        }
    }

    #[test]
    fn verifier_rejects_corrupt_short_and_long() {
        let mut body = whole("k", 150_000);
        body[123_456] ^= 0x01;
        let mut v = Verifier::new("k", 150_000);
        let err = body.chunks(10_000).try_for_each(|p| v.feed(p));
        assert_eq!(err, Err(Mismatch::Corrupt { offset: 123_456 }));
        assert_eq!(err.unwrap_err().kind(), "corrupt");

        let body = whole("k", 100);
        let mut v = Verifier::new("k", 100);
        assert_eq!(v.feed(&body[..60]), Ok(()));
        assert_eq!(v.finish(), Err(Mismatch::Short { got: 60, want: 100 }));

        let mut v = Verifier::new("k", 50);
        assert_eq!(v.feed(&body), Err(Mismatch::Long { want: 50 }));

        // Content of another key of the same size is corrupt from byte 0.
        let mut v = Verifier::new("other", 100);
        assert!(matches!(v.feed(&body), Err(Mismatch::Corrupt { .. })));
    }
}
