//! The "jetgate-md5" thread: picks up to 16 streams, hashes their queued blocks
//! together without the lock, then commits each stream's new checkpoint.

use super::{avx512, consume, scalar, Entry, Hub, Inner, BLOCK, LANE_BUDGET};
use bytes::Bytes;
use std::sync::atomic::Ordering;
use std::sync::PoisonError;

/// Lanes hashed together by the kernel.
const LANES: usize = 16;
/// Staging for data across `Bytes` boundaries: long enough that a lane crossing one
/// does not cut every run to a single block.
const STAGE: usize = 16 * BLOCK;
/// At most this many lanes with data go through scalar compress instead of the kernel.
const SCALAR_MAX: usize = 1;

/// Raises `dead` and wakes every waiter when the thread ends, normally or by panic.
struct ExitGuard(&'static Hub);

impl Drop for ExitGuard {
    fn drop(&mut self) {
        self.0.dead.store(true, Ordering::SeqCst);
        for entry in self.0.lock().entries.iter().flatten() {
            entry.notify.notify_one();
        }
    }
}

/// The hashing thread: pick lanes under the lock, hash without it, commit under it.
pub(super) fn run(hub: &'static Hub) {
    let _exit = ExitGuard(hub);
    let mut lanes: Vec<Lane> = (0..LANES).map(|_| Lane::default()).collect();
    loop {
        let used = {
            let mut inner = hub.lock();
            loop {
                let used = pick(&mut inner, &mut lanes);
                if used > 0 {
                    break used;
                }
                inner.sleeping = true;
                inner = hub.work.wait(inner).unwrap_or_else(PoisonError::into_inner);
                inner.sleeping = false;
            }
        };
        #[cfg(test)]
        if hub.crash.load(Ordering::SeqCst) {
            panic!("md5x test: injected hasher crash");
        }
        let batch = &mut lanes[..used];
        compute(batch, hub.simd());
        let mut inner = hub.lock();
        for lane in batch {
            lane.commit(&mut inner);
        }
    }
}

/// Loads up to 16 eligible entries into `lanes`, round robin; returns how many.
fn pick(inner: &mut Inner, lanes: &mut [Lane]) -> usize {
    let n = inner.entries.len();
    let start = inner.cursor;
    let mut used = 0;
    for k in 0..n {
        let slot = (start + k) % n;
        let Some(entry) = inner.entries.get_mut(slot).and_then(Option::as_mut) else {
            continue;
        };
        let Some(lane) = lanes.get_mut(used) else {
            break;
        };
        if entry.eligible() {
            entry.busy = true;
            lane.load(slot, entry);
            used += 1;
            inner.cursor = slot + 1;
        }
    }
    used
}

/// Hashes every whole block the lanes hold: SIMD runs of the shortest segment while
/// two or more lanes have data (and `simd`), scalar for a lone lane.
fn compute(lanes: &mut [Lane], simd: bool) {
    let mut blocks = [0usize; LANES];
    loop {
        let mut active = 0;
        let mut run = usize::MAX;
        for (lane, b) in lanes.iter_mut().zip(blocks.iter_mut()) {
            *b = lane.prepare();
            if *b > 0 {
                active += 1;
                run = run.min(*b);
            }
        }
        if active == 0 {
            return;
        }
        if !simd || active <= SCALAR_MAX {
            for (lane, &b) in lanes.iter_mut().zip(&blocks) {
                lane.scalar(b);
            }
            continue;
        }
        let mut state = [[0u32; LANES]; 4];
        for (i, lane) in lanes.iter().enumerate() {
            for (word, s) in state.iter_mut().zip(lane.state) {
                if let Some(w) = word.get_mut(i) {
                    *w = s;
                }
            }
        }
        let data: [&[u8]; LANES] = std::array::from_fn(|i| match lanes.get(i) {
            Some(lane) if blocks[i] > 0 => lane.segment(),
            _ => &[],
        });
        // Eight lanes or fewer fit 256-bit registers: half the micro-ops of the 512-bit
        // kernel where those are split in two.
        let done = if lanes.len() <= LANES / 2 {
            avx512::compress8(&mut state, &data, run) || avx512::compress16(&mut state, &data, run)
        } else {
            avx512::compress16(&mut state, &data, run)
        };
        if done {
            for (i, (lane, &b)) in lanes.iter_mut().zip(&blocks).enumerate() {
                if b > 0 {
                    lane.state = [state[0][i], state[1][i], state[2][i], state[3][i]];
                    lane.advance(run * BLOCK);
                }
            }
        } else {
            for (lane, &b) in lanes.iter_mut().zip(&blocks) {
                lane.scalar(b.min(run));
            }
        }
    }
}

/// The thread's working copy of one entry for one wake-up.
struct Lane {
    slot: usize,
    state: [u32; 4],
    /// Bytes taken from the entry's queue; all hashed or staged by commit time.
    taken: usize,
    src: Vec<Bytes>,
    idx: usize,
    off: usize,
    stage: Box<[u8; STAGE]>,
    stage_off: usize,
    stage_len: usize,
}

impl Default for Lane {
    fn default() -> Self {
        Self {
            slot: 0,
            state: scalar::INIT,
            taken: 0,
            src: Vec::new(),
            idx: 0,
            off: 0,
            stage: Box::new([0; STAGE]),
            stage_off: 0,
            stage_len: 0,
        }
    }
}

impl Lane {
    fn load(&mut self, slot: usize, entry: &Entry) {
        self.slot = slot;
        self.state = entry.ckpt.state;
        let tail = entry.ckpt.buf.get(..entry.ckpt.buf_len).unwrap_or(&[]);
        self.stage[..tail.len()].copy_from_slice(tail);
        self.stage_off = 0;
        self.stage_len = tail.len();
        self.src.clear();
        self.idx = 0;
        self.off = 0;
        self.taken = 0;
        for piece in &entry.queue {
            let take = piece.len().min(LANE_BUDGET - self.taken);
            if take == 0 {
                break;
            }
            self.src.push(piece.slice(..take));
            self.taken += take;
        }
    }

    /// Whether the current segment is the staging buffer (else the current piece).
    fn staged(&self) -> bool {
        self.stage_len - self.stage_off >= BLOCK
    }

    /// Makes the next whole blocks contiguous; returns how many (0: lane done).
    fn prepare(&mut self) -> usize {
        let staged = self.stage_len - self.stage_off;
        if staged >= BLOCK {
            return staged / BLOCK;
        }
        if staged == 0 {
            while self.src.get(self.idx).is_some_and(|p| self.off >= p.len()) {
                self.idx += 1;
                self.off = 0;
            }
            let rest = self.src.get(self.idx).map_or(0, |p| p.len() - self.off);
            if rest >= BLOCK {
                return rest / BLOCK;
            }
        }
        // A block straddles pieces: copy it (and a little more) into the stage.
        self.stage.copy_within(self.stage_off..self.stage_len, 0);
        self.stage_off = 0;
        self.stage_len = staged;
        while self.stage_len < STAGE {
            let Some(piece) = self.src.get(self.idx) else {
                break;
            };
            let take = (STAGE - self.stage_len).min(piece.len() - self.off);
            self.stage[self.stage_len..self.stage_len + take]
                .copy_from_slice(&piece[self.off..self.off + take]);
            self.stage_len += take;
            self.off += take;
            if self.off == piece.len() {
                self.idx += 1;
                self.off = 0;
            }
        }
        self.stage_len / BLOCK
    }

    fn segment(&self) -> &[u8] {
        if self.staged() {
            &self.stage[self.stage_off..self.stage_len]
        } else {
            self.src.get(self.idx).map_or(&[], |p| &p[self.off..])
        }
    }

    fn advance(&mut self, n: usize) {
        if self.staged() {
            self.stage_off += n;
        } else {
            self.off += n;
        }
    }

    fn scalar(&mut self, blocks: usize) {
        if blocks == 0 {
            return;
        }
        let n = blocks * BLOCK;
        let seg = if self.staged() {
            &self.stage[self.stage_off..self.stage_len]
        } else {
            self.src.get(self.idx).map_or(&[][..], |p| &p[self.off..])
        };
        scalar::compress_blocks(&mut self.state, seg.get(..n).unwrap_or(&[]));
        self.advance(n);
    }

    /// Publishes the new checkpoint and drops the hashed bytes from the queue.
    fn commit(&mut self, inner: &mut Inner) {
        self.src.clear();
        let Some(place) = inner.entries.get_mut(self.slot) else {
            return;
        };
        let Some(entry) = place.as_mut() else {
            return;
        };
        let tail = self
            .stage
            .get(self.stage_off..self.stage_len)
            .unwrap_or(&[]);
        let tail = tail.get(..BLOCK).unwrap_or(tail);
        entry.ckpt.state = self.state;
        entry.ckpt.len = entry.ckpt.len.wrapping_add(self.taken as u64);
        entry.ckpt.buf[..tail.len()].copy_from_slice(tail);
        entry.ckpt.buf_len = tail.len();
        consume(&mut entry.queue, self.taken);
        entry.queued -= self.taken;
        entry.busy = false;
        entry.notify.notify_one();
        if entry.closed {
            *place = None;
            inner.free.push(self.slot);
        }
    }
}
