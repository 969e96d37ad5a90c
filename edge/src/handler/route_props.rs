//! Policy × routing property: for generated requests (percent-encoded and duplicated
//! query names, `+`/`%2B`/`%20` in paths, both URL styles, trailing slashes, copy
//! sources), the edge's reading of the HTTP request, the worker's reading of the signed
//! request the edge forwards, and the policy's accesses all name the same operation,
//! bucket, key, copy source and listing prefix.

use axum::body::Body;
use axum::extract::Request;
use jetgate_protocol::policy::Target;
use jetgate_protocol::route::{route, route_signed};
use proptest::prelude::*;

use crate::ops::signed_request;

const DOMAIN: &str = "s3.example.test";

/// A query name, sometimes with one letter percent-encoded (`%64elete`).
fn name(n: &'static str) -> impl Strategy<Value = String> {
    (any::<bool>(), 0..n.len().max(1)).prop_map(move |(encode, at)| {
        if !encode || n.is_empty() {
            return n.to_string();
        }
        n.char_indices()
            .map(|(i, c)| {
                if i == at {
                    format!("%{:02X}", c as u32)
                } else {
                    c.to_string()
                }
            })
            .collect()
    })
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("a%2F".to_string()),
        Just("a/".to_string()),
        Just("b+c".to_string()),
        Just("2".to_string()),
        Just("1".to_string()),
        Just("x%20y".to_string()),
    ]
}

fn query() -> impl Strategy<Value = String> {
    let names = prop_oneof![
        name("prefix"),
        name("delete"),
        name("uploads"),
        name("uploadId"),
        name("partNumber"),
        name("list-type"),
        name("tagging"),
        name("cors"),
        name("acl"),
        name("location"),
        name("versions"),
        name("attributes"),
        name("delimiter"),
        name("marker"),
        name("x-id"),
    ];
    prop::collection::vec((names, prop::option::of(value())), 0..4).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(n, v)| match v {
                Some(v) => format!("{n}={v}"),
                None => n,
            })
            .collect::<Vec<_>>()
            .join("&")
    })
}

fn key() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("a"),
        Just("b+c"),
        Just("b%2Bc"),
        Just("d%20e"),
        Just("f%2Fg"),
        Just("/"),
        Just("%2F"),
        Just("h.i"),
        Just("%E2%82%AC"),
    ];
    prop::collection::vec(piece, 0..4).prop_map(|p| p.concat())
}

prop_compose! {
    fn request()(
        method in prop_oneof![Just("GET"), Just("PUT"), Just("POST"), Just("DELETE"), Just("HEAD")],
        bucket in prop_oneof![Just("bkt"), Just("team-a"), Just("")],
        vhost in any::<bool>(),
        key in key(),
        trailing in any::<bool>(),
        query in query(),
        copy in prop::option::of(prop_oneof![Just("/src/k%2Bx"), Just("src/a+b?versionId=null"), Just("src")]),
    ) -> Request {
        let mut path = if vhost { format!("/{key}") } else if bucket.is_empty() { "/".to_string() } else { format!("/{bucket}/{key}") };
        if trailing && !path.ends_with('/') {
            path.push('/');
        }
        let host = if vhost && !bucket.is_empty() { format!("{bucket}.{DOMAIN}") } else { DOMAIN.to_string() };
        let uri = if query.is_empty() { path } else { format!("{path}?{query}") };
        let mut b = Request::builder().method(method).uri(uri).header("host", host);
        if let Some(c) = copy {
            b = b.header("x-amz-copy-source", c);
        }
        b.body(Body::empty()).expect("generated request is valid")
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn edge_worker_and_policy_read_one_request_alike(req in request()) {
        let edge = route(
            req.method(),
            req.uri().path(),
            req.uri().query().unwrap_or(""),
            req.headers(),
            Some(DOMAIN),
        );
        let signed = signed_request(&req, Some(DOMAIN));
        let worker = route_signed(&signed);
        match (&edge, &worker) {
            (Ok(e), Ok(w)) => {
                prop_assert_eq!(e, w);
                let accesses = w.accesses();
                if let Some(first) = accesses.first() {
                    prop_assert_eq!(&first.bucket, &w.bucket);
                    match &first.target {
                        Target::Key(k) => prop_assert_eq!(Some(k), w.key.as_ref()),
                        Target::Prefix(p) => prop_assert_eq!(Some(p), w.prefix.as_ref()),
                        Target::Bucket | Target::Unknown => {}
                    }
                }
                if let Some((b, k)) = &w.source {
                    let read = accesses.last().expect("a copy reads its source");
                    prop_assert_eq!(read.bucket.as_ref(), Some(b));
                    prop_assert_eq!(&read.target, &Target::Key(k.clone()));
                }
            }
            (Err(e), Err(w)) => prop_assert_eq!(&e.code, &w.code),
            _ => prop_assert!(false, "edge {:?} but worker {:?}", edge.as_ref().map(|r| r.op), worker.as_ref().map(|r| r.op)),
        }
    }
}
