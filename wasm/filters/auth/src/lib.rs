//! MarchProxy auth filter: every request needs `Authorization: Bearer <token>`, where the token
//! is a JWT signed with a configured HMAC key or a static token whose SHA-256 is configured.
//! Exempt paths pass untouched. The token is never logged.

mod b64url;
mod config;
mod json;
mod jwt;
mod jwt_cache;
mod mac;
mod reply;
mod selftest;
mod sha2_compact;
mod static_tokens;

use config::{AuthConfig, ExemptPath};
use marchproxy_abi::{log, remove_request_header, request_header, set_request_header_bytes};
use marchproxy_abi::{Action, HttpContext, LogLevel, RootContext};
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

marchproxy_abi::filter_entry!(AuthRoot::default);

#[derive(Default)]
struct AuthRoot {
    config: Option<Rc<AuthConfig>>,
}

impl RootContext for AuthRoot {
    fn on_configure(&mut self, configuration: &[u8]) -> bool {
        match config::parse(configuration) {
            Ok(parsed) => {
                self.config = Some(Rc::new(parsed));
                true
            }
            Err(problem) => {
                log(
                    LogLevel::Error,
                    &format!("marchproxy auth: rejected configuration: {problem}"),
                );
                false
            }
        }
    }

    fn new_http_context(&mut self) -> Box<dyn HttpContext> {
        Box::new(AuthStream {
            config: self.config.clone(),
        })
    }
}

struct AuthStream {
    config: Option<Rc<AuthConfig>>,
}

enum Verdict {
    /// The value of the principal header (`jwt:<sub>` or `token:<name>`, visible ASCII).
    Allow(Vec<u8>),
    Missing,
    Refused(&'static str),
}

impl HttpContext for AuthStream {
    fn on_request_headers(&mut self, _end_of_stream: bool) -> Action {
        let config = match &self.config {
            Some(config) => Rc::clone(config),
            // Fail closed: a stream without a configuration is refused, not waved through.
            None => {
                reply::forbidden("marchproxy", "filter_not_configured");
                return Action::Pause;
            }
        };
        // A client must not be able to claim an identity by sending the header itself.
        remove_request_header(&config.principal_header);

        // Without exempt paths the path is not even fetched (one host call less per request).
        if !config.exempt_paths.is_empty() {
            let path = request_header(":path").unwrap_or_default();
            if is_exempt(&config, &path) {
                return Action::Continue;
            }
        }
        match authenticate(&config) {
            Verdict::Allow(principal) => {
                set_request_header_bytes(&config.principal_header, &principal);
                Action::Continue
            }
            Verdict::Missing => {
                reply::unauthorized(&config.realm);
                Action::Pause
            }
            Verdict::Refused(reason) => {
                log(
                    LogLevel::Debug,
                    &format!("marchproxy auth: refused bearer token: {reason}"),
                );
                reply::forbidden(&config.realm, reason);
                Action::Pause
            }
        }
    }
}

fn is_exempt(config: &AuthConfig, path: &[u8]) -> bool {
    let path = match path.iter().position(|b| *b == b'?') {
        Some(query) => &path[..query],
        None => path,
    };
    config.exempt_paths.iter().any(|exempt| match exempt {
        ExemptPath::Exact(p) => p.as_bytes() == path,
        ExemptPath::Prefix(p) => path.starts_with(p.as_bytes()),
    })
}

fn authenticate(config: &AuthConfig) -> Verdict {
    let header = match request_header("authorization") {
        Some(value) => value,
        None => return Verdict::Missing,
    };
    let token = match bearer_token(&header) {
        Some(token) => token,
        None => return Verdict::Missing,
    };
    if token.len() > config.max_token_bytes {
        return Verdict::Refused("token_too_large");
    }
    // A token with a JWT's shape (three dot-separated parts) is a JWT when keys are configured;
    // anything else is looked up among the static tokens (which therefore never contain two
    // dots). Hashing a JWT for the static lookup would only cost time.
    let dots = if config.jwt.is_some() { jwt::dots(token) } else { None };
    match (&config.jwt, dots) {
        (Some(rules), Some(dots)) => {
            let now = now_seconds();
            if let Some(principal) = config.jwt_cache.borrow().lookup(token, rules, now) {
                return Verdict::Allow(principal.to_vec());
            }
            let mut principal = Vec::with_capacity(64);
            principal.extend_from_slice(b"jwt:");
            match jwt::verify(rules, token, dots, now, &mut principal) {
                Ok(verified) => {
                    config.jwt_cache.borrow_mut().insert(token, &principal, verified);
                    Verdict::Allow(principal)
                }
                Err(refusal) => Verdict::Refused(refusal.reason()),
            }
        }
        _ => match static_tokens::find(&config.static_tokens, token, now_seconds()) {
            Some(name) => {
                let mut principal = b"token:".to_vec();
                principal.extend(printable(name).bytes());
                Verdict::Allow(principal)
            }
            None => Verdict::Refused("unknown_token"),
        },
    }
}

/// The credential of `Bearer <token>` (scheme case-insensitive, RFC 6750 section 2.1); None when
/// the header carries some other scheme or an empty token.
fn bearer_token(header: &[u8]) -> Option<&[u8]> {
    const SCHEME: &[u8] = b"bearer ";
    if header.len() <= SCHEME.len() || !header[..SCHEME.len()].eq_ignore_ascii_case(SCHEME) {
        return None;
    }
    let token = trim_spaces(&header[SCHEME.len()..]);
    if token.is_empty() {
        None
    } else {
        Some(token)
    }
}

fn trim_spaces(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != b' ').unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| *b != b' ').map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// Identity values go into a request header: keep them to visible ASCII and a sane length.
fn printable(value: &str) -> String {
    value
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(256)
        .collect()
}

fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
