//! YAML, read into and written from `serde_json::Value`, as `sigs.k8s.io/yaml` does for
//! kube-apiserver (stage 1, book chapter 1: the codec's YAML).
//!
//! Go never decodes YAML into an object: `YAMLToJSON` turns the bytes into JSON and the JSON
//! codec does the rest; `JSONToYAML` goes the other way for `Accept: application/yaml`. Both use
//! go-yaml v2, so plain scalars resolve by YAML 1.1's rules (`yes`, `on` and `off` are
//! booleans, `0755` is octal) and the writer sorts keys and quotes a string only when it would
//! otherwise read back as something else.
//!
//! - `read`: one document of block and flow collections and the five scalar styles. Anchors,
//!   aliases, tags, explicit keys and directives are refused with their line and column.
//! - `write`: go-yaml v2's layout (2-space indent, sequences level with their key).
//!
//! There is no YAML crate: see the dependency appendix.

mod read;
mod write;

pub use read::{from_slice, YamlError};
pub use write::to_string;

/// What a plain (unquoted) scalar means, by go-yaml v2's `resolve`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    /// `<<`, the merge key, which needs aliases.
    Merge,
    /// A string, and whether it has the form of a timestamp (which go-yaml v2 reads as a
    /// string but quotes when it writes one).
    Str {
        timestamp: bool,
    },
}

// ANCHOR: resolve
/// go-yaml v2's `resolve`: the first character chooses which readings to try.
pub(crate) fn resolve(s: &str) -> Resolved {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Resolved::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Resolved::Bool(false)
        }
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        "<<" => return Resolved::Merge,
        _ => {}
    }
    let first = s.as_bytes()[0];
    if first == b'.' {
        if let Some(f) = parse_float(s) {
            return Resolved::Float(f);
        }
    }
    if first.is_ascii_digit() || first == b'+' || first == b'-' {
        if is_timestamp(s) {
            return Resolved::Str { timestamp: true };
        }
        let plain = s.replace('_', "");
        if let Some(i) = parse_go_int(&plain) {
            return i;
        }
        if is_yaml_float(&plain) {
            if let Some(f) = parse_float(&plain) {
                return Resolved::Float(f);
            }
        }
        for (prefix, sign) in [("0b", 1i64), ("-0b", -1)] {
            if let Some(bits) = plain.strip_prefix(prefix) {
                if let Ok(v) = i64::from_str_radix(bits, 2) {
                    return Resolved::Int(sign * v);
                }
            }
        }
    }
    Resolved::Str { timestamp: false }
}
// ANCHOR_END: resolve

/// Go's `strconv.ParseInt(s, 0, 64)`, then `ParseUint`: a sign, then `0x`, `0o`, `0b`, a
/// leading `0` for octal, or decimal.
fn parse_go_int(s: &str) -> Option<Resolved> {
    let (negative, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (digits, radix) = if let Some(d) = lower.strip_prefix("0x") {
        (d, 16)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (d, 8)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (d, 2)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (&lower[1..], 8)
    } else {
        (lower.as_str(), 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u128::from_str_radix(digits, radix).ok()?;
    if negative {
        if magnitude <= i64::MAX as u128 + 1 {
            return Some(Resolved::Int((-(magnitude as i128)) as i64));
        }
        return None;
    }
    if magnitude <= i64::MAX as u128 {
        Some(Resolved::Int(magnitude as i64))
    } else if magnitude <= u64::MAX as u128 {
        Some(Resolved::Uint(magnitude as u64))
    } else {
        None
    }
}

/// go-yaml's `yamlStyleFloat`: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseFloat` for the decimal forms go-yaml lets through.
fn parse_float(s: &str) -> Option<f64> {
    let ok = s
        .bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !ok || !s.bytes().any(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse::<f64>().ok()
}

/// go-yaml v2's `parseTimestamp`: four digits and a dash, then one of the layouts
/// `2006-1-2`, `2006-1-2 15:4:5.999999999` or `2006-1-2T15:4:5.999999999Z07:00`.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let mut i = 5;
    let number = |i: &mut usize, max: usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() && *i - start < max {
            *i += 1;
        }
        *i > start
    };
    let lit = |i: &mut usize, c: u8| {
        if b.get(*i) == Some(&c) {
            *i += 1;
            true
        } else {
            false
        }
    };
    if !(number(&mut i, 2) && lit(&mut i, b'-') && number(&mut i, 2)) {
        return false;
    }
    if i == b.len() {
        return true;
    }
    let zoned = matches!(b[i], b'T' | b't');
    if !(zoned || b[i] == b' ') {
        return false;
    }
    i += 1;
    if !(number(&mut i, 2)
        && lit(&mut i, b':')
        && number(&mut i, 2)
        && lit(&mut i, b':')
        && number(&mut i, 2))
    {
        return false;
    }
    if lit(&mut i, b'.') && !number(&mut i, 9) {
        return false;
    }
    if !zoned {
        return i == b.len();
    }
    if lit(&mut i, b'Z') {
        return i == b.len();
    }
    (lit(&mut i, b'+') || lit(&mut i, b'-'))
        && number(&mut i, 2)
        && lit(&mut i, b':')
        && number(&mut i, 2)
        && i == b.len()
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`: shortest digits, `%e` below 1e-4 and from 1e6.
pub(crate) fn format_go_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is a number");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if f < 0.0 { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let frac = &digits[1..];
        let dot = if frac.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{}{dot}{frac}e{esign}{:02}", &digits[..1], exp.abs());
    }
    if exp < 0 {
        let zeros = "0".repeat((-exp - 1) as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let point = exp as usize + 1;
    if digits.len() <= point {
        format!("{sign}{digits}{}", "0".repeat(point - digits.len()))
    } else {
        format!("{sign}{}.{}", &digits[..point], &digits[point..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_scalars_resolve_as_go_yaml_v2() {
        for s in ["yes", "Yes", "on", "ON", "y", "True"] {
            assert_eq!(resolve(s), Resolved::Bool(true), "{s}");
        }
        for s in ["no", "off", "N", "FALSE"] {
            assert_eq!(resolve(s), Resolved::Bool(false), "{s}");
        }
        for s in ["", "~", "null", "NULL"] {
            assert_eq!(resolve(s), Resolved::Null, "{s}");
        }
        assert_eq!(resolve("0755"), Resolved::Int(493));
        assert_eq!(resolve("0x1F"), Resolved::Int(31));
        assert_eq!(resolve("-0x10"), Resolved::Int(-16));
        assert_eq!(resolve("0o17"), Resolved::Int(15));
        assert_eq!(resolve("0b101"), Resolved::Int(5));
        assert_eq!(resolve("1_000"), Resolved::Int(1000));
        assert_eq!(resolve("+12"), Resolved::Int(12));
        assert_eq!(resolve("18446744073709551615"), Resolved::Uint(u64::MAX));
        assert_eq!(resolve("08"), Resolved::Float(8.0));
        assert_eq!(resolve("1.5"), Resolved::Float(1.5));
        assert_eq!(resolve(".5"), Resolved::Float(0.5));
        assert_eq!(resolve("1e3"), Resolved::Float(1000.0));
        assert_eq!(resolve("-.inf"), Resolved::Float(f64::NEG_INFINITY));
        assert_eq!(resolve("<<"), Resolved::Merge);
        for s in [
            "1.2.3", "0x", "1e", "Yess", "nul", "12:30", "-", "+", "e5", "inf",
        ] {
            assert_eq!(resolve(s), Resolved::Str { timestamp: false }, "{s}");
        }
        for s in [
            "2001-12-14",
            "2001-12-14t21:59:43.10-05:00",
            "2024-01-02T03:04:05Z",
        ] {
            assert_eq!(resolve(s), Resolved::Str { timestamp: true }, "{s}");
        }
    }

    #[test]
    fn floats_format_as_go_g() {
        let cases = [
            (1.5, "1.5"),
            (1.0, "1"),
            (1e6, "1e+06"),
            (123456.0, "123456"),
            (1e21, "1e+21"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5e-7, "-2.5e-07"),
            (1e20, "1e+20"),
            (1234567.0, "1.234567e+06"),
        ];
        for (f, want) in cases {
            assert_eq!(format_go_float(f), want, "{f}");
        }
    }
}

#[cfg(test)]
mod reader_writer_tests;
