//! POST Object: a browser form upload (`multipart/form-data`) authorised by a signed
//! policy. The form streams through `multer`: the fields before `file` are read (capped),
//! the auth role checks the policy signature and expiration, the conditions are checked
//! here, then `file` streams into chunks exactly like a PUT body — never held whole —
//! with `content-length-range` enforced on the way. Metadata is written last, so a
//! refused or broken upload leaves nothing visible.

use bytes::Bytes;
use jetgate_protocol::messages::{ObjectHeaders, Principal, SignedRequest};
use jetgate_protocol::names::{bucket_to_nats, validate_bucket, validate_key};
use jetgate_protocol::post::{PostReply, VerifyPostPolicy};
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use crate::body::RequestBody;
use crate::incoming::Incoming;
use crate::payload::{PayloadMode, PayloadVerifier};
use crate::post_policy::{self, field};
use crate::store::ChunkWriter;
use crate::worker::Worker;

/// Total size of the fields before the file (S3 allows 20 KiB).
const MAX_PRE_DATA: usize = 20 * 1024;

/// A multer error: our own body-stream error comes back as it was, anything else is a
/// malformed form.
fn form_error(e: multer::Error) -> S3Error {
    if let multer::Error::StreamReadFailed(inner) = &e {
        if let Some(s3) = inner.downcast_ref::<S3Error>() {
            return s3.clone();
        }
    }
    tracing::debug!(error = %e, "malformed POST form");
    S3Error::malformed_post_request()
}

pub async fn post(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let env = inc.call::<rpc::PostObject>()?;
    let call = env.msg;
    validate_bucket(&call.op.bucket)?;
    let nats_bucket = bucket_to_nats(&call.op.bucket);
    let boundary = call
        .signed
        .header("content-type")
        .and_then(|ct| multer::parse_boundary(ct).ok())
        .ok_or_else(|| {
            S3Error::precondition_failed_with(
                "Bucket POST must be of the enclosure-type multipart/form-data",
            )
        })?;
    let mut body = RequestBody::new(worker, call.body.clone(), env.body);
    let mut writer = ChunkWriter::new(worker.store().clone(), &nats_bucket);
    let result = receive(
        worker,
        inc,
        &call.op.bucket,
        boundary,
        &mut body,
        &mut writer,
    )
    .await;
    let (key, headers, redirect, status, digests, written) = match result {
        Ok(r) => r,
        Err(e) => {
            body.abort("POST upload refused");
            writer.abort().await;
            return Err(e);
        }
    };
    let etag = super::md5_etag(&digests);
    let store = worker.store();
    let existing = match store.lookup_seq(&nats_bucket, &key).await {
        Ok((existing, _)) => existing,
        Err(e) => {
            writer.abort().await;
            return Err(e.into());
        }
    };
    let sha256 = digests.sha256.unwrap_or_default();
    let mut meta = super::new_meta(&nats_bucket, &key, (&written).into(), &sha256, &etag);
    meta.set_object_headers(&headers);
    if let Err(e) = store.put_meta_if(&nats_bucket, &meta, None).await {
        writer.abort().await;
        return Err(e.into());
    }
    if let Some(old) = existing {
        let subject = crate::store::chunk_subject(&nats_bucket, &old.nuid);
        if let Err(e) = store.purge_subject(&nats_bucket, &subject).await {
            tracing::warn!(error = %e, "could not purge replaced chunks; the janitor will");
        }
    }
    inc.usage.add_in(written.size);
    tracing::debug!(size = written.size, "object stored by POST");
    let reply = PostReply {
        bucket: call.op.bucket.clone(),
        key,
        etag,
        status,
        redirect,
    };
    inc.reply::<rpc::PostObject>(&reply, &[]).await
}

type Received = (
    String,
    ObjectHeaders,
    Option<String>,
    u16,
    crate::payload::Digests,
    crate::store::Written,
);

async fn receive(
    worker: &Worker,
    inc: &Incoming,
    bucket: &str,
    boundary: String,
    body: &mut RequestBody,
    writer: &mut ChunkWriter,
) -> Result<Received, S3Error> {
    let stream = futures::stream::unfold(body, |b| async move {
        match b.next().await {
            Ok(Some(bytes)) => Some((Ok::<Bytes, S3Error>(bytes), b)),
            Ok(None) => None,
            Err(e) => Some((Err(e), b)),
        }
    });
    let mut form = multer::Multipart::new(stream, boundary);
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut pre_data = 0usize;
    let (mut file, filename) = loop {
        let Some(mut part) = form.next_field().await.map_err(form_error)? else {
            return Err(S3Error::invalid_argument(
                "POST requires exactly one file upload per request.",
            ));
        };
        let name = part.name().unwrap_or_default().to_string();
        if name.eq_ignore_ascii_case("file") {
            let filename = part.file_name().map(str::to_string);
            break (part, filename);
        }
        let mut value = Vec::new();
        pre_data += name.len();
        while let Some(chunk) = part.chunk().await.map_err(form_error)? {
            pre_data += chunk.len();
            if pre_data > MAX_PRE_DATA {
                return Err(S3Error::max_post_pre_data_length_exceeded_error());
            }
            value.extend_from_slice(&chunk);
        }
        let value = String::from_utf8(value).map_err(|_| S3Error::malformed_post_request())?;
        fields.push((name, value));
    };
    let raw_key = field(&fields, "key").ok_or_else(|| {
        S3Error::invalid_argument(
            "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.",
        )
    })?;
    let key = post_policy::expand_key(raw_key, filename.as_deref());
    validate_key(&key)?;
    // Conditions see the key as stored, after `${filename}` expansion.
    let checked: Vec<(String, String)> = fields
        .iter()
        .map(|(n, v)| {
            if n.eq_ignore_ascii_case("key") {
                (n.clone(), key.clone())
            } else {
                (n.clone(), v.clone())
            }
        })
        .collect();
    let principal: Principal = worker
        .call::<rpc::AuthPostPolicy>(
            &inc.ctx,
            &VerifyPostPolicy {
                fields: fields.clone(),
            },
        )
        .await?;
    // The form's signature verified: the upload is this key's usage.
    inc.usage.signed(&principal, "PostObject", Some(bucket));
    // The key's own policy applies to form uploads too: the target is the form's key.
    crate::auth::policy::enforce_access(
        worker.store(),
        &principal,
        &jetgate_protocol::policy::Access {
            op: jetgate_protocol::policy::Operation::Write,
            bucket: Some(bucket.to_string()),
            target: jetgate_protocol::policy::Target::Key(key.clone()),
        },
        false,
    )
    .await?;
    let policy = post_policy::decode(field(&fields, "policy").unwrap_or_default())?;
    let range = post_policy::check_conditions(&policy, &checked, bucket)?;
    // Grants a form asks for are refused, never dropped (as `x-amz-acl` on a PUT).
    if let Some(acl) = field(&fields, "acl") {
        jetgate_protocol::acl::check_canned(acl)?;
    }
    if let Some((name, _)) = fields
        .iter()
        .find(|(n, _)| n.to_ascii_lowercase().starts_with("x-amz-grant-"))
    {
        return Err(S3Error::not_implemented(&format!("The {name} form field")));
    }
    let headers = object_headers(&fields);
    let redirect = field(&fields, "success_action_redirect")
        .or_else(|| field(&fields, "redirect"))
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    let status = match field(&fields, "success_action_status") {
        Some("200") => 200,
        Some("201") => 201,
        _ => 204,
    };
    // The file part carries no signed hash: digests only (for ETag and metadata).
    let mut verifier =
        PayloadVerifier::with_mode(&SignedRequest::default(), PayloadMode::Unsigned)?;
    let mut size = 0u64;
    while let Some(chunk) = file.chunk().await.map_err(form_error)? {
        size += chunk.len() as u64;
        if range.is_some_and(|(_, max)| size > max) {
            return Err(S3Error::entity_too_large());
        }
        for piece in verifier.push(chunk)? {
            writer.write_bytes(piece).await.map_err(S3Error::from)?;
        }
        verifier.hash_ready().await;
    }
    post_policy::check_length(range, size)?;
    let digests = verifier.finish().await?;
    let written = writer.finish().await.map_err(S3Error::from)?;
    Ok((key, headers, redirect, status, digests, written))
}

/// Content headers and `x-amz-meta-*` from the form fields.
fn object_headers(fields: &[(String, String)]) -> ObjectHeaders {
    let get = |n: &str| field(fields, n).map(str::to_string);
    ObjectHeaders {
        content_type: get("content-type"),
        content_encoding: get("content-encoding"),
        content_disposition: get("content-disposition"),
        content_language: get("content-language"),
        cache_control: get("cache-control"),
        expires: get("expires"),
        user: fields
            .iter()
            .filter_map(|(n, v)| {
                let n = n.to_ascii_lowercase();
                n.strip_prefix("x-amz-meta-")
                    .map(|m| (m.to_string(), v.clone()))
            })
            .collect(),
    }
}
