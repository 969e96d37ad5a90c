//! What every role handler shares: the NATS connection, the store, the inbox mux and
//! settings, plus calls to other roles (the auth verifier above all).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::{Client, RequestErrorKind};
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::messages::{Ack, ChunkBatch, Principal, SignedRequest, VerifyRequest};
use jetgate_protocol::mux::Mux;
use jetgate_protocol::route::Routed;
use jetgate_protocol::stream::StreamConfig;
use jetgate_protocol::{Endpoint, S3Error, S3ErrorCode};
use serde::{de::DeserializeOwned, Serialize};
use tracing::Instrument;

use crate::gate::Acts;
use crate::incoming::Incoming;
use crate::store::Store;

/// Settings of a worker process.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The one region this gateway serves (SigV4 scope, GetBucketLocation).
    pub region: String,
    /// Allowed difference between the client's clock and ours.
    pub max_skew: Duration,
    pub stream: StreamConfig,
    /// Largest response body sent inline in the reply instead of streamed.
    pub inline_limit: u64,
    /// How long a call to another role may take.
    pub call_timeout: Duration,
    /// Age after which chunks no object refers to are reclaimed.
    pub orphan_grace: Duration,
    /// Object-store replicas of buckets created through S3.
    pub replicas: usize,
    /// Multipart uploads older than this are aborted by the stale-upload sweep.
    pub upload_max_age: Duration,
    /// How long an UploadPart that arrives ahead of its turn waits to be appended in
    /// place before it is staged (and copied at Complete).
    pub part_append_wait: Duration,
    /// Bytes of chunk publishes awaiting JetStream's ack, over all requests.
    pub publish_budget: u64,
    /// Bytes of parts read ahead of their turn, over all uploads (0: parts wait unread).
    pub part_read_ahead: u64,
    /// Bytes of live listing indexes, over all buckets (least recently used evicted).
    pub listing_index_budget: u64,
    /// Seals and opens secrets in the credential bucket; auth role only.
    pub credentials_key: Option<Arc<crate::auth::sealed::CredentialsKey>>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            region: "us-east-1".into(),
            max_skew: Duration::from_secs(15 * 60),
            stream: StreamConfig::default(),
            inline_limit: 128 * 1024,
            call_timeout: Duration::from_secs(10),
            orphan_grace: Duration::from_secs(300),
            replicas: 1,
            upload_max_age: Duration::from_secs(7 * 24 * 3600),
            part_append_wait: Duration::from_secs(20),
            publish_budget: crate::store::DEFAULT_PUBLISH_BUDGET,
            part_read_ahead: crate::multipart::DEFAULT_READ_AHEAD,
            listing_index_budget: crate::store::DEFAULT_INDEX_BUDGET,
            credentials_key: None,
        }
    }
}

/// Shared state of all roles in one worker process.
#[derive(Clone)]
pub struct Worker {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    store: Store,
    mux: Mux,
    cfg: WorkerConfig,
    /// Permits (KiB) for parts read ahead of their turn.
    read_ahead: Arc<tokio::sync::Semaphore>,
    /// This process hosts the auth role: verify in-process instead of over NATS.
    local_auth: AtomicBool,
}

impl Worker {
    pub async fn new(
        client: Client,
        cfg: WorkerConfig,
    ) -> Result<Self, async_nats::SubscribeError> {
        let mux = Mux::new(client.clone()).await?;
        Ok(Worker {
            inner: Arc::new(Inner {
                store: Store::with_publish_budget(client.clone(), cfg.publish_budget)
                    .with_listing_index_budget(cfg.listing_index_budget),
                client,
                mux,
                read_ahead: Arc::new(tokio::sync::Semaphore::new(
                    ((cfg.part_read_ahead / 1024) as usize)
                        .min(tokio::sync::Semaphore::MAX_PERMITS),
                )),
                cfg,
                local_auth: AtomicBool::new(false),
            }),
        })
    }

    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn mux(&self) -> &Mux {
        &self.inner.mux
    }

    /// The read-ahead budget of multipart parts, in KiB permits.
    pub fn read_ahead(&self) -> &Arc<tokio::sync::Semaphore> {
        &self.inner.read_ahead
    }

    pub fn cfg(&self) -> &WorkerConfig {
        &self.inner.cfg
    }

    /// Request/reply to another role's endpoint with the request's context. The hop is
    /// a span whose id travels in `traceparent`, so the callee's spans hang under it.
    #[tracing::instrument(
        name = "nats.request",
        skip_all,
        fields(
            otel.kind = "client",
            otel.name = %format_args!("nats {}", endpoint.name()),
            role = %endpoint.role(),
            endpoint = endpoint.name(),
        )
    )]
    pub async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        ctx: &RequestContext,
        msg: &Req,
    ) -> Result<Resp, S3Error> {
        let payload = jetgate_protocol::encode(msg, &[]).map_err(S3Error::internal)?;
        let req = async_nats::Request::new()
            .headers(ctx.headers())
            .payload(payload)
            .timeout(Some(self.inner.cfg.call_timeout));
        let reply = match self
            .inner
            .client
            .send_request(endpoint.subject(), req)
            .await
        {
            Ok(m) => m,
            Err(e) if e.kind() == RequestErrorKind::NoResponders => {
                tracing::warn!(role = %endpoint.role(), "no responders for role");
                return Err(S3Error::new(
                    S3ErrorCode::ServiceUnavailable,
                    "Service is unavailable. Please retry.",
                ));
            }
            Err(e) if e.kind() == RequestErrorKind::TimedOut => {
                tracing::warn!(role = %endpoint.role(), "role did not answer in time");
                return Err(S3Error::new(
                    S3ErrorCode::ServiceUnavailable,
                    "Service is unavailable. Please retry.",
                ));
            }
            Err(e) => return Err(S3Error::internal(e)),
        };
        if let Some(err) = S3Error::from_service_error(reply.headers.as_ref()) {
            return Err(err);
        }
        jetgate_protocol::decode::<Resp>(&reply.payload)
            .map(|e| e.msg)
            .map_err(S3Error::internal)
    }

    /// Verify signatures in-process from now on: this process hosts the auth role, so a
    /// NATS round trip to it would only cost time (the verifier code is the same).
    pub fn set_local_auth(&self, on: bool) {
        self.inner.local_auth.store(on, Ordering::Relaxed);
    }

    fn local_auth(&self) -> bool {
        self.inner.local_auth.load(Ordering::Relaxed)
    }

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
        // The key's policy (buckets, prefixes, operations) applies to every endpoint.
        crate::auth::policy::enforce(&self.inner.store, &principal, &routed, &signed.query).await?;
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
        self.verify_signature(&inc.ctx, signed).await
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
        self.call(Endpoint::AuthVerify, ctx, &req).await
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
        self.call::<_, Ack>(Endpoint::AuthChunks, ctx, batch)
            .await
            .map(|_| ())
    }
}
