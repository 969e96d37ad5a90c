//! Results of a run: JSON-serialisable reports and their terminal / markdown forms.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;

/// Latency histogram in microseconds, 1 µs .. 1 h, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("constant histogram bounds are valid")
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Latency {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Latency {
    pub fn from_hist(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Latency {
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
            mean_ms: h.mean() / 1000.0,
        }
    }

    /// `p50/p90/p99/max` in ms.
    pub fn short(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            fmt_ms(self.p50_ms),
            fmt_ms(self.p90_ms),
            fmt_ms(self.p99_ms),
            fmt_ms(self.max_ms)
        )
    }
}

pub fn fmt_ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct OpReport {
    pub op: String,
    pub ops: u64,
    pub bytes: u64,
    pub ops_per_s: f64,
    pub mb_per_s: f64,
    pub latency: Latency,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProcReport {
    pub pid: u32,
    pub name: String,
    pub cpu_s: f64,
    /// CPU microseconds per measured operation.
    pub cpu_us_per_op: f64,
    pub peak_rss_mib: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: String,
    pub target: String,
    pub op: String,
    pub size: String,
    pub concurrency: usize,
    pub duration_s: f64,
    pub ops: u64,
    pub bytes: u64,
    pub ops_per_s: f64,
    /// Decimal megabytes (10^6 bytes) per second of object payload.
    pub mb_per_s: f64,
    pub latency: Latency,
    pub per_op: Vec<OpReport>,
    pub errors: BTreeMap<String, u64>,
    pub error_samples: Vec<String>,
    pub procs: Vec<ProcReport>,
}

impl Report {
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    pub fn errors_short(&self) -> String {
        if self.errors.is_empty() {
            return "0".to_string();
        }
        self.errors
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `12.3k ops/s, 50.4 MB/s`
    pub fn throughput(&self) -> String {
        format!(
            "{} ops/s, {:.1} MB/s",
            fmt_count(self.ops_per_s),
            self.mb_per_s
        )
    }

    pub fn procs_short(&self) -> String {
        self.procs
            .iter()
            .map(|p| {
                format!(
                    "{}[{}] {:.0}µs/op {:.0}MiB",
                    p.name, p.pid, p.cpu_us_per_op, p.peak_rss_mib
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Human summary of one run, for the terminal.
    pub fn render(&self) -> String {
        let mut s = format!(
            "{} [{} {} {} c{}] {:.1}s: {} ops, {}\n  latency ms p50/p90/p99/max: {}  errors: {}\n",
            self.scenario,
            self.target,
            self.op,
            self.size,
            self.concurrency,
            self.duration_s,
            self.ops,
            self.throughput(),
            self.latency.short(),
            self.errors_short(),
        );
        if self.per_op.len() > 1 {
            for o in &self.per_op {
                s.push_str(&format!(
                    "  {:>6}: {} ops, {} ops/s, {:.1} MB/s, ms {}\n",
                    o.op,
                    o.ops,
                    fmt_count(o.ops_per_s),
                    o.mb_per_s,
                    o.latency.short()
                ));
            }
        }
        for p in &self.procs {
            s.push_str(&format!(
                "  {} [{}]: cpu {:.2}s ({:.0} µs/op), peak RSS {:.1} MiB\n",
                p.name, p.pid, p.cpu_s, p.cpu_us_per_op, p.peak_rss_mib
            ));
        }
        for e in &self.error_samples {
            s.push_str(&format!("  error: {e}\n"));
        }
        s
    }
}

pub fn fmt_count(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.1}k", v / 1000.0)
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// One scenario of a bench: the raw ceiling beside the gateway.
#[derive(Debug, Clone, Serialize)]
pub struct Pair {
    pub scenario: String,
    pub raw: Option<Report>,
    pub gateway: Option<Report>,
}

impl Pair {
    /// Gateway throughput over raw throughput (ops/s).
    pub fn ratio(&self) -> Option<f64> {
        match (&self.raw, &self.gateway) {
            (Some(r), Some(g)) if r.ops_per_s > 0.0 => Some(g.ops_per_s / r.ops_per_s),
            _ => None,
        }
    }
}

/// The bench's markdown table.
pub fn markdown_table(pairs: &[Pair]) -> String {
    let mut s = String::from(
        "| scenario | raw ops/s, MB/s | jetgate ops/s, MB/s | ratio | jetgate ms p50/p90/p99/max | raw ms p50/p90/p99/max | errors (raw / jetgate) | jetgate CPU µs/op, peak RSS |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    let tp = |r: &Option<Report>| {
        r.as_ref().map_or("-".to_string(), |r| {
            format!("{}, {:.1}", fmt_count(r.ops_per_s), r.mb_per_s)
        })
    };
    let lat = |r: &Option<Report>| r.as_ref().map_or("-".to_string(), |r| r.latency.short());
    let err = |r: &Option<Report>| r.as_ref().map_or("-".to_string(), |r| r.errors_short());
    for p in pairs {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} / {} | {} |\n",
            p.scenario,
            tp(&p.raw),
            tp(&p.gateway),
            p.ratio().map_or("-".to_string(), |r| format!("{r:.2}×")),
            lat(&p.gateway),
            lat(&p.raw),
            err(&p.raw),
            err(&p.gateway),
            p.gateway
                .as_ref()
                .map_or("-".to_string(), |g| g.procs_short()),
        ));
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn report(ops_per_s: f64, errors: &[(&str, u64)]) -> Report {
        let mut h = new_histogram();
        for v in 1..=1000u64 {
            h.record(v * 10).unwrap();
        }
        Report {
            scenario: "put-4KiB-c64".into(),
            target: "raw".into(),
            op: "put".into(),
            size: "4KiB".into(),
            concurrency: 64,
            duration_s: 2.0,
            ops: (ops_per_s * 2.0) as u64,
            bytes: 0,
            ops_per_s,
            mb_per_s: ops_per_s * 4096.0 / 1e6,
            latency: Latency::from_hist(&h),
            per_op: vec![],
            errors: errors.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            error_samples: vec![],
            procs: vec![ProcReport {
                pid: 7,
                name: "jetgate".into(),
                cpu_s: 1.0,
                cpu_us_per_op: 50.0,
                peak_rss_mib: 20.0,
            }],
        }
    }

    #[test]
    fn latency_quantiles_in_ms() {
        let r = report(1000.0, &[]);
        // 10 µs .. 10 ms uniformly.
        assert!((r.latency.p50_ms - 5.0).abs() < 0.05, "{:?}", r.latency);
        assert!((r.latency.p99_ms - 9.9).abs() < 0.05, "{:?}", r.latency);
        assert!((r.latency.max_ms - 10.0).abs() < 0.05, "{:?}", r.latency);
        assert_eq!(r.latency.short(), "5.00/9.01/9.90/10.0");
        assert_eq!(Latency::from_hist(&new_histogram()), Latency::default());
    }

    #[test]
    fn formatting() {
        assert_eq!(fmt_count(15_234.0), "15.2k");
        assert_eq!(fmt_count(950.4), "950");
        assert_eq!(fmt_count(12.34), "12.3");
        let r = report(15_000.0, &[("corrupt", 2), ("http_503", 1)]);
        assert_eq!(r.error_count(), 3);
        assert_eq!(r.errors_short(), "corrupt=2 http_503=1");
        assert_eq!(r.throughput(), "15.0k ops/s, 61.4 MB/s");
        assert!(r.render().contains("errors: corrupt=2 http_503=1"));
    }

    #[test]
    fn table_has_ratio_and_columns() {
        let pair = Pair {
            scenario: "put-4KiB-c64".into(),
            raw: Some(report(20_000.0, &[])),
            gateway: Some(report(10_000.0, &[])),
        };
        assert_eq!(pair.ratio(), Some(0.5));
        let t = markdown_table(&[pair]);
        let line = t.lines().nth(2).unwrap();
        assert!(
            line.starts_with("| put-4KiB-c64 | 20.0k, 81.9 | 10.0k, 41.0 | 0.50× |"),
            "{line}"
        );
        assert!(line.contains("| 0 / 0 |"), "{line}");
        assert!(line.contains("jetgate[7] 50µs/op 20MiB"), "{line}");
        assert_eq!(t.lines().next().unwrap().matches('|').count(), 9);
    }
}
