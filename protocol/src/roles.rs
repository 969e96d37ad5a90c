//! Worker roles, their NATS micro service names and the versioned endpoint subjects.

use std::fmt;
use std::str::FromStr;

use serde::{de::DeserializeOwned, Serialize};

use crate::acl::{self, AclReply};
use crate::attributes::{self, AttributesReply, ListVersionsReply};
use crate::cors::{self, CorsCheckReply, GetCorsReply};
use crate::messages::{
    self, Ack, BucketOp, ChunkBatch, CopyReply, DeleteObjectsReply, ListBucketsReply,
    ListObjectsReply, LocationReply, ObjectReply, Principal, PutReply, VerifyRequest,
};
use crate::multipart::{
    self, CompleteReply, CopyPartReply, CreateUploadReply, ListPartsReply, ListUploadsReply,
    UploadPartReply,
};
use crate::post::{self, PostReply, VerifyPostPolicy};
use crate::route::{CorsAction, FeatureAction, MultipartAction, Operation};
use crate::sts;
use crate::tagging::{self, ObjectTagging, TaggingReply};

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

    /// Endpoints the role serves, in table order.
    pub fn endpoints(self) -> impl Iterator<Item = Endpoint> {
        Endpoint::ALL
            .iter()
            .copied()
            .filter(move |e| e.role() == self)
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

/// A typed call: the endpoint it goes to, the operation it carries and the reply it gets.
/// Data endpoints receive `Call<Op>` (the signed request beside the operation); the auth
/// endpoints receive `Op` itself. The edge asks with `ask::<rpc::X>(…, op)` and gets
/// `X::Reply`; a worker decodes with `inc.call::<rpc::X>()` and answers with
/// `inc.reply::<rpc::X>(…)`, so both sides are held to one contract by the compiler.
pub trait Rpc {
    const ENDPOINT: Endpoint;
    type Op: Serialize + DeserializeOwned + Send + Sync;
    type Reply: Serialize + DeserializeOwned + Send + Sync;
}

/// The one endpoint table: every endpoint's role, subject token, operation and reply.
/// The `Endpoint` enum, its role and name, each role's endpoint list and the `rpc`
/// marker types all derive from it.
macro_rules! endpoints {
    ($( $(#[$doc:meta])* $ep:ident => $role:ident, $name:literal, $op:ty, $reply:ty; )*) => {
        /// One micro endpoint; its subject is `jetgate.v1.<role>.<name>`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Endpoint {
            $( $(#[$doc])* $ep, )*
        }

        impl Endpoint {
            pub const ALL: &'static [Endpoint] = &[$(Endpoint::$ep),*];

            pub fn role(self) -> Role {
                match self {
                    $(Endpoint::$ep => Role::$role,)*
                }
            }

            /// Last subject token, also the micro endpoint name.
            pub fn name(self) -> &'static str {
                match self {
                    $(Endpoint::$ep => $name,)*
                }
            }
        }

        /// Marker types of the typed calls, one per endpoint, named like it.
        pub mod rpc {
            use super::*;
            $(
                $(#[$doc])*
                pub enum $ep {}
                impl Rpc for $ep {
                    const ENDPOINT: Endpoint = Endpoint::$ep;
                    type Op = $op;
                    type Reply = $reply;
                }
            )*
        }
    };
}

endpoints! {
    AuthVerify => Auth, "verify", VerifyRequest, Principal;
    AuthChunks => Auth, "chunks", ChunkBatch, Ack;
    /// POST Object policy signature and expiration.
    AuthPostPolicy => Auth, "post_policy", VerifyPostPolicy, Principal;
    /// STS AssumeRoleWithWebIdentity: an unsigned form with an OIDC token in, temporary
    /// credentials out. Sent by the edge as a `Call` like the data endpoints.
    AuthSts => Auth, "sts", sts::AssumeRoleWithWebIdentity, sts::StsCredentials;
    ListBuckets => Listing, "list_buckets", messages::ListBuckets, ListBucketsReply;
    CreateBucket => Listing, "create_bucket", BucketOp, Ack;
    DeleteBucket => Listing, "delete_bucket", BucketOp, Ack;
    HeadBucket => Listing, "head_bucket", BucketOp, Ack;
    GetBucketLocation => Listing, "bucket_location", BucketOp, LocationReply;
    ListObjects => Listing, "list_objects", messages::ListObjects, ListObjectsReply;
    /// Versioning probes: buckets are never versioned.
    GetBucketVersioning => Listing, "bucket_versioning", BucketOp, Ack;
    ListObjectVersions => Listing, "list_versions", attributes::ListObjectVersions, ListVersionsReply;
    /// Bucket configurations jetgate does not keep (policy, lifecycle, object lock, ...):
    /// reads answer "none configured", writes NotImplemented; and requests the route
    /// table refuses, answered NotImplemented only once their signature holds.
    BucketConfig => Listing, "bucket_config", BucketOp, Ack;
    /// Get/PutBucketAcl: the owner with FULL_CONTROL; owner-only canned ACLs accepted.
    BucketAcl => Listing, "bucket_acl", BucketOp, AclReply;
    /// Get/Put/DeleteBucketTagging: the tag set kept in the bucket stream's metadata.
    BucketTagging => Listing, "bucket_tagging", BucketOp, TaggingReply;
    PutBucketCors => Listing, "put_cors", BucketOp, Ack;
    GetBucketCors => Listing, "get_cors", BucketOp, GetCorsReply;
    DeleteBucketCors => Listing, "delete_cors", BucketOp, Ack;
    /// Unsigned CORS evaluation: preflights and browser requests.
    CorsCheck => Listing, "cors_check", cors::CorsCheck, CorsCheckReply;
    CreateUpload => Multipart, "create_upload", multipart::CreateUpload, CreateUploadReply;
    UploadPart => Multipart, "upload_part", multipart::UploadPart, UploadPartReply;
    UploadPartCopy => Multipart, "upload_part_copy", multipart::UploadPartCopy, CopyPartReply;
    /// Streams heartbeats while it assembles; the last message is the `CompleteReply`.
    CompleteUpload => Multipart, "complete_upload", multipart::CompleteUpload, CompleteReply;
    AbortUpload => Multipart, "abort_upload", multipart::AbortUpload, Ack;
    ListParts => Multipart, "list_parts", multipart::ListParts, ListPartsReply;
    ListUploads => Multipart, "list_uploads", multipart::ListUploads, ListUploadsReply;
    PutObject => Object, "put", messages::PutObject, PutReply;
    /// GET and HEAD: HEAD is a GET whose body is not sent.
    GetObject => Object, "get", messages::GetObject, ObjectReply;
    DeleteObject => Object, "delete", messages::DeleteObject, Ack;
    DeleteObjects => Object, "delete_many", BucketOp, DeleteObjectsReply;
    CopyObject => Object, "copy", messages::CopyObject, CopyReply;
    GetObjectTagging => Object, "get_tagging", ObjectTagging, TaggingReply;
    PutObjectTagging => Object, "put_tagging", tagging::PutObjectTagging, TaggingReply;
    DeleteObjectTagging => Object, "delete_tagging", ObjectTagging, TaggingReply;
    GetObjectAttributes => Object, "attributes", attributes::GetObjectAttributes, AttributesReply;
    /// Get/PutObjectAcl, likewise for an object.
    ObjectAcl => Object, "object_acl", acl::ObjectAcl, AclReply;
    /// Browser form upload.
    PostObject => Object, "post", post::PostObject, PostReply;
}

/// The endpoint that serves each S3 operation of the route table.
impl Operation {
    /// The worker endpoint that serves this operation.
    pub fn endpoint(self) -> Endpoint {
        use Endpoint as E;
        use FeatureAction as F;
        use MultipartAction as M;
        match self {
            Operation::ListBuckets => E::ListBuckets,
            Operation::CreateBucket => E::CreateBucket,
            Operation::DeleteBucket => E::DeleteBucket,
            Operation::HeadBucket => E::HeadBucket,
            Operation::GetBucketLocation => E::GetBucketLocation,
            Operation::ListObjects { .. } => E::ListObjects,
            Operation::PutObject => E::PutObject,
            Operation::CopyObject => E::CopyObject,
            // HEAD is a GET whose body the edge does not send.
            Operation::GetObject | Operation::HeadObject => E::GetObject,
            Operation::DeleteObject => E::DeleteObject,
            Operation::DeleteObjects => E::DeleteObjects,
            Operation::Multipart(M::CreateMultipartUpload) => E::CreateUpload,
            Operation::Multipart(M::UploadPart) => E::UploadPart,
            Operation::Multipart(M::UploadPartCopy) => E::UploadPartCopy,
            Operation::Multipart(M::CompleteMultipartUpload) => E::CompleteUpload,
            Operation::Multipart(M::AbortMultipartUpload) => E::AbortUpload,
            Operation::Multipart(M::ListParts) => E::ListParts,
            Operation::Multipart(M::ListMultipartUploads) => E::ListUploads,
            Operation::Feature(F::GetObjectTagging) => E::GetObjectTagging,
            Operation::Feature(F::PutObjectTagging) => E::PutObjectTagging,
            Operation::Feature(F::DeleteObjectTagging) => E::DeleteObjectTagging,
            Operation::Feature(
                F::GetBucketTagging | F::PutBucketTagging | F::DeleteBucketTagging,
            ) => E::BucketTagging,
            Operation::Feature(F::GetObjectAttributes) => E::GetObjectAttributes,
            Operation::Feature(F::GetBucketVersioning) => E::GetBucketVersioning,
            Operation::Feature(F::ListObjectVersions) => E::ListObjectVersions,
            Operation::Cors(CorsAction::PutBucketCors) => E::PutBucketCors,
            Operation::Cors(CorsAction::GetBucketCors) => E::GetBucketCors,
            Operation::Cors(CorsAction::DeleteBucketCors) => E::DeleteBucketCors,
            Operation::Cors(CorsAction::Preflight) => E::CorsCheck,
            Operation::PostObject => E::PostObject,
            Operation::AssumeRoleWithWebIdentity => E::AuthSts,
            Operation::BucketConfig(..) => E::BucketConfig,
            Operation::Acl { object: false, .. } => E::BucketAcl,
            Operation::Acl { object: true, .. } => E::ObjectAcl,
        }
    }
}

impl Endpoint {
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
    fn every_endpoint_has_its_own_subject() {
        let mut seen = std::collections::HashSet::new();
        for ep in Endpoint::ALL {
            assert!(seen.insert(ep.subject()), "{ep:?}");
        }
        let served: usize = Role::ALL.iter().map(|r| r.endpoints().count()).sum();
        assert_eq!(served, Endpoint::ALL.len());
    }

    #[test]
    fn roles_parse_from_flags() {
        assert_eq!("listing".parse::<Role>().ok(), Some(Role::Listing));
        assert!("nope".parse::<Role>().is_err());
    }
}
