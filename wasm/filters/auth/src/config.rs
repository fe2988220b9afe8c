//! The auth filter's plugin configuration (the JSON xds-service puts in the Wasm filter's
//! `configuration`), parsed once per configuration so the request path only compares bytes.

use crate::mac::PreparedKey;
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Hs256,
    Hs384,
    Hs512,
}

impl Algorithm {
    pub fn from_name(name: &str) -> Option<Algorithm> {
        match name {
            "HS256" => Some(Algorithm::Hs256),
            "HS384" => Some(Algorithm::Hs384),
            "HS512" => Some(Algorithm::Hs512),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Hs256 => "HS256",
            Algorithm::Hs384 => "HS384",
            Algorithm::Hs512 => "HS512",
        }
    }

    /// Both the signature length and, per RFC 7518 section 3.2, the smallest allowed key.
    pub fn output_len(self) -> usize {
        match self {
            Algorithm::Hs256 => 32,
            Algorithm::Hs384 => 48,
            Algorithm::Hs512 => 64,
        }
    }
}

pub struct SigningKey {
    pub id: Option<String>,
    pub algorithm: Algorithm,
    pub mac: PreparedKey,
    /// Seconds since the epoch after which the key no longer verifies (the end of a rotation's
    /// overlap); None: until the configuration changes.
    pub expires_at: Option<f64>,
}

impl SigningKey {
    pub fn valid_at(&self, now: f64) -> bool {
        self.expires_at.map_or(true, |end| now < end)
    }
}

pub struct JwtRules {
    pub keys: Vec<SigningKey>,
    pub issuer: Option<String>,
    pub audiences: Vec<String>,
    pub leeway_seconds: f64,
    pub require_expiry: bool,
}

pub struct StaticToken {
    pub name: String,
    pub sha256: [u8; 32],
    /// As for signing keys: the token stops working at this moment.
    pub expires_at: Option<f64>,
}

impl StaticToken {
    pub fn valid_at(&self, now: f64) -> bool {
        self.expires_at.map_or(true, |end| now < end)
    }
}

pub enum ExemptPath {
    Exact(String),
    Prefix(String),
}

pub struct AuthConfig {
    pub realm: String,
    pub jwt: Option<JwtRules>,
    pub static_tokens: Vec<StaticToken>,
    pub exempt_paths: Vec<ExemptPath>,
    pub max_token_bytes: usize,
    pub principal_header: String,
    /// Accepted JWTs of this configuration (see `jwt_cache.rs`).
    pub jwt_cache: std::cell::RefCell<crate::jwt_cache::JwtCache>,
}

pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8192;

/// Parses and validates; the error names the offending field (never a secret's value).
pub fn parse(bytes: &[u8]) -> Result<AuthConfig, String> {
    let root: Value = serde_json::from_slice(bytes).map_err(|_| "configuration is not JSON".to_string())?;
    let root = root.as_object().ok_or("configuration must be a JSON object")?;

    let jwt = match root.get("jwt") {
        None | Some(Value::Null) => None,
        Some(value) => Some(parse_jwt(value)?),
    };
    let static_tokens = match root.get("static_tokens") {
        None | Some(Value::Null) => Vec::new(),
        Some(value) => parse_static_tokens(value)?,
    };
    if jwt.is_none() && static_tokens.is_empty() {
        return Err("configure jwt.keys or static_tokens: nothing could ever authenticate".into());
    }
    let exempt_paths = string_list(root.get("exempt_paths"), "exempt_paths")?
        .into_iter()
        .map(|p| match p.strip_suffix('*') {
            Some(prefix) => ExemptPath::Prefix(prefix.to_string()),
            None => ExemptPath::Exact(p),
        })
        .collect();
    let max_token_bytes = match root.get("max_token_bytes") {
        None => DEFAULT_MAX_TOKEN_BYTES,
        Some(v) => v
            .as_u64()
            .filter(|n| *n > 0 && *n <= 65536)
            .ok_or("max_token_bytes must be an integer in 1..65536")? as usize,
    };
    // The realm is quoted inside WWW-Authenticate: no quotes, backslashes or control characters.
    let realm = optional_string(root.get("realm"), "realm")?.unwrap_or_else(|| "marchproxy".into());
    if realm.is_empty()
        || realm.len() > 64
        || !realm
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
    {
        return Err("realm must be 1-64 visible ASCII characters without quotes or backslashes".into());
    }
    Ok(AuthConfig {
        realm,
        jwt,
        static_tokens,
        exempt_paths,
        max_token_bytes,
        principal_header: optional_string(root.get("principal_header"), "principal_header")?
            .unwrap_or_else(|| "x-marchproxy-principal".into())
            .to_ascii_lowercase(),
        jwt_cache: Default::default(),
    })
}

fn parse_jwt(value: &Value) -> Result<JwtRules, String> {
    let jwt = value.as_object().ok_or("jwt must be an object")?;
    let keys = jwt
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("jwt.keys must be a list")?;
    if keys.is_empty() {
        return Err("jwt.keys must not be empty".into());
    }
    let mut parsed = Vec::with_capacity(keys.len());
    for (index, key) in keys.iter().enumerate() {
        let key = key
            .as_object()
            .ok_or_else(|| format!("jwt.keys[{index}] must be an object"))?;
        let algorithm = key
            .get("algorithm")
            .and_then(Value::as_str)
            .and_then(Algorithm::from_name)
            .ok_or_else(|| format!("jwt.keys[{index}].algorithm must be HS256, HS384 or HS512"))?;
        let secret = key
            .get("secret_base64")
            .and_then(Value::as_str)
            .and_then(|s| base64::decode(s).ok())
            .ok_or_else(|| format!("jwt.keys[{index}].secret_base64 must be standard base64"))?;
        if secret.len() < algorithm.output_len() {
            return Err(format!(
                "jwt.keys[{index}] secret is shorter than {} bytes (RFC 7518 3.2)",
                algorithm.output_len()
            ));
        }
        let id = optional_string(key.get("id"), "jwt.keys[].id")?;
        let mac = PreparedKey::new(algorithm, &secret)
            .ok_or_else(|| format!("jwt.keys[{index}] is not a usable key"))?;
        let expires_at = optional_seconds(key.get("expires_at"), "jwt.keys[].expires_at")?;
        parsed.push(SigningKey {
            id,
            algorithm,
            mac,
            expires_at,
        });
    }
    let leeway_seconds = match jwt.get("leeway_seconds") {
        None => 60.0,
        Some(v) => v
            .as_u64()
            .filter(|n| *n <= 3600)
            .ok_or("jwt.leeway_seconds must be an integer in 0..3600")? as f64,
    };
    let require_expiry = match jwt.get("require_expiry") {
        None => true,
        Some(v) => v.as_bool().ok_or("jwt.require_expiry must be a boolean")?,
    };
    Ok(JwtRules {
        keys: parsed,
        issuer: optional_string(jwt.get("issuer"), "jwt.issuer")?,
        audiences: string_list(jwt.get("audiences"), "jwt.audiences")?,
        leeway_seconds,
        require_expiry,
    })
}

fn parse_static_tokens(value: &Value) -> Result<Vec<StaticToken>, String> {
    let list = value.as_array().ok_or("static_tokens must be a list")?;
    let mut tokens = Vec::with_capacity(list.len());
    for (index, entry) in list.iter().enumerate() {
        let entry = entry
            .as_object()
            .ok_or_else(|| format!("static_tokens[{index}] must be an object"))?;
        let name = entry
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("static_tokens[{index}].name must be a string"))?;
        let sha256 = entry
            .get("sha256")
            .and_then(Value::as_str)
            .and_then(hex32)
            .ok_or_else(|| format!("static_tokens[{index}].sha256 must be 64 hex digits"))?;
        tokens.push(StaticToken {
            name: name.to_string(),
            sha256,
            expires_at: optional_seconds(entry.get("expires_at"), "static_tokens[].expires_at")?,
        });
    }
    Ok(tokens)
}

fn hex32(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let high = (pair[0] as char).to_digit(16)?;
        let low = (pair[1] as char).to_digit(16)?;
        out[i] = (high * 16 + low) as u8;
    }
    Some(out)
}

fn optional_seconds(value: Option<&Value>, field: &str) -> Result<Option<f64>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Some)
            .ok_or_else(|| format!("{field} must be seconds since the epoch")),
    }
}

fn optional_string(value: Option<&Value>, field: &str) -> Result<Option<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{field} must be a string")),
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
