//! Pure CORS logic: validating a configuration as S3 does, and matching a request
//! (origin, method, requested headers) against the rules. First matching rule wins.

use jetgate_protocol::cors::{CorsCheck, CorsCheckReply, CorsConfiguration, CorsRule};
use jetgate_protocol::S3Error;

/// S3 accepts at most this many rules per bucket.
pub const MAX_RULES: usize = 100;

const METHODS: &[&str] = &["GET", "PUT", "POST", "DELETE", "HEAD"];

/// Checks a parsed configuration against S3's limits; the messages are S3's.
pub fn validate(config: &CorsConfiguration) -> Result<(), S3Error> {
    if config.rules.is_empty() {
        return Err(S3Error::malformed_xml());
    }
    if config.rules.len() > MAX_RULES {
        return Err(S3Error::invalid_request(format!(
            "The number of CORS rules should not exceed allowed limit of {MAX_RULES} rules."
        )));
    }
    for rule in &config.rules {
        validate_rule(rule)?;
    }
    Ok(())
}

fn validate_rule(rule: &CorsRule) -> Result<(), S3Error> {
    if rule.allowed_origins.is_empty() || rule.allowed_methods.is_empty() {
        return Err(S3Error::malformed_xml());
    }
    if rule.id.as_ref().is_some_and(|id| id.len() > 255) {
        return Err(S3Error::invalid_argument(
            "The ID of a CORS rule must not be longer than 255 characters",
        ));
    }
    for m in &rule.allowed_methods {
        if !METHODS.contains(&m.as_str()) {
            return Err(S3Error::invalid_request(format!(
                "Found unsupported HTTP method in CORS config. Unsupported method is {m}"
            )));
        }
    }
    for o in &rule.allowed_origins {
        if o.matches('*').count() > 1 {
            return Err(S3Error::invalid_request(format!(
                "AllowedOrigin \"{o}\" can not have more than one wildcard."
            )));
        }
    }
    for h in &rule.allowed_headers {
        if h.matches('*').count() > 1 {
            return Err(S3Error::invalid_request(format!(
                "AllowedHeader \"{h}\" can not have more than one wildcard."
            )));
        }
    }
    for h in &rule.expose_headers {
        if h.contains('*') {
            return Err(S3Error::invalid_request(format!(
                "ExposeHeader \"{h}\" contains wildcard. We currently do not support wildcard for ExposeHeader."
            )));
        }
    }
    if rule.max_age_seconds.is_some_and(|s| s < 0) {
        return Err(S3Error::malformed_xml());
    }
    Ok(())
}

/// `pattern` (at most one `*`, matching any run of characters) against `value`,
/// ASCII case-insensitively.
pub fn wildcard_match(pattern: &str, value: &str) -> bool {
    let (p, v) = (pattern.to_ascii_lowercase(), value.to_ascii_lowercase());
    match p.split_once('*') {
        None => p == v,
        Some((prefix, suffix)) => {
            v.len() >= prefix.len() + suffix.len() && v.starts_with(prefix) && v.ends_with(suffix)
        }
    }
}

fn rule_matches(rule: &CorsRule, check: &CorsCheck) -> bool {
    rule.allowed_origins
        .iter()
        .any(|o| wildcard_match(o, &check.origin))
        && rule.allowed_methods.contains(&check.method)
        && check.request_headers.iter().all(|h| {
            rule.allowed_headers
                .iter()
                .any(|pattern| wildcard_match(pattern, h))
        })
}

/// Evaluates a request against a bucket's rules (`None`: no configuration).
pub fn evaluate(config: Option<&CorsConfiguration>, check: &CorsCheck) -> CorsCheckReply {
    let Some(config) = config else {
        return CorsCheckReply {
            not_configured: true,
            ..Default::default()
        };
    };
    let Some(rule) = config.rules.iter().find(|r| rule_matches(r, check)) else {
        return CorsCheckReply::default();
    };
    let any_origin = rule.allowed_origins.iter().any(|o| o == "*");
    let mut headers = Vec::new();
    if any_origin {
        headers.push(("access-control-allow-origin".into(), "*".into()));
    } else {
        headers.push(("access-control-allow-origin".into(), check.origin.clone()));
        headers.push(("access-control-allow-credentials".into(), "true".into()));
    }
    headers.push((
        "access-control-allow-methods".into(),
        rule.allowed_methods.join(", "),
    ));
    if check.preflight && !check.request_headers.is_empty() {
        headers.push((
            "access-control-allow-headers".into(),
            check.request_headers.join(", "),
        ));
    }
    if !rule.expose_headers.is_empty() {
        headers.push((
            "access-control-expose-headers".into(),
            rule.expose_headers.join(", "),
        ));
    }
    if let Some(age) = rule.max_age_seconds {
        headers.push(("access-control-max-age".into(), age.to_string()));
    }
    headers.push((
        "vary".into(),
        "Origin, Access-Control-Request-Headers, Access-Control-Request-Method".into(),
    ));
    CorsCheckReply {
        allowed: true,
        headers,
        not_configured: false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jetgate_protocol::S3ErrorCode;

    fn rule(origins: &[&str], methods: &[&str], headers: &[&str]) -> CorsRule {
        CorsRule {
            allowed_origins: origins.iter().map(|s| s.to_string()).collect(),
            allowed_methods: methods.iter().map(|s| s.to_string()).collect(),
            allowed_headers: headers.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    fn check(origin: &str, method: &str, headers: &[&str]) -> CorsCheck {
        CorsCheck {
            bucket: "b".into(),
            origin: origin.into(),
            method: method.into(),
            request_headers: headers.iter().map(|s| s.to_string()).collect(),
            preflight: true,
        }
    }

    fn header<'a>(r: &'a CorsCheckReply, name: &str) -> Option<&'a str> {
        r.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*", "http://x"));
        assert!(wildcard_match(
            "http://*.example.com",
            "http://a.example.com"
        ));
        assert!(wildcard_match(
            "http://*.example.com",
            "HTTP://A.Example.COM"
        ));
        assert!(!wildcard_match(
            "http://*.example.com",
            "http://example.com"
        ));
        assert!(!wildcard_match(
            "http://*.example.com",
            "https://a.example.com"
        ));
        assert!(wildcard_match("x-amz-*", "x-amz-date"));
        assert!(wildcard_match("Content-Type", "content-type"));
        assert!(!wildcard_match("content-type", "content-types"));
        // Prefix and suffix must not overlap: "ab*ba" does not match "aba".
        assert!(!wildcard_match("ab*ba", "aba"));
    }

    #[test]
    fn first_matching_rule_wins_and_headers_follow_it() {
        let mut r1 = rule(&["http://a.test"], &["PUT"], &["content-type", "x-amz-*"]);
        r1.expose_headers = vec!["ETag".into()];
        r1.max_age_seconds = Some(3000);
        let r2 = rule(&["*"], &["GET"], &[]);
        let cfg = CorsConfiguration {
            rules: vec![r1, r2],
        };
        let r = evaluate(
            Some(&cfg),
            &check("http://a.test", "PUT", &["content-type", "x-amz-date"]),
        );
        assert!(r.allowed);
        assert_eq!(
            header(&r, "access-control-allow-origin"),
            Some("http://a.test")
        );
        assert_eq!(header(&r, "access-control-allow-credentials"), Some("true"));
        assert_eq!(header(&r, "access-control-allow-methods"), Some("PUT"));
        assert_eq!(
            header(&r, "access-control-allow-headers"),
            Some("content-type, x-amz-date")
        );
        assert_eq!(header(&r, "access-control-expose-headers"), Some("ETag"));
        assert_eq!(header(&r, "access-control-max-age"), Some("3000"));

        let r = evaluate(Some(&cfg), &check("http://other.test", "GET", &[]));
        assert!(r.allowed);
        assert_eq!(header(&r, "access-control-allow-origin"), Some("*"));
        assert_eq!(header(&r, "access-control-allow-credentials"), None);

        // Wrong method, unlisted header, unknown origin: refused.
        assert!(!evaluate(Some(&cfg), &check("http://other.test", "PUT", &[])).allowed);
        assert!(!evaluate(Some(&cfg), &check("http://a.test", "PUT", &["x-custom"])).allowed);
        assert!(!evaluate(Some(&cfg), &check("http://a.test", "DELETE", &[])).allowed);
        let none = evaluate(None, &check("http://a.test", "GET", &[]));
        assert!(!none.allowed && none.not_configured);
    }

    #[test]
    fn validation_follows_s3() {
        let ok = CorsConfiguration {
            rules: vec![rule(&["http://*.a.test"], &["GET", "PUT"], &["*"])],
        };
        assert!(validate(&ok).is_ok());
        let code = |cfg: CorsConfiguration| validate(&cfg).unwrap_err().code;
        assert_eq!(
            code(CorsConfiguration::default()),
            S3ErrorCode::MalformedXML
        );
        assert_eq!(
            code(CorsConfiguration {
                rules: vec![rule(&["*"], &["PATCH"], &[])]
            }),
            S3ErrorCode::InvalidRequest
        );
        assert_eq!(
            code(CorsConfiguration {
                rules: vec![rule(&["http://*.*.test"], &["GET"], &[])]
            }),
            S3ErrorCode::InvalidRequest
        );
        assert_eq!(
            code(CorsConfiguration {
                rules: vec![rule(&["*"], &["GET"], &["x-*-*"])]
            }),
            S3ErrorCode::InvalidRequest
        );
        assert_eq!(
            code(CorsConfiguration {
                rules: vec![rule(&[], &["GET"], &[])]
            }),
            S3ErrorCode::MalformedXML
        );
        let many = CorsConfiguration {
            rules: vec![rule(&["*"], &["GET"], &[]); MAX_RULES + 1],
        };
        assert_eq!(code(many), S3ErrorCode::InvalidRequest);
        let mut expose = rule(&["*"], &["GET"], &[]);
        expose.expose_headers = vec!["x-*".into()];
        assert_eq!(
            code(CorsConfiguration {
                rules: vec![expose]
            }),
            S3ErrorCode::InvalidRequest
        );
    }
}
