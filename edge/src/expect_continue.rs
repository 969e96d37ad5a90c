//! `Expect: 100-continue` with a body the edge never reads.
//!
//! botocore (boto3, the aws CLI) sends `Expect: 100-continue` on every PUT with a body,
//! an empty one included. hyper sends `100 Continue` only when the body is read, so an
//! empty body (or a request refused before its body is read) gets the final response
//! straight away. That is allowed (RFC 9110 §10.1.1), but botocore then keeps that
//! response's status line for the next request on the same connection, which never
//! sees its answer (a read timeout: `aws s3 sync` of a tree with an empty file hangs).
//! Closing such a connection after the response avoids it; botocore opens a new one.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::header::{HeaderValue, CONNECTION, CONTENT_LENGTH, EXPECT};
use http::HeaderMap;

/// The layer: closes the connection after the answer when [`finish`] says so.
pub async fn layer(req: Request, next: Next) -> Response {
    let continues = req.headers().contains_key(EXPECT);
    let empty = empty_body_expects_continue(req.headers());
    let mut resp = next.run(req).await;
    finish(empty, continues, &mut resp);
    resp
}

/// True when the request expects `100 Continue` but has no body to send.
pub fn empty_body_expects_continue(h: &HeaderMap) -> bool {
    let expects = h
        .get(EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    let empty = h
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "0");
    expects && empty
}

/// Asks the client to close the connection after `resp` when `expects` (see above) or
/// when a request expecting `100 Continue` was refused (its body maybe never read).
pub fn finish(expects: bool, refused: bool, resp: &mut Response) {
    if expects || (refused && resp.status().as_u16() >= 400) {
        resp.headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::headers;

    #[test]
    fn only_empty_bodies_with_expect() {
        assert!(empty_body_expects_continue(&headers(&[
            ("expect", "100-Continue"),
            ("content-length", "0"),
        ])));
        assert!(!empty_body_expects_continue(&headers(&[
            ("expect", "100-continue"),
            ("content-length", "1"),
        ])));
        assert!(!empty_body_expects_continue(&headers(&[(
            "content-length",
            "0"
        )])));
    }
}
