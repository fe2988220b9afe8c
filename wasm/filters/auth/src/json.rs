//! A strict JSON (RFC 8259) reader for the two small objects of a JWT: it validates the whole
//! document exactly as `serde_json::from_slice::<Value>` did (grammar, UTF-8, escapes and
//! surrogate pairs, control characters, numbers out of f64 range, nesting limited to 127 levels,
//! only whitespace after the value) and hands back the top-level members as borrowed slices of
//! the input, so nothing is allocated and nothing is built that the filter does not read.
//! Duplicate member names: the last one wins, as with `serde_json::Value`.
//!
//! Its agreement with serde_json is checked by `wasm/filters/json-fuzz` (a differential fuzzer,
//! run by hand) and, through the filter, by the JVM tests' table of malformed claims.

/// serde_json's recursion limit: 128 nested arrays/objects fail, 127 pass.
const MAX_DEPTH: u32 = 127;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    String,
    Number,
    Array,
    Object,
    Literal,
}

/// One value: its kind and exact text (a string without its quotes).
#[derive(Clone, Copy, Debug)]
pub struct Value<'a> {
    pub kind: Kind,
    pub raw: &'a [u8],
    /// For strings: the text contains at least one escape.
    escaped: bool,
}

impl<'a> Value<'a> {
    /// The string's decoded text equals `expected` (escapes such as `\u0041` decoded).
    pub fn str_eq(&self, expected: &[u8]) -> bool {
        if self.kind != Kind::String {
            return false;
        }
        if !self.escaped {
            return self.raw == expected;
        }
        let mut at = 0;
        let mut matched = true;
        decode_string(self.raw, |byte| {
            matched = matched && expected.get(at) == Some(&byte);
            at += 1;
        });
        matched && at == expected.len()
    }

    /// Feeds the string's decoded bytes to `sink` (nothing for other kinds).
    pub fn decoded(&self, sink: impl FnMut(u8)) {
        if self.kind == Kind::String {
            decode_string(self.raw, sink);
        }
    }

    /// The number as f64 (None for other kinds). Already known to be finite.
    pub fn as_f64(&self) -> Option<f64> {
        if self.kind != Kind::Number {
            return None;
        }
        number_value(self.raw)
    }

    /// The elements of an array value (empty for other kinds).
    pub fn elements(&self) -> Elements<'a> {
        let mut reader = Reader { bytes: self.raw, at: 0 };
        let open = self.kind == Kind::Array && reader.byte() == Some(b'[');
        if open {
            reader.at += 1;
        }
        Elements {
            reader,
            done: !open,
            first: true,
        }
    }
}

/// Iterates over an array already validated by `object_members`.
pub struct Elements<'a> {
    reader: Reader<'a>,
    done: bool,
    first: bool,
}

impl<'a> Iterator for Elements<'a> {
    type Item = Value<'a>;

    fn next(&mut self) -> Option<Value<'a>> {
        if self.done {
            return None;
        }
        self.reader.whitespace();
        if !self.first {
            if self.reader.byte() != Some(b',') {
                self.done = true;
                return None;
            }
            self.reader.at += 1;
            self.reader.whitespace();
        } else if self.reader.byte() == Some(b']') {
            self.done = true;
            return None;
        }
        self.first = false;
        match self.reader.value(1) {
            Ok(value) => Some(value),
            Err(()) => {
                self.done = true;
                None
            }
        }
    }
}

/// Parses `bytes` as one JSON document that must be an object, calling `member(name, value)`
/// for each top-level member in order. Err(()) when the document is not valid JSON or not an
/// object; `member` may already have been called for earlier members then.
pub fn object_members<'a>(
    bytes: &'a [u8],
    mut member: impl FnMut(Value<'a>, Value<'a>),
) -> Result<(), ()> {
    let mut reader = Reader { bytes, at: 0 };
    reader.whitespace();
    if reader.byte() != Some(b'{') {
        // Still a syntax check of whatever it is would not change the answer: not an object.
        return Err(());
    }
    reader.at += 1;
    reader.whitespace();
    if reader.byte() == Some(b'}') {
        reader.at += 1;
    } else {
        loop {
            reader.whitespace();
            if reader.byte() != Some(b'"') {
                return Err(());
            }
            let name = reader.string()?;
            reader.whitespace();
            if reader.byte() != Some(b':') {
                return Err(());
            }
            reader.at += 1;
            reader.whitespace();
            let value = reader.value(1)?;
            member(name, value);
            reader.whitespace();
            match reader.byte() {
                Some(b',') => reader.at += 1,
                Some(b'}') => {
                    reader.at += 1;
                    break;
                }
                _ => return Err(()),
            }
        }
    }
    reader.whitespace();
    if reader.at == bytes.len() {
        Ok(())
    } else {
        Err(())
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    #[inline(always)]
    fn byte(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.byte() {
            self.at += 1;
        }
    }

    /// One value at `at` (no leading whitespace), nested `depth` levels deep.
    fn value(&mut self, depth: u32) -> Result<Value<'a>, ()> {
        let start = self.at;
        let kind = match self.byte() {
            Some(b'"') => return self.string(),
            Some(b'-' | b'0'..=b'9') => {
                self.number()?;
                Kind::Number
            }
            Some(b'[') => {
                self.container(depth, b']')?;
                Kind::Array
            }
            Some(b'{') => {
                self.container(depth, b'}')?;
                Kind::Object
            }
            Some(b't') => self.literal(b"true")?,
            Some(b'f') => self.literal(b"false")?,
            Some(b'n') => self.literal(b"null")?,
            _ => return Err(()),
        };
        Ok(Value {
            kind,
            raw: &self.bytes[start..self.at],
            escaped: false,
        })
    }

    fn literal(&mut self, word: &[u8]) -> Result<Kind, ()> {
        if self.bytes[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(Kind::Literal)
        } else {
            Err(())
        }
    }

    /// An array or object at `at`; iterative over members, recursive only into nested values.
    fn container(&mut self, depth: u32, close: u8) -> Result<(), ()> {
        if depth >= MAX_DEPTH {
            return Err(());
        }
        self.at += 1;
        self.whitespace();
        if self.byte() == Some(close) {
            self.at += 1;
            return Ok(());
        }
        loop {
            self.whitespace();
            if close == b'}' {
                if self.byte() != Some(b'"') {
                    return Err(());
                }
                self.string()?;
                self.whitespace();
                if self.byte() != Some(b':') {
                    return Err(());
                }
                self.at += 1;
                self.whitespace();
            }
            self.value(depth + 1)?;
            self.whitespace();
            match self.byte() {
                Some(b',') => self.at += 1,
                Some(byte) if byte == close => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return Err(()),
            }
        }
    }

    /// A string at `at` (the opening quote): raw bytes must be UTF-8 without control
    /// characters, escapes one of `\" \\ \/ \b \f \n \r \t \uXXXX` with surrogates paired.
    fn string(&mut self) -> Result<Value<'a>, ()> {
        self.at += 1;
        let start = self.at;
        let mut escaped = false;
        let mut non_ascii = false;
        loop {
            self.skip_plain_ascii();
            let byte = self.byte().ok_or(())?;
            match byte {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.at += 1;
                    match self.byte().ok_or(())? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 1,
                        b'u' => {
                            self.at += 1;
                            let unit = self.hex4()?;
                            match unit {
                                0xdc00..=0xdfff => return Err(()),
                                0xd800..=0xdbff => {
                                    if self.bytes.get(self.at..self.at + 2) != Some(b"\\u") {
                                        return Err(());
                                    }
                                    self.at += 2;
                                    if !(0xdc00..=0xdfff).contains(&self.hex4()?) {
                                        return Err(());
                                    }
                                }
                                _ => {}
                            }
                        }
                        _ => return Err(()),
                    }
                }
                0x00..=0x1f => return Err(()),
                0x80..=0xff => {
                    non_ascii = true;
                    self.at += 1;
                }
                _ => self.at += 1,
            }
        }
        let raw = &self.bytes[start..self.at];
        self.at += 1;
        if non_ascii && core::str::from_utf8(raw).is_err() {
            return Err(());
        }
        Ok(Value {
            kind: Kind::String,
            raw,
            escaped,
        })
    }

    /// Skips 8 bytes at a time while none of them is `"`, `\\`, a control character or
    /// non-ASCII (one memory read per 8 bytes; the byte loop handles whatever stops it).
    #[inline(always)]
    fn skip_plain_ascii(&mut self) {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGHS: u64 = 0x8080_8080_8080_8080;
        while let Some(chunk) = self.bytes.get(self.at..self.at + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let w = u64::from_le_bytes(word);
            let quote = w ^ (ONES * b'"' as u64);
            let backslash = w ^ (ONES * b'\\' as u64);
            let special = w
                | quote.wrapping_sub(ONES) & !quote
                | backslash.wrapping_sub(ONES) & !backslash
                | w.wrapping_sub(ONES * 0x20) & !w;
            if special & HIGHS != 0 {
                return;
            }
            self.at += 8;
        }
    }

    fn hex4(&mut self) -> Result<u32, ()> {
        let digits = self.bytes.get(self.at..self.at + 4).ok_or(())?;
        let mut unit = 0;
        for digit in digits {
            unit = unit << 4 | hex_digit(*digit).ok_or(())?;
        }
        self.at += 4;
        Ok(unit)
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, finite as an f64.
    fn number(&mut self) -> Result<(), ()> {
        let start = self.at;
        if self.byte() == Some(b'-') {
            self.at += 1;
        }
        match self.byte() {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(()),
        }
        if self.byte() == Some(b'.') {
            self.at += 1;
            if !matches!(self.byte(), Some(b'0'..=b'9')) {
                return Err(());
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.byte() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.byte() {
                self.at += 1;
            }
            if !matches!(self.byte(), Some(b'0'..=b'9')) {
                return Err(());
            }
            self.digits();
        }
        // serde_json refuses numbers that overflow an f64.
        match number_value(&self.bytes[start..self.at]) {
            Some(_) => Ok(()),
            None => Err(()),
        }
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.byte() {
            self.at += 1;
        }
    }
}

fn hex_digit(digit: u8) -> Option<u32> {
    match digit {
        b'0'..=b'9' => Some((digit - b'0') as u32),
        b'a'..=b'f' => Some((digit - b'a' + 10) as u32),
        b'A'..=b'F' => Some((digit - b'A' + 10) as u32),
        _ => None,
    }
}

/// The value of valid JSON number text; None when it is not finite as an f64. Integers of up
/// to 15 digits (every NumericDate) are exact and need no float parser.
fn number_value(text: &[u8]) -> Option<f64> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    if digits.len() <= 15 && digits.iter().all(u8::is_ascii_digit) {
        let value = digits.iter().fold(0u64, |n, d| n * 10 + (d - b'0') as u64) as f64;
        return Some(if negative { -value } else { value });
    }
    // Anything else (fractions, exponents, long integers) goes through core's correctly rounded
    // parser; like serde_json, a number that overflows an f64 is refused.
    let value: f64 = core::str::from_utf8(text).ok()?.parse().ok()?;
    if value.is_finite() {
        Some(value)
    } else {
        None
    }
}

/// Decodes the text of a string already validated by `Reader::string`.
fn decode_string(raw: &[u8], mut sink: impl FnMut(u8)) {
    let mut at = 0;
    while at < raw.len() {
        let byte = raw[at];
        if byte != b'\\' {
            sink(byte);
            at += 1;
            continue;
        }
        let code = raw.get(at + 1).copied().unwrap_or(b'\\');
        at += 2;
        let simple = match code {
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => 0,
            other => other,
        };
        if code != b'u' {
            sink(simple);
            continue;
        }
        let mut point = hex_at(raw, at);
        at += 4;
        if (0xd800..=0xdbff).contains(&point) {
            let low = hex_at(raw, at + 2);
            at += 6;
            point = 0x10000 + ((point - 0xd800) << 10) + (low.wrapping_sub(0xdc00) & 0x3ff);
        }
        let mut utf8 = [0u8; 4];
        let encoded = char::from_u32(point).unwrap_or('\u{fffd}').encode_utf8(&mut utf8);
        for byte in encoded.bytes() {
            sink(byte);
        }
    }
}

fn hex_at(raw: &[u8], at: usize) -> u32 {
    raw.get(at..at + 4)
        .map_or(0xfffd, |digits| digits.iter().fold(0, |unit, d| unit << 4 | hex_digit(*d).unwrap_or(0)))
}
