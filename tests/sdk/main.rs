//! The Rust `aws-sdk-s3` against a real gateway (`jetgate dev` in front of a real
//! nats-server), path-style. One gateway per test binary, one bucket per test.

#[path = "../common/mod.rs"]
mod common;

mod attributes;
mod bucket_settings;
mod buckets;
mod checksums;
mod conditional_writes;
mod copy_conditions;
mod forged;
mod full_object;
mod listing;
mod listing_encoding;
mod listing_live;
mod metadata_limits;
mod objects;
mod part_order;
mod probes;
mod requests;
mod tagging;
mod write_races;

use std::time::{Duration, SystemTime};

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::RequestId;
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, Delete, EncodingType, MetadataDirective,
    ObjectIdentifier,
};
use aws_sdk_s3::Client;
use common::{md5_hex, random_bytes, shared, GatewayOptions, Shared, ACCESS_KEY, SECRET_KEY};

fn gw() -> &'static Shared {
    shared(GatewayOptions::default())
}

/// HTTP status and S3 error code of a failed call.
fn fail<E, R>(
    r: Result<R, SdkError<E, aws_sdk_s3::config::http::HttpResponse>>,
) -> (
    u16,
    String,
    SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
)
where
    E: ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    let e = r.expect_err("call should have failed");
    let status = e
        .raw_response()
        .map(|r| r.status().as_u16())
        .unwrap_or_else(|| panic!("no HTTP response: {e:?}"));
    let code = e.code().unwrap_or_default().to_string();
    if let Some(resp) = e.raw_response() {
        assert!(
            resp.headers().get("x-amz-request-id").is_some(),
            "error response without x-amz-request-id: {status} {code}"
        );
    }
    (status, code, e)
}

async fn put(c: &Client, bucket: &str, key: &str, data: &[u8]) -> String {
    c.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(data.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {bucket}/{key}: {e:?}"))
        .e_tag()
        .unwrap_or_default()
        .to_string()
}

async fn get_bytes(c: &Client, bucket: &str, key: &str) -> Vec<u8> {
    c.get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("get {bucket}/{key}: {e:?}"))
        .body
        .collect()
        .await
        .expect("read body")
        .into_bytes()
        .to_vec()
}

async fn exists(c: &Client, bucket: &str, key: &str) -> bool {
    match c.head_object().bucket(bucket).key(key).send().await {
        Ok(_) => true,
        Err(e) => {
            let status = e.raw_response().map(|r| r.status().as_u16());
            assert_eq!(status, Some(404), "head {key}: {e:?}");
            false
        }
    }
}

async fn list_keys(c: &Client, bucket: &str) -> Vec<String> {
    let out = c
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .expect("list");
    out.contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect()
}

fn quoted(etag: &str) -> String {
    format!("\"{etag}\"")
}
