//! Phase one: read the `Authorization` header and the request date, and run every check that
//! needs neither the secret nor the clock.
//!
//! The order of checks follows what AWS does, so a request with several faults gets the error
//! AWS would give: key=value syntax, missing parameters and date, date format, `host` signed,
//! algorithm, credential shape, credential scope. (AWS checks the clock before the algorithm;
//! we cannot, because the clock is only given to [`crate::verify`], which runs after the
//! caller's key lookup.)

use crate::timestamp;
use crate::{HttpRequestParts, SigV4Error};

pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";
pub(crate) const TERMINATOR: &str = "aws4_request";

/// Everything read from the `Authorization` header and its companions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAuth {
    pub access_key_id: String,
    /// `YYYYMMDD` from the credential scope.
    pub date: String,
    pub region: String,
    pub service: String,
    /// Lowercased, in the order the client listed them (that order is part of what it signed).
    pub signed_headers: Vec<String>,
    /// Hex, as sent.
    pub signature: String,
    /// The request timestamp in ISO 8601 basic form (`YYYYMMDDTHHMMSSZ`), from `X-Amz-Date`,
    /// else from `Date` (converted if it was IMF-fixdate).
    pub amz_date: String,
    /// `X-Amz-Security-Token`, passed through for the caller to validate (session credentials).
    pub security_token: Option<String>,
}

impl ParsedAuth {
    /// Checks region and service of the credential scope against what this endpoint serves
    /// (`None` accepts anything). Produces AWS's messages, joined as AWS joins them.
    pub fn check_scope(
        &self,
        region: Option<&str>,
        service: Option<&str>,
    ) -> Result<(), SigV4Error> {
        let mut problems = Vec::new();
        if let Some(region) = region
            && self.region != region
        {
            problems.push(invalid_region(&self.region));
        }
        if let Some(service) = service
            && self.service != service
        {
            problems.push(format!(
                "Credential should be scoped to correct service: '{service}'."
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SigV4Error::InvalidCredentialScope(problems.join(" ")))
        }
    }
}

/// Values of every header called `name` (ASCII case-insensitive), in the order received.
pub(crate) fn header_values<'a>(
    headers: &'a [(String, String)],
    name: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

pub(crate) fn first_header<'a>(headers: &'a [(String, String)], name: &'a str) -> Option<&'a str> {
    header_values(headers, name).next()
}

/// The raw request-date header value, preferring `X-Amz-Date` as AWS does.
fn raw_request_date(headers: &[(String, String)]) -> Option<&str> {
    first_header(headers, "x-amz-date").or_else(|| first_header(headers, "date"))
}

/// Reads and structurally validates the SigV4 `Authorization` header of `req`.
pub fn parse_authorization<'a>(req: &HttpRequestParts<'a>) -> Result<ParsedAuth, SigV4Error> {
    let raw =
        first_header(req.headers, "authorization").ok_or(SigV4Error::MissingAuthentication)?;
    let auth = raw.trim();
    // Anything that is not an AWS4 scheme (Basic, Bearer, SigV2 "AWS ...") is, to AWS, simply
    // an unauthenticated request.
    if !auth.starts_with("AWS4-") {
        return Err(SigV4Error::MissingAuthentication);
    }
    let (algorithm, rest) = match auth.split_once(|c: char| c.is_ascii_whitespace()) {
        Some((alg, rest)) => (alg, rest),
        None => (auth, ""),
    };

    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((key, value)) = part.split_once('=') else {
            return Err(SigV4Error::IncompleteSignature(format!(
                "'{part}' not a valid key=value pair (missing equal-sign) in Authorization header: '{raw}'."
            )));
        };
        // First occurrence wins; a client has no reason to repeat a parameter.
        let slot = match key.trim() {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(value.trim());
        }
    }
    let present = |v: Option<&'a str>| v.filter(|s| !s.is_empty());
    let (credential, signed_headers, signature) = (
        present(credential),
        present(signed_headers),
        present(signature),
    );
    let raw_date = raw_request_date(req.headers);

    let mut missing = String::new();
    for (name, value) in [
        ("Credential", credential),
        ("Signature", signature),
        ("SignedHeaders", signed_headers),
    ] {
        if value.is_none() {
            missing.push_str(&format!(
                "Authorization header requires '{name}' parameter. "
            ));
        }
    }
    if raw_date.is_none() {
        missing.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
        );
    }
    let (Some(credential), Some(signed_headers), Some(signature), Some(raw_date)) =
        (credential, signed_headers, signature, raw_date)
    else {
        return Err(SigV4Error::IncompleteSignature(format!(
            "{missing}Authorization={raw}"
        )));
    };

    let amz_date = timestamp::normalize_request_date(raw_date.trim())
        .ok_or_else(|| SigV4Error::MalformedDate(raw_date.to_owned()))?;

    let signed_headers: Vec<String> = signed_headers
        .split(';')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    check_host_signed(&signed_headers)?;

    if algorithm != ALGORITHM {
        return Err(SigV4Error::UnsupportedAlgorithm(algorithm.to_owned()));
    }

    // AWS ignores trailing slashes here ("AKID/date/region/service/aws4_request/" is accepted).
    let parts: Vec<&str> = credential.trim_end_matches('/').split('/').collect();
    let [access_key_id, date, region, service, terminator] = parts[..] else {
        return Err(SigV4Error::IncompleteSignature(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'"
        )));
    };

    let parsed = ParsedAuth {
        access_key_id: access_key_id.to_owned(),
        date: date.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
        signed_headers,
        signature: signature.to_owned(),
        amz_date,
        security_token: first_header(req.headers, "x-amz-security-token")
            .map(|t| t.trim().to_owned()),
    };
    check_terminator_and_date(&parsed, terminator)?;
    Ok(parsed)
}

pub(crate) fn check_host_signed(signed_headers: &[String]) -> Result<(), SigV4Error> {
    if signed_headers
        .iter()
        .any(|h| h.eq_ignore_ascii_case("host"))
    {
        Ok(())
    } else {
        Err(SigV4Error::HostNotSigned)
    }
}

/// The scope's terminator must be `aws4_request` and its date the request's date. When both are
/// wrong AWS reports them in one message, so we do too.
fn check_terminator_and_date(auth: &ParsedAuth, terminator: &str) -> Result<(), SigV4Error> {
    let terminator_problem = (terminator != TERMINATOR).then(|| {
        format!("Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{terminator}'.")
    });
    match (terminator_problem, check_scope_date(auth)) {
        (None, date) => date,
        (Some(t), Ok(())) => Err(SigV4Error::InvalidCredentialScope(t)),
        (Some(t), Err(date)) => Err(SigV4Error::InvalidCredentialScope(format!("{t} {date}"))),
    }
}

fn invalid_region(region: &str) -> String {
    format!("Credential should be scoped to a valid region, not '{region}'.")
}

impl ParsedAuth {
    /// Refuses a credential scope whose region does not have the shape of an AWS region name
    /// (`us-east-1`, `us-gov-west-1`, `cn-northwest-1`, `eusc-de-east-1`, …): an empty or
    /// made-up region would otherwise end up in ARNs.
    pub fn check_region_shape(&self) -> Result<(), SigV4Error> {
        if is_region_name(&self.region) {
            Ok(())
        } else {
            Err(SigV4Error::InvalidCredentialScope(invalid_region(
                &self.region,
            )))
        }
    }
}

/// Whether `region` has the shape of an AWS region name: a partition prefix of 2-4 letters,
/// one or more words, and a number (`xx-word(-word)*-N`). Also what the seed file's regions
/// are checked with, so that a seeded key is in a region requests can name.
pub fn is_region_name(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let letters = |p: &str, min: usize, max: usize| {
        (min..=max).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_lowercase())
    };
    region.len() <= 32
        && parts.len() >= 3
        && letters(parts[0], 2, 4)
        && parts[1..parts.len() - 1].iter().all(|p| letters(p, 2, 16))
        && parts
            .last()
            .is_some_and(|n| (1..=2).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod region_tests {
    #[test]
    fn aws_region_names_pass_and_others_do_not() {
        for ok in [
            "us-east-1",
            "eu-west-1",
            "us-gov-west-1",
            "cn-northwest-1",
            "ap-southeast-5",
            "il-central-1",
            "us-isob-east-1",
            "eusc-de-east-1",
        ] {
            assert!(super::is_region_name(ok), "{ok}");
        }
        for bad in [
            "",
            "us",
            "us-east",
            "US-EAST-1",
            "us-east-1a",
            "us_east_1",
            "us--1",
            "a-east-1",
            &"x".repeat(200),
        ] {
            assert!(!super::is_region_name(bad), "{bad}");
        }
    }
}

pub(crate) fn check_scope_date(auth: &ParsedAuth) -> Result<(), SigV4Error> {
    let request_date = auth.amz_date.get(..8).unwrap_or(&auth.amz_date);
    if auth.date == request_date {
        Ok(())
    } else {
        Err(SigV4Error::ScopeDateMismatch {
            scope_date: auth.date.clone(),
            request_date: request_date.to_owned(),
            amz_date: auth.amz_date.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parts(headers: &[(String, String)]) -> HttpRequestParts<'_> {
        HttpRequestParts {
            method: "POST",
            path: "/",
            query: "",
            headers,
            body: b"",
        }
    }

    fn with_auth(auth: &str) -> Vec<(String, String)> {
        vec![
            ("authorization".into(), auth.into()),
            ("x-amz-date".into(), "20150830T123600Z".into()),
        ]
    }

    #[test]
    fn spacing_variants_clients_send_are_accepted() {
        for auth in [
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd",
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/kms/aws4_request,SignedHeaders=host;x-amz-date,Signature=abcd",
            "  AWS4-HMAC-SHA256   Credential = AKID/20150830/us-east-1/kms/aws4_request ,  SignedHeaders=host;x-amz-date,,Signature=abcd  ",
            "AWS4-HMAC-SHA256 Signature=abcd, SignedHeaders=Host;X-Amz-Date, Credential=AKID/20150830/us-east-1/kms/aws4_request",
        ] {
            let parsed = parse_authorization(&parts(&with_auth(auth))).unwrap();
            assert_eq!(parsed.access_key_id, "AKID", "{auth}");
            assert_eq!(parsed.signed_headers, ["host", "x-amz-date"], "{auth}");
            assert_eq!(parsed.signature, "abcd", "{auth}");
        }
    }

    #[test]
    fn first_authorization_header_and_first_parameter_win() {
        let mut headers = with_auth(
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=aa, Signature=bb",
        );
        headers.push(("Authorization".into(), "Bearer x".into()));
        let parsed = parse_authorization(&parts(&headers)).unwrap();
        assert_eq!(parsed.signature, "aa");
    }

    proptest! {
        /// Hostile headers never panic the parser (it runs before any authentication).
        #[test]
        fn parser_never_panics(auth in "\\PC{0,120}", date in "\\PC{0,24}", prefix in prop::bool::ANY) {
            let auth = if prefix { format!("AWS4-HMAC-SHA256 {auth}") } else { auth };
            let headers = vec![("authorization".to_owned(), auth), ("x-amz-date".to_owned(), date)];
            let _ = parse_authorization(&parts(&headers));
        }
    }
}
