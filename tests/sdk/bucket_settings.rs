//! Bucket settings live in the bucket stream's configuration, which JetStream replaces
//! whole: settings written at the same instant must all survive (they take the
//! bucket's configuration lock), and none may reopen a bucket or drop another's value.

use aws_sdk_s3::types::{CorsConfiguration, CorsRule, Tag, Tagging};

use super::*;

const TRIALS: usize = 12;

#[tokio::test]
async fn settings_written_at_once_all_survive() {
    let b = gw().bucket("settings-race").await;
    for trial in 0..TRIALS {
        let origin = format!("https://app-{trial}.example");
        let value = format!("t{trial}");
        // Each writer on its own client (own connections), released together.
        let (c1, c2, c3) = (gw().client(), gw().client(), gw().client());
        let cors = c1
            .put_bucket_cors()
            .bucket(&b)
            .cors_configuration(
                CorsConfiguration::builder()
                    .cors_rules(
                        CorsRule::builder()
                            .allowed_origins(&origin)
                            .allowed_methods("GET")
                            .build()
                            .expect("rule"),
                    )
                    .build()
                    .expect("cors"),
            )
            .send();
        let tags = c2
            .put_bucket_tagging()
            .bucket(&b)
            .tagging(
                Tagging::builder()
                    .tag_set(
                        Tag::builder()
                            .key("trial")
                            .value(&value)
                            .build()
                            .expect("tag"),
                    )
                    .build()
                    .expect("tagging"),
            )
            .send();
        // A reader beside the two writers.
        let list = c3.list_objects_v2().bucket(&b).send();
        let (cors, tags, list) = tokio::join!(cors, tags, list);
        cors.expect("put cors");
        tags.expect("put tagging");
        list.expect("list beside the writers");
        let c = gw().client();
        let got_cors = c
            .get_bucket_cors()
            .bucket(&b)
            .send()
            .await
            .unwrap_or_else(|e| panic!("trial {trial}: CORS lost: {e:?}"));
        let origins: Vec<&str> = got_cors
            .cors_rules()
            .iter()
            .flat_map(|r| r.allowed_origins().iter().map(String::as_str))
            .collect();
        assert_eq!(origins, [origin.as_str()], "trial {trial}");
        let got_tags = c
            .get_bucket_tagging()
            .bucket(&b)
            .send()
            .await
            .unwrap_or_else(|e| panic!("trial {trial}: tagging lost: {e:?}"));
        let tags: Vec<(&str, &str)> = got_tags
            .tag_set()
            .iter()
            .map(|t| (t.key(), t.value()))
            .collect();
        assert_eq!(tags, [("trial", value.as_str())], "trial {trial}");
    }
    // The bucket still takes writes (no setting reopened or closed it).
    put(&gw().client(), &b, "after", b"still open").await;
}
