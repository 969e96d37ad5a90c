//! A dependency-free SVG chart: throughput (raw vs gateway) and p50/p99 latency by
//! scenario.

use crate::report::{fmt_count, fmt_ms, Pair, Report};

const ROW: f64 = 46.0;
const TOP: f64 = 60.0;
const LABEL_W: f64 = 170.0;
const PANEL_W: f64 = 330.0;
const GAP: f64 = 40.0;
const RAW_COLOR: &str = "#8c8c8c";
const GW_COLOR: &str = "#2b7bb9";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Throughput in the unit that suits the scenario: MB/s for large objects.
fn value(r: &Report, large: bool) -> f64 {
    if large {
        r.mb_per_s
    } else {
        r.ops_per_s
    }
}

fn is_large(p: &Pair) -> bool {
    [&p.raw, &p.gateway]
        .iter()
        .filter_map(|r| r.as_ref())
        .any(|r| r.ops > 0 && r.bytes / r.ops.max(1) >= 1 << 20)
}

pub fn render(title: &str, pairs: &[Pair]) -> String {
    let height = TOP + ROW * pairs.len() as f64 + 40.0;
    let width = LABEL_W + 2.0 * PANEL_W + GAP + 20.0;
    let x1 = LABEL_W;
    let x2 = LABEL_W + PANEL_W + GAP;
    let max_p99 = pairs
        .iter()
        .flat_map(|p| [&p.raw, &p.gateway])
        .filter_map(|r| r.as_ref())
        .map(|r| r.latency.p99_ms)
        .fold(0.0_f64, f64::max)
        .max(0.001);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\">{}</text>\n\
         <text x=\"{x1}\" y=\"44\" font-weight=\"bold\">throughput (ops/s; MB/s for ≥1 MiB)</text>\n\
         <text x=\"{x2}\" y=\"44\" font-weight=\"bold\">latency p50 | p99 (ms, scale to {})</text>\n\
         <rect x=\"{}\" y=\"10\" width=\"10\" height=\"10\" fill=\"{RAW_COLOR}\"/>\
         <text x=\"{}\" y=\"20\">raw NATS</text>\n\
         <rect x=\"{}\" y=\"10\" width=\"10\" height=\"10\" fill=\"{GW_COLOR}\"/>\
         <text x=\"{}\" y=\"20\">gateway</text>\n",
        esc(title),
        fmt_ms(max_p99),
        width - 200.0,
        width - 186.0,
        width - 110.0,
        width - 96.0,
    );
    for (i, p) in pairs.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let large = is_large(p);
        s.push_str(&format!(
            "<text x=\"10\" y=\"{:.0}\">{}</text>\n",
            y + 22.0,
            esc(&p.scenario)
        ));
        if let Some(r) = p.ratio() {
            s.push_str(&format!(
                "<text x=\"10\" y=\"{:.0}\" fill=\"#555\">ratio {r:.2}×</text>\n",
                y + 37.0
            ));
        }
        let max_v = [&p.raw, &p.gateway]
            .iter()
            .filter_map(|r| r.as_ref())
            .map(|r| value(r, large))
            .fold(0.0_f64, f64::max)
            .max(1e-9);
        for (j, (r, color)) in [(&p.raw, RAW_COLOR), (&p.gateway, GW_COLOR)]
            .iter()
            .enumerate()
        {
            let Some(r) = r else { continue };
            let by = y + 6.0 + 18.0 * j as f64;
            let v = value(r, large);
            let w = (v / max_v * (PANEL_W - 90.0)).max(1.0);
            let label = if large {
                format!("{v:.0} MB/s")
            } else {
                format!("{} ops/s", fmt_count(v))
            };
            let errs = if r.error_count() > 0 {
                format!(" ({} errors)", r.error_count())
            } else {
                String::new()
            };
            s.push_str(&format!(
                "<rect x=\"{x1}\" y=\"{by:.0}\" width=\"{w:.1}\" height=\"15\" fill=\"{color}\"/>\
                 <text x=\"{:.1}\" y=\"{:.0}\">{label}{errs}</text>\n",
                x1 + w + 4.0,
                by + 12.0
            ));
            let lw50 = (r.latency.p50_ms / max_p99 * (PANEL_W - 110.0)).max(1.0);
            let lw99 = (r.latency.p99_ms / max_p99 * (PANEL_W - 110.0)).max(1.0);
            s.push_str(&format!(
                "<rect x=\"{x2}\" y=\"{by:.0}\" width=\"{lw99:.1}\" height=\"15\" fill=\"{color}\" opacity=\"0.45\"/>\
                 <rect x=\"{x2}\" y=\"{by:.0}\" width=\"{lw50:.1}\" height=\"15\" fill=\"{color}\"/>\
                 <text x=\"{:.1}\" y=\"{:.0}\">{} | {}</text>\n",
                x2 + lw99 + 4.0,
                by + 12.0,
                fmt_ms(r.latency.p50_ms),
                fmt_ms(r.latency.p99_ms)
            ));
        }
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn renders_well_formed_svg() {
        let s = render(
            "a <b> & c",
            &[Pair {
                scenario: "x".into(),
                raw: None,
                gateway: None,
            }],
        );
        assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
        assert!(s.contains("a &lt;b&gt; &amp; c"));
        assert_eq!(s.matches("<svg").count(), 1);
    }
}
