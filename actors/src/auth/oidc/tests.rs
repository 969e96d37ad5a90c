//! The verifier against tokens signed here with freshly generated RSA and P-256 keys.

#![allow(clippy::unwrap_used)]

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use super::jwks::KeySet;
use super::{verify_with, OidcError};

const ISS: &str = "https://issuer.test";
const AUD: &str = "jetgate";

struct Signer {
    kid: &'static str,
    alg: Algorithm,
    key: EncodingKey,
    jwk: Value,
}

fn rsa(kid: &'static str) -> Signer {
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    let der = AsDer::as_der(&pair).unwrap();
    signer(
        kid,
        Algorithm::RS256,
        EncodingKey::from_rsa_der(&pkcs1_of_pkcs8(der.as_ref())),
    )
}

/// The PKCS#1 `RSAPrivateKey` inside a PKCS#8 `PrivateKeyInfo` (what aws-lc-rs exports;
/// jsonwebtoken's `from_rsa_der` takes PKCS#1): SEQUENCE { version, algorithm,
/// OCTET STRING { key } }.
fn pkcs1_of_pkcs8(der: &[u8]) -> Vec<u8> {
    // (tag, header length, content length) of the DER element at `at`.
    fn element(der: &[u8], at: usize) -> (u8, usize, usize) {
        let first = der[at + 1] as usize;
        if first < 0x80 {
            return (der[at], 2, first);
        }
        let n = first & 0x7f;
        let len = der[at + 2..at + 2 + n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (der[at], 2 + n, len)
    }
    let (_, outer, _) = element(der, 0);
    let (_, vh, vl) = element(der, outer);
    let alg = outer + vh + vl;
    let (_, ah, al) = element(der, alg);
    let key = alg + ah + al;
    let (tag, kh, kl) = element(der, key);
    assert_eq!(tag, 0x04, "PKCS#8 without an OCTET STRING key");
    der[key + kh..key + kh + kl].to_vec()
}

fn ec(kid: &'static str) -> Signer {
    let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
        .unwrap();
    signer(
        kid,
        Algorithm::ES256,
        EncodingKey::from_ec_der(doc.as_ref()),
    )
}

fn signer(kid: &'static str, alg: Algorithm, key: EncodingKey) -> Signer {
    let mut jwk = serde_json::to_value(Jwk::from_encoding_key(&key, alg).unwrap()).unwrap();
    jwk["kid"] = json!(kid);
    Signer { kid, alg, key, jwk }
}

fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

fn claims() -> Value {
    json!({
        "iss": ISS,
        "aud": [AUD, "other"],
        "sub": "system:serviceaccount:team-a:builder",
        "exp": now() + 600,
        "iat": now(),
    })
}

impl Signer {
    fn sign(&self, claims: &Value) -> String {
        let mut h = Header::new(self.alg);
        h.kid = Some(self.kid.to_string());
        jsonwebtoken::encode(&h, claims, &self.key).unwrap()
    }
}

fn set(signers: &[&Signer]) -> KeySet {
    let doc = json!({"keys": signers.iter().map(|s| s.jwk.clone()).collect::<Vec<_>>()});
    KeySet::parse(doc.to_string().as_bytes()).unwrap()
}

fn check(token: &str, keys: &KeySet) -> Result<super::VerifiedToken, OidcError> {
    verify_with(token, keys, ISS, AUD)
}

#[test]
fn valid_rs256_and_es256_tokens_are_accepted() {
    let (r, e) = (rsa("r1"), ec("e1"));
    let keys = set(&[&r, &e]);
    for s in [&r, &e] {
        let v = check(&s.sign(&claims()), &keys).unwrap();
        assert_eq!(v.subject, "system:serviceaccount:team-a:builder");
        assert_eq!(v.issuer, ISS);
        assert_eq!(v.claims["aud"], json!([AUD, "other"]));
    }
    // A single-string audience works too.
    let mut c = claims();
    c["aud"] = json!(AUD);
    assert!(check(&r.sign(&c), &keys).is_ok());
}

#[test]
fn expired_wrong_audience_wrong_issuer_and_premature_are_refused() {
    let r = rsa("r1");
    let keys = set(&[&r]);
    let mut c = claims();
    c["exp"] = json!(now() - 120);
    assert!(matches!(check(&r.sign(&c), &keys), Err(OidcError::Expired)));
    let mut c = claims();
    c["aud"] = json!("someone-else");
    assert!(matches!(
        check(&r.sign(&c), &keys),
        Err(OidcError::Audience)
    ));
    let mut c = claims();
    c["iss"] = json!("https://evil.test");
    assert!(matches!(check(&r.sign(&c), &keys), Err(OidcError::Issuer)));
    let mut c = claims();
    c["nbf"] = json!(now() + 600);
    assert!(matches!(
        check(&r.sign(&c), &keys),
        Err(OidcError::NotYetValid)
    ));
    // Claims with the wrong JSON type are refused, never taken as absent.
    let mut c = claims();
    c["nbf"] = json!((now() + 600).to_string());
    assert!(check(&r.sign(&c), &keys).is_err());
    let mut c = claims();
    c["exp"] = json!("never");
    assert!(check(&r.sign(&c), &keys).is_err());
    let mut c = claims();
    c.as_object_mut().unwrap().remove("sub");
    assert!(check(&r.sign(&c), &keys).is_err());
    let mut c = claims();
    c.as_object_mut().unwrap().remove("aud");
    assert!(check(&r.sign(&c), &keys).is_err());
}

#[test]
fn another_key_unknown_kid_none_and_hmac_with_the_public_key_are_refused() {
    let (r, other) = (rsa("r1"), rsa("r1"));
    let keys = set(&[&r]);
    // Same kid, other key.
    assert!(matches!(
        check(&other.sign(&claims()), &keys),
        Err(OidcError::Signature)
    ));
    // A kid the set does not have: the caller may refetch.
    let stranger = rsa("r2");
    assert!(matches!(
        check(&stranger.sign(&claims()), &keys),
        Err(OidcError::UnknownKey)
    ));
    // alg none, built by hand with the right kid and an empty signature.
    let header = B64URL.encode(br#"{"alg":"none","typ":"JWT","kid":"r1"}"#);
    let body = B64URL.encode(claims().to_string());
    for token in [format!("{header}.{body}."), format!("{header}.{body}")] {
        assert!(matches!(check(&token, &keys), Err(OidcError::Malformed(_))));
    }
    // HS256 keyed with the public key's bytes (the JWK's modulus, and its DER).
    let n = B64URL.decode(r.jwk["n"].as_str().unwrap()).unwrap();
    let spki = r.jwk.to_string().into_bytes();
    for secret in [n, spki] {
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some("r1".into());
        let token =
            jsonwebtoken::encode(&h, &claims(), &EncodingKey::from_secret(&secret).unwrap())
                .unwrap();
        assert!(matches!(check(&token, &keys), Err(OidcError::Algorithm(_))));
    }
    // An RS256 key cannot be used with an ES256 header either.
    let e = ec("r1");
    assert!(matches!(
        check(&e.sign(&claims()), &keys),
        Err(OidcError::Algorithm(_))
    ));
    // Garbage and oversized tokens.
    assert!(check("not.a.jwt", &keys).is_err());
    assert!(check(&"a".repeat(super::MAX_TOKEN + 1), &keys).is_err());
}

#[test]
fn jwks_parsing_skips_hmac_and_encryption_keys() {
    let r = rsa("r1");
    let mut enc = r.jwk.clone();
    enc["use"] = json!("enc");
    enc["kid"] = json!("enc");
    let doc = json!({"keys": [
        {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac", "alg": "HS256"},
        enc,
        {"kty": "RSA", "kid": "broken"},
        {"kty": "weird"},
        r.jwk,
    ]});
    let keys = KeySet::parse(doc.to_string().as_bytes()).unwrap();
    assert_eq!(keys.keys.len(), 1);
    assert_eq!(keys.keys[0].kid.as_deref(), Some("r1"));
    assert_eq!(keys.keys[0].alg, Algorithm::RS256);
    assert!(KeySet::parse(br#"{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}"#).is_err());
    assert!(KeySet::parse(b"[]").is_err());
    assert!(KeySet::parse(b"\xff").is_err());
    // A token naming the HMAC "key" finds nothing to verify with.
    let mut h = Header::new(Algorithm::HS256);
    h.kid = Some("hmac".into());
    let token =
        jsonwebtoken::encode(&h, &claims(), &EncodingKey::from_secret(b"secret").unwrap()).unwrap();
    assert!(matches!(check(&token, &keys), Err(OidcError::UnknownKey)));
}

#[tokio::test]
async fn a_file_key_set_picks_up_a_rotated_key_on_an_unknown_kid() {
    use std::time::Duration;

    use super::{OidcConfig, OidcVerifier};

    let dir = tempdir();
    let path = dir.join("jwks.json");
    let (old, new) = (rsa("old"), ec("new"));
    std::fs::write(&path, json!({"keys": [old.jwk]}).to_string()).unwrap();
    let verifier = || {
        OidcVerifier::new(OidcConfig {
            issuer: ISS.into(),
            audience: AUD.into(),
            jwks_file: Some(path.clone()),
            jwks_refresh: Duration::from_secs(3600),
        })
        .unwrap()
    };
    // Rate limited (the default): a second read within 10 s does not happen, so a
    // rotated-in kid is refused until then.
    let limited = verifier();
    assert!(limited.verify(&old.sign(&claims())).await.is_ok());
    std::fs::write(&path, json!({"keys": [new.jwk]}).to_string()).unwrap();
    assert!(matches!(
        limited.verify(&new.sign(&claims())).await,
        Err(OidcError::UnknownKey)
    ));
    std::fs::write(&path, json!({"keys": [old.jwk]}).to_string()).unwrap();
    let mut v = verifier();
    v.keys.set_min_refetch(Duration::ZERO);
    assert!(v.verify(&old.sign(&claims())).await.is_ok());
    std::fs::write(&path, json!({"keys": [new.jwk]}).to_string()).unwrap();
    // The new kid is unknown to the cached set: one refetch finds it.
    assert!(v.verify(&new.sign(&claims())).await.is_ok());
    // The old key is gone from the set now.
    assert!(v.verify(&old.sign(&claims())).await.is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "jg-oidc-{}-{}",
        std::process::id(),
        jsonwebtoken::get_current_timestamp()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}
