//! The S3 additional checksum algorithms (`x-amz-checksum-*`), computed incrementally and
//! rendered as S3 renders them: base64 of the big-endian digest bytes.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use jetgate_protocol::S3Error;
use sha1::Digest as _;
use xxhash_rust::xxh3::Xxh3;
use xxhash_rust::xxh64::Xxh64;

/// An S3 additional checksum algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChecksumAlgorithm {
    Crc32,
    Crc32c,
    Crc64Nvme,
    Sha1,
    Sha256,
    Sha512,
    Md5,
    Xxhash64,
    Xxhash3,
    Xxhash128,
}

impl ChecksumAlgorithm {
    /// Every algorithm, in the order the S3 API model lists them (the last five came
    /// with botocore 1.40 / awscrt 0.31: SHA-512 built in, xxHash through the CRT).
    pub const ALL: [ChecksumAlgorithm; 10] = [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32c,
        ChecksumAlgorithm::Crc64Nvme,
        ChecksumAlgorithm::Sha1,
        ChecksumAlgorithm::Sha256,
        ChecksumAlgorithm::Sha512,
        ChecksumAlgorithm::Md5,
        ChecksumAlgorithm::Xxhash64,
        ChecksumAlgorithm::Xxhash3,
        ChecksumAlgorithm::Xxhash128,
    ];

    /// The request/response header carrying the value, e.g. `x-amz-checksum-crc32`.
    pub fn header_name(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "x-amz-checksum-crc32",
            ChecksumAlgorithm::Crc32c => "x-amz-checksum-crc32c",
            ChecksumAlgorithm::Crc64Nvme => "x-amz-checksum-crc64nvme",
            ChecksumAlgorithm::Sha1 => "x-amz-checksum-sha1",
            ChecksumAlgorithm::Sha256 => "x-amz-checksum-sha256",
            ChecksumAlgorithm::Sha512 => "x-amz-checksum-sha512",
            ChecksumAlgorithm::Md5 => "x-amz-checksum-md5",
            ChecksumAlgorithm::Xxhash64 => "x-amz-checksum-xxhash64",
            ChecksumAlgorithm::Xxhash3 => "x-amz-checksum-xxhash3",
            ChecksumAlgorithm::Xxhash128 => "x-amz-checksum-xxhash128",
        }
    }

    /// The name S3 uses in `x-amz-checksum-algorithm` and XML (`ChecksumAlgorithm`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "CRC32",
            ChecksumAlgorithm::Crc32c => "CRC32C",
            ChecksumAlgorithm::Crc64Nvme => "CRC64NVME",
            ChecksumAlgorithm::Sha1 => "SHA1",
            ChecksumAlgorithm::Sha256 => "SHA256",
            ChecksumAlgorithm::Sha512 => "SHA512",
            ChecksumAlgorithm::Md5 => "MD5",
            ChecksumAlgorithm::Xxhash64 => "XXHASH64",
            ChecksumAlgorithm::Xxhash3 => "XXHASH3",
            ChecksumAlgorithm::Xxhash128 => "XXHASH128",
        }
    }

    /// Parses an algorithm name (`CRC32`, `crc64nvme`, ...), case-insensitively.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(name.trim()))
    }

    /// Parses a header name (`x-amz-checksum-crc32`, any case).
    pub fn from_header_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.header_name().eq_ignore_ascii_case(name.trim()))
    }

    /// Length in bytes of the raw digest.
    pub fn digest_len(self) -> usize {
        match self {
            ChecksumAlgorithm::Crc32 | ChecksumAlgorithm::Crc32c => 4,
            ChecksumAlgorithm::Crc64Nvme | ChecksumAlgorithm::Xxhash64 => 8,
            ChecksumAlgorithm::Xxhash3 => 8,
            ChecksumAlgorithm::Md5 | ChecksumAlgorithm::Xxhash128 => 16,
            ChecksumAlgorithm::Sha1 => 20,
            ChecksumAlgorithm::Sha256 => 32,
            ChecksumAlgorithm::Sha512 => 64,
        }
    }

    /// A fresh incremental hasher.
    pub fn hasher(self) -> ChecksumHasher {
        let state = match self {
            ChecksumAlgorithm::Crc32 => State::Crc32(crc32fast::Hasher::new()),
            ChecksumAlgorithm::Crc32c => State::Crc32c(0),
            ChecksumAlgorithm::Crc64Nvme => State::Crc64Nvme(crc64fast_nvme::Digest::new()),
            ChecksumAlgorithm::Sha1 => State::Sha1(sha1::Sha1::new()),
            ChecksumAlgorithm::Sha256 => State::Sha256(sha2::Sha256::new()),
            ChecksumAlgorithm::Sha512 => State::Sha512(sha2::Sha512::new()),
            ChecksumAlgorithm::Md5 => State::Md5(md5::Md5::new()),
            ChecksumAlgorithm::Xxhash64 => State::Xxhash64(Box::new(Xxh64::new(0))),
            ChecksumAlgorithm::Xxhash3 => State::Xxhash3(Box::default()),
            ChecksumAlgorithm::Xxhash128 => State::Xxhash128(Box::default()),
        };
        ChecksumHasher { algo: self, state }
    }

    /// Decodes a client-sent base64 value, checking its length. A malformed value is
    /// `InvalidRequest` ("Value for x-amz-checksum-crc32 header is invalid."), as S3 says.
    pub fn decode_value(self, value: &str) -> Result<Vec<u8>, S3Error> {
        match B64.decode(value.trim()) {
            Ok(raw) if raw.len() == self.digest_len() => Ok(raw),
            _ => Err(S3Error::invalid_request(format!(
                "Value for {} header is invalid.",
                self.header_name()
            ))),
        }
    }

    /// The checksum of `data` in one go, base64 encoded.
    pub fn checksum_base64(self, data: &[u8]) -> String {
        let mut h = self.hasher();
        h.update(data);
        h.finalize_base64()
    }
}

impl std::fmt::Display for ChecksumAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

enum State {
    Crc32(crc32fast::Hasher),
    Crc32c(u32),
    Crc64Nvme(crc64fast_nvme::Digest),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
    Md5(md5::Md5),
    // Boxed: the xxh3 state is half a kilobyte, the other states a few words.
    Xxhash64(Box<Xxh64>),
    Xxhash3(Box<Xxh3>),
    Xxhash128(Box<Xxh3>),
}

/// Incremental checksum over streamed data.
pub struct ChecksumHasher {
    algo: ChecksumAlgorithm,
    state: State,
}

impl std::fmt::Debug for ChecksumHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChecksumHasher")
            .field("algo", &self.algo)
            .finish_non_exhaustive()
    }
}

impl ChecksumHasher {
    pub fn algorithm(&self) -> ChecksumAlgorithm {
        self.algo
    }

    pub fn update(&mut self, data: &[u8]) {
        match &mut self.state {
            State::Crc32(h) => h.update(data),
            State::Crc32c(crc) => *crc = crc32c::crc32c_append(*crc, data),
            State::Crc64Nvme(h) => h.write(data),
            State::Sha1(h) => h.update(data),
            State::Sha256(h) => h.update(data),
            State::Sha512(h) => h.update(data),
            State::Md5(h) => h.update(data),
            State::Xxhash64(h) => h.update(data),
            State::Xxhash3(h) | State::Xxhash128(h) => h.update(data),
        }
    }

    /// The raw digest bytes (CRCs big-endian).
    pub fn finalize(self) -> Vec<u8> {
        match self.state {
            State::Crc32(h) => h.finalize().to_be_bytes().to_vec(),
            State::Crc32c(crc) => crc.to_be_bytes().to_vec(),
            State::Crc64Nvme(h) => h.sum64().to_be_bytes().to_vec(),
            State::Sha1(h) => h.finalize().to_vec(),
            State::Sha256(h) => h.finalize().to_vec(),
            State::Sha512(h) => h.finalize().to_vec(),
            State::Md5(h) => h.finalize().to_vec(),
            // xxHash's canonical form, as awscrt and the reference library give it.
            State::Xxhash64(h) => h.digest().to_be_bytes().to_vec(),
            State::Xxhash3(h) => h.digest().to_be_bytes().to_vec(),
            State::Xxhash128(h) => h.digest128().to_be_bytes().to_vec(),
        }
    }

    /// The digest as S3 shows it: base64 of [`ChecksumHasher::finalize`].
    pub fn finalize_base64(self) -> String {
        B64.encode(self.finalize())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jetgate_protocol::S3ErrorCode;
    use ChecksumAlgorithm::*;

    #[test]
    fn payload_checksum_known_vectors() {
        // Cross-checked with Python zlib/hashlib and a bitwise reference CRC.
        let cases = [
            (Crc32, "DUoRhQ==", "AAAAAA=="),
            (Crc32c, "yZRlqg==", "AAAAAA=="),
            (Crc64Nvme, "jSnVw/bqjr4=", "AAAAAAAAAAA="),
            (
                Sha1,
                "Kq5sNclPz7QV2+lfQIuc6R7oRu0=",
                "2jmj7l5rSw0yVb/vlWAYkK/YBwk=",
            ),
            (
                Sha256,
                "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=",
                "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
            ),
            // Python hashlib and the `xxhash` package (the reference C library);
            // awscrt gives the same xxHash values.
            (
                Sha512,
                "MJ7MSJwS1utMxA9QyQLytNDtd+5RGnx6m808qG1M2G+YndNbxf9JlnDaNCVbRbDP2DDoH2Bdz33FVC6TrpzXbw==",
                "z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==",
            ),
            (Md5, "XrY7u+Ae7tCTyyK7j1rNww==", "1B2M2Y8AsgTpgAmY7PhCfg=="),
            (Xxhash64, "RatnNLIeaWg=", "70bbN1HY6Zk="),
            (Xxhash3, "1Eex6kDmmIs=", "LQaABTjTlMI="),
            (
                Xxhash128,
                "340J6T+HSQCpm4d1zBW2xw==",
                "maoG0wFHmNhgAcMkRo1Jfw==",
            ),
        ];
        for (algo, hello, empty) in cases {
            assert_eq!(algo.checksum_base64(b"hello world"), hello, "{algo}");
            assert_eq!(algo.checksum_base64(b""), empty, "{algo}");
            // Incremental == one-shot.
            let mut h = algo.hasher();
            h.update(b"hello");
            h.update(b"");
            h.update(b" world");
            assert_eq!(h.finalize_base64(), hello, "{algo}");
            assert_eq!(algo.decode_value(hello).unwrap().len(), algo.digest_len());
        }
    }

    #[test]
    fn payload_checksum_check_values() {
        let mut h = Crc64Nvme.hasher();
        h.update(b"123456789");
        assert_eq!(h.finalize(), 0xAE8B_1486_0A79_9888u64.to_be_bytes());
        let mut h = Crc32c.hasher();
        h.update(b"123456789");
        assert_eq!(h.finalize(), 0xE306_9283u32.to_be_bytes());
        let mut h = Crc32.hasher();
        h.update(b"123456789");
        assert_eq!(h.finalize(), 0xCBF4_3926u32.to_be_bytes());
    }

    #[test]
    fn payload_checksum_names() {
        for algo in ChecksumAlgorithm::ALL {
            assert_eq!(ChecksumAlgorithm::from_name(algo.as_str()), Some(algo));
            assert_eq!(
                ChecksumAlgorithm::from_header_name(algo.header_name()),
                Some(algo)
            );
        }
        assert_eq!(ChecksumAlgorithm::from_name("crc64nvme"), Some(Crc64Nvme));
        assert_eq!(
            ChecksumAlgorithm::from_header_name("X-Amz-Checksum-CRC32C"),
            Some(Crc32c)
        );
        assert_eq!(ChecksumAlgorithm::from_name("xxhash3"), Some(Xxhash3));
        assert_eq!(ChecksumAlgorithm::from_name("md4"), None);
        assert_eq!(
            ChecksumAlgorithm::from_header_name("x-amz-checksum-xxhash"),
            None
        );
    }

    #[test]
    fn payload_checksum_bad_values() {
        for bad in ["", "!!!", "AAAAAAAAAAA=", "DUoRhQ"] {
            let err = Crc32.decode_value(bad).unwrap_err();
            assert_eq!(err.code, S3ErrorCode::InvalidRequest, "{bad:?}");
            assert_eq!(
                err.message,
                "Value for x-amz-checksum-crc32 header is invalid."
            );
        }
    }
}
