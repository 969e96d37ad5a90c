//! What the gateway says about its listing indexes: the `listing index built` log line
//! of `jetgate dev` (actors/src/store/live.rs) and the listing counters of /metrics.

use std::path::Path;
use std::time::{Duration, Instant};

/// How a bucket's index build ended, by the dev log.
#[derive(Debug, Clone, PartialEq)]
pub enum BuildEvent {
    Built {
        objects: u64,
        bytes: u64,
        secs: f64,
    },
    /// `listing index larger than --listing-index-budget`: the bucket lists by full scan.
    OverBudget {
        bytes: u64,
    },
}

/// `key=value` fields of a tracing line after `message` (values unquoted).
fn fields<'a>(line: &'a str, message: &str) -> Option<impl Iterator<Item = (&'a str, &'a str)>> {
    let at = line.find(message)? + message.len();
    Some(line[at..].split_whitespace().filter_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        Some((k, v.trim_matches('"')))
    }))
}

/// The first build event of `bucket` in the log text.
pub fn build_event(log: &str, bucket: &str) -> Option<BuildEvent> {
    const BUILT: &str = "listing index built ";
    const TOO_LARGE: &str = "listing index larger than";
    log.lines().find_map(|line| {
        let built = line.contains(BUILT);
        let f: Vec<(&str, &str)> = fields(line, if built { BUILT } else { TOO_LARGE })?.collect();
        let get = |name: &str| f.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        if get("bucket") != Some(bucket) {
            return None;
        }
        let bytes = get("bytes")?.parse().ok()?;
        if !built {
            return Some(BuildEvent::OverBudget { bytes });
        }
        Some(BuildEvent::Built {
            objects: get("objects")?.parse().ok()?,
            bytes,
            secs: get("secs")?.parse().ok()?,
        })
    })
}

/// Waits until the log at `path` reports how `bucket`'s index build ended.
pub async fn wait_build(path: &Path, bucket: &str, limit: Duration) -> Option<BuildEvent> {
    let deadline = Instant::now() + limit;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if let Some(e) = build_event(&text, bucket) {
            return Some(e);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sum of a counter over all its label sets in Prometheus text; 0 when never recorded.
pub fn counter_sum(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (metric, value) = l.rsplit_once(' ')?;
            let metric_name = metric.split('{').next()?;
            (metric_name == name).then(|| value.parse::<f64>().ok())?
        })
        .sum::<f64>() as u64
}

/// The listing counters at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counters {
    /// Pages answered from a live index.
    pub index_pages: u64,
    /// Listings that fell back to reading the whole bucket.
    pub fallbacks: u64,
}

impl Counters {
    pub fn from_metrics(text: &str) -> Counters {
        Counters {
            index_pages: counter_sum(text, "jetgate_listing_index_pages_total"),
            fallbacks: counter_sum(text, "jetgate_listing_fallback_total"),
        }
    }

    pub fn since(self, earlier: Counters) -> Counters {
        Counters {
            index_pages: self.index_pages.saturating_sub(earlier.index_pages),
            fallbacks: self.fallbacks.saturating_sub(earlier.fallbacks),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const LOG: &str = "\
2026-12-03T12:50:20.911285Z  INFO Actor{id=\"0.2\"}: jetgate_actors::roles: role serving role=listing
2026-12-03T12:50:29.306839Z  INFO worker.request{bucket=\"list-1000\"}: jetgate_actors::listing: bucket created bucket=list-1000
2026-12-03T12:50:31.000000Z  INFO jetgate_actors::store::live: listing index built bucket=list-1000 objects=1010 bytes=124230 secs=0.0123
2026-12-03T12:50:41.000000Z  WARN jetgate_actors::store::live: listing index larger than --listing-index-budget: this bucket lists by full scan bucket=list-100000 bytes=300 budget=0
2026-12-03T12:50:51.000000Z  INFO jetgate_actors::store::live: listing index built bucket=list-1000000 objects=1000010 bytes=123000000 secs=7.5
";

    #[test]
    fn build_lines_by_exact_bucket() {
        assert_eq!(
            build_event(LOG, "list-1000"),
            Some(BuildEvent::Built {
                objects: 1010,
                bytes: 124230,
                secs: 0.0123
            })
        );
        assert_eq!(
            build_event(LOG, "list-100000"),
            Some(BuildEvent::OverBudget { bytes: 300 })
        );
        assert_eq!(
            build_event(LOG, "list-1000000"),
            Some(BuildEvent::Built {
                objects: 1000010,
                bytes: 123000000,
                secs: 7.5
            })
        );
        assert_eq!(build_event(LOG, "list-10"), None);
    }

    #[test]
    fn counters_sum_label_sets() {
        let text = "# TYPE jetgate_listing_index_pages_total counter\n\
                    jetgate_listing_index_pages_total 5\n\
                    jetgate_listing_fallback_total{reason=\"over_budget\"} 3\n\
                    jetgate_listing_fallback_total{reason=\"catching_up\"} 1\n\
                    jetgate_listing_fallback_totally 100\n";
        let c = Counters::from_metrics(text);
        assert_eq!((c.index_pages, c.fallbacks), (5, 4));
        let d = Counters {
            index_pages: 9,
            fallbacks: 4,
        }
        .since(c);
        assert_eq!((d.index_pages, d.fallbacks), (4, 0));
        assert_eq!(counter_sum("", "x"), 0);
    }
}
