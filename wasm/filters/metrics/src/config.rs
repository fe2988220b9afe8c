//! The metrics filter's plugin configuration.

use serde_json::Value;

pub struct RouteRule {
    pub name: String,
    pub path_prefix: String,
}

pub struct MetricsConfig {
    pub prefix: String,
    /// Fraction (0..=1) of requests whose duration and sizes go into the histograms; the
    /// counters always count every request.
    pub sample_rate: f64,
    /// Host property naming the matched route (Envoy: `xds.route_name`), tried first.
    pub route_property: Vec<String>,
    /// Fallback when the host has no route name: longest path prefix wins.
    pub routes: Vec<RouteRule>,
    /// Cap on distinct per-route metric names, so a misbehaving config cannot explode cardinality.
    pub max_routes: usize,
}

pub fn parse(bytes: &[u8]) -> Result<MetricsConfig, String> {
    // An empty configuration is fine: every field has a default.
    let root: Value = if bytes.is_empty() {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(bytes).map_err(|_| "configuration is not JSON".to_string())?
    };
    let root = root.as_object().ok_or("configuration must be a JSON object")?;
    let prefix = match root.get("prefix") {
        None => "marchproxy".to_string(),
        Some(v) => v
            .as_str()
            .filter(|p| {
                !p.is_empty()
                    && p.len() <= 64
                    && p.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
            })
            .ok_or("prefix must be 1-64 characters of [A-Za-z0-9_.]")?
            .to_string(),
    };
    let sample_rate = match root.get("sample_rate") {
        None => 1.0,
        Some(v) => v
            .as_f64()
            .filter(|r| (0.0..=1.0).contains(r))
            .ok_or("sample_rate must be a number in 0..1")?,
    };
    let route_property = match root.get("route_property") {
        None => vec!["xds".to_string(), "route_name".to_string()],
        Some(Value::Array(parts)) => parts
            .iter()
            .map(|p| {
                p.as_str()
                    .map(str::to_string)
                    .ok_or("route_property must list strings")
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("route_property must be a list of strings".into()),
    };
    let mut routes = Vec::new();
    if let Some(list) = root.get("routes") {
        for (index, rule) in list.as_array().ok_or("routes must be a list")?.iter().enumerate() {
            match (
                rule.get("name").and_then(Value::as_str),
                rule.get("path_prefix").and_then(Value::as_str),
            ) {
                (Some(name), Some(prefix)) if !name.is_empty() && prefix.starts_with('/') => {
                    routes.push(RouteRule {
                        name: name.to_string(),
                        path_prefix: prefix.to_string(),
                    })
                }
                _ => {
                    return Err(format!(
                        "routes[{index}] needs name and path_prefix (starting with /)"
                    ))
                }
            }
        }
    }
    routes.sort_by(|a, b| b.path_prefix.len().cmp(&a.path_prefix.len()));
    let max_routes = match root.get("max_routes") {
        None => 200,
        Some(v) => v
            .as_u64()
            .filter(|n| *n <= 10_000)
            .ok_or("max_routes must be an integer in 0..10000")? as usize,
    };
    Ok(MetricsConfig {
        prefix,
        sample_rate,
        route_property,
        routes,
        max_routes,
    })
}
