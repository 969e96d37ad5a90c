//! jetgate edge: a stateless axum server that turns S3 requests into NATS calls.

pub mod decode;
pub mod encode;
pub mod router;
