//! Deterministic test data and its digests.

use std::fs::File;
use std::io::Write;
use std::path::Path;

/// Writes `size` bytes of deterministic pseudo-random data to `path` in 8 MiB pieces
/// and returns its MD5 hex.
pub fn write_random_file(path: &Path, size: u64, seed: u64) -> String {
    use md5::{Digest, Md5};
    let mut f = std::io::BufWriter::new(File::create(path).expect("create data file"));
    let mut md5 = Md5::new();
    let mut state = seed | 1;
    let mut piece = vec![0u8; 8 << 20];
    let mut left = size;
    while left > 0 {
        let n = left.min(piece.len() as u64) as usize;
        for chunk in piece[..n].chunks_mut(8) {
            // xorshift64*: fast and deterministic, enough to defeat compression.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let v = state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        md5.update(&piece[..n]);
        f.write_all(&piece[..n]).expect("write data file");
        left -= n as u64;
    }
    f.flush().expect("flush data file");
    hex::encode(md5.finalize())
}

/// Deterministic pseudo-random bytes.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        v.extend_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    v.truncate(len);
    v
}

pub fn md5_hex(data: &[u8]) -> String {
    use md5::{Digest, Md5};
    hex::encode(Md5::digest(data))
}
