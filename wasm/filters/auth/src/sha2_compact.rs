//! SHA-256, SHA-384 and SHA-512 (FIPS 180-4) as RustCrypto `digest` cores, so the vetted `hmac`
//! crate (HMAC construction), `block-buffer` (padding) and `subtle` (comparison) do everything
//! around them. Only the block functions are written here, compact and over locals: sha2
//! 0.10's unrolled, array-shuffling block functions compile to wasm functions so large that the
//! JVM proxy-wasm host never JIT-compiles them (100+ µs per JWT instead of a few). The constants
//! below were generated from their definitions (fractional parts of square and cube roots of the
//! first primes); the tests check every algorithm against RFC 4231 and the JDK.

use core::fmt;
use hmac::digest::block_buffer::Eager;
use hmac::digest::core_api::{
    AlgorithmName, Block, BlockSizeUser, Buffer, BufferKindUser, CoreWrapper, FixedOutputCore,
    OutputSizeUser, UpdateCore,
};
use hmac::digest::typenum::{Unsigned, U128, U32, U48, U64};
use hmac::digest::{HashMarker, Output, Reset};

pub type Sha256 = CoreWrapper<Sha256Core>;
pub type Sha384 = CoreWrapper<Sha384Core>;
pub type Sha512 = CoreWrapper<Sha512Core>;

const K256: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

const K512: [u64; 80] = [
    0x428a2f98d728ae22,
    0x7137449123ef65cd,
    0xb5c0fbcfec4d3b2f,
    0xe9b5dba58189dbbc,
    0x3956c25bf348b538,
    0x59f111f1b605d019,
    0x923f82a4af194f9b,
    0xab1c5ed5da6d8118,
    0xd807aa98a3030242,
    0x12835b0145706fbe,
    0x243185be4ee4b28c,
    0x550c7dc3d5ffb4e2,
    0x72be5d74f27b896f,
    0x80deb1fe3b1696b1,
    0x9bdc06a725c71235,
    0xc19bf174cf692694,
    0xe49b69c19ef14ad2,
    0xefbe4786384f25e3,
    0x0fc19dc68b8cd5b5,
    0x240ca1cc77ac9c65,
    0x2de92c6f592b0275,
    0x4a7484aa6ea6e483,
    0x5cb0a9dcbd41fbd4,
    0x76f988da831153b5,
    0x983e5152ee66dfab,
    0xa831c66d2db43210,
    0xb00327c898fb213f,
    0xbf597fc7beef0ee4,
    0xc6e00bf33da88fc2,
    0xd5a79147930aa725,
    0x06ca6351e003826f,
    0x142929670a0e6e70,
    0x27b70a8546d22ffc,
    0x2e1b21385c26c926,
    0x4d2c6dfc5ac42aed,
    0x53380d139d95b3df,
    0x650a73548baf63de,
    0x766a0abb3c77b2a8,
    0x81c2c92e47edaee6,
    0x92722c851482353b,
    0xa2bfe8a14cf10364,
    0xa81a664bbc423001,
    0xc24b8b70d0f89791,
    0xc76c51a30654be30,
    0xd192e819d6ef5218,
    0xd69906245565a910,
    0xf40e35855771202a,
    0x106aa07032bbd1b8,
    0x19a4c116b8d2d0c8,
    0x1e376c085141ab53,
    0x2748774cdf8eeb99,
    0x34b0bcb5e19b48a8,
    0x391c0cb3c5c95a63,
    0x4ed8aa4ae3418acb,
    0x5b9cca4f7763e373,
    0x682e6ff3d6b2b8a3,
    0x748f82ee5defb2fc,
    0x78a5636f43172f60,
    0x84c87814a1f0ab72,
    0x8cc702081a6439ec,
    0x90befffa23631e28,
    0xa4506cebde82bde9,
    0xbef9a3f7b2c67915,
    0xc67178f2e372532b,
    0xca273eceea26619c,
    0xd186b8c721c0c207,
    0xeada7dd6cde0eb1e,
    0xf57d4f7fee6ed178,
    0x06f067aa72176fba,
    0x0a637dc5a2c898a6,
    0x113f9804bef90dae,
    0x1b710b35131c471b,
    0x28db77f523047d84,
    0x32caab7b40c72493,
    0x3c9ebe0a15c9bebc,
    0x431d67c49c100d4c,
    0x4cc5d4becb3e42b6,
    0x597f299cfc657e2a,
    0x5fcb6fab3ad6faec,
    0x6c44198c4a475817,
];

const IV256: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

const IV384: [u64; 8] = [
    0xcbbb9d5dc1059ed8,
    0x629a292a367cd507,
    0x9159015a3070dd17,
    0x152fecd8f70e5939,
    0x67332667ffc00b31,
    0x8eb44a8768581511,
    0xdb0c2e0d64f98fa7,
    0x47b5481dbefa4fa4,
];

const IV512: [u64; 8] = [
    0x6a09e667f3bcc908,
    0xbb67ae8584caa73b,
    0x3c6ef372fe94f82b,
    0xa54ff53a5f1d36f1,
    0x510e527fade682d1,
    0x9b05688c2b3e6c1f,
    0x1f83d9abfb41bd6b,
    0x5be0cd19137e2179,
];

/// Defines a SHA-2 block function: 16 rounds per loop iteration with the message schedule in 16
/// locals (no stack array, so no linear-memory traffic for it) and the eight working variables
/// renamed round to round instead of shifted. One iteration stays well under HotSpot's
/// huge-method limit once Chicory turns it into a JVM method.
macro_rules! block_function {
    ($name:ident, $word:ty, $rounds:expr, $k:ident, $load:ident,
     big_sigma0: $a0:expr, $a1:expr, $a2:expr; big_sigma1: $e0:expr, $e1:expr, $e2:expr;
     sigma0: $s00:expr, $s01:expr, $s0shift:expr; sigma1: $s10:expr, $s11:expr, $s1shift:expr) => {
        fn $name(state: &mut [$word; 8], block: &[u8; 16 * core::mem::size_of::<$word>()]) {
            // Each word loaded once, straight into a local (no schedule array on the shadow stack,
            // no inner loop); `$load` and `$k` read two 32-bit words per 64-bit memory access
            // for SHA-256: in the JVM host every memory access is a bounds-checked call.
            macro_rules! word {
                ($i:expr) => {
                    $load(block, $i)
                };
            }
            let (mut w0, mut w1, mut w2, mut w3) = (word!(0), word!(1), word!(2), word!(3));
            let (mut w4, mut w5, mut w6, mut w7) = (word!(4), word!(5), word!(6), word!(7));
            let (mut w8, mut w9, mut w10, mut w11) = (word!(8), word!(9), word!(10), word!(11));
            let (mut w12, mut w13, mut w14, mut w15) = (word!(12), word!(13), word!(14), word!(15));
            let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;

            macro_rules! round {
                ($va:ident, $vb:ident, $vc:ident, $vd:ident, $ve:ident, $vf:ident, $vg:ident, $vh:ident, $w:ident, $i:expr) => {
                    let t1 = $vh
                        .wrapping_add($ve.rotate_right($e0) ^ $ve.rotate_right($e1) ^ $ve.rotate_right($e2))
                        .wrapping_add(($ve & $vf) ^ (!$ve & $vg))
                        .wrapping_add($k($i))
                        .wrapping_add($w);
                    let t2 = ($va.rotate_right($a0) ^ $va.rotate_right($a1) ^ $va.rotate_right($a2))
                        .wrapping_add(($va & $vb) ^ ($va & $vc) ^ ($vb & $vc));
                    $vd = $vd.wrapping_add(t1);
                    $vh = t1.wrapping_add(t2);
                };
            }
            // W[t] = W[t-16] + sigma0(W[t-15]) + W[t-7] + sigma1(W[t-2]), in place modulo 16.
            macro_rules! schedule {
                ($w0:ident, $w1:ident, $w9:ident, $w14:ident) => {
                    $w0 = $w0
                        .wrapping_add($w1.rotate_right($s00) ^ $w1.rotate_right($s01) ^ ($w1 >> $s0shift))
                        .wrapping_add($w9)
                        .wrapping_add($w14.rotate_right($s10) ^ $w14.rotate_right($s11) ^ ($w14 >> $s1shift));
                };
            }

            let mut base = 0;
            while base < $rounds {
                if base > 0 {
                    schedule!(w0, w1, w9, w14);
                    schedule!(w1, w2, w10, w15);
                    schedule!(w2, w3, w11, w0);
                    schedule!(w3, w4, w12, w1);
                    schedule!(w4, w5, w13, w2);
                    schedule!(w5, w6, w14, w3);
                    schedule!(w6, w7, w15, w4);
                    schedule!(w7, w8, w0, w5);
                    schedule!(w8, w9, w1, w6);
                    schedule!(w9, w10, w2, w7);
                    schedule!(w10, w11, w3, w8);
                    schedule!(w11, w12, w4, w9);
                    schedule!(w12, w13, w5, w10);
                    schedule!(w13, w14, w6, w11);
                    schedule!(w14, w15, w7, w12);
                    schedule!(w15, w0, w8, w13);
                }
                round!(a, b, c, d, e, f, g, h, w0, base);
                round!(h, a, b, c, d, e, f, g, w1, base + 1);
                round!(g, h, a, b, c, d, e, f, w2, base + 2);
                round!(f, g, h, a, b, c, d, e, w3, base + 3);
                round!(e, f, g, h, a, b, c, d, w4, base + 4);
                round!(d, e, f, g, h, a, b, c, w5, base + 5);
                round!(c, d, e, f, g, h, a, b, w6, base + 6);
                round!(b, c, d, e, f, g, h, a, w7, base + 7);
                round!(a, b, c, d, e, f, g, h, w8, base + 8);
                round!(h, a, b, c, d, e, f, g, w9, base + 9);
                round!(g, h, a, b, c, d, e, f, w10, base + 10);
                round!(f, g, h, a, b, c, d, e, w11, base + 11);
                round!(e, f, g, h, a, b, c, d, w12, base + 12);
                round!(d, e, f, g, h, a, b, c, w13, base + 13);
                round!(c, d, e, f, g, h, a, b, w14, base + 14);
                round!(b, c, d, e, f, g, h, a, w15, base + 15);
                base += 16;
            }
            // Written out, not zipped with an array: no temporary on the shadow stack.
            state[0] = state[0].wrapping_add(a);
            state[1] = state[1].wrapping_add(b);
            state[2] = state[2].wrapping_add(c);
            state[3] = state[3].wrapping_add(d);
            state[4] = state[4].wrapping_add(e);
            state[5] = state[5].wrapping_add(f);
            state[6] = state[6].wrapping_add(g);
            state[7] = state[7].wrapping_add(h);
        }
    };
}

/// K256[i], from the packed table: an even and the following odd round share one 64-bit load
/// (the optimizer merges the two identical loads of a pair).
#[inline(always)]
fn k256(i: usize) -> u32 {
    (K256_PAIRS[i / 2] >> (32 * (1 - (i & 1)))) as u32
}

/// K256 two constants per u64 (even round in the high half), built at compile time.
const K256_PAIRS: [u64; 32] = {
    let mut pairs = [0u64; 32];
    let mut i = 0;
    while i < 32 {
        pairs[i] = (K256[2 * i] as u64) << 32 | K256[2 * i + 1] as u64;
        i += 1;
    }
    pairs
};

/// Big-endian message word `i` of a 64-byte block, read as half of a 64-bit load.
#[inline(always)]
fn load256(block: &[u8; 64], i: usize) -> u32 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&block[i / 2 * 8..i / 2 * 8 + 8]);
    (u64::from_be_bytes(bytes) >> (32 * (1 - (i & 1)))) as u32
}

#[inline(always)]
fn k512(i: usize) -> u64 {
    K512[i]
}

#[inline(always)]
fn load512(block: &[u8; 128], i: usize) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&block[i * 8..i * 8 + 8]);
    u64::from_be_bytes(bytes)
}

block_function!(compress256, u32, 64, k256, load256,
    big_sigma0: 2, 13, 22; big_sigma1: 6, 11, 25; sigma0: 7, 18, 3; sigma1: 17, 19, 10);
block_function!(compress512, u64, 80, k512, load512,
    big_sigma0: 28, 34, 39; big_sigma1: 14, 18, 41; sigma0: 1, 8, 7; sigma1: 19, 61, 6);

#[derive(Clone)]
pub struct Sha256Core {
    state: [u32; 8],
    blocks: u64,
}

impl Default for Sha256Core {
    fn default() -> Self {
        Sha256Core {
            state: IV256,
            blocks: 0,
        }
    }
}

impl HashMarker for Sha256Core {}

impl BlockSizeUser for Sha256Core {
    type BlockSize = U64;
}

impl BufferKindUser for Sha256Core {
    type BufferKind = Eager;
}

impl OutputSizeUser for Sha256Core {
    type OutputSize = U32;
}

impl UpdateCore for Sha256Core {
    fn update_blocks(&mut self, blocks: &[Block<Self>]) {
        self.blocks = self.blocks.wrapping_add(blocks.len() as u64);
        for block in blocks {
            compress256(&mut self.state, block.as_ref());
        }
    }
}

impl FixedOutputCore for Sha256Core {
    fn finalize_fixed_core(&mut self, buffer: &mut Buffer<Self>, out: &mut Output<Self>) {
        let bits = 8 * (buffer.get_pos() as u64 + U64::U64 * self.blocks);
        let state = &mut self.state;
        buffer.len64_padding_be(bits, |block| compress256(state, block.as_ref()));
        for (chunk, word) in out.chunks_exact_mut(4).zip(self.state.iter()) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
    }
}

impl Reset for Sha256Core {
    fn reset(&mut self) {
        *self = Self::default();
    }
}

impl AlgorithmName for Sha256Core {
    fn write_alg_name(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sha256")
    }
}

impl fmt::Debug for Sha256Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sha256Core { .. }")
    }
}

/// SHA-384 and SHA-512 share the block function and differ in IV and output length.
#[derive(Clone)]
pub struct Sha512State {
    state: [u64; 8],
    blocks: u128,
}

impl Sha512State {
    fn update(&mut self, blocks: &[Block<Sha512Core>]) {
        self.blocks = self.blocks.wrapping_add(blocks.len() as u128);
        for block in blocks {
            compress512(&mut self.state, block.as_ref());
        }
    }

    fn finalize(&mut self, buffer: &mut Buffer<Sha512Core>, out: &mut [u8]) {
        let bits = 8 * (buffer.get_pos() as u128 + U128::U64 as u128 * self.blocks);
        let state = &mut self.state;
        buffer.len128_padding_be(bits, |block| compress512(state, block.as_ref()));
        for (chunk, word) in out.chunks_exact_mut(8).zip(self.state.iter()) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
    }
}

#[derive(Clone)]
pub struct Sha384Core(Sha512State);

#[derive(Clone)]
pub struct Sha512Core(Sha512State);

impl Default for Sha384Core {
    fn default() -> Self {
        Sha384Core(Sha512State {
            state: IV384,
            blocks: 0,
        })
    }
}

impl Default for Sha512Core {
    fn default() -> Self {
        Sha512Core(Sha512State {
            state: IV512,
            blocks: 0,
        })
    }
}

impl HashMarker for Sha384Core {}
impl HashMarker for Sha512Core {}

impl BlockSizeUser for Sha384Core {
    type BlockSize = U128;
}

impl BlockSizeUser for Sha512Core {
    type BlockSize = U128;
}

impl BufferKindUser for Sha384Core {
    type BufferKind = Eager;
}

impl BufferKindUser for Sha512Core {
    type BufferKind = Eager;
}

impl OutputSizeUser for Sha384Core {
    type OutputSize = U48;
}

impl OutputSizeUser for Sha512Core {
    type OutputSize = U64;
}

impl UpdateCore for Sha384Core {
    fn update_blocks(&mut self, blocks: &[Block<Self>]) {
        self.0.update(blocks);
    }
}

impl UpdateCore for Sha512Core {
    fn update_blocks(&mut self, blocks: &[Block<Self>]) {
        self.0.update(blocks);
    }
}

impl FixedOutputCore for Sha384Core {
    fn finalize_fixed_core(&mut self, buffer: &mut Buffer<Self>, out: &mut Output<Self>) {
        // The full 512-bit state is computed; SHA-384 keeps its first 384 bits.
        let mut full = [0u8; 64];
        self.0.finalize(buffer, &mut full);
        out.copy_from_slice(&full[..48]);
    }
}

impl FixedOutputCore for Sha512Core {
    fn finalize_fixed_core(&mut self, buffer: &mut Buffer<Self>, out: &mut Output<Self>) {
        self.0.finalize(buffer, out);
    }
}

impl Reset for Sha384Core {
    fn reset(&mut self) {
        *self = Self::default();
    }
}

impl Reset for Sha512Core {
    fn reset(&mut self) {
        *self = Self::default();
    }
}

impl AlgorithmName for Sha384Core {
    fn write_alg_name(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sha384")
    }
}

impl AlgorithmName for Sha512Core {
    fn write_alg_name(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sha512")
    }
}

impl fmt::Debug for Sha384Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sha384Core { .. }")
    }
}

impl fmt::Debug for Sha512Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sha512Core { .. }")
    }
}
