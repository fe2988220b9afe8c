//! The metrics of one plugin configuration: fixed ones defined at configure time, per-route
//! ones defined the first time a route is seen (up to the configured cap).

use crate::config::MetricsConfig;
use crate::names;
use crate::sampler::Sampler;
use marchproxy_abi::{Metric, MetricType};
use std::collections::HashMap;

pub struct RouteMetrics {
    pub requests: Metric,
    pub responses: [Metric; 5],
}

pub struct Recorder {
    pub config: MetricsConfig,
    pub by_method: Vec<Metric>,
    pub other_method: Metric,
    pub by_class: [Metric; 5],
    pub request_duration: Metric,
    pub request_size: Metric,
    pub response_size: Metric,
    pub sampler: Sampler,
    routes: HashMap<String, RouteMetrics>,
}

impl Recorder {
    pub fn new(config: MetricsConfig) -> Recorder {
        let prefix = config.prefix.clone();
        let counter = |name: String| Metric::define(MetricType::Counter, &name);
        let histogram = |name: String| Metric::define(MetricType::Histogram, &name);
        Recorder {
            by_method: names::METHODS
                .iter()
                .map(|m| counter(names::requests_by_method(&prefix, m)))
                .collect(),
            other_method: counter(names::requests_by_method(&prefix, names::OTHER_METHOD)),
            by_class: names::STATUS_CLASSES.map(|c| counter(names::responses_by_class(&prefix, c))),
            request_duration: histogram(names::request_duration(&prefix)),
            request_size: histogram(names::request_size(&prefix)),
            response_size: histogram(names::response_size(&prefix)),
            sampler: Sampler::new(config.sample_rate),
            routes: HashMap::new(),
            config,
        }
    }

    pub fn count_method(&self, method: &str) {
        match names::METHODS.iter().position(|m| *m == method) {
            Some(index) => self.by_method[index].increment(1),
            None => self.other_method.increment(1),
        }
    }

    /// The metrics of `route`, defined on first use; once the cap is reached new routes share
    /// the `_other` bucket.
    pub fn route(&mut self, route: &str) -> &RouteMetrics {
        let key = if self.routes.contains_key(route) || self.routes.len() < self.config.max_routes {
            route.to_string()
        } else {
            names::OTHER_ROUTE.to_string()
        };
        let prefix = &self.config.prefix;
        self.routes.entry(key).or_insert_with_key(|name| RouteMetrics {
            requests: Metric::define(MetricType::Counter, &names::route_requests(prefix, name)),
            responses: names::STATUS_CLASSES.map(|class| {
                Metric::define(MetricType::Counter, &names::route_responses(prefix, name, class))
            }),
        })
    }
}
