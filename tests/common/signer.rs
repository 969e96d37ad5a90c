//! Request signing for crafted requests, written from the AWS documentation apart from
//! the gateway's verifier: SigV4 (header, `aws-chunked` seed, chunk and trailer
//! signatures), SigV2 (header and query), and the `x-amz-checksum-*` algorithms.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Hex SHA-256 of the empty string (the chunk string-to-sign's fixed line).
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn hmac_sha1(key: &[u8], data: &[u8]) -> [u8; 20] {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Request time in the two forms SigV4 uses: `yyyymmdd` and `yyyymmddThhmmssZ`.
#[derive(Clone, Debug)]
pub struct Stamp {
    pub date: String,
    pub time: String,
}

impl Stamp {
    /// `time` in ISO 8601 basic form, e.g. `20130524T000000Z`.
    pub fn at(time: &str) -> Stamp {
        Stamp {
            date: time[..8].to_string(),
            time: time.to_string(),
        }
    }

    pub fn now() -> Stamp {
        Stamp::at(&amz_time(unix_now()))
    }
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// `yyyymmddThhmmssZ` of a unix time.
pub fn amz_time(secs: i64) -> String {
    use aws_smithy_types::date_time::{DateTime, Format};
    let iso = DateTime::from_secs(secs)
        .fmt(Format::DateTime)
        .expect("format date");
    iso.replace(['-', ':'], "")
}

/// RFC 1123 date of a unix time (`Date` header, SigV2).
pub fn http_date(secs: i64) -> String {
    use aws_smithy_types::date_time::{DateTime, Format};
    DateTime::from_secs(secs)
        .fmt(Format::HttpDate)
        .expect("format date")
}

/// S3 URI encoding: everything but unreserved characters, `/` kept when `keep_slash`.
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// One key pair and region, signing with SigV4 or SigV2.
#[derive(Clone, Debug)]
pub struct Signer {
    pub access: String,
    pub secret: String,
    pub region: String,
}

/// A SigV4-signed request head: the headers to send (signed ones, then Authorization).
#[derive(Clone, Debug)]
pub struct SignedHead {
    pub headers: Vec<(String, String)>,
    pub signature: String,
}

impl Signer {
    pub fn new(access: &str, secret: &str, region: &str) -> Signer {
        Signer {
            access: access.into(),
            secret: secret.into(),
            region: region.into(),
        }
    }

    pub fn scope(&self, stamp: &Stamp) -> String {
        format!("{}/{}/s3/aws4_request", stamp.date, self.region)
    }

    pub fn signing_key(&self, stamp: &Stamp) -> [u8; 32] {
        let k = hmac_sha256(
            format!("AWS4{}", self.secret).as_bytes(),
            stamp.date.as_bytes(),
        );
        let k = hmac_sha256(&k, self.region.as_bytes());
        let k = hmac_sha256(&k, b"s3");
        hmac_sha256(&k, b"aws4_request")
    }

    /// The canonical request; `path` is sent as is (already encoded), `query` is the
    /// canonical query string, every header in `headers` is signed.
    pub fn canonical_request(
        method: &str,
        path: &str,
        query: &str,
        headers: &[(String, String)],
        payload_hash: &str,
    ) -> String {
        let mut sorted: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        sorted.sort();
        let canonical: String = sorted.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
        let signed: Vec<&str> = sorted.iter().map(|(n, _)| n.as_str()).collect();
        format!(
            "{method}\n{path}\n{query}\n{canonical}\n{}\n{payload_hash}",
            signed.join(";")
        )
    }

    /// `AWS4-HMAC-SHA256` signature of a canonical request.
    pub fn sign_canonical(&self, stamp: &Stamp, canonical: &str) -> String {
        let sts = format!(
            "AWS4-HMAC-SHA256\n{}\n{}\n{}",
            stamp.time,
            self.scope(stamp),
            sha256_hex(canonical.as_bytes())
        );
        hex::encode(hmac_sha256(&self.signing_key(stamp), sts.as_bytes()))
    }

    /// Signs `headers` (which must hold `host`, `x-amz-date` and
    /// `x-amz-content-sha256`) and appends the Authorization header.
    pub fn sign_head(
        &self,
        stamp: &Stamp,
        method: &str,
        path: &str,
        query: &str,
        headers: Vec<(String, String)>,
    ) -> SignedHead {
        let payload = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("x-amz-content-sha256"))
            .map(|(_, v)| v.clone())
            .expect("x-amz-content-sha256 among the headers");
        let canonical = Self::canonical_request(method, path, query, &headers, &payload);
        let signature = self.sign_canonical(stamp, &canonical);
        let mut names: Vec<String> = headers
            .iter()
            .map(|(n, _)| n.to_ascii_lowercase())
            .collect();
        names.sort();
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={}/{},SignedHeaders={},Signature={signature}",
            self.access,
            self.scope(stamp),
            names.join(";")
        );
        let mut headers = headers;
        headers.push(("authorization".into(), auth));
        SignedHead { headers, signature }
    }

    /// Signature of one `aws-chunked` chunk, chained from `prev`.
    pub fn chunk_signature(&self, stamp: &Stamp, prev: &str, data: &[u8]) -> String {
        let sts = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{prev}\n{EMPTY_SHA256}\n{}",
            stamp.time,
            self.scope(stamp),
            sha256_hex(data)
        );
        hex::encode(hmac_sha256(&self.signing_key(stamp), sts.as_bytes()))
    }

    /// Signature of the trailer (`name:value\n` per trailing header), chained from the
    /// final chunk's signature.
    pub fn trailer_signature(&self, stamp: &Stamp, prev: &str, canonical: &str) -> String {
        let sts = format!(
            "AWS4-HMAC-SHA256-TRAILER\n{}\n{}\n{prev}\n{}",
            stamp.time,
            self.scope(stamp),
            sha256_hex(canonical.as_bytes())
        );
        hex::encode(hmac_sha256(&self.signing_key(stamp), sts.as_bytes()))
    }

    /// SigV2: base64 `HMAC-SHA1(secret, string_to_sign)`.
    pub fn sigv2(&self, string_to_sign: &str) -> String {
        B64.encode(hmac_sha1(self.secret.as_bytes(), string_to_sign.as_bytes()))
    }
}

/// The `x-amz-checksum-*` algorithms, computed here bit by bit (not with the crates the
/// gateway uses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checksum {
    Crc32,
    Crc32c,
    Crc64Nvme,
    Sha1,
    Sha256,
}

pub const ALL_CHECKSUMS: [Checksum; 5] = [
    Checksum::Crc32,
    Checksum::Crc32c,
    Checksum::Crc64Nvme,
    Checksum::Sha1,
    Checksum::Sha256,
];

/// Reflected CRC with init and final XOR all ones, `width` bits.
fn crc_reflected(poly: u64, width: u32, data: &[u8]) -> u64 {
    let mask = if width == 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    };
    let mut crc = mask;
    for &b in data {
        crc ^= b as u64;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ poly
            } else {
                crc >> 1
            };
        }
    }
    (crc ^ mask) & mask
}

impl Checksum {
    /// The name in `x-amz-checksum-<name>` (and, upper-cased, in the SDKs).
    pub fn name(self) -> &'static str {
        match self {
            Checksum::Crc32 => "crc32",
            Checksum::Crc32c => "crc32c",
            Checksum::Crc64Nvme => "crc64nvme",
            Checksum::Sha1 => "sha1",
            Checksum::Sha256 => "sha256",
        }
    }

    pub fn header(self) -> String {
        format!("x-amz-checksum-{}", self.name())
    }

    /// The raw digest (big-endian for the CRCs, as S3 encodes them).
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Checksum::Crc32 => (crc_reflected(0xEDB8_8320, 32, data) as u32)
                .to_be_bytes()
                .to_vec(),
            Checksum::Crc32c => (crc_reflected(0x82F6_3B78, 32, data) as u32)
                .to_be_bytes()
                .to_vec(),
            Checksum::Crc64Nvme => crc_reflected(0x9A6C_9329_AC4B_C9B5, 64, data)
                .to_be_bytes()
                .to_vec(),
            Checksum::Sha1 => {
                use sha1::Digest as _;
                sha1::Sha1::digest(data).to_vec()
            }
            Checksum::Sha256 => Sha256::digest(data).to_vec(),
        }
    }

    /// The header value: base64 of [`Checksum::digest`].
    pub fn value(self, data: &[u8]) -> String {
        B64.encode(self.digest(data))
    }
}

/// The same base64 value with one byte of the digest changed (still valid base64).
pub fn corrupt_b64(value: &str) -> String {
    let mut raw = B64.decode(value).expect("base64 checksum");
    raw[0] ^= 0x01;
    B64.encode(raw)
}

/// The same hex string with one digit changed (still 64 lowercase hex digits).
pub fn corrupt_hex(sig: &str) -> String {
    let mut b = sig.as_bytes().to_vec();
    b[10] = if b[10] == b'0' { b'1' } else { b'0' };
    String::from_utf8(b).expect("ascii")
}

/// SigV2 string to sign: verb, Content-MD5, Content-Type, Date (or Expires for query
/// auth), the `x-amz-*` headers (lower-case names, sorted) and the resource
/// (`/bucket/key` plus signed sub-resources).
pub fn sigv2_string_to_sign(
    method: &str,
    content_md5: &str,
    content_type: &str,
    date: &str,
    amz_headers: &[(&str, &str)],
    resource: &str,
) -> String {
    let mut amz: Vec<(String, String)> = amz_headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    amz.sort();
    let amz: String = amz.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    format!("{method}\n{content_md5}\n{content_type}\n{date}\n{amz}{resource}")
}
