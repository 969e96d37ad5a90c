//! Multi-lane MD5 with AVX-512: lane `i` of every vector is stream `i`. 16 lanes in
//! 512-bit registers (AVX-512F); up to 8 in 256-bit ones (AVX-512VL), which cost half
//! the micro-ops on CPUs that split 512-bit instructions in two (AMD Zen 4), so a
//! wake-up with few streams does not pay for 16.
//!
//! Each round loads one 64-byte block per lane, transposes the words in registers (no
//! gathers, so lanes may point anywhere) and runs the 64 steps with `vpternlogd` for
//! the round functions and `vprold` for the rotations.

#![allow(unsafe_code)]

use super::scalar::BLOCK;
use std::arch::x86_64::{
    __m256i, __m512i, _mm256_loadu_si256, _mm256_mask_add_epi32, _mm256_permute2x128_si256,
    _mm256_set1_epi32, _mm256_storeu_si256, _mm256_unpackhi_epi32, _mm256_unpackhi_epi64,
    _mm256_unpacklo_epi32, _mm256_unpacklo_epi64, _mm512_loadu_si512, _mm512_mask_add_epi32,
    _mm512_set1_epi32, _mm512_shuffle_i32x4, _mm512_storeu_si512, _mm512_unpackhi_epi32,
    _mm512_unpackhi_epi64, _mm512_unpacklo_epi32, _mm512_unpacklo_epi64,
};

/// Lanes that run out of data read this block; their results are masked off.
static ZERO: [u8; BLOCK] = [0; BLOCK];

/// Whether the CPU can run [`compress16`]; the answer is cached by std.
pub(super) fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

/// Whether the CPU can run [`compress8`].
pub(super) fn available8() -> bool {
    available() && std::arch::is_x86_feature_detected!("avx512vl")
}

/// Lane `i`'s block at byte `at`, or zeros for a lane that is masked off (`full` false).
fn lane_block<'a>(data: &[&'a [u8]; 16], i: usize, at: usize, full: bool) -> &'a [u8; BLOCK] {
    data.get(i)
        .and_then(|d| d.get(at..at + BLOCK))
        .and_then(|b| <&[u8; BLOCK]>::try_from(b).ok())
        .filter(|_| full)
        .unwrap_or(&ZERO)
}

/// Which of `data`'s first `N` lanes hold at least `rounds` blocks.
fn full_lanes<const N: usize>(data: &[&[u8]; 16], rounds: usize) -> u16 {
    let need = rounds.saturating_mul(BLOCK);
    let mut mask: u16 = 0;
    for (i, d) in data.iter().take(N).enumerate() {
        if d.len() >= need {
            mask |= 1 << i;
        }
    }
    mask
}

/// Compresses `rounds` consecutive blocks of every lane in `data` holding at least
/// `rounds * 64` bytes; other lanes keep their state. False (nothing done) without AVX-512F.
pub(super) fn compress16(state: &mut [[u32; 16]; 4], data: &[&[u8]; 16], rounds: usize) -> bool {
    if !available() {
        return false;
    }
    let mask = full_lanes::<16>(data, rounds);
    // SAFETY: the CPU supports avx512f (checked just above), the only requirement of
    // calling a #[target_feature] function.
    unsafe { kernel(state, data, rounds, mask) };
    true
}

/// As [`compress16`] for lanes 0..8 of `state` and `data` (the rest are ignored):
/// false (nothing done) without AVX-512F and AVX-512VL.
pub(super) fn compress8(state: &mut [[u32; 16]; 4], data: &[&[u8]; 16], rounds: usize) -> bool {
    if !available8() {
        return false;
    }
    let mask = u8::try_from(full_lanes::<8>(data, rounds)).unwrap_or(0);
    // SAFETY: the CPU supports avx512f and avx512vl (checked just above).
    unsafe { kernel8(state, data, rounds, mask) };
    true
}

#[target_feature(enable = "avx512f")]
fn load(p: &[u8; BLOCK]) -> __m512i {
    // SAFETY: `p` refers to 64 readable bytes, exactly one unaligned 512-bit load.
    unsafe { _mm512_loadu_si512(p.as_ptr().cast()) }
}

/// Turns 16 rows (one block per lane) into 16 columns (one message word per vector).
#[target_feature(enable = "avx512f")]
fn transpose(r: [__m512i; 16]) -> [__m512i; 16] {
    let mut t = r;
    for p in 0..8 {
        t[2 * p] = _mm512_unpacklo_epi32(r[2 * p], r[2 * p + 1]);
        t[2 * p + 1] = _mm512_unpackhi_epi32(r[2 * p], r[2 * p + 1]);
    }
    // u[4g + j], 128-bit block k: word 4k + j of rows 4g..4g+3.
    let mut u = t;
    for g in 0..4 {
        let (t0, t1, t2, t3) = (t[4 * g], t[4 * g + 1], t[4 * g + 2], t[4 * g + 3]);
        u[4 * g] = _mm512_unpacklo_epi64(t0, t2);
        u[4 * g + 1] = _mm512_unpackhi_epi64(t0, t2);
        u[4 * g + 2] = _mm512_unpacklo_epi64(t1, t3);
        u[4 * g + 3] = _mm512_unpackhi_epi64(t1, t3);
    }
    let mut w = u;
    for j in 0..4 {
        let a_even = _mm512_shuffle_i32x4::<0x88>(u[j], u[4 + j]);
        let a_odd = _mm512_shuffle_i32x4::<0xDD>(u[j], u[4 + j]);
        let b_even = _mm512_shuffle_i32x4::<0x88>(u[8 + j], u[12 + j]);
        let b_odd = _mm512_shuffle_i32x4::<0xDD>(u[8 + j], u[12 + j]);
        w[j] = _mm512_shuffle_i32x4::<0x88>(a_even, b_even);
        w[4 + j] = _mm512_shuffle_i32x4::<0x88>(a_odd, b_odd);
        w[8 + j] = _mm512_shuffle_i32x4::<0xDD>(a_even, b_even);
        w[12 + j] = _mm512_shuffle_i32x4::<0xDD>(a_odd, b_odd);
    }
    w
}

// The round function, which waits on the previous step, joins the sum last so the
// dependency chain per step is four instructions. `$v` names the intrinsics' width.
macro_rules! step {
    ($v:ident, $f:literal, $a:ident, $b:ident, $c:ident, $d:ident, $m:expr, $k:literal, $s:literal) => {
        $a = $v::add(
            $b,
            $v::rol::<$s>($v::add(
                $v::tern::<$f>($b, $c, $d),
                $v::add(
                    $a,
                    $v::add(
                        $m,
                        $v::set1({
                            let k: u32 = $k;
                            k as i32
                        }),
                    ),
                ),
            )),
        )
    };
}

/// The intrinsics `step!` uses, per register width.
mod v512 {
    pub(super) use std::arch::x86_64::{
        _mm512_add_epi32 as add, _mm512_rol_epi32 as rol, _mm512_set1_epi32 as set1,
        _mm512_ternarylogic_epi32 as tern,
    };
}
mod v256 {
    pub(super) use std::arch::x86_64::{
        _mm256_add_epi32 as add, _mm256_rol_epi32 as rol, _mm256_set1_epi32 as set1,
        _mm256_ternarylogic_epi32 as tern,
    };
}

/// The 64 steps of one block on `a, b, c, d` with message words `w`.
macro_rules! md5_steps {
    ($v:ident, $a:ident, $b:ident, $c:ident, $d:ident, $w:ident) => {
        step!($v, 0xCA, $a, $b, $c, $d, $w[0], 0xd76aa478, 7);
        step!($v, 0xCA, $d, $a, $b, $c, $w[1], 0xe8c7b756, 12);
        step!($v, 0xCA, $c, $d, $a, $b, $w[2], 0x242070db, 17);
        step!($v, 0xCA, $b, $c, $d, $a, $w[3], 0xc1bdceee, 22);
        step!($v, 0xCA, $a, $b, $c, $d, $w[4], 0xf57c0faf, 7);
        step!($v, 0xCA, $d, $a, $b, $c, $w[5], 0x4787c62a, 12);
        step!($v, 0xCA, $c, $d, $a, $b, $w[6], 0xa8304613, 17);
        step!($v, 0xCA, $b, $c, $d, $a, $w[7], 0xfd469501, 22);
        step!($v, 0xCA, $a, $b, $c, $d, $w[8], 0x698098d8, 7);
        step!($v, 0xCA, $d, $a, $b, $c, $w[9], 0x8b44f7af, 12);
        step!($v, 0xCA, $c, $d, $a, $b, $w[10], 0xffff5bb1, 17);
        step!($v, 0xCA, $b, $c, $d, $a, $w[11], 0x895cd7be, 22);
        step!($v, 0xCA, $a, $b, $c, $d, $w[12], 0x6b901122, 7);
        step!($v, 0xCA, $d, $a, $b, $c, $w[13], 0xfd987193, 12);
        step!($v, 0xCA, $c, $d, $a, $b, $w[14], 0xa679438e, 17);
        step!($v, 0xCA, $b, $c, $d, $a, $w[15], 0x49b40821, 22);
        step!($v, 0xE4, $a, $b, $c, $d, $w[1], 0xf61e2562, 5);
        step!($v, 0xE4, $d, $a, $b, $c, $w[6], 0xc040b340, 9);
        step!($v, 0xE4, $c, $d, $a, $b, $w[11], 0x265e5a51, 14);
        step!($v, 0xE4, $b, $c, $d, $a, $w[0], 0xe9b6c7aa, 20);
        step!($v, 0xE4, $a, $b, $c, $d, $w[5], 0xd62f105d, 5);
        step!($v, 0xE4, $d, $a, $b, $c, $w[10], 0x02441453, 9);
        step!($v, 0xE4, $c, $d, $a, $b, $w[15], 0xd8a1e681, 14);
        step!($v, 0xE4, $b, $c, $d, $a, $w[4], 0xe7d3fbc8, 20);
        step!($v, 0xE4, $a, $b, $c, $d, $w[9], 0x21e1cde6, 5);
        step!($v, 0xE4, $d, $a, $b, $c, $w[14], 0xc33707d6, 9);
        step!($v, 0xE4, $c, $d, $a, $b, $w[3], 0xf4d50d87, 14);
        step!($v, 0xE4, $b, $c, $d, $a, $w[8], 0x455a14ed, 20);
        step!($v, 0xE4, $a, $b, $c, $d, $w[13], 0xa9e3e905, 5);
        step!($v, 0xE4, $d, $a, $b, $c, $w[2], 0xfcefa3f8, 9);
        step!($v, 0xE4, $c, $d, $a, $b, $w[7], 0x676f02d9, 14);
        step!($v, 0xE4, $b, $c, $d, $a, $w[12], 0x8d2a4c8a, 20);
        step!($v, 0x96, $a, $b, $c, $d, $w[5], 0xfffa3942, 4);
        step!($v, 0x96, $d, $a, $b, $c, $w[8], 0x8771f681, 11);
        step!($v, 0x96, $c, $d, $a, $b, $w[11], 0x6d9d6122, 16);
        step!($v, 0x96, $b, $c, $d, $a, $w[14], 0xfde5380c, 23);
        step!($v, 0x96, $a, $b, $c, $d, $w[1], 0xa4beea44, 4);
        step!($v, 0x96, $d, $a, $b, $c, $w[4], 0x4bdecfa9, 11);
        step!($v, 0x96, $c, $d, $a, $b, $w[7], 0xf6bb4b60, 16);
        step!($v, 0x96, $b, $c, $d, $a, $w[10], 0xbebfbc70, 23);
        step!($v, 0x96, $a, $b, $c, $d, $w[13], 0x289b7ec6, 4);
        step!($v, 0x96, $d, $a, $b, $c, $w[0], 0xeaa127fa, 11);
        step!($v, 0x96, $c, $d, $a, $b, $w[3], 0xd4ef3085, 16);
        step!($v, 0x96, $b, $c, $d, $a, $w[6], 0x04881d05, 23);
        step!($v, 0x96, $a, $b, $c, $d, $w[9], 0xd9d4d039, 4);
        step!($v, 0x96, $d, $a, $b, $c, $w[12], 0xe6db99e5, 11);
        step!($v, 0x96, $c, $d, $a, $b, $w[15], 0x1fa27cf8, 16);
        step!($v, 0x96, $b, $c, $d, $a, $w[2], 0xc4ac5665, 23);
        step!($v, 0x39, $a, $b, $c, $d, $w[0], 0xf4292244, 6);
        step!($v, 0x39, $d, $a, $b, $c, $w[7], 0x432aff97, 10);
        step!($v, 0x39, $c, $d, $a, $b, $w[14], 0xab9423a7, 15);
        step!($v, 0x39, $b, $c, $d, $a, $w[5], 0xfc93a039, 21);
        step!($v, 0x39, $a, $b, $c, $d, $w[12], 0x655b59c3, 6);
        step!($v, 0x39, $d, $a, $b, $c, $w[3], 0x8f0ccc92, 10);
        step!($v, 0x39, $c, $d, $a, $b, $w[10], 0xffeff47d, 15);
        step!($v, 0x39, $b, $c, $d, $a, $w[1], 0x85845dd1, 21);
        step!($v, 0x39, $a, $b, $c, $d, $w[8], 0x6fa87e4f, 6);
        step!($v, 0x39, $d, $a, $b, $c, $w[15], 0xfe2ce6e0, 10);
        step!($v, 0x39, $c, $d, $a, $b, $w[6], 0xa3014314, 15);
        step!($v, 0x39, $b, $c, $d, $a, $w[13], 0x4e0811a1, 21);
        step!($v, 0x39, $a, $b, $c, $d, $w[4], 0xf7537e82, 6);
        step!($v, 0x39, $d, $a, $b, $c, $w[11], 0xbd3af235, 10);
        step!($v, 0x39, $c, $d, $a, $b, $w[2], 0x2ad7d2bb, 15);
        step!($v, 0x39, $b, $c, $d, $a, $w[9], 0xeb86d391, 21);
    };
}

#[target_feature(enable = "avx512f")]
fn kernel(state: &mut [[u32; 16]; 4], data: &[&[u8]; 16], rounds: usize, mask: u16) {
    let mut s = [_mm512_set1_epi32(0); 4];
    for (v, lane) in s.iter_mut().zip(state.iter()) {
        // SAFETY: `lane` is 16 u32 = 64 readable bytes, one unaligned 512-bit load.
        *v = unsafe { _mm512_loadu_si512(lane.as_ptr().cast()) };
    }
    for r in 0..rounds {
        let at = r * BLOCK;
        let rows: [__m512i; 16] =
            std::array::from_fn(|i| load(lane_block(data, i, at, mask & (1 << i) != 0)));
        let w = transpose(rows);
        let [mut a, mut b, mut c, mut d] = s;
        md5_steps!(v512, a, b, c, d, w);
        s[0] = _mm512_mask_add_epi32(s[0], mask, s[0], a);
        s[1] = _mm512_mask_add_epi32(s[1], mask, s[1], b);
        s[2] = _mm512_mask_add_epi32(s[2], mask, s[2], c);
        s[3] = _mm512_mask_add_epi32(s[3], mask, s[3], d);
    }
    for (v, lane) in s.iter().zip(state.iter_mut()) {
        // SAFETY: `lane` is 16 u32 = 64 writable bytes, one unaligned 512-bit store.
        unsafe { _mm512_storeu_si512(lane.as_mut_ptr().cast(), *v) };
    }
}

/// Words 0..8 (`hi` false) or 8..16 of a block.
#[target_feature(enable = "avx512f,avx512vl")]
fn load_half(p: &[u8; BLOCK], hi: bool) -> __m256i {
    let at = if hi { 32 } else { 0 };
    // SAFETY: `at + 32 <= 64`: 32 readable bytes of the block, one unaligned 256-bit load.
    unsafe { _mm256_loadu_si256(p.as_ptr().add(at).cast()) }
}

/// Turns 8 rows of 8 words (one half block per lane) into 8 columns.
#[target_feature(enable = "avx512f,avx512vl")]
fn transpose8(r: [__m256i; 8]) -> [__m256i; 8] {
    // t[2p], t[2p + 1]: rows 2p and 2p + 1 interleaved (words 0,1,4,5 and 2,3,6,7).
    let t: [__m256i; 8] = std::array::from_fn(|i| {
        let (x, y) = (r[i & !1], r[i | 1]);
        if i % 2 == 0 {
            _mm256_unpacklo_epi32(x, y)
        } else {
            _mm256_unpackhi_epi32(x, y)
        }
    });
    // u[4h + j]: word j (low 128 bits) and j + 4 (high) of rows 4h..4h+3.
    let mut u = t;
    for h in 0..2 {
        let (t0, t1, t2, t3) = (t[4 * h], t[4 * h + 1], t[4 * h + 2], t[4 * h + 3]);
        u[4 * h] = _mm256_unpacklo_epi64(t0, t2);
        u[4 * h + 1] = _mm256_unpackhi_epi64(t0, t2);
        u[4 * h + 2] = _mm256_unpacklo_epi64(t1, t3);
        u[4 * h + 3] = _mm256_unpackhi_epi64(t1, t3);
    }
    let mut w = u;
    for j in 0..4 {
        w[j] = _mm256_permute2x128_si256::<0x20>(u[j], u[4 + j]);
        w[4 + j] = _mm256_permute2x128_si256::<0x31>(u[j], u[4 + j]);
    }
    w
}

#[target_feature(enable = "avx512f,avx512vl")]
fn kernel8(state: &mut [[u32; 16]; 4], data: &[&[u8]; 16], rounds: usize, mask: u8) {
    let mut s = [_mm256_set1_epi32(0); 4];
    for (v, lane) in s.iter_mut().zip(state.iter()) {
        // SAFETY: the first 8 u32 of `lane` are 32 readable bytes.
        *v = unsafe { _mm256_loadu_si256(lane.as_ptr().cast()) };
    }
    for r in 0..rounds {
        let at = r * BLOCK;
        let blocks: [&[u8; BLOCK]; 8] =
            std::array::from_fn(|i| lane_block(data, i, at, mask & (1 << i) != 0));
        let lo = transpose8(std::array::from_fn(|i| load_half(blocks[i], false)));
        let hi = transpose8(std::array::from_fn(|i| load_half(blocks[i], true)));
        let w: [__m256i; 16] = std::array::from_fn(|j| if j < 8 { lo[j] } else { hi[j - 8] });
        let [mut a, mut b, mut c, mut d] = s;
        md5_steps!(v256, a, b, c, d, w);
        s[0] = _mm256_mask_add_epi32(s[0], mask, s[0], a);
        s[1] = _mm256_mask_add_epi32(s[1], mask, s[1], b);
        s[2] = _mm256_mask_add_epi32(s[2], mask, s[2], c);
        s[3] = _mm256_mask_add_epi32(s[3], mask, s[3], d);
    }
    for (v, lane) in s.iter().zip(state.iter_mut()) {
        // SAFETY: the first 8 u32 of `lane` are 32 writable bytes.
        unsafe { _mm256_storeu_si256(lane.as_mut_ptr().cast(), *v) };
    }
}
