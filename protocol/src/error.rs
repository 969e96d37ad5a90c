//! S3 error codes and their HTTP status: the one table both sides use. Workers send the
//! code in a header beside the micro service error; the edge renders the S3 XML.

use std::fmt;

use async_nats::HeaderMap;

use crate::headers;

mod ctors;

macro_rules! s3_codes {
    ($($name:ident => $status:expr),* $(,)?) => {
        /// S3 error codes jetgate answers with. Unknown codes from a newer peer are kept
        /// as [`S3ErrorCode::Other`] with the HTTP status that peer sent.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum S3ErrorCode {
            $($name,)*
            /// A code this build does not know, with the status the peer gave it.
            Other(String, u16),
        }

        impl S3ErrorCode {
            pub fn as_str(&self) -> &str {
                match self {
                    $(S3ErrorCode::$name => stringify!($name),)*
                    S3ErrorCode::Other(code, _) => code,
                }
            }

            /// HTTP status S3 answers with for this code.
            pub fn status(&self) -> u16 {
                match self {
                    $(S3ErrorCode::$name => $status,)*
                    S3ErrorCode::Other(_, status) => *status,
                }
            }

            /// Parses a code received on the wire; `status` is used for unknown codes.
            pub fn from_wire(code: &str, status: u16) -> Self {
                match code {
                    $(stringify!($name) => S3ErrorCode::$name,)*
                    other => S3ErrorCode::Other(other.to_string(), status),
                }
            }
        }
    };
}

s3_codes! {
    AccessDenied => 403,
    AuthorizationHeaderMalformed => 400,
    AuthorizationQueryParametersError => 400,
    BadDigest => 400,
    BucketAlreadyExists => 409,
    BucketAlreadyOwnedByYou => 409,
    BucketNotEmpty => 409,
    EntityTooLarge => 400,
    EntityTooSmall => 400,
    IncompleteBody => 400,
    InternalError => 500,
    InvalidAccessKeyId => 403,
    InvalidArgument => 400,
    InvalidBucketName => 400,
    InvalidDigest => 400,
    InvalidLocationConstraint => 400,
    InvalidObjectState => 403,
    InvalidPart => 400,
    InvalidPartNumber => 416,
    InvalidPartOrder => 400,
    InvalidRange => 416,
    InvalidRequest => 400,
    InvalidURI => 400,
    KeyTooLongError => 400,
    MalformedXML => 400,
    MaxMessageLengthExceeded => 400,
    MetadataTooLarge => 400,
    MethodNotAllowed => 405,
    MissingContentLength => 411,
    MissingSecurityHeader => 400,
    NoSuchBucket => 404,
    NoSuchKey => 404,
    NoSuchUpload => 404,
    NoSuchVersion => 404,
    IllegalLocationConstraintException => 400,
    NoSuchLifecycleConfiguration => 404,
    NoSuchCORSConfiguration => 404,
    NotImplemented => 501,
    NotModified => 304,
    OperationAborted => 409,
    PreconditionFailed => 412,
    RequestTimeTooSkewed => 403,
    RequestTimeout => 400,
    ServiceUnavailable => 503,
    SignatureDoesNotMatch => 403,
    SlowDown => 503,
    XAmzContentSHA256Mismatch => 400,
    InvalidChecksum => 400,
    ExpiredToken => 400,
    InvalidTag => 400,
    NoSuchTagSet => 404,
    ObjectLockConfigurationNotFoundError => 404,
    // Bucket configurations jetgate does not keep (see `bucket_config`).
    NoSuchBucketPolicy => 404,
    NoSuchPublicAccessBlockConfiguration => 404,
    OwnershipControlsNotFoundError => 404,
    ServerSideEncryptionConfigurationNotFoundError => 404,
    NoSuchWebsiteConfiguration => 404,
    ReplicationConfigurationNotFoundError => 404,
    // CORS preflight refusals and malformed preflights.
    AccessForbidden => 403,
    BadRequest => 400,
    InvalidPolicyDocument => 400,
    MalformedPOSTRequest => 400,
    MaxPostPreDataLengthExceededError => 400,
    // Temporary credentials on S3 requests (X-Amz-Security-Token); ExpiredToken above.
    InvalidToken => 400,
    // STS AssumeRoleWithWebIdentity (rendered as STS ErrorResponse XML by the edge).
    InvalidIdentityToken => 400,
    ExpiredTokenException => 400,
    IDPCommunicationError => 400,
    InvalidParameterValue => 400,
    MissingParameter => 400,
    ValidationError => 400,
    InvalidAction => 400,
}

impl fmt::Display for S3ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An S3 error as it crosses NATS: code plus a message safe to show the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct S3Error {
    pub code: S3ErrorCode,
    pub message: String,
}

impl S3Error {
    /// Any code with any message. Call sites use the constructor named after the code
    /// (see `ctors`), which holds the code's message; this is for those constructors
    /// and for codes that arrive on the wire.
    pub fn new(code: S3ErrorCode, message: impl Into<String>) -> Self {
        S3Error {
            code,
            message: message.into(),
        }
    }

    /// An error a peer reported as code, HTTP status and message.
    pub fn from_wire(code: &str, status: u16, message: impl Into<String>) -> Self {
        S3Error::new(S3ErrorCode::from_wire(code, status), message)
    }

    /// An internal failure: the detail goes to the log, the client sees a generic text.
    pub fn internal(detail: impl fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        S3Error::new(
            S3ErrorCode::InternalError,
            "We encountered an internal error. Please try again.",
        )
    }

    pub fn not_implemented(what: &str) -> Self {
        S3Error::new(
            S3ErrorCode::NotImplemented,
            format!("{what} is not implemented by jetgate"),
        )
    }

    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// The micro service error plus our code header, as a worker replies with it.
    pub fn to_service_error(&self) -> (async_nats::service::error::Error, HeaderMap) {
        let mut h = HeaderMap::new();
        h.insert(headers::S3_CODE, self.code.as_str());
        // The micro status header cannot carry newlines.
        let status = self.message.replace(['\r', '\n'], " ");
        (
            async_nats::service::error::Error {
                status,
                code: self.status() as usize,
            },
            h,
        )
    }

    /// Reads an error reply; `None` when the message is not one.
    pub fn from_service_error(headers: Option<&HeaderMap>) -> Option<S3Error> {
        let h = headers?;
        let status = h.get(headers::SERVICE_ERROR_CODE)?.as_str();
        let status: u16 = status.parse().unwrap_or(500);
        let message = h
            .get(headers::SERVICE_ERROR)
            .map(|v| v.as_str().to_string())
            .unwrap_or_default();
        let code = match h.get(headers::S3_CODE) {
            Some(c) => S3ErrorCode::from_wire(c.as_str(), status),
            None if status == 503 => S3ErrorCode::ServiceUnavailable,
            None => S3ErrorCode::InternalError,
        };
        Some(S3Error { code, message })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_s3_statuses() {
        assert_eq!(S3ErrorCode::NoSuchKey.status(), 404);
        assert_eq!(S3ErrorCode::InvalidRange.status(), 416);
        assert_eq!(S3ErrorCode::NotImplemented.status(), 501);
        assert_eq!(S3ErrorCode::BucketNotEmpty.as_str(), "BucketNotEmpty");
    }

    #[test]
    fn unknown_codes_survive_with_their_status() {
        let c = S3ErrorCode::from_wire("QuotaExceeded", 429);
        assert_eq!(c.as_str(), "QuotaExceeded");
        assert_eq!(c.status(), 429);
    }

    #[test]
    fn service_error_round_trip() {
        let e = S3Error::new(
            S3ErrorCode::NoSuchBucket,
            "The specified bucket\ndoes not exist",
        );
        let (svc, mut h) = e.to_service_error();
        h.insert(headers::SERVICE_ERROR, svc.status.as_str());
        h.insert(headers::SERVICE_ERROR_CODE, svc.code.to_string().as_str());
        let back = S3Error::from_service_error(Some(&h)).expect("error reply");
        assert_eq!(back.code, S3ErrorCode::NoSuchBucket);
        assert_eq!(back.message, "The specified bucket does not exist");
    }
}
