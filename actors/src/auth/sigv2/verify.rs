//! SigV2 verification: the clock or expiry check, then the signature in constant time
//! over each accepted variant of the string to sign.

use std::time::Duration;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use jetgate_protocol::error::S3Error;
use jetgate_protocol::messages::SignedRequest;
use subtle::ConstantTimeEq;
use time::format_description::well_known::Rfc2822;
use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::string_to_sign::{
    build_string_to_sign, hmac_sha1, missing_date, DateLine, ResourceForm,
};
use super::{query_params, ParsedV2, V2Kind, SUB_RESOURCES};
use crate::auth::sigv4::canonical_uri;

/// The longest a presigned URL may stay valid, as SigV4 allows.
const MAX_PRESIGNED_SECS: i64 = 7 * 24 * 3600;

/// Base64 as clients write it: padded or not.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Compares decoded bytes in constant time. A space in the provided signature is a `+`
/// that went through form decoding somewhere (base64 has no spaces).
fn signature_matches(expected: &[u8; 20], provided: &str) -> bool {
    let provided = provided.trim().replace(' ', "+");
    match LENIENT_BASE64.decode(provided.as_bytes()) {
        Ok(bytes) => expected.as_slice().ct_eq(&bytes).into(),
        Err(_) => false,
    }
}

const AMZ_BASIC: &[FormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");

/// A SigV2 request time: RFC 7231 HTTP date, RFC 2822 (`+0000` zones, as s3cmd sends
/// in `x-amz-date`), or ISO 8601 basic (`20130524T000000Z`).
pub(super) fn parse_request_time(value: &str) -> Option<OffsetDateTime> {
    let value = value.trim();
    if let Ok(t) = httpdate::parse_http_date(value) {
        return Some(OffsetDateTime::from(t));
    }
    if let Ok(t) = OffsetDateTime::parse(value, &Rfc2822) {
        return Some(t);
    }
    if value.len() == 16 {
        if let Ok(t) = PrimitiveDateTime::parse(value, AMZ_BASIC) {
            return Some(t.assume_utc());
        }
    }
    None
}

fn check_time(
    req: &SignedRequest,
    kind: &V2Kind,
    now: OffsetDateTime,
    max_skew: Duration,
) -> Result<(), S3Error> {
    match *kind {
        V2Kind::Header => {
            let stamp = req
                .header("x-amz-date")
                .or_else(|| req.header("date"))
                .ok_or_else(missing_date)?;
            let signed_at = parse_request_time(stamp).ok_or_else(missing_date)?;
            // A skew too large for `time::Duration` cannot be within any sane window.
            let max_skew = time::Duration::try_from(max_skew).unwrap_or(time::Duration::MAX);
            if (now - signed_at).abs() > max_skew {
                return Err(S3Error::request_time_too_skewed());
            }
        }
        V2Kind::Query { expires } => {
            if now.unix_timestamp() > expires {
                return Err(S3Error::access_denied_with("Request has expired"));
            }
            // SigV2 itself sets no bound; a URL valid for years is a standing grant,
            // so it gets SigV4's 7 days.
            if expires.saturating_sub(now.unix_timestamp()) > MAX_PRESIGNED_SECS {
                return Err(S3Error::access_denied_with(
                    "Expires must be less than a week (604800 seconds) in the future",
                ));
            }
        }
    }
    Ok(())
}

/// Path-style [`verify_for`].
pub fn verify(
    req: &SignedRequest,
    parsed: &ParsedV2,
    secret: &str,
    now: OffsetDateTime,
    max_skew: Duration,
) -> Result<(), S3Error> {
    verify_for(req, parsed, secret, now, max_skew, None)
}

/// Checks the clock (header auth: `x-amz-date`, else `Date`, within `max_skew` of `now`,
/// else `RequestTimeTooSkewed`) or the expiry (query auth: `Expires` before `now` is
/// `AccessDenied`), then the signature in constant time (`SignatureDoesNotMatch`).
///
/// The variants listed in the module docs are tried in turn; each is a complete
/// signature over the same request, so accepting any of them signs the same things.
/// `virtual_host_bucket`: see [`string_to_sign_for`].
pub fn verify_for(
    req: &SignedRequest,
    parsed: &ParsedV2,
    secret: &str,
    now: OffsetDateTime,
    max_skew: Duration,
    virtual_host_bucket: Option<&str>,
) -> Result<(), S3Error> {
    check_time(req, &parsed.kind, now, max_skew)?;

    let query = query_params(&req.query);
    let date_lines: &[DateLine] = match (&parsed.kind, req.header("x-amz-date")) {
        (V2Kind::Header, Some(_)) if req.header("date").is_some() => {
            &[DateLine::Spec, DateLine::AmzDateValue, DateLine::DateHeader]
        }
        (V2Kind::Header, Some(_)) => &[DateLine::Spec, DateLine::AmzDateValue],
        _ => &[DateLine::Spec],
    };
    let normalized = canonical_uri(&req.path);
    let mut paths = vec![req.path.as_str()];
    if req.path.starts_with('/') && req.path != normalized {
        paths.push(normalized.as_str());
    }
    let has_empty_sub = query.iter().any(|(k, v, has_eq)| {
        *has_eq && v.is_empty() && SUB_RESOURCES.binary_search(&k.as_str()).is_ok()
    });
    let bare_forms: &[bool] = if has_empty_sub {
        &[false, true]
    } else {
        &[false]
    };

    for &date_line in date_lines {
        for &path in &paths {
            for &bare_empty in bare_forms {
                let resource = ResourceForm {
                    path,
                    bucket: virtual_host_bucket,
                    bare_empty,
                };
                let sts = build_string_to_sign(req, &parsed.kind, &query, date_line, resource)?;
                if signature_matches(&hmac_sha1(secret, &sts), &parsed.signature) {
                    return Ok(());
                }
            }
        }
    }
    Err(S3Error::signature_does_not_match())
}
