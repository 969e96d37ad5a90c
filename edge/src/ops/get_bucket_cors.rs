//! GetBucketCors: `GET /bucket?cors`, the rules as a `CORSConfiguration` document.

use axum::response::Response;
use jetgate_protocol::cors::{CorsConfiguration, GetCorsReply};
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;
use std::fmt::Write;

use super::OpRequest;
use crate::call::ask;
use crate::encode::{self, xml::escape};
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let op = r.bucket_op();
    let reply: GetCorsReply = ask::<rpc::GetBucketCors>(state, ctx, r.signed, op, None).await?;
    Ok(encode::xml_response(
        configuration_xml(&reply.config),
        &ctx.request_id,
    ))
}

/// GetBucketCors body.
pub fn configuration_xml(cfg: &CorsConfiguration) -> String {
    let mut out = String::from(encode::xml::DECLARATION);
    out.push_str("<CORSConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for rule in &cfg.rules {
        out.push_str("<CORSRule>");
        if let Some(id) = &rule.id {
            let _ = write!(out, "<ID>{}</ID>", escape(id));
        }
        for (name, values) in [
            ("AllowedHeader", &rule.allowed_headers),
            ("AllowedMethod", &rule.allowed_methods),
            ("AllowedOrigin", &rule.allowed_origins),
            ("ExposeHeader", &rule.expose_headers),
        ] {
            for v in values {
                let _ = write!(out, "<{name}>{}</{name}>", escape(v));
            }
        }
        if let Some(age) = rule.max_age_seconds {
            let _ = write!(out, "<MaxAgeSeconds>{age}</MaxAgeSeconds>");
        }
        out.push_str("</CORSRule>");
    }
    out.push_str("</CORSConfiguration>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jetgate_protocol::cors::CorsRule;

    #[test]
    fn configuration_document() {
        let cfg = CorsConfiguration {
            rules: vec![CorsRule {
                id: Some("a&b".into()),
                allowed_origins: vec!["http://x.test".into()],
                allowed_methods: vec!["GET".into(), "PUT".into()],
                allowed_headers: vec!["*".into()],
                expose_headers: vec!["ETag".into()],
                max_age_seconds: Some(60),
            }],
        };
        let xml = configuration_xml(&cfg);
        assert!(xml.ends_with(
            "<CORSRule><ID>a&amp;b</ID><AllowedHeader>*</AllowedHeader><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedOrigin>http://x.test</AllowedOrigin><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>60</MaxAgeSeconds></CORSRule></CORSConfiguration>"
        ), "{xml}");
    }
}
