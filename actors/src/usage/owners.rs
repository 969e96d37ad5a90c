//! The `owner` label of the per-owner byte counters. Prometheus keeps one series per
//! label value for the life of the process, so an unbounded set of owners would grow
//! its memory (and every scrape) without end: the first [`MAX_OWNER_LABELS`] owners a
//! worker sees get their own value, every later one is counted under [`OTHER_OWNERS`].

use std::collections::HashSet;
use std::sync::Mutex;

/// How many owners get their own label value per worker process.
pub const MAX_OWNER_LABELS: usize = 100;
/// The label value of every owner past the first [`MAX_OWNER_LABELS`].
pub const OTHER_OWNERS: &str = "other";

/// The owners that have their own label value (a worker's role state).
#[derive(Debug)]
pub struct OwnerLabels {
    cap: usize,
    named: Mutex<HashSet<String>>,
}

impl Default for OwnerLabels {
    fn default() -> Self {
        OwnerLabels::with_cap(MAX_OWNER_LABELS)
    }
}

impl OwnerLabels {
    pub fn with_cap(cap: usize) -> Self {
        OwnerLabels {
            cap,
            named: Mutex::new(HashSet::new()),
        }
    }

    /// The label value of `owner`: itself while there is room or it already has one,
    /// else [`OTHER_OWNERS`]. An owner literally named `other` shares that series.
    pub fn label(&self, owner: &str) -> String {
        let mut named = self.named.lock().unwrap_or_else(|p| p.into_inner());
        if named.contains(owner) {
            return owner.to_string();
        }
        if named.len() < self.cap {
            named.insert(owner.to_string());
            return owner.to_string();
        }
        OTHER_OWNERS.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_owners_keep_their_label_and_the_rest_are_other() {
        let labels = OwnerLabels::with_cap(2);
        assert_eq!(labels.label("a"), "a");
        assert_eq!(labels.label("b"), "b");
        assert_eq!(labels.label("c"), OTHER_OWNERS);
        // Seen owners keep their value after the cap is reached; new ones never get one.
        assert_eq!(labels.label("a"), "a");
        assert_eq!(labels.label("d"), OTHER_OWNERS);
        assert_eq!(labels.label("c"), OTHER_OWNERS);
    }

    #[test]
    fn the_default_cap_is_the_constant() {
        let labels = OwnerLabels::default();
        for i in 0..MAX_OWNER_LABELS {
            assert_eq!(labels.label(&format!("o{i}")), format!("o{i}"));
        }
        assert_eq!(labels.label("one-too-many"), OTHER_OWNERS);
    }
}
