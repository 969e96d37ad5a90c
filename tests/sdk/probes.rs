//! The versioning probes: what a versioning-unaware gateway answers to versioning
//! requests, through the Rust SDK.

use super::*;

#[tokio::test]
async fn versioning_probes() {
    let c = gw().client();
    let b = gw().bucket("versions").await;
    let v = c
        .get_bucket_versioning()
        .bucket(&b)
        .send()
        .await
        .expect("versioning");
    assert!(v.status().is_none() && v.mfa_delete().is_none());
    let r = c.get_object_lock_configuration().bucket(&b).send().await;
    let (status, code, _) = fail(r);
    assert_eq!(
        (status, code.as_str()),
        (404, "ObjectLockConfigurationNotFoundError")
    );
    let r = c
        .get_bucket_versioning()
        .bucket("no-such-bucket-h2")
        .send()
        .await;
    let (status, code, _) = fail(r);
    assert_eq!((status, code.as_str()), (404, "NoSuchBucket"));

    let keys = ["a", "b/1", "b/2", "c", "d/x/1", "e"];
    for k in keys {
        put(&c, &b, k, k.as_bytes()).await;
    }
    let all = c
        .list_object_versions()
        .bucket(&b)
        .send()
        .await
        .expect("versions");
    let listed: Vec<&str> = all.versions().iter().filter_map(|v| v.key()).collect();
    assert_eq!(listed, keys);
    for v in all.versions() {
        assert_eq!(v.version_id(), Some("null"));
        assert_eq!(v.is_latest(), Some(true));
        assert_eq!(v.size(), Some(v.key().unwrap_or_default().len() as i64));
        assert_eq!(
            v.e_tag().map(str::to_string),
            Some(quoted(&md5_hex(v.key().unwrap_or_default().as_bytes())))
        );
    }
    assert!(all.delete_markers().is_empty());
    assert_eq!(all.is_truncated(), Some(false));

    let grouped = c
        .list_object_versions()
        .bucket(&b)
        .delimiter("/")
        .send()
        .await
        .expect("versions with delimiter");
    let listed: Vec<&str> = grouped.versions().iter().filter_map(|v| v.key()).collect();
    assert_eq!(listed, ["a", "c", "e"]);
    let prefixes: Vec<&str> = grouped
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(prefixes, ["b/", "d/"]);

    // Paging with key-marker / version-id-marker, two entries a page.
    let mut seen = Vec::new();
    let (mut key_marker, mut version_marker): (Option<String>, Option<String>) = (None, None);
    for _ in 0..10 {
        let page = c
            .list_object_versions()
            .bucket(&b)
            .max_keys(2)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .expect("page");
        assert!(page.versions().len() <= 2);
        seen.extend(
            page.versions()
                .iter()
                .filter_map(|v| v.key().map(str::to_string)),
        );
        if page.is_truncated() != Some(true) {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_string);
        version_marker = page.next_version_id_marker().map(str::to_string);
        assert_eq!(version_marker.as_deref(), Some("null"));
    }
    assert_eq!(seen, keys);
    let prefixed = c
        .list_object_versions()
        .bucket(&b)
        .prefix("b/")
        .key_marker("b/1")
        .send()
        .await
        .expect("prefix and marker");
    let listed: Vec<&str> = prefixed.versions().iter().filter_map(|v| v.key()).collect();
    assert_eq!(listed, ["b/2"]);
    let r = c
        .list_object_versions()
        .bucket(&b)
        .key_marker("a")
        .version_id_marker("not-a-version")
        .send()
        .await;
    assert_eq!(fail(r).1, "InvalidArgument");
}
