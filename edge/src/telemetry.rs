//! Prometheus metrics for the edge and the workers of this process. Labels stay
//! low-cardinality (operation, status, role, endpoint), never keys or buckets.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder once; later calls are no-ops.
pub fn install() {
    HANDLE.get_or_init(|| {
        let buckets = [
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            30.0,
        ];
        let recorder = PrometheusBuilder::new()
            .set_buckets(&buckets)
            .map(|b| b.build_recorder())
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed");
        }
        handle
    });
}

/// The Prometheus text exposition of every metric recorded so far.
pub fn render() -> String {
    HANDLE.get().map(|h| h.render()).unwrap_or_default()
}
