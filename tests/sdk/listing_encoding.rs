//! `encoding-type=url` on every listing, checked element by element against the exact
//! encoded text: keys, prefixes, common prefixes, delimiters and markers.
//!
//! The form is S3's (and MinIO's `s3URLEncode`, which botocore's `unquote_plus` decodes):
//! query-style percent-encoding with uppercase hex, space as `+`, and `A-Z a-z 0-9 - _ . *
//! /` left as they are (`~` is encoded). The SDK does not decode what it gets, so the
//! strings below are what went over the wire (after XML unescaping). They are written
//! out by hand rather than computed, so an encoder bug cannot cancel itself out.

use super::*;

/// Keys with a space, `+`, `~`, `*`, `=`, `%`, XML specials and multi-byte UTF-8, in
/// UTF-8 byte order, each with its encoded form.
const KEYS: &[(&str, &str)] = &[
    ("a b/1+1.txt", "a+b/1%2B1.txt"),
    ("a b/x~y*z.txt", "a+b/x%7Ey*z.txt"),
    ("plain/ä&<.txt", "plain/%C3%A4%26%3C.txt"),
    ("top=é%.txt", "top%3D%C3%A9%25.txt"),
];

async fn encoded_bucket(tag: &str) -> String {
    let c = gw().client();
    let b = gw().bucket(tag).await;
    for (k, _) in KEYS {
        put(&c, &b, k, k.as_bytes()).await;
    }
    b
}

fn encoded_keys() -> Vec<&'static str> {
    KEYS.iter().map(|(_, e)| *e).collect()
}

#[tokio::test]
async fn list_v2_encodes_keys_prefix_delimiter_and_start_after() {
    let c = gw().client();
    let b = encoded_bucket("encv2").await;

    let out = c
        .list_objects_v2()
        .bucket(&b)
        .encoding_type(EncodingType::Url)
        .send()
        .await
        .expect("list v2 url");
    assert_eq!(out.encoding_type(), Some(&EncodingType::Url));
    let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, encoded_keys());

    let out = c
        .list_objects_v2()
        .bucket(&b)
        .encoding_type(EncodingType::Url)
        .prefix("a b/")
        .start_after("a b/1+1.txt")
        .delimiter("~")
        .send()
        .await
        .expect("list v2 url, prefix + start-after + delimiter");
    assert_eq!(out.prefix(), Some("a+b/"));
    assert_eq!(out.start_after(), Some("a+b/1%2B1.txt"));
    assert_eq!(out.delimiter(), Some("%7E"));
    assert!(out.contents().is_empty(), "{:?}", out.contents());
    let prefixes: Vec<&str> = out
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(prefixes, vec!["a+b/x%7E"]);

    // Without encoding-type the same listing is plain text, with no EncodingType.
    let out = c
        .list_objects_v2()
        .bucket(&b)
        .send()
        .await
        .expect("list v2");
    assert_eq!(out.encoding_type(), None);
    let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    let plain: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, plain);
}

#[tokio::test]
async fn list_v1_encodes_keys_prefixes_marker_and_next_marker() {
    let c = gw().client();
    let b = encoded_bucket("encv1").await;

    // Page 1 after a marker: two keys, more to come; NextMarker (sent with a delimiter)
    // is the last key, encoded.
    let out = c
        .list_objects()
        .bucket(&b)
        .encoding_type(EncodingType::Url)
        .delimiter("=")
        .marker("a b/1+1.txt")
        .max_keys(2)
        .send()
        .await
        .expect("list v1 url page 1");
    assert_eq!(out.encoding_type(), Some(&EncodingType::Url));
    assert_eq!(out.marker(), Some("a+b/1%2B1.txt"));
    assert_eq!(out.delimiter(), Some("%3D"));
    assert_eq!(out.prefix(), Some(""));
    assert_eq!(out.is_truncated(), Some(true));
    let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, vec!["a+b/x%7Ey*z.txt", "plain/%C3%A4%26%3C.txt"]);
    assert!(out.common_prefixes().is_empty());
    assert_eq!(out.next_marker(), Some("plain/%C3%A4%26%3C.txt"));

    // Page 2 continues from the decoded marker: the `=` group is one common prefix.
    let out = c
        .list_objects()
        .bucket(&b)
        .encoding_type(EncodingType::Url)
        .delimiter("=")
        .marker("plain/ä&<.txt")
        .max_keys(2)
        .send()
        .await
        .expect("list v1 url page 2");
    assert_eq!(out.marker(), Some("plain/%C3%A4%26%3C.txt"));
    assert_eq!(out.is_truncated(), Some(false));
    assert!(out.contents().is_empty(), "{:?}", out.contents());
    let prefixes: Vec<&str> = out
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(prefixes, vec!["top%3D"]);

    // A prefix that needs encoding, echoed encoded; "/" groups under it.
    let out = c
        .list_objects()
        .bucket(&b)
        .encoding_type(EncodingType::Url)
        .prefix("a b/")
        .delimiter("/")
        .send()
        .await
        .expect("list v1 url prefix");
    assert_eq!(out.prefix(), Some("a+b/"));
    assert_eq!(out.delimiter(), Some("/"));
    let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, vec!["a+b/1%2B1.txt", "a+b/x%7Ey*z.txt"]);
}

#[tokio::test]
async fn list_versions_encodes_keys_and_key_markers() {
    let c = gw().client();
    let b = encoded_bucket("encver").await;
    let out = c
        .list_object_versions()
        .bucket(&b)
        .encoding_type(EncodingType::Url)
        .key_marker("a b/1+1.txt")
        .max_keys(2)
        .send()
        .await
        .expect("list versions url");
    assert_eq!(out.encoding_type(), Some(&EncodingType::Url));
    assert_eq!(out.key_marker(), Some("a+b/1%2B1.txt"));
    let keys: Vec<&str> = out.versions().iter().filter_map(|v| v.key()).collect();
    assert_eq!(keys, vec!["a+b/x%7Ey*z.txt", "plain/%C3%A4%26%3C.txt"]);
    assert_eq!(out.is_truncated(), Some(true));
    assert_eq!(out.next_key_marker(), Some("plain/%C3%A4%26%3C.txt"));

    let out = c
        .list_object_versions()
        .bucket(&b)
        .encoding_type(EncodingType::Url)
        .delimiter("=")
        .send()
        .await
        .expect("list versions url delimiter");
    assert_eq!(out.delimiter(), Some("%3D"));
    let keys: Vec<&str> = out.versions().iter().filter_map(|v| v.key()).collect();
    assert_eq!(keys, encoded_keys()[..3].to_vec());
    let prefixes: Vec<&str> = out
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(prefixes, vec!["top%3D"]);
}

#[tokio::test]
async fn list_multipart_uploads_encodes_keys_and_prefix() {
    let c = gw().client();
    let b = gw().bucket("encmpu").await;
    for (k, _) in KEYS {
        c.create_multipart_upload()
            .bucket(&b)
            .key(*k)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create upload {k}: {e:?}"));
    }
    let out = c
        .list_multipart_uploads()
        .bucket(&b)
        .encoding_type(EncodingType::Url)
        .send()
        .await
        .expect("list uploads url");
    assert_eq!(out.encoding_type(), Some(&EncodingType::Url));
    let keys: Vec<&str> = out.uploads().iter().filter_map(|u| u.key()).collect();
    assert_eq!(keys, encoded_keys());

    let out = c
        .list_multipart_uploads()
        .bucket(&b)
        .encoding_type(EncodingType::Url)
        .prefix("a b/")
        .delimiter("~")
        .send()
        .await
        .expect("list uploads url prefix + delimiter");
    assert_eq!(out.prefix(), Some("a+b/"));
    assert_eq!(out.delimiter(), Some("%7E"));
    let keys: Vec<&str> = out.uploads().iter().filter_map(|u| u.key()).collect();
    assert_eq!(keys, vec!["a+b/1%2B1.txt"]);
    let prefixes: Vec<&str> = out
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(prefixes, vec!["a+b/x%7E"]);
}
