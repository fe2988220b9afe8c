//! MarchProxy license filter: paths that belong to a licensed feature answer 402 unless the
//! installed license grants that feature; every response names the edition; license headers a
//! client sends never reach upstream.

mod config;
mod gate;

use config::LicenseConfig;
use gate::Decision;
use marchproxy_abi::{log, remove_request_header, request_header, send_local_response, set_response_header};
use marchproxy_abi::{Action, HttpContext, LogLevel, RootContext};
use serde_json::json;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

marchproxy_abi::filter_entry!(LicenseRoot::default);

#[derive(Default)]
struct LicenseRoot {
    config: Option<Rc<LicenseConfig>>,
}

impl RootContext for LicenseRoot {
    fn on_configure(&mut self, configuration: &[u8]) -> bool {
        match config::parse(configuration) {
            Ok(parsed) => {
                self.config = Some(Rc::new(parsed));
                true
            }
            Err(problem) => {
                log(
                    LogLevel::Error,
                    &format!("marchproxy license: rejected configuration: {problem}"),
                );
                false
            }
        }
    }

    fn new_http_context(&mut self) -> Box<dyn HttpContext> {
        Box::new(LicenseStream {
            config: self.config.clone(),
        })
    }
}

struct LicenseStream {
    config: Option<Rc<LicenseConfig>>,
}

impl HttpContext for LicenseStream {
    fn on_request_headers(&mut self, _end_of_stream: bool) -> Action {
        let config = match &self.config {
            Some(config) => Rc::clone(config),
            None => return Action::Continue,
        };
        for name in &config.strip_request_headers {
            remove_request_header(name);
        }
        let path = request_header(":path").unwrap_or_default();
        match gate::decide(&config, &path, now_seconds()) {
            Decision::Allowed => Action::Continue,
            Decision::NotLicensed { feature, reason } => {
                let body = json!({
                    "status": 402,
                    "error": "feature_not_licensed",
                    "feature": feature,
                    "edition": config.edition,
                    "reason": reason,
                })
                .to_string();
                send_local_response(
                    402,
                    "marchproxy_feature_not_licensed",
                    body.as_bytes(),
                    &[
                        (&config.edition_header, &config.edition),
                        ("content-type", "application/json"),
                    ],
                );
                Action::Pause
            }
        }
    }

    fn on_response_headers(&mut self, _end_of_stream: bool) -> Action {
        if let Some(config) = &self.config {
            set_response_header(&config.edition_header, &config.edition);
        }
        Action::Continue
    }
}

fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
