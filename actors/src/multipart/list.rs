//! ListParts and ListMultipartUploads.

use jetgate_protocol::messages::Call;
use jetgate_protocol::multipart::{
    ListParts, ListPartsReply, ListUploads, ListUploadsReply, PartEntry, UploadEntry,
};
use jetgate_protocol::names::validate_bucket;
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use super::state::{Phase, UploadRecord, Uploads};
use crate::incoming::Incoming;
use crate::worker::Worker;

pub async fn list_parts(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let call: Call<ListParts> = inc.call::<rpc::ListParts>()?.msg;
    let op = &call.op;
    crate::object::target(&op.bucket, &op.key)?;
    worker.authenticate(inc, &call.signed, &call.op).await?;
    let uploads = &super::uploads(worker).await?;
    let (upload, _) =
        super::upload_for(worker, uploads, &op.upload_id, &op.bucket, &op.key).await?;
    let numbers = uploads.part_numbers(&op.upload_id).await?;
    let max = op.max_parts.min(1000) as usize;
    let after: Vec<u32> = numbers
        .into_iter()
        .filter(|n| *n > op.part_number_marker)
        .collect();
    let is_truncated = after.len() > max;
    let page = &after[..after.len().min(max)];
    let parts: Vec<PartEntry> = uploads
        .parts(&op.upload_id, page.to_vec())
        .await?
        .into_iter()
        .flatten()
        .map(|p| PartEntry {
            part_number: p.part_number,
            etag: p.etag,
            size: p.size,
            last_modified_ms: p.last_modified_ms,
        })
        .collect();
    let reply = ListPartsReply {
        bucket: op.bucket.clone(),
        key: op.key.clone(),
        upload_id: op.upload_id.clone(),
        part_number_marker: op.part_number_marker,
        next_part_number_marker: parts.last().map(|p| p.part_number).unwrap_or(0),
        max_parts: op.max_parts,
        is_truncated,
        parts,
        owner: upload.owner,
    };
    inc.reply::<rpc::ListParts>(&reply, &[]).await
}

/// Every upload in progress (any bucket), for listings and the stale sweep.
pub async fn all_uploads(uploads: &Uploads) -> Result<Vec<(UploadRecord, u64)>, S3Error> {
    let ids = uploads.upload_ids().await?;
    let found = uploads.uploads(ids).await?;
    Ok(found.into_iter().flatten().collect())
}

pub async fn list_uploads(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let call: Call<ListUploads> = inc.call::<rpc::ListUploads>()?.msg;
    validate_bucket(&call.op.bucket)?;
    worker.authenticate(inc, &call.signed, &call.op).await?;
    let op = call.op;
    worker
        .store()
        .require_bucket(&jetgate_protocol::names::bucket_to_nats(&op.bucket))
        .await?;
    let uploads = &super::uploads(worker).await?;
    let index = super::upload_index(worker, uploads);
    let from = op.key_marker.as_deref().unwrap_or("");
    let page = index
        .read(
            worker.store(),
            uploads,
            &op.bucket,
            &op.prefix,
            from,
            |found| paginate(&op, found.filter(|u| listed(u)).cloned()),
        )
        .await?;
    let page = match page {
        Some(page) => page,
        // The index could not catch up in time: read every upload record instead.
        None => {
            let mut found: Vec<UploadRecord> = all_uploads(uploads)
                .await?
                .into_iter()
                .map(|(u, _)| u)
                .filter(|u| u.bucket == op.bucket && u.key.starts_with(&op.prefix))
                .filter(listed)
                .collect();
            found.sort_by(|a, b| {
                (a.key.as_str(), a.created_ms, a.upload_id.as_str()).cmp(&(
                    b.key.as_str(),
                    b.created_ms,
                    b.upload_id.as_str(),
                ))
            });
            paginate(&op, found)
        }
    };
    inc.reply::<rpc::ListUploads>(&page, &[]).await
}

/// Uploads a listing shows: those not finished (a Complete in progress included, as
/// S3 lists an upload until its Complete has succeeded).
fn listed(u: &UploadRecord) -> bool {
    matches!(u.phase, Phase::Active | Phase::Completing { .. })
}

/// S3's ListMultipartUploads paging: after `key-marker` (and, within that key, after
/// `upload-id-marker`), `delimiter` rolls keys up into common prefixes.
pub fn paginate(
    op: &ListUploads,
    sorted: impl IntoIterator<Item = UploadRecord>,
) -> ListUploadsReply {
    let max = op.max_uploads.min(1000) as usize;
    let mut after_marker = op.upload_id_marker.is_none();
    let mut uploads = Vec::new();
    let mut prefixes: Vec<String> = Vec::new();
    let mut is_truncated = false;
    let mut next_key = None;
    let mut next_id = None;
    for u in sorted {
        if let Some(km) = &op.key_marker {
            match u.key.as_str().cmp(km.as_str()) {
                std::cmp::Ordering::Less => continue,
                std::cmp::Ordering::Equal => {
                    if !after_marker {
                        if Some(&u.upload_id) == op.upload_id_marker.as_ref() {
                            after_marker = true;
                        }
                        continue;
                    }
                    if op.upload_id_marker.is_none() {
                        continue;
                    }
                }
                std::cmp::Ordering::Greater => {}
            }
        }
        let rolled = op
            .delimiter
            .as_deref()
            .filter(|d| !d.is_empty())
            .and_then(|d| {
                let rest = &u.key[op.prefix.len()..];
                rest.find(d)
                    .map(|i| format!("{}{}", op.prefix, &rest[..i + d.len()]))
            });
        if let Some(p) = &rolled {
            if prefixes.last() == Some(p) {
                continue;
            }
        }
        if uploads.len() + prefixes.len() >= max {
            is_truncated = true;
            break;
        }
        next_key = Some(u.key.clone());
        next_id = Some(u.upload_id.clone());
        match rolled {
            Some(p) => prefixes.push(p),
            None => uploads.push(UploadEntry {
                key: u.key,
                upload_id: u.upload_id,
                initiated_ms: u.created_ms,
                owner: u.owner,
            }),
        }
    }
    ListUploadsReply {
        bucket: op.bucket.clone(),
        prefix: op.prefix.clone(),
        delimiter: op.delimiter.clone(),
        key_marker: op.key_marker.clone(),
        upload_id_marker: op.upload_id_marker.clone(),
        next_key_marker: if is_truncated { next_key } else { None },
        next_upload_id_marker: if is_truncated { next_id } else { None },
        max_uploads: op.max_uploads,
        is_truncated,
        uploads,
        common_prefixes: prefixes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    fn up(key: &str, id: &str) -> UploadRecord {
        super::super::state::test_record("b", key, 0, id)
    }

    fn op(max: u32) -> ListUploads {
        ListUploads {
            bucket: "b".into(),
            prefix: String::new(),
            delimiter: None,
            key_marker: None,
            upload_id_marker: None,
            max_uploads: max,
        }
    }

    fn keys(r: &ListUploadsReply) -> Vec<String> {
        r.uploads
            .iter()
            .map(|u| format!("{}:{}", u.key, u.upload_id))
            .collect()
    }

    #[test]
    fn pages_by_key_and_upload_id_markers() {
        let all = vec![
            up("a", "1"),
            up("a", "2"),
            up("b", "3"),
            up("c/x", "4"),
            up("c/y", "5"),
        ];
        let p1 = paginate(&op(2), all.clone());
        assert_eq!(keys(&p1), ["a:1", "a:2"]);
        assert!(p1.is_truncated);
        assert_eq!(p1.next_key_marker.as_deref(), Some("a"));
        assert_eq!(p1.next_upload_id_marker.as_deref(), Some("2"));
        let mut o = op(2);
        o.key_marker = Some("a".into());
        o.upload_id_marker = Some("1".into());
        assert_eq!(keys(&paginate(&o, all.clone())), ["a:2", "b:3"]);
        // A key marker alone skips every upload of that key.
        o.upload_id_marker = None;
        assert_eq!(keys(&paginate(&o, all.clone())), ["b:3", "c/x:4"]);
        let mut d = op(10);
        d.delimiter = Some("/".into());
        let r = paginate(&d, all);
        assert_eq!(keys(&r), ["a:1", "a:2", "b:3"]);
        assert_eq!(r.common_prefixes, ["c/"]);
        assert!(!r.is_truncated);
    }
}
