//! CPU time and peak RSS of watched processes, from /proc (Linux).

use crate::report::ProcReport;
use std::collections::BTreeMap;

/// Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux).
const TICKS_PER_S: f64 = 100.0;

#[derive(Debug, Clone, PartialEq)]
pub struct Stat {
    pub name: String,
    pub ppid: u32,
    /// utime + stime in ticks.
    pub cpu_ticks: u64,
}

/// Parse the text of /proc/<pid>/stat.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.to_string();
    // Fields after the command: state(3) ppid(4) ... utime(14) stime(15).
    let rest: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    let ppid = rest.get(1)?.parse().ok()?;
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some(Stat {
        name,
        ppid,
        cpu_ticks: utime + stime,
    })
}

/// A `kB` field (VmHWM, VmRSS) of /proc/<pid>/status, in KiB.
pub fn parse_status_kb(text: &str, field: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

pub fn stat(pid: u32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn status_kb(pid: u32, field: &str) -> Option<u64> {
    parse_status_kb(
        &std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?,
        field,
    )
}

/// Current resident set size of `pid`, in KiB.
pub fn rss_kb(pid: u32) -> Option<u64> {
    status_kb(pid, "VmRSS")
}

/// `pid` and all its descendants.
pub fn tree(pid: u32) -> Vec<u32> {
    let mut parents: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            if let Some(p) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            {
                if let Some(s) = stat(p) {
                    parents.entry(s.ppid).or_default().push(p);
                }
            }
        }
    }
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        if let Some(kids) = parents.get(&out[i]) {
            out.extend(kids.iter().copied());
        }
        i += 1;
    }
    out
}

/// CPU and memory watch over a set of pids for one measured interval.
#[derive(Debug, Clone)]
pub struct Watch {
    start: Vec<(u32, Stat)>,
    peak_kb: BTreeMap<u32, u64>,
}

impl Watch {
    /// Start watching: resets each process's VmHWM (best effort) and takes CPU times.
    pub fn start(pids: &[u32]) -> Watch {
        let mut start = Vec::new();
        for &pid in pids {
            // "5" resets the peak RSS counter (works for our own children).
            let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
            if let Some(s) = stat(pid) {
                start.push((pid, s));
            }
        }
        Watch {
            start,
            peak_kb: BTreeMap::new(),
        }
    }

    /// Sample the current RSS (call periodically; covers a failed VmHWM reset).
    pub fn sample(&mut self) {
        for (pid, _) in &self.start {
            if let Some(kb) = rss_kb(*pid) {
                let e = self.peak_kb.entry(*pid).or_default();
                *e = (*e).max(kb);
            }
        }
    }

    pub fn finish(mut self, ops: u64) -> Vec<ProcReport> {
        self.sample();
        self.start
            .iter()
            .filter_map(|(pid, s0)| {
                let s1 = stat(*pid)?;
                let cpu_s = s1.cpu_ticks.saturating_sub(s0.cpu_ticks) as f64 / TICKS_PER_S;
                let hwm = status_kb(*pid, "VmHWM").unwrap_or(0);
                let peak = hwm.max(self.peak_kb.get(pid).copied().unwrap_or(0));
                Some(ProcReport {
                    pid: *pid,
                    name: s1.name,
                    cpu_s,
                    cpu_us_per_op: if ops > 0 {
                        cpu_s * 1e6 / ops as f64
                    } else {
                        0.0
                    },
                    peak_rss_mib: peak as f64 / 1024.0,
                })
            })
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_spaces_in_name() {
        let line =
            "1234 (nats server) S 99 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 1 2 3";
        let s = parse_stat(line).unwrap();
        assert_eq!(s.name, "nats server");
        assert_eq!(s.ppid, 99);
        assert_eq!(s.cpu_ticks, 300);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn parses_status_fields() {
        let text = "Name:\tjetgate\nVmPeak:\t  9999 kB\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n";
        assert_eq!(parse_status_kb(text, "VmHWM"), Some(20480));
        assert_eq!(parse_status_kb(text, "VmRSS"), Some(10240));
        assert_eq!(parse_status_kb(text, "VmSwap"), None);
    }

    #[test]
    fn own_process_is_watchable() {
        let me = std::process::id();
        assert!(tree(me).contains(&me));
        let w = Watch::start(&[me]);
        let r = w.finish(10);
        assert_eq!(r.len(), 1);
        assert!(r[0].peak_rss_mib > 0.0);
    }
}
