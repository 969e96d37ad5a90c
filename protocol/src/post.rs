//! POST Object (browser form upload): what the edge, the object role and the auth role
//! exchange. The form itself streams as the request body; the object role parses it.

use serde::{Deserialize, Serialize};

/// `POST /bucket` with a `multipart/form-data` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PostObject {
    pub bucket: String,
}

/// How the edge answers a successful POST.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PostReply {
    pub bucket: String,
    pub key: String,
    pub etag: String,
    /// 200, 201 (with a `PostResponse` document) or 204.
    pub status: u16,
    /// `success_action_redirect`: 303 to this URL with bucket, key and etag appended.
    pub redirect: Option<String>,
}

/// The auth role checks the policy signature and expiration of a form. Fields are the
/// form fields before the file, names as sent (the checks are case-insensitive).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifyPostPolicy {
    pub fields: Vec<(String, String)>,
}
