//! Settings of a worker process and their defaults, defined once: the binary's flags
//! default to these.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jetgate_protocol::stream::StreamConfig;

use crate::auth::sealed::CredentialsKey;

/// Default of `--sts-max-duration-secs`: AWS's longest session (12 h).
pub const DEFAULT_STS_MAX_DURATION: Duration = Duration::from_secs(43200);

/// Default of `--part-read-ahead`: eight 8 MiB parts, the aws CLI's part size.
pub const DEFAULT_READ_AHEAD: u64 = 64 * 1024 * 1024;

/// Settings of a worker process.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The one region this gateway serves (SigV4 scope, GetBucketLocation).
    pub region: String,
    /// Allowed difference between the client's clock and ours.
    pub max_skew: Duration,
    pub stream: StreamConfig,
    /// Largest response body sent inline in the reply instead of streamed.
    pub inline_limit: u64,
    /// How long a call to another role may take.
    pub call_timeout: Duration,
    /// Age after which chunks no object refers to are reclaimed.
    pub orphan_grace: Duration,
    /// Object-store replicas of buckets created through S3.
    pub replicas: usize,
    /// Multipart uploads older than this are aborted by the stale-upload sweep.
    pub upload_max_age: Duration,
    /// How long an UploadPart that arrives ahead of its turn waits to be appended in
    /// place before it is staged (and copied at Complete).
    pub part_append_wait: Duration,
    /// Bytes of chunk publishes awaiting JetStream's ack, over all requests.
    pub publish_budget: u64,
    /// Bytes of parts read ahead of their turn, over all uploads (0: parts wait unread).
    pub part_read_ahead: u64,
    /// Bytes of live listing indexes, over all buckets (least recently used evicted).
    pub listing_index_budget: u64,
    /// Seals and opens secrets in the credential bucket; auth role only.
    pub credentials_key: Option<Arc<CredentialsKey>>,
    /// OIDC web identity (auth role): the issuer whose tokens STS and the NATS callout
    /// accept; none: web identity is off.
    pub oidc: Option<OidcConfig>,
    /// Longest life of STS temporary credentials, whatever the caller asks.
    pub sts_max_duration: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            region: "us-east-1".into(),
            max_skew: Duration::from_secs(15 * 60),
            stream: StreamConfig::default(),
            inline_limit: 128 * 1024,
            call_timeout: Duration::from_secs(10),
            orphan_grace: Duration::from_secs(300),
            replicas: 1,
            upload_max_age: Duration::from_secs(7 * 24 * 3600),
            part_append_wait: Duration::from_secs(20),
            publish_budget: crate::store::DEFAULT_PUBLISH_BUDGET,
            part_read_ahead: DEFAULT_READ_AHEAD,
            listing_index_budget: crate::store::DEFAULT_INDEX_BUDGET,
            credentials_key: None,
            oidc: None,
            sts_max_duration: DEFAULT_STS_MAX_DURATION,
        }
    }
}

/// `--oidc-*` settings.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// Expected `iss`; discovery is fetched from it unless `jwks_file` is given.
    pub issuer: String,
    /// Expected member of `aud`.
    pub audience: String,
    pub jwks_file: Option<PathBuf>,
    /// How long fetched keys are used before they are fetched again.
    pub jwks_refresh: Duration,
}
