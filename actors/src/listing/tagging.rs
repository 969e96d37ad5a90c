//! Get/Put/DeleteBucketTagging: the tag set is kept as JSON in the metadata of the
//! bucket's stream (`jetgate.tags`), beside the CORS rules. Which of the three a call is
//! comes from the gate's reading of the signed request, never from the edge.

use jetgate_protocol::messages::{BucketOp, Call};
use jetgate_protocol::names::{bucket_to_nats, validate_bucket};
use jetgate_protocol::route::{FeatureAction, Operation};
use jetgate_protocol::rpc;
use jetgate_protocol::tagging::{validate_bucket_tags, Tag, TaggingReply};
use jetgate_protocol::S3Error;

use crate::body::read_small_verified;
use crate::incoming::Incoming;
use crate::worker::Worker;

/// Stream metadata key of a bucket's tags.
pub const STREAM_METADATA_KEY: &str = "jetgate.tags";
/// Largest Tagging document accepted (50 tags of 128 + 256 characters fit).
const MAX_BODY: usize = 128 * 1024;

pub async fn bucket_tagging(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let env = inc.call::<rpc::BucketTagging>()?;
    let call: &Call<BucketOp> = &env.msg;
    validate_bucket(&call.op.bucket)?;
    let (principal, routed) = worker.authenticated(inc, &call.signed, &call.op).await?;
    let nats_bucket = bucket_to_nats(&call.op.bucket);
    let tags = match routed.op {
        Operation::Feature(FeatureAction::GetBucketTagging) => {
            let stored = worker
                .store()
                .bucket_setting(&nats_bucket, STREAM_METADATA_KEY)
                .await?;
            match stored {
                Some(json) => decode(&json)?,
                None => return Err(S3Error::no_such_tag_set()),
            }
        }
        Operation::Feature(FeatureAction::PutBucketTagging) => {
            worker.store().require_bucket(&nats_bucket).await?;
            let xml = read_small_verified(worker, inc, &principal, &env, MAX_BODY).await?;
            let tags = crate::object::tagging::parse_tag_set(&xml)?;
            validate_bucket_tags(&tags)?;
            let json = serde_json::to_string(&tags).map_err(S3Error::internal)?;
            worker
                .store()
                .set_bucket_setting(&nats_bucket, STREAM_METADATA_KEY, Some(json))
                .await?;
            tracing::info!(bucket = %call.op.bucket, tags = tags.len(), "bucket tags set");
            Vec::new()
        }
        Operation::Feature(FeatureAction::DeleteBucketTagging) => {
            worker
                .store()
                .set_bucket_setting(&nats_bucket, STREAM_METADATA_KEY, None)
                .await?;
            Vec::new()
        }
        other => {
            return Err(S3Error::internal(format!(
                "bucket tagging call for {}",
                other.name()
            )))
        }
    };
    inc.reply::<rpc::BucketTagging>(&TaggingReply { tags }, &[])
        .await
}

/// The stored tags; anything else in the metadata (written by hand with native tools)
/// is an internal error, never a tag set made up.
fn decode(json: &str) -> Result<Vec<Tag>, S3Error> {
    serde_json::from_str(json)
        .map_err(|e| S3Error::internal(format!("stored bucket tags unreadable: {e}")))
}
