//! Low-level JSON pieces the wire format needs and `serde_json` does not give:
//! exact integers from any number spelling (`200`, `200.0`, `2e2`), canonical
//! compact text for pass-through values (members sorted, no whitespace, numbers
//! kept digit for digit), the nesting-depth limit, and string escaping.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

/// Maximum nesting depth of a frame, counting the top-level object as 1 (spec §4.1).
pub const MAX_DEPTH: usize = 64;

/// A JSON value held as canonical compact text: no insignificant whitespace,
/// object members sorted by name in byte order at every level, numbers and
/// string escapes exactly as they were written.
///
/// Headers other than the typed ones, and `Body`, travel as `Json` from the
/// wire to the SLP and back without ever being converted to a tree.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Json(Box<str>);

/// Why a text is not acceptable as a [`Json`] value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    /// Not valid RFC 8259 JSON.
    Invalid,
    /// Nested deeper than [`MAX_DEPTH`].
    TooDeep,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JsonError::Invalid => "invalid JSON",
            JsonError::TooDeep => "JSON nested too deeply",
        })
    }
}

impl std::error::Error for JsonError {}

impl Json {
    /// Parses any JSON text (surrounding whitespace allowed) into canonical form.
    pub fn parse(text: &str) -> Result<Json, JsonError> {
        let raw: &serde_json::value::RawValue = serde_json::from_str(text).map_err(|_| JsonError::Invalid)?;
        Self::from_valid(raw.get(), 1)
    }

    /// Canonicalises text already known to be valid JSON, nested `outer_depth`
    /// levels deep in its frame (0 for a standalone value, 1 for a member of the
    /// top-level object).
    pub(crate) fn from_valid(text: &str, outer_depth: usize) -> Result<Json, JsonError> {
        canonical(text, outer_depth).map(|c| Json(c.into()))
    }

    /// Takes text that is already canonical JSON (as [`Json::text`] gives it)
    /// without parsing it again. For values that crossed a trusted boundary
    /// in canonical form, such as what slp-host delivers to an SLP: parsing
    /// them again was the largest cost of an SLP's own code per message.
    /// Text that is not canonical JSON is not unsafe, but the accessors and
    /// equality then give wrong answers: never use it on a peer's input.
    pub fn from_canonical(text: String) -> Json {
        debug_assert!(Json::parse(&text).is_ok_and(|j| j.text() == text), "not canonical: {text}");
        Json(text.into())
    }

    /// A JSON string holding `s`.
    pub fn string(s: &str) -> Json {
        let mut out = String::with_capacity(s.len() + 2);
        write_str(&mut out, s);
        Json(out.into())
    }

    /// A JSON integer.
    pub fn integer(n: i64) -> Json {
        Json(n.to_string().into())
    }

    /// The canonical text.
    pub fn text(&self) -> &str {
        &self.0
    }

    /// The decoded string, when this value is a JSON string.
    pub fn as_str(&self) -> Option<Cow<'_, str>> {
        decode_str(&self.0)
    }

    /// The value, when this is a number with an exact integer value that fits `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        exact_integer(&self.0).and_then(|n| i64::try_from(n).ok())
    }

    /// The value, when this is a number with an exact non-negative integer value that fits `u64`.
    pub fn as_u64(&self) -> Option<u64> {
        exact_integer(&self.0).and_then(|n| u64::try_from(n).ok())
    }

    /// The value, when this is `true` or `false`.
    pub fn as_bool(&self) -> Option<bool> {
        match &*self.0 {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }

    /// True for the literal `null`.
    pub fn is_null(&self) -> bool {
        &*self.0 == "null"
    }
}

impl fmt::Debug for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Decodes a JSON string literal (with its quotes); `None` if `raw` is not a string.
pub(crate) fn decode_str(raw: &str) -> Option<Cow<'_, str>> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    if !inner.contains('\\') {
        return Some(Cow::Borrowed(inner));
    }
    serde_json::from_str::<String>(raw).ok().map(Cow::Owned)
}

/// The exact integer value of a JSON number text, or `None` when the text is
/// not a number, has a fractional value, or is beyond `i128`.
///
/// `200`, `200.0`, `2e2` and `2000e-1` are all 200; `200.5` is `None`
/// (gortc differs: it truncated).
pub fn exact_integer(text: &str) -> Option<i128> {
    let bytes = text.as_bytes();
    let (negative, rest) = match bytes.first()? {
        b'-' => (true, &bytes[1..]),
        b'0'..=b'9' => (false, bytes),
        _ => return None,
    };
    let int_len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if int_len == 0 {
        return None;
    }
    let (int_digits, mut rest) = rest.split_at(int_len);
    let mut frac_digits: &[u8] = &[];
    if let Some((b'.', after)) = rest.split_first() {
        let n = after.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        (frac_digits, rest) = after.split_at(n);
    }
    let mut exponent: i64 = 0;
    if let Some((b'e' | b'E', after)) = rest.split_first() {
        let (sign, digits) = match after.split_first() {
            Some((b'-', d)) => (-1, d),
            Some((b'+', d)) => (1, d),
            _ => (1, after),
        };
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        for d in digits {
            // Saturate: anything this large is out of every range we check.
            exponent = (exponent * 10 + i64::from(d - b'0')).min(1 << 40);
        }
        exponent *= sign;
        rest = &[];
    }
    if !rest.is_empty() {
        return None;
    }
    // Significant digits = int ++ frac without leading zeros; value = digits * 10^(exponent - frac_len).
    let mut digits: Vec<u8> = int_digits.iter().chain(frac_digits).copied().collect();
    let mut scale = exponent - frac_digits.len() as i64;
    while digits.last() == Some(&b'0') && digits.len() > 1 {
        digits.pop();
        scale += 1;
    }
    let lead = digits.iter().take_while(|&&d| d == b'0').count();
    let digits = &digits[lead.min(digits.len())..];
    if digits.is_empty() {
        return Some(0);
    }
    if scale < 0 {
        return None;
    }
    if digits.len() as i64 + scale > 38 {
        return None;
    }
    let mut value: i128 = 0;
    for d in digits {
        value = value * 10 + i128::from(d - b'0');
    }
    for _ in 0..scale {
        value *= 10;
    }
    Some(if negative { -value } else { value })
}

/// Appends `s` as a JSON string literal.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789abcdef"[usize::from(b & 0xf)]));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Bracket nesting depth of valid JSON text (0 for a scalar).
pub(crate) fn depth(text: &str) -> usize {
    match text.as_bytes().first() {
        Some(b'[' | b'{') => scan(text).0,
        _ => 0,
    }
}

/// Canonical compact form of valid JSON text nested `outer_depth` levels deep.
/// Borrows when the text is already canonical (the common case: strings,
/// numbers, arrays of scalars written without spaces).
fn canonical(text: &str, outer_depth: usize) -> Result<Cow<'_, str>, JsonError> {
    let text = text.trim_matches(is_ws);
    let (depth, needs_rewrite) = scan(text);
    if outer_depth + depth > MAX_DEPTH {
        return Err(JsonError::TooDeep);
    }
    if !needs_rewrite {
        return Ok(Cow::Borrowed(text));
    }
    let mut out = String::with_capacity(text.len());
    let mut cursor = Cursor { text, pos: 0 };
    cursor.value(&mut out)?;
    Ok(Cow::Owned(out))
}

fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Maximum bracket depth, and whether the text needs a rewrite to be
/// canonical: whitespace outside strings, or object members out of byte
/// order (or with escaped names, which are compared decoded). Already
/// canonical text, the common case, is then borrowed as it is.
fn scan(text: &str) -> (usize, bool) {
    /// Per open container: is it an object, is a member name expected next,
    /// and the previous member name (raw, with quotes).
    #[derive(Clone, Copy)]
    struct Level<'t> {
        object: bool,
        expect_key: bool,
        last_key: Option<&'t [u8]>,
    }
    // Fixed storage: deeper text is refused by serde_json (128) before it gets here.
    const MAX_LEVELS: usize = 130;
    let bytes = text.as_bytes();
    let mut levels = [Level { object: false, expect_key: false, last_key: None }; MAX_LEVELS];
    let mut len = 0usize;
    let (mut max, mut rewrite) = (0usize, false);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                // The name without its quotes: byte order of the contents.
                let literal = &bytes[(start + 1).min(i)..i.min(bytes.len())];
                if let Some(level) =
                    len.checked_sub(1).filter(|&t| t < MAX_LEVELS).map(|top| &mut levels[top])
                    && level.object
                    && level.expect_key
                {
                    level.expect_key = false;
                    if literal.contains(&b'\\') || level.last_key.is_some_and(|prev| prev > literal) {
                        rewrite = true;
                    }
                    level.last_key = Some(literal);
                }
            }
            b @ (b'{' | b'[') => {
                if len < MAX_LEVELS {
                    levels[len] = Level { object: b == b'{', expect_key: b == b'{', last_key: None };
                }
                len += 1;
                max = max.max(len);
            }
            b']' | b'}' => len = len.saturating_sub(1),
            b',' => {
                if let Some(level) =
                    len.checked_sub(1).filter(|&t| t < MAX_LEVELS).map(|top| &mut levels[top])
                {
                    level.expect_key = level.object;
                }
            }
            b' ' | b'\t' | b'\n' | b'\r' => rewrite = true,
            _ => {}
        }
        i += 1;
    }
    (max, rewrite)
}

/// Recursive re-writer over text that serde_json already validated.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn skip_ws(&mut self) {
        let rest = &self.text[self.pos..];
        self.pos += rest.len() - rest.trim_start_matches(is_ws).len();
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn value(&mut self, out: &mut String) -> Result<(), JsonError> {
        self.skip_ws();
        match self.peek().ok_or(JsonError::Invalid)? {
            b'{' => self.object(out),
            b'[' => self.array(out),
            b'"' => {
                out.push_str(self.string()?);
                Ok(())
            }
            _ => {
                let rest = &self.text[self.pos..];
                let len = rest.find(|c: char| matches!(c, ',' | ']' | '}') || is_ws(c)).unwrap_or(rest.len());
                out.push_str(&rest[..len]);
                self.pos += len;
                Ok(())
            }
        }
    }

    /// A string literal, quotes included, as written.
    fn string(&mut self) -> Result<&'a str, JsonError> {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let mut i = start + 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => {
                    self.pos = i + 1;
                    return Ok(&self.text[start..=i]);
                }
                _ => i += 1,
            }
        }
        Err(JsonError::Invalid)
    }

    fn expect(&mut self, byte: u8) -> Result<(), JsonError> {
        self.skip_ws();
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(JsonError::Invalid)
        }
    }

    fn array(&mut self, out: &mut String) -> Result<(), JsonError> {
        self.expect(b'[')?;
        out.push('[');
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            out.push(']');
            return Ok(());
        }
        loop {
            self.value(out)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    out.push(',');
                }
                Some(b']') => {
                    self.pos += 1;
                    out.push(']');
                    return Ok(());
                }
                _ => return Err(JsonError::Invalid),
            }
        }
    }

    fn object(&mut self, out: &mut String) -> Result<(), JsonError> {
        self.expect(b'{')?;
        let mut members: Vec<(&'a str, String)> = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                self.skip_ws();
                let key = self.string()?;
                self.expect(b':')?;
                let mut value = String::new();
                self.value(&mut value)?;
                members.push((key, value));
                self.skip_ws();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(JsonError::Invalid),
                }
            }
        }
        members.sort_by(|a, b| compare_keys(a.0, b.0));
        out.push('{');
        for (i, (key, value)) in members.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(key);
            out.push(':');
            out.push_str(value);
        }
        out.push('}');
        Ok(())
    }
}

/// Orders two raw key literals by their decoded bytes. A key that does not
/// decode (it holds a lone surrogate escape) is ordered by its raw text. Each
/// key is mapped to one image before comparing, so the order is total; falling
/// back to raw text per pair was not, which made `sort_by` panic.
fn compare_keys(a: &str, b: &str) -> Ordering {
    fn image(key: &str) -> Cow<'_, str> {
        decode_str(key).unwrap_or(Cow::Borrowed(key))
    }
    image(a).as_bytes().cmp(image(b).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_canonical_keeps_canonical_text_and_equals_the_parsed_value() {
        for text in [r#"{"a":[1,2.50],"b":{"c":null}}"#, r#""x\u0041""#, "18446744073709551616", "true"] {
            let j = Json::from_canonical(text.to_owned());
            assert_eq!(j.text(), text);
            assert_eq!(j, Json::parse(text).unwrap());
        }
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "not canonical")]
    fn from_canonical_refuses_other_text_in_debug_builds() {
        Json::from_canonical(r#"{"b":1, "a":2}"#.to_owned());
    }

    #[test]
    fn exact_integers_accept_every_spelling_of_an_integer() {
        for (text, value) in [
            ("200", 200),
            ("200.0", 200),
            ("2e2", 200),
            ("2E+2", 200),
            ("2000e-1", 200),
            ("0.2e3", 200),
            ("-0", 0),
            ("0.000", 0),
            ("-17", -17),
            ("9007199254740991", 9_007_199_254_740_991),
        ] {
            assert_eq!(exact_integer(text), Some(value), "{text}");
        }
    }

    #[test]
    fn exact_integers_reject_fractions_and_non_numbers() {
        for text in ["200.5", "2e-1", "9007199254740990.5", "1e400", "\"200\"", "true", "", "-", "1.", "1e"] {
            assert_eq!(exact_integer(text), None, "{text}");
        }
    }

    #[test]
    fn canonical_sorts_nested_members_and_drops_whitespace() {
        let j = Json::parse(r#" { "b" : [ 1 , {"z":1, "a":2} ], "a" : "x y" } "#).unwrap();
        assert_eq!(j.text(), r#"{"a":"x y","b":[1,{"a":2,"z":1}]}"#);
    }

    #[test]
    fn canonical_keeps_numbers_and_escapes_exactly() {
        let text = r#"[12345678901234567890123,1.50,2E2,"\u00e9\n"]"#;
        assert_eq!(Json::parse(text).unwrap().text(), text);
    }

    #[test]
    fn canonical_orders_escaped_keys_by_their_decoded_bytes() {
        let j = Json::parse(r#"{"b":1,"\u0061":2}"#).unwrap();
        assert_eq!(j.text(), r#"{"\u0061":2,"b":1}"#);
    }

    #[test]
    fn canonical_objects_are_borrowed_and_others_rewritten() {
        assert!(matches!(canonical(r#"{"a":1,"b":{"c":[{"d":1,"e":2}]}}"#, 1), Ok(Cow::Borrowed(_))));
        assert!(matches!(canonical(r#"["b","a"]"#, 1), Ok(Cow::Borrowed(_))), "array order is kept");
        assert_eq!(canonical(r#"{"b":1,"a":2}"#, 1).unwrap(), r#"{"a":2,"b":1}"#);
        assert_eq!(canonical(r#"{"a":{"z":1,"y":2}}"#, 1).unwrap(), r#"{"a":{"y":2,"z":1}}"#);
        assert_eq!(canonical(r#"[{"b":1,"a":2},{"a":1}]"#, 1).unwrap(), r#"[{"a":2,"b":1},{"a":1}]"#);
        assert_eq!(canonical(r#"{"a":"x,\"y","c":1,"b":2}"#, 1).unwrap(), r#"{"a":"x,\"y","b":2,"c":1}"#);
        // Names compare by content: "a" < "a " although '"' > ' '.
        assert!(matches!(canonical(r#"{"a":1,"a ":2}"#, 1), Ok(Cow::Borrowed(_))));
        assert_eq!(canonical(r#"{"a ":1,"a":2}"#, 1).unwrap(), r#"{"a":2,"a ":1}"#);
    }

    #[test]
    fn depth_limit_counts_the_enclosing_levels() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(Json::from_valid(&nested(63), 1).is_ok());
        assert_eq!(Json::from_valid(&nested(64), 1), Err(JsonError::TooDeep));
    }

    #[test]
    fn strings_escape_only_what_json_requires() {
        let mut out = String::new();
        write_str(&mut out, "a\"b\\c\n\u{1}é");
        assert_eq!(out, r#""a\"b\\c\n\u0001é""#);
        assert_eq!(decode_str(&out).unwrap(), "a\"b\\c\n\u{1}é");
    }

    #[test]
    fn accessors_read_typed_values() {
        assert_eq!(Json::parse("\"hi\"").unwrap().as_str().unwrap(), "hi");
        assert_eq!(Json::parse("60.0").unwrap().as_u64(), Some(60));
        assert_eq!(Json::parse("-3").unwrap().as_u64(), None);
        assert_eq!(Json::parse("-3").unwrap().as_i64(), Some(-3));
        assert_eq!(Json::parse("true").unwrap().as_bool(), Some(true));
        assert!(Json::parse("null").unwrap().is_null());
        assert_eq!(Json::parse("[1,"), Err(JsonError::Invalid));
    }
}
