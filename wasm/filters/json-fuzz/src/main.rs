//! Differential fuzzer: the auth filter's strict JSON reader and base64url decoder must accept
//! exactly what serde_json (as `Value`) and the base64 crate (`URL_SAFE_NO_PAD`) accepted, and
//! read the same claims. Generated documents (random grammar with edge cases) and mutations of
//! them; any disagreement is printed and fails the run.

#[path = "../../auth/src/json.rs"]
mod json;
#[path = "../../auth/src/b64url.rs"]
mod b64url;

use serde_json::Value as Serde;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const NAMES: [&str; 10] = ["alg", "kid", "crit", "exp", "nbf", "iss", "aud", "sub", "typ", "x"];

fn whitespace(rng: &mut Rng, out: &mut Vec<u8>) {
    while rng.chance(15) {
        out.push([b' ', b'\t', b'\n', b'\r'][rng.below(4)]);
    }
}

fn string(rng: &mut Rng, out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    for ch in text.chars() {
        if rng.chance(10) {
            // Escape it, as a \u sequence (a surrogate pair beyond the BMP) or a short escape.
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                let hex = format!("\\u{:04x}", unit);
                out.extend_from_slice(if rng.chance(50) { hex.to_uppercase() } else { hex }.as_bytes());
            }
        } else {
            match ch {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                c if (c as u32) < 0x20 => out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes()),
                c => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
    }
    out.push(b'"');
}

fn text(rng: &mut Rng) -> String {
    let pool = ["alice", "HS256", "HS384", "HS512", "none", "orders-api", "k1", "é", "\u{1F600}", "\u{7f}", "\"", "\\", "/", "\n", "\u{0}", "\u{ffff}", "a b"];
    let mut s = String::new();
    for _ in 0..rng.below(4) {
        s.push_str(pool[rng.below(pool.len())]);
    }
    s
}

fn number(rng: &mut Rng, out: &mut Vec<u8>) {
    let choices = [
        "0", "-0", "1700000000", "-1", "1.5", "1e3", "1E+3", "2e-3", "0.0", "1e308", "1.7976931348623157e308",
        "1.7976931348623159e308", "1e309", "-1e400", "1e-400", "123456789012345", "1234567890123456",
        "12345678901234567890", "123456789012345678901234567890", "4e9999999999999999999", "0e999999",
        "9007199254740993", "-9223372036854775809", "18446744073709551616", "1.000000000000000000001",
    ];
    out.extend_from_slice(choices[rng.below(choices.len())].as_bytes());
}

fn value(rng: &mut Rng, out: &mut Vec<u8>, depth: usize) {
    let deep = depth > 3 && !rng.chance(3);
    match if deep { rng.below(4) } else { rng.below(7) } {
        0 => {
            let t = text(rng);
            string(rng, out, &t)
        }
        1 => number(rng, out),
        2 => out.extend_from_slice([&b"true"[..], b"false", b"null"][rng.below(3)]),
        3 if depth > 140 => out.extend_from_slice(b"0"),
        3 if depth > 3 && rng.chance(60) => {
            // A long nested run, around serde_json's limit of 127.
            let levels = 120 + rng.below(12);
            out.extend(std::iter::repeat(b'[').take(levels));
            out.extend(std::iter::repeat(b']').take(levels));
        }
        4 | 5 => {
            out.push(b'[');
            for i in 0..rng.below(4) {
                if i > 0 {
                    out.push(b',');
                }
                whitespace(rng, out);
                value(rng, out, depth + 1);
                whitespace(rng, out);
            }
            out.push(b']');
        }
        _ => object(rng, out, depth + 1),
    }
}

fn object(rng: &mut Rng, out: &mut Vec<u8>, depth: usize) {
    out.push(b'{');
    for i in 0..rng.below(7) {
        if i > 0 {
            out.push(b',');
        }
        whitespace(rng, out);
        let name = NAMES[rng.below(NAMES.len())];
        string(rng, out, name);
        whitespace(rng, out);
        out.push(b':');
        whitespace(rng, out);
        value(rng, out, depth);
        whitespace(rng, out);
    }
    out.push(b'}');
}

fn mutate(rng: &mut Rng, doc: &mut Vec<u8>) {
    let junk: &[u8] = b"{}[]\",:\\u0aAdDfF-+.eE9 \t\x00\x1f\x7f\x80\xbf\xc3\xe9\xed\xa0\xf0\xff";
    for _ in 0..1 + rng.below(3) {
        let at = if doc.is_empty() { 0 } else { rng.below(doc.len() + 1) };
        match rng.below(3) {
            0 if at < doc.len() => doc[at] = junk[rng.below(junk.len())],
            1 if at < doc.len() => {
                doc.remove(at);
            }
            _ => doc.insert(at, junk[rng.below(junk.len())]),
        }
    }
}

/// What the filter reads of a member, in a comparable form. Numbers compare within a relative
/// 1e-15: serde_json (without its float_roundtrip feature) may round long numbers an ulp or two
/// away from the correctly rounded value the filter's reader computes.
#[derive(Debug)]
enum Read {
    Str(Vec<u8>),
    Num(f64),
    Array(Vec<Read>),
    Object,
    Literal,
}

impl PartialEq for Read {
    fn eq(&self, other: &Read) -> bool {
        match (self, other) {
            (Read::Str(a), Read::Str(b)) => a == b,
            (Read::Num(a), Read::Num(b)) => a == b || (a - b).abs() <= 1e-15 * a.abs().max(b.abs()),
            (Read::Array(a), Read::Array(b)) => a == b,
            (Read::Object, Read::Object) | (Read::Literal, Read::Literal) => true,
            _ => false,
        }
    }
}

/// serde_json 1.0.87 accepts a trailing `.` without digits after an integer too long for a u64
/// (`18446744073709551616.`); RFC 8259 does not, nor does the filter's reader.
fn serde_long_integer_dot(doc: &[u8]) -> bool {
    doc.windows(22).any(|w| w[..20].iter().all(u8::is_ascii_digit) && w[20] == b'.' && !w[21].is_ascii_digit())
}

/// Right at the edge of f64's range serde_json's rounding (see `Read`) may keep a number finite
/// that correctly rounds to infinity (`1.79769313486231597e308`); both refuse anything beyond.
fn near_f64_max(doc: &[u8]) -> bool {
    doc.windows(16).any(|w| w == b"1.79769313486231")
}

fn ours(value: json::Value) -> Read {
    match value.kind {
        json::Kind::String => {
            let mut bytes = Vec::new();
            value.decoded(|b| bytes.push(b));
            Read::Str(bytes)
        }
        json::Kind::Number => Read::Num(value.as_f64().expect("validated number")),
        json::Kind::Array => Read::Array(value.elements().map(ours).collect()),
        json::Kind::Object => Read::Object,
        json::Kind::Literal => Read::Literal,
    }
}

fn theirs(value: &Serde) -> Read {
    match value {
        Serde::String(s) => Read::Str(s.as_bytes().to_vec()),
        Serde::Number(n) => Read::Num(n.as_f64().expect("serde number")),
        Serde::Array(list) => Read::Array(list.iter().map(theirs).collect()),
        Serde::Object(_) => Read::Object,
        _ => Read::Literal,
    }
}

fn compare(doc: &[u8]) -> Result<bool, String> {
    let expected = match serde_json::from_slice::<Serde>(doc) {
        Ok(Serde::Object(map)) => Some(map),
        _ => None,
    };
    let mut read: Vec<(Vec<u8>, Read)> = Vec::new();
    let accepted = json::object_members(doc, |name, value| {
        let mut key = Vec::new();
        name.decoded(|b| key.push(b));
        read.push((key, ours(value)));
    })
    .is_ok();
    match (&expected, accepted) {
        (None, false) => Ok(false),
        (Some(map), true) => {
            for name in NAMES {
                let want = map.get(name).map(theirs);
                // Last one wins, as in serde_json's map.
                let got = read.iter().rev().find(|(k, _)| k == name.as_bytes()).map(|(_, v)| v);
                if want.as_ref() != got {
                    return Err(format!("member {name}: serde_json {want:?}, ours {got:?}"));
                }
                if let Some(Read::Str(s)) = &want {
                    let value = last_value(doc, name);
                    if !value.str_eq(s) {
                        return Err(format!("member {name}: str_eq disagrees with decoding"));
                    }
                }
            }
            Ok(true)
        }
        (Some(_), false) if serde_long_integer_dot(doc) || near_f64_max(doc) => Ok(false),
        _ => Err(format!("serde_json accepts: {}, ours: {accepted}", expected.is_some())),
    }
}

fn last_value<'a>(doc: &'a [u8], wanted: &str) -> json::Value<'a> {
    let mut found = None;
    json::object_members(doc, |name, value| {
        if name.str_eq(wanted.as_bytes()) {
            found = Some(value);
        }
    })
    .expect("accepted before");
    found.expect("present")
}

fn base64_case(rng: &mut Rng) -> Result<(), String> {
    let mut segment: Vec<u8> = if rng.chance(50) {
        let raw: Vec<u8> = (0..rng.below(80)).map(|_| rng.next() as u8).collect();
        base64::encode_config(&raw, base64::URL_SAFE_NO_PAD).into_bytes()
    } else {
        (0..rng.below(12)).map(|_| b"AQgw-_zZ09=+/ .\xff"[rng.below(16)]).collect()
    };
    if rng.chance(50) {
        mutate(rng, &mut segment);
    }
    // The filter's old check: only the url-safe alphabet, then the crate's strict decoding.
    let expected = if segment.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_') {
        base64::decode_config(&segment, base64::URL_SAFE_NO_PAD).ok()
    } else {
        None
    };
    let got = b64url::decoded_len(segment.len()).and_then(|len| {
        let mut out = vec![0u8; len];
        b64url::decode_into(&segment, &mut out).ok().map(|_| out)
    });
    if expected != got || b64url::is_valid(&segment) != got.is_some() {
        return Err(format!("base64 {:?}: crate {expected:?}, ours {got:?}", String::from_utf8_lossy(&segment)));
    }
    Ok(())
}

fn main() {
    let iterations: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut accepted, mut refused, mut failures) = (0usize, 0usize, 0usize);
    for i in 0..iterations {
        let mut doc = Vec::new();
        whitespace(&mut rng, &mut doc);
        if rng.chance(90) {
            object(&mut rng, &mut doc, 1);
        } else {
            value(&mut rng, &mut doc, 1);
        }
        whitespace(&mut rng, &mut doc);
        if rng.chance(60) {
            mutate(&mut rng, &mut doc);
        }
        match compare(&doc) {
            Ok(true) => accepted += 1,
            Ok(false) => refused += 1,
            Err(problem) => {
                failures += 1;
                if failures <= 20 {
                    println!("#{i}: {problem}\n  document: {:?}", String::from_utf8_lossy(&doc));
                }
            }
        }
        if let Err(problem) = base64_case(&mut rng) {
            failures += 1;
            if failures <= 20 {
                println!("#{i}: {problem}");
            }
        }
    }
    println!("{iterations} documents: {accepted} accepted and {refused} refused by both, {failures} disagreements");
    if failures > 0 {
        std::process::exit(1);
    }
}
