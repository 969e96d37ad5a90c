//! jetgate worker roles: auth verifier, listing, multipart assembler and object I/O,
//! each a ractor actor behind a NATS micro service endpoint.

pub mod auth;
pub mod payload;
