//! Calls published straight to a worker over NATS, as any NATS client allowed to
//! publish on `jetgate.v1.>` could (code on the edge, a local process under `jetgate
//! dev`): a valid signature of one request must not buy another operation or another
//! object. Each refusal is checked in the store afterwards, and each forged call has a
//! twin that names exactly what was signed and does act, so the refusals are not an
//! artefact of a call the worker could never serve.

use jetgate_protocol::messages::{Call, DeleteObject, ObjectHeaders, SignedRequest};
use jetgate_protocol::multipart::CreateUpload;
use jetgate_protocol::{rpc, Rpc, S3Error};

use super::*;
use common::{Signer, Stamp, REGION};

/// A header-signed request with an empty body, as the edge would forward it.
fn signed(method: &str, bucket: &str, key: &str) -> SignedRequest {
    signed_with(method, bucket, key, &[])
}

/// [`signed`], with `extra` headers signed too.
fn signed_with(method: &str, bucket: &str, key: &str, extra: &[(&str, &str)]) -> SignedRequest {
    signed_query(method, bucket, key, "", extra)
}

/// [`signed_with`], with a query string.
fn signed_query(
    method: &str,
    bucket: &str,
    key: &str,
    query: &str,
    extra: &[(&str, &str)],
) -> SignedRequest {
    let stamp = Stamp::now();
    let host = gw().endpoint.trim_start_matches("http://").to_string();
    let path = format!("/{bucket}/{key}");
    let mut headers = vec![
        ("host".to_string(), host),
        (
            "x-amz-content-sha256".to_string(),
            common::EMPTY_SHA256.to_string(),
        ),
        ("x-amz-date".to_string(), stamp.time.clone()),
    ];
    headers.extend(extra.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    let head = Signer::new(ACCESS_KEY, SECRET_KEY, REGION)
        .sign_head(&stamp, method, &path, query, headers);
    SignedRequest {
        method: method.into(),
        path,
        query: query.into(),
        headers: head.headers,
        virtual_host_bucket: None,
    }
}

/// Publishes a call to a worker endpoint; its typed reply, or the S3 error it answered.
async fn ask_worker<R: Rpc>(signed: SignedRequest, op: R::Op) -> Result<R::Reply, S3Error> {
    let nc = async_nats::connect(gw().nats_url.as_str())
        .await
        .expect("connect to NATS");
    let call = Call {
        signed,
        op,
        body: None,
        data_subject: None,
    };
    let payload = jetgate_protocol::encode(&call, &[]).expect("encode");
    let reply = nc
        .request(R::ENDPOINT.subject(), payload)
        .await
        .expect("worker reply");
    if let Some(e) = S3Error::from_service_error(reply.headers.as_ref()) {
        return Err(e);
    }
    Ok(jetgate_protocol::decode::<R::Reply>(&reply.payload)
        .expect("typed reply")
        .msg)
}

/// [`ask_worker`], for calls whose refusal is the point: the S3 error, if any.
async fn call_worker<R: Rpc>(signed: SignedRequest, op: R::Op) -> Option<S3Error> {
    ask_worker::<R>(signed, op).await.err()
}

fn delete(bucket: &str, key: &str) -> DeleteObject {
    DeleteObject {
        bucket: bucket.into(),
        key: key.into(),
    }
}

async fn exists(c: &Client, bucket: &str, key: &str) -> bool {
    c.head_object().bucket(bucket).key(key).send().await.is_ok()
}

#[tokio::test]
async fn a_signed_get_is_not_a_delete() {
    let c = gw().client();
    let b = gw().bucket("forged-get").await;
    put(&c, &b, "signed", b"signed").await;
    put(&c, &b, "victim", b"victim").await;
    for key in ["signed", "victim"] {
        let e = call_worker::<rpc::DeleteObject>(signed("GET", &b, "signed"), delete(&b, key))
            .await
            .expect("a GET signature used for a delete must be refused");
        assert_eq!(e.code.as_str(), "AccessDenied", "{key}: {e:?}");
    }
    assert!(
        exists(&c, &b, "signed").await,
        "the signed object was deleted"
    );
    assert!(
        exists(&c, &b, "victim").await,
        "the other object was deleted"
    );
}

#[tokio::test]
async fn a_signed_delete_deletes_only_what_it_names() {
    let c = gw().client();
    let b = gw().bucket("forged-del").await;
    let other = gw().bucket("forged-del-other").await;
    put(&c, &b, "signed", b"signed").await;
    put(&c, &b, "victim", b"victim").await;
    put(&c, &other, "signed", b"other bucket").await;
    let forged = [delete(&b, "victim"), delete(&other, "signed")];
    for op in forged {
        let what = format!("{}/{}", op.bucket, op.key);
        let e = call_worker::<rpc::DeleteObject>(signed("DELETE", &b, "signed"), op)
            .await
            .unwrap_or_else(|| panic!("a delete signed for {b}/signed acted on {what}"));
        assert_eq!(e.code.as_str(), "AccessDenied", "{what}: {e:?}");
    }
    // Another endpoint with the same names: tagging removal is not a delete.
    let e = call_worker::<rpc::DeleteObjectTagging>(
        signed("DELETE", &b, "signed"),
        jetgate_protocol::tagging::ObjectTagging {
            bucket: b.clone(),
            key: "signed".into(),
        },
    )
    .await
    .expect("a DeleteObject signature on the tagging endpoint");
    assert_eq!(e.code.as_str(), "AccessDenied", "{e:?}");
    assert!(exists(&c, &b, "victim").await, "victim deleted");
    assert!(
        exists(&c, &other, "signed").await,
        "the other bucket's object deleted"
    );
    // The twin: exactly what was signed is served.
    let ok = call_worker::<rpc::DeleteObject>(signed("DELETE", &b, "signed"), delete(&b, "signed"))
        .await;
    assert!(ok.is_none(), "the signed delete itself was refused: {ok:?}");
    assert!(
        !exists(&c, &b, "signed").await,
        "the signed delete did not delete"
    );
}

/// Write conditions are read from the signed request: a NATS peer that drops the signed
/// `If-Match` of a DELETE, to turn a conditional delete into an unconditional one, breaks
/// the signature, and the object stays. The twin, as signed, answers 412 and also
/// leaves it.
#[tokio::test]
async fn a_signed_condition_cannot_be_dropped() {
    let c = gw().client();
    let b = gw().bucket("forged-cond").await;
    put(&c, &b, "k", b"kept unless its ETag matches").await;
    let stale = "\"0123456789abcdef0123456789abcdef\"";
    let mut forged = signed_with("DELETE", &b, "k", &[("if-match", stale)]);
    forged.headers.retain(|(n, _)| n != "if-match");
    let e = call_worker::<rpc::DeleteObject>(forged, delete(&b, "k"))
        .await
        .expect("a delete whose signed If-Match was dropped must be refused");
    assert_eq!(e.code.as_str(), "SignatureDoesNotMatch", "{e:?}");
    assert!(exists(&c, &b, "k").await, "deleted without its condition");
    let twin = signed_with("DELETE", &b, "k", &[("if-match", stale)]);
    let e = call_worker::<rpc::DeleteObject>(twin, delete(&b, "k"))
        .await
        .expect("the stale If-Match, as signed");
    assert_eq!(e.code.as_str(), "PreconditionFailed", "{e:?}");
    assert!(
        exists(&c, &b, "k").await,
        "deleted despite a stale If-Match"
    );
}

/// The checksum algorithm of a multipart upload is what was signed
/// (`x-amz-checksum-algorithm`), not the edge's copy of it in the call: the upload
/// record in the uploads bucket is checked, since it decides which parts are accepted.
#[tokio::test]
async fn an_upload_checksum_algorithm_is_what_was_signed() {
    let b = gw().bucket("forged-algo").await;
    let create = |algorithm: Option<&str>| CreateUpload {
        bucket: b.clone(),
        key: "k".into(),
        headers: ObjectHeaders::default(),
        checksum_algorithm: algorithm.map(str::to_string),
    };
    let forged = signed_query("POST", &b, "k", "uploads=", &[]);
    let r = ask_worker::<rpc::CreateUpload>(forged, create(Some("SHA256")))
        .await
        .expect("the upload is created as signed");
    assert_eq!(r.checksum_algorithm, None, "{r:?}");
    assert_eq!(stored_algorithm(&r.upload_id).await, None);
    let twin = signed_query(
        "POST",
        &b,
        "k",
        "uploads=",
        &[("x-amz-checksum-algorithm", "SHA256")],
    );
    let r = ask_worker::<rpc::CreateUpload>(twin, create(None))
        .await
        .expect("the signed algorithm");
    assert_eq!(r.checksum_algorithm.as_deref(), Some("SHA256"), "{r:?}");
    assert_eq!(
        stored_algorithm(&r.upload_id).await.as_deref(),
        Some("SHA256")
    );
}

/// `checksum_algorithm` of the upload record the multipart role stored.
async fn stored_algorithm(upload_id: &str) -> Option<String> {
    let nc = async_nats::connect(gw().nats_url.as_str())
        .await
        .expect("connect to NATS");
    let kv = async_nats::jetstream::new(nc)
        .get_key_value("jetgate-uploads")
        .await
        .expect("uploads bucket");
    let raw = kv
        .get(format!("u.{upload_id}"))
        .await
        .expect("read the upload record")
        .expect("the upload record exists");
    let rec: serde_json::Value = serde_json::from_slice(&raw).expect("JSON upload record");
    rec.get("checksum_algorithm")
        .and_then(|v| v.as_str())
        .map(str::to_string)
}
