//! The pure part of CompleteMultipartUpload: reading the parts list, checking it
//! against the uploaded parts, the multipart ETag, and the part-size list kept in the
//! object's metadata for `partNumber=N` reads.

use jetgate_protocol::multipart::{MAX_PART_NUMBER, MIN_PART_SIZE};
use jetgate_protocol::S3Error;
use md5::{Digest, Md5};
use serde::Deserialize;

use super::state::{Location, PartRecord};
use crate::payload::ChecksumAlgorithm;
use crate::store::SeekPoint;
use std::collections::BTreeMap;

/// Metadata key of a multipart object's part sizes (see [`encode_sizes`]).
pub const KEY_PARTS: &str = "jetgate-parts";

/// One `<Part>` of the request: number and ETag (quotes removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub part_number: u32,
    pub etag: String,
    /// `Checksum<ALGORITHM>` elements of the part, as sent: each must be the stored
    /// part's checksum.
    pub checksums: Vec<(ChecksumAlgorithm, String)>,
}

#[derive(Debug, Deserialize)]
struct Doc {
    #[serde(rename = "Part", default)]
    parts: Vec<PartXml>,
}

#[derive(Debug, Deserialize)]
struct PartXml {
    #[serde(rename = "PartNumber")]
    part_number: String,
    #[serde(rename = "ETag", default)]
    etag: Option<String>,
    #[serde(rename = "ChecksumCRC32", default)]
    crc32: Option<String>,
    #[serde(rename = "ChecksumCRC32C", default)]
    crc32c: Option<String>,
    #[serde(rename = "ChecksumCRC64NVME", default)]
    crc64nvme: Option<String>,
    #[serde(rename = "ChecksumSHA1", default)]
    sha1: Option<String>,
    #[serde(rename = "ChecksumSHA256", default)]
    sha256: Option<String>,
    #[serde(rename = "ChecksumSHA512", default)]
    sha512: Option<String>,
    #[serde(rename = "ChecksumMD5", default)]
    md5: Option<String>,
    #[serde(rename = "ChecksumXXHASH64", default)]
    xxhash64: Option<String>,
    #[serde(rename = "ChecksumXXHASH3", default)]
    xxhash3: Option<String>,
    #[serde(rename = "ChecksumXXHASH128", default)]
    xxhash128: Option<String>,
}

impl PartXml {
    /// The part's checksum elements, by algorithm.
    fn checksums(&mut self) -> Vec<(ChecksumAlgorithm, String)> {
        use ChecksumAlgorithm as A;
        [
            (A::Crc32, self.crc32.take()),
            (A::Crc32c, self.crc32c.take()),
            (A::Crc64Nvme, self.crc64nvme.take()),
            (A::Sha1, self.sha1.take()),
            (A::Sha256, self.sha256.take()),
            (A::Sha512, self.sha512.take()),
            (A::Md5, self.md5.take()),
            (A::Xxhash64, self.xxhash64.take()),
            (A::Xxhash3, self.xxhash3.take()),
            (A::Xxhash128, self.xxhash128.take()),
        ]
        .into_iter()
        .filter_map(|(a, v)| Some((a, v?.trim().to_string())))
        .collect()
    }
}

fn invalid_part(n: u32) -> S3Error {
    S3Error::invalid_part(format!(
        "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag. (part {n})"
    ))
}

/// Parses a `CompleteMultipartUpload` document and checks the order of its parts.
pub fn parse_complete(xml: &[u8]) -> Result<Vec<Listed>, S3Error> {
    let text = std::str::from_utf8(xml).map_err(|_| S3Error::malformed_xml())?;
    let doc: Doc = quick_xml::de::from_str(text).map_err(|_| S3Error::malformed_xml())?;
    if doc.parts.is_empty() {
        return Err(S3Error::malformed_xml());
    }
    let mut out = Vec::with_capacity(doc.parts.len());
    for mut p in doc.parts {
        let checksums = p.checksums();
        let n: u32 = p
            .part_number
            .trim()
            .parse()
            .map_err(|_| S3Error::malformed_xml())?;
        if !(1..=MAX_PART_NUMBER).contains(&n) {
            return Err(S3Error::invalid_argument(
                "Part number must be an integer between 1 and 10000, inclusive",
            ));
        }
        let etag = p.etag.ok_or_else(S3Error::malformed_xml)?;
        out.push(Listed {
            part_number: n,
            etag: normalize_etag(&etag),
            checksums,
        });
    }
    if out.windows(2).any(|w| w[0].part_number >= w[1].part_number) {
        return Err(S3Error::invalid_part_order());
    }
    Ok(out)
}

/// Whether every checksum the Complete document lists for a part is the one stored
/// with it (a part stored without that checksum does not match).
fn checksums_match(l: &Listed, r: &PartRecord) -> bool {
    l.checksums.iter().all(|(algo, value)| {
        r.checksum.as_ref().is_some_and(|(header, stored)| {
            ChecksumAlgorithm::from_header_name(header) == Some(*algo) && stored == value
        })
    })
}

/// `"abc"` / `&quot;abc&quot;` (already unescaped) / `abc` → `abc`, lowercase.
pub fn normalize_etag(etag: &str) -> String {
    etag.trim().trim_matches('"').to_ascii_lowercase()
}

/// Checks every listed part exists with that ETag, and the size rule; returns the
/// records in list order.
pub fn check_parts(
    listed: &[Listed],
    records: Vec<Option<PartRecord>>,
) -> Result<Vec<PartRecord>, S3Error> {
    let mut out = Vec::with_capacity(listed.len());
    for (l, r) in listed.iter().zip(records) {
        match r {
            Some(r) if r.etag == l.etag && checksums_match(l, &r) => out.push(r),
            _ => return Err(invalid_part(l.part_number)),
        }
    }
    let last = out.len().saturating_sub(1);
    for (i, r) in out.iter().enumerate() {
        if i < last && r.size < MIN_PART_SIZE {
            return Err(S3Error::entity_too_small_with(format!(
                    "Your proposed upload is smaller than the minimum allowed size (part {} is {} bytes; parts but the last must be at least 5 MiB)",
                    r.part_number, r.size
                )));
        }
    }
    Ok(out)
}

/// `hex(md5(concatenated binary part MD5s))-N`.
pub fn multipart_etag(parts: &[PartRecord]) -> Result<String, S3Error> {
    let mut h = Md5::new();
    for p in parts {
        let mut md5 = [0u8; 16];
        hex::decode_to_slice(&p.etag, &mut md5).map_err(S3Error::internal)?;
        h.update(md5);
    }
    Ok(format!("{}-{}", hex::encode(h.finalize()), parts.len()))
}

/// The parts can be committed in place: they are exactly parts `1..=N`, all appended to
/// the final subject (the cursor has moved past them).
pub fn in_place(parts: &[PartRecord], next_part: u32) -> bool {
    parts.iter().enumerate().all(|(i, p)| {
        p.part_number as usize == i + 1
            && p.part_number < next_part
            && matches!(p.location, Location::Appended { .. })
    })
}

/// Part sizes as `size*count` runs: `8388608*127,1234`.
pub fn encode_sizes(sizes: &[u64]) -> String {
    let mut runs: Vec<(u64, usize)> = Vec::new();
    for &s in sizes {
        match runs.last_mut() {
            Some((v, n)) if *v == s => *n += 1,
            _ => runs.push((s, 1)),
        }
    }
    runs.iter()
        .map(|(v, n)| {
            if *n == 1 {
                v.to_string()
            } else {
                format!("{v}*{n}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

pub fn decode_sizes(text: &str) -> Option<Vec<u64>> {
    let mut out = Vec::new();
    for run in text.split(',').filter(|r| !r.is_empty()) {
        let (v, n): (u64, usize) = match run.split_once('*') {
            Some((v, n)) => (v.parse().ok()?, n.parse::<usize>().ok()?),
            None => (run.parse().ok()?, 1),
        };
        if out.len() + n > MAX_PART_NUMBER as usize {
            return None;
        }
        out.extend(std::iter::repeat_n(v, n));
    }
    Some(out)
}

/// Metadata key of an in-place multipart object's part starts: `first_seq:chunks` per
/// part, so a ranged GET jumps to its part instead of listing every earlier chunk.
pub const KEY_PART_SEQS: &str = "jetgate-part-seqs";

/// The [`KEY_PART_SEQS`] value, when every part was appended in place.
pub fn encode_part_seqs(parts: &[PartRecord]) -> Option<String> {
    parts
        .iter()
        .map(|p| match &p.location {
            Location::Appended { first_seq, .. } => Some(format!("{first_seq}:{}", p.chunks)),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()
        .map(|v| v.join(","))
}

/// The part starts of a multipart object's metadata as seek points; none when the
/// object has no (or an inconsistent) index.
pub fn seek_points(metadata: &BTreeMap<String, String>) -> Vec<SeekPoint> {
    let sizes = metadata.get(KEY_PARTS).and_then(|t| decode_sizes(t));
    let (Some(sizes), Some(seqs)) = (sizes, metadata.get(KEY_PART_SEQS)) else {
        return Vec::new();
    };
    let entries: Vec<&str> = seqs.split(',').collect();
    if entries.len() != sizes.len() {
        return Vec::new();
    }
    let (mut out, mut offset, mut chunks_before) = (Vec::new(), 0u64, 0u64);
    for (size, entry) in sizes.iter().zip(entries) {
        let parsed = entry
            .split_once(':')
            .and_then(|(s, c)| Some((s.parse::<u64>().ok()?, c.parse::<u64>().ok()?)));
        let Some((seq, chunks)) = parsed else {
            return Vec::new();
        };
        if chunks > 0 {
            out.push(SeekPoint {
                offset,
                seq,
                chunks_before,
            });
        }
        offset += size;
        chunks_before += chunks;
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::multipart::sha::Sha256State;
    use jetgate_protocol::S3ErrorCode;

    fn rec(n: u32, data: &[u8], appended: bool) -> PartRecord {
        PartRecord {
            part_number: n,
            etag: hex::encode(Md5::digest(data)),
            size: data.len() as u64,
            chunks: 1,
            last_modified_ms: 0,
            checksum: None,
            location: if appended {
                Location::Appended {
                    first_seq: 1,
                    last_seq: 1,
                    sha_after: Sha256State::default(),
                }
            } else {
                Location::Staged {
                    subject: "s".into(),
                }
            },
        }
    }

    #[test]
    fn parses_the_aws_example() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
   <Part><ETag>"a54357aff0632cce46d942af68356b38"</ETag><PartNumber>1</PartNumber></Part>
   <Part><PartNumber>2</PartNumber><ETag>&quot;0C78AEF83F66ABC1FA1E8477F296D394&quot;</ETag>
     <ChecksumCRC32>abc=</ChecksumCRC32></Part>
</CompleteMultipartUpload>"#;
        let l = parse_complete(xml).unwrap();
        assert_eq!(
            l,
            vec![
                Listed {
                    part_number: 1,
                    etag: "a54357aff0632cce46d942af68356b38".into(),
                    checksums: vec![],
                },
                Listed {
                    part_number: 2,
                    etag: "0c78aef83f66abc1fa1e8477f296d394".into(),
                    checksums: vec![(ChecksumAlgorithm::Crc32, "abc=".into())],
                },
            ]
        );
    }

    #[test]
    fn rejects_bad_lists() {
        let code = |x: &str| parse_complete(x.as_bytes()).unwrap_err().code;
        assert_eq!(
            code("<CompleteMultipartUpload></CompleteMultipartUpload>"),
            S3ErrorCode::MalformedXML
        );
        assert_eq!(
            code("<CompleteMultipartUpload><Part>"),
            S3ErrorCode::MalformedXML
        );
        let two = |a: u32, b: u32| {
            format!("<CompleteMultipartUpload><Part><PartNumber>{a}</PartNumber><ETag>x</ETag></Part><Part><PartNumber>{b}</PartNumber><ETag>y</ETag></Part></CompleteMultipartUpload>")
        };
        assert_eq!(code(&two(2, 1)), S3ErrorCode::InvalidPartOrder);
        assert_eq!(code(&two(1, 1)), S3ErrorCode::InvalidPartOrder);
        assert_eq!(code(&two(1, 10001)), S3ErrorCode::InvalidArgument);
        assert!(parse_complete(two(1, 3).as_bytes()).is_ok());
    }

    #[test]
    fn checks_etags_and_sizes() {
        let big = vec![7u8; MIN_PART_SIZE as usize];
        let r1 = rec(1, &big, true);
        let r2 = rec(2, b"tail", true);
        let l = |n: u32, r: &PartRecord| Listed {
            part_number: n,
            etag: r.etag.clone(),
            checksums: vec![],
        };
        let ok = check_parts(
            &[l(1, &r1), l(2, &r2)],
            vec![Some(r1.clone()), Some(r2.clone())],
        )
        .unwrap();
        assert_eq!(ok.len(), 2);
        assert!(in_place(&ok, 3));
        assert!(!in_place(&ok, 2));
        let bad = Listed {
            part_number: 2,
            etag: "00".into(),
            checksums: vec![],
        };
        let e = check_parts(&[l(1, &r1), bad], vec![Some(r1.clone()), Some(r2.clone())]);
        assert_eq!(e.unwrap_err().code, S3ErrorCode::InvalidPart);
        let e = check_parts(&[l(1, &r1), l(2, &r2)], vec![Some(r1.clone()), None]);
        assert_eq!(e.unwrap_err().code, S3ErrorCode::InvalidPart);
        let e = check_parts(
            &[l(2, &r2), l(1, &r1)],
            vec![Some(r2.clone()), Some(r1.clone())],
        );
        assert_eq!(e.unwrap_err().code, S3ErrorCode::EntityTooSmall);
        // A subset with a hole is valid but not in place.
        let r3 = rec(3, b"x", true);
        let sub = check_parts(&[l(1, &r1), l(3, &r3)], vec![Some(r1), Some(r3)]).unwrap();
        assert!(!in_place(&sub, 4));
        let staged = rec(1, b"y", false);
        assert!(!in_place(&[staged], 4));
    }

    #[test]
    fn listed_checksums_must_be_the_stored_ones() {
        let mut r = rec(1, b"tail", true);
        let crc = ChecksumAlgorithm::Crc32.checksum_base64(b"tail");
        r.checksum = Some(("x-amz-checksum-crc32".into(), crc.clone()));
        let listed = |checksums| Listed {
            part_number: 1,
            etag: r.etag.clone(),
            checksums,
        };
        let check = |l: Listed| check_parts(&[l], vec![Some(r.clone())]).map(|_| ());
        assert!(check(listed(vec![])).is_ok());
        assert!(check(listed(vec![(ChecksumAlgorithm::Crc32, crc.clone())])).is_ok());
        for wrong in [
            vec![(ChecksumAlgorithm::Crc32, "AAAAAA==".to_string())],
            vec![(ChecksumAlgorithm::Crc32c, crc.clone())],
        ] {
            assert_eq!(
                check(listed(wrong)).unwrap_err().code,
                S3ErrorCode::InvalidPart
            );
        }
    }

    #[test]
    fn multipart_etag_is_md5_of_md5s() {
        let a = rec(1, b"hello", true);
        let b = rec(2, b"world", true);
        let mut h = Md5::new();
        h.update(Md5::digest(b"hello"));
        h.update(Md5::digest(b"world"));
        let want = format!("{}-2", hex::encode(h.finalize()));
        assert_eq!(multipart_etag(&[a, b]).unwrap(), want);
    }

    #[test]
    fn sizes_round_trip() {
        let s = vec![8u64, 8, 8, 5, 5, 3];
        let t = encode_sizes(&s);
        assert_eq!(t, "8*3,5*2,3");
        assert_eq!(decode_sizes(&t).unwrap(), s);
        assert_eq!(decode_sizes("1*20000"), None);
        assert_eq!(decode_sizes("x"), None);
    }

    #[test]
    fn seek_points_from_part_sizes_and_seqs() {
        let mut m = BTreeMap::new();
        m.insert(KEY_PARTS.to_string(), encode_sizes(&[10, 10, 0, 4]));
        m.insert(KEY_PART_SEQS.to_string(), "5:2,9:2,0:0,20:1".to_string());
        let at = |offset, seq, chunks_before| SeekPoint {
            offset,
            seq,
            chunks_before,
        };
        assert_eq!(
            seek_points(&m),
            vec![at(0, 5, 0), at(10, 9, 2), at(20, 20, 4)]
        );
        // Inconsistent or missing index: no seek points, the reader lists chunks.
        m.insert(KEY_PART_SEQS.to_string(), "5:2,9:2".to_string());
        assert!(seek_points(&m).is_empty());
        m.insert(KEY_PART_SEQS.to_string(), "5:2,x:2,0:0,20:1".to_string());
        assert!(seek_points(&m).is_empty());
        m.remove(KEY_PART_SEQS);
        assert!(seek_points(&m).is_empty());
    }
}
