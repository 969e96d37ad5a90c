//! Small XML bodies sent as signed `aws-chunked` (DeleteObjects, PutObjectTagging,
//! CompleteMultipartUpload): a body whose chunk signature is wrong must not be acted on
//! (403 SignatureDoesNotMatch, state unchanged); the correctly signed twin is.

use aws_sdk_s3::primitives::ByteStream;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use md5::{Digest, Md5};

use crate::common::{random_bytes, uri_encode, ChunkedPut, ChunkedSpec, Form, RawResponse, Stamp};
use crate::{assert_absent, assert_stored, gw, host, send_gw, signer};

/// A signed aws-chunked request with `xml` as its body (Content-MD5 signed too).
fn xml_request(method: &str, path: &str, query: &str, xml: &str) -> ChunkedPut {
    let spec = ChunkedSpec {
        method: method.into(),
        path: path.into(),
        query: query.into(),
        extra: vec![(
            "content-md5".into(),
            B64.encode(Md5::digest(xml.as_bytes())),
        )],
        ..ChunkedSpec::put(&host(), "unused", "unused", Form::Signed, 64 * 1024)
    };
    ChunkedPut::build(spec, &signer(), Stamp::now(), xml.as_bytes())
}

/// The forged twin: one digit of the (only) data chunk's signature changed.
fn forged(good: &ChunkedPut) -> ChunkedPut {
    let mut t = good.clone();
    t.corrupt_chunk_signature(0);
    t
}

fn assert_signature_refused(r: &RawResponse, what: &str) {
    assert_eq!(
        r.status_code(),
        (403, "SignatureDoesNotMatch".to_string()),
        "{what} with a wrong chunk signature was answered: {}",
        r.text()
    );
}

async fn put(bucket: &str, key: &str, data: &[u8]) {
    gw().client()
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(data.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {key}: {e:?}"));
}

#[tokio::test]
async fn forged_small_body_delete_objects() {
    let b = gw().bucket("sig-forged-delete").await;
    let data = random_bytes(1000, 100);
    put(&b, "keep/a", &data).await;
    put(&b, "keep/b", &data).await;
    let xml =
        "<Delete><Object><Key>keep/a</Key></Object><Object><Key>keep/b</Key></Object></Delete>";
    let good = xml_request("POST", &format!("/{b}"), "delete=", xml);

    let r = send_gw(&forged(&good).request()).await;
    assert_signature_refused(&r, "DeleteObjects");
    assert_stored(&b, "keep/a", &data).await;
    assert_stored(&b, "keep/b", &data).await;

    let r = send_gw(&good.request()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.text().contains("<Deleted><Key>keep/a</Key></Deleted>"),
        "{}",
        r.text()
    );
    assert_absent(&b, "keep/a").await;
    assert_absent(&b, "keep/b").await;
}

#[tokio::test]
async fn forged_small_body_put_object_tagging() {
    let b = gw().bucket("sig-forged-tagging").await;
    let key = "tagged";
    put(&b, key, b"tag me").await;
    let xml = "<Tagging><TagSet><Tag><Key>forged</Key><Value>yes</Value></Tag></TagSet></Tagging>";
    let good = xml_request("PUT", &format!("/{b}/{key}"), "tagging=", xml);
    let tags = || async {
        gw().client()
            .get_object_tagging()
            .bucket(&b)
            .key(key)
            .send()
            .await
            .expect("get tagging")
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect::<Vec<_>>()
    };

    let r = send_gw(&forged(&good).request()).await;
    assert_signature_refused(&r, "PutObjectTagging");
    assert_eq!(tags().await, vec![], "tags set by a forged body");

    let r = send_gw(&good.request()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        tags().await,
        vec![("forged".to_string(), "yes".to_string())]
    );
}

#[tokio::test]
async fn forged_small_body_complete_multipart_upload() {
    let b = gw().bucket("sig-forged-complete").await;
    let key = "assembled.bin";
    let s3 = gw().client();
    let id = s3
        .create_multipart_upload()
        .bucket(&b)
        .key(key)
        .send()
        .await
        .expect("create upload")
        .upload_id()
        .expect("upload id")
        .to_string();
    let data = random_bytes(10_000, 101);
    let etag = s3
        .upload_part()
        .bucket(&b)
        .key(key)
        .upload_id(&id)
        .part_number(1)
        .body(ByteStream::from(data.clone()))
        .send()
        .await
        .expect("upload part")
        .e_tag()
        .expect("part etag")
        .to_string();
    let xml = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part>\
         </CompleteMultipartUpload>"
    );
    let query = format!("uploadId={}", uri_encode(&id, false));
    let good = xml_request("POST", &format!("/{b}/{key}"), &query, &xml);

    let r = send_gw(&forged(&good).request()).await;
    assert_signature_refused(&r, "CompleteMultipartUpload");
    assert_absent(&b, key).await;
    let parts = s3
        .list_parts()
        .bucket(&b)
        .key(key)
        .upload_id(&id)
        .send()
        .await
        .expect("the upload is still in progress");
    assert_eq!(parts.parts().len(), 1);

    let r = send_gw(&good.request()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.text().contains("<CompleteMultipartUploadResult"),
        "{}",
        r.text()
    );
    assert_stored_multipart(&b, key, &data).await;
}

async fn assert_stored_multipart(bucket: &str, key: &str, data: &[u8]) {
    let got = gw()
        .client()
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("get {key}: {e:?}"));
    assert_eq!(
        got.e_tag(),
        Some(crate::common::multipart_etag(&[data]).as_str())
    );
    let body = got.body.collect().await.expect("body").into_bytes();
    assert!(body.as_ref() == data, "assembled object differs");
}

#[tokio::test]
async fn forged_small_body_put_bucket_cors() {
    let b = gw().bucket("sig-forged-cors").await;
    let xml = "<CORSConfiguration><CORSRule><AllowedOrigin>https://forged.example</AllowedOrigin>\
               <AllowedMethod>PUT</AllowedMethod></CORSRule></CORSConfiguration>";
    let good = xml_request("PUT", &format!("/{b}"), "cors=", xml);
    let cors = || async {
        match gw().client().get_bucket_cors().bucket(&b).send().await {
            Ok(out) => Ok(out.cors_rules().len()),
            Err(e) => Err(aws_sdk_s3::error::ProvideErrorMetadata::code(&e).map(str::to_string)),
        }
    };

    let r = send_gw(&forged(&good).request()).await;
    assert_signature_refused(&r, "PutBucketCors");
    assert_eq!(
        cors().await,
        Err(Some("NoSuchCORSConfiguration".to_string()))
    );

    let r = send_gw(&good.request()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(cors().await, Ok(1));
}

#[tokio::test]
async fn forged_small_body_create_bucket() {
    let b = crate::common::unique_bucket("sig-forged-create");
    let xml = "<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint>\
               </CreateBucketConfiguration>";
    let good = xml_request("PUT", &format!("/{b}"), "", xml);
    let exists = || async { gw().client().head_bucket().bucket(&b).send().await.is_ok() };

    let r = send_gw(&forged(&good).request()).await;
    assert_signature_refused(&r, "CreateBucket");
    assert!(!exists().await, "bucket created by a forged body");

    let r = send_gw(&good.request()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(exists().await);
}
