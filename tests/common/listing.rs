//! Listings walked to their end, and what a model of the bucket says they return: the
//! listing tests compare one with the other after every write.

use std::collections::BTreeMap;

use aws_sdk_s3::Client;

/// A page that failed.
pub type ListError =
    aws_sdk_s3::error::SdkError<aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Error>;

/// Every key (with its size) and common prefix of a listing.
pub type Listing = (Vec<(String, i64)>, Vec<String>);

/// A ListObjectsV2 listing walked page by page (`max` keys a page) to its end.
pub async fn try_walk(
    c: &Client,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
    max: i32,
) -> Result<Listing, ListError> {
    let mut keys = Vec::new();
    let mut prefixes = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = c
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_delimiter(delimiter.map(str::to_string))
            .max_keys(max)
            .set_continuation_token(token.clone())
            .send()
            .await?;
        keys.extend(out.contents().iter().map(|o| {
            (
                o.key().unwrap_or_default().to_string(),
                o.size().unwrap_or(-1),
            )
        }));
        prefixes.extend(
            out.common_prefixes()
                .iter()
                .filter_map(|p| p.prefix().map(str::to_string)),
        );
        match out.next_continuation_token() {
            Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_string()),
            _ => return Ok((keys, prefixes)),
        }
    }
}

/// [`try_walk`], which must succeed.
pub async fn walk(
    c: &Client,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
    max: i32,
) -> Listing {
    try_walk(c, bucket, prefix, delimiter, max)
        .await
        .expect("list")
}

/// What the model (key → size) says the same listing returns.
pub fn expected_listing(
    model: &BTreeMap<String, i64>,
    prefix: &str,
    delimiter: Option<&str>,
) -> Listing {
    let mut keys = Vec::new();
    let mut prefixes: Vec<String> = Vec::new();
    for (k, size) in model.range(prefix.to_string()..) {
        let Some(rest) = k.strip_prefix(prefix) else {
            break;
        };
        match delimiter.and_then(|d| rest.find(d).map(|i| i + d.len())) {
            Some(end) => {
                let cp = k[..prefix.len() + end].to_string();
                if prefixes.last() != Some(&cp) {
                    prefixes.push(cp);
                }
            }
            None => keys.push((k.clone(), *size)),
        }
    }
    (keys, prefixes)
}
