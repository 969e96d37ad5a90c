//! A SHA-256 whose state can be stored (in the upload cursor, in part records) and
//! resumed by another worker: the eight state words, the unprocessed tail (< 64 bytes)
//! and the total length. Blocks go through `sha2::compress256`, so the result is
//! exactly `sha2::Sha256`'s.

use serde::{Deserialize, Serialize};
use sha2::digest::generic_array::GenericArray;

const IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sha256State {
    pub h: [u32; 8],
    /// Bytes not yet compressed (always fewer than 64), hex-encoded on the wire.
    #[serde(with = "hex_bytes")]
    pub tail: Vec<u8>,
    /// Total bytes hashed.
    pub len: u64,
}

impl Default for Sha256State {
    fn default() -> Self {
        Sha256State {
            h: IV,
            tail: Vec::new(),
            len: 0,
        }
    }
}

impl Sha256State {
    pub fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if !self.tail.is_empty() {
            let take = (64 - self.tail.len()).min(data.len());
            self.tail.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.tail.len() < 64 {
                return;
            }
            let block = GenericArray::clone_from_slice(&self.tail);
            sha2::compress256(&mut self.h, &[block]);
            self.tail.clear();
        }
        let mut blocks = data.chunks_exact(64);
        // One block per call, borrowed in place: collecting the blocks into a Vec first
        // copied every byte and was 18 % of a worker's CPU during multipart uploads.
        for block in &mut blocks {
            sha2::compress256(
                &mut self.h,
                std::slice::from_ref(GenericArray::from_slice(block)),
            );
        }
        self.tail.extend_from_slice(blocks.remainder());
    }

    /// The digest of everything hashed so far (the state itself is not changed).
    pub fn finish(&self) -> [u8; 32] {
        let mut h = self.h;
        let mut last = self.tail.clone();
        last.push(0x80);
        while last.len() % 64 != 56 {
            last.push(0);
        }
        last.extend_from_slice(&(self.len.wrapping_mul(8)).to_be_bytes());
        let blocks: Vec<GenericArray<u8, _>> = last
            .chunks_exact(64)
            .map(GenericArray::clone_from_slice)
            .collect();
        sha2::compress256(&mut h, &blocks);
        let mut out = [0u8; 32];
        for (i, w) in h.iter().enumerate() {
            out[i * 4..i * 4 + 4].copy_from_slice(&w.to_be_bytes());
        }
        out
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 + i / 7) as u8).collect()
    }

    #[test]
    fn equals_sha2_across_arbitrary_splits_and_serialization() {
        for len in [0usize, 1, 55, 56, 63, 64, 65, 127, 128, 1000, 4099] {
            let d = data(len);
            let want: [u8; 32] = Sha256::digest(&d).into();
            for step in [1usize, 3, 63, 64, 65, 500, 5000] {
                let mut s = Sha256State::default();
                for piece in d.chunks(step) {
                    // Round-trip through JSON between pieces, as the cursor does.
                    let json = serde_json::to_string(&s).unwrap();
                    s = serde_json::from_str(&json).unwrap();
                    s.update(piece);
                }
                assert_eq!(s.finish(), want, "len {len} step {step}");
                assert_eq!(s.len, len as u64);
            }
        }
    }

    #[test]
    fn finish_does_not_consume() {
        let mut s = Sha256State::default();
        s.update(b"abc");
        let first = s.finish();
        assert_eq!(first, s.finish());
        s.update(b"def");
        let want: [u8; 32] = Sha256::digest(b"abcdef").into();
        assert_eq!(s.finish(), want);
    }
}
