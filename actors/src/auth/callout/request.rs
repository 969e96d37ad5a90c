//! nats-server's authorization request (ADR-26) and the response it takes back.

use nkeys::KeyPair;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::nats_jwt::{self, Claims, JwtError};

/// What the server says about one connecting client. `Debug` never prints the secret.
pub struct AuthRequest {
    /// The server's public key: the response's audience.
    pub server_id: String,
    /// The per-connection user key the issued JWT must name as its subject.
    pub user_nkey: String,
    pub login: Login,
    /// For logs: the client's address as the server saw it.
    pub client_host: String,
}

/// What the client presented.
pub enum Login {
    Password { user: String, password: String },
    Token(String),
    None,
}

impl std::fmt::Debug for AuthRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let login = match &self.login {
            Login::Password { user, .. } => format!("password for {user}"),
            Login::Token(_) => "token".into(),
            Login::None => "none".into(),
        };
        f.debug_struct("AuthRequest")
            .field("server_id", &self.server_id)
            .field("user_nkey", &self.user_nkey)
            .field("login", &login)
            .field("client_host", &self.client_host)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error(transparent)]
    Jwt(#[from] JwtError),
    #[error("not an authorization request: {0}")]
    Shape(String),
}

#[derive(Deserialize)]
struct Body {
    iss: String,
    nats: Nats,
}

#[derive(Deserialize)]
struct Nats {
    #[serde(rename = "type")]
    kind: String,
    server_id: ServerId,
    user_nkey: String,
    #[serde(default)]
    connect_opts: ConnectOpts,
    #[serde(default)]
    client_info: ClientInfo,
}

#[derive(Deserialize)]
struct ServerId {
    id: String,
}

#[derive(Deserialize, Default)]
struct ConnectOpts {
    user: Option<String>,
    pass: Option<String>,
    auth_token: Option<String>,
}

#[derive(Deserialize, Default)]
struct ClientInfo {
    #[serde(default)]
    host: String,
}

/// Reads a request: signed by the server it names, of the right type, for a user key.
/// Only the server can publish on `$SYS.REQ.USER.AUTH` in the callout account, so the
/// signature guards against a request altered or made up elsewhere, not against a
/// rogue publisher.
pub fn parse(payload: &[u8]) -> Result<AuthRequest, RequestError> {
    let text = std::str::from_utf8(payload).map_err(|_| RequestError::Shape("not UTF-8".into()))?;
    let claims = nats_jwt::decode_verified(text)?;
    let body: Body =
        serde_json::from_value(claims).map_err(|e| RequestError::Shape(e.to_string()))?;
    if body.nats.kind != "authorization_request" {
        return Err(RequestError::Shape(format!("type {}", body.nats.kind)));
    }
    if body.iss != body.nats.server_id.id {
        return Err(RequestError::Shape("signed by another server".into()));
    }
    if !body.nats.user_nkey.starts_with('U')
        || KeyPair::from_public_key(&body.nats.user_nkey).is_err()
    {
        return Err(RequestError::Shape("user_nkey is not a user key".into()));
    }
    let o = body.nats.connect_opts;
    let login = match (o.user, o.pass, o.auth_token) {
        (Some(user), Some(password), _) if !user.is_empty() => Login::Password { user, password },
        (_, _, Some(token)) if !token.is_empty() => Login::Token(token),
        _ => Login::None,
    };
    Ok(AuthRequest {
        server_id: body.nats.server_id.id,
        user_nkey: body.nats.user_nkey,
        login,
        client_host: body.nats.client_info.host,
    })
}

/// The server's answer: the user JWT, or the reason there is none.
pub fn respond(
    issuer: &KeyPair,
    req: &AuthRequest,
    outcome: Result<String, String>,
) -> Result<String, JwtError> {
    let mut nats = json!({"type": "authorization_response", "version": 2});
    match outcome {
        Ok(jwt) => nats["jwt"] = Value::String(jwt),
        Err(e) => nats["error"] = Value::String(e),
    }
    nats_jwt::encode(
        issuer,
        Claims {
            subject: &req.user_nkey,
            name: "",
            audience: Some(&req.server_id),
            expires: None,
            nats,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(server: &KeyPair, iss: &KeyPair, kind: &str, opts: Value) -> Vec<u8> {
        let user = KeyPair::new_user().public_key();
        nats_jwt::encode(
            iss,
            Claims {
                subject: "nats_user_auth_request",
                name: "",
                audience: None,
                expires: Some(nats_jwt::now_secs() + 2),
                nats: json!({
                    "type": kind,
                    "server_id": {"id": server.public_key(), "name": "A"},
                    "user_nkey": user,
                    "connect_opts": opts,
                    "client_info": {"host": "127.0.0.1"},
                    "version": 2,
                }),
            },
        )
        .expect("encode")
        .into_bytes()
    }

    #[test]
    fn password_and_token_logins_are_read() {
        let server = KeyPair::new_server();
        let r = parse(&request(
            &server,
            &server,
            "authorization_request",
            json!({"user": "AK", "pass": "secret"}),
        ))
        .expect("parse");
        assert!(
            matches!(&r.login, Login::Password { user, password } if user == "AK" && password == "secret")
        );
        assert!(!format!("{r:?}").contains("secret"));
        let r = parse(&request(
            &server,
            &server,
            "authorization_request",
            json!({"auth_token": "eyJ"}),
        ))
        .expect("parse");
        assert!(matches!(r.login, Login::Token(t) if t == "eyJ"));
    }

    #[test]
    fn requests_from_another_signer_or_of_another_type_are_refused() {
        let server = KeyPair::new_server();
        let other = KeyPair::new_server();
        let opts = json!({"user": "AK", "pass": "x"});
        assert!(parse(&request(
            &server,
            &other,
            "authorization_request",
            opts.clone()
        ))
        .is_err());
        assert!(parse(&request(&server, &server, "user", opts)).is_err());
        assert!(parse(b"\xff\xfe").is_err());
    }

    #[test]
    fn response_names_server_and_user() {
        let server = KeyPair::new_server();
        let issuer = KeyPair::new_account();
        let r = parse(&request(
            &server,
            &server,
            "authorization_request",
            json!({}),
        ))
        .expect("parse");
        let jwt = respond(&issuer, &r, Err("no".into())).expect("respond");
        let c = nats_jwt::decode_verified(&jwt).expect("verifies");
        assert_eq!(c["aud"], server.public_key());
        assert_eq!(c["sub"], r.user_nkey);
        assert_eq!(c["iss"], issuer.public_key());
        assert_eq!(c["nats"]["error"], "no");
    }
}
