//! Typed condition values: decimals, dates, CIDR blocks, base64 blobs. Policy-side values are
//! parsed once at policy parse time; request-side values are parsed per evaluation without
//! allocating.

use std::cmp::Ordering;
use std::net::IpAddr;

use base64::Engine;
use time::format_description::well_known::Iso8601;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

/// An exact decimal number: integer and fraction digits kept as text so that large integers
/// and long fractions compare exactly (no float rounding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decimal<'a> {
    neg: bool,
    /// No leading zeros.
    int: &'a str,
    /// No trailing zeros.
    frac: &'a str,
}

impl<'a> Decimal<'a> {
    pub(crate) fn parse(s: &'a str) -> Option<Self> {
        let (neg, body) = match s.as_bytes().first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        if int.is_empty() && frac.is_empty()
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let int = int.trim_start_matches('0');
        let frac = frac.trim_end_matches('0');
        // Negative zero is zero.
        let neg = neg && !(int.is_empty() && frac.is_empty());
        Some(Decimal { neg, int, frac })
    }

    fn cmp_magnitude(&self, other: &Self) -> Ordering {
        self.int
            .len()
            .cmp(&other.int.len())
            .then_with(|| self.int.cmp(other.int))
            // Trailing zeros are trimmed, so plain lexicographic order on the fraction is exact.
            .then_with(|| self.frac.cmp(other.frac))
    }

    /// Seconds as nanoseconds, for epoch-time dates. `None` if out of range.
    fn to_nanos(self) -> Option<i128> {
        if self.int.len() > 20 {
            return None;
        }
        let secs: i128 = if self.int.is_empty() {
            0
        } else {
            self.int.parse().ok()?
        };
        let mut nanos: i128 = 0;
        for (i, d) in self.frac.bytes().take(9).enumerate() {
            nanos += i128::from(d - b'0') * 10i128.pow(8 - i as u32);
        }
        let total = secs * 1_000_000_000 + nanos;
        Some(if self.neg { -total } else { total })
    }
}

/// An owned decimal for policy-side values, parsed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecimalBuf {
    neg: bool,
    int: String,
    frac: String,
}

impl DecimalBuf {
    pub(crate) fn parse(s: &str) -> Option<Self> {
        let d = Decimal::parse(s)?;
        Some(DecimalBuf {
            neg: d.neg,
            int: d.int.to_owned(),
            frac: d.frac.to_owned(),
        })
    }

    pub(crate) fn get(&self) -> Decimal<'_> {
        Decimal {
            neg: self.neg,
            int: &self.int,
            frac: &self.frac,
        }
    }
}

impl Ord for Decimal<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.neg, other.neg) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_magnitude(other),
            (true, true) => other.cmp_magnitude(self),
        }
    }
}

impl PartialOrd for Decimal<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A point in time as nanoseconds since the Unix epoch. Accepts epoch seconds (integer or
/// decimal) and W3C/ISO-8601 forms: full date-times with offset, date-times without offset
/// (taken as UTC) and bare dates (midnight UTC).
pub(crate) fn parse_date(s: &str) -> Option<i128> {
    if let Some(d) = Decimal::parse(s) {
        return d.to_nanos();
    }
    if let Ok(t) = OffsetDateTime::parse(s, &Iso8601::DEFAULT) {
        return Some(t.unix_timestamp_nanos());
    }
    if let Ok(t) = PrimitiveDateTime::parse(s, &Iso8601::DEFAULT) {
        return Some(t.assume_utc().unix_timestamp_nanos());
    }
    if let Ok(d) = Date::parse(s, &Iso8601::DEFAULT) {
        return Some(d.midnight().assume_utc().unix_timestamp_nanos());
    }
    None
}

/// An IPv4 or IPv6 network. A bare address is a /32 or /128.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cidr {
    V4 { net: u32, prefix: u8 },
    V6 { net: u128, prefix: u8 },
}

impl Cidr {
    pub(crate) fn parse(s: &str) -> Option<Self> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.trim().parse().ok()?;
        let prefix = match prefix {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                Some(p.parse::<u8>().ok()?)
            }
            Some(_) => return None,
            None => None,
        };
        Some(match addr {
            IpAddr::V4(a) => {
                let prefix = prefix.unwrap_or(32);
                if prefix > 32 {
                    return None;
                }
                Cidr::V4 {
                    net: u32::from(a) & mask32(prefix),
                    prefix,
                }
            }
            IpAddr::V6(a) => {
                let prefix = prefix.unwrap_or(128);
                if prefix > 128 {
                    return None;
                }
                Cidr::V6 {
                    net: u128::from(a) & mask128(prefix),
                    prefix,
                }
            }
        })
    }

    /// Does the request address fall inside this network? IPv4-mapped IPv6 addresses count as
    /// their IPv4 form.
    pub(crate) fn contains(&self, addr: IpAddr) -> bool {
        let addr = match addr {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
            v4 => v4,
        };
        match (self, addr) {
            (Cidr::V4 { net, prefix }, IpAddr::V4(a)) => u32::from(a) & mask32(*prefix) == *net,
            (Cidr::V6 { net, prefix }, IpAddr::V6(a)) => u128::from(a) & mask128(*prefix) == *net,
            _ => false,
        }
    }
}

/// Parse the request's address; tolerate a `/n` suffix by ignoring it.
pub(crate) fn parse_request_ip(s: &str) -> Option<IpAddr> {
    s.split_once('/').map_or(s, |(a, _)| a).trim().parse().ok()
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

pub(crate) fn decode_base64(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal<'_> {
        Decimal::parse(s).unwrap()
    }

    #[test]
    fn decimal_order_is_exact() {
        assert!(d("10") > d("9"));
        assert!(d("10.5") > d("10.49999999999999999999"));
        assert_eq!(d("007.50"), d("7.5"));
        assert_eq!(d("-0"), d("0"));
        assert_eq!(d("-0.0").cmp(&d("+0")), Ordering::Equal);
        assert!(d("-2") < d("-1.5"));
        assert!(d("18446744073709551617") > d("18446744073709551616"));
        assert!(d(".5") < d("1"));
        for bad in ["", "-", ".", "1e3", "1.2.3", "abc", " 1", "0x10"] {
            assert!(Decimal::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn dates_in_all_forms() {
        let t = parse_date("2019-07-16T12:00:00Z").unwrap();
        assert_eq!(t, 1_563_278_400 * 1_000_000_000);
        assert_eq!(parse_date("1563278400"), Some(t));
        assert_eq!(parse_date("1563278400.0"), Some(t));
        assert_eq!(parse_date("2019-07-16T14:00:00+02:00"), Some(t));
        assert_eq!(parse_date("2019-07-16T12:00:00"), Some(t));
        assert_eq!(
            parse_date("2019-07-16"),
            Some(t - 12 * 3600 * 1_000_000_000)
        );
        assert_eq!(parse_date("1563278400.5"), Some(t + 500_000_000));
        assert!(parse_date("2019-07-16T12:00:00.250Z").unwrap() > t);
        for bad in ["yesterday", "2019-13-01", "", "99999999999999999999999"] {
            assert!(parse_date(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn cidr_membership() {
        let ip = |s: &str| parse_request_ip(s).unwrap();
        let net = Cidr::parse("203.0.113.0/24").unwrap();
        assert!(net.contains(ip("203.0.113.77")));
        assert!(!net.contains(ip("203.0.114.1")));
        assert!(net.contains(ip("::ffff:203.0.113.9")));
        let host = Cidr::parse("192.0.2.1").unwrap();
        assert!(host.contains(ip("192.0.2.1")));
        assert!(!host.contains(ip("192.0.2.2")));
        let all = Cidr::parse("0.0.0.0/0").unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        assert!(!all.contains(ip("2001:db8::1")));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:1::5")));
        assert!(!v6.contains(ip("2001:db9::5")));
        assert!(
            Cidr::parse("2001:db8::1")
                .unwrap()
                .contains(ip("2001:db8::1"))
        );
        assert!(
            Cidr::parse("10.0.0.1/8")
                .unwrap()
                .contains(ip("10.200.0.1"))
        );
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "x",
            "10.0.0.0/",
            "10.0.0.0/-1",
        ] {
            assert!(Cidr::parse(bad).is_none(), "{bad}");
        }
    }
}
