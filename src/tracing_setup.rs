//! Logging and trace export of a jetgate process.
//!
//! Logs always go to stderr (filtered by `JETGATE_LOG`); they carry the spans they
//! happened in (request id, operation, bucket) only with `--log-spans`, because keeping
//! span fields for a log that rarely prints costs every request CPU in every process
//! (measured per 4 KiB request: 7–9 µs in the edge, 8–14 µs in the worker). With an
//! OTLP endpoint (`--otlp-endpoint` or the standard `OTEL_EXPORTER_OTLP_ENDPOINT` /
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), jetgate's spans are also exported as
//! OpenTelemetry traces over OTLP/HTTP (protobuf) by a batch exporter; without one no
//! OpenTelemetry layer is installed at all and tracing costs what it did before.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use clap::Args;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_http::{HttpClient, HttpError};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing_subscriber::filter::FilterExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// Trace export flags, shared by every subcommand.
#[derive(Args, Clone, Debug, Default)]
pub struct TracingArgs {
    /// OTLP/HTTP collector base URL traces are exported to, e.g. http://127.0.0.1:4318
    /// (`/v1/traces` is appended). Tracing export is off when unset.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", global = true)]
    pub otlp_endpoint: Option<String>,
    /// Prefix each log line with the spans it happened in (request id, operation,
    /// bucket, NATS hop). Off by default: it makes every request pay for formatting
    /// span fields whether or not anything is logged.
    #[arg(long, env = "JETGATE_LOG_SPANS", global = true)]
    pub log_spans: bool,
}

/// A log filter that never enables spans, so that without `--log-spans` (and without
/// an OTLP exporter) no layer wants a span and creating one costs nothing.
struct EventsOnly;

impl<S> tracing_subscriber::layer::Filter<S> for EventsOnly {
    fn enabled(
        &self,
        meta: &tracing::Metadata<'_>,
        _: &tracing_subscriber::layer::Context<'_, S>,
    ) -> bool {
        meta.is_event()
    }

    fn callsite_enabled(
        &self,
        meta: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        if meta.is_span() {
            tracing::subscriber::Interest::never()
        } else {
            tracing::subscriber::Interest::always()
        }
    }
}

/// The standard per-signal variable, used as given (it already names the full URL).
const TRACES_ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// How long one export request may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Keeps the exporter alive; [`Telemetry::shutdown`] flushes what is still queued.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports every span still queued and stops the exporter. Blocks, so call it
    /// outside the runtime's tasks (its export requests run on that runtime).
    pub fn shutdown(self) {
        if let Some(p) = self.provider {
            if let Err(e) = p.shutdown() {
                eprintln!("jetgate: flushing traces failed: {e}");
            }
        }
    }
}

/// Installs the global subscriber: stderr logs, plus OTLP export when configured.
/// `default_service` names the process unless `OTEL_SERVICE_NAME` does.
pub fn init(args: &TracingArgs, default_service: &str, rt: &tokio::runtime::Handle) -> Telemetry {
    let filter = tracing_subscriber::EnvFilter::try_from_env("JETGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,async_nats=warn"));
    let (provider, problem) = match endpoint(args) {
        None => (None, None),
        Some(ep) => match provider(ep.as_deref(), default_service, rt) {
            Ok(p) => (Some(p), None),
            Err(e) => (None, Some(e)),
        },
    };
    subscriber(args.log_spans, filter, provider.as_ref()).init();
    if let Some(e) = problem {
        tracing::warn!(error = %e, "OTLP trace export is off: its set-up failed");
    } else if provider.is_some() {
        tracing::info!(service = %service_name(default_service), "exporting traces over OTLP/HTTP");
    }
    Telemetry { provider }
}

type Boxed = Box<dyn Layer<tracing_subscriber::Registry> + Send + Sync>;

/// The layers: stderr logs (spans only with `log_spans`) and, with a provider, the
/// OTLP exporter. A layer that is absent is not added at all (an `Option` layer that is
/// `None` still makes the registry record every span).
fn subscriber(
    log_spans: bool,
    filter: tracing_subscriber::EnvFilter,
    provider: Option<&SdkTracerProvider>,
) -> impl tracing::Subscriber + Send + Sync {
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let mut layers: Vec<Boxed> = vec![if log_spans {
        fmt.with_filter(filter).boxed()
    } else {
        fmt.with_filter(filter.and(EventsOnly)).boxed()
    }];
    // The exported spans are jetgate's own, whatever the log filter says: a quiet log
    // must not cut holes in the trace tree.
    if let Some(p) = provider {
        layers.push(
            tracing_opentelemetry::layer()
                .with_tracer(p.tracer("jetgate"))
                .with_filter(
                    tracing_subscriber::filter::Targets::new()
                        .with_target("jetgate", tracing::Level::INFO),
                )
                .boxed(),
        );
    }
    tracing_subscriber::registry().with(layers)
}

/// `None`: export off. `Some(None)`: the per-signal variable names the URL.
fn endpoint(args: &TracingArgs) -> Option<Option<String>> {
    let signal = std::env::var(TRACES_ENDPOINT_VAR).is_ok_and(|v| !v.trim().is_empty());
    match args.otlp_endpoint.as_deref().map(str::trim) {
        _ if signal => Some(None),
        Some(base) if !base.is_empty() => Some(Some(traces_url(base))),
        _ => None,
    }
}

/// The collector's traces URL for a base URL, as the OTLP spec builds it.
fn traces_url(base: &str) -> String {
    let base = base.trim_end_matches('/');
    if base.ends_with("/v1/traces") {
        base.to_string()
    } else {
        format!("{base}/v1/traces")
    }
}

fn service_name(default_service: &str) -> String {
    std::env::var("OTEL_SERVICE_NAME")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| default_service.to_string())
}

fn provider(
    url: Option<&str>,
    default_service: &str,
    rt: &tokio::runtime::Handle,
) -> anyhow::Result<SdkTracerProvider> {
    let client = RuntimeClient {
        inner: Arc::new(
            opentelemetry_http::hyper::HyperClient::with_default_connector(EXPORT_TIMEOUT, None),
        ),
        rt: rt.clone(),
    };
    let mut builder = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_http_client(client)
        .with_timeout(EXPORT_TIMEOUT);
    if let Some(url) = url {
        builder = builder.with_endpoint(url);
    }
    let exporter = builder.build()?;
    let resource = Resource::builder()
        .with_service_name(service_name(default_service))
        .with_attribute(KeyValue::new(
            "service.instance.id",
            jetgate_actors::trace::worker_id(),
        ))
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    Ok(SdkTracerProvider::builder()
        .with_resource(resource)
        .with_batch_exporter(exporter)
        .build())
}

/// The SDK's batch processor exports from its own thread, which has no tokio reactor;
/// this client runs each export request on the process's runtime instead (hyper needs
/// one) and hands the answer back.
#[derive(Debug)]
struct RuntimeClient {
    inner: Arc<opentelemetry_http::hyper::HyperClient>,
    rt: tokio::runtime::Handle,
}

impl HttpClient for RuntimeClient {
    fn send_bytes<'a, 'b>(
        &'a self,
        request: http::Request<Bytes>,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<http::Response<Bytes>, HttpError>> + Send + 'b>,
    >
    where
        'a: 'b,
        Self: 'b,
    {
        let inner = self.inner.clone();
        let task = self
            .rt
            .spawn(async move { inner.send_bytes(request).await });
        Box::pin(async move { task.await.map_err(|e| Box::new(e) as HttpError)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a request pays for: without `--log-spans` and without an exporter no span
    /// is recorded; with either, spans are.
    #[test]
    fn spans_cost_nothing_unless_logged_or_exported() {
        let quiet = subscriber(false, tracing_subscriber::EnvFilter::new("info"), None);
        tracing::subscriber::with_default(quiet, || {
            let span = tracing::info_span!("s3.request", request_id = "r1");
            assert!(span.is_disabled(), "a span was recorded for nobody");
            assert!(
                tracing::enabled!(tracing::Level::WARN),
                "warnings still log"
            );
        });
        let logged = subscriber(true, tracing_subscriber::EnvFilter::new("info"), None);
        tracing::subscriber::with_default(logged, || {
            assert!(!tracing::info_span!("s3.request").is_disabled());
        });
        let provider = SdkTracerProvider::builder().build();
        let exported = subscriber(
            false,
            tracing_subscriber::EnvFilter::new("info"),
            Some(&provider),
        );
        tracing::subscriber::with_default(exported, || {
            assert!(!tracing::info_span!(target: "jetgate_edge", "s3.request").is_disabled());
        });
    }

    #[test]
    fn traces_url_follows_the_otlp_rules() {
        assert_eq!(
            traces_url("http://127.0.0.1:4318"),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://collector:4318/"),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://c:4318/v1/traces"),
            "http://c:4318/v1/traces"
        );
    }
}
