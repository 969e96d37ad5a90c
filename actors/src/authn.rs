//! Authentication of a signed request, a layer above the auth role: the signature is
//! checked by the auth verifier (in-process when this worker hosts the auth role, over
//! NATS otherwise), then the gate's reading of the request and the key's policy.

use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::messages::{ChunkBatch, Principal, SignedRequest, VerifyRequest};
use jetgate_protocol::route::Routed;
use jetgate_protocol::{rpc, S3Error};
use tracing::Instrument;

use crate::gate::Acts;
use crate::incoming::Incoming;
use crate::worker::Worker;

impl Worker {
    /// Has the auth verifier check the signature; returns who signed.
    /// Checks that the signed request is the call (see `gate`), that its signature
    /// holds, and that the key's policy allows what it does.
    pub async fn authenticate(
        &self,
        inc: &Incoming,
        signed: &SignedRequest,
        op: &impl Acts,
    ) -> Result<Principal, S3Error> {
        Ok(self.authenticated(inc, signed, op).await?.0)
    }

    /// [`Worker::authenticate`], also returning the gate's reading of the signed
    /// request, for handlers whose answer depends on more than the endpoint.
    pub async fn authenticated(
        &self,
        inc: &Incoming,
        signed: &SignedRequest,
        op: &impl Acts,
    ) -> Result<(Principal, Routed), S3Error> {
        let routed = crate::gate::check(inc.endpoint, signed, &op.names())?;
        let principal = self.verify_signature(&inc.ctx, signed).await?;
        // From here the request is the signer's usage, refused by policy or not.
        inc.usage
            .signed(&principal, routed.op.name(), routed.bucket.as_deref());
        // The key's policy (buckets, prefixes, operations) applies to every endpoint.
        crate::auth::policy::enforce(self.store(), &principal, &routed).await?;
        jetgate_protocol::acl::refuse_grants(routed.op, signed)?;
        Ok((principal, routed))
    }

    /// The request's signature alone, for a request that acts on nothing (its answer
    /// is an error either way); [`Worker::authenticate`] for everything else.
    pub async fn verify(
        &self,
        inc: &Incoming,
        signed: &SignedRequest,
    ) -> Result<Principal, S3Error> {
        let principal = self.verify_signature(&inc.ctx, signed).await?;
        // Not checked against the call: the route only names the usage record.
        let routed = jetgate_protocol::route::route_signed(signed).ok();
        inc.usage.signed(
            &principal,
            routed.as_ref().map_or(inc.endpoint.name(), |r| r.op.name()),
            routed.as_ref().and_then(|r| r.bucket.as_deref()),
        );
        Ok(principal)
    }

    async fn verify_signature(
        &self,
        ctx: &RequestContext,
        signed: &SignedRequest,
    ) -> Result<Principal, S3Error> {
        if self.local_auth() {
            metrics::counter!("jetgate_worker_auth_local_total").increment(1);
            let span = tracing::info_span!("auth.verify", role = "auth", in_process = true);
            return crate::auth::verify_signed(self, signed)
                .instrument(span)
                .await;
        }
        let req = VerifyRequest {
            signed: signed.clone(),
        };
        self.call::<rpc::AuthVerify>(ctx, &req).await
    }

    /// Has the auth verifier check a batch of aws-chunked chunk signatures.
    pub async fn verify_chunks(
        &self,
        ctx: &RequestContext,
        batch: &ChunkBatch,
    ) -> Result<(), S3Error> {
        if self.local_auth() {
            return crate::auth::verify_chunks(self, batch).await;
        }
        self.call::<rpc::AuthChunks>(ctx, batch).await.map(|_| ())
    }
}
