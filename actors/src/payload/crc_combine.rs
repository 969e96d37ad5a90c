//! The CRC of a concatenation from the CRCs of its pieces and their lengths, without
//! the bytes (zlib's `crc32_combine`, for any reflected CRC whose init and final XOR are
//! all ones): what a FULL_OBJECT multipart checksum is made of, part by part.

use super::ChecksumAlgorithm;

/// Reflected polynomial and width of the CRCs S3 offers as FULL_OBJECT checksums.
fn params(algo: ChecksumAlgorithm) -> Option<(u64, usize)> {
    match algo {
        ChecksumAlgorithm::Crc32 => Some((0xEDB8_8320, 32)),
        ChecksumAlgorithm::Crc32c => Some((0x82F6_3B78, 32)),
        ChecksumAlgorithm::Crc64Nvme => Some((0x9A6C_9329_AC4B_C9B5, 64)),
        _ => None,
    }
}

/// Whether `algo` can be combined (S3's FULL_OBJECT checksum types).
pub fn combinable(algo: ChecksumAlgorithm) -> bool {
    params(algo).is_some()
}

fn gf2_times(mat: &[u64], mut vec: u64) -> u64 {
    let mut sum = 0;
    let mut i = 0;
    while vec != 0 {
        if vec & 1 != 0 {
            sum ^= mat[i];
        }
        vec >>= 1;
        i += 1;
    }
    sum
}

fn gf2_square(square: &mut [u64], mat: &[u64]) {
    for (n, s) in square.iter_mut().enumerate() {
        *s = gf2_times(mat, mat[n]);
    }
}

/// `crc(A ‖ B)` from `crc(A)`, `crc(B)` and `len(B)`.
fn combine_raw(poly: u64, width: usize, crc1: u64, crc2: u64, mut len2: u64) -> u64 {
    if len2 == 0 {
        return crc1;
    }
    // `odd`: the operator for one zero bit; squared to 2, 4, 8… zero bits below.
    let mut odd = vec![0u64; width];
    let mut even = vec![0u64; width];
    odd[0] = poly;
    for (n, o) in odd.iter_mut().enumerate().skip(1) {
        *o = 1 << (n - 1);
    }
    gf2_square(&mut even, &odd);
    gf2_square(&mut odd, &even);
    let mut crc1 = crc1;
    // Apply len2 zero bytes to crc1, one bit of len2 per squaring.
    loop {
        gf2_square(&mut even, &odd);
        if len2 & 1 != 0 {
            crc1 = gf2_times(&even, crc1);
        }
        len2 >>= 1;
        if len2 == 0 {
            break;
        }
        gf2_square(&mut odd, &even);
        if len2 & 1 != 0 {
            crc1 = gf2_times(&odd, crc1);
        }
        len2 >>= 1;
        if len2 == 0 {
            break;
        }
    }
    crc1 ^ crc2
}

/// The big-endian digest of `A ‖ B` from the big-endian digests of `A` and `B`, as
/// [`super::ChecksumHasher::finalize`] gives them. `None` for an algorithm that is not
/// a CRC or digests of the wrong length.
pub fn combine(algo: ChecksumAlgorithm, crc1: &[u8], crc2: &[u8], len2: u64) -> Option<Vec<u8>> {
    let (poly, width) = params(algo)?;
    let bytes = width / 8;
    if crc1.len() != bytes || crc2.len() != bytes {
        return None;
    }
    let int = |b: &[u8]| b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
    let out = combine_raw(poly, width, int(crc1), int(crc2), len2);
    Some(out.to_be_bytes()[8 - bytes..].to_vec())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use ChecksumAlgorithm::*;

    fn crc(algo: ChecksumAlgorithm, data: &[u8]) -> Vec<u8> {
        let mut h = algo.hasher();
        h.update(data);
        h.finalize()
    }

    #[test]
    fn combined_crc_is_the_crc_of_the_concatenation() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for algo in [Crc32, Crc32c, Crc64Nvme] {
            for split in [0, 1, 7, 4096, 9_999, 10_000] {
                let (a, b) = data.split_at(split);
                let got = combine(algo, &crc(algo, a), &crc(algo, b), b.len() as u64).unwrap();
                assert_eq!(got, crc(algo, &data), "{algo} split at {split}");
            }
            // Three pieces, folded left as a Complete folds parts.
            let pieces = [&data[..3000], &data[3000..3001], &data[3001..]];
            let mut acc = crc(algo, pieces[0]);
            for p in &pieces[1..] {
                acc = combine(algo, &acc, &crc(algo, p), p.len() as u64).unwrap();
            }
            assert_eq!(acc, crc(algo, &data), "{algo} three pieces");
        }
        assert!(combine(Sha256, &[0; 32], &[0; 32], 1).is_none());
        assert!(combine(Crc32, &[0; 8], &[0; 4], 1).is_none());
    }
}
