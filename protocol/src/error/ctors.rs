//! One constructor per S3 error code, so each code's message is written once.
//!
//! A code S3 answers with one message has a constructor without arguments that carries
//! AWS's message: `S3Error::no_such_bucket()`. A code whose message says what was wrong
//! with this request has a constructor taking that explanation:
//! `S3Error::invalid_argument(msg)`. A code with AWS's message that some requests
//! explain further (e.g. AccessDenied's "Request has expired") has both: `access_denied()`
//! and `access_denied_with(msg)`. [`S3Error::internal`] and [`S3Error::not_implemented`]
//! are in the parent module.

use super::{S3Error, S3ErrorCode};

/// `name => Code: "AWS's message";` → `pub fn name() -> S3Error`.
macro_rules! aws_message {
    ($($name:ident => $code:ident: $message:literal;)*) => {
        impl S3Error {
            $(
                #[doc = concat!("`", stringify!($code), "`: ", $message)]
                pub fn $name() -> Self {
                    S3Error::new(S3ErrorCode::$code, $message)
                }
            )*
        }
    };
}

/// `name => Code;` → `pub fn name(message) -> S3Error`.
macro_rules! explained {
    ($($name:ident => $code:ident;)*) => {
        impl S3Error {
            $(
                #[doc = concat!("`", stringify!($code), "` with the caller's explanation.")]
                pub fn $name(message: impl Into<String>) -> Self {
                    S3Error::new(S3ErrorCode::$code, message)
                }
            )*
        }
    };
}

aws_message! {
    access_denied => AccessDenied: "Access Denied";
    bad_digest => BadDigest:
        "The Content-MD5 you specified did not match what we received.";
    bucket_already_exists => BucketAlreadyExists:
        "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.";
    bucket_already_owned_by_you => BucketAlreadyOwnedByYou:
        "Your previous request to create the named bucket succeeded and you already own it.";
    bucket_not_empty => BucketNotEmpty: "The bucket you tried to delete is not empty";
    entity_too_large => EntityTooLarge: "Your proposed upload exceeds the maximum allowed size";
    entity_too_small => EntityTooSmall:
        "Your proposed upload is smaller than the minimum allowed size";
    incomplete_body => IncompleteBody:
        "You did not provide the number of bytes specified by the Content-Length HTTP header.";
    invalid_access_key_id => InvalidAccessKeyId:
        "The AWS Access Key Id you provided does not exist in our records.";
    invalid_digest => InvalidDigest: "The Content-MD5 you specified was invalid.";
    invalid_part_number => InvalidPartNumber: "The requested partnumber is not satisfiable";
    invalid_part_order => InvalidPartOrder:
        "The list of parts was not in ascending order. The parts list must be specified in order by part number.";
    invalid_range => InvalidRange: "The requested range is not satisfiable";
    invalid_uri => InvalidURI: "Couldn't parse the specified URI.";
    key_too_long_error => KeyTooLongError: "Your key is too long";
    malformed_post_request => MalformedPOSTRequest:
        "The body of your POST request is not well-formed multipart/form-data.";
    malformed_xml => MalformedXML:
        "The XML you provided was not well-formed or did not validate against our published schema.";
    max_message_length_exceeded => MaxMessageLengthExceeded: "Your request was too big.";
    max_post_pre_data_length_exceeded_error => MaxPostPreDataLengthExceededError:
        "Your POST request fields preceding the upload file were too large.";
    metadata_too_large => MetadataTooLarge:
        "Your metadata headers exceed the maximum allowed metadata size.";
    no_such_bucket => NoSuchBucket: "The specified bucket does not exist";
    no_such_cors_configuration => NoSuchCORSConfiguration: "The CORS configuration does not exist";
    no_such_key => NoSuchKey: "The specified key does not exist.";
    no_such_tag_set => NoSuchTagSet: "The TagSet does not exist";
    no_such_upload => NoSuchUpload:
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.";
    no_such_version => NoSuchVersion: "The specified version does not exist.";
    operation_aborted => OperationAborted:
        "A conflicting conditional operation is currently in progress against this resource. Please try again.";
    precondition_failed => PreconditionFailed:
        "At least one of the pre-conditions you specified did not hold";
    request_time_too_skewed => RequestTimeTooSkewed:
        "The difference between the request time and the current time is too large.";
    request_timeout => RequestTimeout:
        "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.";
    service_unavailable => ServiceUnavailable: "Reduce your request rate.";
    signature_does_not_match => SignatureDoesNotMatch:
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.";
    slow_down => SlowDown: "Please reduce your request rate.";
    x_amz_content_sha256_mismatch => XAmzContentSHA256Mismatch:
        "The provided 'x-amz-content-sha256' header does not match what was computed.";

    // Bucket configurations jetgate does not keep, read on a bucket (see `bucket_config`).
    no_such_bucket_policy => NoSuchBucketPolicy: "The bucket policy does not exist";
    no_such_lifecycle_configuration => NoSuchLifecycleConfiguration:
        "The lifecycle configuration does not exist";
    no_such_public_access_block_configuration => NoSuchPublicAccessBlockConfiguration:
        "The public access block configuration was not found";
    no_such_website_configuration => NoSuchWebsiteConfiguration:
        "The specified bucket does not have a website configuration";
    object_lock_configuration_not_found_error => ObjectLockConfigurationNotFoundError:
        "Object Lock configuration does not exist for this bucket";
    ownership_controls_not_found_error => OwnershipControlsNotFoundError:
        "The bucket ownership controls were not found";
    replication_configuration_not_found_error => ReplicationConfigurationNotFoundError:
        "The replication configuration was not found";
    server_side_encryption_configuration_not_found_error => ServerSideEncryptionConfigurationNotFoundError:
        "The server side encryption configuration was not found";

    // Temporary (STS) credentials on S3 requests.
    expired_token => ExpiredToken: "The provided token has expired.";
    invalid_token => InvalidToken: "The provided token is malformed or otherwise invalid.";
}

// Codes whose message is the explanation of what was wrong with this request.
explained! {
    access_forbidden => AccessForbidden;
    authorization_header_malformed => AuthorizationHeaderMalformed;
    authorization_query_parameters_error => AuthorizationQueryParametersError;
    bad_request => BadRequest;
    illegal_location_constraint_exception => IllegalLocationConstraintException;
    invalid_argument => InvalidArgument;
    invalid_bucket_name => InvalidBucketName;
    invalid_part => InvalidPart;
    invalid_policy_document => InvalidPolicyDocument;
    invalid_request => InvalidRequest;
    invalid_tag => InvalidTag;
    // STS AssumeRoleWithWebIdentity.
    invalid_identity_token => InvalidIdentityToken;
    expired_token_exception => ExpiredTokenException;
    idp_communication_error => IDPCommunicationError;
    invalid_parameter_value => InvalidParameterValue;
    missing_parameter => MissingParameter;
    validation_error => ValidationError;
    invalid_action => InvalidAction;
}

// Codes with AWS's message (above, or InternalError's in `S3Error::internal`) that some
// requests explain further.
explained! {
    access_denied_with => AccessDenied;
    bad_digest_with => BadDigest;
    entity_too_small_with => EntityTooSmall;
    incomplete_body_with => IncompleteBody;
    internal_error_with => InternalError;
    precondition_failed_with => PreconditionFailed;
    service_unavailable_with => ServiceUnavailable;
    signature_does_not_match_with => SignatureDoesNotMatch;
    slow_down_with => SlowDown;
    x_amz_content_sha256_mismatch_with => XAmzContentSHA256Mismatch;
}
