//! The pure parts of object tagging, GetObjectAttributes and the versioning probes the
//! operations in `ops/` (`get_object_tagging.rs`, `get_object_attributes.rs`,
//! `list_object_versions.rs`, ...) share: request decoding (`features/decode.rs`) and
//! XML (`features/xml.rs`).

mod decode;
pub mod xml;

pub use decode::{object_attributes, object_attributes_call, object_versions, Attribute};
