//! What every role handler shares: the NATS connection, the store, the inbox mux and
//! settings, plus calls to other roles. Authentication is a layer above (`authn`).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use async_nats::{Client, RequestErrorKind};
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::mux::Mux;
use jetgate_protocol::{Rpc, S3Error};

use crate::config::WorkerConfig;
use crate::store::Store;

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
    /// Where finished requests' usage records go (none: not recorded, e.g. in tests).
    usage: OnceLock<crate::usage::UsageSink>,
    /// State the roles keep (credential cache, uploads bucket, CORS cache), one value
    /// per type, made on first use: each role owns its type, the worker knows none.
    role_state: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
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
                usage: OnceLock::new(),
                role_state: Mutex::new(HashMap::new()),
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

    /// The role state of type `T` of this worker, made with `T::default()` on first use.
    pub fn role_state<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        let mut states = self
            .inner
            .role_state
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let state = states
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Arc::new(T::default()))
            .clone();
        // The entry for `TypeId::of::<T>()` always holds a `T`.
        state
            .downcast::<T>()
            .unwrap_or_else(|_| Arc::new(T::default()))
    }

    /// Request/reply to another role's endpoint with the request's context. The hop is
    /// a span whose id travels in `traceparent`, so the callee's spans hang under it.
    #[tracing::instrument(
        name = "nats.request",
        skip_all,
        fields(
            otel.kind = "client",
            otel.name = %format_args!("nats {}", R::ENDPOINT.name()),
            role = %R::ENDPOINT.role(),
            endpoint = R::ENDPOINT.name(),
        )
    )]
    pub async fn call<R: Rpc>(
        &self,
        ctx: &RequestContext,
        msg: &R::Op,
    ) -> Result<R::Reply, S3Error> {
        let endpoint = R::ENDPOINT;
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
                return Err(S3Error::service_unavailable());
            }
            Err(e) if e.kind() == RequestErrorKind::TimedOut => {
                tracing::warn!(role = %endpoint.role(), "role did not answer in time");
                return Err(S3Error::service_unavailable());
            }
            Err(e) => return Err(S3Error::internal(e)),
        };
        if let Some(err) = S3Error::from_service_error(reply.headers.as_ref()) {
            return Err(err);
        }
        jetgate_protocol::decode::<R::Reply>(&reply.payload)
            .map(|e| e.msg)
            .map_err(S3Error::internal)
    }

    /// Verify signatures in-process from now on: this process hosts the auth role, so a
    /// NATS round trip to it would only cost time (the verifier code is the same).
    pub fn set_local_auth(&self, on: bool) {
        self.inner.local_auth.store(on, Ordering::Relaxed);
    }

    /// Sends usage records of finished requests to `sink` from now on (set once).
    pub fn set_usage(&self, sink: crate::usage::UsageSink) {
        let _ = self.inner.usage.set(sink);
    }

    pub(crate) fn usage(&self) -> Option<&crate::usage::UsageSink> {
        self.inner.usage.get()
    }

    pub(crate) fn local_auth(&self) -> bool {
        self.inner.local_auth.load(Ordering::Relaxed)
    }
}
