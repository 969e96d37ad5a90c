//! An OIDC issuer's keys for the web-identity tests: a P-256 key (ES256), its public
//! JWK (`kid` k1), and tokens it signs.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

/// A P-256 key (ES256) and its public JWK, `kid` k1.
pub fn ec_key() -> (EncodingKey, Value) {
    let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
        .expect("P-256 key");
    let key = EncodingKey::from_ec_der(doc.as_ref());
    let mut jwk =
        serde_json::to_value(Jwk::from_encoding_key(&key, Algorithm::ES256).expect("jwk"))
            .expect("json");
    jwk["kid"] = json!("k1");
    (key, jwk)
}

/// `claims` as an ES256 token naming key k1.
pub fn sign_es256(key: &EncodingKey, claims: &Value) -> String {
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some("k1".into());
    jsonwebtoken::encode(&h, claims, key).expect("sign")
}
