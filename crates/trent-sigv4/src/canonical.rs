//! The canonical request and string to sign, per the SigV4 specification.
//!
//! Non-S3 flavour throughout: the path is normalized (dot segments removed, empty segments
//! dropped) and every segment is URI-encoded *again* on top of the encoding it already carries
//! on the wire, so a received `%3A` is signed as `%253A`.

use aws_lc_rs::digest;

use crate::parse::{ALGORITHM, TERMINATOR, header_values};
use crate::{HttpRequestParts, ParsedAuth};

/// Hex SHA-256, the hash form used everywhere in SigV4.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, data))
}

/// RFC 3986 unreserved characters: the only bytes SigV4 leaves unencoded.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// SigV4 URI encoding: everything but unreserved bytes becomes `%XX` with uppercase hex.
fn uri_encode_into(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if is_unreserved(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
}

/// Form-style percent decoding of one query component, as clients do before re-encoding it:
/// `+` is a space, `%XX` is a byte, and a malformed escape stays literal (it will then be
/// re-encoded as `%25..`, which is what the signer did too). The bytes are then read as UTF-8
/// with invalid sequences replaced by U+FFFD, because that is what the SDK signers (Rust's
/// `form_urlencoded`, Python's `parse_qsl`) do: `%80` is signed as `%EF%BF%BD`.
fn query_decode(s: &str) -> String {
    String::from_utf8_lossy(&percent_decode(s)).into_owned()
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = b.get(i + 1).and_then(|c| char::from(*c).to_digit(16));
                let lo = b.get(i + 2).and_then(|c| char::from(*c).to_digit(16));
                if let (Some(hi), Some(lo)) = (hi, lo) {
                    // both digits are < 16, so the byte fits
                    out.push(u8::try_from(hi * 16 + lo).unwrap_or(0));
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// Canonical URI of a raw (as received) path.
pub fn canonical_uri(raw_path: &str) -> String {
    // RFC 3986 dot-segment removal, plus dropping empty segments ("//a//" -> "/a/") as AWS's
    // reference signers do for non-S3 services.
    let mut segments: Vec<&str> = Vec::new();
    let raw_segments: Vec<&str> = raw_path.split('/').collect();
    for seg in &raw_segments {
        match *seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    // A path ending in "/", "/." or "/.." names a directory; keep its trailing slash.
    let trailing_slash = matches!(raw_segments.last(), Some(&("" | "." | "..")));

    let mut out = String::with_capacity(raw_path.len() + 8);
    for seg in &segments {
        out.push('/');
        uri_encode_into(&mut out, seg.as_bytes());
    }
    if segments.is_empty() || trailing_slash {
        out.push('/');
    }
    out
}

/// Canonical query string of a raw query (without `?`): each name and value decoded then
/// URI-encoded, pairs sorted by encoded name then encoded value.
pub fn canonical_query(raw_query: &str) -> String {
    let mut pairs: Vec<(String, String)> = raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let mut key = String::new();
            uri_encode_into(&mut key, query_decode(k).as_bytes());
            let mut value = String::new();
            uri_encode_into(&mut value, query_decode(v).as_bytes());
            (key, value)
        })
        .collect();
    pairs.sort();
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// Trims a header value and collapses inner runs of spaces to one space. Only the space
/// character counts: that is what AWS's signers do, and a tab inside a value is signed as is.
fn trim_all_into(out: &mut String, value: &str) {
    let mut previous_space = false;
    for c in value.trim_matches(' ').chars() {
        if c == ' ' {
            if !previous_space {
                out.push(' ');
            }
            previous_space = true;
        } else {
            out.push(c);
            previous_space = false;
        }
    }
}

/// The canonical headers block (each `name:value\n`) for the signed headers, in the order the
/// client listed them. Repeated headers are joined with `,` in the order received.
fn canonical_headers(headers: &[(String, String)], signed_headers: &[String]) -> String {
    let mut out = String::new();
    for name in signed_headers {
        out.push_str(name);
        out.push(':');
        for (i, value) in header_values(headers, name).enumerate() {
            if i > 0 {
                out.push(',');
            }
            trim_all_into(&mut out, value);
        }
        out.push('\n');
    }
    out
}

/// The full canonical request the client should have signed. Public so that a caller can log
/// it at debug level when a client reports a signature mismatch.
pub fn canonical_request(req: &HttpRequestParts, auth: &ParsedAuth) -> String {
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        canonical_uri(req.path),
        canonical_query(req.query),
        canonical_headers(req.headers, &auth.signed_headers),
        auth.signed_headers.join(";"),
        sha256_hex(req.body),
    )
}

/// The credential scope `date/region/service/aws4_request`.
pub(crate) fn credential_scope(auth: &ParsedAuth) -> String {
    format!(
        "{}/{}/{}/{TERMINATOR}",
        auth.date, auth.region, auth.service
    )
}

/// The string to sign for a canonical request.
pub fn string_to_sign(auth: &ParsedAuth, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{}\n{}\n{}",
        auth.amz_date,
        credential_scope(auth),
        sha256_hex(canonical_request.as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_normalization() {
        for (raw, want) in [
            ("", "/"),
            ("/", "/"),
            ("//", "/"),
            ("/./", "/"),
            ("/./example", "/example"),
            ("//example//", "/example/"),
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("/a/b/..", "/a/"),
            ("/a/./b", "/a/b"),
            ("/../../a", "/a"),
            ("relative/path", "/relative/path"),
        ] {
            assert_eq!(canonical_uri(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn uri_segments_are_encoded_again() {
        // A wire-encoded colon is encoded a second time (non-S3 rule).
        assert_eq!(canonical_uri("/a%3Ab"), "/a%253Ab");
        assert_eq!(canonical_uri("/example space/"), "/example%20space/");
        assert_eq!(canonical_uri("/ሴ"), "/%E1%88%B4");
        assert_eq!(canonical_uri("/-._~AZaz09"), "/-._~AZaz09");
        assert_eq!(canonical_uri("/a+b=c@d"), "/a%2Bb%3Dc%40d");
    }

    #[test]
    fn query_canonicalization() {
        assert_eq!(canonical_query(""), "");
        assert_eq!(canonical_query("b=2&a=1"), "a=1&b=2");
        assert_eq!(canonical_query("a=2&a=1"), "a=1&a=2");
        assert_eq!(
            canonical_query("Param2=value2&Param1=value1"),
            "Param1=value1&Param2=value2"
        );
        // names sort by their *encoded* form, case-sensitively
        assert_eq!(
            canonical_query("b=1&B=2&%E1%88%B4=3"),
            "%E1%88%B4=3&B=2&b=1"
        );
        assert_eq!(canonical_query("flag"), "flag=");
        assert_eq!(canonical_query("a=&&b"), "a=&b=");
        assert_eq!(canonical_query("a=x+y%2Bz"), "a=x%20y%2Bz");
        assert_eq!(canonical_query("a=%zz%4"), "a=%25zz%254");
        assert_eq!(canonical_query("k=a/b:c"), "k=a%2Fb%3Ac");
        // invalid UTF-8 is replaced, as the SDK signers do
        assert_eq!(
            canonical_query("%80=%E1%88%B4%FF"),
            "%EF%BF%BD=%E1%88%B4%EF%BF%BD"
        );
    }

    #[test]
    fn header_value_trimming() {
        let mut s = String::new();
        trim_all_into(&mut s, "  \"a   b   c\"  ");
        assert_eq!(s, "\"a b c\"");
        let mut s = String::new();
        trim_all_into(&mut s, "a\t\tb");
        assert_eq!(s, "a\t\tb");
    }
}
