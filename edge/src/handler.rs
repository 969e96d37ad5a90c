//! The S3 fallback handler: route, decode into a protocol call, send it, encode the reply.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::header::{self, HeaderValue};
use http::{Method, StatusCode};
use jetgate_protocol::acl::{AclReply, ObjectAcl};
use jetgate_protocol::headers::{new_request_id, RequestContext, TraceParent};
use jetgate_protocol::messages::{
    BodyOut, BucketOp, CopyReply, DeleteObject, DeleteObjectsReply, ListBuckets, ListBucketsReply,
    ListObjectsReply, LocationReply, PutReply, SignedRequest,
};
use jetgate_protocol::rpc;
use jetgate_protocol::stream::BodyReceiver;
use jetgate_protocol::{S3Error, S3ErrorCode};
use std::sync::Arc;
use tracing::Instrument;

use crate::call::{ask, call, Reply};
use crate::decode;
use crate::encode::{self, xml};
use crate::EdgeState;
use jetgate_protocol::route::{route, Operation, Routed};

pub async fn s3(State(state): State<Arc<EdgeState>>, req: Request) -> Response {
    // A caller's traceparent (Traefik, an instrumented client) continues its trace.
    let incoming = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(TraceParent::parse);
    let request_id = new_request_id();
    let span = tracing::info_span!(
        "s3.request",
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        method = %req.method(),
        operation = tracing::field::Empty,
        bucket = tracing::field::Empty,
        request_id = %request_id,
        trace_id = tracing::field::Empty,
        status = tracing::field::Empty,
        bytes_in = tracing::field::Empty,
        bytes_out = tracing::field::Empty,
    );
    let trace = jetgate_protocol::otel::adopt(&span, incoming.as_ref(), || {
        incoming
            .as_ref()
            .map(TraceParent::child)
            .unwrap_or_else(TraceParent::new_root)
    });
    span.record("trace_id", trace.trace_id.as_str());
    let ctx = RequestContext { request_id, trace };
    async move {
        let started = std::time::Instant::now();
        let inflight = metrics::gauge!("jetgate_edge_inflight_requests");
        inflight.increment(1.0);
        // aws-chunked uploads (aws CLI, boto3 over HTTPS) may come without Content-Length.
        let bytes_in = ["x-amz-decoded-content-length", "content-length"]
            .iter()
            .find_map(|h| req.headers().get(*h))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        let mut operation = "unknown";
        let head = req.method() == Method::HEAD;
        let path = req.uri().path().to_string();
        let mut resp = match route(
            req.method(),
            req.uri().path(),
            req.uri().query().unwrap_or(""),
            req.headers(),
            state.cfg.domain.as_deref(),
        ) {
            Err(e) if e.code == S3ErrorCode::NotImplemented => {
                let signed = signed_request(&req, state.cfg.domain.as_deref());
                let e = crate::features::refused(&state, &ctx, signed).await;
                encode::error_response(&e, &path, &ctx.request_id, head)
            }
            Err(e) => encode::error_response(&e, &path, &ctx.request_id, head),
            Ok(routed) => {
                let span = tracing::Span::current();
                span.record("operation", routed.op.name());
                operation = routed.op.name();
                if let Some(b) = &routed.bucket {
                    span.record("bucket", b.as_str());
                }
                let resource = routed.resource();
                // Browser requests (with Origin) get the bucket's CORS headers.
                let cors = crate::cors::Pending::start(
                    &state,
                    &ctx,
                    &routed,
                    req.headers(),
                    req.method(),
                );
                let mut resp = match handle(&state, &ctx, routed, req).await {
                    Ok(r) => r,
                    Err(e) => encode::error_response(&e, &resource, &ctx.request_id, head),
                };
                cors.apply(&mut resp).await;
                resp
            }
        };
        if let Ok(id) = HeaderValue::from_str(&ctx.request_id) {
            resp.headers_mut().insert(encode::REQUEST_ID, id);
        }
        resp.headers_mut()
            .insert(header::SERVER, HeaderValue::from_static("jetgate"));
        let status = resp.status().as_u16();
        let span = tracing::Span::current();
        span.record("status", status);
        span.record("bytes_in", bytes_in);
        if status >= 500 {
            span.record("otel.status_code", "error");
        }
        inflight.decrement(1.0);
        let bytes_out = resp
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        metrics::counter!("jetgate_edge_requests_total", "operation" => operation, "status" => status.to_string())
            .increment(1);
        metrics::histogram!("jetgate_edge_request_duration_seconds", "operation" => operation)
            .record(started.elapsed().as_secs_f64());
        metrics::counter!("jetgate_edge_bytes_in_total", "operation" => operation).increment(bytes_in);
        if !head {
            metrics::counter!("jetgate_edge_bytes_out_total", "operation" => operation).increment(bytes_out);
            span.record("bytes_out", bytes_out);
        }
        tracing::debug!("answered");
        resp
    }
    .instrument(span)
    .await
}

fn signed_request(req: &Request, domain: Option<&str>) -> SignedRequest {
    SignedRequest {
        virtual_host_bucket: jetgate_protocol::route::virtual_host_bucket(req.headers(), domain),
        method: req.method().as_str().to_string(),
        path: req.uri().path().to_string(),
        query: req.uri().query().unwrap_or("").to_string(),
        headers: req
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
    }
}

fn status_only(status: StatusCode) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    r
}

async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    routed: Routed,
    req: Request,
) -> Result<Response, S3Error> {
    let signed = signed_request(&req, state.cfg.domain.as_deref());
    let query = decode::query_pairs(req.uri().query().unwrap_or(""));
    let bucket = routed.bucket.clone().unwrap_or_default();
    let key = routed.key.clone().unwrap_or_default();
    let bucket_op = || BucketOp {
        bucket: bucket.clone(),
    };
    let rid = ctx.request_id.as_str();
    let (parts, body) = req.into_parts();
    let h = &parts.headers;
    match routed.op {
        Operation::ListBuckets => {
            let reply: ListBucketsReply =
                ask::<rpc::ListBuckets>(state, ctx, signed, ListBuckets {}, None).await?;
            Ok(encode::xml_response(xml::list_buckets(&reply), rid))
        }
        Operation::CreateBucket => {
            ask::<rpc::CreateBucket>(state, ctx, signed, bucket_op(), Some(body)).await?;
            let mut resp = status_only(StatusCode::OK);
            if let Ok(v) = HeaderValue::from_str(&format!("/{bucket}")) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            Ok(resp)
        }
        Operation::DeleteBucket => {
            ask::<rpc::DeleteBucket>(state, ctx, signed, bucket_op(), None).await?;
            Ok(status_only(StatusCode::NO_CONTENT))
        }
        Operation::HeadBucket => {
            ask::<rpc::HeadBucket>(state, ctx, signed, bucket_op(), None).await?;
            let mut resp = status_only(StatusCode::OK);
            if let Ok(v) = HeaderValue::from_str(&state.cfg.region) {
                resp.headers_mut().insert("x-amz-bucket-region", v);
            }
            Ok(resp)
        }
        Operation::GetBucketLocation => {
            let reply: LocationReply =
                ask::<rpc::GetBucketLocation>(state, ctx, signed, bucket_op(), None).await?;
            Ok(encode::xml_response(xml::location(&reply), rid))
        }
        Operation::ListObjects { v2 } => {
            let (op, url) = decode::list_objects(&bucket, &query, v2)?;
            let fetch_owner = !v2 || op.fetch_owner;
            let reply: ListObjectsReply =
                ask::<rpc::ListObjects>(state, ctx, signed, op, None).await?;
            Ok(encode::xml_response(
                xml::list_objects(&reply, url, fetch_owner),
                rid,
            ))
        }
        Operation::PutObject => {
            let op = decode::put_object(&bucket, &key, h)?;
            let reply: PutReply = ask::<rpc::PutObject>(state, ctx, signed, op, Some(body)).await?;
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
        Operation::CopyObject => {
            let op = decode::copy_object(&bucket, &key, h)?;
            let reply: CopyReply = ask::<rpc::CopyObject>(state, ctx, signed, op, None).await?;
            Ok(encode::xml_response(xml::copy_object(&reply), rid))
        }
        Operation::GetObject | Operation::HeadObject => {
            let head = routed.op == Operation::HeadObject;
            let op = decode::get_object(&bucket, &key, head, &decode::Http(h), &query)?;
            let r = call::<rpc::GetObject>(state, ctx, signed, op, None, !head).await?;
            object_response(state, r)
        }
        Operation::DeleteObject => {
            let op = DeleteObject { bucket, key };
            ask::<rpc::DeleteObject>(state, ctx, signed, op, None).await?;
            Ok(status_only(StatusCode::NO_CONTENT))
        }
        Operation::DeleteObjects => {
            let reply: DeleteObjectsReply =
                ask::<rpc::DeleteObjects>(state, ctx, signed, bucket_op(), Some(body)).await?;
            Ok(encode::xml_response(xml::delete_objects(&reply), rid))
        }
        Operation::Cors(action) => {
            crate::cors::handle(state, ctx, action, signed, bucket, body).await
        }
        Operation::PostObject => crate::post_object::handle(state, ctx, signed, bucket, body).await,
        Operation::Acl { object, put } => {
            let reply: AclReply = if object {
                let op = ObjectAcl { bucket, key };
                ask::<rpc::ObjectAcl>(state, ctx, signed, op, None).await?
            } else {
                ask::<rpc::BucketAcl>(state, ctx, signed, bucket_op(), None).await?
            };
            if put {
                Ok(status_only(StatusCode::OK))
            } else {
                Ok(encode::xml_response(xml::acl(&reply.owner), rid))
            }
        }
        Operation::BucketConfig(config, _) => {
            crate::features::bucket_config(state, ctx, signed, bucket, config).await
        }
        Operation::Multipart(action) => {
            let req = crate::multipart::MultipartRequest {
                signed,
                routed: &routed,
                action,
                body,
            };
            crate::multipart::handle(state, ctx, req).await
        }
        Operation::Feature(action) => {
            let req = crate::features::FeatureRequest {
                signed,
                routed: &routed,
                action,
                query: &query,
                headers: h,
                body,
            };
            crate::features::handle(state, ctx, req).await
        }
    }
}

/// GET/HEAD: headers from the object's attributes, the body inline or streamed.
fn object_response(state: &EdgeState, r: Reply<rpc::GetObject>) -> Result<Response, S3Error> {
    let (reply, inline) = r.decode()?;
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    let body = match reply.body {
        BodyOut::None => Body::empty(),
        BodyOut::Inline => Body::from(inline),
        BodyOut::Stream => {
            let Some(route) = r.route else {
                return Err(S3Error::internal("streamed reply without a route"));
            };
            let rx = BodyReceiver::new(route, None, 0, r.granted, state.cfg.stream.clone());
            let stream = futures::stream::unfold(rx, |mut rx| async move {
                match rx.next().await {
                    Ok(Some(b)) => Some((Ok::<_, std::io::Error>(b), rx)),
                    Ok(None) => None,
                    Err(e) => {
                        tracing::info!(error = %e, "download stream broke");
                        Some((Err(std::io::Error::other(e.to_string())), rx))
                    }
                }
            });
            Body::from_stream(stream)
        }
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let hm = resp.headers_mut();
    for (n, v) in encode::object_headers_out(&reply.attrs, &reply.overrides) {
        hm.insert(n, v);
    }
    if status != StatusCode::NOT_MODIFIED {
        hm.insert(
            header::CONTENT_LENGTH,
            HeaderValue::from(reply.content_length),
        );
    }
    if let Some((a, b, total)) = reply.content_range {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {a}-{b}/{total}")) {
            hm.insert(header::CONTENT_RANGE, v);
        }
    }
    Ok(resp.into_response())
}

#[cfg(test)]
#[path = "handler/route_props.rs"]
mod route_props;
