//! External programs a test needs, and tests/optional.txt: the one list of tests that
//! may skip when theirs is missing. Every other test fails without it.

use std::io::Write;
use std::path::PathBuf;

use super::which;

/// tests/optional.txt, which scripts/test.sh prints at its start.
pub const OPTIONAL_LIST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/optional.txt");

/// `(test, reason)` for every test tests/optional.txt lists. A test is named by its file
/// under tests/ and its function: `browser.rs::chromium_presigned_put_and_form_post`,
/// `py/test_boto3_features.py::test_aws_cli`.
pub fn optional_tests() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(OPTIONAL_LIST)
        .unwrap_or_else(|e| panic!("read {OPTIONAL_LIST}: {e}"));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (test, reason) = l
                .split_once(char::is_whitespace)
                .map(|(t, r)| (t, r.trim()))
                .unwrap_or((l, ""));
            assert!(
                test.contains("::") && !reason.is_empty(),
                "{OPTIONAL_LIST}: want `<file>::<test> <reason>`, got {l:?}"
            );
            (test.to_string(), reason.to_string())
        })
        .collect()
}

/// The first of `programs` found on PATH, for the test `test` (named as in
/// tests/optional.txt). When none is found: `None` and a SKIPPED line that the test
/// harness does not capture, if the list names the test; otherwise a panic.
pub fn require_tool(test: &str, programs: &[&str]) -> Option<PathBuf> {
    if let Some(path) = programs.iter().find_map(|p| which(p)) {
        return Some(path);
    }
    let wanted = programs.join(" or ");
    match optional_tests().into_iter().find(|(t, _)| t == test) {
        Some((_, reason)) => {
            report_skip(&format!(
                "{test}: {wanted} not found on PATH; optional ({reason})"
            ));
            None
        }
        None => panic!(
            "{test} needs {wanted}, which is not on PATH: install it with scripts/setup.sh \
             (as root for Debian packages). Only a test listed in tests/optional.txt may skip."
        ),
    }
}

/// Tells of a skip where it cannot be missed: straight to stderr (libtest captures only
/// `print!`/`eprint!`), and into target/tmp/skipped-tests.txt, which scripts/test.sh
/// prints at its end.
pub fn report_skip(what: &str) {
    let line = format!("SKIPPED {what}");
    let _ = writeln!(std::io::stderr(), "\n*** {line} ***\n");
    let file = super::scratch_dir().join("skipped-tests.txt");
    let appended = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&file)
        .and_then(|mut f| writeln!(f, "{line}"));
    if let Err(e) = appended {
        let _ = writeln!(
            std::io::stderr(),
            "could not record the skip in {file:?}: {e}"
        );
    }
}
