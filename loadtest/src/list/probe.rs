//! Timed S3 listings of the `list` scenario; every answer is checked against the model.

use super::devlog::Counters;
use super::model::{self, Listing, Model};
use crate::op_error::OpError;
use crate::report::{new_histogram, Latency};
use crate::s3::{xml_text, S3Driver, QUERY_SET};
use hdrhistogram::Histogram;
use percent_encoding::utf8_percent_encode;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Display;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest a single request may take (a full-scan page of 1M objects takes ~6 s).
const TIMEOUT: Duration = Duration::from_secs(120);

/// Failed requests and wrong answers of one bucket: all counted by what failed, the
/// first few of each kept (an S3 error document shortened to its code and message).
#[derive(Debug, Default, Serialize)]
pub struct Errors {
    pub count: u64,
    pub by_what: BTreeMap<String, u64>,
    pub samples: Vec<String>,
}

/// Samples kept per kind of failure.
const SAMPLES_PER_WHAT: u64 = 3;

impl Errors {
    pub fn add(&mut self, what: &str, e: impl Display) {
        self.count += 1;
        let seen = self.by_what.entry(what.to_string()).or_default();
        *seen += 1;
        if *seen <= SAMPLES_PER_WHAT {
            self.samples
                .push(format!("{what}: {}", shorten(&e.to_string())));
        }
    }
}

/// One line: an S3 error document becomes `Code: Message`.
fn shorten(e: &str) -> String {
    let e = match (xml_text(e, "Code"), xml_text(e, "Message")) {
        (Some(code), Some(msg)) => match e.split_once(": ") {
            Some((kind, _)) => format!("{kind}: {code}: {msg}"),
            None => format!("{code}: {msg}"),
        },
        _ => e.to_string(),
    };
    e.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(300)
        .collect()
}

/// A ListObjectsV2 query string, encoded (the signer puts it in canonical order).
pub fn query(
    prefix: &str,
    delimiter: Option<&str>,
    start_after: Option<&str>,
    max_keys: usize,
) -> String {
    let mut q = format!("list-type=2&max-keys={max_keys}");
    for (name, value) in [
        ("prefix", Some(prefix).filter(|p| !p.is_empty())),
        ("delimiter", delimiter),
        ("start-after", start_after),
    ] {
        if let Some(v) = value {
            q.push_str(&format!("&{name}={}", utf8_percent_encode(v, QUERY_SET)));
        }
    }
    q
}

/// One listing, timed from the request to the last byte of the answer.
pub async fn list_once(d: &S3Driver, query: &str) -> Result<(Duration, Listing), OpError> {
    let t = Instant::now();
    let xml = tokio::time::timeout(TIMEOUT, d.list_xml(query))
        .await
        .map_err(|_| OpError::msg("timeout", format!("no answer in {TIMEOUT:?}")))??;
    Ok((t.elapsed(), model::parse(&xml)))
}

fn record(h: &mut Histogram<u64>, d: Duration) {
    h.saturating_record((d.as_micros() as u64).max(1));
}

/// The gateway's listing counters, if its /metrics answers.
pub async fn counters(d: &S3Driver) -> Option<Counters> {
    d.metrics().await.ok().map(|t| Counters::from_metrics(&t))
}

/// Latency of one listing repeated, and which path of the gateway answered it.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Timed {
    pub requests: u64,
    /// Right answers; the latency is theirs.
    pub ok: u64,
    pub errors: u64,
    /// Keys plus common prefixes of the expected page.
    pub entries: usize,
    pub latency: Latency,
    /// Pages answered from a live index meanwhile (jetgate_listing_index_pages_total).
    pub index_pages: Option<u64>,
    /// Listings that read the whole bucket meanwhile (jetgate_listing_fallback_total).
    pub full_scans: Option<u64>,
}

/// `n` listings of `query` one after the other, each checked against `want`.
pub async fn timed(
    d: &S3Driver,
    what: &str,
    query: &str,
    want: &Listing,
    n: usize,
    errs: &mut Errors,
) -> Timed {
    let before = counters(d).await;
    let mut h = new_histogram();
    let mut out = Timed {
        entries: want.keys.len() + want.prefixes.len(),
        ..Timed::default()
    };
    for _ in 0..n {
        out.requests += 1;
        match list_once(d, query).await {
            Ok((took, got)) => match model::check(want, &got) {
                Ok(()) => {
                    record(&mut h, took);
                    out.ok += 1;
                }
                Err(e) => {
                    out.errors += 1;
                    errs.add(what, format!("wrong answer: {e}"));
                }
            },
            Err(e) => {
                out.errors += 1;
                errs.add(what, e);
            }
        }
    }
    out.latency = Latency::from_hist(&h);
    if let (Some(a), Some(b)) = (before, counters(d).await) {
        let c = b.since(a);
        (out.index_pages, out.full_scans) = (Some(c.index_pages), Some(c.fallbacks));
    }
    out
}

#[derive(Debug, Default, Serialize)]
pub struct AfterWrite {
    pub tries: u64,
    /// Listings answered (the latency is theirs).
    pub listed: u64,
    /// Listings right after an acknowledged PUT that did not hold its key.
    pub misses: u64,
    /// Failed requests and other wrong answers.
    pub errors: u64,
    pub list: Latency,
    pub put: Latency,
}

/// `tries` times: PUT a new 1-byte object under `law/`, then at once list with its
/// key as the prefix; the listing must hold exactly that key.
pub async fn after_write(
    d: &S3Driver,
    tries: usize,
    model: &mut Model,
    errs: &mut Errors,
) -> AfterWrite {
    let (mut list_h, mut put_h) = (new_histogram(), new_histogram());
    let mut out = AfterWrite::default();
    for i in 0..tries {
        out.tries += 1;
        let key = format!("law/{i:08}");
        let t = Instant::now();
        let put = tokio::time::timeout(TIMEOUT, d.put(&key, 1)).await;
        match put {
            Ok(Ok(_)) => record(&mut put_h, t.elapsed()),
            Ok(Err(e)) => {
                out.errors += 1;
                errs.add("after-write PUT", e);
                continue;
            }
            Err(_) => {
                out.errors += 1;
                errs.add("after-write PUT", "timeout");
                continue;
            }
        }
        model.extra.insert(key.clone());
        let want = model.listing(&key, None, None, 1000);
        match list_once(d, &query(&key, None, None, 1000)).await {
            Ok((took, got)) => {
                record(&mut list_h, took);
                out.listed += 1;
                if !got.keys.contains(&key) {
                    out.misses += 1;
                    errs.add(
                        "list-after-write",
                        format!("{key} missing right after its PUT"),
                    );
                } else if let Err(e) = model::check(&want, &got) {
                    out.errors += 1;
                    errs.add("list-after-write", format!("wrong answer: {e}"));
                }
            }
            Err(e) => {
                out.errors += 1;
                errs.add("list-after-write", e);
            }
        }
    }
    (out.list, out.put) = (Latency::from_hist(&list_h), Latency::from_hist(&put_h));
    out
}

#[derive(Debug, Default, Serialize)]
pub struct Throughput {
    pub concurrency: usize,
    pub secs: f64,
    /// Right answers.
    pub pages: u64,
    pub pages_per_s: f64,
    pub errors: u64,
    /// Consumers on the bucket's stream right after (a full-scan listing creates one,
    /// which outlives it until the server's inactivity threshold).
    pub consumers_after: Option<usize>,
    /// Seconds until they were back to what they were before (waited for, bounded, so
    /// the next figure is not measured against leftovers).
    pub settle_s: Option<f64>,
}

/// `concurrency` clients listing `query` back to back for `duration`.
pub async fn throughput(
    d: Arc<S3Driver>,
    query: &str,
    want: Arc<Listing>,
    concurrency: usize,
    duration: Duration,
    errs: &mut Errors,
) -> Throughput {
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (d, q, want) = (d.clone(), query.to_string(), want.clone());
            tokio::spawn(async move {
                let (mut ok, mut failed) = (0u64, Vec::new());
                while Instant::now() < deadline {
                    match list_once(&d, &q).await {
                        Ok((_, got)) => match model::check(&want, &got) {
                            Ok(()) => ok += 1,
                            Err(e) => failed.push(format!("wrong answer: {e}")),
                        },
                        Err(e) => failed.push(e.to_string()),
                    }
                }
                (ok, failed)
            })
        })
        .collect();
    let mut out = Throughput {
        concurrency,
        ..Throughput::default()
    };
    for t in tasks {
        match t.await {
            Ok((ok, failed)) => {
                out.pages += ok;
                out.errors += failed.len() as u64;
                for e in failed {
                    errs.add("throughput", e);
                }
            }
            Err(e) => {
                out.errors += 1;
                errs.add("throughput", e);
            }
        }
    }
    out.secs = start.elapsed().as_secs_f64();
    out.pages_per_s = out.pages as f64 / out.secs.max(1e-9);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_a_few_of_each_kind() {
        let mut e = Errors::default();
        let doc =
            "http_500_InternalError: <?xml version=\"1.0\"?>\n<Error><Code>InternalError</Code>\
                   <Message>We encountered an internal error.</Message></Error>";
        for _ in 0..5 {
            e.add("throughput", doc);
        }
        e.add("after-write PUT", "connect: refused");
        assert_eq!(e.count, 6);
        assert_eq!(e.by_what["throughput"], 5);
        assert_eq!(e.samples.len(), 4);
        assert_eq!(
            e.samples[0],
            "throughput: http_500_InternalError: InternalError: We encountered an internal error."
        );
        assert_eq!(e.samples[3], "after-write PUT: connect: refused");
    }

    #[test]
    fn queries_are_encoded() {
        assert_eq!(
            query("", None, Some("data/00000500.bin"), 1000),
            "list-type=2&max-keys=1000&start-after=data%2F00000500.bin"
        );
        assert_eq!(
            query("dir/", Some("/"), None, 1000),
            "list-type=2&max-keys=1000&prefix=dir%2F&delimiter=%2F"
        );
    }
}
