//! One request taken from a micro endpoint: decoding it, replying once, or failing as a
//! micro service error that carries the S3 code (so `nats micro stats` counts it).

use std::sync::atomic::{AtomicBool, Ordering};

use async_nats::service::Request;
use bytes::Bytes;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::messages::Call;
use jetgate_protocol::{Endpoint, Envelope, Rpc, S3Error};
use serde::de::DeserializeOwned;

pub struct Incoming {
    pub ctx: RequestContext,
    pub endpoint: Endpoint,
    request: Request,
    replied: AtomicBool,
    /// Who signed, bytes and status, for the request's usage record.
    pub(crate) usage: crate::usage::RequestUsage,
}

impl Incoming {
    pub fn new(endpoint: Endpoint, request: Request) -> Self {
        Incoming {
            ctx: RequestContext::from_headers(request.message.headers.as_ref()),
            endpoint,
            request,
            replied: AtomicBool::new(false),
            usage: Default::default(),
        }
    }

    /// The `traceparent` the sender put in the request headers, if any and valid.
    pub fn traceparent(&self) -> Option<jetgate_protocol::headers::TraceParent> {
        self.request
            .message
            .headers
            .as_ref()
            .and_then(|h| h.get(jetgate_protocol::headers::TRACEPARENT))
            .and_then(|v| jetgate_protocol::headers::TraceParent::parse(v.as_str()))
    }

    /// Subject the reply goes to (the edge's route), for heartbeats.
    pub fn reply_subject(&self) -> Option<String> {
        self.request.message.reply.as_ref().map(|s| s.to_string())
    }

    pub fn payload(&self) -> &Bytes {
        &self.request.message.payload
    }

    /// Decodes a data endpoint's call; a malformed one is the sender's bug, not the S3
    /// client's.
    pub fn call<R: Rpc>(&self) -> Result<Envelope<Call<R::Op>>, S3Error> {
        self.expect::<R>()?;
        self.decode()
    }

    /// Decodes an auth endpoint's message (not wrapped in a `Call`).
    pub fn message<R: Rpc>(&self) -> Result<Envelope<R::Op>, S3Error> {
        self.expect::<R>()?;
        self.decode()
    }

    /// A handler decoding another endpoint's message is a dispatch bug.
    fn expect<R: Rpc>(&self) -> Result<(), S3Error> {
        if self.endpoint != R::ENDPOINT {
            return Err(S3Error::internal(format!(
                "{:?} handled as {:?}",
                self.endpoint,
                R::ENDPOINT
            )));
        }
        Ok(())
    }

    fn decode<T: DeserializeOwned>(&self) -> Result<Envelope<T>, S3Error> {
        jetgate_protocol::decode(&self.request.message.payload).map_err(|e| {
            tracing::warn!(error = %e, endpoint = ?self.endpoint, "malformed request message");
            S3Error::invalid_request("Malformed request")
        })
    }

    /// Answers an `R` call with its reply and response body bytes.
    pub async fn reply<R: Rpc>(&self, msg: &R::Reply, body: &[u8]) -> Result<(), S3Error> {
        let payload = jetgate_protocol::encode(msg, body).map_err(S3Error::internal)?;
        self.replied.store(true, Ordering::SeqCst);
        self.request
            .respond(Ok(payload))
            .await
            .map_err(S3Error::internal)?;
        self.usage.add_out(body.len() as u64);
        Ok(())
    }

    /// Answers with an S3 error, unless a reply already went out.
    pub async fn fail(&self, err: &S3Error) {
        if self.replied.swap(true, Ordering::SeqCst) {
            tracing::debug!(code = %err.code, "error after reply: {}", err.message);
            return;
        }
        let (svc, headers) = err.to_service_error();
        if let Err(e) = self.request.respond_with_headers(Err(svc), headers).await {
            tracing::warn!(error = %e, "could not send error reply");
        }
    }
}
