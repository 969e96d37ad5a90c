//! Calls published straight to a worker over NATS, as any NATS client allowed to
//! publish on `jetgate.v1.>` could (code on the edge, a local process under `jetgate
//! dev`): a valid signature of one request must not buy another operation or another
//! object. Each refusal is checked in the store afterwards, and each forged call has a
//! twin that names exactly what was signed and does act, so the refusals are not an
//! artefact of a call the worker could never serve.

use jetgate_protocol::messages::{Call, DeleteObject, SignedRequest};
use jetgate_protocol::{Endpoint, S3Error};
use serde::Serialize;

use super::*;
use common::{Signer, Stamp, REGION};

/// A header-signed request with an empty body, as the edge would forward it.
fn signed(method: &str, bucket: &str, key: &str) -> SignedRequest {
    signed_with(method, bucket, key, &[])
}

/// [`signed`], with `extra` headers signed too.
fn signed_with(method: &str, bucket: &str, key: &str, extra: &[(&str, &str)]) -> SignedRequest {
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
    let head =
        Signer::new(ACCESS_KEY, SECRET_KEY, REGION).sign_head(&stamp, method, &path, "", headers);
    SignedRequest {
        method: method.into(),
        path,
        query: String::new(),
        headers: head.headers,
        virtual_host_bucket: None,
    }
}

/// Publishes a call to a worker endpoint; the S3 error it answered, if any.
async fn call_worker<Op: Serialize>(
    endpoint: Endpoint,
    signed: SignedRequest,
    op: Op,
) -> Option<S3Error> {
    let nc = async_nats::connect(gw().nats_url.as_str())
        .await
        .expect("connect to NATS");
    let call = Call {
        signed,
        op,
        body: None,
        download: None,
    };
    let payload = jetgate_protocol::encode(&call, &[]).expect("encode");
    let reply = nc
        .request(endpoint.subject(), payload)
        .await
        .expect("worker reply");
    S3Error::from_service_error(reply.headers.as_ref())
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
        let e = call_worker(
            Endpoint::DeleteObject,
            signed("GET", &b, "signed"),
            delete(&b, key),
        )
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
        let e = call_worker(Endpoint::DeleteObject, signed("DELETE", &b, "signed"), op)
            .await
            .unwrap_or_else(|| panic!("a delete signed for {b}/signed acted on {what}"));
        assert_eq!(e.code.as_str(), "AccessDenied", "{what}: {e:?}");
    }
    // Another endpoint with the same names: tagging removal is not a delete.
    let e = call_worker(
        Endpoint::DeleteObjectTagging,
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
    let ok = call_worker(
        Endpoint::DeleteObject,
        signed("DELETE", &b, "signed"),
        delete(&b, "signed"),
    )
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
    let e = call_worker(Endpoint::DeleteObject, forged, delete(&b, "k"))
        .await
        .expect("a delete whose signed If-Match was dropped must be refused");
    assert_eq!(e.code.as_str(), "SignatureDoesNotMatch", "{e:?}");
    assert!(exists(&c, &b, "k").await, "deleted without its condition");
    let twin = signed_with("DELETE", &b, "k", &[("if-match", stale)]);
    let e = call_worker(Endpoint::DeleteObject, twin, delete(&b, "k"))
        .await
        .expect("the stale If-Match, as signed");
    assert_eq!(e.code.as_str(), "PreconditionFailed", "{e:?}");
    assert!(
        exists(&c, &b, "k").await,
        "deleted despite a stale If-Match"
    );
}
