//! Extraction of SigV4 parameters from the Authorization header or a presigned query.

use jetgate_protocol::error::S3Error;
use jetgate_protocol::messages::SignedRequest;
use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::canonical::query_pairs;
use super::{
    AuthKind, ParsedAuth, ALGORITHM, MAX_PRESIGNED_EXPIRES, STREAMING_PAYLOAD,
    STREAMING_PAYLOAD_TRAILER, STREAMING_UNSIGNED_TRAILER, UNSIGNED_PAYLOAD,
};

const AMZ_DATE: &[FormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");

/// Parses `20130524T000000Z`; anything else (including trailing bytes) is `None`.
pub(crate) fn parse_amz_date(s: &str) -> Option<OffsetDateTime> {
    if s.len() != 16 {
        return None;
    }
    PrimitiveDateTime::parse(s, AMZ_DATE)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

fn format_amz_date(t: OffsetDateTime) -> Option<String> {
    t.format(AMZ_DATE).ok()
}

fn header_malformed(detail: &str) -> S3Error {
    S3Error::authorization_header_malformed(format!(
        "The authorization header is malformed; {detail}"
    ))
}

fn use_sigv4() -> S3Error {
    S3Error::invalid_request(
        "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
    )
}

/// Extracts SigV4 from the Authorization header or from presigned query parameters.
///
/// Does not check region, clock or signature: that is [`super::verify`], which needs
/// the configuration and the secret.
pub fn parse(req: &SignedRequest) -> Result<ParsedAuth, S3Error> {
    let params = query_pairs(&req.query);
    let has_param = |name: &str| params.iter().any(|(k, _)| k == name);
    match (req.header("authorization"), has_param("X-Amz-Algorithm")) {
        (Some(_), true) => Err(S3Error::invalid_argument(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
        )),
        (Some(header), false) => parse_header(req, header),
        (None, true) => parse_presigned(req, &params),
        (None, false) if has_param("AWSAccessKeyId") && has_param("Signature") => {
            Err(use_sigv4())
        }
        (None, false) => Err(S3Error::access_denied_with(
            "Access Denied: anonymous requests are not allowed",
        )),
    }
}

/// Access key, date, region, service from `AK/yyyymmdd/region/service/aws4_request`.
pub(crate) struct Credential {
    pub(crate) access_key: String,
    pub(crate) date: String,
    pub(crate) region: String,
    pub(crate) service: String,
}

pub(crate) fn parse_credential(value: &str) -> Option<Credential> {
    let parts: Vec<&str> = value.split('/').collect();
    match parts.as_slice() {
        [ak, date, region, service, "aws4_request"]
            if !ak.is_empty()
                && date.len() == 8
                && date.bytes().all(|b| b.is_ascii_digit())
                && !region.is_empty()
                && !service.is_empty() =>
        {
            Some(Credential {
                access_key: (*ak).to_string(),
                date: (*date).to_string(),
                region: (*region).to_string(),
                service: (*service).to_string(),
            })
        }
        _ => None,
    }
}

/// `a;b;c` → `["a","b","c"]`; `None` if empty, a name is empty, or `host` is absent
/// (SigV4 requires the host to be signed so a request cannot be replayed elsewhere).
fn parse_signed_headers(value: &str) -> Option<Vec<String>> {
    let names: Vec<String> = value.split(';').map(str::to_ascii_lowercase).collect();
    if names.iter().any(String::is_empty) || !names.iter().any(|n| n == "host") {
        return None;
    }
    Some(names)
}

/// A valid `x-amz-content-sha256`: 64 hex digits or one of the S3 constants.
fn valid_payload_hash(value: &str) -> bool {
    (value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
        || [
            UNSIGNED_PAYLOAD,
            STREAMING_PAYLOAD,
            STREAMING_PAYLOAD_TRAILER,
            STREAMING_UNSIGNED_TRAILER,
        ]
        .contains(&value)
}

fn invalid_payload_hash() -> S3Error {
    S3Error::invalid_argument(
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.",
    )
}

fn parse_header(req: &SignedRequest, header: &str) -> Result<ParsedAuth, S3Error> {
    let header = header.trim();
    let Some(rest) = header.strip_prefix(ALGORITHM) else {
        // SigV2 (`AWS AK:sig`) is recognisable; anything else is an unknown scheme.
        if header.starts_with("AWS ") {
            return Err(use_sigv4());
        }
        return Err(S3Error::invalid_argument("Unsupported Authorization Type"));
    };
    // The algorithm must be followed by whitespace, not e.g. `AWS4-HMAC-SHA256X`.
    if !rest.starts_with([' ', '\t']) {
        return Err(header_malformed(
            "the authorization scheme must be followed by a space",
        ));
    }

    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    // Components are comma-separated, with or without spaces after the commas.
    for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, value)) = part.split_once('=') else {
            return Err(header_malformed(&format!("invalid component '{part}'")));
        };
        let slot = match key.trim() {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            other => return Err(header_malformed(&format!("unknown component '{other}'"))),
        };
        if slot.replace(value.trim()).is_some() {
            return Err(header_malformed(&format!("duplicate component '{key}'")));
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        return Err(header_malformed(
            "it must contain Credential, SignedHeaders and Signature",
        ));
    };
    let cred = parse_credential(credential).ok_or_else(|| {
        header_malformed(
            "the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".",
        )
    })?;
    let signed_headers = parse_signed_headers(signed_headers).ok_or_else(|| {
        header_malformed("SignedHeaders must be a non-empty list including 'host'")
    })?;
    if signature.is_empty() {
        return Err(header_malformed("the Signature is empty"));
    }

    let timestamp = header_timestamp(req)?;
    if !timestamp.starts_with(&cred.date) {
        return Err(header_malformed(
            "Invalid credential date. Date is not the same as X-Amz-Date.",
        ));
    }

    // S3 requires the payload hash header with header auth; it is signed implicitly as
    // the last line of the canonical request.
    let payload_hash = req.header("x-amz-content-sha256").ok_or_else(|| {
        S3Error::invalid_request("Missing required header for this request: x-amz-content-sha256")
    })?;
    if !valid_payload_hash(payload_hash) {
        return Err(invalid_payload_hash());
    }

    Ok(ParsedAuth {
        access_key: cred.access_key,
        date: cred.date,
        region: cred.region,
        service: cred.service,
        timestamp,
        signed_headers,
        signature: signature.to_string(),
        kind: AuthKind::Header,
        payload_hash: payload_hash.to_string(),
    })
}

/// `x-amz-date`, or the `Date` header (RFC 1123) converted to ISO 8601 basic form.
fn header_timestamp(req: &SignedRequest) -> Result<String, S3Error> {
    let missing = || {
        S3Error::access_denied_with("AWS authentication requires a valid Date or x-amz-date header")
    };
    if let Some(amz) = req.header("x-amz-date") {
        let amz = amz.trim();
        return match parse_amz_date(amz) {
            Some(_) => Ok(amz.to_string()),
            None => Err(missing()),
        };
    }
    let date = req.header("date").ok_or_else(missing)?;
    let parsed = httpdate::parse_http_date(date.trim()).map_err(|_| missing())?;
    format_amz_date(OffsetDateTime::from(parsed)).ok_or_else(missing)
}

fn parse_presigned(
    req: &SignedRequest,
    params: &[(String, String)],
) -> Result<ParsedAuth, S3Error> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let (
        Some(algorithm),
        Some(credential),
        Some(date),
        Some(expires),
        Some(signed_headers),
        Some(signature),
    ) = (
        get("X-Amz-Algorithm"),
        get("X-Amz-Credential"),
        get("X-Amz-Date"),
        get("X-Amz-Expires"),
        get("X-Amz-SignedHeaders"),
        get("X-Amz-Signature"),
    )
    else {
        return Err(S3Error::authorization_query_parameters_error(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
        ));
    };
    if algorithm != ALGORITHM {
        return Err(S3Error::authorization_query_parameters_error(
            "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"",
        ));
    }
    let cred = parse_credential(credential).ok_or_else(|| {
        S3Error::authorization_query_parameters_error(
            "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".",
        )
    })?;
    if parse_amz_date(date).is_none() {
        return Err(S3Error::authorization_query_parameters_error(
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
        ));
    }
    if !date.starts_with(&cred.date) {
        return Err(S3Error::authorization_query_parameters_error(
            "Invalid credential date. Date is not the same as X-Amz-Date.",
        ));
    }
    let expires_secs = parse_expires(expires)?;
    let signed_headers = parse_signed_headers(signed_headers).ok_or_else(|| {
        S3Error::authorization_query_parameters_error(
            "X-Amz-SignedHeaders must be a non-empty list including 'host'",
        )
    })?;
    if signature.is_empty() {
        return Err(S3Error::authorization_query_parameters_error(
            "X-Amz-Signature is empty",
        ));
    }

    // Presigned URLs normally leave the body unsigned. A client may still sign a hash,
    // either as a query parameter or as a header it listed in X-Amz-SignedHeaders; an
    // unsigned header of that name does not change what was signed.
    let payload_hash = match get("X-Amz-Content-Sha256") {
        Some(hash) => hash,
        None => match req.header("x-amz-content-sha256") {
            Some(hash) if signed_headers.iter().any(|h| h == "x-amz-content-sha256") => hash,
            _ => UNSIGNED_PAYLOAD,
        },
    };
    if !valid_payload_hash(payload_hash) {
        return Err(invalid_payload_hash());
    }

    Ok(ParsedAuth {
        access_key: cred.access_key,
        date: cred.date,
        region: cred.region,
        service: cred.service,
        timestamp: date.to_string(),
        signed_headers,
        signature: signature.to_string(),
        kind: AuthKind::Presigned { expires_secs },
        payload_hash: payload_hash.to_string(),
    })
}

/// `X-Amz-Expires`: whole seconds in `1..=604800`.
pub(crate) fn parse_expires(value: &str) -> Result<u64, S3Error> {
    let secs: u64 = value.parse().map_err(|_| {
        S3Error::authorization_query_parameters_error("X-Amz-Expires should be a number")
    })?;
    check_expires(secs)?;
    Ok(secs)
}

pub(crate) fn check_expires(secs: u64) -> Result<(), S3Error> {
    if secs == 0 {
        return Err(S3Error::authorization_query_parameters_error(
            "X-Amz-Expires must be positive",
        ));
    }
    if secs > MAX_PRESIGNED_EXPIRES {
        return Err(S3Error::authorization_query_parameters_error(
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
        ));
    }
    Ok(())
}
