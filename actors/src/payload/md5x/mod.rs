//! Multi-buffer MD5 for upload ETags: many concurrent streams hashed in lockstep.
//!
//! A stream hashes inline (scalar, on the caller's thread) until it has seen
//! [`INLINE_LIMIT`] bytes, so small objects never pay a thread hop. Past that it hands
//! its state to one shared OS thread, "jetgate-md5", which keeps up to 16 lanes: each
//! wake-up it takes up to [`LANE_BUDGET`] bytes from up to 16 streams (round robin) and
//! hashes them together with the AVX-512 kernel (256-bit registers when it took 8
//! streams or fewer), in runs of blocks while the set of lanes with data stays the
//! same; a lone lane, or a CPU without AVX-512F, uses the scalar compress. `update` never blocks; `ready` holds writers once more than
//! [`BACKLOG_CAP`] bytes of a stream wait unhashed, bounding memory.
//!
//! Robustness: the thread works on copies and commits each lane's state under the lock
//! in one step, so the shared entry is always a consistent checkpoint plus the queue of
//! unhashed `Bytes`. If the thread dies, a flag is raised and every stream finishes
//! inline from its checkpoint; a poisoned lock is entered anyway for the same reason.

#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(not(target_arch = "x86_64"))]
mod avx512 {
    //! Stand-in without SIMD: streams stay inline (see `Hub::global`).
    pub(super) fn available() -> bool {
        false
    }
    pub(super) fn compress16(_: &mut [[u32; 16]; 4], _: &[&[u8]; 16], _: usize) -> bool {
        false
    }
    pub(super) fn compress8(_: &mut [[u32; 16]; 4], _: &[&[u8]; 16], _: usize) -> bool {
        false
    }
}
#[cfg(test)]
mod lanes_tests;
mod scalar;
#[cfg(test)]
mod tests;
mod worker;

use bytes::{Buf, Bytes};
use scalar::{Md5, BLOCK};
use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Once, OnceLock, PoisonError};
use tokio::sync::Notify;

/// Bytes a stream hashes inline before moving to the shared hasher.
pub const INLINE_LIMIT: u64 = 32 * 1024;
/// Unhashed bytes per stream above which [`Md5Stream::ready`] waits.
pub const BACKLOG_CAP: usize = 256 * 1024;
/// Bytes the hasher takes from one stream per wake-up; bounds the time before it
/// reports progress (and frees memory) to waiting writers.
pub const LANE_BUDGET: usize = 128 * 1024;

/// Streaming MD5 whose bulk work may run on the shared multi-buffer hashing thread.
#[derive(Debug)]
pub struct Md5Stream {
    mode: Mode,
    /// Where to hand off past the inline limit; `None` = the process-wide hasher.
    hub: Option<&'static Hub>,
}

#[derive(Debug)]
enum Mode {
    Inline(Md5),
    Shared {
        hub: &'static Hub,
        slot: usize,
        notify: Arc<Notify>,
    },
    /// Finalized; only seen by `Drop`.
    Done,
}

impl Default for Md5Stream {
    fn default() -> Self {
        Self::new()
    }
}

impl Md5Stream {
    pub fn new() -> Self {
        Self {
            mode: Mode::Inline(Md5::default()),
            hub: None,
        }
    }

    /// A stream handing off to `hub` instead of the global hasher (tests).
    #[cfg(test)]
    fn with_hub(hub: &'static Hub) -> Self {
        Self {
            mode: Mode::Inline(Md5::default()),
            hub: Some(hub),
        }
    }

    /// Adds `data` (no copy: the Bytes is kept until hashed). Never blocks.
    pub fn update(&mut self, data: Bytes) {
        if data.is_empty() {
            return;
        }
        let data = match &mut self.mode {
            Mode::Inline(md5) => {
                let seen = md5.len.saturating_add(data.len() as u64);
                let hub = match self.hub {
                    Some(hub) => Some(hub),
                    None if seen > INLINE_LIMIT => Hub::global(),
                    None => None,
                };
                match hub {
                    Some(hub) if seen > INLINE_LIMIT => match hub.register(md5, data) {
                        Ok((slot, notify)) => {
                            self.mode = Mode::Shared { hub, slot, notify };
                            return;
                        }
                        Err(data) => data,
                    },
                    _ => data,
                }
            }
            Mode::Shared { hub, slot, .. } => match hub.push(*slot, data) {
                Ok(()) => return,
                Err(data) => data,
            },
            Mode::Done => return,
        };
        // Small stream, or the hasher is gone: hash here.
        if let Mode::Inline(md5) = self.go_inline() {
            md5.update(&data);
        }
    }

    /// Resolves once this stream's un-hashed backlog is below its cap (BACKLOG_CAP,
    /// 256 KiB): callers await it after each update so memory stays bounded.
    pub async fn ready(&mut self) {
        loop {
            let Mode::Shared { hub, slot, notify } = &self.mode else {
                return;
            };
            let notified = notify.notified();
            match hub.check(*slot, |e| e.queued < BACKLOG_CAP) {
                Check::Yes => return,
                Check::No => notified.await,
                Check::Dead => break,
            }
        }
        self.go_inline();
    }

    /// The digest of everything updated so far.
    pub async fn finalize(mut self) -> [u8; 16] {
        while let Mode::Shared { hub, slot, notify } = &self.mode {
            let notified = notify.notified();
            // Wait for the hasher to drain the whole blocks; the tail is ours.
            match hub.check(*slot, |e| !e.busy && e.ckpt.buf_len + e.queued < BLOCK) {
                Check::Yes | Check::Dead => break,
                Check::No => notified.await,
            }
        }
        self.go_inline();
        match std::mem::replace(&mut self.mode, Mode::Done) {
            Mode::Inline(md5) => md5.finish(),
            // go_inline never leaves Shared, and Done only exists after this point.
            Mode::Shared { .. } | Mode::Done => Md5::default().finish(),
        }
    }

    /// Takes the stream back from the hasher (if it has it) and hashes its queue here.
    fn go_inline(&mut self) -> &mut Mode {
        if let Mode::Shared { hub, slot, .. } = self.mode {
            let mut md5 = Md5::default();
            if let Some(entry) = hub.remove(slot) {
                md5 = entry.ckpt;
                for piece in &entry.queue {
                    md5.update(piece);
                }
            }
            self.mode = Mode::Inline(md5);
        }
        &mut self.mode
    }
}

impl Drop for Md5Stream {
    fn drop(&mut self) {
        if let Mode::Shared { hub, slot, .. } = self.mode {
            hub.abandon(slot);
        }
    }
}

/// The shared hasher: stream entries, the thread's wake-up, and its liveness.
struct Hub {
    inner: Mutex<Inner>,
    work: Condvar,
    /// Raised when the thread is gone (or never started): streams finish inline.
    dead: AtomicBool,
    /// Makes the thread panic at its next batch (tests of the fallback).
    #[cfg(test)]
    crash: AtomicBool,
    /// Keeps the thread off the kernel, so tests run the scalar lanes on any CPU.
    #[cfg(test)]
    scalar_only: AtomicBool,
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("dead", &self.dead.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Inner {
    entries: Vec<Option<Entry>>,
    free: Vec<usize>,
    /// Where the next round-robin pick starts, so streams past 16 get their turn.
    cursor: usize,
    /// The thread waits on `work`; only then is notifying it worth a syscall.
    sleeping: bool,
}

/// One handed-off stream: a checkpoint plus the data not yet in it.
struct Entry {
    /// State after every byte before `queue` (whole blocks compressed, tail in `buf`).
    ckpt: Md5,
    queue: VecDeque<Bytes>,
    queued: usize,
    /// The thread holds a copy and will commit it; the handle must not take the entry.
    busy: bool,
    /// The handle was dropped while busy; the thread frees the entry on commit.
    closed: bool,
    notify: Arc<Notify>,
}

impl Entry {
    fn eligible(&self) -> bool {
        !self.busy && !self.closed && self.ckpt.buf_len + self.queued >= BLOCK
    }
}

enum Check {
    Yes,
    No,
    Dead,
}

impl Hub {
    fn new() -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            work: Condvar::new(),
            dead: AtomicBool::new(false),
            #[cfg(test)]
            crash: AtomicBool::new(false),
            #[cfg(test)]
            scalar_only: AtomicBool::new(false),
        }
    }

    /// Whether the thread hashes with the AVX-512 kernel.
    fn simd(&self) -> bool {
        #[cfg(test)]
        if self.scalar_only.load(Ordering::SeqCst) {
            return false;
        }
        avx512::available()
    }

    /// The process-wide hasher, its thread started on first use; `None` once it died.
    fn global() -> Option<&'static Hub> {
        static HUB: OnceLock<Hub> = OnceLock::new();
        static START: Once = Once::new();
        // Without the kernel one scalar thread would cap all hashing at one core: the
        // callers' own threads do better.
        if !avx512::available() {
            return None;
        }
        let hub = HUB.get_or_init(Hub::new);
        START.call_once(|| hub.start("jetgate-md5"));
        (!hub.is_dead()).then_some(hub)
    }

    fn start(&'static self, name: &str) {
        let spawned = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || worker::run(self));
        if spawned.is_err() {
            self.dead.store(true, Ordering::SeqCst);
        }
    }

    fn is_dead(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    /// Entries are only changed in steps that cannot panic halfway, so a lock
    /// poisoned by a panic elsewhere still guards consistent data.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wake(&self, inner: &mut Inner) {
        if inner.sleeping {
            inner.sleeping = false;
            self.work.notify_one();
        }
    }

    /// Adds a stream continuing from `ckpt` with `data` queued; gives `data` back if dead.
    fn register(&self, ckpt: &Md5, data: Bytes) -> Result<(usize, Arc<Notify>), Bytes> {
        let mut inner = self.lock();
        if self.is_dead() {
            return Err(data);
        }
        let notify = Arc::new(Notify::new());
        let entry = Entry {
            ckpt: ckpt.clone(),
            queued: data.len(),
            queue: VecDeque::from([data]),
            busy: false,
            closed: false,
            notify: Arc::clone(&notify),
        };
        let slot = match inner.free.pop() {
            Some(slot) => slot,
            None => {
                inner.entries.push(None);
                inner.entries.len() - 1
            }
        };
        if let Some(place) = inner.entries.get_mut(slot) {
            *place = Some(entry);
        }
        self.wake(&mut inner);
        Ok((slot, notify))
    }

    /// Queues `data` on a stream; gives it back if the hasher is dead.
    fn push(&self, slot: usize, data: Bytes) -> Result<(), Bytes> {
        let mut inner = self.lock();
        if self.is_dead() {
            return Err(data);
        }
        let Some(entry) = inner.entries.get_mut(slot).and_then(Option::as_mut) else {
            return Err(data);
        };
        entry.queued += data.len();
        entry.queue.push_back(data);
        if entry.eligible() {
            self.wake(&mut inner);
        }
        Ok(())
    }

    fn check(&self, slot: usize, cond: impl FnOnce(&Entry) -> bool) -> Check {
        let inner = self.lock();
        if self.is_dead() {
            return Check::Dead;
        }
        match inner.entries.get(slot).and_then(Option::as_ref) {
            Some(entry) if cond(entry) => Check::Yes,
            Some(_) => Check::No,
            None => Check::Dead,
        }
    }

    /// Takes an entry out; only called when the thread has no copy of it (or is dead).
    fn remove(&self, slot: usize) -> Option<Entry> {
        let mut inner = self.lock();
        let entry = inner.entries.get_mut(slot).and_then(Option::take);
        if entry.is_some() {
            inner.free.push(slot);
        }
        entry
    }

    /// A dropped handle: free the entry now, or let the thread free it on commit.
    fn abandon(&self, slot: usize) {
        let mut inner = self.lock();
        let dead = self.is_dead();
        let Some(place) = inner.entries.get_mut(slot) else {
            return;
        };
        match place {
            Some(entry) if entry.busy && !dead => entry.closed = true,
            Some(_) => {
                *place = None;
                inner.free.push(slot);
            }
            None => {}
        }
    }
}

/// Drops the first `n` bytes of a queue.
fn consume(queue: &mut VecDeque<Bytes>, mut n: usize) {
    while n > 0 {
        let Some(front) = queue.front_mut() else {
            return;
        };
        if front.len() <= n {
            n -= front.len();
            queue.pop_front();
        } else {
            front.advance(n);
            n = 0;
        }
    }
}
