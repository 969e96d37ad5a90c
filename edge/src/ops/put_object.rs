//! PutObject: `PUT /bucket/key` with the object as body.

use axum::response::Response;
use http::header::{self, HeaderValue};
use http::HeaderMap;
use http::StatusCode;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::messages::{PutObject, PutReply};
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use super::{status_only, OpRequest};
use crate::call::ask;
use crate::decode::{object_headers, refuse_unsupported};
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let op = put_object(&r.bucket, &r.key, &r.headers)?;
    let reply: PutReply = ask::<rpc::PutObject>(state, ctx, r.signed, op, Some(r.body)).await?;
    let mut resp = status_only(StatusCode::OK);
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", reply.etag)) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    if let Some((name, value)) = reply.checksum {
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            resp.headers_mut().insert(n, v);
        }
    }
    Ok(resp)
}

/// PutObject. Its conditions (`If-None-Match`, `If-Match`) are read by the worker from
/// the signed request (`WriteCondition`).
pub fn put_object(bucket: &str, key: &str, h: &HeaderMap) -> Result<PutObject, S3Error> {
    refuse_unsupported(h)?;
    Ok(PutObject {
        bucket: bucket.to_string(),
        key: key.to_string(),
        headers: object_headers(h)?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may panic on what they set up
mod tests {
    use jetgate_protocol::S3ErrorCode;

    use super::*;
    use crate::test_support::{code, headers};

    #[test]
    fn put_object_request() {
        let p = put_object("b-1", "k", &headers(&[("content-type", "image/png")])).unwrap();
        assert_eq!(p.headers.content_type.as_deref(), Some("image/png"));
        // Conditions are the worker's to read from the signed request (WriteCondition).
        assert!(put_object("b-1", "k", &headers(&[("if-match", "\"abc\"")])).is_ok());
        // Tags are checked and stored by the object role (it reads the signed headers).
        assert!(put_object("b-1", "k", &headers(&[("x-amz-tagging", "a=b")])).is_ok());
        for h in [
            [("x-amz-website-redirect-location", "/a")],
            [("x-amz-server-side-encryption-customer-algorithm", "AES256")],
        ] {
            assert_eq!(
                code(put_object("b-1", "k", &headers(&h))),
                S3ErrorCode::NotImplemented,
                "{h:?}"
            );
        }
    }
}
