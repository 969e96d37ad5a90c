//! POST Object at the edge: the form streams to the object role untouched (it parses
//! and checks it); the reply becomes S3's answer: 204 (default), 200, 201 with a
//! `PostResponse` document, or a 303 to `success_action_redirect`.

use axum::body::Body;
use axum::response::Response;
use http::header::{self, HeaderValue};
use http::StatusCode;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::messages::SignedRequest;
use jetgate_protocol::post::{PostObject, PostReply};
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use super::OpRequest;
use crate::call::ask;
use crate::encode::{self, xml::escape};
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let (signed, bucket, body) = (r.signed, r.bucket, r.body);
    let multipart = signed.header("content-type").is_some_and(|ct| {
        ct.trim_start()
            .to_ascii_lowercase()
            .starts_with("multipart/form-data")
    });
    if !multipart {
        return Err(S3Error::precondition_failed_with(
            "Bucket POST must be of the enclosure-type multipart/form-data",
        ));
    }
    let location_base = object_url_base(&signed, state.cfg.domain.as_deref(), &bucket);
    let op = PostObject { bucket };
    let reply: PostReply = ask::<rpc::PostObject>(state, ctx, signed, op, Some(body)).await?;
    Ok(response(&reply, &location_base, &ctx.request_id))
}

/// `scheme://host/bucket/` (path style) or `scheme://host/` (virtual-hosted style).
fn object_url_base(signed: &SignedRequest, domain: Option<&str>, bucket: &str) -> String {
    let scheme = signed.header("x-forwarded-proto").unwrap_or("http");
    let host = signed.header("host").unwrap_or("localhost");
    if domain.is_some() && signed.virtual_host_bucket.is_some() {
        format!("{scheme}://{host}/")
    } else {
        format!("{scheme}://{host}/{}/", encode_path(bucket))
    }
}

/// Percent-encodes a key for a URL path (keeps `/` and unreserved characters).
fn encode_path(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn query_encode(s: &str) -> String {
    encode_path(s).replace('/', "%2F")
}

fn response(reply: &PostReply, base: &str, request_id: &str) -> Response {
    let etag = format!("\"{}\"", reply.etag);
    let location = format!("{base}{}", encode_path(&reply.key));
    let mut resp = if let Some(redirect) = &reply.redirect {
        let sep = if redirect.contains('?') { '&' } else { '?' };
        let target = format!(
            "{redirect}{sep}bucket={}&key={}&etag={}",
            query_encode(&reply.bucket),
            query_encode(&reply.key),
            query_encode(&etag)
        );
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::SEE_OTHER;
        if let Ok(v) = HeaderValue::from_str(&target) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        r
    } else if reply.status == 201 {
        let body = format!(
            "{}<PostResponse><Location>{}</Location><Bucket>{}</Bucket><Key>{}</Key><ETag>{}</ETag></PostResponse>",
            encode::xml::DECLARATION,
            escape(&location),
            escape(&reply.bucket),
            escape(&reply.key),
            escape(&etag)
        );
        let mut r = encode::xml_response(body, request_id);
        *r.status_mut() = StatusCode::CREATED;
        r
    } else {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = if reply.status == 200 {
            StatusCode::OK
        } else {
            StatusCode::NO_CONTENT
        };
        r
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if reply.redirect.is_none() {
        if let Ok(v) = HeaderValue::from_str(&location) {
            h.insert(header::LOCATION, v);
        }
    }
    resp
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn reply(status: u16, redirect: Option<&str>) -> PostReply {
        PostReply {
            bucket: "b".into(),
            key: "dir/a b.txt".into(),
            etag: "abc".into(),
            status,
            redirect: redirect.map(str::to_string),
        }
    }

    #[test]
    fn answers_follow_success_action_fields() {
        let base = "http://h:9000/b/";
        let r = response(&reply(204, None), base, "rid");
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert_eq!(r.headers()[header::ETAG], "\"abc\"");
        assert_eq!(
            r.headers()[header::LOCATION],
            "http://h:9000/b/dir/a%20b.txt"
        );
        let r = response(&reply(201, None), base, "rid");
        assert_eq!(r.status(), StatusCode::CREATED);
        let r = response(&reply(204, Some("http://app/done?x=1")), base, "rid");
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            r.headers()[header::LOCATION],
            "http://app/done?x=1&bucket=b&key=dir%2Fa%20b.txt&etag=%22abc%22"
        );
    }
}
