//! The license filter's plugin configuration. xds-service fills it from the verified, installed
//! license: the edition, the licensed features and the path-prefix -> feature rules. It never
//! carries the license key itself.

use serde_json::Value;

pub struct FeatureRule {
    pub path_prefix: String,
    pub feature: String,
}

pub struct LicenseConfig {
    pub edition: String,
    pub features: Vec<String>,
    /// Longest prefix first, so the most specific rule decides.
    pub rules: Vec<FeatureRule>,
    /// Seconds since the epoch after which no gated feature is licensed any more.
    pub expires_at: Option<f64>,
    pub edition_header: String,
    pub strip_request_headers: Vec<String>,
}

pub const DEFAULT_EDITION_HEADER: &str = "x-marchproxy-edition";
pub const DEFAULT_STRIPPED_HEADERS: [&str; 2] = ["x-marchproxy-license", "x-marchproxy-license-key"];

pub fn parse(bytes: &[u8]) -> Result<LicenseConfig, String> {
    let root: Value = serde_json::from_slice(bytes).map_err(|_| "configuration is not JSON".to_string())?;
    let root = root.as_object().ok_or("configuration must be a JSON object")?;
    let edition = header_safe(
        root.get("edition")
            .and_then(Value::as_str)
            .ok_or("edition must be a string")?,
        "edition",
    )?;
    let features = string_list(root.get("features"), "features")?;
    let mut rules = Vec::new();
    if let Some(list) = root.get("rules") {
        for (index, rule) in list.as_array().ok_or("rules must be a list")?.iter().enumerate() {
            let path_prefix = rule.get("path_prefix").and_then(Value::as_str);
            let feature = rule.get("feature").and_then(Value::as_str);
            match (path_prefix, feature) {
                (Some(p), Some(f)) if p.starts_with('/') && !f.is_empty() => rules.push(FeatureRule {
                    path_prefix: p.to_string(),
                    feature: f.to_string(),
                }),
                _ => {
                    return Err(format!(
                        "rules[{index}] needs path_prefix (starting with /) and feature"
                    ))
                }
            }
        }
    }
    rules.sort_by(|a, b| b.path_prefix.len().cmp(&a.path_prefix.len()));
    let expires_at = match root.get("expires_at") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_f64().ok_or("expires_at must be seconds since the epoch")?),
    };
    let edition_header = match root.get("edition_header") {
        None => DEFAULT_EDITION_HEADER.to_string(),
        Some(v) => header_name(v.as_str().ok_or("edition_header must be a string")?)?,
    };
    let mut strip_request_headers: Vec<String> =
        DEFAULT_STRIPPED_HEADERS.iter().map(|h| h.to_string()).collect();
    for name in string_list(root.get("strip_request_headers"), "strip_request_headers")? {
        let name = header_name(&name)?;
        if !strip_request_headers.contains(&name) {
            strip_request_headers.push(name);
        }
    }
    Ok(LicenseConfig {
        edition,
        features,
        rules,
        expires_at,
        edition_header,
        strip_request_headers,
    })
}

fn header_name(name: &str) -> Result<String, String> {
    if !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(name.to_ascii_lowercase())
    } else {
        Err(format!("{name:?} is not a valid header name"))
    }
}

/// The edition goes into a response header and a JSON body: keep it plain.
fn header_safe(value: &str, field: &str) -> Result<String, String> {
    if !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        Ok(value.to_string())
    } else {
        Err(format!("{field} must be 1-64 characters of [A-Za-z0-9._-]"))
    }
}

fn string_list(value: Option<&Value>, field: &str) -> Result<Vec<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("{field} must list strings"))
            })
            .collect(),
        Some(_) => Err(format!("{field} must be a list of strings")),
    }
}
