//! ListObjects v1 and v2: order, prefixes, delimiters, pages (URL encoding: listing_encoding.rs).

use super::*;

const LIST_KEYS: &[&str] = &[
    "a.txt",
    "b/1.txt",
    "b/2.txt",
    "b/c/3.txt",
    "b/c/4.txt",
    "d e/5.txt",
    "z",
];

async fn fill_listing_bucket(c: &Client, tag: &str) -> String {
    let b = gw().bucket(tag).await;
    for k in LIST_KEYS.iter().rev() {
        put(c, &b, k, k.as_bytes()).await;
    }
    b
}

#[tokio::test]
async fn list_objects_v2() {
    let c = gw().client();
    let b = fill_listing_bucket(&c, "listv2").await;

    let all = c.list_objects_v2().bucket(&b).send().await.expect("list");
    let keys: Vec<&str> = all.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, LIST_KEYS, "lexicographic order");
    assert_eq!(all.key_count(), Some(LIST_KEYS.len() as i32));
    assert_eq!(all.is_truncated(), Some(false));
    let first = &all.contents()[0];
    assert_eq!(first.size(), Some(5));
    assert_eq!(first.e_tag(), Some(quoted(&md5_hex(b"a.txt")).as_str()));
    assert!(first.last_modified().is_some());

    let out = c
        .list_objects_v2()
        .bucket(&b)
        .prefix("b/")
        .send()
        .await
        .expect("prefix");
    let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, vec!["b/1.txt", "b/2.txt", "b/c/3.txt", "b/c/4.txt"]);

    let out = c
        .list_objects_v2()
        .bucket(&b)
        .delimiter("/")
        .send()
        .await
        .expect("delimiter");
    let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    let prefixes: Vec<&str> = out
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(keys, vec!["a.txt", "z"]);
    assert_eq!(prefixes, vec!["b/", "d e/"]);
    assert_eq!(
        out.key_count(),
        Some(4),
        "KeyCount counts keys and common prefixes"
    );

    let out = c
        .list_objects_v2()
        .bucket(&b)
        .prefix("b/")
        .delimiter("/")
        .send()
        .await
        .expect("prefix + delimiter");
    let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    let prefixes: Vec<&str> = out
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(keys, vec!["b/1.txt", "b/2.txt"]);
    assert_eq!(prefixes, vec!["b/c/"]);

    // Pagination with max-keys and continuation tokens visits every key once.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let out = c
            .list_objects_v2()
            .bucket(&b)
            .max_keys(2)
            .set_continuation_token(token.clone())
            .send()
            .await
            .expect("page");
        pages += 1;
        assert!(out.contents().len() <= 2);
        assert_eq!(out.max_keys(), Some(2));
        seen.extend(
            out.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
        if out.is_truncated() == Some(true) {
            token = out.next_continuation_token().map(str::to_string);
            assert!(
                token.is_some(),
                "truncated page without NextContinuationToken"
            );
        } else {
            break;
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(seen, LIST_KEYS);
    assert_eq!(pages, 4);

    // Pagination with a delimiter: common prefixes count against max-keys, once each.
    let mut entries = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..10 {
        let out = c
            .list_objects_v2()
            .bucket(&b)
            .delimiter("/")
            .max_keys(1)
            .set_continuation_token(token.clone())
            .send()
            .await
            .expect("page");
        entries.extend(
            out.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
        entries.extend(
            out.common_prefixes()
                .iter()
                .filter_map(|p| p.prefix().map(str::to_string)),
        );
        if out.is_truncated() != Some(true) {
            token = None;
            break;
        }
        token = out.next_continuation_token().map(str::to_string);
    }
    assert!(token.is_none(), "pagination with delimiter does not end");
    assert_eq!(entries, vec!["a.txt", "b/", "d e/", "z"]);

    let out = c
        .list_objects_v2()
        .bucket(&b)
        .start_after("b/c/3.txt")
        .send()
        .await
        .expect("start-after");
    let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, vec!["b/c/4.txt", "d e/5.txt", "z"]);
    assert_eq!(out.start_after(), Some("b/c/3.txt"));

    let out = c
        .list_objects_v2()
        .bucket(&b)
        .max_keys(0)
        .send()
        .await
        .expect("max-keys 0");
    assert!(out.contents().is_empty());

    let out = c
        .list_objects_v2()
        .bucket(&b)
        .prefix("nothing/")
        .send()
        .await
        .expect("empty");
    assert!(out.contents().is_empty());
    assert_eq!(out.key_count(), Some(0));
}

#[tokio::test]
async fn list_objects_v1() {
    let c = gw().client();
    let b = fill_listing_bucket(&c, "listv1").await;
    let out = c.list_objects().bucket(&b).send().await.expect("list v1");
    let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, LIST_KEYS);
    assert_eq!(out.is_truncated(), Some(false));

    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..10 {
        let out = c
            .list_objects()
            .bucket(&b)
            .max_keys(3)
            .set_marker(marker.clone())
            .send()
            .await
            .expect("page");
        seen.extend(
            out.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
        if out.is_truncated() != Some(true) {
            marker = None;
            break;
        }
        // Without a delimiter NextMarker is optional: the last key is the marker.
        marker = out
            .next_marker()
            .map(str::to_string)
            .or_else(|| seen.last().cloned());
    }
    assert!(marker.is_none(), "v1 pagination does not end");
    assert_eq!(seen, LIST_KEYS);

    let out = c
        .list_objects()
        .bucket(&b)
        .delimiter("/")
        .max_keys(2)
        .send()
        .await
        .expect("v1 delimiter");
    let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    let prefixes: Vec<&str> = out
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(keys, vec!["a.txt"]);
    assert_eq!(prefixes, vec!["b/"]);
    assert_eq!(out.is_truncated(), Some(true));
    assert_eq!(out.next_marker(), Some("b/"), "NextMarker with a delimiter");
    let out = c
        .list_objects()
        .bucket(&b)
        .delimiter("/")
        .marker("b/")
        .send()
        .await
        .expect("v1 delimiter page 2");
    let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    let prefixes: Vec<&str> = out
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(keys, vec!["z"]);
    assert_eq!(prefixes, vec!["d e/"]);

    let out = c
        .list_objects()
        .bucket(&b)
        .marker("b/c/4.txt")
        .prefix("b/")
        .send()
        .await
        .expect("marker");
    assert!(out.contents().is_empty());
}
