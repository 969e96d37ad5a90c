//! ListBuckets: the buckets the signing key may use (its owner's and those its policy
//! names; every bucket for an admin key), in name order, paginated as S3
//! does since 2024 (`max-buckets`, `continuation-token`, `prefix`, `bucket-region`).
//! The parameters are read from the signed query, never from the edge's call.

use jetgate_protocol::messages::{BucketEntry, ListBucketsReply};
use jetgate_protocol::names::bucket_from_nats;
use jetgate_protocol::query::{query_pairs, query_value};
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use crate::incoming::Incoming;
use crate::store::owns;
use crate::worker::Worker;

/// S3's ceiling for `max-buckets`; also the page size when it is absent (S3 answers
/// every bucket then; jetgate caps a page rather than hold an unbounded answer).
const MAX_BUCKETS: usize = 10_000;

pub async fn list_buckets(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let call = inc.call::<rpc::ListBuckets>()?.msg;
    let principal = worker.authenticate(inc, &call.signed, &call.op).await?;
    let params = Params::parse(&call.signed.query)?;
    let region = &worker.cfg().region;
    let buckets: Vec<BucketEntry> = worker
        .store()
        .nats_buckets()
        .await?
        .into_iter()
        .filter_map(|b| {
            let name = bucket_from_nats(&b.name)?;
            let usable = principal
                .policy
                .as_ref()
                .is_none_or(|p| p.may_use_bucket(&name, owns(&principal, b.owner.as_ref())));
            usable.then_some(BucketEntry {
                name,
                created_ms: b.created_ms,
            })
        })
        .collect();
    let (buckets, continuation_token) = page(buckets, &params, region);
    inc.reply::<rpc::ListBuckets>(
        &ListBucketsReply {
            owner: principal.owner,
            buckets,
            region: region.clone(),
            prefix: params.prefix,
            continuation_token,
        },
        &[],
    )
    .await
}

/// ListBuckets' query parameters.
#[derive(Debug, Default, PartialEq, Eq)]
struct Params {
    max: usize,
    /// The last bucket name of the previous page.
    after: Option<String>,
    prefix: Option<String>,
    region: Option<String>,
}

impl Params {
    fn parse(query: &str) -> Result<Self, S3Error> {
        let pairs = query_pairs(query);
        let text = |name| query_value(&pairs, name).filter(|v| !v.is_empty());
        let max = match text("max-buckets") {
            None => MAX_BUCKETS,
            Some(v) => match v.parse::<usize>() {
                Ok(n @ 1..=MAX_BUCKETS) => n,
                _ => {
                    return Err(S3Error::invalid_argument(
                        "max-buckets must be an integer between 1 and 10000",
                    ))
                }
            },
        };
        let after = text("continuation-token")
            .map(super::decode_token)
            .transpose()?;
        Ok(Params {
            max,
            after,
            prefix: text("prefix").map(str::to_string),
            region: text("bucket-region").map(str::to_string),
        })
    }
}

/// One page of `buckets` (any order) under `params`, and the token of the next page.
/// Every bucket lives in the gateway's region, so another `bucket-region` lists none.
fn page(
    mut buckets: Vec<BucketEntry>,
    params: &Params,
    region: &str,
) -> (Vec<BucketEntry>, Option<String>) {
    if params.region.as_deref().is_some_and(|r| r != region) {
        return (Vec::new(), None);
    }
    buckets.retain(|b| {
        params
            .prefix
            .as_deref()
            .is_none_or(|p| b.name.starts_with(p))
            && params.after.as_deref().is_none_or(|a| b.name.as_str() > a)
    });
    buckets.sort_by(|a, b| a.name.cmp(&b.name));
    let more = buckets.len() > params.max;
    buckets.truncate(params.max);
    let token = more
        .then(|| buckets.last().map(|b| super::encode_token(&b.name)))
        .flatten();
    (buckets, token)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may panic on what they set up
mod tests {
    use super::*;
    use jetgate_protocol::S3ErrorCode;

    fn entries(names: &[&str]) -> Vec<BucketEntry> {
        names
            .iter()
            .map(|n| BucketEntry {
                name: n.to_string(),
                created_ms: 0,
            })
            .collect()
    }

    fn names(page: &[BucketEntry]) -> Vec<&str> {
        page.iter().map(|b| b.name.as_str()).collect()
    }

    #[test]
    fn pages_in_name_order_with_a_token() {
        let all = entries(&["c", "a", "b", "logs-1", "logs-2"]);
        let p = Params::parse("max-buckets=2").unwrap();
        let (first, token) = page(all.clone(), &p, "us-east-1");
        assert_eq!(names(&first), ["a", "b"]);
        let token = token.unwrap();
        let p = Params::parse(&format!("max-buckets=2&continuation-token={token}")).unwrap();
        let (second, token) = page(all.clone(), &p, "us-east-1");
        assert_eq!(names(&second), ["c", "logs-1"]);
        let p = Params::parse(&format!(
            "max-buckets=2&continuation-token={}",
            token.unwrap()
        ))
        .unwrap();
        let (last, token) = page(all.clone(), &p, "us-east-1");
        assert_eq!((names(&last), token), (vec!["logs-2"], None));
        let (exact, token) = page(
            entries(&["a", "b"]),
            &Params::parse("max-buckets=2").unwrap(),
            "r",
        );
        assert_eq!((names(&exact), token), (vec!["a", "b"], None));
    }

    #[test]
    fn prefix_and_region_filter() {
        let all = entries(&["a", "logs-1", "logs-2"]);
        let p = Params::parse("prefix=logs-").unwrap();
        assert_eq!(
            names(&page(all.clone(), &p, "eu-west-1").0),
            ["logs-1", "logs-2"]
        );
        let p = Params::parse("bucket-region=eu-west-1").unwrap();
        assert_eq!(page(all.clone(), &p, "eu-west-1").0.len(), 3);
        assert!(page(all, &p, "us-east-1").0.is_empty());
    }

    #[test]
    fn refuses_bad_parameters() {
        for q in [
            "max-buckets=0",
            "max-buckets=10001",
            "max-buckets=x",
            "continuation-token=%FF%FE",
        ] {
            assert_eq!(
                Params::parse(q).unwrap_err().code,
                S3ErrorCode::InvalidArgument,
                "{q}"
            );
        }
        // Empty values are absent, as S3 treats an empty continuation-token.
        assert_eq!(
            Params::parse("continuation-token=&prefix=").unwrap().after,
            None
        );
    }
}
