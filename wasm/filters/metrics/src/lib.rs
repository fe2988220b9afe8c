//! MarchProxy metrics filter: requests by method, responses by status class, per-route request
//! and response counters, and (sampled) duration and size histograms.

mod config;
mod names;
mod recorder;
mod sampler;

use marchproxy_abi::{log, property, request_header, response_header};
use marchproxy_abi::{Action, HttpContext, LogLevel, RootContext};
use recorder::Recorder;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

marchproxy_abi::filter_entry!(MetricsRoot::default);

#[derive(Default)]
struct MetricsRoot {
    recorder: Option<Rc<RefCell<Recorder>>>,
}

impl RootContext for MetricsRoot {
    fn on_configure(&mut self, configuration: &[u8]) -> bool {
        match config::parse(configuration) {
            Ok(parsed) => {
                self.recorder = Some(Rc::new(RefCell::new(Recorder::new(parsed))));
                true
            }
            Err(problem) => {
                log(
                    LogLevel::Error,
                    &format!("marchproxy metrics: rejected configuration: {problem}"),
                );
                false
            }
        }
    }

    fn new_http_context(&mut self) -> Box<dyn HttpContext> {
        Box::new(MetricsStream {
            recorder: self.recorder.clone(),
            started: None,
            route: None,
            status_class: None,
            request_bytes: 0,
            request_declared: None,
            response_bytes: 0,
            response_declared: None,
        })
    }
}

struct MetricsStream {
    recorder: Option<Rc<RefCell<Recorder>>>,
    started: Option<Instant>,
    route: Option<String>,
    status_class: Option<usize>,
    request_bytes: u64,
    request_declared: Option<u64>,
    response_bytes: u64,
    response_declared: Option<u64>,
}

impl HttpContext for MetricsStream {
    fn on_request_headers(&mut self, _end_of_stream: bool) -> Action {
        let recorder = match &self.recorder {
            Some(recorder) => Rc::clone(recorder),
            None => return Action::Continue,
        };
        self.started = Some(Instant::now());
        let mut recorder = recorder.borrow_mut();
        let method = request_header(":method").unwrap_or_default();
        recorder.count_method(names::method(&method));
        let route = route_name(&recorder);
        recorder.route(&route).requests.increment(1);
        self.route = Some(route);
        self.request_declared = request_header("content-length").as_deref().and_then(parse_length);
        Action::Continue
    }

    fn on_request_body(&mut self, body_size: usize, _end_of_stream: bool) -> Action {
        self.request_bytes = self.request_bytes.saturating_add(body_size as u64);
        Action::Continue
    }

    fn on_response_headers(&mut self, _end_of_stream: bool) -> Action {
        if self.recorder.is_some() {
            self.status_class = response_header(":status")
                .as_deref()
                .and_then(names::status_class);
            self.response_declared = response_header("content-length")
                .as_deref()
                .and_then(parse_length);
        }
        Action::Continue
    }

    fn on_response_body(&mut self, body_size: usize, _end_of_stream: bool) -> Action {
        self.response_bytes = self.response_bytes.saturating_add(body_size as u64);
        Action::Continue
    }

    /// The stream is over: count the response and, when sampled, record duration and sizes.
    fn on_log(&mut self) {
        let (recorder, route) = match (&self.recorder, &self.route) {
            (Some(recorder), Some(route)) => (Rc::clone(recorder), route.clone()),
            _ => return,
        };
        let mut recorder = recorder.borrow_mut();
        // Envoy knows the final code even when no response headers passed through this filter.
        let class = self.status_class.or_else(|| {
            property(&["response", "code"])
                .as_deref()
                .and_then(status_code_property)
        });
        if let Some(class) = class {
            recorder.by_class[class].increment(1);
            recorder.route(&route).responses[class].increment(1);
        }
        if recorder.sampler.sample() {
            if let Some(started) = self.started {
                recorder
                    .request_duration
                    .record(started.elapsed().as_millis() as u64);
            }
            recorder
                .request_size
                .record(self.request_declared.unwrap_or(self.request_bytes));
            recorder
                .response_size
                .record(self.response_declared.unwrap_or(self.response_bytes));
        }
    }
}

fn route_name(recorder: &Recorder) -> String {
    let config = &recorder.config;
    let parts: Vec<&str> = config.route_property.iter().map(String::as_str).collect();
    if !parts.is_empty() {
        if let Some(name) = property(&parts).filter(|n| !n.is_empty()) {
            return names::route_segment(&name);
        }
    }
    let path = request_header(":path").unwrap_or_default();
    match config
        .routes
        .iter()
        .find(|r| path.starts_with(r.path_prefix.as_bytes()))
    {
        Some(rule) => names::route_segment(rule.name.as_bytes()),
        None => names::UNMATCHED_ROUTE.to_string(),
    }
}

fn parse_length(value: &[u8]) -> Option<u64> {
    std::str::from_utf8(value).ok()?.trim().parse().ok()
}

/// Envoy's `response.code` property is a little-endian 64-bit integer.
fn status_code_property(bytes: &[u8]) -> Option<usize> {
    let raw: [u8; 8] = bytes.try_into().ok()?;
    let code = u64::from_le_bytes(raw);
    if (100..=599).contains(&code) {
        Some((code / 100 - 1) as usize)
    } else {
        None
    }
}
