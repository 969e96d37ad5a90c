//! NATS v2 JWTs: `base64url(header).base64url(claims).base64url(ed25519 signature)`,
//! signed with the raw nkey of the issuer, as the Go `nats-io/jwt` library writes them.
//! `jetgate nats bootstrap` mints operator, account and user JWTs with it; the auth
//! callout reads the server's authorization requests and answers with user JWTs.
//!
//! Why not the `jsonwebtoken` crate: NATS JWTs carry `"alg": "ed25519-nkey"` and are
//! signed with the raw Ed25519 nkey of the issuer. jsonwebtoken's `Algorithm` is a closed
//! enum (it would write `"EdDSA"`, which nats-server rejects) and wants PKCS#8 keys.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use nkeys::KeyPair;
use serde_json::{json, Value};
use sha2::Digest;

#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("not a NATS JWT: {0}")]
    Malformed(&'static str),
    #[error("JWT signature does not verify with its issuer {0}")]
    BadSignature(String),
    #[error("JWT expired")]
    Expired,
    #[error("signing JWT: {0}")]
    Sign(String),
    #[error("encoding JWT: {0}")]
    Encode(#[from] serde_json::Error),
}

/// What a JWT says beyond its issuer (the signing key) and its fixed fields.
pub struct Claims<'a> {
    pub subject: &'a str,
    pub name: &'a str,
    pub audience: Option<&'a str>,
    /// Unix seconds.
    pub expires: Option<u64>,
    /// The `nats` object: type, version and the type's own fields.
    pub nats: Value,
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Signs `claims` with `issuer`.
pub fn encode(issuer: &KeyPair, claims: Claims<'_>) -> Result<String, JwtError> {
    let header = json!({"typ": "JWT", "alg": "ed25519-nkey"});
    let mut body = json!({
        "jti": "",
        "iat": now_secs(),
        "iss": issuer.public_key(),
        "name": claims.name,
        "sub": claims.subject,
        "nats": claims.nats,
    });
    if let Some(aud) = claims.audience {
        body["aud"] = Value::String(aud.to_string());
    }
    if let Some(exp) = claims.expires {
        body["exp"] = json!(exp);
    }
    // Like nats-io/jwt: the id is the base32 SHA-512/256 of the claims with an empty id.
    let digest = sha2::Sha512_256::digest(serde_json::to_vec(&body)?);
    body["jti"] = Value::String(data_encoding::BASE32_NOPAD.encode(&digest));
    let h = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?);
    let c = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&body)?);
    let signing_input = format!("{h}.{c}");
    let sig = issuer
        .sign(signing_input.as_bytes())
        .map_err(|e| JwtError::Sign(e.to_string()))?;
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}

/// The claims of a JWT whose signature verifies with the key its `iss` names, and that
/// has not expired. Who that issuer may be is the caller's question.
pub fn decode_verified(jwt: &str) -> Result<Value, JwtError> {
    let mut parts = jwt.trim().split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed("three parts"));
    };
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(h)
            .map_err(|_| JwtError::Malformed("header encoding"))?,
    )
    .map_err(|_| JwtError::Malformed("header JSON"))?;
    if header["alg"] != "ed25519-nkey" && header["alg"] != "ed25519" {
        return Err(JwtError::Malformed("algorithm"));
    }
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(c)
            .map_err(|_| JwtError::Malformed("claims encoding"))?,
    )
    .map_err(|_| JwtError::Malformed("claims JSON"))?;
    let sig = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| JwtError::Malformed("signature encoding"))?;
    let iss = claims["iss"]
        .as_str()
        .ok_or(JwtError::Malformed("issuer"))?;
    let key = KeyPair::from_public_key(iss).map_err(|_| JwtError::Malformed("issuer key"))?;
    key.verify(format!("{h}.{c}").as_bytes(), &sig)
        .map_err(|_| JwtError::BadSignature(iss.to_string()))?;
    if claims["exp"].as_u64().is_some_and(|exp| exp <= now_secs()) {
        return Err(JwtError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(nats: Value) -> Claims<'static> {
        Claims {
            subject: "S",
            name: "n",
            audience: None,
            expires: None,
            nats,
        }
    }

    #[test]
    fn signed_jwt_verifies_and_names_its_issuer() {
        let op = KeyPair::new_operator();
        let acct = KeyPair::new_account();
        let mut c = claims(json!({"type": "account"}));
        let sub = acct.public_key();
        c.subject = &sub;
        c.audience = Some("JETGATE");
        let jwt = encode(&op, c).expect("encode");
        let v = decode_verified(&jwt).expect("verifies");
        assert_eq!(v["iss"], op.public_key());
        assert_eq!(v["sub"], acct.public_key());
        assert_eq!(v["aud"], "JETGATE");
        assert_eq!(v["jti"].as_str().map(str::len), Some(52));
    }

    #[test]
    fn tampered_expired_or_foreign_jwts_are_refused() {
        let op = KeyPair::new_operator();
        let jwt = encode(&op, claims(json!({"type": "user"}))).expect("encode");
        let mut parts: Vec<String> = jwt.split('.').map(String::from).collect();
        let other =
            encode(&KeyPair::new_operator(), claims(json!({"type": "admin"}))).expect("encode");
        // Another issuer's claims under this signature.
        parts[1] = other.split('.').nth(1).unwrap_or_default().to_string();
        assert!(matches!(
            decode_verified(&parts.join(".")),
            Err(JwtError::BadSignature(_))
        ));
        let mut c = claims(json!({}));
        c.expires = Some(now_secs() - 1);
        let expired = encode(&op, c).expect("encode");
        assert!(matches!(decode_verified(&expired), Err(JwtError::Expired)));
        for bad in ["", "a.b", "a.b.c.d", "!!.??.**"] {
            assert!(decode_verified(bad).is_err(), "{bad}");
        }
    }
}
