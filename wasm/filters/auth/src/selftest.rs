//! An export for the conformance tests: HMAC over caller-supplied bytes, so the JVM tests can
//! check this module's HMAC against the RFC 4231 vectors and the JDK. Envoy never calls it; it
//! reads only the memory it is given and holds no secret.

use crate::config::Algorithm;
use crate::mac;

/// Writes the MAC to `out` (room for 64 bytes) and returns its length, or 0 for an unknown
/// `bits` (256, 384 or 512).
#[no_mangle]
pub extern "C" fn marchproxy_selftest_hmac(
    bits: u32,
    key: *const u8,
    key_len: usize,
    message: *const u8,
    message_len: usize,
    out: *mut u8,
) -> usize {
    let algorithm = match bits {
        256 => Algorithm::Hs256,
        384 => Algorithm::Hs384,
        512 => Algorithm::Hs512,
        _ => return 0,
    };
    let (key, message) = unsafe {
        (
            std::slice::from_raw_parts(key, key_len),
            std::slice::from_raw_parts(message, message_len),
        )
    };
    let digest = mac::compute(algorithm, key, message);
    unsafe { std::ptr::copy_nonoverlapping(digest.as_ptr(), out, digest.len()) };
    digest.len()
}
