//! Opaque bearer tokens (service tokens) checked against the SHA-256 hashes in the
//! configuration, so the plugin configuration never holds a usable token.

use crate::config::StaticToken;
use crate::sha2_compact::Sha256;
use hmac::digest::Digest;
use subtle::ConstantTimeEq;

/// The name of the matching token that has not expired at `now`. Every stored hash is compared,
/// in constant time, so neither the position of a match nor the number of matching bytes shows in
/// the timing.
pub fn find<'a>(tokens: &'a [StaticToken], presented: &[u8], now: f64) -> Option<&'a str> {
    if tokens.is_empty() {
        return None;
    }
    let digest = Sha256::digest(presented);
    let mut found: Option<&str> = None;
    for token in tokens {
        if bool::from(token.sha256.ct_eq(digest.as_slice())) && token.valid_at(now) {
            found = Some(token.name.as_str());
        }
    }
    found
}
