//! Compact JWS tokens signed with HMAC (RFC 7519 / RFC 7515 / RFC 7518 section 3.2).
//! The signature is checked before the claims are even parsed, so an attacker's JSON reaches
//! serde only when it came from a key holder.

use crate::config::{Algorithm, JwtRules};
use serde_json::{Map, Value};

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

/// Verifies `token` at `now` (seconds since the epoch); returns the subject claim ("" if none).
pub fn verify(rules: &JwtRules, token: &[u8], now: f64) -> Result<String, Refusal> {
    let mut parts = token.split(|b| *b == b'.');
    let (header_b64, payload_b64, signature_b64) =
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(h), Some(p), Some(s), None) if !h.is_empty() && !p.is_empty() && !s.is_empty() => (h, p, s),
            _ => return Err(Refusal::Malformed),
        };

    let header = json_object(&decode_segment(header_b64)?)?;
    let algorithm_name = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(Refusal::Malformed)?;
    // "none" and every asymmetric or unknown name fall out here: only configured HMACs pass.
    let algorithm = Algorithm::from_name(algorithm_name)
        .filter(|alg| rules.keys.iter().any(|k| k.algorithm == *alg))
        .ok_or(Refusal::AlgorithmNotAllowed)?;
    // RFC 7515 4.1.11: extensions we do not understand must make the token invalid.
    if header.contains_key("crit") {
        return Err(Refusal::Malformed);
    }
    let key_id = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.as_str()),
        Some(_) => return Err(Refusal::Malformed),
    };

    let signature = decode_segment(signature_b64)?;
    if signature.len() != algorithm.output_len() {
        return Err(Refusal::BadSignature);
    }
    let signing_input_len = header_b64.len() + 1 + payload_b64.len();
    let signing_input = &token[..signing_input_len];
    // During a rotation both the old and the new key are configured; a token names its key with
    // `kid` when the issuer sets one, else every key of its algorithm is tried.
    let signed = rules
        .keys
        .iter()
        .filter(|k| k.algorithm == algorithm && k.valid_at(now))
        .filter(|k| match (key_id, k.id.as_deref()) {
            (Some(kid), Some(id)) => kid == id,
            _ => true,
        })
        .any(|k| k.mac.verify(signing_input, &signature));
    if !signed {
        return Err(Refusal::BadSignature);
    }

    let claims = json_object(&decode_segment(payload_b64)?)?;
    check_times(rules, &claims, now)?;
    if let Some(issuer) = &rules.issuer {
        if claims.get("iss").and_then(Value::as_str) != Some(issuer.as_str()) {
            return Err(Refusal::WrongIssuer);
        }
    }
    if !rules.audiences.is_empty() && !audience_matches(&rules.audiences, claims.get("aud")) {
        return Err(Refusal::WrongAudience);
    }
    Ok(match claims.get("sub") {
        Some(Value::String(subject)) => subject.clone(),
        _ => String::new(),
    })
}

fn check_times(rules: &JwtRules, claims: &Map<String, Value>, now: f64) -> Result<(), Refusal> {
    match numeric_date(claims.get("exp"))? {
        Some(expiry) if now > expiry + rules.leeway_seconds => return Err(Refusal::Expired),
        None if rules.require_expiry => return Err(Refusal::Malformed),
        _ => {}
    }
    match numeric_date(claims.get("nbf"))? {
        Some(not_before) if now + rules.leeway_seconds < not_before => Err(Refusal::NotYetValid),
        _ => Ok(()),
    }
}

fn numeric_date(value: Option<&Value>) -> Result<Option<f64>, Refusal> {
    match value {
        None => Ok(None),
        Some(v) => v.as_f64().map(Some).ok_or(Refusal::Malformed),
    }
}

fn audience_matches(allowed: &[String], claim: Option<&Value>) -> bool {
    match claim {
        Some(Value::String(aud)) => allowed.iter().any(|a| a == aud),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|aud| allowed.iter().any(|a| a == aud)),
        _ => false,
    }
}

/// base64url without padding, as RFC 7515 requires; anything else is malformed.
fn decode_segment(segment: &[u8]) -> Result<Vec<u8>, Refusal> {
    if segment
        .iter()
        .any(|b| !(b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_'))
    {
        return Err(Refusal::Malformed);
    }
    base64::decode_config(segment, base64::URL_SAFE_NO_PAD).map_err(|_| Refusal::Malformed)
}

fn json_object(bytes: &[u8]) -> Result<Map<String, Value>, Refusal> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Refusal::Malformed),
    }
}
