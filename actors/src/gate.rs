//! The worker's own reading of what was signed. The edge is internet-facing and any
//! NATS client allowed to publish on `jetgate.v1.>` can call a worker, so a worker never
//! takes the caller's word for what a signature covers: it routes the signed request
//! itself with the one route table ([`route_signed`]) and acts only when that names the
//! endpoint it was called on and the bucket, key, copy source, upload and listing prefix
//! of the typed call. A presigned GET of one object cannot be replayed as a delete of
//! another, and the key's policy is judged on this same reading.

use jetgate_protocol::acl::ObjectAcl;
use jetgate_protocol::attributes::{GetObjectAttributes, ListObjectVersions};
use jetgate_protocol::messages::{
    BucketOp, CopyObject, DeleteObject, GetObject, ListBuckets, ListObjects, PutObject,
    SignedRequest,
};
use jetgate_protocol::multipart::{
    AbortUpload, CompleteUpload, CreateUpload, ListParts, ListUploads, UploadPart, UploadPartCopy,
};
use jetgate_protocol::query::{query_pairs, query_value};
use jetgate_protocol::route::{route_signed, Routed};
use jetgate_protocol::tagging::{ObjectTagging, PutObjectTagging};
use jetgate_protocol::{Endpoint, S3Error};

/// What a typed call acts on, to be matched against the signed request.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Names<'a> {
    pub bucket: Option<&'a str>,
    pub key: Option<&'a str>,
    pub source: Option<(&'a str, &'a str)>,
    /// Query parameters whose (decoded, first) value the call must carry; a parameter
    /// the request does not have counts as empty.
    pub params: Vec<(&'static str, &'a str)>,
    /// The part an UploadPart or UploadPartCopy writes (`partNumber`, as a number).
    pub part: Option<u32>,
}

/// A call that names what it acts on.
pub trait Acts {
    fn names(&self) -> Names<'_>;
}

/// Routes the signed request and checks it names what the call acts on, on the
/// endpoint it was called on; anything else is a forged call: `AccessDenied`.
pub fn check(
    endpoint: Endpoint,
    signed: &SignedRequest,
    names: &Names<'_>,
) -> Result<Routed, S3Error> {
    let routed =
        route_signed(signed).map_err(|e| forged(endpoint, &format!("unroutable: {}", e.code)))?;
    if let Some(bucket) = &signed.virtual_host_bucket {
        if !host_names_bucket(signed.header("host"), bucket) {
            return Err(forged(
                endpoint,
                "virtual-host bucket not in the signed Host",
            ));
        }
    }
    if routed.op.endpoint() != endpoint {
        return Err(forged(endpoint, routed.op.name()));
    }
    let source = routed
        .source
        .as_ref()
        .map(|(b, k)| (b.as_str(), k.as_str()));
    if routed.bucket.as_deref() != names.bucket
        || routed.key.as_deref() != names.key
        || source != names.source
    {
        return Err(forged(endpoint, "names differ from the signed request"));
    }
    let pairs = query_pairs(&signed.query);
    for (name, value) in &names.params {
        if query_value(&pairs, name).unwrap_or_default() != *value {
            return Err(forged(endpoint, name));
        }
    }
    if let Some(part) = names.part {
        let signed_part = query_value(&pairs, "partNumber").and_then(|v| v.trim().parse().ok());
        if signed_part != Some(part) {
            return Err(forged(endpoint, "partNumber"));
        }
    }
    Ok(routed)
}

/// The edge reads a virtual-host bucket off Host as `<bucket>.<domain>`, so the signed
/// Host must start with that label.
fn host_names_bucket(host: Option<&str>, bucket: &str) -> bool {
    host.and_then(|h| h.get(..bucket.len() + 1))
        .is_some_and(|p| p.eq_ignore_ascii_case(&format!("{bucket}.")))
}

fn forged(endpoint: Endpoint, why: &str) -> S3Error {
    metrics::counter!("jetgate_worker_forged_calls_total", "endpoint" => endpoint.name())
        .increment(1);
    tracing::warn!(
        endpoint = endpoint.name(),
        why,
        "call does not match its signed request"
    );
    S3Error::access_denied_with("The request does not match what was signed.")
}

fn object<'a>(bucket: &'a str, key: &'a str) -> Names<'a> {
    Names {
        bucket: Some(bucket),
        key: Some(key),
        ..Names::default()
    }
}

fn upload<'a>(bucket: &'a str, key: &'a str, upload_id: &'a str) -> Names<'a> {
    Names {
        params: vec![("uploadId", upload_id)],
        ..object(bucket, key)
    }
}

fn listing<'a>(bucket: &'a str, prefix: &'a str) -> Names<'a> {
    Names {
        bucket: Some(bucket),
        params: vec![("prefix", prefix)],
        ..Names::default()
    }
}

impl Acts for ListBuckets {
    fn names(&self) -> Names<'_> {
        Names::default()
    }
}

impl Acts for BucketOp {
    fn names(&self) -> Names<'_> {
        Names {
            bucket: Some(&self.bucket),
            ..Names::default()
        }
    }
}

macro_rules! acts_on_object {
    ($($t:ty),*) => {$(
        impl Acts for $t {
            fn names(&self) -> Names<'_> {
                object(&self.bucket, &self.key)
            }
        }
    )*};
}
acts_on_object!(
    PutObject,
    GetObject,
    DeleteObject,
    GetObjectAttributes,
    ObjectTagging,
    PutObjectTagging,
    CreateUpload,
    ObjectAcl
);

macro_rules! acts_on_upload {
    ($($t:ty),*) => {$(
        impl Acts for $t {
            fn names(&self) -> Names<'_> {
                upload(&self.bucket, &self.key, &self.upload_id)
            }
        }
    )*};
}
acts_on_upload!(CompleteUpload, ListParts, AbortUpload);

impl Acts for UploadPart {
    fn names(&self) -> Names<'_> {
        Names {
            part: Some(self.part_number),
            ..upload(&self.bucket, &self.key, &self.upload_id)
        }
    }
}

impl Acts for CopyObject {
    fn names(&self) -> Names<'_> {
        Names {
            source: Some((&self.source_bucket, &self.source_key)),
            ..object(&self.bucket, &self.key)
        }
    }
}

impl Acts for UploadPartCopy {
    fn names(&self) -> Names<'_> {
        Names {
            source: Some((&self.source_bucket, &self.source_key)),
            part: Some(self.part_number),
            ..upload(&self.bucket, &self.key, &self.upload_id)
        }
    }
}

impl Acts for ListObjects {
    fn names(&self) -> Names<'_> {
        listing(&self.bucket, &self.prefix)
    }
}

impl Acts for ListObjectVersions {
    fn names(&self) -> Names<'_> {
        listing(&self.bucket, &self.prefix)
    }
}

impl Acts for ListUploads {
    fn names(&self) -> Names<'_> {
        listing(&self.bucket, &self.prefix)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may panic on what they set up
mod tests {
    use super::*;

    fn signed(method: &str, path: &str, query: &str) -> SignedRequest {
        SignedRequest {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            headers: vec![("host".into(), "s3.local".into())],
            virtual_host_bucket: None,
        }
    }

    fn delete(bucket: &str, key: &str) -> DeleteObject {
        DeleteObject {
            bucket: bucket.into(),
            key: key.into(),
        }
    }

    #[test]
    fn a_signature_for_one_request_is_not_another() {
        let get = signed("GET", "/bkt/k", "X-Amz-Signature=x");
        // The same object, but the signature is for a GET, not a delete.
        assert!(check(Endpoint::DeleteObject, &get, &delete("bkt", "k").names()).is_err());
        // The right endpoint, another object.
        let del = signed("DELETE", "/bkt/k", "");
        assert!(check(
            Endpoint::DeleteObject,
            &del,
            &delete("bkt", "other").names()
        )
        .is_err());
        assert!(check(Endpoint::DeleteObject, &del, &delete("ckt", "k").names()).is_err());
        assert!(check(Endpoint::DeleteObject, &del, &delete("bkt", "k").names()).is_ok());
    }

    #[test]
    fn plus_in_the_path_is_the_key_it_routes_to() {
        let del = signed("DELETE", "/bkt/a+b", "");
        assert!(check(Endpoint::DeleteObject, &del, &delete("bkt", "a b").names()).is_ok());
        assert!(check(Endpoint::DeleteObject, &del, &delete("bkt", "a+b").names()).is_err());
    }

    #[test]
    fn listing_prefix_and_upload_id_are_the_signed_ones() {
        let list = |prefix: &str| ListUploads {
            bucket: "bkt".into(),
            prefix: prefix.into(),
            delimiter: None,
            key_marker: None,
            upload_id_marker: None,
            max_uploads: 1000,
        };
        let req = signed("GET", "/bkt", "uploads&prefix=a%2F&%70refix=z");
        assert!(check(Endpoint::ListUploads, &req, &list("a/").names()).is_ok());
        assert!(check(Endpoint::ListUploads, &req, &list("z").names()).is_err());
        assert!(check(Endpoint::ListUploads, &req, &list("").names()).is_err());
        let abort = |id: &str| AbortUpload {
            bucket: "bkt".into(),
            key: "k".into(),
            upload_id: id.into(),
        };
        let req = signed("DELETE", "/bkt/k", "uploadId=u1");
        assert!(check(Endpoint::AbortUpload, &req, &abort("u1").names()).is_ok());
        assert!(check(Endpoint::AbortUpload, &req, &abort("u2").names()).is_err());
        // A signed part 1 cannot be written as part 2 of the same upload.
        let part = |n: u32| UploadPart {
            bucket: "bkt".into(),
            key: "k".into(),
            upload_id: "u1".into(),
            part_number: n,
        };
        let req = signed("PUT", "/bkt/k", "partNumber=01&uploadId=u1");
        assert!(check(Endpoint::UploadPart, &req, &part(1).names()).is_ok());
        assert!(check(Endpoint::UploadPart, &req, &part(2).names()).is_err());
    }

    #[test]
    fn copy_source_is_the_signed_one() {
        let mut req = signed("PUT", "/bkt/k", "");
        req.headers
            .push(("x-amz-copy-source".into(), "/src/a%2Fb".into()));
        let copy = |src: &str| CopyObject {
            bucket: "bkt".into(),
            key: "k".into(),
            source_bucket: src.into(),
            source_key: "a/b".into(),
            replace_metadata: false,
            headers: Default::default(),
            source_conditions: Default::default(),
        };
        assert!(check(Endpoint::CopyObject, &req, &copy("src").names()).is_ok());
        assert!(check(Endpoint::CopyObject, &req, &copy("secret").names()).is_err());
        // A plain PUT is not a copy.
        let put = signed("PUT", "/bkt/k", "");
        assert!(check(Endpoint::CopyObject, &put, &copy("src").names()).is_err());
    }

    #[test]
    fn virtual_host_bucket_must_be_in_the_signed_host() {
        let mut req = signed("DELETE", "/k", "");
        req.virtual_host_bucket = Some("bkt".into());
        req.headers = vec![("host".into(), "bkt.s3.local:9000".into())];
        assert!(check(Endpoint::DeleteObject, &req, &delete("bkt", "k").names()).is_ok());
        req.virtual_host_bucket = Some("other".into());
        assert!(check(Endpoint::DeleteObject, &req, &delete("other", "k").names()).is_err());
    }
}
