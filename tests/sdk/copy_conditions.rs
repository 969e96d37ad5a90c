//! `x-amz-copy-source-if-*` on CopyObject and UploadPartCopy: each header both ways and
//! S3's two documented combinations, with the destination's stored state checked.

use aws_sdk_s3::operation::copy_object::builders::CopyObjectFluentBuilder;
use aws_sdk_s3::operation::upload_part_copy::builders::UploadPartCopyFluentBuilder;
use common::{chunk_messages, complete, create_upload_with, multipart_etag, nats_bucket, put_part};

use super::*;

/// Source size: two NATS chunks, so a copy moves more than one.
const SRC_LEN: usize = (1 << 20) + 12_345;

/// One `x-amz-copy-source-if-*` header.
#[derive(Clone, Debug)]
enum Cond {
    Match(String),
    NoneMatch(String),
    ModifiedSince(DateTime),
    UnmodifiedSince(DateTime),
}

/// Conditions and whether S3 copies under them (else 412 PreconditionFailed).
struct Case {
    name: &'static str,
    conds: Vec<Cond>,
    copies: bool,
}

/// Every header holding and failing, then the two combinations the CopyObject and
/// UploadPartCopy references spell out. `lm` is the source's Last-Modified.
fn cases(etag: &str, lm: DateTime) -> Vec<Case> {
    use Cond::*;
    let earlier = DateTime::from_secs(lm.secs() - 3600);
    let other = quoted(&md5_hex(b"some other object"));
    let case = |name, conds, copies| Case {
        name,
        conds,
        copies,
    };
    vec![
        case("if-match holds", vec![Match(etag.into())], true),
        case("if-match fails", vec![Match(other.clone())], false),
        case("if-none-match holds", vec![NoneMatch(other)], true),
        case("if-none-match fails", vec![NoneMatch(etag.into())], false),
        case(
            "if-modified-since holds",
            vec![ModifiedSince(earlier)],
            true,
        ),
        // Not modified after its own Last-Modified.
        case("if-modified-since fails", vec![ModifiedSince(lm)], false),
        case("if-unmodified-since holds", vec![UnmodifiedSince(lm)], true),
        case(
            "if-unmodified-since fails",
            vec![UnmodifiedSince(earlier)],
            false,
        ),
        // "x-amz-copy-source-if-match condition evaluates to true, and
        // x-amz-copy-source-if-unmodified-since condition evaluates to false" → 200, copied.
        case(
            "if-match true + if-unmodified-since false",
            vec![Match(etag.into()), UnmodifiedSince(earlier)],
            true,
        ),
        // "x-amz-copy-source-if-none-match condition evaluates to false, and
        // x-amz-copy-source-if-modified-since condition evaluates to true" → 412.
        case(
            "if-none-match false + if-modified-since true",
            vec![NoneMatch(etag.into()), ModifiedSince(earlier)],
            false,
        ),
    ]
}

fn copy_with(mut b: CopyObjectFluentBuilder, conds: &[Cond]) -> CopyObjectFluentBuilder {
    for c in conds.iter().cloned() {
        b = match c {
            Cond::Match(e) => b.copy_source_if_match(e),
            Cond::NoneMatch(e) => b.copy_source_if_none_match(e),
            Cond::ModifiedSince(t) => b.copy_source_if_modified_since(t),
            Cond::UnmodifiedSince(t) => b.copy_source_if_unmodified_since(t),
        };
    }
    b
}

fn part_copy_with(
    mut b: UploadPartCopyFluentBuilder,
    conds: &[Cond],
) -> UploadPartCopyFluentBuilder {
    for c in conds.iter().cloned() {
        b = match c {
            Cond::Match(e) => b.copy_source_if_match(e),
            Cond::NoneMatch(e) => b.copy_source_if_none_match(e),
            Cond::ModifiedSince(t) => b.copy_source_if_modified_since(t),
            Cond::UnmodifiedSince(t) => b.copy_source_if_unmodified_since(t),
        };
    }
    b
}

/// ETag and Last-Modified as HEAD answers them.
async fn head(c: &Client, b: &str, k: &str) -> (String, DateTime) {
    let h = c
        .head_object()
        .bucket(b)
        .key(k)
        .send()
        .await
        .unwrap_or_else(|e| panic!("head {k}: {e:?}"));
    (
        h.e_tag().expect("etag").to_string(),
        *h.last_modified().expect("last modified"),
    )
}

/// NATS chunk messages an object of `len` bytes is stored in.
fn chunks_of(len: usize) -> u64 {
    len.div_ceil(1 << 20) as u64
}

/// `(part number, ETag, size)` of every part ListParts shows.
async fn parts(c: &Client, b: &str, k: &str, id: &str) -> Vec<(i32, String, i64)> {
    let out = c
        .list_parts()
        .bucket(b)
        .key(k)
        .upload_id(id)
        .send()
        .await
        .unwrap_or_else(|e| panic!("list parts of {k}: {e:?}"));
    out.parts()
        .iter()
        .map(|p| {
            (
                p.part_number().expect("part number"),
                p.e_tag().expect("part etag").to_string(),
                p.size().expect("part size"),
            )
        })
        .collect()
}

/// A source object of [`SRC_LEN`] bytes at `src`; returns its bytes, ETag and
/// Last-Modified.
async fn source(c: &Client, b: &str, seed: u64) -> (Vec<u8>, String, DateTime) {
    let data = random_bytes(SRC_LEN, seed);
    let etag = put(c, b, "src", &data).await;
    assert_eq!(etag, quoted(&md5_hex(&data)), "source ETag is its MD5");
    let (head_etag, lm) = head(c, b, "src").await;
    assert_eq!(head_etag, etag);
    (data, etag, lm)
}

#[tokio::test]
async fn copy_object_source_conditions() {
    let c = gw().client();
    let js = gw().jetstream().await;
    let b = gw().bucket("copy-if").await;
    let nb = nats_bucket(&b);
    let (src, etag, lm) = source(&c, &b, 71).await;
    let old = random_bytes(3000, 72);
    let old_etag = quoted(&md5_hex(&old));
    for (i, case) in cases(&etag, lm).iter().enumerate() {
        // Onto a key that does not exist, and onto one that does.
        for existing in [false, true] {
            let what = format!("{} (destination exists: {existing})", case.name);
            let dst = format!("dst-{i}-{existing}");
            let before_head = if existing {
                assert_eq!(put(&c, &b, &dst, &old).await, old_etag);
                Some(head(&c, &b, &dst).await)
            } else {
                None
            };
            let chunks = chunk_messages(&js, &nb).await;
            let sent = c
                .copy_object()
                .bucket(&b)
                .key(&dst)
                .copy_source(format!("{b}/src"));
            let r = copy_with(sent, &case.conds).send().await;
            if case.copies {
                let out = r.unwrap_or_else(|e| panic!("{what}: copy refused: {e:?}"));
                assert_eq!(
                    out.copy_object_result().and_then(|r| r.e_tag()),
                    Some(etag.as_str()),
                    "{what}: CopyObjectResult ETag"
                );
                assert_eq!(head(&c, &b, &dst).await.0, etag, "{what}: stored ETag");
                assert!(get_bytes(&c, &b, &dst).await == src, "{what}: copied bytes");
                // The copy's chunks in, a replaced destination's chunks out.
                let replaced = if existing { chunks_of(old.len()) } else { 0 };
                assert_eq!(
                    chunk_messages(&js, &nb).await,
                    chunks + chunks_of(src.len()) - replaced,
                    "{what}: chunk messages after the copy"
                );
            } else {
                if let Ok(out) = &r {
                    panic!("{what}: copied though the condition fails: {out:?}");
                }
                let (status, code, _) = fail(r);
                assert_eq!(
                    (status, code.as_str()),
                    (412, "PreconditionFailed"),
                    "{what}"
                );
                match &before_head {
                    None => assert!(!exists(&c, &b, &dst).await, "{what}: destination created"),
                    Some(h) => {
                        assert_eq!(&head(&c, &b, &dst).await, h, "{what}: destination changed");
                        assert!(
                            get_bytes(&c, &b, &dst).await == old,
                            "{what}: bytes changed"
                        );
                    }
                }
                assert_eq!(
                    chunk_messages(&js, &nb).await,
                    chunks,
                    "{what}: a refused copy wrote chunks"
                );
            }
        }
    }
    // The source itself is untouched by all of it.
    assert_eq!(head(&c, &b, "src").await, (etag, lm));
}

#[tokio::test]
async fn upload_part_copy_source_conditions() {
    let c = gw().client();
    let js = gw().jetstream().await;
    let b = gw().bucket("upc-if").await;
    let nb = nats_bucket(&b);
    let (src, etag, lm) = source(&c, &b, 73).await;
    let old = random_bytes(3000, 74);
    let old_etag = quoted(&md5_hex(&old));
    for (i, case) in cases(&etag, lm).iter().enumerate() {
        // Part 1 not uploaded yet, and part 1 already uploaded from other bytes.
        for existing in [false, true] {
            let what = format!("{} (part exists: {existing})", case.name);
            let dst = format!("dst-{i}-{existing}");
            let id = create_upload_with(&c, &b, &dst, |r| r).await;
            if existing {
                assert_eq!(put_part(&c, &b, &dst, &id, 1, &old).await, old_etag);
            }
            let before = parts(&c, &b, &dst, &id).await;
            let chunks = chunk_messages(&js, &nb).await;
            let sent = c
                .upload_part_copy()
                .bucket(&b)
                .key(&dst)
                .upload_id(&id)
                .part_number(1)
                .copy_source(format!("{b}/src"));
            let r = part_copy_with(sent, &case.conds).send().await;
            let want = if case.copies {
                let out = r.unwrap_or_else(|e| panic!("{what}: part copy refused: {e:?}"));
                assert_eq!(
                    out.copy_part_result().and_then(|r| r.e_tag()),
                    Some(etag.as_str()),
                    "{what}: CopyPartResult ETag"
                );
                assert_eq!(
                    parts(&c, &b, &dst, &id).await,
                    [(1, etag.clone(), SRC_LEN as i64)],
                    "{what}: ListParts"
                );
                &src
            } else {
                if let Ok(out) = &r {
                    panic!("{what}: copied though the condition fails: {out:?}");
                }
                let (status, code, _) = fail(r);
                assert_eq!(
                    (status, code.as_str()),
                    (412, "PreconditionFailed"),
                    "{what}"
                );
                assert_eq!(
                    parts(&c, &b, &dst, &id).await,
                    before,
                    "{what}: a refused part copy changed the parts"
                );
                assert_eq!(
                    chunk_messages(&js, &nb).await,
                    chunks,
                    "{what}: a refused part copy wrote chunks"
                );
                if !existing {
                    c.abort_multipart_upload()
                        .bucket(&b)
                        .key(&dst)
                        .upload_id(&id)
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("{what}: abort: {e:?}"));
                    assert!(!exists(&c, &b, &dst).await, "{what}: object appeared");
                    continue;
                }
                &old
            };
            // Completing shows which bytes part 1 really holds.
            let part_etag = quoted(&md5_hex(want));
            let done = complete(&c, &b, &dst, &id, &[(1, &part_etag)])
                .await
                .unwrap_or_else(|e| panic!("{what}: complete: {e:?}"));
            assert_eq!(
                done,
                multipart_etag(&[want.as_slice()]),
                "{what}: object ETag"
            );
            assert!(
                get_bytes(&c, &b, &dst).await == *want,
                "{what}: object bytes"
            );
        }
    }
    assert_eq!(head(&c, &b, "src").await, (etag, lm));
}
