//! Listings answered from the listing role's live index (issue #13) are consistent with
//! every acknowledged write: PUTs, overwrites and DELETEs through S3 and through a
//! native NATS client (async-nats' object store) are interleaved with listings, and
//! each listing, walked page by page with and without a delimiter, must equal a model.
//! A bucket deleted and created again under the same name lists empty.

use std::collections::BTreeMap;

use common::{expected_listing as expected, walk};

use super::*;

async fn check(c: &Client, bucket: &str, model: &BTreeMap<String, i64>, step: &str) {
    for (prefix, delimiter, max) in [("", None, 1000), ("", Some("/"), 2), ("d/", Some("/"), 1)] {
        let got = walk(c, bucket, prefix, delimiter, max).await;
        assert_eq!(
            got,
            expected(model, prefix, delimiter),
            "after {step}: prefix {prefix:?} delimiter {delimiter:?} max {max}"
        );
    }
}

#[tokio::test]
async fn listings_see_every_acknowledged_write_s3_and_native() {
    let c = gw().client();
    let b = gw().bucket("livelist").await;
    let js = gw().jetstream().await;
    let native = js
        .get_object_store(&common::nats_bucket(&b))
        .await
        .expect("object store");
    let mut model = BTreeMap::new();
    // Objects before the first listing: a cold index must finish its build (or the
    // listing fall back) before it answers.
    for i in 0..60u32 {
        let key = format!("pre/{i:02}");
        native
            .put(key.as_str(), &mut &b"p"[..])
            .await
            .expect("native put");
        model.insert(key, 1);
    }
    // The first listing builds the index; every later one must follow the writes.
    check(&c, &b, &model, "cold index").await;
    for i in 0..12u32 {
        let key = match i % 4 {
            0 => format!("d/{i}"),
            1 => format!("d/e/{i}"),
            2 => format!("top{i}"),
            _ => format!("d/e/f/{i}"),
        };
        let body = vec![b'x'; i as usize + 1];
        if i % 3 == 0 {
            native
                .put(key.as_str(), &mut body.as_slice())
                .await
                .expect("native put");
        } else {
            put(&c, &b, &key, &body).await;
        }
        model.insert(key.clone(), body.len() as i64);
        check(&c, &b, &model, &format!("put {key}")).await;
    }
    // Overwrite (new size), then deletes by both paths.
    put(&c, &b, "d/0", b"overwritten, longer").await;
    model.insert("d/0".into(), 19);
    check(&c, &b, &model, "overwrite d/0").await;
    c.delete_object()
        .bucket(&b)
        .key("d/e/1")
        .send()
        .await
        .expect("delete");
    model.remove("d/e/1");
    check(&c, &b, &model, "S3 delete d/e/1").await;
    native.delete("top2").await.expect("native delete");
    model.remove("top2");
    check(&c, &b, &model, "native delete top2").await;

    // Emptied, deleted, created again: the new bucket of the same name lists empty and
    // then sees its own writes, not the old bucket's index.
    for k in model.keys() {
        c.delete_object()
            .bucket(&b)
            .key(k)
            .send()
            .await
            .expect("delete");
    }
    model.clear();
    check(&c, &b, &model, "emptied").await;
    c.delete_bucket()
        .bucket(&b)
        .send()
        .await
        .expect("delete bucket");
    c.create_bucket()
        .bucket(&b)
        .send()
        .await
        .expect("create again");
    check(&c, &b, &model, "re-created").await;
    put(&c, &b, "again", b"1").await;
    model.insert("again".into(), 1);
    check(&c, &b, &model, "put after re-create").await;
}

/// Object metadata is peer data: a native NATS writer of the bucket can publish any
/// payload on any metadata subject. A message naming another key than the one its
/// subject encodes is not that other key's metadata: a tombstone on `decoy`'s subject
/// naming `victim` must not hide `victim`, and an entry naming `ghost` must not list a
/// key that cannot be read. Checked on the listing and on what is stored afterwards.
#[tokio::test]
async fn metadata_naming_another_key_than_its_subject_is_ignored() {
    use base64::Engine as _;
    let c = gw().client();
    let b = gw().bucket("livelist-forged").await;
    let nb = common::nats_bucket(&b);
    put(&c, &b, "victim", b"precious").await;
    put(&c, &b, "decoy", b"d").await;
    // The first listing starts the index, so the forged messages below arrive live.
    let mut model = BTreeMap::from([("decoy".to_string(), 1), ("victim".to_string(), 8)]);
    check(&c, &b, &model, "before").await;

    let js = gw().jetstream().await;
    let subject = |key: &str| {
        format!(
            "$O.{nb}.M.{}",
            base64::engine::general_purpose::URL_SAFE.encode(key)
        )
    };
    let forged = [
        (
            subject("decoy"),
            format!(r#"{{"name":"victim","bucket":"{nb}","nuid":"","deleted":true}}"#),
        ),
        (
            subject("decoy2"),
            format!(r#"{{"name":"ghost","bucket":"{nb}","nuid":"X1","size":5,"chunks":1}}"#),
        ),
    ];
    for (subject, payload) in forged {
        js.publish(subject, payload.into_bytes().into())
            .await
            .expect("publish")
            .await
            .expect("ack");
    }
    // `decoy`'s metadata is now unreadable: it lists as absent, like `decoy2`.
    model.remove("decoy");
    check(&c, &b, &model, "forged tombstone").await;

    // Stored state: `victim` is intact and reads back; `ghost` does not exist.
    let native = js.get_object_store(&nb).await.expect("object store");
    let info = native.info("victim").await.expect("victim's metadata");
    assert!(!info.deleted, "victim's stored metadata was replaced");
    let got = c
        .get_object()
        .bucket(&b)
        .key("victim")
        .send()
        .await
        .expect("get victim");
    let body = got.body.collect().await.expect("body").into_bytes();
    assert_eq!(&body[..], b"precious");
    let (status, _, _) = fail(c.head_object().bucket(&b).key("ghost").send().await);
    assert_eq!(status, 404);
}
