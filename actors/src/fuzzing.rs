//! Entry points for the cargo-fuzz targets in `fuzz/` (feature `fuzzing`, off in every
//! build that ships): each parser a peer's bytes reach before any signature or policy
//! says they may. A target passes when these return (an S3 error is fine) and never
//! panic, overflow or loop.

use bytes::Bytes;
use jetgate_protocol::acl::{check_acl_call, refuse_grants};
use jetgate_protocol::messages::SignedRequest;
use jetgate_protocol::query::{percent_decode, query_pairs};
use jetgate_protocol::route::{copy_source, route_signed};
use jetgate_protocol::shape;
use jetgate_protocol::write_condition::WriteCondition;

/// The route table and what is read from a routed request: operation, policy accesses,
/// write conditions, copy source, ACL headers, and a GET's range, conditions, part
/// number and overrides.
pub fn route(signed: &SignedRequest) {
    let query = query_pairs(&signed.query);
    let _ = shape::get_object("b", "k", false, signed, &query);
    let _ = shape::copy_source_range(signed);
    let _ = percent_decode(&signed.path, false);
    let _ = percent_decode(&signed.query, true);
    let _ = WriteCondition::of_write(signed);
    let _ = WriteCondition::of_delete(signed);
    if let Some(v) = signed.header("x-amz-copy-source") {
        let _ = copy_source(v);
    }
    if let Ok(routed) = route_signed(signed) {
        let _ = routed.accesses();
        let _ = routed.resource();
        let _ = refuse_grants(routed.op, signed);
        let _ = check_acl_call(routed.op, signed);
    }
}

/// The XML bodies workers parse: CompleteMultipartUpload, DeleteObjects, tagging, CORS.
pub fn xml_bodies(data: &[u8]) {
    let _ = crate::multipart::plan::parse_complete(data);
    let _ = crate::object::delete::parse_delete(data);
    let _ = crate::object::tagging::parse_tag_set(data);
    let _ = crate::cors::xml::parse(data);
}

/// What the auth role reads from a request before it knows the signer: SigV4 headers
/// and presigned queries, SigV2, and a POST policy document.
pub fn auth_request(req: &SignedRequest) {
    let _ = crate::auth::sigv4::parse(req);
    if crate::auth::sigv2::is_sigv2(req) {
        let _ = crate::auth::sigv2::parse(req);
    }
    let _ = crate::post_policy::decode(&req.query);
}

/// An `aws-chunked` body cut into `pieces` as the network might deliver it.
pub fn aws_chunked(signed: bool, trailer_expected: bool, pieces: &[Vec<u8>]) {
    let mut decoder = crate::payload::chunked::ChunkedDecoder::new(signed, trailer_expected);
    let mut out = Vec::new();
    for p in pieces {
        if decoder.push(Bytes::copy_from_slice(p), &mut out).is_err() {
            return;
        }
        out.clear();
    }
    let _ = decoder.finish(&mut out);
}
