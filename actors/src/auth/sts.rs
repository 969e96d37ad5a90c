//! STS `AssumeRoleWithWebIdentity` (auth role) and the temporary credentials it mints.
//!
//! The request is the unsigned form boto3's `sts` client posts to `/`; the token in it
//! is the only proof of identity. The credentials: access key `ASIA` + 16 random
//! characters, a 40-character secret, a 96-character session token, stored sealed like
//! a long-term key under `sts.<access key>` with the rule's policy, the identity's owner
//! id (`oidc::owner_id`) and the expiry `min(token exp, now + DurationSeconds, now +
//! --sts-max-duration-secs)`. They cannot be renewed: a new call needs a fresh token.
//! Requests signed with them must carry the session token (see `session_credential`);
//! expired ones are refused and swept from the bucket ([`SWEEP_GRACE`] after expiry).

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use jetgate_protocol::rpc;
use jetgate_protocol::sts::StsCredentials;
use jetgate_protocol::S3Error;
use rand::distributions::{Alphanumeric, DistString};
use rand::Rng;
use subtle::ConstantTimeEq;

use super::oidc::{self, WebIdentity};
use super::{store, Credential};
use crate::incoming::Incoming;
use crate::worker::Worker;

/// DurationSeconds when the caller names none, and AWS's bounds for it.
const DEFAULT_DURATION: u64 = 3600;
const MIN_DURATION: u64 = 900;
const MAX_DURATION: u64 = 43200;
/// Expired sessions stay this long (answering `ExpiredToken`), then are removed.
pub const SWEEP_GRACE: Duration = Duration::from_secs(300);
/// How often each auth worker sweeps.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The parameters of one call.
#[derive(Debug)]
struct Params {
    role_arn: String,
    session_name: String,
    token: String,
    duration: u64,
}

fn validation(field: &str, value: &str, constraint: &str) -> S3Error {
    S3Error::validation_error(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
    ))
}

fn parse(form: &str) -> Result<Params, S3Error> {
    let mut p = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(form.as_bytes()) {
        if p.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(S3Error::invalid_parameter_value(format!(
                "Parameter {k} given more than once"
            )));
        }
    }
    let required = |name: &str| {
        p.get(name).cloned().ok_or_else(|| {
            S3Error::missing_parameter(format!("The request must contain the parameter {name}"))
        })
    };
    let action = required("Action")?;
    let version = p.get("Version").map(String::as_str).unwrap_or("2011-06-15");
    if action != "AssumeRoleWithWebIdentity" || version != "2011-06-15" {
        return Err(S3Error::invalid_action(format!(
            "Could not find operation {action} for version {version}"
        )));
    }
    // Session policies would narrow the grant; silently ignoring one would hand out more
    // than the caller asked for, so they are refused.
    if p.keys()
        .any(|k| k == "Policy" || k.starts_with("PolicyArns"))
    {
        return Err(S3Error::invalid_parameter_value(
            "Session policies (Policy, PolicyArns) are not supported by jetgate",
        ));
    }
    let role_arn = required("RoleArn")?;
    if !(20..=2048).contains(&role_arn.len()) {
        return Err(validation(
            "roleArn",
            "…",
            "Member must have length between 20 and 2048",
        ));
    }
    let session_name = required("RoleSessionName")?;
    let name_ok = (2..=64).contains(&session_name.len())
        && session_name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b));
    if !name_ok {
        return Err(validation(
            "roleSessionName",
            "…",
            "Member must satisfy regular expression pattern: [\\w+=,.@-]{2,64}",
        ));
    }
    let token = required("WebIdentityToken")?;
    if !(4..=20000).contains(&token.len()) {
        return Err(validation(
            "webIdentityToken",
            "…",
            "Member must have length between 4 and 20000",
        ));
    }
    let duration = match p.get("DurationSeconds") {
        None => DEFAULT_DURATION,
        Some(d) => match d.parse::<u64>() {
            Ok(n) if (MIN_DURATION..=MAX_DURATION).contains(&n) => n,
            _ => {
                return Err(validation(
                    "durationSeconds",
                    d,
                    "Member must have value between 900 and 43200",
                ))
            }
        },
    };
    Ok(Params {
        role_arn,
        session_name,
        token,
        duration,
    })
}

/// Uppercase letters and digits, as AWS access keys are.
fn access_key() -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rngs::OsRng;
    let tail: String = (0..16)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect();
    format!("ASIA{tail}")
}

/// When credentials for `id` asked to last `duration` seconds stop working.
fn expiry_ms(id: &WebIdentity, now_ms: i64, duration: u64, max: Duration) -> i64 {
    let token_exp = id
        .expires_at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    token_exp
        .min(now_ms.saturating_add(duration as i64 * 1000))
        .min(now_ms.saturating_add(max.as_millis() as i64))
}

pub async fn assume_role(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let call = inc.call::<rpc::AuthSts>()?.msg;
    let params = parse(&call.op.form)?;
    let id = oidc::web_identity_for(worker, &params.token, Some(&params.role_arn)).await?;
    let now_ms = crate::store::unix_ms();
    let expires_ms = expiry_ms(&id, now_ms, params.duration, worker.cfg().sts_max_duration);
    if expires_ms <= now_ms {
        return Err(S3Error::expired_token_exception(
            "Token expired: current date/time is past the token's exp",
        ));
    }
    let mut rng = rand::rngs::OsRng;
    let cred = Credential::session(
        &access_key(),
        &Alphanumeric.sample_string(&mut rng, 40),
        &Alphanumeric.sample_string(&mut rng, 96),
        expires_ms,
        &id.owner_id,
        &id.subject,
        id.policy.clone(),
    )
    .map_err(S3Error::internal)?;
    store(worker)
        .await?
        .put(&cred)
        .await
        .map_err(S3Error::internal)?;
    tracing::info!(
        access_key = %cred.access_key,
        rule = %id.rule,
        subject = %id.subject,
        expires_ms,
        "STS temporary credentials issued"
    );
    let reply = StsCredentials {
        assumed_role_arn: format!(
            "arn:aws:sts::000000000000:assumed-role/{}/{}",
            id.rule, params.session_name
        ),
        assumed_role_id: format!("{}:{}", cred.access_key, params.session_name),
        access_key_id: cred.access_key,
        secret_access_key: cred.secret_key,
        session_token: cred.session_token.unwrap_or_default(),
        expiration_ms: expires_ms,
        subject: id.subject,
        audience: id.audience,
        provider: id.issuer,
    };
    inc.reply::<rpc::AuthSts>(&reply, &[]).await
}

/// The temporary credentials `access_key` names, when `token` is theirs and they have
/// not expired: `InvalidToken` for a token that is not the session's (or no such
/// session), `ExpiredToken` after expiry. The token is compared in constant time.
pub(crate) async fn session_credential(
    worker: &Worker,
    access_key: &str,
    token: &str,
) -> Result<Credential, S3Error> {
    let cred = store(worker)
        .await?
        .get_session(access_key)
        .await
        .map_err(S3Error::internal)?
        .ok_or_else(S3Error::invalid_token)?;
    let stored = cred.session_token.as_deref().unwrap_or_default();
    if stored.is_empty() || !bool::from(stored.as_bytes().ct_eq(token.as_bytes())) {
        return Err(S3Error::invalid_token());
    }
    live(cred)
}

/// Refuses temporary credentials past their expiry.
pub(crate) fn live(cred: Credential) -> Result<Credential, S3Error> {
    if cred.expired_at(crate::store::unix_ms()) {
        return Err(S3Error::expired_token());
    }
    Ok(cred)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::SystemTime;

    use jetgate_protocol::policy::Policy;
    use jetgate_protocol::S3ErrorCode;

    use super::*;

    const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.e30.c2ln";

    fn form(extra: &str) -> String {
        format!("Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A000000000000%3Arole%2Fteam-a&RoleSessionName=s1&WebIdentityToken={TOKEN}{extra}")
    }

    #[test]
    fn the_form_boto3_sends_parses() {
        let p = parse(&form("&DurationSeconds=900")).unwrap();
        assert_eq!(p.role_arn, "arn:aws:iam::000000000000:role/team-a");
        assert_eq!(p.token, TOKEN);
        assert_eq!(p.duration, 900);
        assert_eq!(parse(&form("")).unwrap().duration, 3600);
    }

    #[test]
    fn bad_forms_get_sts_errors() {
        let code = |f: &str| parse(f).unwrap_err().code;
        assert_eq!(
            code(&form("&DurationSeconds=899")),
            S3ErrorCode::ValidationError
        );
        assert_eq!(
            code(&form("&DurationSeconds=43201")),
            S3ErrorCode::ValidationError
        );
        assert_eq!(
            code(&form("&DurationSeconds=x")),
            S3ErrorCode::ValidationError
        );
        assert_eq!(
            code(&form("&Policy=%7B%7D")),
            S3ErrorCode::InvalidParameterValue
        );
        assert_eq!(
            code(&form("&RoleSessionName=s2")),
            S3ErrorCode::InvalidParameterValue
        );
        assert_eq!(
            code(&form("").replace("AssumeRoleWithWebIdentity", "AssumeRole")),
            S3ErrorCode::InvalidAction
        );
        assert_eq!(
            code("Action=AssumeRoleWithWebIdentity"),
            S3ErrorCode::MissingParameter
        );
        assert_eq!(
            code(&form("").replace("=s1", "=a%20b")),
            S3ErrorCode::ValidationError
        );
        assert_eq!(code(""), S3ErrorCode::MissingParameter);
        assert_eq!(code("%%%&&=="), S3ErrorCode::MissingParameter);
    }

    #[test]
    fn expiry_is_the_earliest_of_token_request_and_cap() {
        let now_ms = 1_000_000_000_000;
        let id = |exp_s: u64| WebIdentity {
            subject: "s".into(),
            issuer: "i".into(),
            owner_id: "o".into(),
            rule: "r".into(),
            policy: Policy::default(),
            expires_at: SystemTime::UNIX_EPOCH + Duration::from_secs(exp_s),
            audience: "a".into(),
        };
        let far = id(2_000_000_000);
        let cap = Duration::from_secs(43200);
        assert_eq!(expiry_ms(&far, now_ms, 900, cap), now_ms + 900_000);
        assert_eq!(
            expiry_ms(&far, now_ms, 43200, Duration::from_secs(1000)),
            now_ms + 1_000_000
        );
        let soon = id(1_000_000_010);
        assert_eq!(expiry_ms(&soon, now_ms, 3600, cap), 1_000_000_010_000);
        assert!(access_key().starts_with("ASIA") && access_key().len() == 20);
    }
}
