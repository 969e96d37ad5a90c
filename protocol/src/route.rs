//! Routing: method, path style, query sub-resources and key headers → one closed
//! [`Operation`]. Pure, so every S3 doc example is a table row in the tests below.
//!
//! The one route table: the edge routes the HTTP request with it, and the worker routes
//! the signed request again ([`route_signed`]) and acts only if that names the endpoint,
//! bucket and key it was called with, so a caller on NATS cannot turn a signature for
//! one request into another operation. The key's policy is checked on the same reading.
//!
//! Anything the table does not know is `NotImplemented`: an unknown sub-resource must
//! never fall through to a neighbouring operation (`GET /b/k?acl` is not a GetObject).

use http::{HeaderMap, Method};

use crate::bucket_config::{BucketConfig, ConfigVerb};
use crate::messages::SignedRequest;
use crate::names::{validate_bucket, validate_key};
use crate::query::{percent_decode, query_pairs, query_value};
use crate::S3Error;

/// Tagging, GetObjectAttributes and the versioning probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureAction {
    GetObjectTagging,
    PutObjectTagging,
    DeleteObjectTagging,
    GetBucketTagging,
    PutBucketTagging,
    DeleteBucketTagging,
    GetObjectAttributes,
    GetBucketVersioning,
    ListObjectVersions,
}

impl FeatureAction {
    /// The S3 action name.
    pub fn as_str(self) -> &'static str {
        match self {
            FeatureAction::GetObjectTagging => "GetObjectTagging",
            FeatureAction::PutObjectTagging => "PutObjectTagging",
            FeatureAction::DeleteObjectTagging => "DeleteObjectTagging",
            FeatureAction::GetBucketTagging => "GetBucketTagging",
            FeatureAction::PutBucketTagging => "PutBucketTagging",
            FeatureAction::DeleteBucketTagging => "DeleteBucketTagging",
            FeatureAction::GetObjectAttributes => "GetObjectAttributes",
            FeatureAction::GetBucketVersioning => "GetBucketVersioning",
            FeatureAction::ListObjectVersions => "ListObjectVersions",
        }
    }
}

/// Bucket CORS and the preflight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorsAction {
    PutBucketCors,
    GetBucketCors,
    DeleteBucketCors,
    /// `OPTIONS /bucket[/key]`.
    Preflight,
}

impl CorsAction {
    pub fn as_str(self) -> &'static str {
        match self {
            CorsAction::PutBucketCors => "PutBucketCors",
            CorsAction::GetBucketCors => "GetBucketCors",
            CorsAction::DeleteBucketCors => "DeleteBucketCors",
            CorsAction::Preflight => "PreflightRequest",
        }
    }
}

/// Every S3 operation the edge serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    ListBuckets,
    CreateBucket,
    DeleteBucket,
    HeadBucket,
    GetBucketLocation,
    ListObjects {
        v2: bool,
    },
    PutObject,
    CopyObject,
    GetObject,
    HeadObject,
    DeleteObject,
    DeleteObjects,
    Multipart(MultipartAction),
    /// Tagging, GetObjectAttributes and the versioning probes.
    Feature(FeatureAction),
    /// Bucket CORS and the preflight.
    Cors(CorsAction),
    /// Browser form upload.
    PostObject,
    /// A bucket configuration jetgate does not keep (`bucket_config`).
    BucketConfig(BucketConfig, ConfigVerb),
    /// Get/PutBucketAcl (`object: false`) and Get/PutObjectAcl (`acl`).
    Acl {
        object: bool,
        put: bool,
    },
    /// STS: `POST /` with an unsigned form body (boto3's `sts` client pointed at the
    /// gateway); the auth role reads the action from the body.
    AssumeRoleWithWebIdentity,
}

/// Operations served by the multipart role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MultipartAction {
    CreateMultipartUpload,
    UploadPart,
    UploadPartCopy,
    CompleteMultipartUpload,
    AbortMultipartUpload,
    ListParts,
    ListMultipartUploads,
}

impl MultipartAction {
    /// The S3 action name, as `Multipart::action` carries it on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            MultipartAction::CreateMultipartUpload => "CreateMultipartUpload",
            MultipartAction::UploadPart => "UploadPart",
            MultipartAction::UploadPartCopy => "UploadPartCopy",
            MultipartAction::CompleteMultipartUpload => "CompleteMultipartUpload",
            MultipartAction::AbortMultipartUpload => "AbortMultipartUpload",
            MultipartAction::ListParts => "ListParts",
            MultipartAction::ListMultipartUploads => "ListMultipartUploads",
        }
    }
}

impl Operation {
    /// The S3 action name: a low-cardinality label for spans and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Cors(action) => action.as_str(),
            Operation::PostObject => "PostObject",
            Operation::AssumeRoleWithWebIdentity => "AssumeRoleWithWebIdentity",
            Operation::ListBuckets => "ListBuckets",
            Operation::CreateBucket => "CreateBucket",
            Operation::DeleteBucket => "DeleteBucket",
            Operation::HeadBucket => "HeadBucket",
            Operation::GetBucketLocation => "GetBucketLocation",
            Operation::ListObjects { v2: false } => "ListObjects",
            Operation::ListObjects { v2: true } => "ListObjectsV2",
            Operation::PutObject => "PutObject",
            Operation::CopyObject => "CopyObject",
            Operation::GetObject => "GetObject",
            Operation::HeadObject => "HeadObject",
            Operation::DeleteObject => "DeleteObject",
            Operation::DeleteObjects => "DeleteObjects",
            Operation::Multipart(action) => action.as_str(),
            Operation::Feature(action) => action.as_str(),
            Operation::BucketConfig(config, verb) => config.action(verb),
            Operation::Acl { object, put } => match (object, put) {
                (false, false) => "GetBucketAcl",
                (false, true) => "PutBucketAcl",
                (true, false) => "GetObjectAcl",
                (true, true) => "PutObjectAcl",
            },
        }
    }
}

/// A routed request: the operation and the (validated, percent-decoded) names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    pub op: Operation,
    pub bucket: Option<String>,
    pub key: Option<String>,
    /// The bucket and key a CopyObject or UploadPartCopy reads (`x-amz-copy-source`).
    pub source: Option<(String, String)>,
    /// The key prefix a listing is confined to (ListObjects, ListMultipartUploads): the
    /// first `prefix` of the query, as the listing itself reads it.
    pub prefix: Option<String>,
}

impl Routed {
    /// `/bucket/key` as S3 reports it in `<Resource>` of an error.
    pub fn resource(&self) -> String {
        match (&self.bucket, &self.key) {
            (Some(b), Some(k)) => format!("/{b}/{k}"),
            (Some(b), None) => format!("/{b}"),
            _ => "/".to_string(),
        }
    }
}

/// The sub-resources that select one of our operations.
#[derive(Debug, Default)]
struct SubResources {
    location: bool,
    uploads: bool,
    upload_id: bool,
    delete: bool,
    part_number: bool,
    list_v2: bool,
    tagging: bool,
    attributes: bool,
    versioning: bool,
    versions: bool,
    cors: bool,
    acl: bool,
    /// Bucket configurations named (more than one is refused).
    config: Option<BucketConfig>,
    configs: usize,
}

impl SubResources {
    fn count(&self) -> usize {
        [
            self.cors,
            self.location,
            self.uploads,
            self.upload_id,
            self.delete,
            self.tagging,
            self.attributes,
            self.versioning,
            self.versions,
            self.acl,
        ]
        .iter()
        .filter(|b| **b)
        .count()
            + self.configs
    }
}

/// Query parameters that qualify an operation without selecting one.
const PLAIN_PARAMS: &[&str] = &[
    // ListObjects (v1, v2)
    "prefix",
    "delimiter",
    "marker",
    "max-keys",
    "continuation-token",
    "start-after",
    "encoding-type",
    "fetch-owner",
    // ListMultipartUploads, ListParts
    "max-uploads",
    "key-marker",
    "upload-id-marker",
    "max-parts",
    "part-number-marker",
    // ListObjectVersions
    "version-id-marker",
    // ListBuckets
    "max-buckets",
    "bucket-region",
    // The Rust and other smithy SDKs add `?x-id=PutObject` and friends.
    "x-id",
    // SigV2 presigned URLs: let the auth verifier answer them, not the router.
    "AWSAccessKeyId",
    "Signature",
    "Expires",
    // boto3's SigV2 presigned PUT moves the signed Content-Type and Content-MD5 into the
    // query; the request sends them as headers too, and the signature binds both.
    "content-type",
    "content-md5",
];

/// Routes one request. `domain` is the edge's `--domain`; a Host of `<bucket>.<domain>`
/// (any port) makes the request virtual-hosted style, any other Host path style.
pub fn route(
    method: &Method,
    raw_path: &str,
    raw_query: &str,
    headers: &HeaderMap,
    domain: Option<&str>,
) -> Result<Routed, S3Error> {
    let copy = headers
        .get("x-amz-copy-source")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    route_parts(
        method.as_str(),
        raw_path,
        raw_query,
        copy.as_deref(),
        virtual_host_bucket(headers, domain),
    )
}

/// Routes a signed request as the worker received it. The virtual-host bucket is the
/// one the edge read from Host; the worker checks it against the signed Host first.
pub fn route_signed(signed: &SignedRequest) -> Result<Routed, S3Error> {
    route_parts(
        &signed.method,
        &signed.path,
        &signed.query,
        signed.header("x-amz-copy-source"),
        signed.virtual_host_bucket.clone(),
    )
}

fn route_parts(
    method: &str,
    raw_path: &str,
    raw_query: &str,
    copy: Option<&str>,
    vhost_bucket: Option<String>,
) -> Result<Routed, S3Error> {
    let pairs = query_pairs(raw_query);
    let sub = sub_resources(&pairs)?;
    let (bucket, key) = names(raw_path, vhost_bucket)?;
    if let Some(b) = &bucket {
        validate_bucket(b)?;
    }
    if let Some(k) = &key {
        validate_key(k)?;
    }
    let op = operation(
        method,
        bucket.is_some(),
        key.is_some(),
        &sub,
        copy.is_some(),
    )?;
    let source = match (op, copy) {
        (
            Operation::CopyObject | Operation::Multipart(MultipartAction::UploadPartCopy),
            Some(v),
        ) => Some(copy_source(v)?),
        _ => None,
    };
    let prefix = match op {
        Operation::ListObjects { .. }
        | Operation::Multipart(MultipartAction::ListMultipartUploads) => Some(
            query_value(&pairs, "prefix")
                .unwrap_or_default()
                .to_string(),
        ),
        _ => None,
    };
    Ok(Routed {
        op,
        bucket,
        key,
        source,
        prefix,
    })
}

/// Classifies the query: our sub-resources are recorded, plain parameters pass, and
/// anything else (acl, tagging, versions, ...) is refused here, before routing.
fn sub_resources(query: &[(String, String)]) -> Result<SubResources, S3Error> {
    let mut sub = SubResources::default();
    for (name, value) in query {
        match name.as_str() {
            "location" => sub.location = true,
            "cors" => sub.cors = true,
            "acl" => sub.acl = true,
            "uploads" => sub.uploads = true,
            "uploadId" => sub.upload_id = true,
            "delete" => sub.delete = true,
            "partNumber" => sub.part_number = true,
            "tagging" => sub.tagging = true,
            "attributes" => sub.attributes = true,
            "versioning" => sub.versioning = true,
            "versions" => sub.versions = true,
            "list-type" => match value.as_str() {
                "2" => sub.list_v2 = true,
                // ListObjects v1 has no list-type; only `2` means anything.
                _ => return Err(S3Error::invalid_argument("Invalid list type specified")),
            },
            // Unversioned buckets answer `versionId=null` like a plain request.
            "versionId" if value == "null" => {}
            "versionId" => return Err(S3Error::invalid_argument("Invalid version id specified")),
            n if PLAIN_PARAMS.contains(&n) => {}
            n if n.starts_with("response-") => {}
            // Presigned SigV4 parameters (X-Amz-Signature, ...) are checked by auth.
            n if n.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("x-amz-")) => {}
            n => match BucketConfig::from_param(n) {
                Some(config) => {
                    sub.config = Some(config);
                    sub.configs += 1;
                }
                None => {
                    return Err(S3Error::not_implemented(&format!(
                        "The '{n}' query parameter"
                    )))
                }
            },
        }
    }
    if sub.count() > 1 {
        return Err(S3Error::not_implemented(
            "This combination of sub-resources",
        ));
    }
    Ok(sub)
}

/// `x-amz-copy-source` → (bucket, key): URL-encoded `bucket/key` or `/bucket/key`,
/// optionally `?versionId=null` (the only version an unversioned bucket has).
pub fn copy_source(value: &str) -> Result<(String, String), S3Error> {
    // A `?` that belongs to the key arrives as %3F, so a literal one starts the query.
    let (path, query) = value.trim().split_once('?').unwrap_or((value.trim(), ""));
    for (name, v) in query_pairs(query) {
        match (name.as_str(), v.as_str()) {
            ("versionId", "null") => {}
            ("versionId", _) => {
                return Err(S3Error::invalid_argument("Invalid version id specified"))
            }
            _ => return Err(S3Error::invalid_argument("Invalid copy source")),
        }
    }
    let path = path.strip_prefix('/').unwrap_or(path);
    // Header, not URL: `+` stays a plus; SDKs percent-encode spaces here.
    let decoded = percent_decode(path, false)
        .map_err(|_| S3Error::invalid_argument("Invalid copy source encoding"))?;
    let (bucket, key) = decoded.split_once('/').ok_or_else(|| {
        S3Error::invalid_argument(
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
        )
    })?;
    validate_bucket(bucket)
        .map_err(|_| S3Error::invalid_argument("Invalid copy source bucket name"))?;
    validate_key(key)?;
    Ok((bucket.to_string(), key.to_string()))
}

/// Bucket and key from Host and path, percent-decoded.
fn names(
    raw_path: &str,
    vhost_bucket: Option<String>,
) -> Result<(Option<String>, Option<String>), S3Error> {
    let Some(path) = raw_path.strip_prefix('/') else {
        return Err(S3Error::invalid_uri());
    };
    if let Some(bucket) = vhost_bucket {
        let key = decode_name(path)?;
        return Ok((Some(bucket), key));
    }
    let (bucket, key) = match path.split_once('/') {
        Some((b, k)) => (b, k),
        None => (path, ""),
    };
    Ok((decode_name(bucket)?, decode_name(key)?))
}

/// A path segment as a name: percent-decoded, `None` when empty.
fn decode_name(raw: &str) -> Result<Option<String>, S3Error> {
    if raw.is_empty() {
        return Ok(None);
    }
    // S3 reads `+` in the path as a space (the console's object URLs rely on it);
    // SDKs always send a literal plus as `%2B`.
    percent_decode(raw, true).map(Some)
}

/// The bucket of a virtual-hosted-style request: Host is `<bucket>.<domain>[:port]`.
pub fn virtual_host_bucket(headers: &HeaderMap, domain: Option<&str>) -> Option<String> {
    let domain = domain?.trim_end_matches('.');
    let host = headers.get(http::header::HOST)?.to_str().ok()?;
    let host = strip_port(host).trim_end_matches('.');
    let bucket = host.len().checked_sub(domain.len() + 1).and_then(|n| {
        let (bucket, rest) = (host.get(..n)?, host.get(n..)?);
        let suffix = rest.strip_prefix('.')?;
        suffix.eq_ignore_ascii_case(domain).then_some(bucket)
    })?;
    (!bucket.is_empty()).then(|| bucket.to_ascii_lowercase())
}

/// `host:port` → `host`; an IPv6 literal (`[::1]:9000`) is returned unchanged.
fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((h, port)) if !h.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// The routing table proper.
fn operation(
    method: &str,
    has_bucket: bool,
    has_key: bool,
    sub: &SubResources,
    copy: bool,
) -> Result<Operation, S3Error> {
    use FeatureAction as F;
    use MultipartAction as M;
    use Operation as O;
    let plain = sub.count() == 0;
    if let (Some(config), true, false) = (sub.config, has_bucket, has_key) {
        let verb = match method {
            "GET" => ConfigVerb::Get,
            "PUT" => ConfigVerb::Put,
            "DELETE" => ConfigVerb::Delete,
            m => return Err(S3Error::not_implemented(&format!("This {m} request"))),
        };
        return Ok(O::BucketConfig(config, verb));
    }
    let op = match (method, has_bucket, has_key) {
        ("GET", false, _) if plain => O::ListBuckets,
        ("GET", true, false) if plain => O::ListObjects { v2: sub.list_v2 },
        ("GET", true, false) if sub.location => O::GetBucketLocation,
        ("GET", true, false) if sub.uploads => O::Multipart(M::ListMultipartUploads),
        ("PUT", true, false) if plain => O::CreateBucket,
        ("DELETE", true, false) if plain => O::DeleteBucket,
        ("HEAD", true, false) if plain => O::HeadBucket,
        ("POST", true, false) if sub.delete => O::DeleteObjects,
        ("PUT", true, true) if plain && copy => O::CopyObject,
        ("PUT", true, true) if plain => O::PutObject,
        ("GET", true, true) if plain => O::GetObject,
        ("HEAD", true, true) if plain => O::HeadObject,
        ("DELETE", true, true) if plain => O::DeleteObject,
        ("POST", true, true) if sub.uploads => O::Multipart(M::CreateMultipartUpload),
        ("PUT", true, true) if sub.upload_id && !sub.part_number => {
            return Err(S3Error::invalid_argument(
                "Part number must be an integer between 1 and 10000, inclusive",
            ))
        }
        ("PUT", true, true) if sub.upload_id && copy => O::Multipart(M::UploadPartCopy),
        ("PUT", true, true) if sub.upload_id => O::Multipart(M::UploadPart),
        ("POST", true, true) if sub.upload_id => O::Multipart(M::CompleteMultipartUpload),
        ("DELETE", true, true) if sub.upload_id => O::Multipart(M::AbortMultipartUpload),
        ("GET", true, true) if sub.upload_id => O::Multipart(M::ListParts),
        ("GET", true, true) if sub.tagging => O::Feature(F::GetObjectTagging),
        ("PUT", true, true) if sub.tagging => O::Feature(F::PutObjectTagging),
        ("DELETE", true, true) if sub.tagging => O::Feature(F::DeleteObjectTagging),
        ("GET", true, false) if sub.tagging => O::Feature(F::GetBucketTagging),
        ("PUT", true, false) if sub.tagging => O::Feature(F::PutBucketTagging),
        ("DELETE", true, false) if sub.tagging => O::Feature(F::DeleteBucketTagging),
        ("GET", true, true) if sub.attributes => O::Feature(F::GetObjectAttributes),
        ("GET", true, false) if sub.versioning => O::Feature(F::GetBucketVersioning),
        ("GET", true, false) if sub.versions => O::Feature(F::ListObjectVersions),
        ("GET", true, has_key) if sub.acl => O::Acl {
            object: has_key,
            put: false,
        },
        ("PUT", true, has_key) if sub.acl => O::Acl {
            object: has_key,
            put: true,
        },
        ("GET", true, false) if sub.cors => O::Cors(CorsAction::GetBucketCors),
        ("PUT", true, false) if sub.cors => O::Cors(CorsAction::PutBucketCors),
        ("DELETE", true, false) if sub.cors => O::Cors(CorsAction::DeleteBucketCors),
        // Preflights are unsigned and answered from the bucket's CORS rules.
        ("OPTIONS", true, _) => O::Cors(CorsAction::Preflight),
        ("POST", true, false) if plain => O::PostObject,
        ("POST", false, _) if plain => O::AssumeRoleWithWebIdentity,
        (m, _, _) => return Err(S3Error::not_implemented(&format!("This {m} request"))),
    };
    Ok(op)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may panic on what they set up
mod tests;
