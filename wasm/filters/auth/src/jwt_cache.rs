//! Recently verified JWTs, per configuration (decision 0204): a client sends the same token
//! with every request until it expires, and its signature and claims cannot change, so a token
//! seen and accepted before is accepted again after only the checks that depend on the clock.
//!
//! - Only accepted tokens are stored (an outsider cannot fill the cache: it takes a key to make
//!   a token that verifies), at most `SLOTS` of at most `MAX_TOKEN_BYTES` each; a new token
//!   takes the slot its hash picks.
//! - A hit needs the whole token equal, compared in constant time (no early exit, so timing does
//!   not tell how much of a cached token a guess matched).
//! - A hit answers only "accept, with this principal", and only while the token's `exp` and
//!   `nbf` (with the leeway) and the verifying key's `expires_at` still pass at `now`; anything
//!   else goes through the full verification, which gives the same answer it always gave.
//! - The cache belongs to the parsed configuration: a new configuration (keys added, removed or
//!   rotated) starts with an empty one.

use crate::config::JwtRules;
use subtle::ConstantTimeEq;

pub const SLOTS: usize = 64;
pub const MAX_TOKEN_BYTES: usize = 1024;

/// What an accepted token's later requests are checked against.
pub struct Verified {
    pub exp: Option<f64>,
    pub nbf: Option<f64>,
    pub key_expires_at: Option<f64>,
}

struct Entry {
    token: Vec<u8>,
    principal: Vec<u8>,
    verified: Verified,
}

#[derive(Default)]
pub struct JwtCache {
    slots: Vec<Option<Entry>>,
}

impl JwtCache {
    /// The principal of `token` when it was accepted before and its time checks still pass.
    #[inline(never)]
    pub fn lookup(&self, token: &[u8], rules: &JwtRules, now: f64) -> Option<&[u8]> {
        let entry = self.slots.get(slot(token))?.as_ref()?;
        if entry.token.len() != token.len() || !same_bytes(&entry.token, token) {
            return None;
        }
        let v = &entry.verified;
        let fresh = v.exp.map_or(true, |exp| now <= exp + rules.leeway_seconds)
            && v.nbf.map_or(true, |nbf| now + rules.leeway_seconds >= nbf)
            && v.key_expires_at.map_or(true, |end| now < end);
        if fresh {
            Some(&entry.principal)
        } else {
            None
        }
    }

    #[inline(never)]
    pub fn insert(&mut self, token: &[u8], principal: &[u8], verified: Verified) {
        if token.len() > MAX_TOKEN_BYTES {
            return;
        }
        if self.slots.is_empty() {
            self.slots.resize_with(SLOTS, || None);
        }
        if let Some(slot) = self.slots.get_mut(slot(token)) {
            *slot = Some(Entry {
                token: token.to_vec(),
                principal: principal.to_vec(),
                verified,
            });
        }
    }
}

/// The slot for a token: a multiplicative hash of its length and last 8 bytes (the end of the
/// signature, as unpredictable as the MAC).
fn slot(token: &[u8]) -> usize {
    let mut tail = [0u8; 8];
    let start = token.len().saturating_sub(8);
    tail[..token.len() - start].copy_from_slice(&token[start..]);
    let mixed = (u64::from_le_bytes(tail) ^ token.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (mixed >> 58) as usize % SLOTS
}

/// Equal-length byte strings compared without an early exit: 8 bytes per step, differences
/// OR-ed together, the final test through `subtle`.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let mut diff = 0u64;
    let (mut a8, mut b8) = (a.chunks_exact(8), b.chunks_exact(8));
    for (x, y) in (&mut a8).zip(&mut b8) {
        let mut xs = [0u8; 8];
        let mut ys = [0u8; 8];
        xs.copy_from_slice(x);
        ys.copy_from_slice(y);
        diff |= u64::from_le_bytes(xs) ^ u64::from_le_bytes(ys);
    }
    for (x, y) in a8.remainder().iter().zip(b8.remainder()) {
        diff |= (x ^ y) as u64;
    }
    bool::from(diff.ct_eq(&0))
}
