//! Bucket configurations jetgate does not keep (policy, lifecycle, encryption, object
//! lock, ...). Tools read them to show a bucket (s3cmd `info`, Terraform, SDK helpers),
//! so a read answers what AWS S3 answers for a bucket with nothing configured: a 404
//! with the configuration's own error code, or an empty (default) document. Writes are
//! `501 NotImplemented`, never a silent success. Both only after the request's
//! signature, the key's policy and the bucket's existence are checked.

use crate::S3Error;

/// One bucket sub-resource of this kind, by its query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketConfig {
    ObjectLock,
    Policy,
    Lifecycle,
    PublicAccessBlock,
    OwnershipControls,
    RequestPayment,
    Encryption,
    Website,
    Replication,
    Logging,
    Notification,
    Accelerate,
}

/// What a request does with the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigVerb {
    Get,
    Put,
    Delete,
}

const S3_NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

impl BucketConfig {
    /// The sub-resource a query parameter names.
    pub fn from_param(name: &str) -> Option<BucketConfig> {
        use BucketConfig::*;
        Some(match name {
            "object-lock" => ObjectLock,
            "policy" => Policy,
            "lifecycle" => Lifecycle,
            "publicAccessBlock" => PublicAccessBlock,
            "ownershipControls" => OwnershipControls,
            "requestPayment" => RequestPayment,
            "encryption" => Encryption,
            "website" => Website,
            "replication" => Replication,
            "logging" => Logging,
            "notification" => Notification,
            "accelerate" => Accelerate,
            _ => return None,
        })
    }

    /// The S3 action names of reading, writing and deleting it (spans, metrics).
    pub fn action(self, verb: ConfigVerb) -> &'static str {
        use BucketConfig::*;
        let [get, put, delete] = match self {
            ObjectLock => [
                "GetObjectLockConfiguration",
                "PutObjectLockConfiguration",
                "DeleteObjectLockConfiguration",
            ],
            Policy => ["GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"],
            Lifecycle => [
                "GetBucketLifecycleConfiguration",
                "PutBucketLifecycleConfiguration",
                "DeleteBucketLifecycle",
            ],
            PublicAccessBlock => [
                "GetPublicAccessBlock",
                "PutPublicAccessBlock",
                "DeletePublicAccessBlock",
            ],
            OwnershipControls => [
                "GetBucketOwnershipControls",
                "PutBucketOwnershipControls",
                "DeleteBucketOwnershipControls",
            ],
            RequestPayment => [
                "GetBucketRequestPayment",
                "PutBucketRequestPayment",
                "DeleteBucketRequestPayment",
            ],
            Encryption => [
                "GetBucketEncryption",
                "PutBucketEncryption",
                "DeleteBucketEncryption",
            ],
            Website => [
                "GetBucketWebsite",
                "PutBucketWebsite",
                "DeleteBucketWebsite",
            ],
            Replication => [
                "GetBucketReplication",
                "PutBucketReplication",
                "DeleteBucketReplication",
            ],
            Logging => [
                "GetBucketLogging",
                "PutBucketLogging",
                "DeleteBucketLogging",
            ],
            Notification => [
                "GetBucketNotificationConfiguration",
                "PutBucketNotificationConfiguration",
                "DeleteBucketNotificationConfiguration",
            ],
            Accelerate => [
                "GetBucketAccelerateConfiguration",
                "PutBucketAccelerateConfiguration",
                "DeleteBucketAccelerateConfiguration",
            ],
        };
        match verb {
            ConfigVerb::Get => get,
            ConfigVerb::Put => put,
            ConfigVerb::Delete => delete,
        }
    }

    /// What AWS S3 answers a read of it on a bucket where it was never set: the error,
    /// or the document (a default or an empty configuration).
    pub fn unset(self) -> Result<String, S3Error> {
        use BucketConfig::*;
        match self {
            ObjectLock => Err(S3Error::object_lock_configuration_not_found_error()),
            Policy => Err(S3Error::no_such_bucket_policy()),
            Lifecycle => Err(S3Error::no_such_lifecycle_configuration()),
            PublicAccessBlock => Err(S3Error::no_such_public_access_block_configuration()),
            OwnershipControls => Err(S3Error::ownership_controls_not_found_error()),
            Encryption => Err(S3Error::server_side_encryption_configuration_not_found_error()),
            Website => Err(S3Error::no_such_website_configuration()),
            Replication => Err(S3Error::replication_configuration_not_found_error()),
            RequestPayment => Ok(format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><RequestPaymentConfiguration xmlns="{S3_NS}"><Payer>BucketOwner</Payer></RequestPaymentConfiguration>"#
            )),
            Logging => Ok(empty("BucketLoggingStatus")),
            Notification => Ok(empty("NotificationConfiguration")),
            Accelerate => Ok(empty("AccelerateConfiguration")),
        }
    }
}

fn empty(root: &str) -> String {
    format!(r#"<?xml version="1.0" encoding="UTF-8"?><{root} xmlns="{S3_NS}"/>"#)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::S3ErrorCode;

    #[test]
    fn reads_answer_as_aws_does_for_an_unconfigured_bucket() {
        let code = |c: BucketConfig| c.unset().err().map(|e| (e.code.status(), e.code));
        assert_eq!(
            code(BucketConfig::Policy),
            Some((404, S3ErrorCode::NoSuchBucketPolicy))
        );
        assert_eq!(
            code(BucketConfig::from_param("encryption").expect("known")),
            Some((
                404,
                S3ErrorCode::ServerSideEncryptionConfigurationNotFoundError
            ))
        );
        let payment = BucketConfig::RequestPayment.unset().expect("a document");
        assert!(payment.contains("<Payer>BucketOwner</Payer>"), "{payment}");
        assert!(BucketConfig::from_param("acl").is_none());
        assert_eq!(
            BucketConfig::Policy.action(ConfigVerb::Delete),
            "DeleteBucketPolicy"
        );
    }
}
