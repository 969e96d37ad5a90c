//! Auth verifier role: SigV4 verification against credentials held in NATS KV.

pub mod sigv4;
