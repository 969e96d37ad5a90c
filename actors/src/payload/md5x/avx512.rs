//! 16-lane MD5 with AVX-512F: lane `i` of every 512-bit register is stream `i`.
//!
//! Each round loads one 64-byte block per lane, transposes the 16x16 words in
//! registers (no gathers, so lanes may point anywhere) and runs the 64 steps with
//! `vpternlogd` for the round functions and `vprold` for the rotations.

#![allow(unsafe_code)]

use super::scalar::BLOCK;
use std::arch::x86_64::{
    __m512i, _mm512_add_epi32, _mm512_loadu_si512, _mm512_mask_add_epi32, _mm512_rol_epi32,
    _mm512_set1_epi32, _mm512_shuffle_i32x4, _mm512_storeu_si512, _mm512_ternarylogic_epi32,
    _mm512_unpackhi_epi32, _mm512_unpackhi_epi64, _mm512_unpacklo_epi32, _mm512_unpacklo_epi64,
};

/// Lanes that run out of data read this block; their results are masked off.
static ZERO: [u8; BLOCK] = [0; BLOCK];

/// Whether the CPU can run [`compress16`]; the answer is cached by std.
pub(super) fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

/// Compresses `rounds` consecutive blocks of every lane in `data` holding at least
/// `rounds * 64` bytes; other lanes keep their state. False (nothing done) without AVX-512F.
pub(super) fn compress16(state: &mut [[u32; 16]; 4], data: &[&[u8]; 16], rounds: usize) -> bool {
    if !available() {
        return false;
    }
    let need = rounds.saturating_mul(BLOCK);
    let mut mask: u16 = 0;
    for (i, d) in data.iter().enumerate() {
        if d.len() >= need {
            mask |= 1 << i;
        }
    }
    // SAFETY: the CPU supports avx512f (checked just above), the only requirement of
    // calling a #[target_feature] function.
    unsafe { kernel(state, data, rounds, mask) };
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
// dependency chain per step is four instructions.
macro_rules! step {
    ($f:literal, $a:ident, $b:ident, $c:ident, $d:ident, $m:expr, $k:literal, $s:literal) => {
        $a = _mm512_add_epi32(
            $b,
            _mm512_rol_epi32::<$s>(_mm512_add_epi32(
                _mm512_ternarylogic_epi32::<$f>($b, $c, $d),
                _mm512_add_epi32(
                    $a,
                    _mm512_add_epi32(
                        $m,
                        _mm512_set1_epi32({
                            let k: u32 = $k;
                            k as i32
                        }),
                    ),
                ),
            )),
        )
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
        let rows: [__m512i; 16] = std::array::from_fn(|i| {
            let block = data[i]
                .get(at..at + BLOCK)
                .and_then(|b| <&[u8; BLOCK]>::try_from(b).ok())
                .filter(|_| mask & (1 << i) != 0)
                .unwrap_or(&ZERO);
            load(block)
        });
        let w = transpose(rows);
        let [mut a, mut b, mut c, mut d] = s;
        step!(0xCA, a, b, c, d, w[0], 0xd76aa478, 7);
        step!(0xCA, d, a, b, c, w[1], 0xe8c7b756, 12);
        step!(0xCA, c, d, a, b, w[2], 0x242070db, 17);
        step!(0xCA, b, c, d, a, w[3], 0xc1bdceee, 22);
        step!(0xCA, a, b, c, d, w[4], 0xf57c0faf, 7);
        step!(0xCA, d, a, b, c, w[5], 0x4787c62a, 12);
        step!(0xCA, c, d, a, b, w[6], 0xa8304613, 17);
        step!(0xCA, b, c, d, a, w[7], 0xfd469501, 22);
        step!(0xCA, a, b, c, d, w[8], 0x698098d8, 7);
        step!(0xCA, d, a, b, c, w[9], 0x8b44f7af, 12);
        step!(0xCA, c, d, a, b, w[10], 0xffff5bb1, 17);
        step!(0xCA, b, c, d, a, w[11], 0x895cd7be, 22);
        step!(0xCA, a, b, c, d, w[12], 0x6b901122, 7);
        step!(0xCA, d, a, b, c, w[13], 0xfd987193, 12);
        step!(0xCA, c, d, a, b, w[14], 0xa679438e, 17);
        step!(0xCA, b, c, d, a, w[15], 0x49b40821, 22);
        step!(0xE4, a, b, c, d, w[1], 0xf61e2562, 5);
        step!(0xE4, d, a, b, c, w[6], 0xc040b340, 9);
        step!(0xE4, c, d, a, b, w[11], 0x265e5a51, 14);
        step!(0xE4, b, c, d, a, w[0], 0xe9b6c7aa, 20);
        step!(0xE4, a, b, c, d, w[5], 0xd62f105d, 5);
        step!(0xE4, d, a, b, c, w[10], 0x02441453, 9);
        step!(0xE4, c, d, a, b, w[15], 0xd8a1e681, 14);
        step!(0xE4, b, c, d, a, w[4], 0xe7d3fbc8, 20);
        step!(0xE4, a, b, c, d, w[9], 0x21e1cde6, 5);
        step!(0xE4, d, a, b, c, w[14], 0xc33707d6, 9);
        step!(0xE4, c, d, a, b, w[3], 0xf4d50d87, 14);
        step!(0xE4, b, c, d, a, w[8], 0x455a14ed, 20);
        step!(0xE4, a, b, c, d, w[13], 0xa9e3e905, 5);
        step!(0xE4, d, a, b, c, w[2], 0xfcefa3f8, 9);
        step!(0xE4, c, d, a, b, w[7], 0x676f02d9, 14);
        step!(0xE4, b, c, d, a, w[12], 0x8d2a4c8a, 20);
        step!(0x96, a, b, c, d, w[5], 0xfffa3942, 4);
        step!(0x96, d, a, b, c, w[8], 0x8771f681, 11);
        step!(0x96, c, d, a, b, w[11], 0x6d9d6122, 16);
        step!(0x96, b, c, d, a, w[14], 0xfde5380c, 23);
        step!(0x96, a, b, c, d, w[1], 0xa4beea44, 4);
        step!(0x96, d, a, b, c, w[4], 0x4bdecfa9, 11);
        step!(0x96, c, d, a, b, w[7], 0xf6bb4b60, 16);
        step!(0x96, b, c, d, a, w[10], 0xbebfbc70, 23);
        step!(0x96, a, b, c, d, w[13], 0x289b7ec6, 4);
        step!(0x96, d, a, b, c, w[0], 0xeaa127fa, 11);
        step!(0x96, c, d, a, b, w[3], 0xd4ef3085, 16);
        step!(0x96, b, c, d, a, w[6], 0x04881d05, 23);
        step!(0x96, a, b, c, d, w[9], 0xd9d4d039, 4);
        step!(0x96, d, a, b, c, w[12], 0xe6db99e5, 11);
        step!(0x96, c, d, a, b, w[15], 0x1fa27cf8, 16);
        step!(0x96, b, c, d, a, w[2], 0xc4ac5665, 23);
        step!(0x39, a, b, c, d, w[0], 0xf4292244, 6);
        step!(0x39, d, a, b, c, w[7], 0x432aff97, 10);
        step!(0x39, c, d, a, b, w[14], 0xab9423a7, 15);
        step!(0x39, b, c, d, a, w[5], 0xfc93a039, 21);
        step!(0x39, a, b, c, d, w[12], 0x655b59c3, 6);
        step!(0x39, d, a, b, c, w[3], 0x8f0ccc92, 10);
        step!(0x39, c, d, a, b, w[10], 0xffeff47d, 15);
        step!(0x39, b, c, d, a, w[1], 0x85845dd1, 21);
        step!(0x39, a, b, c, d, w[8], 0x6fa87e4f, 6);
        step!(0x39, d, a, b, c, w[15], 0xfe2ce6e0, 10);
        step!(0x39, c, d, a, b, w[6], 0xa3014314, 15);
        step!(0x39, b, c, d, a, w[13], 0x4e0811a1, 21);
        step!(0x39, a, b, c, d, w[4], 0xf7537e82, 6);
        step!(0x39, d, a, b, c, w[11], 0xbd3af235, 10);
        step!(0x39, c, d, a, b, w[2], 0x2ad7d2bb, 15);
        step!(0x39, b, c, d, a, w[9], 0xeb86d391, 21);
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
