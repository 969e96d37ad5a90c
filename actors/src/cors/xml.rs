//! `<CORSConfiguration>` documents of PutBucketCors → [`CorsConfiguration`].

use jetgate_protocol::cors::{CorsConfiguration, CorsRule};
use jetgate_protocol::S3Error;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct XmlConfiguration {
    #[serde(rename = "CORSRule", default)]
    rules: Vec<XmlRule>,
}

#[derive(Debug, Deserialize)]
struct XmlRule {
    #[serde(rename = "ID", default)]
    id: Option<String>,
    #[serde(rename = "AllowedOrigin", default)]
    allowed_origins: Vec<String>,
    #[serde(rename = "AllowedMethod", default)]
    allowed_methods: Vec<String>,
    #[serde(rename = "AllowedHeader", default)]
    allowed_headers: Vec<String>,
    #[serde(rename = "ExposeHeader", default)]
    expose_headers: Vec<String>,
    #[serde(rename = "MaxAgeSeconds", default)]
    max_age_seconds: Option<String>,
}

/// Parses the document; anything that is not a CORS configuration is `MalformedXML`.
/// Limits and methods are checked by [`super::rules::validate`].
pub fn parse(doc: &[u8]) -> Result<CorsConfiguration, S3Error> {
    let text = std::str::from_utf8(doc).map_err(|_| S3Error::malformed_xml())?;
    if !text.contains("CORSConfiguration") {
        return Err(S3Error::malformed_xml());
    }
    let parsed: XmlConfiguration = quick_xml::de::from_str(text).map_err(|e| {
        tracing::debug!(error = %e, "CORS document rejected");
        S3Error::malformed_xml()
    })?;
    let rules = parsed
        .rules
        .into_iter()
        .map(|r| {
            let max_age_seconds = match r.max_age_seconds.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(s) => Some(s.parse::<i64>().map_err(|_| S3Error::malformed_xml())?),
            };
            Ok(CorsRule {
                id: r.id,
                allowed_origins: r.allowed_origins,
                allowed_methods: r.allowed_methods,
                allowed_headers: r.allowed_headers,
                expose_headers: r.expose_headers,
                max_age_seconds,
            })
        })
        .collect::<Result<Vec<_>, S3Error>>()?;
    Ok(CorsConfiguration { rules })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jetgate_protocol::S3ErrorCode;

    #[test]
    fn parses_the_aws_example() {
        let doc = br#"<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
 <CORSRule>
   <AllowedOrigin>http://www.example.com</AllowedOrigin>
   <AllowedMethod>PUT</AllowedMethod>
   <AllowedMethod>POST</AllowedMethod>
   <AllowedMethod>DELETE</AllowedMethod>
   <AllowedHeader>*</AllowedHeader>
  <MaxAgeSeconds>3000</MaxAgeSeconds>
  <ExposeHeader>x-amz-server-side-encryption</ExposeHeader>
  <ExposeHeader>x-amz-request-id</ExposeHeader>
 </CORSRule>
 <CORSRule>
   <ID>get-anywhere</ID>
   <AllowedOrigin>*</AllowedOrigin>
   <AllowedMethod>GET</AllowedMethod>
 </CORSRule>
</CORSConfiguration>"#;
        let cfg = parse(doc).unwrap();
        assert_eq!(cfg.rules.len(), 2);
        let r = &cfg.rules[0];
        assert_eq!(r.allowed_methods, vec!["PUT", "POST", "DELETE"]);
        assert_eq!(r.allowed_headers, vec!["*"]);
        assert_eq!(r.max_age_seconds, Some(3000));
        assert_eq!(r.expose_headers.len(), 2);
        assert_eq!(cfg.rules[1].id.as_deref(), Some("get-anywhere"));
    }

    #[test]
    fn garbage_is_malformed() {
        for doc in [
            &b"not xml"[..],
            b"<Other/>",
            b"<CORSConfiguration><CORSRule><MaxAgeSeconds>x</MaxAgeSeconds></CORSRule></CORSConfiguration>",
            b"\xff\xfe",
        ] {
            assert_eq!(parse(doc).unwrap_err().code, S3ErrorCode::MalformedXML);
        }
    }
}
