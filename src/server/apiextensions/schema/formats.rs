//! String `format`s, checked as kube-openapi's `strfmt` registry checks them.
//!
//! kube validates the formats of `supportedVersionedFormats` and ignores any other. Of those,
//! this server checks `byte`, `date`, `date-time`, `uuid` (and `uuid3`/`4`/`5`), `ipv4`, `ipv6`,
//! `cidr`, `mac`, `bsonobjectid`, `hexcolor`, `password`, `k8s-short-name` and `k8s-long-name`.
//! It does not check `uri`, `email`, `hostname`, `isbn`, `isbn10`, `isbn13`, `creditcard`, `ssn`,
//! `rgbcolor`, `duration` and `quantity` (their Go parsers are large): values of those formats
//! are accepted as any string, which is the one place this server is more lenient than kube.
//! Numeric formats (`int32`, `int64`, `float`, `double`) are published in OpenAPI but, as in
//! kube, not range-checked: kube-openapi's type check accepts any integer for `int32`.

use std::net::IpAddr;

use base64::Engine;

/// Whether `s` is a valid `format`; `None` when the format is not checked.
pub fn validates(format: &str, s: &str) -> Option<bool> {
    // go-openapi's name normalization: `date-time` is `datetime`.
    let name = format.replace('-', "");
    Some(match name.as_str() {
        "byte" => base64::engine::general_purpose::STANDARD.decode(s).is_ok(),
        "date" => is_date(s),
        "datetime" => is_date_time(s),
        "uuid" => is_uuid(s, None),
        "uuid3" => is_uuid(s, Some(b'3')),
        "uuid4" => is_uuid(s, Some(b'4')),
        "uuid5" => is_uuid(s, Some(b'5')),
        "ipv4" => s.contains('.') && s.parse::<IpAddr>().is_ok(),
        "ipv6" => s.contains(':') && s.parse::<IpAddr>().is_ok(),
        "cidr" => is_cidr(s),
        "mac" => is_mac(s),
        "bsonobjectid" => s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit()),
        "hexcolor" => {
            let hex = s.strip_prefix('#').unwrap_or(s);
            (hex.len() == 3 || hex.len() == 6) && hex.bytes().all(|b| b.is_ascii_hexdigit())
        }
        "password" => true,
        "k8sshortname" => s.len() <= 63 && is_label(s),
        "k8slongname" => s.len() <= 253 && s.split('.').all(is_label),
        _ => return None,
    })
}

fn digits(s: &str, n: usize) -> Option<u32> {
    (s.len() == n && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// RFC 3339 `full-date`: `2006-01-02`, with a day that exists.
fn is_date(s: &str) -> bool {
    let mut parts = s.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Some(y), Some(m), Some(d)) = (digits(y, 4), digits(m, 2), digits(d, 2)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// RFC 3339 `date-time`: `2014-12-15T19:30:20.000Z`, `t` and `z` in either case.
fn is_date_time(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    let Some((date, time)) = lower.split_once('t') else {
        return false;
    };
    if !is_date(date) {
        return false;
    }
    let (clock, zone) = match time.find(['z', '+', '-']) {
        Some(i) => time.split_at(i),
        None => return false,
    };
    let (hms, fraction) = match clock.split_once('.') {
        Some((hms, f)) => (hms, Some(f)),
        None => (clock, None),
    };
    let mut hms = hms.split(':');
    let ok_clock = match (hms.next(), hms.next(), hms.next(), hms.next()) {
        (Some(h), Some(m), Some(sec), None) => {
            digits(h, 2).is_some_and(|h| h < 24)
                && digits(m, 2).is_some_and(|m| m < 60)
                && digits(sec, 2).is_some_and(|s| s < 61)
        }
        _ => false,
    };
    let ok_fraction =
        fraction.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
    let ok_zone = zone == "z"
        || (zone.len() == 6
            && zone[1..].split_once(':').is_some_and(|(h, m)| {
                digits(h, 2).is_some_and(|h| h < 24) && digits(m, 2).is_some_and(|m| m < 60)
            }));
    ok_clock && ok_fraction && ok_zone
}

/// `(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?V[0-9a-f]{3}-?[89ab]?...`: hyphens optional, as go-openapi.
fn is_uuid(s: &str, version: Option<u8>) -> bool {
    let groups = [8, 4, 4, 4, 12];
    let mut rest = s.as_bytes();
    for (i, n) in groups.iter().enumerate() {
        if i > 0 && rest.first() == Some(&b'-') {
            rest = &rest[1..];
        }
        if rest.len() < *n || !rest[..*n].iter().all(u8::is_ascii_hexdigit) {
            return false;
        }
        if let Some(v) = version {
            if i == 2 && rest[0] != v {
                return false;
            }
            if i == 3 && v != b'3' && !b"89abAB".contains(&rest[0]) {
                return false;
            }
        }
        rest = &rest[*n..];
    }
    rest.is_empty()
}

fn is_cidr(s: &str) -> bool {
    let Some((addr, bits)) = s.split_once('/') else {
        return false;
    };
    let Ok(ip) = addr.parse::<IpAddr>() else {
        return false;
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    !bits.is_empty()
        && bits.len() <= 3
        && bits.bytes().all(|b| b.is_ascii_digit())
        && bits.parse::<u32>().is_ok_and(|b| b <= max)
}

/// Go's `net.ParseMAC`: 6, 8 or 20 octets as `01:23:...`, `01-23-...` or `0123.4567...`.
fn is_mac(s: &str) -> bool {
    let hex = |g: &str, n| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit());
    let octets = |n: usize| n == 6 || n == 8 || n == 20;
    if s.contains('.') {
        let groups: Vec<&str> = s.split('.').collect();
        return octets(groups.len() * 2) && groups.iter().all(|g| hex(g, 4));
    }
    [':', '-'].iter().any(|sep| {
        let groups: Vec<&str> = s.split(*sep).collect();
        octets(groups.len()) && groups.iter().all(|g| hex(g, 2))
    })
}

/// Lower-case alphanumerics and dashes, not at either end.
fn is_label(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && !s.ends_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_kube_checks() {
        assert_eq!(validates("byte", "aGVsbG8="), Some(true));
        assert_eq!(validates("byte", "not base64!"), Some(false));
        assert_eq!(validates("date", "2024-02-29"), Some(true));
        assert_eq!(validates("date", "2023-02-29"), Some(false));
        assert_eq!(
            validates("date-time", "2014-12-15T19:30:20.000Z"),
            Some(true)
        );
        assert_eq!(
            validates("date-time", "2014-12-15t19:30:20+01:00"),
            Some(true)
        );
        assert_eq!(validates("datetime", "2014-12-15 19:30:20"), Some(false));
        assert_eq!(validates("date-time", "2014-12-15T25:30:20Z"), Some(false));
        assert_eq!(
            validates("uuid", "123E4567E89B12D3A456426614174000"),
            Some(true)
        );
        assert_eq!(
            validates("uuid4", "123e4567-e89b-42d3-a456-426614174000"),
            Some(true)
        );
        assert_eq!(
            validates("uuid4", "123e4567-e89b-12d3-a456-426614174000"),
            Some(false)
        );
        assert_eq!(validates("ipv4", "10.0.0.1"), Some(true));
        assert_eq!(validates("ipv4", "::1"), Some(false));
        assert_eq!(validates("ipv6", "fe80::1"), Some(true));
        assert_eq!(validates("cidr", "10.0.0.0/8"), Some(true));
        assert_eq!(validates("cidr", "10.0.0.0/33"), Some(false));
        assert_eq!(validates("mac", "01:23:45:67:89:ab"), Some(true));
        assert_eq!(validates("mac", "0123.4567.89ab"), Some(true));
        assert_eq!(validates("mac", "01:23:45"), Some(false));
        assert_eq!(validates("k8s-short-name", "my-app"), Some(true));
        assert_eq!(validates("k8s-short-name", "My-app"), Some(false));
        assert_eq!(validates("k8s-long-name", "a.b-c.d"), Some(true));
        assert_eq!(validates("hexcolor", "#ffF"), Some(true));
        assert_eq!(validates("email", "anything"), None);
        assert_eq!(validates("int32", "anything"), None);
    }
}
