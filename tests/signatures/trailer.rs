//! Crafted trailer uploads. `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`: a changed
//! trailer signature or chunk signature is 403 SignatureDoesNotMatch, a wrong checksum
//! the client signed is 400 BadDigest. `STREAMING-UNSIGNED-PAYLOAD-TRAILER`, every
//! checksum algorithm: a changed checksum byte or data byte is 400 BadDigest. Nothing is
//! stored by a refused twin; the accepted request stores the checksum it sent.

use aws_sdk_s3::types::ChecksumMode;

use crate::common::{random_bytes, Checksum, ChunkedPut, ChunkedSpec, Form, Stamp, ALL_CHECKSUMS};
use crate::{assert_no_chunks, assert_refused, gw, host, published, send_gw, signer};

fn build(bucket: &str, key: &str, data: &[u8], form: Form, chunk: usize) -> ChunkedPut {
    let spec = ChunkedSpec::put(&host(), bucket, key, form, chunk);
    ChunkedPut::build(spec, &signer(), Stamp::now(), data)
}

/// The checksum the gateway answers on GET with checksum mode (exact value).
async fn stored_checksum(bucket: &str, key: &str, algo: Checksum) -> Option<String> {
    let h = gw()
        .client()
        .head_object()
        .bucket(bucket)
        .key(key)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap_or_else(|e| panic!("head {bucket}/{key}: {e:?}"));
    match algo {
        Checksum::Crc32 => h.checksum_crc32,
        Checksum::Crc32c => h.checksum_crc32_c,
        Checksum::Crc64Nvme => h.checksum_crc64_nvme,
        Checksum::Sha1 => h.checksum_sha1,
        Checksum::Sha256 => h.checksum_sha256,
    }
}

/// Sends `good`, expects 200 with the checksum echoed, reads it back, and checks the
/// checksum the gateway stored.
async fn accept_with_checksum(
    good: &ChunkedPut,
    bucket: &str,
    key: &str,
    data: &[u8],
    algo: Checksum,
) {
    let expected = algo.value(data);
    let r = send_gw(&good.request()).await;
    assert_eq!(r.status, 200, "{algo:?} {bucket}/{key}: {}", r.text());
    assert_eq!(
        r.header(&algo.header()),
        Some(expected.as_str()),
        "{algo:?}: checksum answered by the PUT"
    );
    crate::assert_stored(bucket, key, data).await;
    assert_eq!(
        stored_checksum(bucket, key, algo).await,
        Some(expected),
        "{algo:?}: checksum stored"
    );
}

#[tokio::test]
async fn signed_trailer_twins() {
    let b = gw().bucket("sig-trailer").await;
    for (i, algo) in ALL_CHECKSUMS.into_iter().enumerate() {
        let key = format!("signed-trailer-{}.bin", algo.name());
        let data = random_bytes(90 * 1024 + i, 20 + i as u64);
        let good = build(&b, &key, &data, Form::SignedTrailer(algo), 32 * 1024);

        let mut t = good.clone();
        t.corrupt_trailer_signature();
        assert_refused(&t, &b, &key, 403, "SignatureDoesNotMatch").await;
        // A wrong checksum the client signed: the signature holds, the data does not.
        let mut t = good.clone();
        t.corrupt_trailer_checksum(true);
        assert_refused(&t, &b, &key, 400, "BadDigest").await;
        let mut t = good.clone();
        t.corrupt_chunk_signature(1);
        assert_refused(&t, &b, &key, 403, "SignatureDoesNotMatch").await;
        let mut t = good.clone();
        t.corrupt_chunk_signature(t.chunks.len() - 1);
        assert_refused(&t, &b, &key, 403, "SignatureDoesNotMatch").await;

        accept_with_checksum(&good, &b, &key, &data, algo).await;
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

/// Multi-MiB signed-trailer body: the trailer's verdict comes last, after every chunk
/// was written; a bad trailer signature or last chunk must still undo the upload.
#[tokio::test]
async fn signed_trailer_large_last_parts_wrong() {
    let b = gw().bucket("sig-trailer-large").await;
    let key = "large-trailer.bin";
    let data = random_bytes(3 * 1024 * 1024 + 123, 30);
    let good = build(
        &b,
        key,
        &data,
        Form::SignedTrailer(Checksum::Crc32),
        8 * 1024,
    );

    let before = published(&b).await;
    let mut t = good.clone();
    t.corrupt_trailer_signature();
    assert_refused(&t, &b, key, 403, "SignatureDoesNotMatch").await;
    let written = published(&b).await - before;
    assert!(
        written >= 3,
        "only {written} messages published before the verdict"
    );

    let mut t = good.clone();
    t.corrupt_chunk_signature(t.last_data());
    assert_refused(&t, &b, key, 403, "SignatureDoesNotMatch").await;
    let mut t = good.clone();
    t.corrupt_trailer_checksum(true);
    assert_refused(&t, &b, key, 400, "BadDigest").await;

    accept_with_checksum(&good, &b, key, &data, Checksum::Crc32).await;
}

#[tokio::test]
async fn unsigned_trailer_each_checksum() {
    let b = gw().bucket("sig-utrailer").await;
    for (i, algo) in ALL_CHECKSUMS.into_iter().enumerate() {
        // Below the inline limit and past it.
        for size in [5000 + i, 700 * 1024 + i] {
            let key = format!("unsigned-{}-{size}.bin", algo.name());
            let data = random_bytes(size, 40 + size as u64);
            let good = build(&b, &key, &data, Form::UnsignedTrailer(algo), 64 * 1024);

            let mut t = good.clone();
            t.corrupt_trailer_checksum(false);
            assert_refused(&t, &b, &key, 400, "BadDigest").await;
            let mut t = good.clone();
            t.corrupt_data(t.last_data());
            assert_refused(&t, &b, &key, 400, "BadDigest").await;
            let mut t = good.clone();
            t.corrupt_data(0);
            assert_refused(&t, &b, &key, 400, "BadDigest").await;

            accept_with_checksum(&good, &b, &key, &data, algo).await;
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
}

/// Unsigned trailer over HTTP chunked transfer, no Content-Length and no decoded
/// length: what botocore sends for a stream of unknown size.
#[tokio::test]
async fn unsigned_trailer_without_any_length() {
    let b = gw().bucket("sig-utrailer-te").await;
    let key = "te-unknown-length.bin";
    let data = random_bytes(2 * 1024 * 1024 + 99, 50);
    let spec = ChunkedSpec {
        http_chunked: true,
        decoded_length: false,
        ..ChunkedSpec::put(
            &host(),
            &b,
            key,
            Form::UnsignedTrailer(Checksum::Crc32c),
            64 * 1024,
        )
    };
    let good = ChunkedPut::build(spec, &signer(), Stamp::now(), &data);

    let mut t = good.clone();
    t.corrupt_trailer_checksum(false);
    assert_refused(&t, &b, key, 400, "BadDigest").await;
    let mut t = good.clone();
    t.corrupt_data(7);
    assert_refused(&t, &b, key, 400, "BadDigest").await;

    accept_with_checksum(&good, &b, key, &data, Checksum::Crc32c).await;
}
