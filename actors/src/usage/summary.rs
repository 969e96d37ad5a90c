//! What `jetgate usage` prints: usage records summed per key, bucket, operation or
//! owner. Pure: the command reads the records, this adds them up.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;

use super::UsageRecord;

/// What records are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Key,
    Bucket,
    Operation,
    Owner,
}

/// A `--by` or `--since` value that does not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("--by takes key, bucket, operation or owner, not {0:?}")]
    GroupBy(String),
    #[error("a duration is a number and a unit s, m, h or d (e.g. 10m, 1h), not {0:?}")]
    Duration(String),
}

impl FromStr for GroupBy {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        match s {
            "key" => Ok(GroupBy::Key),
            "bucket" => Ok(GroupBy::Bucket),
            "operation" => Ok(GroupBy::Operation),
            "owner" => Ok(GroupBy::Owner),
            other => Err(ParseError::GroupBy(other.to_string())),
        }
    }
}

impl GroupBy {
    /// The group a record falls in (`-`: a request without a bucket).
    fn of(self, rec: &UsageRecord) -> String {
        match self {
            GroupBy::Key => rec.access_key.clone(),
            GroupBy::Bucket => rec.bucket.clone().unwrap_or_else(|| "-".into()),
            GroupBy::Operation => rec.operation.clone(),
            GroupBy::Owner => rec.owner.clone(),
        }
    }
}

/// `30s`, `10m`, `1h`, `7d`.
pub fn parse_since(s: &str) -> Result<Duration, ParseError> {
    let bad = || ParseError::Duration(s.to_string());
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 24 * 3600,
        _ => return Err(bad()),
    };
    n.checked_mul(secs).map(Duration::from_secs).ok_or_else(bad)
}

/// One group's totals.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub group: String,
    pub requests: u64,
    /// Requests answered with an S3 error.
    pub errors: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub duration_ms: u64,
}

/// Records added up per group.
#[derive(Debug)]
pub struct Summary {
    by: GroupBy,
    groups: BTreeMap<String, Totals>,
}

impl Summary {
    pub fn new(by: GroupBy) -> Self {
        Summary {
            by,
            groups: BTreeMap::new(),
        }
    }

    pub fn add(&mut self, rec: &UsageRecord) {
        let group = self.by.of(rec);
        let t = self.groups.entry(group.clone()).or_insert_with(|| Totals {
            group,
            ..Totals::default()
        });
        t.requests += 1;
        t.errors += u64::from(rec.error.is_some());
        t.bytes_in = t.bytes_in.saturating_add(rec.bytes_in);
        t.bytes_out = t.bytes_out.saturating_add(rec.bytes_out);
        t.duration_ms = t.duration_ms.saturating_add(rec.duration_ms);
    }

    /// The groups in name order.
    pub fn rows(&self) -> Vec<&Totals> {
        self.groups.values().collect()
    }

    /// A table for people: a header line, then one line per group.
    pub fn table(&self) -> String {
        let head = match self.by {
            GroupBy::Key => "KEY",
            GroupBy::Bucket => "BUCKET",
            GroupBy::Operation => "OPERATION",
            GroupBy::Owner => "OWNER",
        };
        let width = self
            .groups
            .keys()
            .map(|g| g.chars().count())
            .max()
            .unwrap_or(0)
            .max(head.len());
        let mut out = format!(
            "{head:<width$}  {:>10}  {:>8}  {:>14}  {:>14}  {:>12}\n",
            "REQUESTS", "ERRORS", "BYTES_IN", "BYTES_OUT", "DURATION_MS"
        );
        for t in self.groups.values() {
            out.push_str(&format!(
                "{:<width$}  {:>10}  {:>8}  {:>14}  {:>14}  {:>12}\n",
                t.group, t.requests, t.errors, t.bytes_in, t.bytes_out, t.duration_ms
            ));
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may panic on what they set up
mod tests {
    use super::*;

    fn rec(key: &str, bucket: Option<&str>, op: &str, error: Option<&str>) -> UsageRecord {
        UsageRecord {
            time_ms: 1,
            access_key: key.into(),
            owner: format!("owner-of-{key}"),
            bucket: bucket.map(str::to_string),
            operation: op.into(),
            status: if error.is_some() { 404 } else { 200 },
            error: error.map(str::to_string),
            bytes_in: if op == "PutObject" { 10 } else { 0 },
            bytes_out: if op == "GetObject" && error.is_none() {
                7
            } else {
                0
            },
            duration_ms: 3,
            request_id: "r".into(),
        }
    }

    fn mix() -> Vec<UsageRecord> {
        vec![
            rec("A", Some("b1"), "PutObject", None),
            rec("A", Some("b1"), "PutObject", None),
            rec("A", Some("b1"), "GetObject", None),
            rec("B", Some("b2"), "GetObject", Some("NoSuchKey")),
            rec("B", None, "ListBuckets", None),
        ]
    }

    #[test]
    fn sums_per_key_and_per_operation() {
        let mut by_key = Summary::new(GroupBy::Key);
        let mut by_op = Summary::new(GroupBy::Operation);
        for r in mix() {
            by_key.add(&r);
            by_op.add(&r);
        }
        let keys: Vec<_> = by_key
            .rows()
            .iter()
            .map(|t| {
                (
                    t.group.as_str(),
                    t.requests,
                    t.errors,
                    t.bytes_in,
                    t.bytes_out,
                    t.duration_ms,
                )
            })
            .collect();
        assert_eq!(keys, [("A", 3, 0, 20, 7, 9), ("B", 2, 1, 0, 0, 6)]);
        let ops: Vec<_> = by_op
            .rows()
            .iter()
            .map(|t| (t.group.as_str(), t.requests, t.errors))
            .collect();
        assert_eq!(
            ops,
            [
                ("GetObject", 2, 1),
                ("ListBuckets", 1, 0),
                ("PutObject", 2, 0)
            ]
        );
    }

    #[test]
    fn groups_by_bucket_and_owner() {
        let mut by_bucket = Summary::new(GroupBy::Bucket);
        let mut by_owner = Summary::new(GroupBy::Owner);
        for r in mix() {
            by_bucket.add(&r);
            by_owner.add(&r);
        }
        let buckets: Vec<_> = by_bucket
            .rows()
            .iter()
            .map(|t| (t.group.clone(), t.requests))
            .collect();
        assert_eq!(
            buckets,
            [("-".into(), 1), ("b1".into(), 3), ("b2".to_string(), 1)]
        );
        let owners: Vec<_> = by_owner.rows().iter().map(|t| t.group.clone()).collect();
        assert_eq!(owners, ["owner-of-A", "owner-of-B"]);
        let table = by_bucket.table();
        assert!(table.starts_with("BUCKET"), "{table}");
        assert_eq!(table.lines().count(), 4, "{table}");
    }

    #[test]
    fn parses_since_and_by() {
        assert_eq!(parse_since("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_since("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_since("2d"), Ok(Duration::from_secs(2 * 86400)));
        assert_eq!(parse_since("45s"), Ok(Duration::from_secs(45)));
        for bad in ["", "10", "h", "1x", "-1h", "99999999999999999999d"] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
        assert_eq!("operation".parse(), Ok(GroupBy::Operation));
        assert!("keys".parse::<GroupBy>().is_err());
    }
}
