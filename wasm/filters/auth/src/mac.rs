//! HMAC-SHA2 from RustCrypto (Debian's librust-hmac-dev / librust-sha2-dev): computing and
//! verifying in constant time.

use crate::config::Algorithm;
use crate::sha2_compact::{Sha256, Sha384, Sha512};
use hmac::{Hmac, Mac};

/// A key with its HMAC inner and outer pads already hashed: done once per configuration, so a
/// request pays only for its own bytes (two fewer block computations per token).
#[derive(Clone)]
pub enum PreparedKey {
    Hs256(Hmac<Sha256>),
    Hs384(Hmac<Sha384>),
    Hs512(Hmac<Sha512>),
}

impl PreparedKey {
    pub fn new(algorithm: Algorithm, secret: &[u8]) -> Option<PreparedKey> {
        Some(match algorithm {
            Algorithm::Hs256 => PreparedKey::Hs256(<Hmac<Sha256> as Mac>::new_from_slice(secret).ok()?),
            Algorithm::Hs384 => PreparedKey::Hs384(<Hmac<Sha384> as Mac>::new_from_slice(secret).ok()?),
            Algorithm::Hs512 => PreparedKey::Hs512(<Hmac<Sha512> as Mac>::new_from_slice(secret).ok()?),
        })
    }

    /// True when `signature` is the HMAC of `message` under this key; the comparison does not
    /// leak how many leading bytes matched.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            PreparedKey::Hs256(mac) => verify_with(mac.clone(), message, signature),
            PreparedKey::Hs384(mac) => verify_with(mac.clone(), message, signature),
            PreparedKey::Hs512(mac) => verify_with(mac.clone(), message, signature),
        }
    }
}

fn verify_with<M: Mac>(mut mac: M, message: &[u8], signature: &[u8]) -> bool {
    mac.update(message);
    mac.verify_slice(signature).is_ok()
}

pub fn compute(algorithm: Algorithm, secret: &[u8], message: &[u8]) -> Vec<u8> {
    match algorithm {
        Algorithm::Hs256 => compute_with::<Hmac<Sha256>>(secret, message),
        Algorithm::Hs384 => compute_with::<Hmac<Sha384>>(secret, message),
        Algorithm::Hs512 => compute_with::<Hmac<Sha512>>(secret, message),
    }
}

fn compute_with<M: Mac + hmac::digest::KeyInit>(secret: &[u8], message: &[u8]) -> Vec<u8> {
    match <M as Mac>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}
