//! Crafted `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` uploads: each accepted request's twin
//! with one byte of a chunk's data or signature changed is refused with 403
//! SignatureDoesNotMatch and leaves neither the key nor a chunk behind — small bodies
//! (inline in the call) and multi-MiB ones (streamed, signatures checked in batches
//! while the body flows), over `Content-Length` and over HTTP chunked transfer.

use crate::common::{corrupt_hex, random_bytes, ChunkedPut, ChunkedSpec, Form, Stamp};
use crate::{
    assert_accepted, assert_no_chunks, assert_refused, gw, host, published, signer, INLINE_LIMIT,
};

/// Chunk size for the multi-MiB bodies: small chunks make many signatures, so the body
/// spans several verification batches (256 signatures each in the object role).
const SMALL_CHUNK: usize = 8 * 1024;

fn build(bucket: &str, key: &str, data: &[u8], chunk: usize) -> ChunkedPut {
    let spec = ChunkedSpec::put(&host(), bucket, key, Form::Signed, chunk);
    ChunkedPut::build(spec, &signer(), Stamp::now(), data)
}

const SIG_MISMATCH: (u16, &str) = (403, "SignatureDoesNotMatch");

#[tokio::test]
async fn signed_chunked_small_twins() {
    let b = gw().bucket("sig-chunked").await;
    let key = "dir/small.bin";
    // Two data chunks and the final one, below the inline limit.
    let data = random_bytes(100 * 1024, 11);
    assert!(data.len() < INLINE_LIMIT);
    let good = build(&b, key, &data, 64 * 1024);
    assert_eq!(good.chunks.len(), 3);

    let mut t = good.clone();
    t.corrupt_data(0);
    assert_refused(&t, &b, key, SIG_MISMATCH.0, SIG_MISMATCH.1).await;
    let mut t = good.clone();
    t.corrupt_chunk_signature(0);
    assert_refused(&t, &b, key, SIG_MISMATCH.0, SIG_MISMATCH.1).await;
    let mut t = good.clone();
    t.corrupt_chunk_signature(t.last_data());
    assert_refused(&t, &b, key, SIG_MISMATCH.0, SIG_MISMATCH.1).await;
    // The final, empty chunk is signed too.
    let mut t = good.clone();
    t.corrupt_chunk_signature(t.chunks.len() - 1);
    assert_refused(&t, &b, key, SIG_MISMATCH.0, SIG_MISMATCH.1).await;
    // The seed (the request signature the chunk chain starts from).
    let mut t = good.clone();
    let auth = t.headers.last_mut().expect("authorization");
    assert_eq!(auth.0, "authorization");
    auth.1 = auth.1.replace(&good.seed, &corrupt_hex(&good.seed));
    assert_refused(&t, &b, key, SIG_MISMATCH.0, SIG_MISMATCH.1).await;

    assert_accepted(&good, &b, key, &data).await;
}

/// A multi-MiB body whose LAST chunk is wrong: every earlier batch verifies and the
/// whole body is written before the final verdict, which must still undo it.
#[tokio::test]
async fn signed_chunked_large_last_chunk_wrong() {
    let b = gw().bucket("sig-chunked-last").await;
    let key = "large-last.bin";
    let data = random_bytes(5 * 1024 * 1024 + 777, 12);
    let good = build(&b, key, &data, SMALL_CHUNK);
    assert!(
        good.chunks.len() > 2 * 256,
        "spans several signature batches"
    );

    let before = published(&b).await;
    let mut t = good.clone();
    t.corrupt_chunk_signature(t.last_data());
    assert_refused(&t, &b, key, SIG_MISMATCH.0, SIG_MISMATCH.1).await;
    // The five whole 1 MiB chunks were stored while the body flowed, then purged.
    let written = published(&b).await - before;
    assert!(
        written >= 5,
        "only {written} messages published: the refusal came before the body was stored"
    );

    let mut t = good.clone();
    t.corrupt_data(t.last_data());
    assert_refused(&t, &b, key, SIG_MISMATCH.0, SIG_MISMATCH.1).await;
    let mut t = good.clone();
    t.corrupt_chunk_signature(t.chunks.len() - 1);
    assert_refused(&t, &b, key, SIG_MISMATCH.0, SIG_MISMATCH.1).await;

    assert_accepted(&good, &b, key, &data).await;
}

/// A multi-MiB body whose FIRST chunk is wrong: refused (the first batch's verdict
/// comes while the rest still streams), nothing stored.
#[tokio::test]
async fn signed_chunked_large_first_chunk_wrong() {
    let b = gw().bucket("sig-chunked-first").await;
    let key = "large-first.bin";
    let data = random_bytes(5 * 1024 * 1024, 13);
    let good = build(&b, key, &data, SMALL_CHUNK);

    let mut t = good.clone();
    t.corrupt_chunk_signature(0);
    assert_refused(&t, &b, key, SIG_MISMATCH.0, SIG_MISMATCH.1).await;
    let mut t = good.clone();
    t.corrupt_data(0);
    assert_refused(&t, &b, key, SIG_MISMATCH.0, SIG_MISMATCH.1).await;
    // One in the middle, in a later batch than the first.
    let mut t = good.clone();
    t.corrupt_chunk_signature(300);
    assert_refused(&t, &b, key, SIG_MISMATCH.0, SIG_MISMATCH.1).await;

    assert_accepted(&good, &b, key, &data).await;
}

/// Signed chunks over HTTP chunked transfer (no Content-Length), with and without
/// `x-amz-decoded-content-length`, small and past the inline limit.
#[tokio::test]
async fn signed_chunked_without_content_length() {
    let b = gw().bucket("sig-chunked-te").await;
    for (size, decoded_length) in [
        (70 * 1024, true),
        (1536 * 1024 + 5, true),
        (300 * 1024, false),
    ] {
        let key = format!("te-{size}-{decoded_length}.bin");
        let data = random_bytes(size, size as u64);
        let spec = ChunkedSpec {
            http_chunked: true,
            decoded_length,
            ..ChunkedSpec::put(&host(), &b, &key, Form::Signed, 64 * 1024)
        };
        let good = ChunkedPut::build(spec, &signer(), Stamp::now(), &data);
        assert!(!good.headers.iter().any(|(n, _)| n == "content-length"));

        let mut t = good.clone();
        t.corrupt_data(t.last_data());
        assert_refused(&t, &b, &key, SIG_MISMATCH.0, SIG_MISMATCH.1).await;
        let mut t = good.clone();
        t.corrupt_chunk_signature(0);
        assert_refused(&t, &b, &key, SIG_MISMATCH.0, SIG_MISMATCH.1).await;

        assert_accepted(&good, &b, &key, &data).await;
        // Later keys are refused in a bucket that now holds this object's chunks.
        gw().client()
            .delete_object()
            .bucket(&b)
            .key(&key)
            .send()
            .await
            .expect("delete");
        assert_no_chunks(&b).await;
    }
}
