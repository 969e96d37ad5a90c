//! CompleteMultipartUpload: `POST /bucket/key?uploadId=…`. Errors found while the
//! worker validates the request come back with their own status. Once the worker has claimed the upload it
//! answers `pending`. A Complete that settles within [`QUICK_COMPLETE`] still answers
//! with its own status (a lost `If-None-Match: *` race is a 412, as S3 answers it);
//! a longer one makes the edge start `200 OK`, send the XML declaration, a space for
//! every worker heartbeat (so clients and proxies do not time out, as S3 does), and
//! finally the result or an `<Error>` document.

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::header::{self, HeaderValue};
use jetgate_protocol::attributes::checksum_type;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::multipart::{CompleteFinal, CompleteResult, CompleteUpload};
use jetgate_protocol::mux::Route;
use jetgate_protocol::rpc;
use jetgate_protocol::stream::{classify, Frame};
use jetgate_protocol::S3Error;
use std::io;
use std::time::{Duration, Instant};

use super::OpRequest;
use crate::call::call;
use crate::encode;
use crate::encode::xml::{elem, DECLARATION, NS};
use crate::multipart::upload_id;
use crate::EdgeState;

/// How long the edge waits for a pending Complete before it commits to `200 OK`.
const QUICK_COMPLETE: Duration = Duration::from_secs(2);

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let query = &r.query;
    let upload_id = upload_id(query)?;
    let (signed, body, bucket, key) = (r.signed, r.body, r.bucket, r.key);
    // The early answer needs the reply route, which call() keeps only for bodies that
    // travel inline: ask for it when the document is that small (it nearly always is).
    let small = signed
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n < state.cfg.inline_body_limit);
    let resource = format!("/{bucket}/{key}");
    let op = CompleteUpload {
        bucket,
        key,
        upload_id,
    };
    let r = call::<rpc::CompleteUpload>(state, ctx, signed, op, Some(body), small).await?;
    let (reply, _) = r.decode()?;
    if !reply.pending {
        let Some(result) = reply.result else {
            return Err(S3Error::internal("Complete answered without a result"));
        };
        return Ok(encode::xml_response(
            complete(&result, &resource),
            &ctx.request_id,
        ));
    }
    let Some(mut route) = r.route else {
        return Err(S3Error::internal("pending Complete without a route"));
    };
    let quick = Instant::now() + QUICK_COMPLETE;
    loop {
        let left = quick.saturating_duration_since(Instant::now());
        let Some(msg) = route.recv_timeout(left).await else {
            break;
        };
        if route.kind_of(&msg) == "d" {
            return quick_final(&msg.payload, &resource, &ctx.request_id);
        }
    }
    let idle = state.cfg.stream.idle_timeout;
    let rid = ctx.request_id.clone();
    let stream = futures::stream::unfold(Phase::Start(route), move |phase| {
        let resource = resource.clone();
        let rid = rid.clone();
        async move {
            match phase {
                Phase::Start(route) => Some((
                    Ok::<_, io::Error>(Bytes::from_static(declaration().as_bytes())),
                    Phase::Wait(route),
                )),
                Phase::Wait(mut route) => loop {
                    let Some(msg) = route.recv_timeout(idle).await else {
                        tracing::warn!("worker went silent during Complete");
                        return Some((Err(io::Error::other("worker went silent")), Phase::Done));
                    };
                    if route.kind_of(&msg) == "d" {
                        return Some((Ok(final_doc(&msg.payload, &resource, &rid)), Phase::Done));
                    }
                    if matches!(classify(&msg), Frame::Heartbeat) {
                        return Some((Ok(Bytes::from_static(b" ")), Phase::Wait(route)));
                    }
                },
                Phase::Done => None,
            }
        }
    });
    let mut resp = Response::new(Body::from_stream(stream));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    Ok(resp)
}

enum Phase {
    Start(Route),
    Wait(Route),
    Done,
}

/// The answer of a Complete that settled within the grace: the result, or the error
/// with its own status.
fn quick_final(payload: &Bytes, resource: &str, rid: &str) -> Result<Response, S3Error> {
    let fin = jetgate_protocol::decode::<CompleteFinal>(payload)
        .map_err(S3Error::internal)?
        .msg;
    match (fin.result, fin.error) {
        (Some(r), _) => Ok(encode::xml_response(complete(&r, resource), rid)),
        (None, Some(e)) => Err(S3Error::from_wire(&e.code, e.status, e.message)),
        (None, None) => Err(S3Error::internal("Complete answered without a result")),
    }
}

fn final_doc(payload: &Bytes, resource: &str, rid: &str) -> Bytes {
    let text = match jetgate_protocol::decode::<CompleteFinal>(payload) {
        Ok(env) => match (env.msg.result, env.msg.error) {
            (Some(r), _) => complete_body(&r, resource),
            (None, Some(e)) => error_body(&e.code, &e.message, resource, rid),
            (None, None) => error_body(
                "InternalError",
                "We encountered an internal error. Please try again.",
                resource,
                rid,
            ),
        },
        Err(e) => {
            tracing::warn!(error = %e, "malformed Complete result");
            error_body(
                "InternalError",
                "We encountered an internal error. Please try again.",
                resource,
                rid,
            )
        }
    };
    Bytes::from(text)
}

/// `CompleteMultipartUploadResult` without the XML declaration (a streamed answer
/// sends the declaration first).
pub fn complete_body(r: &CompleteResult, location: &str) -> String {
    let mut out = format!("<CompleteMultipartUploadResult xmlns=\"{NS}\">");
    elem(&mut out, "Location", location);
    elem(&mut out, "Bucket", &r.bucket);
    elem(&mut out, "Key", &r.key);
    elem(&mut out, "ETag", &format!("\"{}\"", r.etag));
    if let Some((algo, value)) = &r.checksum {
        elem(&mut out, &format!("Checksum{algo}"), value);
        elem(&mut out, "ChecksumType", checksum_type(value));
    }
    out.push_str("</CompleteMultipartUploadResult>");
    out
}

/// `CompleteMultipartUploadResult` with the XML declaration.
pub fn complete(r: &CompleteResult, location: &str) -> String {
    format!("{DECLARATION}{}", complete_body(r, location))
}

/// An `<Error>` document without the declaration, for a streamed Complete.
pub fn error_body(code: &str, message: &str, resource: &str, request_id: &str) -> String {
    let full = crate::encode::xml::error(code, message, resource, request_id);
    full.strip_prefix(DECLARATION).unwrap_or(&full).to_string()
}

pub fn declaration() -> &'static str {
    DECLARATION
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_documents() {
        let c = CompleteResult {
            bucket: "b".into(),
            key: "k".into(),
            etag: "abc-2".into(),
            checksum: None,
        };
        assert_eq!(
            complete(&c, "/b/k"),
            format!("{DECLARATION}<CompleteMultipartUploadResult xmlns=\"{NS}\"><Location>/b/k</Location><Bucket>b</Bucket><Key>k</Key><ETag>&quot;abc-2&quot;</ETag></CompleteMultipartUploadResult>")
        );
        let c = CompleteResult {
            checksum: Some(("CRC32".into(), "AAAAAA==-2".into())),
            ..c
        };
        assert!(complete(&c, "/b/k").ends_with(
            "<ETag>&quot;abc-2&quot;</ETag><ChecksumCRC32>AAAAAA==-2</ChecksumCRC32><ChecksumType>COMPOSITE</ChecksumType></CompleteMultipartUploadResult>"
        ));
        assert!(
            error_body("InvalidPart", "m", "/b/k", "id").starts_with("<Error><Code>InvalidPart")
        );
    }
}
