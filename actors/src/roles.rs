//! Each role is a ractor actor that owns its NATS micro service; a supervisor restarts a
//! role whose actor fails. Requests are handled on their own tasks so one slow request
//! never blocks the role, and a panicking handler still answers `InternalError`.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;

use async_nats::service::{Service, ServiceExt};
use futures::{FutureExt, StreamExt};
use jetgate_protocol::roles::SERVICE_VERSION;
use jetgate_protocol::stream::Heartbeat;
use jetgate_protocol::{Endpoint, Role, S3Error};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use tokio::task::JoinHandle;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::incoming::Incoming;
use crate::worker::Worker;

/// Messages of a role actor.
pub enum RoleMsg {
    /// A request taken from one of the role's endpoints.
    Serve(Box<async_nats::service::Request>, Endpoint),
    /// Stop taking requests, wait for those in flight, then reply.
    Drain(RpcReplyPort<()>),
}

pub struct RoleActor;

pub struct RoleState {
    role: Role,
    worker: Worker,
    service: Option<Service>,
    pumps: Vec<JoinHandle<()>>,
    tracker: TaskTracker,
}

impl Actor for RoleActor {
    type Msg = RoleMsg;
    type State = RoleState;
    type Arguments = (Role, Worker);

    async fn pre_start(
        &self,
        myself: ActorRef<RoleMsg>,
        (role, worker): (Role, Worker),
    ) -> Result<RoleState, ActorProcessingErr> {
        let metadata = HashMap::from([
            ("role".to_string(), role.as_str().to_string()),
            (
                "api".to_string(),
                jetgate_protocol::roles::API_VERSION.to_string(),
            ),
        ]);
        let service = worker
            .client()
            .service_builder()
            .description(role.description())
            .metadata(metadata)
            .start(role.service_name(), SERVICE_VERSION)
            .await?;
        let group = service.group(role.group());
        let mut pumps = Vec::new();
        for ep in role.endpoints() {
            let mut endpoint = group
                .endpoint_builder()
                .name(ep.name())
                .metadata(HashMap::from([("subject".to_string(), ep.subject())]))
                .add(ep.name())
                .await?;
            let me = myself.clone();
            pumps.push(tokio::spawn(async move {
                while let Some(req) = endpoint.next().await {
                    if me.cast(RoleMsg::Serve(Box::new(req), ep)).is_err() {
                        break;
                    }
                }
            }));
        }
        tracing::info!(role = %role, "role serving");
        Ok(RoleState {
            role,
            worker,
            service: Some(service),
            pumps,
            tracker: TaskTracker::new(),
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<RoleMsg>,
        msg: RoleMsg,
        state: &mut RoleState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            RoleMsg::Serve(req, ep) => {
                let worker = state.worker.clone();
                state.tracker.spawn(serve(worker, ep, *req));
            }
            RoleMsg::Drain(reply) => {
                for p in state.pumps.drain(..) {
                    p.abort();
                }
                if let Some(service) = state.service.take() {
                    let _ = service.stop().await;
                }
                state.tracker.close();
                state.tracker.wait().await;
                tracing::info!(role = %state.role, "role drained");
                let _ = reply.send(());
            }
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<RoleMsg>,
        state: &mut RoleState,
    ) -> Result<(), ActorProcessingErr> {
        for p in state.pumps.drain(..) {
            p.abort();
        }
        if let Some(service) = state.service.take() {
            let _ = service.stop().await;
        }
        Ok(())
    }
}

async fn serve(worker: Worker, ep: Endpoint, req: async_nats::service::Request) {
    let mut incoming = Incoming::new(ep, req);
    let span = tracing::info_span!(
        "worker.request",
        otel.kind = "server",
        otel.name = %format_args!("{} {}", ep.role(), ep.name()),
        otel.status_code = tracing::field::Empty,
        role = %ep.role(),
        endpoint = ep.name(),
        operation = ep.name(),
        worker_id = crate::trace::worker_id(),
        request_id = %incoming.ctx.request_id,
        trace_id = tracing::field::Empty,
        bucket = tracing::field::Empty,
        bytes = tracing::field::Empty,
        status = tracing::field::Empty,
        error_code = tracing::field::Empty,
    );
    // The sender's span (the edge's NATS hop, or another role) is this span's parent.
    let parent = incoming.traceparent();
    let fallback = incoming.ctx.trace.clone();
    incoming.ctx.trace = jetgate_protocol::otel::adopt(&span, parent.as_ref(), || fallback);
    span.record("trace_id", incoming.ctx.trace.trace_id.as_str());
    if !span.is_disabled() {
        let facts = crate::trace::Facts::of(incoming.payload());
        if let Some(b) = facts.bucket() {
            span.record("bucket", b);
        }
        if let Some(n) = facts.bytes() {
            span.record("bytes", n);
        }
    }
    let outcome = span.clone();
    async {
        // Long requests keep the edge informed that this worker is alive.
        let _hb = Heartbeat::start(
            worker.client().clone(),
            incoming.reply_subject(),
            worker.cfg().stream.heartbeat,
        );
        let started = std::time::Instant::now();
        let result = AssertUnwindSafe(crate::dispatch(&worker, &incoming))
            .catch_unwind()
            .await;
        // Every request ends here, so here its usage is recorded.
        match result {
            Ok(Ok(())) => {
                outcome.record("status", 200);
                crate::usage::finish(&worker, &incoming, Ok(()), started);
            }
            Ok(Err(e)) => {
                tracing::debug!(code = %e.code, "request failed: {}", e.message);
                record_error(&outcome, &e);
                incoming.fail(&e).await;
                crate::usage::finish(&worker, &incoming, Err(&e), started);
            }
            Err(_) => {
                let e = S3Error::internal("request handler panicked");
                record_error(&outcome, &e);
                incoming.fail(&e).await;
                crate::usage::finish(&worker, &incoming, Err(&e), started);
            }
        }
    }
    .instrument(span)
    .await
}

/// Puts an S3 error's status and code on the request span (5xx marks it failed).
fn record_error(span: &tracing::Span, e: &S3Error) {
    let status = e.code.status();
    span.record("status", status);
    span.record("error_code", e.code.as_str());
    if status >= 500 {
        span.record("otel.status_code", "error");
    }
}

/// Messages of the worker supervisor.
pub enum SupervisorMsg {
    /// Drain every role, then reply.
    Drain(RpcReplyPort<()>),
}

/// Starts and restarts the role actors of one worker process.
pub struct WorkerSupervisor;

pub struct SupervisorState {
    worker: Worker,
    roles: HashMap<Role, ActorRef<RoleMsg>>,
}

impl WorkerSupervisor {
    async fn start_role(
        myself: &ActorRef<SupervisorMsg>,
        worker: &Worker,
        role: Role,
    ) -> Result<ActorRef<RoleMsg>, ActorProcessingErr> {
        let (actor, _) =
            Actor::spawn_linked(None, RoleActor, (role, worker.clone()), myself.get_cell()).await?;
        Ok(actor)
    }
}

impl Actor for WorkerSupervisor {
    type Msg = SupervisorMsg;
    type State = SupervisorState;
    type Arguments = (Worker, Vec<Role>);

    async fn pre_start(
        &self,
        myself: ActorRef<SupervisorMsg>,
        (worker, roles): (Worker, Vec<Role>),
    ) -> Result<SupervisorState, ActorProcessingErr> {
        let mut started = HashMap::new();
        for role in roles {
            started.insert(role, Self::start_role(&myself, &worker, role).await?);
        }
        // Co-hosted auth role: the data roles verify in-process (same code, no hop).
        worker.set_local_auth(started.contains_key(&Role::Auth));
        Ok(SupervisorState {
            worker,
            roles: started,
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<SupervisorMsg>,
        msg: SupervisorMsg,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            SupervisorMsg::Drain(reply) => {
                for actor in state.roles.values() {
                    let _ = ractor::call!(actor, RoleMsg::Drain);
                }
                let _ = reply.send(());
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<SupervisorMsg>,
        evt: SupervisionEvent,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        if let SupervisionEvent::ActorFailed(cell, err) = evt {
            let failed = state
                .roles
                .iter()
                .find(|(_, a)| a.get_id() == cell.get_id())
                .map(|(r, _)| *r);
            if let Some(role) = failed {
                tracing::error!(role = %role, error = %err, "role actor failed; restarting it");
                let actor = Self::start_role(&myself, &state.worker, role).await?;
                state.roles.insert(role, actor);
            }
        }
        Ok(())
    }
}
