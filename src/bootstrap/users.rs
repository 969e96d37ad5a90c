//! The permission table of `jetgate nats bootstrap`: one NATS user per kind of jetgate
//! process, the account it lives in, and what it may publish and subscribe to. The same
//! table, as plain users, is `deploy/nats/accounts.conf`; `deploy/nats/operator/README.md`
//! explains it row by row.

use serde_json::{json, Value};

/// Name of the credential KV bucket's stream; only auth and admin may reach it.
const CRED_STREAM: &str = "KV_jetgate-credentials";

/// The KV subjects of STS temporary credentials (`sts.<access key>`), the only keys of
/// the credential store the auth workers write.
const SESSION_KEYS: &str = "$KV.jetgate-credentials.sts.>";

/// Stream of the multipart upload-state KV, which the multipart role creates on first use.
const UPLOADS_STREAM: &str = "KV_jetgate-uploads";

/// Usage records: every worker that ends S3 requests publishes them (only workers: the
/// edge may not, so it cannot author usage) and creates their stream by its exact name
/// when it is missing.
fn usage_pub() -> Vec<String> {
    vec![jetgate_actors::usage::SUBJECTS.to_string()]
}

/// The account a user belongs to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Home {
    /// Edge, data workers, admin: object stores, upload state, S3 calls.
    Gateway,
    /// Auth workers and the credentials admin: the credential store, nothing else.
    Auth,
}

/// One NATS user per kind of jetgate process.
pub(super) struct UserSpec {
    pub name: &'static str,
    pub home: Home,
    /// `None`: no restrictions within its account (admin, auth-admin).
    pub permissions: Option<Value>,
}

/// What AUTH exports and the gateway account imports: the auth service, and its
/// discovery so `nats micro ls` / `jetgate services` in the gateway account see auth
/// workers beside the data roles (nats-server delivers `$SRV.PING` to the local
/// subscribers and to the import alike; tested in tests/operator.rs).
pub(super) const AUTH_EXPORTS: &[(&str, &str)] =
    &[("jetgate.v1.auth.>", "Singleton"), ("$SRV.>", "Stream")];

/// The credential bucket as JetStream API subjects (stream/consumer info, direct get…).
fn cred_api() -> Vec<String> {
    vec![
        format!("$JS.API.*.*.{CRED_STREAM}"),
        format!("$JS.API.*.*.{CRED_STREAM}.>"),
        format!("$JS.API.*.*.*.{CRED_STREAM}"),
        format!("$JS.API.DIRECT.GET.{CRED_STREAM}"),
        format!("$JS.API.DIRECT.GET.{CRED_STREAM}.>"),
    ]
}

/// Reading the credential bucket: its info, records by direct or message get, and the
/// consumers a KV watch makes. Nothing that changes the stream's config or deletes a
/// record: a stream update (a subject transform, a republish) would turn the session
/// keys auth may write into long-term keys, or copy the store elsewhere.
fn cred_read_api() -> Vec<String> {
    vec![
        format!("$JS.API.STREAM.INFO.{CRED_STREAM}"),
        format!("$JS.API.STREAM.MSG.GET.{CRED_STREAM}"),
        format!("$JS.API.DIRECT.GET.{CRED_STREAM}"),
        format!("$JS.API.DIRECT.GET.{CRED_STREAM}.>"),
        format!("$JS.API.CONSUMER.CREATE.{CRED_STREAM}"),
        format!("$JS.API.CONSUMER.CREATE.{CRED_STREAM}.>"),
        format!("$JS.API.CONSUMER.DELETE.{CRED_STREAM}.>"),
        format!("$JS.API.CONSUMER.INFO.{CRED_STREAM}.>"),
    ]
}

/// What the gateway's workers may not publish: the credential bucket's names. The store
/// is in another account, so this only keeps a worker from planting a look-alike bucket
/// in the gateway account that an auth worker given the wrong creds would trust.
fn cred_deny() -> Vec<String> {
    let mut d = cred_api();
    d.push("$KV.jetgate-credentials.>".into());
    d
}

/// The JetStream API the multipart and object roles use, and nothing that creates,
/// changes or deletes a stream (but the upload-state KV's and the usage stream's, by
/// their exact names, before they exist). A
/// stream's config can mirror, source or republish anything in the account, which
/// subject permissions cannot see, so the roles that handle object bytes get none: the
/// listing role, in its own process as `listing`, is the one that creates buckets.
fn data_api() -> Vec<String> {
    let mut api: Vec<String> = [
        "$JS.API.INFO",
        "$JS.API.STREAM.INFO.>",
        "$JS.API.STREAM.LIST",
        "$JS.API.STREAM.NAMES",
        "$JS.API.STREAM.MSG.GET.>",
        "$JS.API.STREAM.MSG.DELETE.>",
        "$JS.API.STREAM.PURGE.>",
        "$JS.API.DIRECT.GET.>",
        "$JS.API.CONSUMER.>",
    ]
    .map(String::from)
    .to_vec();
    api.push(format!("$JS.API.STREAM.CREATE.{UPLOADS_STREAM}"));
    api.push(format!(
        "$JS.API.STREAM.CREATE.{}",
        jetgate_actors::usage::STREAM
    ));
    api
}

/// Each process may answer the requests it receives (`allow_responses`), which is how
/// replies reach another user's private inbox without a publish permission there. A
/// connection may answer a request once however many of its subscriptions received it,
/// so broadcast discovery (`$SRV.PING` to two services on one data connection) is
/// answered to the `_INBOX_svc` prefix instead, which workers may publish to (auth
/// workers host one service and answer through the import's reply mapping).
fn responses() -> Value {
    json!({"max": 1, "ttl": 0})
}

/// Where the callout account sees the gateway account's read-only stream API
/// (`jetgate authz --gateway-js-prefix`): (gateway subject, local subject).
pub(super) const GATEWAY_JS_IMPORTS: &[(&str, &str)] = &[
    ("$JS.API.STREAM.NAMES", "jetgate.gw.js.STREAM.NAMES"),
    ("$JS.API.STREAM.INFO.*", "jetgate.gw.js.STREAM.INFO.*"),
];

/// The users `--auth-callout` adds to AUTH: `authz` (the callout service: reads the
/// credentials like auth, the gateway's stream names and infos through
/// [`GATEWAY_JS_IMPORTS`], and answers `$SYS.REQ.USER.AUTH`), and `sentinel`, the
/// bearer login NATS clients present with their S3 key as user and password: it may do
/// nothing, and the callout replaces it with the key's own user.
pub(super) fn callout_users() -> Vec<UserSpec> {
    let mut authz_pub = vec!["$JS.API.INFO".to_string(), "$JS.FC.>".into()];
    authz_pub.extend(cred_read_api());
    authz_pub.extend(
        GATEWAY_JS_IMPORTS
            .iter()
            .map(|(_, local)| local.to_string()),
    );
    vec![
        UserSpec {
            name: "authz",
            home: Home::Auth,
            permissions: Some(json!({
                "pub": {"allow": authz_pub},
                "sub": {"allow": ["$SYS.REQ.USER.AUTH q", "$SRV.>", "_INBOX_authz.>"]},
                "resp": responses(),
            })),
        },
        UserSpec {
            name: "sentinel",
            home: Home::Auth,
            permissions: Some(json!({
                "bearer_token": true,
                "pub": {"deny": [">"]},
                "sub": {"deny": [">"]},
            })),
        },
    ]
}

/// What the auth role publishes: the credential bucket's API, nothing else.
fn auth_publish() -> Vec<String> {
    let mut auth_pub = vec![
        "$JS.API.INFO".to_string(),
        "$JS.FC.>".into(),
        format!("$JS.ACK.{CRED_STREAM}.>"),
        // STS temporary credentials, and nothing else in the store: long-term keys and
        // web-identity rules are written by auth-admin only.
        SESSION_KEYS.into(),
        // The first auth worker creates the bucket; a create of an existing stream with
        // another config fails, so it changes nothing.
        format!("$JS.API.STREAM.CREATE.{CRED_STREAM}"),
        // The sweep of expired sessions purges by subject. A purge without one would
        // empty the store: a compromised auth worker can deny logins, not grant one.
        format!("$JS.API.STREAM.PURGE.{CRED_STREAM}"),
    ];
    auth_pub.extend(cred_read_api());
    auth_pub
}

/// The permission table of deploy/nats/operator/README.md. Inboxes are private: each
/// user subscribes only to its own prefix (`_INBOX_<user>`, replies) and stream prefix
/// (`_INBOX_<user>_S`, body streams, see `protocol::mux`); the only other inbox subjects
/// it may publish to are the body-stream routes of the components it streams with.
pub(super) fn users() -> Vec<UserSpec> {
    let auth_pub = auth_publish();
    let mut data_pub: Vec<String> = [
        "jetgate.v1.auth.>",
        "_INBOX_edge_S.>",
        "_INBOX_svc.>",
        "$JS.FC.>",
        "$JS.ACK.>",
        // Objects: chunks and metadata; upload state: KV puts.
        "$O.>",
        "$KV.>",
    ]
    .map(String::from)
    .to_vec();
    data_pub.extend(data_api());
    data_pub.extend(usage_pub());
    let mut listing_pub: Vec<String> = [
        "jetgate.v1.auth.>",
        "_INBOX_edge_S.>",
        "_INBOX_svc.>",
        "$JS.API.>",
        "$JS.FC.>",
        // DeleteBucket's sentinel on a bucket closed to writers
        // (actors/src/store/closing.rs); no stream takes it otherwise.
        "$O.*.closing",
        // One writer at a time per bucket configuration
        // (actors/src/store/config_lock.rs).
        "$KV.jetgate-bucket-locks.>",
    ]
    .map(String::from)
    .to_vec();
    listing_pub.extend(usage_pub());
    vec![
        UserSpec {
            name: "edge",
            home: Home::Gateway,
            permissions: Some(json!({
                "pub": {"allow": [
                    "jetgate.v1.>", "$SRV.PING.>", "$SRV.INFO.>",
                    "_INBOX_data_S.>", "_INBOX_listing_S.>",
                ]},
                "sub": {"allow": ["_INBOX_edge.>", "_INBOX_edge_S.>"]},
            })),
        },
        UserSpec {
            name: "auth",
            home: Home::Auth,
            permissions: Some(json!({
                "pub": {"allow": auth_pub},
                "sub": {"allow": ["jetgate.v1.auth.> q", "$SRV.>", "_INBOX_auth.>", "_INBOX_auth_S.>"]},
                "resp": responses(),
            })),
        },
        // The listing role: buckets (create, delete, CORS rules in the stream config)
        // and listings. The one worker that may create, update and delete streams;
        // it writes no object.
        UserSpec {
            name: "listing",
            home: Home::Gateway,
            permissions: Some(json!({
                "pub": {
                    "allow": listing_pub,
                    "deny": cred_deny(),
                },
                "sub": {"allow": [
                    "jetgate.v1.listing.> q",
                    "$SRV.>",
                    "_INBOX_listing.>",
                    "_INBOX_listing_S.>",
                ]},
                "resp": responses(),
            })),
        },
        // The multipart and object roles: every object byte, no stream changes.
        UserSpec {
            name: "data",
            home: Home::Gateway,
            permissions: Some(json!({
                "pub": {"allow": data_pub, "deny": cred_deny()},
                "sub": {"allow": [
                    "jetgate.v1.multipart.> q",
                    "jetgate.v1.object.> q",
                    "$SRV.>",
                    "_INBOX_data.>",
                    "_INBOX_data_S.>",
                ]},
                "resp": responses(),
            })),
        },
        UserSpec {
            name: "admin",
            home: Home::Gateway,
            permissions: None,
        },
        // `jetgate credentials ...`: the only way besides auth into the credential store.
        UserSpec {
            name: "auth-admin",
            home: Home::Auth,
            permissions: None,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(n: &str) -> Value {
        users()
            .into_iter()
            .find(|u| u.name == n)
            .and_then(|u| u.permissions)
            .expect("restricted user")
    }

    #[test]
    fn edge_may_not_use_jetstream_and_workers_may_not_read_credentials() {
        let us = users();
        let edge = get("edge").to_string();
        assert!(!edge.contains("$JS"), "{edge}");
        for worker in ["data", "listing"] {
            let p = get(worker);
            assert!(p["pub"]["deny"]
                .as_array()
                .expect("deny list")
                .iter()
                .any(|s| s == "$JS.API.DIRECT.GET.KV_jetgate-credentials.>"));
            let sub = p["sub"]["allow"].to_string();
            assert!(!sub.contains("jetgate.v1.auth"), "{sub}");
        }
        // Private inboxes: nobody but admin subscribes to another user's replies, and
        // nobody may publish into another user's reply inbox.
        let restricted = ["edge", "auth", "listing", "data"];
        for u in restricted {
            let p = get(u);
            let subs = p["sub"]["allow"].to_string();
            assert!(!subs.contains("\"_INBOX.>\""), "{u}: {subs}");
            for other in restricted.iter().filter(|o| **o != u) {
                assert!(
                    !subs.contains(&format!("_INBOX_{other}")),
                    "{u} sees {other}"
                );
            }
            let pubs = p["pub"]["allow"].to_string();
            for inbox in [
                "_INBOX",
                "_INBOX_edge",
                "_INBOX_auth",
                "_INBOX_listing",
                "_INBOX_data",
            ] {
                assert!(
                    !pubs.contains(&format!("\"{inbox}.>\"")),
                    "{u} publishes {inbox}"
                );
            }
        }
        assert!(us
            .iter()
            .any(|u| u.name == "admin" && u.permissions.is_none()));
        // Only auth and auth-admin live with the credential store.
        let homes: Vec<(&str, Home)> = us.iter().map(|u| (u.name, u.home)).collect();
        assert_eq!(
            homes,
            [
                ("edge", Home::Gateway),
                ("auth", Home::Auth),
                ("listing", Home::Gateway),
                ("data", Home::Gateway),
                ("admin", Home::Gateway),
                ("auth-admin", Home::Auth),
            ]
        );
    }

    /// What `user` may publish.
    fn pub_allow(user: &str) -> Vec<String> {
        get(user)["pub"]["allow"]
            .as_array()
            .expect("allow")
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect()
    }

    /// Auth writes temporary credentials, never a long-term key or a rule.
    #[test]
    fn auth_writes_only_session_credentials() {
        let pubs = pub_allow("auth");
        let may = |subject: &str| pubs.iter().any(|p| subject_matches(p, subject));
        assert!(may("$KV.jetgate-credentials.sts.ASIAEXAMPLE"));
        assert!(!may("$KV.jetgate-credentials.AKIDEXAMPLE"));
        assert!(!may("$KV.jetgate-credentials.webid.team-a"));
    }

    /// The object-handling roles cannot create, change or delete a stream (but the
    /// upload-state KV's and the usage stream's, by their exact names): no JetStream API wildcard that covers
    /// STREAM.CREATE/UPDATE/DELETE is granted to them. tests/least_privilege.rs tries
    /// it against a real server.
    #[test]
    fn data_may_not_change_streams() {
        let pubs = pub_allow("data");
        for p in &pubs {
            let covers_change = ["CREATE", "UPDATE", "DELETE"].iter().any(|verb| {
                let probe = format!("$JS.API.STREAM.{verb}.OBJ_x");
                subject_matches(p, &probe)
            });
            assert!(!covers_change, "data may publish {p}");
        }
        assert!(pubs.contains(&format!("$JS.API.STREAM.CREATE.{UPLOADS_STREAM}")));
        let listing = get("listing")["pub"]["allow"].to_string();
        assert!(listing.contains("\"$JS.API.>\""), "{listing}");
    }

    /// Usage records come from the workers that end S3 requests, never from the edge.
    #[test]
    fn only_workers_publish_usage_records() {
        let record = jetgate_actors::usage::subject("GetObject");
        let may = |user: &str| {
            get(user)["pub"]["allow"]
                .as_array()
                .expect("allow")
                .iter()
                .filter_map(|v| v.as_str())
                .any(|p| subject_matches(p, &record))
        };
        assert!(may("data") && may("listing"));
        assert!(!may("edge") && !may("auth"));
    }

    /// NATS subject matching of a permission pattern against a literal subject.
    fn subject_matches(pattern: &str, subject: &str) -> bool {
        let mut p = pattern.split('.');
        let mut s = subject.split('.');
        loop {
            match (p.next(), s.next()) {
                (Some(">"), Some(_)) => return true,
                (Some("*"), Some(_)) => {}
                (Some(a), Some(b)) if a == b => {}
                (None, None) => return true,
                _ => return false,
            }
        }
    }
}
