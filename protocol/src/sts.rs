//! STS `AssumeRoleWithWebIdentity` between the edge and the auth role: the edge passes
//! the unsigned form body through (bounded), the auth role verifies the web identity
//! token, maps it to a policy and mints temporary credentials.

use serde::{Deserialize, Serialize};

/// Largest STS form body the edge forwards: AWS caps `WebIdentityToken` at 20000
/// characters and the other parameters are short.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// The form body as the client sent it (`application/x-www-form-urlencoded`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AssumeRoleWithWebIdentity {
    pub form: String,
}

/// Temporary credentials and what they were granted for. Carries secrets: only the
/// edge that asked reads it (its private inbox), and it is never logged.
#[derive(Clone, Serialize, Deserialize)]
pub struct StsCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// Unix milliseconds.
    pub expiration_ms: i64,
    /// The token's `sub`.
    pub subject: String,
    /// The audience the token was checked for.
    pub audience: String,
    /// The token's `iss`.
    pub provider: String,
    /// `arn:aws:sts::…:assumed-role/<rule>/<session name>`.
    pub assumed_role_arn: String,
    /// `<access key>:<session name>`.
    pub assumed_role_id: String,
}

impl std::fmt::Debug for StsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StsCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("expiration_ms", &self.expiration_ms)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}
