//! CompleteMultipartUpload. Validation first (answered with a proper status); then the
//! upload is claimed (CAS on its record, so a concurrent Abort or Complete loses), and
//! the object is committed: in place when the listed parts are exactly the appended
//! prefix (only the metadata is written), else rebuilt by copying the parts in order
//! into a new chunk subject. A long commit answers `pending` first and the result later
//! on the edge's data subject, while the role's heartbeat keeps the client's response
//! alive.

use crate::store::unix_ms;
use jetgate_protocol::messages::Call;
use jetgate_protocol::multipart::{
    CompleteFinal, CompleteReply, CompleteResult, CompleteUpload, WireError,
};
use jetgate_protocol::rpc;
use jetgate_protocol::write_condition::WriteCondition;
use jetgate_protocol::S3Error;
use std::collections::BTreeMap;

use super::claim::Claim;
use super::plan::{self, Listed, KEY_PARTS};
use super::reader::{delete_after, SeqReader};
use super::sha::Sha256State;
use super::state::{
    CasError, Lease, Location, PartRecord, Phase, UploadRecord, Uploads, COMPLETE_LEASE, LEASE,
};
use crate::incoming::Incoming;
use crate::payload::ChecksumAlgorithm;
use crate::store::ChunkWriter;
use crate::store::{chunk_subject, stream_name};
use crate::worker::Worker;

/// Largest CompleteMultipartUpload document accepted.
const MAX_BODY: usize = 2 * 1024 * 1024;
/// Metadata keys of a multipart object.
pub const KEY_UPLOAD: &str = "jetgate-upload-id";

pub async fn complete(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let env = inc.call::<rpc::CompleteUpload>()?;
    let call: &Call<CompleteUpload> = &env.msg;
    let op = &call.op;
    let nats_bucket = crate::object::target(&op.bucket, &op.key)?;
    let principal = worker.authenticate(inc, &call.signed, &call.op).await?;
    let condition = WriteCondition::of_write(&call.signed)?;
    let xml = crate::body::read_complete_document(worker, inc, &principal, &env, MAX_BODY).await?;
    let listed = plan::parse_complete(&xml)?;
    let uploads = &super::uploads(worker).await?;
    let (mut upload, rev) =
        match super::upload_for(worker, uploads, &op.upload_id, &op.bucket, &op.key).await {
            Ok(u) => u,
            Err(e) => {
                // A retried Complete whose first attempt finished answers the same result.
                if let Some(meta) = worker.store().lookup(&nats_bucket, &op.key).await? {
                    if meta.metadata.get(KEY_UPLOAD) == Some(&op.upload_id) {
                        let result = CompleteResult {
                            bucket: op.bucket.clone(),
                            key: op.key.clone(),
                            etag: meta.etag(),
                            checksum: composite_of(&meta.metadata),
                        };
                        return inc
                            .reply::<rpc::CompleteUpload>(
                                &CompleteReply {
                                    pending: false,
                                    result: Some(result),
                                },
                                &[],
                            )
                            .await;
                    }
                }
                return Err(e);
            }
        };
    if let Phase::Completing { until_ms } = upload.phase {
        if until_ms > unix_ms() {
            return Err(S3Error::service_unavailable_with(
                "A Complete of this upload is in progress; please retry.",
            ));
        }
    }
    let records = read_records(uploads, &op.upload_id, &listed).await?;
    let parts = plan::check_parts(&listed, records)?;
    let etag = plan::multipart_etag(&parts)?;
    let checksum_meta = upload_checksum(&upload, &parts, &call.signed)?;
    let (existing, expected) =
        crate::object::current_for_write(worker, &nats_bucket, &op.key, &condition).await?;
    // Claim: from here on exactly this Complete owns the upload.
    upload.phase = Phase::Completing {
        until_ms: unix_ms() + COMPLETE_LEASE.as_millis() as i64,
    };
    let claimed_rev = match uploads.update_upload(&upload, rev).await {
        Ok(r) => r,
        Err(CasError::Conflict) => return Err(S3Error::no_such_upload()),
        Err(CasError::Failed(e)) => return Err(e),
    };
    // Extended while the commit runs, so a long copy is not taken over.
    let claim = Claim::keep(uploads, &upload, claimed_rev);
    let download = call.data_subject.clone();
    if download.is_some() {
        inc.reply::<rpc::CompleteUpload>(
            &CompleteReply {
                pending: true,
                result: None,
            },
            &[],
        )
        .await?;
    }
    let started = std::time::Instant::now();
    let outcome = commit(
        worker,
        uploads,
        &upload,
        &parts,
        (&etag, &checksum_meta),
        expected,
        &claim,
    )
    .await;
    drop(claim);
    let outcome = match outcome {
        Ok(()) => {
            if let Some(old) = existing.filter(|m| m.nuid != upload.nuid) {
                let subject = chunk_subject(&nats_bucket, &old.nuid);
                if let Err(e) = worker.store().purge_subject(&nats_bucket, &subject).await {
                    tracing::warn!(error = %e, "could not purge replaced chunks; the janitor will");
                }
            }
            tracing::info!(upload_id = %upload.upload_id, parts = parts.len(), ms = started.elapsed().as_millis() as u64, "upload completed");
            Ok(CompleteResult {
                bucket: op.bucket.clone(),
                key: op.key.clone(),
                etag,
                checksum: composite_of(&checksum_meta),
            })
        }
        Err(e) => {
            unclaim(uploads, &upload.upload_id).await;
            Err(e)
        }
    };
    match download {
        None => {
            let result = outcome?;
            inc.reply::<rpc::CompleteUpload>(
                &CompleteReply {
                    pending: false,
                    result: Some(result),
                },
                &[],
            )
            .await
        }
        Some(d) => {
            let fin = match outcome {
                Ok(r) => CompleteFinal {
                    result: Some(r),
                    error: None,
                },
                Err(e) => CompleteFinal {
                    result: None,
                    error: Some(WireError {
                        code: e.code.as_str().to_string(),
                        status: e.status(),
                        message: e.message.clone(),
                    }),
                },
            };
            let payload = jetgate_protocol::encode(&fin, &[]).map_err(S3Error::internal)?;
            worker
                .client()
                .publish_with_headers(d, inc.ctx.headers(), payload)
                .await
                .map_err(S3Error::internal)?;
            Ok(())
        }
    }
}

async fn read_records(
    uploads: &Uploads,
    id: &str,
    listed: &[Listed],
) -> Result<Vec<Option<PartRecord>>, S3Error> {
    uploads
        .parts(id, listed.iter().map(|l| l.part_number).collect())
        .await
}

/// Puts the upload back to Active after a failed commit (the client may fix and retry).
async fn unclaim(uploads: &Uploads, id: &str) {
    if let Ok(Some((mut u, rev))) = uploads.upload(id).await {
        u.phase = Phase::Active;
        let _ = uploads.update_upload(&u, rev).await;
    }
    if let Ok((mut c, rev)) = uploads.cursor(id).await {
        if c.lease.as_ref().is_some_and(|l| l.part == 0) {
            c.lease = None;
            let _ = uploads.set_cursor(id, &c, rev).await;
            uploads.cursor_moved(id);
        }
    }
}

/// Takes the append lease for good (waiting out a writer in flight); returns the cursor.
async fn stop_appends(uploads: &Uploads, id: &str) -> Result<super::state::Cursor, S3Error> {
    let deadline = std::time::Instant::now() + LEASE + std::time::Duration::from_secs(5);
    loop {
        let (mut cur, rev) = uploads.cursor(id).await?;
        let now = unix_ms();
        if cur.lease.as_ref().is_none_or(|l| l.expires_ms < now) {
            cur.lease = Some(Lease {
                part: 0,
                token: "complete".into(),
                expires_ms: now + COMPLETE_LEASE.as_millis() as i64,
            });
            match uploads.set_cursor(id, &cur, rev).await {
                Ok(_) => return Ok(cur),
                Err(CasError::Conflict) => continue,
                Err(CasError::Failed(e)) => return Err(e),
            }
        }
        if std::time::Instant::now() >= deadline {
            return Err(S3Error::service_unavailable_with(
                "A part of this upload is still being written; please retry.",
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The checksum the upload asked for, from the part checksums: COMPOSITE, or
/// FULL_OBJECT combined from the part CRCs. A whole-object value the Complete request
/// sends (`x-amz-checksum-<algorithm>`) must be that value: `BadDigest` otherwise.
fn upload_checksum(
    upload: &UploadRecord,
    parts: &[PartRecord],
    signed: &jetgate_protocol::messages::SignedRequest,
) -> Result<BTreeMap<String, String>, S3Error> {
    use crate::object::attributes::{composite_metadata, full_object_metadata};
    let algorithm = upload.checksum_algorithm.as_deref();
    if let Some(kind) = signed.header("x-amz-checksum-type") {
        let ours = match (algorithm, upload.full_object) {
            (None, _) => None,
            (Some(_), true) => Some("FULL_OBJECT"),
            (Some(_), false) => Some("COMPOSITE"),
        };
        if ours.is_none_or(|t| !t.eq_ignore_ascii_case(kind.trim())) {
            return Err(S3Error::invalid_request(format!(
                    "The upload was created using the {} checksum mode. The complete request must use the same checksum mode.",
                    ours.unwrap_or("no")
                )));
        }
    }
    let meta = match algorithm.and_then(ChecksumAlgorithm::from_name) {
        Some(algo) if upload.full_object => {
            let sums: Vec<_> = parts.iter().map(|p| (p.checksum.clone(), p.size)).collect();
            full_object_metadata(algo, &sums)?
        }
        _ => {
            let sums: Vec<_> = parts.iter().map(|p| p.checksum.clone()).collect();
            composite_metadata(algorithm, &sums)?
        }
    };
    if let Some(algo) = algorithm.and_then(ChecksumAlgorithm::from_name) {
        if let Some(sent) = signed.header(algo.header_name()) {
            // A COMPOSITE value is compared with or without its `-N`.
            let bare = |v: &str| v.trim().split('-').next().unwrap_or_default().to_string();
            let ours = composite_of(&meta).map(|(_, v)| bare(&v));
            if ours != Some(bare(sent)) {
                return Err(S3Error::bad_digest_with(format!(
                    "The {} you specified did not match the calculated checksum.",
                    algo.header_name()
                )));
            }
        }
    }
    Ok(meta)
}

/// The composite checksum kept in `metadata`, as the Complete result shows it.
fn composite_of(metadata: &BTreeMap<String, String>) -> Option<(String, String)> {
    let (algo, value) = crate::object::attributes::checksum_entry(metadata)?;
    Some((algo.to_string(), value.to_string()))
}

async fn commit(
    worker: &Worker,
    uploads: &Uploads,
    upload: &UploadRecord,
    parts: &[PartRecord],
    (etag, checksum_meta): (&str, &BTreeMap<String, String>),
    expected_seq: Option<u64>,
    claim: &Claim,
) -> Result<(), S3Error> {
    let store = worker.store();
    let nb = &upload.nats_bucket;
    let stream = stream_name(nb);
    let final_subject = chunk_subject(nb, &upload.nuid);
    let cursor = stop_appends(uploads, &upload.upload_id).await?;
    let size: u64 = parts.iter().map(|p| p.size).sum();
    let chunks: u64 = parts.iter().map(|p| p.chunks).sum();
    let (nuid, sha) = if plan::in_place(parts, cursor.next_part) {
        let mut keep = 0;
        let mut sha = Sha256State::default();
        for p in parts {
            if let Location::Appended {
                last_seq,
                sha_after,
                ..
            } = &p.location
            {
                keep = keep.max(*last_seq);
                sha = sha_after.clone();
            }
        }
        // Appended parts after the listed prefix, re-uploaded originals, strays.
        let dropped = delete_after(&store.js, &store.client, &stream, &final_subject, keep).await?;
        if dropped > 0 {
            tracing::debug!(dropped, "removed chunks of unlisted parts");
        }
        (upload.nuid.clone(), sha.finish())
    } else {
        rebuild(worker, upload, parts, claim).await?
    };
    let stored = crate::object::Stored {
        nuid: &nuid,
        size,
        chunks,
    };
    let mut meta = crate::object::new_meta(nb, &upload.key, stored, &sha, etag);
    meta.set_object_headers(&upload.headers);
    let sizes: Vec<u64> = parts.iter().map(|p| p.size).collect();
    meta.metadata
        .insert(KEY_PARTS.into(), plan::encode_sizes(&sizes));
    // Committed in place, the parts' chunks keep the sequences they were appended at.
    if nuid == upload.nuid {
        if let Some(seqs) = plan::encode_part_seqs(parts) {
            meta.metadata.insert(plan::KEY_PART_SEQS.into(), seqs);
        }
    }
    meta.metadata
        .insert(KEY_UPLOAD.into(), upload.upload_id.clone());
    // Tags from CreateMultipartUpload, and the composite checksum it asked for.
    crate::object::tagging::set_tags(&mut meta, &upload.tags);
    meta.metadata.extend(checksum_meta.clone());
    // Last look before the point of no return: is the upload still ours?
    let published = match claim.check() {
        Ok(()) => store
            .put_meta_if(nb, &meta, expected_seq)
            .await
            .map_err(S3Error::from),
        Err(e) => Err(e),
    };
    if let Err(e) = published {
        if nuid != upload.nuid {
            let _ = store.purge_subject(nb, &chunk_subject(nb, &nuid)).await;
        }
        return Err(e);
    }
    // Committed. What is left is clean-up; failures there only leave garbage that the
    // janitor reclaims once the upload's keys are gone.
    if let Err(e) = uploads.forget(&upload.upload_id).await {
        tracing::warn!(error = %e, "could not remove the upload's keys");
    }
    let staged = format!("{final_subject}.>");
    if let Err(e) = store.purge_subject(nb, &staged).await {
        tracing::warn!(error = %e, "could not purge staged parts");
    }
    if nuid != upload.nuid {
        if let Err(e) = store.purge_subject(nb, &final_subject).await {
            tracing::warn!(error = %e, "could not purge the superseded append subject");
        }
    }
    Ok(())
}

/// The write-twice path: copies the listed parts, in order, into a new chunk subject.
async fn rebuild(
    worker: &Worker,
    upload: &UploadRecord,
    parts: &[PartRecord],
    claim: &Claim,
) -> Result<(String, [u8; 32]), S3Error> {
    let store = worker.store();
    let nb = &upload.nats_bucket;
    let stream = stream_name(nb);
    let final_subject = chunk_subject(nb, &upload.nuid);
    let nuid = nuid::next().to_string();
    let target = chunk_subject(nb, &nuid);
    let mut sha = Sha256State::default();
    let started = std::time::Instant::now();
    let copied: Result<(), S3Error> = async {
        for p in parts {
            let mut reader = match &p.location {
                Location::Appended {
                    first_seq,
                    last_seq,
                    ..
                } => SeqReader::new(
                    &store.client,
                    &stream,
                    &final_subject,
                    *first_seq,
                    *last_seq,
                ),
                Location::Staged { subject } => {
                    SeqReader::new(&store.client, &stream, subject, 1, u64::MAX)
                }
            };
            let mut writer =
                ChunkWriter::with_subject(store.clone(), nb, nuid.clone(), target.clone());
            let mut got = 0u64;
            while let Some(chunk) = reader.next().await? {
                claim.check()?;
                got += chunk.len() as u64;
                sha.update(&chunk);
                writer.write_bytes(chunk).await.map_err(S3Error::from)?;
            }
            writer.finish().await.map_err(S3Error::from)?;
            if got != p.size || writer.chunks() != p.chunks {
                return Err(S3Error::internal(format!(
                    "part {} has {got} bytes stored, {} recorded",
                    p.part_number, p.size
                )));
            }
        }
        Ok(())
    }
    .await;
    if let Err(e) = copied {
        let _ = store.purge_subject(nb, &target).await;
        return Err(e);
    }
    tracing::info!(upload_id = %upload.upload_id, ms = started.elapsed().as_millis() as u64, "parts copied into a new subject");
    Ok((nuid, sha.finish()))
}
