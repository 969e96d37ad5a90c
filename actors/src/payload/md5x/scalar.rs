//! Portable MD5 (RFC 1321): the block function and a small streaming state around it.

/// MD5 block size in bytes.
pub(super) const BLOCK: usize = 64;

/// Initial chaining value.
pub(super) const INIT: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

#[inline(always)]
fn f(b: u32, c: u32, d: u32) -> u32 {
    d ^ (b & (c ^ d))
}

#[inline(always)]
fn g(b: u32, c: u32, d: u32) -> u32 {
    c ^ (d & (b ^ c))
}

#[inline(always)]
fn h(b: u32, c: u32, d: u32) -> u32 {
    b ^ c ^ d
}

#[inline(always)]
fn i(b: u32, c: u32, d: u32) -> u32 {
    c ^ (b | !d)
}

macro_rules! step {
    ($f:ident, $a:ident, $b:ident, $c:ident, $d:ident, $m:expr, $k:expr, $s:expr) => {
        $a = $b.wrapping_add(
            $f($b, $c, $d)
                .wrapping_add($a.wrapping_add($m).wrapping_add($k))
                .rotate_left($s),
        )
    };
}

/// Compresses one 64-byte block into `state`.
#[inline]
pub(super) fn compress(state: &mut [u32; 4], block: &[u8; BLOCK]) {
    let mut m = [0u32; 16];
    for (w, c) in m.iter_mut().zip(block.chunks_exact(4)) {
        *w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
    let [mut a, mut b, mut c, mut d] = *state;
    step!(f, a, b, c, d, m[0], 0xd76aa478, 7);
    step!(f, d, a, b, c, m[1], 0xe8c7b756, 12);
    step!(f, c, d, a, b, m[2], 0x242070db, 17);
    step!(f, b, c, d, a, m[3], 0xc1bdceee, 22);
    step!(f, a, b, c, d, m[4], 0xf57c0faf, 7);
    step!(f, d, a, b, c, m[5], 0x4787c62a, 12);
    step!(f, c, d, a, b, m[6], 0xa8304613, 17);
    step!(f, b, c, d, a, m[7], 0xfd469501, 22);
    step!(f, a, b, c, d, m[8], 0x698098d8, 7);
    step!(f, d, a, b, c, m[9], 0x8b44f7af, 12);
    step!(f, c, d, a, b, m[10], 0xffff5bb1, 17);
    step!(f, b, c, d, a, m[11], 0x895cd7be, 22);
    step!(f, a, b, c, d, m[12], 0x6b901122, 7);
    step!(f, d, a, b, c, m[13], 0xfd987193, 12);
    step!(f, c, d, a, b, m[14], 0xa679438e, 17);
    step!(f, b, c, d, a, m[15], 0x49b40821, 22);
    step!(g, a, b, c, d, m[1], 0xf61e2562, 5);
    step!(g, d, a, b, c, m[6], 0xc040b340, 9);
    step!(g, c, d, a, b, m[11], 0x265e5a51, 14);
    step!(g, b, c, d, a, m[0], 0xe9b6c7aa, 20);
    step!(g, a, b, c, d, m[5], 0xd62f105d, 5);
    step!(g, d, a, b, c, m[10], 0x02441453, 9);
    step!(g, c, d, a, b, m[15], 0xd8a1e681, 14);
    step!(g, b, c, d, a, m[4], 0xe7d3fbc8, 20);
    step!(g, a, b, c, d, m[9], 0x21e1cde6, 5);
    step!(g, d, a, b, c, m[14], 0xc33707d6, 9);
    step!(g, c, d, a, b, m[3], 0xf4d50d87, 14);
    step!(g, b, c, d, a, m[8], 0x455a14ed, 20);
    step!(g, a, b, c, d, m[13], 0xa9e3e905, 5);
    step!(g, d, a, b, c, m[2], 0xfcefa3f8, 9);
    step!(g, c, d, a, b, m[7], 0x676f02d9, 14);
    step!(g, b, c, d, a, m[12], 0x8d2a4c8a, 20);
    step!(h, a, b, c, d, m[5], 0xfffa3942, 4);
    step!(h, d, a, b, c, m[8], 0x8771f681, 11);
    step!(h, c, d, a, b, m[11], 0x6d9d6122, 16);
    step!(h, b, c, d, a, m[14], 0xfde5380c, 23);
    step!(h, a, b, c, d, m[1], 0xa4beea44, 4);
    step!(h, d, a, b, c, m[4], 0x4bdecfa9, 11);
    step!(h, c, d, a, b, m[7], 0xf6bb4b60, 16);
    step!(h, b, c, d, a, m[10], 0xbebfbc70, 23);
    step!(h, a, b, c, d, m[13], 0x289b7ec6, 4);
    step!(h, d, a, b, c, m[0], 0xeaa127fa, 11);
    step!(h, c, d, a, b, m[3], 0xd4ef3085, 16);
    step!(h, b, c, d, a, m[6], 0x04881d05, 23);
    step!(h, a, b, c, d, m[9], 0xd9d4d039, 4);
    step!(h, d, a, b, c, m[12], 0xe6db99e5, 11);
    step!(h, c, d, a, b, m[15], 0x1fa27cf8, 16);
    step!(h, b, c, d, a, m[2], 0xc4ac5665, 23);
    step!(i, a, b, c, d, m[0], 0xf4292244, 6);
    step!(i, d, a, b, c, m[7], 0x432aff97, 10);
    step!(i, c, d, a, b, m[14], 0xab9423a7, 15);
    step!(i, b, c, d, a, m[5], 0xfc93a039, 21);
    step!(i, a, b, c, d, m[12], 0x655b59c3, 6);
    step!(i, d, a, b, c, m[3], 0x8f0ccc92, 10);
    step!(i, c, d, a, b, m[10], 0xffeff47d, 15);
    step!(i, b, c, d, a, m[1], 0x85845dd1, 21);
    step!(i, a, b, c, d, m[8], 0x6fa87e4f, 6);
    step!(i, d, a, b, c, m[15], 0xfe2ce6e0, 10);
    step!(i, c, d, a, b, m[6], 0xa3014314, 15);
    step!(i, b, c, d, a, m[13], 0x4e0811a1, 21);
    step!(i, a, b, c, d, m[4], 0xf7537e82, 6);
    step!(i, d, a, b, c, m[11], 0xbd3af235, 10);
    step!(i, c, d, a, b, m[2], 0x2ad7d2bb, 15);
    step!(i, b, c, d, a, m[9], 0xeb86d391, 21);
    state[0] = state[0].wrapping_add(a);
    state[1] = state[1].wrapping_add(b);
    state[2] = state[2].wrapping_add(c);
    state[3] = state[3].wrapping_add(d);
}

/// Compresses every whole block of `data`; a trailing partial block is ignored.
pub(super) fn compress_blocks(state: &mut [u32; 4], data: &[u8]) {
    for block in data.chunks_exact(BLOCK) {
        if let Ok(block) = block.try_into() {
            compress(state, block);
        }
    }
}

/// A streaming MD5 state: chaining value, bytes absorbed, and a partial block.
#[derive(Clone, Debug)]
pub(super) struct Md5 {
    pub(super) state: [u32; 4],
    /// Every byte absorbed so far, including those still in `buf`.
    pub(super) len: u64,
    pub(super) buf: [u8; BLOCK],
    /// Bytes of `buf` in use; always < BLOCK between calls.
    pub(super) buf_len: usize,
}

impl Default for Md5 {
    fn default() -> Self {
        Self {
            state: INIT,
            len: 0,
            buf: [0; BLOCK],
            buf_len: 0,
        }
    }
}

impl Md5 {
    pub(super) fn update(&mut self, mut data: &[u8]) {
        self.len = self.len.wrapping_add(data.len() as u64);
        if self.buf_len > 0 {
            let take = (BLOCK - self.buf_len).min(data.len());
            self.buf[self.buf_len..self.buf_len + take].copy_from_slice(&data[..take]);
            self.buf_len += take;
            data = &data[take..];
            if self.buf_len < BLOCK {
                return;
            }
            compress(&mut self.state, &self.buf);
            self.buf_len = 0;
        }
        let whole = data.len() - data.len() % BLOCK;
        compress_blocks(&mut self.state, &data[..whole]);
        let rest = &data[whole..];
        self.buf[..rest.len()].copy_from_slice(rest);
        self.buf_len = rest.len();
    }

    /// Pads, compresses the final block(s) and returns the digest.
    pub(super) fn finish(mut self) -> [u8; 16] {
        let bits = self.len.wrapping_mul(8);
        let mut pad = [0u8; 2 * BLOCK];
        pad[0] = 0x80;
        // Room for the 0x80 byte and the 8-byte length decides one or two blocks.
        let pad_len = if self.buf_len < BLOCK - 8 {
            BLOCK - self.buf_len
        } else {
            2 * BLOCK - self.buf_len
        };
        pad[pad_len - 8..pad_len].copy_from_slice(&bits.to_le_bytes());
        let len = self.len;
        self.update(&pad[..pad_len]);
        self.len = len;
        let mut out = [0u8; 16];
        for (o, w) in out.chunks_exact_mut(4).zip(self.state) {
            o.copy_from_slice(&w.to_le_bytes());
        }
        out
    }
}
