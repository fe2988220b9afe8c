//! The responses the filter sends instead of forwarding: 401 when no bearer credential came,
//! 403 when one came and was refused. Bodies are small fixed JSON; the token is never echoed.

use marchproxy_abi::send_local_response;

pub fn unauthorized(realm: &str) {
    let challenge = format!("Bearer realm=\"{}\"", realm);
    send_local_response(
        401,
        "marchproxy_auth_missing_credentials",
        br#"{"status":401,"error":"unauthorized","reason":"missing_bearer_token"}"#,
        &[
            ("www-authenticate", &challenge),
            ("content-type", "application/json"),
        ],
    );
}

pub fn forbidden(realm: &str, reason: &str) {
    let challenge = format!("Bearer realm=\"{}\", error=\"invalid_token\"", realm);
    let body = format!(
        r#"{{"status":403,"error":"invalid_token","reason":"{}"}}"#,
        reason
    );
    send_local_response(
        403,
        "marchproxy_auth_invalid_token",
        body.as_bytes(),
        &[
            ("www-authenticate", &challenge),
            ("content-type", "application/json"),
        ],
    );
}
