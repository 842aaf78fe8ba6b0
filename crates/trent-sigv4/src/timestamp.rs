//! Request timestamps: reading `X-Amz-Date` / `Date`, and the clock-skew rule.

use std::time::{SystemTime, UNIX_EPOCH};

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::SigV4Error;

/// How far the request time may be from the server clock, either way. AWS documents 15 minutes
/// and its messages ("... (now - 15 min.)") show the bound is inclusive: a request exactly
/// 15 minutes old is still accepted, one second more is not.
pub const MAX_CLOCK_SKEW_SECS: i64 = 15 * 60;

/// RFC 7231 IMF-fixdate, the only `Date` header form current clients send.
const IMF_FIXDATE: &[BorrowedFormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

/// Parses the ISO 8601 basic form `YYYYMMDDTHHMMSSZ` into seconds since the Unix epoch.
///
/// Hand-parsed because the form is fixed-width and we want to reject anything else (offsets,
/// fractional seconds, lowercase separators) exactly as AWS does.
pub fn parse_basic(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = b.get(range)?;
        digits.iter().try_fold(0u32, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
        })
    };
    let year = i32::try_from(num(0..4)?).ok()?;
    let month = Month::try_from(u8::try_from(num(4..6)?).ok()?).ok()?;
    let day = u8::try_from(num(6..8)?).ok()?;
    let hour = u8::try_from(num(9..11)?).ok()?;
    let minute = u8::try_from(num(11..13)?).ok()?;
    let second = u8::try_from(num(13..15)?).ok()?;
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let time = Time::from_hms(hour, minute, second).ok()?;
    Some(
        PrimitiveDateTime::new(date, time)
            .assume_utc()
            .unix_timestamp(),
    )
}

/// Reads a request timestamp from a header value: the basic form, or (for the `Date` header)
/// IMF-fixdate. Returns it re-rendered in basic form, which is what goes into the string to sign.
pub fn normalize_request_date(value: &str) -> Option<String> {
    if parse_basic(value).is_some() {
        return Some(value.to_owned());
    }
    let t = PrimitiveDateTime::parse(value, IMF_FIXDATE).ok()?;
    Some(format_basic(t.assume_utc().unix_timestamp()))
}

/// Renders seconds since the epoch as `YYYYMMDDTHHMMSSZ`.
pub fn format_basic(unix: i64) -> String {
    match OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        // Only reachable for absurd clocks; the text is for a human reading an error message.
        Err(_) => unix.to_string(),
    }
}

/// Whole seconds since the epoch. Sub-second precision is dropped (floor) because request
/// timestamps carry whole seconds and AWS's messages compare whole seconds.
fn unix_seconds(now: SystemTime) -> i64 {
    match now.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let before = e.duration();
            let secs = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
            // floor, not truncation toward zero
            if before.subsec_nanos() > 0 {
                -secs - 1
            } else {
                -secs
            }
        }
    }
}

/// Applies the ±15 minute rule to a request timestamp already in basic form.
pub fn check_skew(amz_date: &str, now: SystemTime) -> Result<(), SigV4Error> {
    let request =
        parse_basic(amz_date).ok_or_else(|| SigV4Error::MalformedDate(amz_date.to_owned()))?;
    let now = unix_seconds(now);
    let earliest = now.saturating_sub(MAX_CLOCK_SKEW_SECS);
    let latest = now.saturating_add(MAX_CLOCK_SKEW_SECS);
    if request < earliest {
        return Err(SigV4Error::Expired {
            request_time: amz_date.to_owned(),
            earliest: format_basic(earliest),
            now: format_basic(now),
        });
    }
    if request > latest {
        return Err(SigV4Error::NotYetCurrent {
            request_time: amz_date.to_owned(),
            latest: format_basic(latest),
            now: format_basic(now),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn basic_form_round_trips() {
        let t = parse_basic("20150830T123600Z").unwrap();
        assert_eq!(t, 1_440_938_160);
        assert_eq!(format_basic(t), "20150830T123600Z");
    }

    #[test]
    fn basic_form_rejects_near_misses() {
        for bad in [
            "",
            "20150830T123600",
            "20150830t123600Z",
            "2015-08-30T12:36:00Z",
            "20151330T123600Z",
            "20150230T123600Z",
            "20150830T246000Z",
            "20150830T12360AZ",
            "+0150830T123600Z",
            "20150830T123600Z ",
        ] {
            assert_eq!(parse_basic(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn date_header_imf_fixdate_is_converted() {
        assert_eq!(
            normalize_request_date("Sun, 30 Aug 2015 12:36:00 GMT").as_deref(),
            Some("20150830T123600Z")
        );
        assert_eq!(
            normalize_request_date("Sun, 30 Aug 2015 12:36:00 PST"),
            None
        );
    }

    #[test]
    fn pre_epoch_clock_floors() {
        let t = UNIX_EPOCH - Duration::from_millis(500);
        assert_eq!(unix_seconds(t), -1);
        assert_eq!(unix_seconds(UNIX_EPOCH + Duration::from_millis(1500)), 1);
    }
}
