//! The policy flags `credentials add|policy` and `credentials web-identity add` share.

use clap::Args;
use jetgate_protocol::policy::{Operation, Policy};

/// Policy flags of `credentials add|policy`.
#[derive(Args, Clone, Debug, Default)]
pub struct PolicyArgs {
    /// Buckets the key may use besides its owner's (comma separated; `name-*` matches a
    /// prefix, `*` all). A key with no policy flag at all is an admin key: every bucket.
    #[arg(long, value_delimiter = ',')]
    pub buckets: Vec<String>,
    /// Object key prefixes the key may use. Default: all keys.
    #[arg(long, value_delimiter = ',')]
    pub prefixes: Vec<String>,
    /// Operations: read, write, delete, list, admin (comma separated). Default: all.
    #[arg(long, value_delimiter = ',', value_parser = parse_operation)]
    pub operations: Vec<Operation>,
}

fn parse_operation(s: &str) -> Result<Operation, String> {
    Operation::parse(s)
        .ok_or_else(|| format!("unknown operation {s:?} (read, write, delete, list, admin)"))
}

impl PolicyArgs {
    pub fn policy(&self) -> Option<Policy> {
        let p = Policy {
            buckets: self.buckets.clone(),
            prefixes: self.prefixes.clone(),
            operations: self.operations.clone(),
        };
        (!p.is_unrestricted()).then_some(p)
    }
}
