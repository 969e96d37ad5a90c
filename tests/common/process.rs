//! Child processes under the watchdog: spawning, output capture, readiness by output
//! line, signals and `/proc` readings.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

const WATCHDOG: &str = r#"exec 3<&0
"$@" 2>&1 &
p=$!
echo "__harness_pid $p"
( read _ <&3; kill -TERM "$p" 2>/dev/null ) &
w=$!
wait "$p"
s=$?
echo "__harness_exit $s"
kill "$w" 2>/dev/null
exit 0
"#;

#[derive(Default)]
struct Output {
    lines: Vec<String>,
    exit: Option<String>,
    eof: bool,
}

/// One child process under the watchdog, with its output captured line by line.
pub struct Proc {
    pub(super) name: String,
    watchdog: Child,
    stdin: Option<ChildStdin>,
    pid: u32,
    out: Arc<(Mutex<Output>, Condvar)>,
    log: PathBuf,
}

impl Proc {
    /// Starts `program args` with output logged to `log`.
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[String],
        envs: &[(&str, &str)],
        log: PathBuf,
    ) -> Proc {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(WATCHDOG)
            .arg("sh")
            .arg(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        // A failing test's log should name the request each line belongs to.
        cmd.env("JETGATE_LOG_SPANS", "true");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut watchdog = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name} ({}): {e}", program.display()));
        let stdin = watchdog.stdin.take();
        let stdout = watchdog.stdout.take().expect("piped stdout");
        let out: Arc<(Mutex<Output>, Condvar)> = Arc::default();
        let mut file = File::create(&log).expect("create log file");
        eprintln!(
            "[harness] {name}: {} {} (log {})",
            program.display(),
            args.join(" "),
            log.display()
        );
        let out2 = out.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let _ = file.write_all(&buf);
                        let line = String::from_utf8_lossy(&buf).trim_end().to_string();
                        let (m, cv) = &*out2;
                        let mut o = m.lock().expect("output lock");
                        if let Some(code) = line.strip_prefix("__harness_exit ") {
                            o.exit = Some(code.to_string());
                        }
                        o.lines.push(line);
                        cv.notify_all();
                    }
                }
            }
            let (m, cv) = &*out2;
            m.lock().expect("output lock").eof = true;
            cv.notify_all();
        });
        let mut p = Proc {
            name: name.to_string(),
            watchdog,
            stdin,
            pid: 0,
            out,
            log,
        };
        let pid_line = p.wait_for_line("__harness_pid ", Duration::from_secs(10));
        p.pid = pid_line.trim().parse().expect("watchdog pid line");
        p
    }

    /// The pid of the real child (not the watchdog).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Waits for an output line starting with `prefix`; returns the rest of the line.
    /// Panics (with the log tail) if the process exits first or the timeout passes.
    pub fn wait_for_line(&self, prefix: &str, timeout: Duration) -> String {
        self.try_wait_for_line(prefix, timeout)
            .unwrap_or_else(|why| {
                panic!(
                    "{}: waiting for {prefix:?}: {why}\n--- log tail ---\n{}",
                    self.name,
                    self.log_tail(40)
                )
            })
    }

    /// Like [`Proc::wait_for_line`] but matching `needle` anywhere in a line.
    pub fn try_wait_for_line(&self, prefix: &str, timeout: Duration) -> Result<String, String> {
        self.wait_matching(timeout, |l| l.strip_prefix(prefix).map(str::to_string))
    }

    pub fn wait_matching(
        &self,
        timeout: Duration,
        f: impl Fn(&str) -> Option<String>,
    ) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        let (m, cv) = &*self.out;
        let mut o = m.lock().expect("output lock");
        loop {
            if let Some(v) = o.lines.iter().find_map(|l| f(l)) {
                return Ok(v);
            }
            if let Some(code) = &o.exit {
                return Err(format!("process exited with status {code}"));
            }
            if o.eof {
                return Err("output closed".into());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!("timed out after {timeout:?}"));
            }
            o = cv.wait_timeout(o, deadline - now).expect("output lock").0;
        }
    }

    /// The exit status once the child has exited (`None` while it runs).
    pub fn exit_status(&self) -> Option<String> {
        self.out.0.lock().expect("output lock").exit.clone()
    }

    /// Waits until the child has exited; returns its status text.
    pub fn wait_exit(&self, timeout: Duration) -> Result<String, String> {
        self.wait_matching(timeout, |_| None)
            .or_else(|e| self.exit_status().ok_or(e))
    }

    pub fn log_tail(&self, n: usize) -> String {
        let o = self.out.0.lock().expect("output lock");
        let start = o.lines.len().saturating_sub(n);
        o.lines[start..].join("\n")
    }

    /// Sends a signal (`"KILL"`, `"TERM"`) to the real child.
    pub fn signal(&self, sig: &str) {
        if self.exit_status().is_some() {
            return;
        }
        let _ = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid.to_string())
            .stderr(Stdio::null())
            .status();
    }

    /// Peak resident set size (`VmHWM`) of the real child, in KiB.
    pub fn vm_hwm_kib(&self) -> u64 {
        proc_status_kib(self.pid, "VmHWM:")
            .unwrap_or_else(|| panic!("{}: no VmHWM for pid {}", self.name, self.pid))
    }

    /// Stops the child: SIGTERM, then SIGKILL if it has not exited within `grace`.
    pub fn stop(&mut self, grace: Duration) {
        if self.exit_status().is_none() {
            self.signal("TERM");
            if self.wait_exit(grace).is_err() {
                self.signal("KILL");
                let _ = self.wait_exit(Duration::from_secs(10));
            }
        }
        drop(self.stdin.take());
        let _ = self.watchdog.kill();
        let _ = self.watchdog.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- {} log tail ({}) ---\n{}",
                self.name,
                self.log.display(),
                self.log_tail(60)
            );
        }
        self.stop(Duration::from_secs(10));
    }
}

/// A `kB` field of `/proc/<pid>/status`.
pub fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
