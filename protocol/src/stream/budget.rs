//! The receive memory all body streams of a process share ([`StreamBudget`]), and the
//! batches of direct GETs it bounds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Receive memory shared by every body stream of a process: with N streams open each
/// gets `total / N` (between one frame and the full window), so 64 concurrent uploads
/// hold about `total`, not 64 windows.
#[derive(Debug)]
pub struct StreamBudget {
    total: u64,
    open: AtomicU64,
    /// KiB of direct-GET batches asked for and not yet handed out, over all downloads:
    /// a batch is at least one whole chunk, so window shares alone would not bound them
    /// (64 downloads × 1 MiB reached nats-server's 64 MiB per-connection limit, which
    /// drops the connection as a slow consumer).
    batches: Arc<tokio::sync::Semaphore>,
}

impl StreamBudget {
    pub fn new(total: u64) -> Arc<Self> {
        let kib = usize::try_from(total / 1024)
            .unwrap_or(usize::MAX)
            .clamp(1, tokio::sync::Semaphore::MAX_PERMITS);
        Arc::new(StreamBudget {
            total,
            open: AtomicU64::new(0),
            batches: Arc::new(tokio::sync::Semaphore::new(kib)),
        })
    }

    /// Waits until `bytes` more of batches fit in the budget (a batch larger than the
    /// whole budget waits for all of it); the reservation ends when dropped.
    pub async fn reserve_batch(&self, bytes: u64) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let kib = (bytes.div_ceil(1024)).clamp(1, self.total.div_ceil(1024).max(1));
        let kib = u32::try_from(kib).unwrap_or(u32::MAX);
        self.batches.clone().acquire_many_owned(kib).await.ok()
    }

    pub(super) fn share(&self, max: u64, min: u64) -> u64 {
        let open = self.open.load(Ordering::Relaxed).max(1);
        (self.total / open).min(max).max(min)
    }

    /// Streams open now.
    pub fn open_streams(&self) -> u64 {
        self.open.load(Ordering::Relaxed)
    }
}

/// Counts one open receiving stream against its budget while alive.
pub(crate) struct BudgetSlot(Option<Arc<StreamBudget>>);

impl BudgetSlot {
    pub(crate) fn take(budget: &Option<Arc<StreamBudget>>) -> Self {
        if let Some(b) = budget {
            b.open.fetch_add(1, Ordering::Relaxed);
        }
        BudgetSlot(budget.clone())
    }
}

impl Drop for BudgetSlot {
    fn drop(&mut self) {
        if let Some(b) = &self.0 {
            b.open.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::{StreamConfig, FRAME_SIZE};

    #[test]
    fn batch_reservations_never_exceed_the_budget() {
        use futures::FutureExt;
        let budget = StreamBudget::new(4 << 20);
        let a = budget.reserve_batch(3 << 20).now_or_never().flatten();
        assert!(a.is_some(), "3 of 4 MiB fit");
        assert!(
            budget.reserve_batch(2 << 20).now_or_never().is_none(),
            "2 more MiB wait"
        );
        drop(a);
        assert!(budget
            .reserve_batch(2 << 20)
            .now_or_never()
            .flatten()
            .is_some());
        // A batch larger than the whole budget waits for all of it, not forever.
        assert!(budget
            .reserve_batch(64 << 20)
            .now_or_never()
            .flatten()
            .is_some());
    }

    #[test]
    fn budget_shares_the_window_between_open_streams() {
        let budget = StreamBudget::new(8 << 20);
        let cfg = StreamConfig {
            budget: Some(budget.clone()),
            ..StreamConfig::default()
        };
        assert_eq!(cfg.window_now(), 4 << 20, "one stream: the full window");
        let slots: Vec<_> = (0..8).map(|_| BudgetSlot::take(&cfg.budget)).collect();
        assert_eq!(budget.open_streams(), 8);
        assert_eq!(cfg.window_now(), 1 << 20);
        let many: Vec<_> = (0..100).map(|_| BudgetSlot::take(&cfg.budget)).collect();
        assert_eq!(cfg.window_now(), FRAME_SIZE as u64, "never below one frame");
        drop(many);
        drop(slots);
        assert_eq!(budget.open_streams(), 0);
        assert_eq!(StreamConfig::default().window_now(), 4 << 20);
    }
}
