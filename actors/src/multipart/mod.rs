//! Multipart assembler role. Registered so operators see it in `nats micro ls`; the
//! operations themselves arrive with the multipart issue and answer NotImplemented until then.

use jetgate_protocol::messages::Multipart;
use jetgate_protocol::S3Error;

use crate::incoming::Incoming;
use crate::worker::Worker;

pub async fn handle(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let call = inc.call::<Multipart>()?.msg;
    worker.authenticate(&inc.ctx, &call.signed).await?;
    Err(S3Error::not_implemented(&format!(
        "multipart upload ({})",
        call.op.action
    )))
}
