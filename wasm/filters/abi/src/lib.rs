//! The proxy-wasm ABI v0.2.1, as much of it as MarchProxy's HTTP filters use: the exports the
//! host (Envoy, or the JVM host in the tests) calls, the host calls a filter makes, and the
//! context bookkeeping between them. The `proxy-wasm` crate is not packaged by Debian, so this
//! small file stands in for it (with the heap every filter allocates from, in `heap.rs`).
//!
//! A filter crate implements [`RootContext`] and [`HttpContext`] and names its root constructor
//! with [`filter_entry!`]. Nothing here panics on host input: a panic would trap the VM and take
//! every stream on the worker down with it.

mod heap;

use std::cell::RefCell;
use std::collections::HashMap;

#[global_allocator]
static HEAP: heap::FilterHeap = heap::FilterHeap::new();

/// What the host should do with the stream after a callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Continue = 0,
    Pause = 1,
}

#[derive(Clone, Copy, Debug)]
pub enum LogLevel {
    Trace = 0,
    Debug = 1,
    Info = 2,
    Warn = 3,
    Error = 4,
}

#[derive(Clone, Copy, Debug)]
pub enum MetricType {
    Counter = 0,
    Gauge = 1,
    Histogram = 2,
}

#[derive(Clone, Copy)]
enum MapType {
    RequestHeaders = 0,
    ResponseHeaders = 2,
}

const BUFFER_PLUGIN_CONFIGURATION: u32 = 7;
const STATUS_OK: u32 = 0;

/// One per plugin configuration: parses the configuration and makes the per-stream contexts.
pub trait RootContext {
    /// Returns false to reject the configuration (Envoy then refuses the filter chain).
    fn on_configure(&mut self, configuration: &[u8]) -> bool;
    fn new_http_context(&mut self) -> Box<dyn HttpContext>;
}

/// One per HTTP stream.
pub trait HttpContext {
    fn on_request_headers(&mut self, _end_of_stream: bool) -> Action {
        Action::Continue
    }
    fn on_request_body(&mut self, _body_size: usize, _end_of_stream: bool) -> Action {
        Action::Continue
    }
    fn on_response_headers(&mut self, _end_of_stream: bool) -> Action {
        Action::Continue
    }
    fn on_response_body(&mut self, _body_size: usize, _end_of_stream: bool) -> Action {
        Action::Continue
    }
    /// Called once when the stream is over (after `proxy_on_done`), the place for access-log work.
    fn on_log(&mut self) {}
}

/// Names the filter's root constructor; every filter crate invokes this exactly once.
#[macro_export]
macro_rules! filter_entry {
    ($new_root:expr) => {
        #[no_mangle]
        pub fn marchproxy_new_root_context() -> Box<dyn $crate::RootContext> {
            Box::new($new_root())
        }
    };
}

extern "Rust" {
    fn marchproxy_new_root_context() -> Box<dyn RootContext>;
}

#[derive(Default)]
struct Contexts {
    roots: HashMap<u32, Box<dyn RootContext>>,
    streams: HashMap<u32, (u32, Box<dyn HttpContext>)>,
}

thread_local! {
    static CONTEXTS: RefCell<Contexts> = RefCell::new(Contexts::default());
}

/// Runs `f` on a stream context taken out of the table, so a host that re-enters the VM during a
/// callback finds no borrowed state (it then gets the default answer instead of a trap).
fn with_stream<T>(context_id: u32, default: T, f: impl FnOnce(&mut dyn HttpContext) -> T) -> T {
    let taken = CONTEXTS.with(|c| c.borrow_mut().streams.remove(&context_id));
    match taken {
        Some((root_id, mut stream)) => {
            let result = f(stream.as_mut());
            CONTEXTS.with(|c| c.borrow_mut().streams.insert(context_id, (root_id, stream)));
            result
        }
        None => default,
    }
}

// ---------------------------------------------------------------------------------------------
// Exports: what the host calls.

#[no_mangle]
pub extern "C" fn proxy_abi_version_0_2_1() {}

/// The host allocates every buffer it hands to the filter through this export; the filter takes
/// ownership of it (see `owned_bytes`).
#[no_mangle]
pub extern "C" fn proxy_on_memory_allocate(size: usize) -> *mut u8 {
    if size == 0 {
        return std::ptr::NonNull::<u8>::dangling().as_ptr();
    }
    let mut buffer: Vec<u8> = Vec::with_capacity(size);
    let pointer = buffer.as_mut_ptr();
    std::mem::forget(buffer);
    pointer
}

#[no_mangle]
pub extern "C" fn proxy_on_context_create(context_id: u32, parent_context_id: u32) {
    CONTEXTS.with(|c| {
        let mut contexts = c.borrow_mut();
        if parent_context_id == 0 {
            let root = unsafe { marchproxy_new_root_context() };
            contexts.roots.insert(context_id, root);
        } else if let Some(root) = contexts.roots.get_mut(&parent_context_id) {
            let stream = root.new_http_context();
            contexts.streams.insert(context_id, (parent_context_id, stream));
        }
    });
}

#[no_mangle]
pub extern "C" fn proxy_on_vm_start(_root_context_id: u32, _vm_configuration_size: usize) -> u32 {
    1
}

#[no_mangle]
pub extern "C" fn proxy_on_configure(root_context_id: u32, configuration_size: usize) -> u32 {
    let configuration = plugin_configuration(configuration_size);
    let taken = CONTEXTS.with(|c| c.borrow_mut().roots.remove(&root_context_id));
    match taken {
        Some(mut root) => {
            let accepted = root.on_configure(&configuration);
            CONTEXTS.with(|c| c.borrow_mut().roots.insert(root_context_id, root));
            accepted as u32
        }
        None => 0,
    }
}

#[no_mangle]
pub extern "C" fn proxy_on_request_headers(context_id: u32, _headers: usize, end: u32) -> u32 {
    with_stream(context_id, Action::Continue, |s| s.on_request_headers(end != 0)) as u32
}

#[no_mangle]
pub extern "C" fn proxy_on_request_body(context_id: u32, body_size: usize, end: u32) -> u32 {
    with_stream(context_id, Action::Continue, |s| {
        s.on_request_body(body_size, end != 0)
    }) as u32
}

#[no_mangle]
pub extern "C" fn proxy_on_response_headers(context_id: u32, _headers: usize, end: u32) -> u32 {
    with_stream(context_id, Action::Continue, |s| s.on_response_headers(end != 0)) as u32
}

#[no_mangle]
pub extern "C" fn proxy_on_response_body(context_id: u32, body_size: usize, end: u32) -> u32 {
    with_stream(context_id, Action::Continue, |s| {
        s.on_response_body(body_size, end != 0)
    }) as u32
}

#[no_mangle]
pub extern "C" fn proxy_on_done(_context_id: u32) -> u32 {
    1
}

#[no_mangle]
pub extern "C" fn proxy_on_log(context_id: u32) {
    with_stream(context_id, (), |s| s.on_log());
}

#[no_mangle]
pub extern "C" fn proxy_on_delete(context_id: u32) {
    CONTEXTS.with(|c| {
        let mut contexts = c.borrow_mut();
        if contexts.streams.remove(&context_id).is_none() {
            contexts.roots.remove(&context_id);
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Imports: what the filter calls.

mod host {
    extern "C" {
        pub fn proxy_log(level: u32, message: *const u8, size: usize) -> u32;
        pub fn proxy_get_buffer_bytes(
            buffer_type: u32,
            start: usize,
            max_size: usize,
            return_data: *mut *mut u8,
            return_size: *mut usize,
        ) -> u32;
        pub fn proxy_get_header_map_value(
            map_type: u32,
            key: *const u8,
            key_size: usize,
            return_value: *mut *mut u8,
            return_size: *mut usize,
        ) -> u32;
        pub fn proxy_replace_header_map_value(
            map_type: u32,
            key: *const u8,
            key_size: usize,
            value: *const u8,
            value_size: usize,
        ) -> u32;
        pub fn proxy_remove_header_map_value(map_type: u32, key: *const u8, key_size: usize) -> u32;
        pub fn proxy_send_local_response(
            status_code: u32,
            details: *const u8,
            details_size: usize,
            body: *const u8,
            body_size: usize,
            headers: *const u8,
            headers_size: usize,
            grpc_status: i32,
        ) -> u32;
        pub fn proxy_get_property(
            path: *const u8,
            path_size: usize,
            return_value: *mut *mut u8,
            return_size: *mut usize,
        ) -> u32;
        pub fn proxy_define_metric(
            metric_type: u32,
            name: *const u8,
            name_size: usize,
            return_id: *mut u32,
        ) -> u32;
        pub fn proxy_increment_metric(metric_id: u32, offset: i64) -> u32;
        pub fn proxy_record_metric(metric_id: u32, value: u64) -> u32;
    }
}

/// Takes ownership of a buffer the host allocated through `proxy_on_memory_allocate`.
fn owned_bytes(pointer: *mut u8, size: usize) -> Vec<u8> {
    if pointer.is_null() || size == 0 {
        return Vec::new();
    }
    unsafe { Vec::from_raw_parts(pointer, size, size) }
}

fn plugin_configuration(size: usize) -> Vec<u8> {
    if size == 0 {
        return Vec::new();
    }
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut length: usize = 0;
    let status =
        unsafe { host::proxy_get_buffer_bytes(BUFFER_PLUGIN_CONFIGURATION, 0, size, &mut data, &mut length) };
    if status == STATUS_OK {
        owned_bytes(data, length)
    } else {
        Vec::new()
    }
}

pub fn log(level: LogLevel, message: &str) {
    unsafe {
        host::proxy_log(level as u32, message.as_ptr(), message.len());
    }
}

fn header(map: MapType, name: &str) -> Option<Vec<u8>> {
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut length: usize = 0;
    let status = unsafe {
        host::proxy_get_header_map_value(map as u32, name.as_ptr(), name.len(), &mut data, &mut length)
    };
    if status == STATUS_OK {
        Some(owned_bytes(data, length))
    } else {
        None
    }
}

pub fn request_header(name: &str) -> Option<Vec<u8>> {
    header(MapType::RequestHeaders, name)
}

pub fn response_header(name: &str) -> Option<Vec<u8>> {
    header(MapType::ResponseHeaders, name)
}

pub fn set_request_header(name: &str, value: &str) {
    set_request_header_bytes(name, value.as_bytes());
}

/// As `set_request_header`, for a value the caller already holds as bytes (the host takes any
/// bytes; callers keep them to visible ASCII).
pub fn set_request_header_bytes(name: &str, value: &[u8]) {
    unsafe {
        host::proxy_replace_header_map_value(
            MapType::RequestHeaders as u32,
            name.as_ptr(),
            name.len(),
            value.as_ptr(),
            value.len(),
        );
    }
}

pub fn remove_request_header(name: &str) {
    unsafe {
        host::proxy_remove_header_map_value(MapType::RequestHeaders as u32, name.as_ptr(), name.len());
    }
}

/// Sets (adds or replaces) a response header.
pub fn set_response_header(name: &str, value: &str) {
    unsafe {
        host::proxy_replace_header_map_value(
            MapType::ResponseHeaders as u32,
            name.as_ptr(),
            name.len(),
            value.as_ptr(),
            value.len(),
        );
    }
}

/// Ends the stream with a response generated by the filter; the request never reaches upstream.
pub fn send_local_response(status: u32, details: &str, body: &[u8], headers: &[(&str, &str)]) {
    let headers = serialize_pairs(headers);
    unsafe {
        host::proxy_send_local_response(
            status,
            details.as_ptr(),
            details.len(),
            body.as_ptr(),
            body.len(),
            headers.as_ptr(),
            headers.len(),
            -1,
        );
    }
}

/// The ABI's map encoding: count, then each key and value length, then the NUL-terminated bytes.
fn serialize_pairs(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
    for (key, value) in pairs {
        out.extend_from_slice(&(key.len() as u32).to_le_bytes());
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    }
    for (key, value) in pairs {
        out.extend_from_slice(key.as_bytes());
        out.push(0);
        out.extend_from_slice(value.as_bytes());
        out.push(0);
    }
    out
}

/// Reads a host property such as `["xds", "route_name"]`; None when the host does not know it.
pub fn property(path: &[&str]) -> Option<Vec<u8>> {
    let encoded = path.join("\0");
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut length: usize = 0;
    let status = unsafe { host::proxy_get_property(encoded.as_ptr(), encoded.len(), &mut data, &mut length) };
    if status == STATUS_OK {
        Some(owned_bytes(data, length))
    } else {
        None
    }
}

/// A metric defined in the host; Envoy exposes it with a `wasmcustom.` prefix.
#[derive(Clone, Copy, Debug)]
pub struct Metric(Option<u32>);

impl Metric {
    pub fn define(metric_type: MetricType, name: &str) -> Metric {
        let mut id: u32 = 0;
        let status =
            unsafe { host::proxy_define_metric(metric_type as u32, name.as_ptr(), name.len(), &mut id) };
        Metric(if status == STATUS_OK { Some(id) } else { None })
    }

    pub fn increment(&self, by: i64) {
        if let Some(id) = self.0 {
            unsafe {
                host::proxy_increment_metric(id, by);
            }
        }
    }

    pub fn record(&self, value: u64) {
        if let Some(id) = self.0 {
            unsafe {
                host::proxy_record_metric(id, value);
            }
        }
    }
}
