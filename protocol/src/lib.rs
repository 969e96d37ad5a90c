//! Everything the jetgate edge and workers agree on: roles and subjects, wire messages,
//! the body-stream framing with credit-based flow control, S3 error codes and the
//! request-id / trace-context headers. Nothing here talks to the network except through
//! `async-nats` handles passed in by the caller.

pub mod access;
pub mod acl;
pub mod attributes;
pub mod bucket_config;
pub mod cors;
pub mod direct;
pub mod envelope;
pub mod error;
pub mod headers;
pub mod messages;
pub mod multipart;
pub mod mux;
pub mod names;
pub mod otel;
pub mod policy;
pub mod post;
pub mod query;
pub mod roles;
pub mod route;
pub mod shape;
pub mod stream;
pub mod sts;
pub mod tagging;
pub mod traceparent;
pub mod write_condition;

pub use envelope::{decode, encode, Envelope, EnvelopeError};
pub use error::{S3Error, S3ErrorCode};
pub use messages::{ChunkBatch, ChunkContext, ChunkSig, SignedRequest};
pub use roles::{rpc, Endpoint, Role, Rpc};
