//! jetgate worker roles: auth verifier, listing, multipart assembler and object I/O,
//! each a ractor actor behind a NATS micro service.

mod acl;
pub mod auth;
mod authn;
mod body;
pub mod config;
pub mod cors;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod gate;
mod incoming;
pub mod listing;
pub mod multipart;
pub mod object;
pub mod payload;
pub mod post_policy;
pub mod roles;
pub mod store;
pub mod trace;
pub mod usage;
pub mod worker;

use jetgate_protocol::{Endpoint, S3Error};

pub use config::WorkerConfig;
pub use incoming::Incoming;
pub use roles::{SupervisorMsg, WorkerSupervisor};
pub use worker::Worker;

/// Routes a request to its handler; handlers reply themselves on success.
pub(crate) async fn dispatch(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    use Endpoint::*;
    match inc.endpoint {
        AuthPostPolicy => auth::post::verify_post(worker, inc).await,
        AuthSts => auth::sts::assume_role(worker, inc).await,
        PutBucketCors => cors::put_bucket_cors(worker, inc).await,
        GetBucketCors => cors::get_bucket_cors(worker, inc).await,
        DeleteBucketCors => cors::delete_bucket_cors(worker, inc).await,
        CorsCheck => cors::check(worker, inc).await,
        PostObject => object::post(worker, inc).await,
        AuthVerify => auth::verify(worker, inc).await,
        AuthChunks => auth::chunks(worker, inc).await,
        ListBuckets => listing::list_buckets(worker, inc).await,
        CreateBucket => listing::create_bucket(worker, inc).await,
        DeleteBucket => listing::delete_bucket(worker, inc).await,
        HeadBucket => listing::head_bucket(worker, inc).await,
        GetBucketLocation => listing::bucket_location(worker, inc).await,
        ListObjects => listing::list_objects(worker, inc).await,
        CreateUpload => multipart::create(worker, inc).await,
        UploadPart => multipart::upload_part(worker, inc).await,
        UploadPartCopy => multipart::upload_part_copy(worker, inc).await,
        CompleteUpload => multipart::complete(worker, inc).await,
        AbortUpload => multipart::abort(worker, inc).await,
        ListParts => multipart::list_parts(worker, inc).await,
        ListUploads => multipart::list_uploads(worker, inc).await,
        PutObject => object::put(worker, inc).await,
        GetObject => object::get(worker, inc).await,
        DeleteObject => object::delete(worker, inc).await,
        DeleteObjects => object::delete_many(worker, inc).await,
        CopyObject => object::copy(worker, inc).await,
        GetBucketVersioning => listing::get_versioning(worker, inc).await,
        ListObjectVersions => listing::list_versions(worker, inc).await,
        GetObjectTagging => object::get_tagging(worker, inc).await,
        PutObjectTagging => object::put_tagging(worker, inc).await,
        DeleteObjectTagging => object::delete_tagging(worker, inc).await,
        GetObjectAttributes => object::get_attributes(worker, inc).await,
        BucketConfig => listing::bucket_config(worker, inc).await,
        BucketAcl => listing::bucket_acl(worker, inc).await,
        BucketTagging => listing::bucket_tagging(worker, inc).await,
        ObjectAcl => object::object_acl(worker, inc).await,
    }
}
