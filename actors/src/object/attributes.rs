//! Additional checksums as stored with an object and returned on GET/HEAD
//! (`x-amz-checksum-mode: ENABLED`) and by GetObjectAttributes, the multipart composite
//! checksum (`base64(alg(concat part checksums))-N`).

use jetgate_protocol::rpc;
use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use jetgate_protocol::attributes::{AttributesReply, GetObjectAttributes, ObjectParts, PartAttrs};
use jetgate_protocol::messages::Call;
use jetgate_protocol::S3Error;

use crate::incoming::Incoming;
use crate::multipart::plan::{decode_sizes, KEY_PARTS};
use crate::payload::ChecksumAlgorithm;
use crate::store::ObjectMeta;
use crate::worker::Worker;

/// Metadata key of the object's checksum: `CRC32:<base64>` (`-N` after multipart).
pub const KEY_CHECKSUM: &str = "jetgate-checksum";
/// Metadata key of a multipart object's part checksums, base64, comma-separated.
pub const KEY_PART_CHECKSUMS: &str = "jetgate-part-checksums";

/// The stored checksum: algorithm and value as S3 shows it.
pub fn stored_checksum(meta: &ObjectMeta) -> Option<(ChecksumAlgorithm, String)> {
    let (algo, value) = checksum_entry(&meta.metadata)?;
    Some((ChecksumAlgorithm::from_name(algo)?, value.to_string()))
}

/// The [`KEY_CHECKSUM`] entry of `metadata`, split: algorithm name and value.
pub fn checksum_entry(metadata: &BTreeMap<String, String>) -> Option<(&str, &str)> {
    metadata.get(KEY_CHECKSUM)?.split_once(':')
}

/// Records a whole-object checksum computed (or verified) while the body streamed.
pub fn set_checksum(meta: &mut ObjectMeta, algo: ChecksumAlgorithm, value: &str) {
    meta.metadata
        .insert(KEY_CHECKSUM.into(), format!("{}:{value}", algo.as_str()));
}

pub use jetgate_protocol::attributes::checksum_type;

/// Extra GET/HEAD headers: `x-amz-tagging-count` when the object has tags, and with
/// checksum mode the stored checksum and its type. A range or a single part has no
/// checksum of its own here, so none is sent (clients then skip validation).
pub fn get_headers(meta: &ObjectMeta, checksum_mode: bool, whole: bool) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let tags = super::tagging::stored_tags(meta).len();
    if tags > 0 {
        out.push(("x-amz-tagging-count".to_string(), tags.to_string()));
    }
    if checksum_mode && whole {
        if let Some((algo, value)) = stored_checksum(meta) {
            out.push((
                "x-amz-checksum-type".to_string(),
                checksum_type(&value).to_string(),
            ));
            out.push((algo.header_name().to_string(), value));
        }
    }
    out
}

/// Metadata entries for the composite checksum of a multipart upload created with
/// `algorithm`: the object value and the part values. Nothing when the upload asked for
/// no checksum or some part has none in that algorithm (e.g. a copied part): a checksum
/// jetgate cannot vouch for is not invented.
pub fn composite_metadata(
    algorithm: Option<&str>,
    parts: &[Option<(String, String)>],
) -> Result<BTreeMap<String, String>, S3Error> {
    let mut out = BTreeMap::new();
    let Some(algo) = algorithm.and_then(ChecksumAlgorithm::from_name) else {
        return Ok(out);
    };
    let mut values = Vec::with_capacity(parts.len());
    for p in parts {
        match p {
            Some((header, value)) if ChecksumAlgorithm::from_header_name(header) == Some(algo) => {
                values.push(value.clone())
            }
            _ => {
                tracing::debug!(%algo, "a part has no checksum in the upload's algorithm");
                return Ok(out);
            }
        }
    }
    let mut h = algo.hasher();
    for v in &values {
        h.update(&algo.decode_value(v)?);
    }
    let composite = format!("{}-{}", h.finalize_base64(), values.len());
    out.insert(
        KEY_CHECKSUM.into(),
        format!("{}:{composite}", algo.as_str()),
    );
    out.insert(KEY_PART_CHECKSUMS.into(), values.join(","));
    Ok(out)
}

/// Metadata entries for the FULL_OBJECT checksum of a multipart upload: the CRC of the
/// whole object, combined from the part CRCs and sizes without rereading a byte, and
/// the part values. Nothing when some part has no checksum in `algo` (a copied part).
pub fn full_object_metadata(
    algo: ChecksumAlgorithm,
    parts: &[(Option<(String, String)>, u64)],
) -> Result<BTreeMap<String, String>, S3Error> {
    let mut out = BTreeMap::new();
    let mut values = Vec::with_capacity(parts.len());
    let mut whole: Option<Vec<u8>> = None;
    for (checksum, size) in parts {
        let Some((header, value)) = checksum
            .as_ref()
            .filter(|(h, _)| ChecksumAlgorithm::from_header_name(h) == Some(algo))
        else {
            tracing::debug!(%algo, "a part has no checksum in the upload's algorithm");
            return Ok(out);
        };
        let raw = algo.decode_value(value)?;
        whole = Some(match whole {
            None => raw,
            Some(acc) => crate::payload::crc_combine::combine(algo, &acc, &raw, *size)
                .ok_or_else(|| S3Error::internal(format!("{header} cannot be combined")))?,
        });
        values.push(value.clone());
    }
    let raw = whole.unwrap_or_else(|| algo.hasher().finalize());
    out.insert(
        KEY_CHECKSUM.into(),
        format!("{}:{}", algo.as_str(), B64.encode(raw)),
    );
    out.insert(KEY_PART_CHECKSUMS.into(), values.join(","));
    Ok(out)
}

/// The ObjectParts answer of a multipart object, one page of it.
pub fn object_parts(meta: &ObjectMeta, marker: u32, max_parts: u32) -> Option<ObjectParts> {
    let sizes = decode_sizes(meta.metadata.get(KEY_PARTS)?)?;
    let sums: Vec<&str> = meta
        .metadata
        .get(KEY_PART_CHECKSUMS)
        .map(|s| s.split(',').collect())
        .unwrap_or_default();
    let total = sizes.len() as u32;
    let parts: Vec<PartAttrs> = sizes
        .iter()
        .enumerate()
        .map(|(i, size)| PartAttrs {
            part_number: i as u32 + 1,
            size: *size,
            checksum: sums.get(i).map(|s| s.to_string()),
        })
        .filter(|p| p.part_number > marker)
        .take(max_parts as usize)
        .collect();
    let last = parts.last().map(|p| p.part_number).unwrap_or(marker);
    Some(ObjectParts {
        total_parts: total,
        part_number_marker: marker,
        next_part_number_marker: last,
        max_parts,
        is_truncated: last < total,
        parts,
    })
}

pub async fn get_attributes(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let call: Call<GetObjectAttributes> = inc.call::<rpc::GetObjectAttributes>()?.msg;
    let op = &call.op;
    let nats_bucket = super::target(&op.bucket, &op.key)?;
    worker.authenticate(inc, &call.signed, &call.op).await?;
    let meta = worker
        .store()
        .lookup(&nats_bucket, &op.key)
        .await?
        .ok_or_else(S3Error::no_such_key)?;
    let checksum = stored_checksum(&meta);
    let reply = AttributesReply {
        etag: meta.etag(),
        size: meta.size,
        last_modified_ms: meta.last_modified_ms(),
        checksum_type: checksum.as_ref().map(|(_, v)| checksum_type(v).to_string()),
        // The part count is in ObjectParts; S3 shows the bare digest here.
        checksum: checksum.map(|(a, v)| {
            let bare = v.split_once('-').map(|(b, _)| b.to_string()).unwrap_or(v);
            (a.as_str().to_string(), bare)
        }),
        parts: object_parts(&meta, op.part_number_marker, op.max_parts),
    };
    inc.reply::<rpc::GetObjectAttributes>(&reply, &[]).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn part(algo: ChecksumAlgorithm, data: &[u8]) -> Option<(String, String)> {
        Some((algo.header_name().to_string(), algo.checksum_base64(data)))
    }

    #[test]
    fn composite_checksum_like_s3() {
        use ChecksumAlgorithm::*;
        let parts = [part(Crc32, b"hello "), part(Crc32, b"world")];
        let m = composite_metadata(Some("CRC32"), &parts).unwrap();
        // base64(crc32(crc32("hello ") || crc32("world")))-2, cross-checked in Python.
        let mut raw = Crc32
            .decode_value(&Crc32.checksum_base64(b"hello "))
            .unwrap();
        raw.extend(
            Crc32
                .decode_value(&Crc32.checksum_base64(b"world"))
                .unwrap(),
        );
        let want = format!("CRC32:{}-2", Crc32.checksum_base64(&raw));
        assert_eq!(m.get(KEY_CHECKSUM), Some(&want));
        let meta = ObjectMeta {
            metadata: m,
            ..Default::default()
        };
        let (algo, value) = stored_checksum(&meta).unwrap();
        assert_eq!((algo, checksum_type(&value)), (Crc32, "COMPOSITE"));
        // No algorithm asked, or a part without a matching checksum: nothing stored.
        assert!(composite_metadata(None, &parts).unwrap().is_empty());
        let mixed = [part(Crc32, b"a"), part(Sha256, b"b")];
        assert!(composite_metadata(Some("CRC32"), &mixed)
            .unwrap()
            .is_empty());
        assert!(composite_metadata(Some("SHA1"), &[None])
            .unwrap()
            .is_empty());
        let bad = [Some(("x-amz-checksum-crc32".to_string(), "!!".to_string()))];
        assert!(composite_metadata(Some("CRC32"), &bad).is_err());
    }

    #[test]
    fn get_headers_and_parts() {
        let mut meta = ObjectMeta::default();
        assert!(get_headers(&meta, true, true).is_empty());
        meta.metadata
            .insert(KEY_CHECKSUM.into(), "SHA256:abc=".into());
        meta.metadata
            .insert(super::super::tagging::KEY_TAGS.into(), "a=1&b=2".into());
        let h = get_headers(&meta, true, true);
        assert_eq!(
            h,
            [
                ("x-amz-tagging-count".to_string(), "2".to_string()),
                ("x-amz-checksum-type".to_string(), "FULL_OBJECT".to_string()),
                ("x-amz-checksum-sha256".to_string(), "abc=".to_string()),
            ]
        );
        assert_eq!(get_headers(&meta, false, true).len(), 1);
        assert_eq!(get_headers(&meta, true, false).len(), 1);
        assert!(object_parts(&meta, 0, 1000).is_none());
        meta.metadata.insert(KEY_PARTS.into(), "5*2,3".into());
        meta.metadata
            .insert(KEY_PART_CHECKSUMS.into(), "a,b,c".into());
        let p = object_parts(&meta, 0, 2).unwrap();
        assert_eq!(
            (p.total_parts, p.is_truncated, p.next_part_number_marker),
            (3, true, 2)
        );
        assert_eq!(p.parts[1].checksum.as_deref(), Some("b"));
        let p = object_parts(&meta, 2, 2).unwrap();
        assert_eq!(
            (p.parts.len(), p.parts[0].size, p.is_truncated),
            (1, 3, false)
        );
    }
}
