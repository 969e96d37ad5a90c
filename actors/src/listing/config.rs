//! Bucket configurations jetgate does not keep (`jetgate_protocol::bucket_config`):
//! a read answers what AWS answers for a bucket where it was never set, a write is
//! NotImplemented; both only after the signature, the key's policy and the bucket's
//! existence hold. Requests the route table refuses (unknown sub-resources, methods it
//! does not serve) come here too, so that an anonymous or wrongly signed caller gets
//! the authentication error, never a 501 that answers before the signature is checked.

use jetgate_protocol::bucket_config::ConfigVerb;
use jetgate_protocol::messages::{Ack, BucketOp, Call};
use jetgate_protocol::names::{bucket_to_nats, validate_bucket};
use jetgate_protocol::route::{route_signed, Operation};
use jetgate_protocol::rpc;
use jetgate_protocol::{S3Error, S3ErrorCode};

use crate::incoming::Incoming;
use crate::worker::Worker;

pub async fn bucket_config(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let call: Call<BucketOp> = inc.call::<rpc::BucketConfig>()?.msg;
    let op = match route_signed(&call.signed) {
        Ok(routed) => routed.op,
        // Nothing is acted on: the signature alone decides between its error and 501.
        Err(e) if e.code == S3ErrorCode::NotImplemented => {
            worker.verify(inc, &call.signed).await?;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    validate_bucket(&call.op.bucket)?;
    // The gate routes the signed request again and holds it to this endpoint and bucket.
    worker.authenticate(inc, &call.signed, &call.op).await?;
    let Operation::BucketConfig(config, verb) = op else {
        return Err(S3Error::internal(
            "bucket configuration call for another operation",
        ));
    };
    worker
        .store()
        .require_bucket(&bucket_to_nats(&call.op.bucket))
        .await?;
    match verb {
        // The edge writes the document; only the error is decided here.
        ConfigVerb::Get => {
            config.unset()?;
            inc.reply::<rpc::BucketConfig>(&Ack {}, &[]).await
        }
        ConfigVerb::Put | ConfigVerb::Delete => Err(S3Error::not_implemented(config.action(verb))),
    }
}
