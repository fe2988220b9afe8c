//! Metric names. Envoy exports them as `wasmcustom.<name>`; the dotted segments are what its
//! stats tag extraction (and the docs/wasm.md table) key on.

pub const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
];
pub const OTHER_METHOD: &str = "OTHER";
pub const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
pub const OTHER_ROUTE: &str = "_other";
pub const UNMATCHED_ROUTE: &str = "_unmatched";

pub fn requests_by_method(prefix: &str, method: &str) -> String {
    format!("{prefix}.requests.method.{method}")
}

pub fn responses_by_class(prefix: &str, class: &str) -> String {
    format!("{prefix}.responses.class.{class}")
}

pub fn route_requests(prefix: &str, route: &str) -> String {
    format!("{prefix}.route.{route}.requests")
}

pub fn route_responses(prefix: &str, route: &str, class: &str) -> String {
    format!("{prefix}.route.{route}.responses.{class}")
}

pub fn request_duration(prefix: &str) -> String {
    format!("{prefix}.request_duration_ms")
}

pub fn request_size(prefix: &str) -> String {
    format!("{prefix}.request_size_bytes")
}

pub fn response_size(prefix: &str) -> String {
    format!("{prefix}.response_size_bytes")
}

/// The method as counted: one of the standard methods, else OTHER (bounded cardinality).
pub fn method(raw: &[u8]) -> &'static str {
    METHODS
        .iter()
        .find(|m| m.as_bytes() == raw)
        .copied()
        .unwrap_or(OTHER_METHOD)
}

/// `2xx` for 200..=299 and so on; None for anything that is not a valid status.
pub fn status_class(status: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(status).ok()?;
    let code: u32 = text.trim().parse().ok()?;
    if (100..=599).contains(&code) {
        Some((code / 100 - 1) as usize)
    } else {
        None
    }
}

/// Route names become one metric-name segment: [A-Za-z0-9_-], at most 64 characters.
pub fn route_segment(raw: &[u8]) -> String {
    let cleaned: String = raw
        .iter()
        .take(64)
        .map(|b| {
            if b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-' {
                *b as char
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() {
        UNMATCHED_ROUTE.to_string()
    } else {
        cleaned
    }
}
