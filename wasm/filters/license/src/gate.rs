//! Which feature a request path needs, and whether the installed license grants it.

use crate::config::LicenseConfig;

pub enum Decision<'a> {
    Allowed,
    NotLicensed { feature: &'a str, reason: &'static str },
}

pub fn decide<'a>(config: &'a LicenseConfig, path: &[u8], now: f64) -> Decision<'a> {
    let path = match path.iter().position(|b| *b == b'?') {
        Some(query) => &path[..query],
        None => path,
    };
    let rule = match config
        .rules
        .iter()
        .find(|r| path.starts_with(r.path_prefix.as_bytes()))
    {
        Some(rule) => rule,
        None => return Decision::Allowed,
    };
    let feature = rule.feature.as_str();
    if matches!(config.expires_at, Some(expiry) if now > expiry) {
        return Decision::NotLicensed {
            feature,
            reason: "license_expired",
        };
    }
    if config.features.iter().any(|f| f == feature) {
        Decision::Allowed
    } else {
        Decision::NotLicensed {
            feature,
            reason: "not_in_edition",
        }
    }
}
