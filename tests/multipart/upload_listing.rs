//! ListMultipartUploads answers from each worker's index of the uploads in progress:
//! it must still show every upload created before the listing and none finished
//! before it, and list only what the upload records really say.

use super::*;

async fn listed(s3: &Client, b: &str, prefix: &str) -> Vec<(String, String)> {
    s3.list_multipart_uploads()
        .bucket(b)
        .prefix(prefix)
        .send()
        .await
        .expect("list uploads")
        .uploads()
        .iter()
        .map(|u| {
            (
                u.key().unwrap_or_default().to_string(),
                u.upload_id().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// An upload id no one has used (ids are alphanumeric, as nuids are).
fn fresh_id() -> String {
    format!("T{:032x}", rand::random::<u128>())
}

#[tokio::test]
async fn upload_listing_sees_every_change_before_it() {
    let g = gw();
    let s3 = g.client();
    let b = g.bucket("mpx").await;
    // Listed at once after its creation, gone at once after its abort or completion.
    for i in 0..40 {
        let k = format!("law/{i:03}");
        let id = create(&s3, &b, &k).await;
        assert_eq!(
            listed(&s3, &b, &k).await,
            [(k.clone(), id.clone())],
            "after create {i}"
        );
        if i % 2 == 0 {
            s3.abort_multipart_upload()
                .bucket(&b)
                .key(&k)
                .upload_id(&id)
                .send()
                .await
                .expect("abort");
        } else {
            let etag = put_part(&s3, &b, &k, &id, 1, b"tiny").await;
            complete(&s3, &b, &k, &id, &[(1, etag)])
                .await
                .expect("complete");
        }
        assert!(listed(&s3, &b, &k).await.is_empty(), "after finishing {i}");
    }
    assert!(listed(&s3, &b, "").await.is_empty());
}

#[tokio::test]
async fn upload_listing_follows_the_records_not_their_writers() {
    let g = gw();
    let s3 = g.client();
    let b = g.bucket("mpn").await;
    let id = create(&s3, &b, "real").await;
    let js = g.jetstream().await;
    let kv = js
        .get_key_value("jetgate-uploads")
        .await
        .expect("uploads kv");
    let record = kv
        .get(format!("u.{id}"))
        .await
        .expect("get record")
        .expect("record exists");
    let record: serde_json::Value = serde_json::from_slice(&record).expect("record json");
    // A record under its own id is an upload, whoever wrote it (the scan of the records
    // lists it too); one whose id is not its key's is not listed under either id.
    let mut native = record.clone();
    let native_id = fresh_id();
    native["upload_id"] = native_id.clone().into();
    native["key"] = "native".into();
    kv.put(format!("u.{native_id}"), native.to_string().into())
        .await
        .expect("put native record");
    let mut forged = record.clone();
    forged["upload_id"] = id.clone().into();
    forged["key"] = "forged".into();
    let forged_id = fresh_id();
    kv.put(format!("u.{forged_id}"), forged.to_string().into())
        .await
        .expect("put forged record");
    let garbage_id = fresh_id();
    kv.put(format!("u.{garbage_id}"), "not json".into())
        .await
        .expect("put garbage");
    assert_eq!(
        listed(&s3, &b, "").await,
        [
            ("native".to_string(), native_id.clone()),
            ("real".to_string(), id.clone())
        ]
    );
    kv.delete(format!("u.{native_id}"))
        .await
        .expect("delete native record");
    assert_eq!(
        listed(&s3, &b, "").await,
        [("real".to_string(), id.clone())]
    );
    s3.abort_multipart_upload()
        .bucket(&b)
        .key("real")
        .upload_id(&id)
        .send()
        .await
        .expect("abort");
    assert!(listed(&s3, &b, "").await.is_empty());
    // Leave nothing for the other tests' listings and the stale sweep to trip on.
    for k in [forged_id, garbage_id] {
        kv.purge(format!("u.{k}"))
            .await
            .expect("purge stray record");
    }
}
