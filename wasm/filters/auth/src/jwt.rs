//! Compact JWS tokens signed with HMAC (RFC 7519 / RFC 7515 / RFC 7518 section 3.2).
//! The signature is checked before the claims are even parsed, so an attacker's JSON reaches
//! the claims reader only when it came from a key holder. One pass over the token: the caller
//! found the two dots, each segment is decoded once into one reused buffer (the signature onto
//! the stack), and the JSON readers (`json.rs`) borrow from that buffer.

use crate::b64url;
use crate::config::{Algorithm, JwtRules};
use crate::json::{self, Kind, Value};
use crate::jwt_cache::Verified;

/// Why a token was refused; each maps to a short `reason` in the 403 body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Malformed,
    AlgorithmNotAllowed,
    BadSignature,
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
}

impl Refusal {
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed_token",
            Refusal::AlgorithmNotAllowed => "algorithm_not_allowed",
            Refusal::BadSignature => "bad_signature",
            Refusal::Expired => "token_expired",
            Refusal::NotYetValid => "token_not_yet_valid",
            Refusal::WrongIssuer => "wrong_issuer",
            Refusal::WrongAudience => "wrong_audience",
        }
    }
}

/// The positions of the two dots of a JWT-shaped token (three dot-separated parts), None for
/// any other number of dots.
pub fn dots(token: &[u8]) -> Option<(usize, usize)> {
    let first = find_dot(token, 0)?;
    let second = find_dot(token, first + 1)?;
    match find_dot(token, second + 1) {
        Some(_) => None,
        None => Some((first, second)),
    }
}

/// The first `.` at or after `from`, 8 bytes per memory read (a zero-byte test on the bytes
/// XOR `.`; its lowest flagged byte is always exact).
fn find_dot(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut at = from;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ (ONES * b'.' as u64);
        let zero = x.wrapping_sub(ONES) & !x & HIGHS;
        if zero != 0 {
            return Some(at + zero.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    bytes.get(at..)?.iter().position(|b| *b == b'.').map(|i| at + i)
}

/// Verifies `token` (whose dots are at `dots`) at `now` (seconds since the epoch); on success
/// appends the subject claim, as `printable` keeps it, to `principal`, and returns what a later
/// request with the same token must still pass.
///
/// Never inlined: in the JVM host one wasm function becomes one JVM method, and HotSpot leaves
/// methods over 8,000 bytes of bytecode to the interpreter (decision 0201); kept apart, the
/// request callback and this function each stay well below that and compile well.
#[inline(never)]
pub fn verify(
    rules: &JwtRules,
    token: &[u8],
    (first_dot, second_dot): (usize, usize),
    now: f64,
    principal: &mut Vec<u8>,
) -> Result<Verified, Refusal> {
    let header_b64 = &token[..first_dot];
    let payload_b64 = &token[first_dot + 1..second_dot];
    let signature_b64 = &token[second_dot + 1..];
    if header_b64.is_empty() || payload_b64.is_empty() || signature_b64.is_empty() {
        return Err(Refusal::Malformed);
    }

    // One buffer for the decoded header, then the decoded claims.
    let mut buffer = Vec::new();
    let header = decode_segment(header_b64, &mut buffer)?;
    let (mut alg, mut kid, mut crit) = (None, None, false);
    json::object_members(header, |name, value| {
        if name.str_eq(b"alg") {
            alg = Some(value);
        } else if name.str_eq(b"kid") {
            kid = Some(value);
        } else if name.str_eq(b"crit") {
            crit = true;
        }
    })
    .map_err(|_| Refusal::Malformed)?;
    let alg = alg.filter(|v| v.kind == Kind::String).ok_or(Refusal::Malformed)?;
    // "none" and every asymmetric or unknown name fall out here: only configured HMACs pass.
    let algorithm = [Algorithm::Hs256, Algorithm::Hs384, Algorithm::Hs512]
        .into_iter()
        .find(|candidate| alg.str_eq(candidate.name().as_bytes()))
        .filter(|alg| rules.keys.iter().any(|k| k.algorithm == *alg))
        .ok_or(Refusal::AlgorithmNotAllowed)?;
    // RFC 7515 4.1.11: extensions we do not understand must make the token invalid.
    if crit {
        return Err(Refusal::Malformed);
    }
    let key_id = match kid {
        None => None,
        Some(value) if value.kind == Kind::String => Some(value),
        Some(_) => return Err(Refusal::Malformed),
    };

    // Not base64url: malformed; valid but of another length than the algorithm's: bad signature.
    let mut signature = [0u8; 64];
    let signature = match signature.get_mut(..algorithm.output_len()) {
        Some(out) if b64url::decoded_len(signature_b64.len()) == Some(out.len()) => {
            b64url::decode_into(signature_b64, out).map_err(|_| Refusal::Malformed)?;
            out
        }
        _ if !b64url::is_valid(signature_b64) => return Err(Refusal::Malformed),
        _ => return Err(Refusal::BadSignature),
    };
    let signing_input = &token[..second_dot];
    // During a rotation both the old and the new key are configured; a token names its key with
    // `kid` when the issuer sets one, else every key of its algorithm is tried.
    let signer = rules
        .keys
        .iter()
        .filter(|k| k.algorithm == algorithm && k.valid_at(now))
        .filter(|k| match (&key_id, k.id.as_deref()) {
            (Some(kid), Some(id)) => kid.str_eq(id.as_bytes()),
            _ => true,
        })
        .find(|k| k.mac.verify(signing_input, signature))
        .ok_or(Refusal::BadSignature)?;

    let claims = decode_segment(payload_b64, &mut buffer)?;
    let mut found = Claims::default();
    json::object_members(claims, |name, value| {
        let slot = if name.str_eq(b"exp") {
            &mut found.exp
        } else if name.str_eq(b"nbf") {
            &mut found.nbf
        } else if name.str_eq(b"iss") {
            &mut found.iss
        } else if name.str_eq(b"aud") {
            &mut found.aud
        } else if name.str_eq(b"sub") {
            &mut found.sub
        } else {
            return;
        };
        *slot = Some(value);
    })
    .map_err(|_| Refusal::Malformed)?;
    check_times(rules, &found, now)?;
    if let Some(issuer) = &rules.issuer {
        if !found.iss.map_or(false, |iss| iss.str_eq(issuer.as_bytes())) {
            return Err(Refusal::WrongIssuer);
        }
    }
    if !rules.audiences.is_empty() && !audience_matches(&rules.audiences, found.aud) {
        return Err(Refusal::WrongAudience);
    }
    if let Some(subject) = found.sub {
        push_printable(principal, subject);
    }
    Ok(Verified {
        // Both known to be numbers (or absent) by now.
        exp: found.exp.and_then(|v| v.as_f64()),
        nbf: found.nbf.and_then(|v| v.as_f64()),
        key_expires_at: signer.expires_at,
    })
}

/// The claims the filter reads; the last of duplicate names wins.
#[derive(Default)]
struct Claims<'a> {
    exp: Option<Value<'a>>,
    nbf: Option<Value<'a>>,
    iss: Option<Value<'a>>,
    aud: Option<Value<'a>>,
    sub: Option<Value<'a>>,
}

fn check_times(rules: &JwtRules, claims: &Claims, now: f64) -> Result<(), Refusal> {
    match numeric_date(claims.exp)? {
        Some(expiry) if now > expiry + rules.leeway_seconds => return Err(Refusal::Expired),
        None if rules.require_expiry => return Err(Refusal::Malformed),
        _ => {}
    }
    match numeric_date(claims.nbf)? {
        Some(not_before) if now + rules.leeway_seconds < not_before => Err(Refusal::NotYetValid),
        _ => Ok(()),
    }
}

fn numeric_date(value: Option<Value>) -> Result<Option<f64>, Refusal> {
    match value {
        None => Ok(None),
        Some(v) => v.as_f64().map(Some).ok_or(Refusal::Malformed),
    }
}

fn audience_matches(allowed: &[String], claim: Option<Value>) -> bool {
    let matches = |aud: &Value| allowed.iter().any(|a| aud.str_eq(a.as_bytes()));
    match claim {
        Some(aud) if aud.kind == Kind::String => matches(&aud),
        Some(list) if list.kind == Kind::Array => list.elements().any(|aud| matches(&aud)),
        _ => false,
    }
}

/// The subject (a JSON string; other kinds give nothing) as it may go into a request header:
/// visible ASCII and spaces only, at most 256 of them.
fn push_printable(out: &mut Vec<u8>, subject: Value) {
    if subject.kind != Kind::String {
        return;
    }
    let mut kept = 0;
    subject.decoded(|byte| {
        if kept < 256 && (byte.is_ascii_graphic() || byte == b' ') {
            out.push(byte);
            kept += 1;
        }
    });
}

/// base64url without padding, as RFC 7515 requires, into `buffer` (reused); anything else is
/// malformed.
fn decode_segment<'b>(segment: &[u8], buffer: &'b mut Vec<u8>) -> Result<&'b [u8], Refusal> {
    let len = b64url::decoded_len(segment.len()).ok_or(Refusal::Malformed)?;
    buffer.clear();
    buffer.resize(len, 0);
    b64url::decode_into(segment, buffer).map_err(|_| Refusal::Malformed)?;
    Ok(buffer)
}
