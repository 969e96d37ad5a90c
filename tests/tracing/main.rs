//! Contract 6, traces: with an OTLP endpoint configured, the spans of one S3 request
//! reach a real OTLP/HTTP receiver (protobuf decoded here) from the edge process and
//! the worker process, and form one tree that continues the caller's `traceparent`;
//! none of them carries a key, a secret or a signature.
//!
//! By concern: `receiver` (the OTLP/HTTP sink), `tree` (one trace per request, across
//! processes; the shutdown flush) and `secrets` (nothing secret is ever exported).

#[path = "../common/mod.rs"]
mod common;

mod receiver;
mod secrets;
mod tree;
