//! `resource.Quantity` from `k8s.io/apimachinery/pkg/api/resource`: `"500m"`, `"1Gi"`, `"2e3"`.
//!
//! LimitRanger and ResourceQuota compare and add quantities, and print them in their messages
//! the way kube-apiserver does, so a quantity is parsed into a number rather than compared as
//! text (`"1Gi"` is more than `"900Mi"`, and `"0.5"` equals `"500m"`).
//!
//! The number is kept in billionths (Go's `resource.Quantity` keeps at most nine decimal places
//! too, rounding anything finer up), in an `i128`, which holds every quantity a cluster uses:
//! `1Ei` is about 1.2e27 billionths, far below the type's 1.7e38.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

/// What Go calls ErrFormatWrong: the regular expression a quantity must match.
pub const FORMAT_ERROR: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

const NANO: i128 = 1_000_000_000;

/// How a quantity was written, which is how it is printed back (Go's `resource.Format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `m`, `k`, `M`, ... or no suffix.
    DecimalSI,
    /// `Ki`, `Mi`, `Gi`, ...
    BinarySI,
    /// `1e3`, `5E-3`.
    DecimalExponent,
}

#[derive(Clone, Copy, Debug)]
pub struct Quantity {
    nanos: i128,
    pub format: Format,
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Quantity) -> bool {
        self.nanos == other.nanos
    }
}

impl Eq for Quantity {}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Quantity) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Quantity) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

const DECIMAL_SUFFIXES: &[(&str, i32)] = &[
    ("n", -9),
    ("u", -6),
    ("m", -3),
    ("", 0),
    ("k", 3),
    ("M", 6),
    ("G", 9),
    ("T", 12),
    ("P", 15),
    ("E", 18),
];

const BINARY_SUFFIXES: &[(&str, u32)] = &[
    ("", 0),
    ("Ki", 10),
    ("Mi", 20),
    ("Gi", 30),
    ("Ti", 40),
    ("Pi", 50),
    ("Ei", 60),
];

impl Quantity {
    pub const ZERO: Quantity = Quantity {
        nanos: 0,
        format: Format::DecimalSI,
    };

    /// A whole number of units (`pods=1`), as `resource.NewQuantity(n, DecimalSI)`.
    pub fn from_units(n: i64) -> Quantity {
        Quantity {
            nanos: i128::from(n) * NANO,
            format: Format::DecimalSI,
        }
    }

    /// `ParseQuantity`, with Go's two errors: a string of the wrong shape, or a bad suffix.
    pub fn parse(s: &str) -> Result<Quantity, &'static str> {
        let (negative, rest) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, suffix) = rest.split_at(number_end);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
            return Err(FORMAT_ERROR);
        }
        let shape_ok = suffix
            .trim_start_matches(|c: char| "eEinumkKMGTP".contains(c))
            .trim_start_matches(['+', '-'])
            .bytes()
            .all(|b| b.is_ascii_digit());
        if !shape_ok {
            return Err(FORMAT_ERROR);
        }
        let digits = format!("{whole}{fraction}");
        let mantissa: i128 = digits
            .trim_start_matches('0')
            .parse()
            .or_else(|_| {
                if digits.bytes().all(|b| b == b'0') {
                    Ok(0)
                } else {
                    Err(())
                }
            })
            .map_err(|_| "quantity is too large")?;
        let scale = -(fraction.len() as i32);
        let (format, nanos) = if let Some(&(_, exp)) =
            DECIMAL_SUFFIXES.iter().find(|(sfx, _)| *sfx == suffix)
        {
            (Format::DecimalSI, scaled(mantissa, scale + exp + 9))
        } else if let Some(&(_, bits)) = BINARY_SUFFIXES.iter().find(|(sfx, _)| *sfx == suffix) {
            let shifted = mantissa.checked_mul(1i128 << bits);
            (Format::BinarySI, shifted.and_then(|m| scaled(m, scale + 9)))
        } else if let Some(exp) = suffix
            .strip_prefix(['e', 'E'])
            .and_then(|e| e.parse::<i32>().ok())
        {
            (Format::DecimalExponent, scaled(mantissa, scale + exp + 9))
        } else {
            return Err("unable to parse quantity's suffix");
        };
        let nanos = nanos.ok_or("quantity is too large")?;
        Ok(Quantity {
            nanos: if negative { -nanos } else { nanos },
            format,
        })
    }

    /// A quantity in an object: a string, or a bare JSON number.
    pub fn from_value(v: &Value) -> Option<Quantity> {
        match v {
            Value::String(s) => Quantity::parse(s).ok(),
            Value::Number(n) => Quantity::parse(&n.to_string()).ok(),
            _ => None,
        }
    }

    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    pub fn is_negative(&self) -> bool {
        self.nanos < 0
    }

    /// Whether it is a whole number of units (`pods` must be).
    pub fn is_integer(&self) -> bool {
        self.nanos % NANO == 0
    }

    /// The value as a float of units, for the limit-to-request ratio.
    pub fn as_f64(&self) -> f64 {
        self.nanos as f64 / NANO as f64
    }

    /// The JSON string form.
    pub fn to_value(self) -> Value {
        Value::String(self.to_string())
    }
}

/// `Add`: a zero takes the other's format, so `0 + 1Gi` prints as `1Gi`. Sums saturate: a
/// quota adds up quantities clients chose, and two huge ones must not overflow.
impl std::ops::Add for Quantity {
    type Output = Quantity;
    fn add(self, other: Quantity) -> Quantity {
        Quantity {
            nanos: self.nanos.saturating_add(other.nanos),
            format: if self.is_zero() {
                other.format
            } else {
                self.format
            },
        }
    }
}

impl std::ops::Sub for Quantity {
    type Output = Quantity;
    fn sub(self, other: Quantity) -> Quantity {
        Quantity {
            nanos: self.nanos.saturating_sub(other.nanos),
            format: self.format,
        }
    }
}

/// `mantissa * 10^exp`, rounding a fraction up, or `None` if it does not fit.
fn scaled(mantissa: i128, exp: i32) -> Option<i128> {
    if exp >= 0 {
        10i128.checked_pow(exp as u32)?.checked_mul(mantissa)
    } else {
        let div = 10i128.checked_pow(exp.unsigned_abs())?;
        Some((mantissa + div - 1) / div)
    }
}

/// The canonical form Go prints: the largest suffix that leaves a whole mantissa, in the
/// quantity's own format (`1536Mi`, `1500m`, `2k`); binary quantities that are small or not
/// whole print as decimal.
impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos == 0 {
            return f.write_str("0");
        }
        let sign = if self.nanos < 0 { "-" } else { "" };
        let abs = self.nanos.unsigned_abs();
        let whole = abs.is_multiple_of(NANO as u128);
        if self.format == Format::BinarySI && whole && abs >= 1024 * NANO as u128 {
            let units = abs / NANO as u128;
            let (suffix, bits) = BINARY_SUFFIXES
                .iter()
                .rev()
                .find(|(_, bits)| units.is_multiple_of(1u128 << bits))
                .expect("every number divides by 1");
            return write!(f, "{sign}{}{suffix}", units >> bits);
        }
        let (exp, mantissa) = (-3..=6)
            .rev()
            .map(|k: i32| (k * 3, 10u128.pow((k * 3 + 9) as u32)))
            .find(|(_, div)| abs.is_multiple_of(*div))
            .map(|(exp, div)| (exp, abs / div))
            .expect("billionths are whole");
        match self.format {
            Format::DecimalExponent if exp != 0 => write!(f, "{sign}{mantissa}e{exp}"),
            Format::DecimalExponent => write!(f, "{sign}{mantissa}"),
            _ => {
                let suffix = DECIMAL_SUFFIXES
                    .iter()
                    .find(|(_, e)| *e == exp)
                    .map_or("", |(s, _)| s);
                write!(f, "{sign}{mantissa}{suffix}")
            }
        }
    }
}

/// `v1.ResourceList`: quantities by resource name, in name order.
pub type ResourceList = BTreeMap<String, Quantity>;

/// The quantities of a JSON map (`resources.requests`, `spec.hard`); what does not parse is left
/// out, as validation has already refused it where it matters.
pub fn resource_list(v: &Value) -> ResourceList {
    v.as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, q)| Quantity::from_value(q).map(|q| (k.clone(), q)))
        .collect()
}

/// A resource list as JSON, each quantity in its canonical form.
pub fn resource_list_value(list: &ResourceList) -> Value {
    Value::Object(
        list.iter()
            .map(|(k, q)| (k.clone(), q.to_value()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn suffixes_are_numbers() {
        assert_eq!(q("500m"), q("0.5"));
        assert_eq!(q("1k"), q("1000"));
        assert_eq!(q("1Ki"), q("1024"));
        assert_eq!(q("1e3"), q("1k"));
        assert_eq!(q("1E3"), q("1000"));
        assert_eq!(q("5e-3"), q("5m"));
        assert_eq!(q("1Mi"), q("1024Ki"));
        assert_eq!(q("2Gi"), q("2147483648"));
        assert_eq!(q("1Ei"), q("1152921504606846976"));
        assert_eq!(q("1E"), q("1000P"));
        assert_eq!(q("100n"), q("0.1u"));
        assert_eq!(q("+3"), q("3"));
        assert!(q("-1").is_negative());
        assert!(q("1Gi") > q("900Mi"));
        assert!(q("100m") < q("1"));
        assert_eq!(q(".5"), q("500m"));
    }

    #[test]
    fn bad_quantities_are_refused_with_gos_errors() {
        for bad in ["", "abc", "1.2.3", "1 Gi", "Gi", "1Gb", "--1", "."] {
            assert!(Quantity::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Quantity::parse("1Q"), Err(FORMAT_ERROR));
        assert_eq!(
            Quantity::parse("1iK"),
            Err("unable to parse quantity's suffix")
        );
    }

    #[test]
    fn printed_in_canonical_form() {
        let cases = [
            ("0.1", "100m"),
            ("1000m", "1"),
            ("1500", "1500"),
            ("2000", "2k"),
            ("1.5k", "1500"),
            ("1024Mi", "1Gi"),
            ("1.5Gi", "1536Mi"),
            ("512", "512"),
            ("0.5Ki", "512"),
            ("1e3", "1e3"),
            ("1500e-3", "1500e-3"),
            ("0", "0"),
            ("0Gi", "0"),
            ("-100m", "-100m"),
            ("1n", "1n"),
            ("0.0000000001", "1n"),
        ];
        for (input, shown) in cases {
            assert_eq!(q(input).to_string(), shown, "{input}");
        }
    }

    #[test]
    fn sums_keep_a_format() {
        let sum = Quantity::ZERO + q("1Gi") + q("1Gi");
        assert_eq!(sum.to_string(), "2Gi");
        assert_eq!((q("250m") + q("250m")).to_string(), "500m");
        assert_eq!((q("1") - q("1")).to_string(), "0");
        assert_eq!(Quantity::from_value(&serde_json::json!(2)), Some(q("2")));
        let huge = q("1e29");
        assert!(huge + huge > huge);
    }
}
