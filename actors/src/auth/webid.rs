//! Web-identity rules: which OIDC tokens get which policy.
//!
//! A rule is a name, a list of claim matches and a [`Policy`]. It matches a verified
//! token when every one of its claim matches holds: the top-level claim is present and
//! its value equals the pattern, or starts with it when the pattern ends with `*`
//! (`sub=system:serviceaccount:team-a:*`). A string claim is compared as is, a number or
//! boolean as its JSON text, an array matches when any of its elements does (`groups`),
//! an object never matches.
//!
//! Rules live in the credential KV beside the keys, as plain JSON under
//! `webid.<name>` (no secret in them; a name is one KV token, so no access key, which is
//! only letters and digits, can collide). Only `jetgate credentials web-identity`
//! (auth-admin) writes them; auth workers read them.
//!
//! Choosing among rules ([`select`]): a role ARN whose last `/` segment names a rule
//! selects that rule alone (its claims must still match). Otherwise exactly one rule
//! must match: none is refused, and so are several — silently taking the first (or
//! the broadest) would let a rule added later change what an existing identity gets.
//! A stored rule that does not validate (an admin's mistake) never matches.

use jetgate_protocol::policy::Policy;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// KV key prefix of the rules.
pub const RULE_PREFIX: &str = "webid.";

/// Longest rule name (it becomes one KV key token and part of an ARN).
const MAX_NAME: usize = 64;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RuleError {
    #[error("invalid rule name {0:?}: use 1 to 64 letters, digits, '-' and '_'")]
    Name(String),
    #[error("invalid claim match {0:?}: use claim=value or claim=prefix*")]
    Claim(String),
    #[error("a rule needs at least one --claim")]
    NoClaims,
    #[error("a rule needs a restricting policy (--buckets, --prefixes or --operations): an unrestricted policy is an admin key")]
    Unrestricted,
}

/// Why no rule was chosen.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SelectError {
    #[error("no web-identity rule matches the token")]
    NoMatch,
    #[error("the token matches several web-identity rules: {0:?}")]
    Ambiguous(Vec<String>),
}

/// One `claim=pattern`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimMatch {
    pub claim: String,
    pub value: String,
}

impl ClaimMatch {
    /// Parses `claim=value` (the first `=` splits; the value may contain more).
    pub fn parse(s: &str) -> Result<Self, RuleError> {
        let (claim, value) = s
            .split_once('=')
            .ok_or_else(|| RuleError::Claim(s.to_string()))?;
        let claim = claim.trim();
        if claim.is_empty() || value.is_empty() || claim.len() > 256 || value.len() > 1024 {
            return Err(RuleError::Claim(s.to_string()));
        }
        Ok(ClaimMatch {
            claim: claim.to_string(),
            value: value.to_string(),
        })
    }

    fn matches(&self, claims: &Map<String, Value>) -> bool {
        claims
            .get(&self.claim)
            .is_some_and(|v| value_matches(&self.value, v))
    }
}

fn value_matches(pattern: &str, v: &Value) -> bool {
    match v {
        Value::String(s) => text_matches(pattern, s),
        Value::Number(n) => text_matches(pattern, &n.to_string()),
        Value::Bool(b) => text_matches(pattern, if *b { "true" } else { "false" }),
        // One level only: an array of arrays is not a list of values.
        Value::Array(items) => items
            .iter()
            .any(|i| !matches!(i, Value::Array(_)) && value_matches(pattern, i)),
        Value::Null | Value::Object(_) => false,
    }
}

fn text_matches(pattern: &str, text: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => text.starts_with(prefix),
        None => pattern == text,
    }
}

/// A claim → policy rule as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebIdentityRule {
    pub name: String,
    pub claims: Vec<ClaimMatch>,
    pub policy: Policy,
    #[serde(default)]
    pub created_ms: i64,
}

impl WebIdentityRule {
    pub fn new(name: &str, claims: Vec<ClaimMatch>, policy: Policy) -> Result<Self, RuleError> {
        let rule = WebIdentityRule {
            name: name.to_string(),
            claims,
            policy,
            created_ms: crate::store::unix_ms(),
        };
        rule.check()?;
        Ok(rule)
    }

    /// What a rule must be to be used; checked when it is written and again when it is
    /// read, since the KV record may have been edited by hand.
    pub fn check(&self) -> Result<(), RuleError> {
        check_name(&self.name)?;
        if self.claims.is_empty() {
            return Err(RuleError::NoClaims);
        }
        for c in &self.claims {
            if c.claim.is_empty() || c.value.is_empty() {
                return Err(RuleError::Claim(format!("{}={}", c.claim, c.value)));
            }
        }
        if self.policy.is_unrestricted() {
            return Err(RuleError::Unrestricted);
        }
        Ok(())
    }

    /// Every claim match holds (and the rule is valid).
    pub fn matches(&self, claims: &Map<String, Value>) -> bool {
        self.check().is_ok() && self.claims.iter().all(|c| c.matches(claims))
    }

    pub fn kv_key(&self) -> String {
        format!("{RULE_PREFIX}{}", self.name)
    }
}

pub fn check_name(name: &str) -> Result<(), RuleError> {
    let ok = (1..=MAX_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(RuleError::Name(name.to_string()))
    }
}

/// The rule a role ARN names: the segment after its last `/`, when a rule has that name.
fn named<'a>(rules: &'a [WebIdentityRule], role_arn: Option<&str>) -> Option<&'a WebIdentityRule> {
    let name = role_arn?.rsplit('/').next()?;
    rules.iter().find(|r| r.name == name)
}

/// The one rule for these claims (see the module doc for how a choice is made).
pub fn select<'a>(
    rules: &'a [WebIdentityRule],
    claims: &Map<String, Value>,
    role_arn: Option<&str>,
) -> Result<&'a WebIdentityRule, SelectError> {
    if let Some(rule) = named(rules, role_arn) {
        return if rule.matches(claims) {
            Ok(rule)
        } else {
            Err(SelectError::NoMatch)
        };
    }
    let mut hits = rules.iter().filter(|r| r.matches(claims));
    let first = hits.next().ok_or(SelectError::NoMatch)?;
    let rest: Vec<String> = hits.map(|r| r.name.clone()).collect();
    if rest.is_empty() {
        return Ok(first);
    }
    let mut names = vec![first.name.clone()];
    names.extend(rest);
    Err(SelectError::Ambiguous(names))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use jetgate_protocol::policy::Operation;
    use serde_json::json;

    use super::*;

    fn policy() -> Policy {
        Policy {
            buckets: vec!["team-a-*".into()],
            operations: vec![Operation::Read, Operation::List],
            ..Default::default()
        }
    }

    fn rule(name: &str, claims: &[&str]) -> WebIdentityRule {
        let claims = claims
            .iter()
            .map(|c| ClaimMatch::parse(c).unwrap())
            .collect();
        WebIdentityRule::new(name, claims, policy()).unwrap()
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn wildcard_and_exact_values() {
        let r = rule("team-a", &["sub=system:serviceaccount:team-a:*"]);
        assert!(r.matches(&claims(
            json!({"sub": "system:serviceaccount:team-a:builder"})
        )));
        assert!(!r.matches(&claims(
            json!({"sub": "system:serviceaccount:team-b:builder"})
        )));
        assert!(!r.matches(&claims(json!({"sub": "system:serviceaccount:team-a"}))));
        let exact = rule("one", &["sub=system:serviceaccount:team-a:builder"]);
        assert!(exact.matches(&claims(
            json!({"sub": "system:serviceaccount:team-a:builder"})
        )));
        assert!(!exact.matches(&claims(
            json!({"sub": "system:serviceaccount:team-a:builder2"})
        )));
        // A value with '=' in it: the first '=' splits.
        assert_eq!(ClaimMatch::parse("k=a=b").unwrap().value, "a=b");
    }

    #[test]
    fn every_claim_must_match_and_types_are_handled() {
        let r = rule(
            "both",
            &["sub=svc:*", "groups=admins", "email_verified=true"],
        );
        let ok = json!({"sub": "svc:x", "groups": ["dev", "admins"], "email_verified": true});
        assert!(r.matches(&claims(ok)));
        let missing = json!({"sub": "svc:x", "groups": ["dev"], "email_verified": true});
        assert!(!r.matches(&claims(missing)));
        let absent = json!({"sub": "svc:x", "email_verified": true});
        assert!(!r.matches(&claims(absent)));
        let object = json!({"sub": "svc:x", "groups": {"admins": 1}, "email_verified": true});
        assert!(!r.matches(&claims(object)));
        let nested = json!({"sub": "svc:x", "groups": [["admins"]], "email_verified": true});
        assert!(!r.matches(&claims(nested)));
    }

    #[test]
    fn selection_refuses_none_and_several_and_honours_the_role_arn() {
        let rules = vec![
            rule("team-a", &["sub=system:serviceaccount:team-a:*"]),
            rule("builders", &["sub=system:serviceaccount:*:builder"]),
            rule("b", &["sub=system:serviceaccount:team-b:*"]),
        ];
        let c = claims(json!({"sub": "system:serviceaccount:team-b:x"}));
        assert_eq!(select(&rules, &c, None).unwrap().name, "b");
        let none = claims(json!({"sub": "user:alice"}));
        assert_eq!(select(&rules, &none, None), Err(SelectError::NoMatch));
        // '*' is a wildcard only at the end: `builders` is an exact value and never
        // matches, so only team-a does; an ARN naming no rule changes nothing.
        let both = claims(json!({"sub": "system:serviceaccount:team-a:builder"}));
        assert!(matches!(
            select(&rules, &both, Some("arn:aws:iam::000000000000:role/anything")),
            Ok(r) if r.name == "team-a"
        ));
        let arn = "arn:aws:iam::000000000000:role/b";
        assert_eq!(select(&rules, &both, Some(arn)), Err(SelectError::NoMatch));
        let two = vec![
            rule("x", &["sub=system:*"]),
            rule("y", &["sub=system:serviceaccount:*"]),
        ];
        assert_eq!(
            select(&two, &both, None),
            Err(SelectError::Ambiguous(vec!["x".into(), "y".into()]))
        );
        assert_eq!(
            select(&two, &both, Some("arn:aws:iam::000000000000:role/y"))
                .unwrap()
                .name,
            "y"
        );
    }

    #[test]
    fn invalid_rules_are_refused_and_never_match() {
        assert_eq!(
            WebIdentityRule::new("a.b", vec![ClaimMatch::parse("sub=x").unwrap()], policy()),
            Err(RuleError::Name("a.b".into()))
        );
        assert_eq!(
            WebIdentityRule::new("a", vec![], policy()),
            Err(RuleError::NoClaims)
        );
        assert_eq!(
            WebIdentityRule::new(
                "a",
                vec![ClaimMatch::parse("sub=x").unwrap()],
                Policy::default()
            ),
            Err(RuleError::Unrestricted)
        );
        assert!(ClaimMatch::parse("noequals").is_err());
        assert!(ClaimMatch::parse("=x").is_err());
        assert!(ClaimMatch::parse("sub=").is_err());
        // A hand-edited record with an unrestricted policy is ignored, never admin.
        let stored: WebIdentityRule = serde_json::from_value(
            json!({"name": "evil", "claims": [{"claim": "sub", "value": "*"}], "policy": {}}),
        )
        .unwrap();
        assert!(!stored.matches(&claims(json!({"sub": "anyone"}))));
    }
}
