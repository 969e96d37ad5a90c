//! Parsing of the workload flags: operations, mixes, sizes and durations.

use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Put,
    Get,
    Head,
    List,
    Delete,
    /// A multipart upload (create, parts in parallel, complete); raw mode: one put.
    Multipart,
}

impl Op {
    pub const ALL: [Op; 6] = [
        Op::Put,
        Op::Get,
        Op::Head,
        Op::List,
        Op::Delete,
        Op::Multipart,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Op::Put => "put",
            Op::Get => "get",
            Op::Head => "head",
            Op::List => "list",
            Op::Delete => "delete",
            Op::Multipart => "multipart",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn parse(s: &str) -> Result<Op> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "put" => Op::Put,
            "get" => Op::Get,
            "head" => Op::Head,
            "list" => Op::List,
            "delete" | "del" => Op::Delete,
            "multipart" | "mpu" => Op::Multipart,
            other => bail!("unknown operation {other:?} (put, get, head, list, delete, multipart)"),
        })
    }
}

/// Weighted operation mix, e.g. `get:6,put:3,delete:1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix {
    pub weights: Vec<(Op, u32)>,
    total: u32,
}

impl Mix {
    pub fn single(op: Op) -> Mix {
        Mix {
            weights: vec![(op, 1)],
            total: 1,
        }
    }

    pub fn parse(s: &str) -> Result<Mix> {
        let mut weights = Vec::new();
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let (op, w) = part
                .split_once(':')
                .with_context(|| format!("mix entry {part:?} is not op:weight"))?;
            let w: u32 = w
                .trim()
                .parse()
                .with_context(|| format!("mix weight {w:?} is not a number"))?;
            if w > 0 {
                weights.push((Op::parse(op)?, w));
            }
        }
        let total = weights.iter().map(|(_, w)| *w).sum();
        if total == 0 {
            bail!("mix {s:?} has no operation with a positive weight");
        }
        Ok(Mix { weights, total })
    }

    /// Pick an operation from a uniform random number.
    pub fn pick(&self, r: u64) -> Op {
        let mut x = (r % u64::from(self.total)) as u32;
        for (op, w) in &self.weights {
            if x < *w {
                return *op;
            }
            x -= w;
        }
        self.weights[0].0
    }

    pub fn contains(&self, op: Op) -> bool {
        self.weights.iter().any(|(o, _)| *o == op)
    }

    pub fn label(&self) -> String {
        if self.weights.len() == 1 {
            return self.weights[0].0.name().to_string();
        }
        self.weights
            .iter()
            .map(|(o, w)| format!("{}:{w}", o.name()))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Object size: fixed, or a weighted distribution (`dist:4KiB:70,1MiB:30`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SizeSpec {
    Fixed(u64),
    Dist(Vec<(u64, u32)>),
}

impl SizeSpec {
    pub fn parse(s: &str) -> Result<SizeSpec> {
        let s = s.trim();
        if let Some(rest) = s.strip_prefix("dist:") {
            let mut v = Vec::new();
            for part in rest.split(',').filter(|p| !p.trim().is_empty()) {
                let (size, w) = part
                    .rsplit_once(':')
                    .with_context(|| format!("size entry {part:?} is not size:weight"))?;
                let w: u32 = w
                    .trim()
                    .parse()
                    .with_context(|| format!("size weight {w:?} is not a number"))?;
                if w > 0 {
                    v.push((parse_bytes(size)?, w));
                }
            }
            if v.is_empty() {
                bail!("size distribution {s:?} is empty");
            }
            Ok(SizeSpec::Dist(v))
        } else {
            Ok(SizeSpec::Fixed(parse_bytes(s)?))
        }
    }

    /// The size of an object, a pure function of its key hash.
    pub fn for_hash(&self, h: u64) -> u64 {
        match self {
            SizeSpec::Fixed(n) => *n,
            SizeSpec::Dist(v) => {
                let total: u64 = v.iter().map(|(_, w)| u64::from(*w)).sum();
                let mut x = h % total.max(1);
                for (size, w) in v {
                    if x < u64::from(*w) {
                        return *size;
                    }
                    x -= u64::from(*w);
                }
                v[0].0
            }
        }
    }

    pub fn max(&self) -> u64 {
        match self {
            SizeSpec::Fixed(n) => *n,
            SizeSpec::Dist(v) => v.iter().map(|(s, _)| *s).max().unwrap_or(0),
        }
    }

    pub fn mean(&self) -> f64 {
        match self {
            SizeSpec::Fixed(n) => *n as f64,
            SizeSpec::Dist(v) => {
                let total: f64 = v.iter().map(|(_, w)| f64::from(*w)).sum();
                v.iter()
                    .map(|(s, w)| *s as f64 * f64::from(*w))
                    .sum::<f64>()
                    / total
            }
        }
    }

    pub fn label(&self) -> String {
        match self {
            SizeSpec::Fixed(n) => fmt_bytes(*n),
            SizeSpec::Dist(v) => format!(
                "dist:{}",
                v.iter()
                    .map(|(s, w)| format!("{}:{w}", fmt_bytes(*s)))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }
}

/// `4KiB`, `64MiB`, `1GiB`, `1000`, `10KB` (decimal), `2M` (binary).
pub fn parse_bytes(s: &str) -> Result<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .with_context(|| format!("size {s:?} does not start with a number"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        other => bail!("unknown size unit {other:?} in {s:?}"),
    };
    n.checked_mul(mult)
        .with_context(|| format!("size {s:?} is too large"))
}

pub fn fmt_bytes(n: u64) -> String {
    for (unit, shift) in [("GiB", 30), ("MiB", 20), ("KiB", 10)] {
        if n >= 1 << shift && n & ((1 << shift) - 1) == 0 {
            return format!("{}{unit}", n >> shift);
        }
    }
    format!("{n}B")
}

/// `10s`, `500ms`, `2m`, `1.5s`, `3` (seconds).
pub fn parse_duration(s: &str) -> Result<Duration> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .with_context(|| format!("duration {s:?} does not start with a number"))?;
    let secs = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        other => bail!("unknown duration unit {other:?} in {s:?}"),
    };
    if !secs.is_finite() || secs < 0.0 {
        bail!("duration {s:?} is not valid");
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("4KiB").unwrap(), 4096);
        assert_eq!(parse_bytes("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("10KB").unwrap(), 10_000);
        assert_eq!(parse_bytes("123").unwrap(), 123);
        assert!(parse_bytes("4XB").is_err());
        assert!(parse_bytes("KiB").is_err());
        assert_eq!(fmt_bytes(4096), "4KiB");
        assert_eq!(fmt_bytes(64 << 20), "64MiB");
        assert_eq!(fmt_bytes(1000), "1000B");
    }

    #[test]
    fn size_dist() {
        let s = SizeSpec::parse("dist:4KiB:70,1MiB:30").unwrap();
        assert_eq!(s, SizeSpec::Dist(vec![(4096, 70), (1 << 20, 30)]));
        assert_eq!(s.max(), 1 << 20);
        assert_eq!(s.for_hash(0), 4096);
        assert_eq!(s.for_hash(69), 4096);
        assert_eq!(s.for_hash(70), 1 << 20);
        assert_eq!(s.for_hash(199), 1 << 20);
        assert_eq!(s.label(), "dist:4KiB:70,1MiB:30");
        let f = SizeSpec::parse("64MiB").unwrap();
        assert_eq!(f, SizeSpec::Fixed(64 << 20));
        assert!(SizeSpec::parse("dist:").is_err());
        assert!(SizeSpec::parse("dist:4KiB").is_err());
    }

    #[test]
    fn mixes() {
        let m = Mix::parse("get:6,put:3,delete:1").unwrap();
        assert_eq!(m.weights, vec![(Op::Get, 6), (Op::Put, 3), (Op::Delete, 1)]);
        let mut counts = [0u32; 5];
        for r in 0..10 {
            counts[m.pick(r).index()] += 1;
        }
        assert_eq!(counts[Op::Get.index()], 6);
        assert_eq!(counts[Op::Put.index()], 3);
        assert_eq!(counts[Op::Delete.index()], 1);
        assert!(m.contains(Op::Delete) && !m.contains(Op::Head));
        assert_eq!(m.label(), "get:6,put:3,delete:1");
        assert!(Mix::parse("get:0").is_err());
        assert!(Mix::parse("fly:1").is_err());
        assert!(Mix::parse("get").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("x").is_err());
    }
}
