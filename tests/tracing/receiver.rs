//! An OTLP/HTTP trace receiver on 127.0.0.1:0, in the test process: it decodes the
//! protobuf export requests into flat spans and keeps the raw bytes too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use prost::Message;

/// One exported span, flattened with its process's service name.
#[derive(Debug, Clone)]
pub struct Span {
    pub service: String,
    pub name: String,
    pub trace_id: String,
    pub span_id: String,
    pub parent: String,
    pub attrs: HashMap<String, String>,
}

fn value_string(kv: &KeyValue) -> String {
    match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

/// An OTLP/HTTP receiver on 127.0.0.1:0 that keeps every span it is sent, and the raw
/// export requests (every string of a span, its events and its resource, as sent).
pub struct Receiver {
    pub url: String,
    spans: Arc<Mutex<Vec<Span>>>,
    pub requests: Arc<Mutex<u32>>,
    pub raw: Arc<Mutex<Vec<u8>>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        use axum::body::Bytes;
        use axum::extract::State;
        use axum::routing::post;
        type Shared = (Arc<Mutex<Vec<Span>>>, Arc<Mutex<u32>>, Arc<Mutex<Vec<u8>>>);

        async fn export(State((spans, requests, raw)): State<Shared>, body: Bytes) -> Vec<u8> {
            raw.lock().expect("lock").extend_from_slice(&body);
            let req = ExportTraceServiceRequest::decode(body).expect("protobuf export request");
            *requests.lock().expect("lock") += 1;
            let mut out = spans.lock().expect("lock");
            for rs in req.resource_spans {
                let service = rs
                    .resource
                    .as_ref()
                    .and_then(|r| r.attributes.iter().find(|a| a.key == "service.name"))
                    .map(value_string)
                    .unwrap_or_default();
                for ss in rs.scope_spans {
                    for s in ss.spans {
                        out.push(Span {
                            service: service.clone(),
                            name: s.name.clone(),
                            trace_id: hex::encode(&s.trace_id),
                            span_id: hex::encode(&s.span_id),
                            parent: hex::encode(&s.parent_span_id),
                            attrs: s
                                .attributes
                                .iter()
                                .map(|a| (a.key.clone(), value_string(a)))
                                .collect(),
                        });
                    }
                }
            }
            // An empty ExportTraceServiceResponse: everything accepted.
            Vec::new()
        }

        let spans = Arc::new(Mutex::new(Vec::new()));
        let requests = Arc::new(Mutex::new(0));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let app = axum::Router::new()
            .route("/v1/traces", post(export))
            .with_state((spans.clone(), requests.clone(), raw.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let addr = listener.local_addr().expect("receiver addr");
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("receiver");
        });
        Receiver {
            url: format!("http://{addr}"),
            spans,
            requests,
            raw,
        }
    }

    pub fn spans(&self) -> Vec<Span> {
        self.spans.lock().expect("lock").clone()
    }
}
