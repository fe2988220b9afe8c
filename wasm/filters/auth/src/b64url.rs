//! base64url without padding (RFC 4648 section 5, as RFC 7515 section 2 uses it), decoded
//! strictly and straight into a caller's buffer: exactly the alphabet `A-Z a-z 0-9 - _`, no `=`,
//! no whitespace, no length of 1 modulo 4, and the unused low bits of the last symbol must be
//! zero (so every byte string has exactly one accepted encoding). This is what the `base64`
//! crate's `URL_SAFE_NO_PAD` decoding accepted, without its chunked decoder's size or a `Vec`.

/// The number of bytes `len` symbols decode to, or None when no encoding has that length.
pub fn decoded_len(len: usize) -> Option<usize> {
    match len % 4 {
        1 => None,
        0 => Some(len / 4 * 3),
        rest => Some(len / 4 * 3 + rest - 1),
    }
}

/// The 6 bits of one symbol; 0xff for anything outside the alphabet. Arithmetic, not a table:
/// in the JVM host a table lookup is a bounds-checked memory read.
#[inline(always)]
fn sextet(symbol: u8) -> u32 {
    match symbol {
        b'A'..=b'Z' => (symbol - b'A') as u32,
        b'a'..=b'z' => (symbol - b'a' + 26) as u32,
        b'0'..=b'9' => (symbol - b'0' + 52) as u32,
        b'-' => 62,
        b'_' => 63,
        _ => 0xff,
    }
}

/// Decodes `segment` into `out`, which must be exactly `decoded_len(segment.len())` bytes long.
/// Err(()) for any symbol outside the alphabet, an impossible length, or non-zero unused bits.
pub fn decode_into(segment: &[u8], out: &mut [u8]) -> Result<(), ()> {
    if decoded_len(segment.len()) != Some(out.len()) {
        return Err(());
    }
    let mut quads = segment.chunks_exact(4);
    let mut triples = out.chunks_exact_mut(3);
    for (quad, triple) in (&mut quads).zip(&mut triples) {
        // One 32-bit memory read per four symbols.
        let mut symbols = [0u8; 4];
        symbols.copy_from_slice(quad);
        let symbols = u32::from_le_bytes(symbols);
        let (a, b, c, d) = (
            sextet(symbols as u8),
            sextet((symbols >> 8) as u8),
            sextet((symbols >> 16) as u8),
            sextet((symbols >> 24) as u8),
        );
        // Valid sextets are below 64; the 0xff of anything else shows in the OR.
        if a | b | c | d > 63 {
            return Err(());
        }
        let bits = a << 18 | b << 12 | c << 6 | d;
        triple[0] = (bits >> 16) as u8;
        triple[1] = (bits >> 8) as u8;
        triple[2] = bits as u8;
    }
    let tail = quads.remainder();
    let rest = triples.into_remainder();
    match (tail.len(), rest.len()) {
        (0, 0) => Ok(()),
        (2, 1) => {
            let (a, b) = (sextet(tail[0]), sextet(tail[1]));
            if a | b > 63 || b & 0xf != 0 {
                return Err(());
            }
            let bits = a << 6 | b;
            rest[0] = (bits >> 4) as u8;
            Ok(())
        }
        (3, 2) => {
            let (a, b, c) = (sextet(tail[0]), sextet(tail[1]), sextet(tail[2]));
            if a | b | c > 63 || c & 0x3 != 0 {
                return Err(());
            }
            let bits = a << 12 | b << 6 | c;
            rest[0] = (bits >> 10) as u8;
            rest[1] = (bits >> 2) as u8;
            Ok(())
        }
        _ => Err(()),
    }
}

/// True when `segment` is a valid encoding (checked without writing anything).
pub fn is_valid(segment: &[u8]) -> bool {
    if decoded_len(segment.len()).is_none() {
        return false;
    }
    let (whole, tail) = segment.split_at(segment.len() - segment.len() % 4);
    if whole.iter().fold(0, |any, s| any | sextet(*s)) > 63 {
        return false;
    }
    let last_bits_unused = match tail.len() {
        0 => return true,
        2 => 0xf,
        _ => 0x3,
    };
    tail.iter().fold(0, |any, s| any | sextet(*s)) <= 63 && sextet(tail[tail.len() - 1]) & last_bits_unused == 0
}
