//! HMAC-SHA2 from RustCrypto (Debian's librust-hmac-dev / librust-sha2-dev): computing and
//! verifying in constant time.

use crate::config::Algorithm;
use hmac::{Hmac, Mac};
use crate::sha2_compact::{Sha256, Sha384, Sha512};

/// True when `signature` is the HMAC of `message` under `secret`; the comparison does not leak
/// how many leading bytes matched.
pub fn verify(algorithm: Algorithm, secret: &[u8], message: &[u8], signature: &[u8]) -> bool {
    match algorithm {
        Algorithm::Hs256 => verify_with::<Hmac<Sha256>>(secret, message, signature),
        Algorithm::Hs384 => verify_with::<Hmac<Sha384>>(secret, message, signature),
        Algorithm::Hs512 => verify_with::<Hmac<Sha512>>(secret, message, signature),
    }
}

fn verify_with<M: Mac + hmac::digest::KeyInit>(secret: &[u8], message: &[u8], signature: &[u8]) -> bool {
    match <M as Mac>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(message);
            mac.verify_slice(signature).is_ok()
        }
        Err(_) => false,
    }
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
