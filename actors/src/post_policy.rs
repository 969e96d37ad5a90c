//! POST Object policies (browser form uploads), pure: decoding the base64 JSON policy,
//! its expiration, and the conditions every form must satisfy. The auth role checks
//! signature and expiration; the object role checks the conditions against the form,
//! and the `content-length-range` while the file streams.

use base64::Engine;
use jetgate_protocol::S3Error;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// One policy condition; field names are lowercased, without `$`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    Eq(String, String),
    StartsWith(String, String),
    LengthRange(u64, u64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostPolicy {
    pub expiration: OffsetDateTime,
    pub conditions: Vec<Condition>,
}

/// Form fields a policy never has to mention (AWS's list, plus SigV2's pair).
fn is_exempt(name: &str) -> bool {
    matches!(
        name,
        "policy" | "x-amz-signature" | "file" | "signature" | "awsaccesskeyid"
    ) || name.starts_with("x-ignore-")
}

fn invalid_policy(why: &str) -> S3Error {
    S3Error::invalid_policy_document(format!("Invalid Policy: {why}"))
}

fn denied(why: &str) -> S3Error {
    S3Error::access_denied_with(format!("Invalid according to Policy: {why}"))
}

/// First value of a form field, by case-insensitive name.
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Decodes the `policy` form field (base64 of a JSON document).
pub fn decode(policy_b64: &str) -> Result<PostPolicy, S3Error> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(policy_b64.trim())
        .map_err(|_| invalid_policy("Invalid Base64 Encoding."))?;
    let doc: Value = serde_json::from_slice(&raw).map_err(|_| invalid_policy("Invalid JSON."))?;
    let expiration = doc
        .get("expiration")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_policy("Policy missing expiration."))?;
    let expiration = OffsetDateTime::parse(expiration, &Rfc3339)
        .map_err(|_| invalid_policy("Invalid 'expiration' value."))?;
    let list = doc
        .get("conditions")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid_policy("Policy missing conditions."))?;
    let mut conditions = Vec::with_capacity(list.len());
    for c in list {
        conditions.extend(condition(c)?);
    }
    Ok(PostPolicy {
        expiration,
        conditions,
    })
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn as_len(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `{"name": "value"}` (possibly several pairs) or `[op, "$name", value]`.
fn condition(c: &Value) -> Result<Vec<Condition>, S3Error> {
    let bad = || invalid_policy("Invalid Condition.");
    match c {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                let v = as_text(v).ok_or_else(bad)?;
                Ok(Condition::Eq(k.to_ascii_lowercase(), v))
            })
            .collect(),
        Value::Array(items) => {
            let op = items.first().and_then(Value::as_str).ok_or_else(bad)?;
            if op.eq_ignore_ascii_case("content-length-range") {
                let (Some(min), Some(max), 3) = (
                    items.get(1).and_then(as_len),
                    items.get(2).and_then(as_len),
                    items.len(),
                ) else {
                    return Err(bad());
                };
                return Ok(vec![Condition::LengthRange(min, max)]);
            }
            let (Some(name), Some(value), 3) = (
                items.get(1).and_then(Value::as_str),
                items.get(2).and_then(as_text),
                items.len(),
            ) else {
                return Err(bad());
            };
            let name = name.strip_prefix('$').ok_or_else(bad)?.to_ascii_lowercase();
            match op.to_ascii_lowercase().as_str() {
                "eq" => Ok(vec![Condition::Eq(name, value)]),
                "starts-with" => Ok(vec![Condition::StartsWith(name, value)]),
                _ => Err(bad()),
            }
        }
        _ => Err(bad()),
    }
}

pub fn check_expiration(policy: &PostPolicy, now: OffsetDateTime) -> Result<(), S3Error> {
    if now > policy.expiration {
        return Err(denied("Policy expired."));
    }
    Ok(())
}

/// Checks the form against the conditions; returns the `content-length-range`, if any.
/// `bucket` is the bucket of the request (a `bucket` condition compares against it).
/// `fields` are the form fields before the file, `key` already `${filename}`-expanded.
pub fn check_conditions(
    policy: &PostPolicy,
    fields: &[(String, String)],
    bucket: &str,
) -> Result<Option<(u64, u64)>, S3Error> {
    let value_of = |name: &str| -> String {
        if name == "bucket" {
            return bucket.to_string();
        }
        field(fields, name).unwrap_or_default().to_string()
    };
    let mut range = None;
    for c in &policy.conditions {
        match c {
            Condition::Eq(name, want) => {
                if value_of(name) != *want {
                    return Err(denied(&format!(
                        "Policy Condition failed: [\"eq\", \"${name}\", \"{want}\"]"
                    )));
                }
            }
            Condition::StartsWith(name, prefix) => {
                let have = value_of(name);
                // Content-Type may list several values; each must match.
                let ok = if name == "content-type" {
                    have.split(',')
                        .all(|v| v.trim_start().starts_with(prefix.as_str()))
                } else {
                    have.starts_with(prefix.as_str())
                };
                if !ok {
                    return Err(denied(&format!(
                        "Policy Condition failed: [\"starts-with\", \"${name}\", \"{prefix}\"]"
                    )));
                }
            }
            Condition::LengthRange(min, max) => range = Some((*min, *max)),
        }
    }
    let covered = |name: &str| {
        policy.conditions.iter().any(|c| match c {
            Condition::Eq(n, _) | Condition::StartsWith(n, _) => n == name,
            Condition::LengthRange(..) => false,
        })
    };
    let extra: Vec<String> = fields
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .filter(|n| !is_exempt(n) && !covered(n))
        .collect();
    if !extra.is_empty() {
        return Err(denied(&format!("Extra input fields: {}", extra.join(", "))));
    }
    Ok(range)
}

/// `${filename}` in the key becomes the uploaded file's name (AWS semantics).
pub fn expand_key(key: &str, filename: Option<&str>) -> String {
    key.replace("${filename}", filename.unwrap_or(""))
}

/// Checks a finished upload's size against the range (the running check is in the
/// streaming loop, with [`S3Error::entity_too_large`]).
pub fn check_length(range: Option<(u64, u64)>, size: u64) -> Result<(), S3Error> {
    match range {
        Some((_, max)) if size > max => Err(S3Error::entity_too_large()),
        Some((min, _)) if size < min => Err(S3Error::entity_too_small()),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jetgate_protocol::S3ErrorCode;
    use time::macros::datetime;

    fn b64(json: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(json)
    }

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    /// The example policy of the S3 documentation (browser-based uploads, SigV4).
    const AWS_EXAMPLE: &str = r#"{ "expiration": "2015-12-30T12:00:00.000Z",
  "conditions": [
    {"bucket": "sigv4examplebucket"},
    ["starts-with", "$key", "user/user1/"],
    {"acl": "public-read"},
    {"success_action_redirect": "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html"},
    ["starts-with", "$Content-Type", "image/"],
    {"x-amz-meta-uuid": "14365123651274"},
    {"x-amz-server-side-encryption": "AES256"},
    ["starts-with", "$x-amz-meta-tag", ""],
    {"x-amz-credential": "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"},
    {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
    {"x-amz-date": "20151229T000000Z" },
    ["content-length-range", 1, "1048576"]
  ]
}"#;

    fn example_form() -> Vec<(String, String)> {
        fields(&[
            ("key", "user/user1/${filename}"),
            ("acl", "public-read"),
            (
                "success_action_redirect",
                "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html",
            ),
            ("Content-Type", "image/jpeg"),
            ("x-amz-meta-uuid", "14365123651274"),
            ("x-amz-server-side-encryption", "AES256"),
            (
                "X-Amz-Credential",
                "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request",
            ),
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Date", "20151229T000000Z"),
            ("x-amz-meta-tag", ""),
            ("Policy", "..."),
            ("X-Amz-Signature", "..."),
        ])
    }

    #[test]
    fn aws_example_policy_passes() {
        let p = decode(&b64(AWS_EXAMPLE)).unwrap();
        assert_eq!(p.expiration, datetime!(2015-12-30 12:00 UTC));
        assert_eq!(p.conditions.len(), 12);
        let range = check_conditions(&p, &example_form(), "sigv4examplebucket").unwrap();
        assert_eq!(range, Some((1, 1048576)));
        assert!(check_expiration(&p, datetime!(2015-12-30 11:59 UTC)).is_ok());
        let e = check_expiration(&p, datetime!(2015-12-30 12:01 UTC)).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::AccessDenied);
        assert!(e.message.contains("Policy expired"));
    }

    #[test]
    fn violations_are_access_denied() {
        let p = decode(&b64(AWS_EXAMPLE)).unwrap();
        let deny = |f: Vec<(String, String)>, bucket: &str| {
            let e = check_conditions(&p, &f, bucket).unwrap_err();
            assert_eq!(e.code, S3ErrorCode::AccessDenied, "{}", e.message);
            e.message
        };
        assert!(deny(example_form(), "other").contains("$bucket"));
        let mut f = example_form();
        f[0].1 = "user/user2/x".into();
        assert!(deny(f, "sigv4examplebucket").contains("starts-with"));
        let mut f = example_form();
        f[3].1 = "text/plain".into();
        assert!(deny(f, "sigv4examplebucket").contains("$content-type"));
        let mut f = example_form();
        f.push(("x-amz-meta-extra".into(), "1".into()));
        let msg = deny(f, "sigv4examplebucket");
        assert!(
            msg.contains("Extra input fields: x-amz-meta-extra"),
            "{msg}"
        );
        // x-ignore- fields need no condition.
        let mut f = example_form();
        f.push(("x-ignore-me".into(), "1".into()));
        assert!(check_conditions(&p, &f, "sigv4examplebucket").is_ok());
    }

    #[test]
    fn bad_documents_are_invalid_policy() {
        for doc in [
            "!!!".to_string(),
            b64("not json"),
            b64(r#"{"conditions": []}"#),
            b64(r#"{"expiration": "tomorrow", "conditions": []}"#),
            b64(r#"{"expiration": "2015-12-30T12:00:00Z", "conditions": [["gt", "$key", "a"]]}"#),
            b64(
                r#"{"expiration": "2015-12-30T12:00:00Z", "conditions": [["content-length-range", 1]]}"#,
            ),
            b64(r#"{"expiration": "2015-12-30T12:00:00Z", "conditions": [["eq", "key", "a"]]}"#),
        ] {
            assert_eq!(
                decode(&doc).unwrap_err().code,
                S3ErrorCode::InvalidPolicyDocument,
                "{doc}"
            );
        }
    }

    #[test]
    fn lengths_and_keys() {
        assert!(check_length(Some((1, 10)), 10).is_ok());
        assert_eq!(
            check_length(Some((1, 10)), 11).unwrap_err().code,
            S3ErrorCode::EntityTooLarge
        );
        assert_eq!(
            check_length(Some((1, 10)), 0).unwrap_err().code,
            S3ErrorCode::EntityTooSmall
        );
        assert!(check_length(None, 0).is_ok());
        assert_eq!(expand_key("up/${filename}", Some("a.txt")), "up/a.txt");
        assert_eq!(expand_key("fixed", Some("a.txt")), "fixed");
    }
}
