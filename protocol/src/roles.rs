//! Worker roles, their NATS micro service names and the versioned endpoint subjects.

use std::fmt;
use std::str::FromStr;

/// Wire version of every subject; bump it when a message changes incompatibly so old
/// and new workers can run side by side during a rolling upgrade.
pub const API_VERSION: &str = "v1";

/// Semver of the micro services, reported by `nats micro info`.
pub const SERVICE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Subject prefix of all jetgate services.
pub const SUBJECT_ROOT: &str = "jetgate";

/// One kind of worker; each is its own NATS micro service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Auth,
    Listing,
    Multipart,
    Object,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Auth, Role::Listing, Role::Multipart, Role::Object];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Auth => "auth",
            Role::Listing => "listing",
            Role::Multipart => "multipart",
            Role::Object => "object",
        }
    }

    /// Name shown by `nats micro ls`.
    pub fn service_name(self) -> String {
        format!("jetgate-{}", self.as_str())
    }

    pub fn description(self) -> &'static str {
        match self {
            Role::Auth => "jetgate SigV4 verifier and credential store",
            Role::Listing => "jetgate buckets and object listings",
            Role::Multipart => "jetgate multipart upload assembler",
            Role::Object => "jetgate object get/put/head/delete/copy",
        }
    }

    /// Subject group of the role, e.g. `jetgate.v1.object`.
    pub fn group(self) -> String {
        format!("{SUBJECT_ROOT}.{API_VERSION}.{}", self.as_str())
    }

    /// Endpoints the role serves.
    pub fn endpoints(self) -> &'static [Endpoint] {
        use Endpoint::*;
        match self {
            Role::Auth => &[AuthVerify, AuthChunks, AuthPostPolicy],
            Role::Listing => &[
                ListBuckets,
                CreateBucket,
                DeleteBucket,
                HeadBucket,
                GetBucketLocation,
                ListObjects,
                GetBucketVersioning,
                ListObjectVersions,
                PutBucketCors,
                GetBucketCors,
                DeleteBucketCors,
                CorsCheck,
                BucketConfig,
                BucketAcl,
                BucketTagging,
            ],
            Role::Multipart => &[
                CreateUpload,
                UploadPart,
                UploadPartCopy,
                CompleteUpload,
                AbortUpload,
                ListParts,
                ListUploads,
            ],
            Role::Object => &[
                PutObject,
                GetObject,
                DeleteObject,
                DeleteObjects,
                CopyObject,
                GetObjectTagging,
                PutObjectTagging,
                DeleteObjectTagging,
                GetObjectAttributes,
                ObjectAcl,
                PostObject,
            ],
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown role {0:?} (expected auth, listing, multipart or object)")]
pub struct UnknownRole(String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "auth" => Ok(Role::Auth),
            "listing" => Ok(Role::Listing),
            "multipart" => Ok(Role::Multipart),
            "object" => Ok(Role::Object),
            other => Err(UnknownRole(other.to_string())),
        }
    }
}

/// One micro endpoint; its subject is `jetgate.v1.<role>.<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    AuthVerify,
    AuthChunks,
    ListBuckets,
    CreateBucket,
    DeleteBucket,
    HeadBucket,
    GetBucketLocation,
    ListObjects,
    CreateUpload,
    UploadPart,
    UploadPartCopy,
    CompleteUpload,
    AbortUpload,
    ListParts,
    ListUploads,
    PutObject,
    /// GET and HEAD: HEAD is a GET whose body is not sent.
    GetObject,
    DeleteObject,
    DeleteObjects,
    CopyObject,
    /// Versioning probes: buckets are never versioned.
    GetBucketVersioning,
    ListObjectVersions,
    GetObjectTagging,
    PutObjectTagging,
    DeleteObjectTagging,
    GetObjectAttributes,
    /// Bucket configurations jetgate does not keep (policy, lifecycle, object lock, ...):
    /// reads answer "none configured", writes NotImplemented; and requests the route
    /// table refuses, answered NotImplemented only once their signature holds.
    BucketConfig,
    /// Get/PutBucketAcl: the owner with FULL_CONTROL; owner-only canned ACLs accepted.
    BucketAcl,
    /// Get/PutObjectAcl, likewise for an object.
    ObjectAcl,
    /// Get/Put/DeleteBucketTagging: the tag set kept in the bucket stream's metadata.
    BucketTagging,
    /// POST Object policy signature and expiration.
    AuthPostPolicy,
    PutBucketCors,
    GetBucketCors,
    DeleteBucketCors,
    /// Unsigned CORS evaluation: preflights and browser requests.
    CorsCheck,
    /// Browser form upload.
    PostObject,
}

impl Endpoint {
    pub fn role(self) -> Role {
        use Endpoint::*;
        match self {
            AuthPostPolicy => Role::Auth,
            PutBucketCors | GetBucketCors | DeleteBucketCors | CorsCheck | BucketConfig
            | BucketAcl | BucketTagging => Role::Listing,
            PostObject => Role::Object,
            AuthVerify | AuthChunks => Role::Auth,
            ListBuckets | CreateBucket | DeleteBucket | HeadBucket | GetBucketLocation
            | ListObjects | GetBucketVersioning | ListObjectVersions => Role::Listing,
            CreateUpload | UploadPart | UploadPartCopy | CompleteUpload | AbortUpload
            | ListParts | ListUploads => Role::Multipart,
            PutObject | GetObject | DeleteObject | DeleteObjects | CopyObject => Role::Object,
            GetObjectTagging | PutObjectTagging | DeleteObjectTagging | GetObjectAttributes
            | ObjectAcl => Role::Object,
        }
    }

    /// Last subject token, also the micro endpoint name.
    pub fn name(self) -> &'static str {
        use Endpoint::*;
        match self {
            AuthPostPolicy => "post_policy",
            PutBucketCors => "put_cors",
            GetBucketCors => "get_cors",
            DeleteBucketCors => "delete_cors",
            CorsCheck => "cors_check",
            PostObject => "post",
            AuthVerify => "verify",
            AuthChunks => "chunks",
            ListBuckets => "list_buckets",
            CreateBucket => "create_bucket",
            DeleteBucket => "delete_bucket",
            HeadBucket => "head_bucket",
            GetBucketLocation => "bucket_location",
            ListObjects => "list_objects",
            CreateUpload => "create_upload",
            UploadPart => "upload_part",
            UploadPartCopy => "upload_part_copy",
            CompleteUpload => "complete_upload",
            AbortUpload => "abort_upload",
            ListParts => "list_parts",
            ListUploads => "list_uploads",
            PutObject => "put",
            GetObject => "get",
            DeleteObject => "delete",
            DeleteObjects => "delete_many",
            CopyObject => "copy",
            GetBucketVersioning => "bucket_versioning",
            ListObjectVersions => "list_versions",
            GetObjectTagging => "get_tagging",
            PutObjectTagging => "put_tagging",
            DeleteObjectTagging => "delete_tagging",
            GetObjectAttributes => "attributes",
            BucketConfig => "bucket_config",
            BucketAcl => "bucket_acl",
            ObjectAcl => "object_acl",
            BucketTagging => "bucket_tagging",
        }
    }

    pub fn subject(self) -> String {
        format!("{}.{}", self.role().group(), self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_belongs_to_the_role_that_lists_it() {
        for role in Role::ALL {
            for ep in role.endpoints() {
                assert_eq!(ep.role(), role, "{ep:?}");
                assert!(ep.subject().starts_with(&format!("jetgate.v1.{role}.")));
            }
        }
        assert_eq!(Endpoint::PutObject.subject(), "jetgate.v1.object.put");
    }

    #[test]
    fn roles_parse_from_flags() {
        assert_eq!("listing".parse::<Role>().ok(), Some(Role::Listing));
        assert!("nope".parse::<Role>().is_err());
    }
}
