//! The crafted-request signer (tests/common/signer.rs, aws_chunked.rs) against the AWS
//! documentation's worked examples, before any test trusts it against the gateway.

use crate::common::{sigv2_string_to_sign, Checksum, ChunkedPut, ChunkedSpec, Form, Signer, Stamp};

const AK: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn doc_signer() -> Signer {
    Signer::new(AK, SECRET, "us-east-1")
}

fn doc_stamp() -> Stamp {
    Stamp::at("20130524T000000Z")
}

/// "Signature Calculations for the Authorization Header: Transferring Payload in a Single
/// Chunk", GET Object with `Range: bytes=0-9`.
#[test]
fn signer_matches_aws_get_object_example() {
    let head = doc_signer().sign_head(
        &doc_stamp(),
        "GET",
        "/test.txt",
        "",
        vec![
            ("host".into(), "examplebucket.s3.amazonaws.com".into()),
            ("range".into(), "bytes=0-9".into()),
            (
                "x-amz-content-sha256".into(),
                crate::common::EMPTY_SHA256.into(),
            ),
            ("x-amz-date".into(), "20130524T000000Z".into()),
        ],
    );
    assert_eq!(
        head.signature,
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    );
}

/// The 64 KiB chunk example of the same chapter ("Transferring Payload in Multiple
/// Chunks"): `PUT /examplebucket/chunkObject.txt`, 65536 + 1024 bytes of `a`.
#[test]
fn signer_matches_aws_chunked_put_example() {
    let spec = ChunkedSpec {
        path: "/examplebucket/chunkObject.txt".into(),
        host: "s3.amazonaws.com".into(),
        extra: vec![("x-amz-storage-class".into(), "REDUCED_REDUNDANCY".into())],
        ..ChunkedSpec::put("unused", "b", "k", Form::Signed, 65536)
    };
    let put = ChunkedPut::build(spec, &doc_signer(), doc_stamp(), &[b'a'; 66560]);
    assert_eq!(
        put.seed,
        "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
    );
    let sigs: Vec<&str> = put
        .chunks
        .iter()
        .map(|c| c.signature.as_deref().expect("signed"))
        .collect();
    assert_eq!(
        sigs,
        [
            "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
            "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
            "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
        ]
    );
    // The documented Content-Length is the encoded length: the framing is right too.
    assert_eq!(put.body().len(), 66824);
    let cl = put.headers.iter().find(|(n, _)| n == "content-length");
    assert_eq!(cl.map(|(_, v)| v.as_str()), Some("66824"));
    let body = put.body();
    assert!(body.starts_with(
        b"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\naaaa"
    ));
    assert!(body.ends_with(
        b"\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n"
    ));
}

/// "Signature Calculation: Including Trailing Headers": the same upload with a signed
/// `x-amz-checksum-crc32c` trailer (the vectors tests_golden.rs in the auth role uses).
#[test]
fn signer_matches_aws_trailer_example() {
    let spec = ChunkedSpec {
        path: "/examplebucket/chunkObject.txt".into(),
        host: "s3.amazonaws.com".into(),
        extra: vec![("x-amz-storage-class".into(), "REDUCED_REDUNDANCY".into())],
        // The example does not sign a Content-Length.
        http_chunked: true,
        ..ChunkedSpec::put(
            "unused",
            "b",
            "k",
            Form::SignedTrailer(Checksum::Crc32c),
            65536,
        )
    };
    let put = ChunkedPut::build(spec, &doc_signer(), doc_stamp(), &[b'a'; 66560]);
    assert_eq!(
        put.seed,
        "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
    );
    let sigs: Vec<&str> = put
        .chunks
        .iter()
        .map(|c| c.signature.as_deref().expect("signed"))
        .collect();
    assert_eq!(
        sigs,
        [
            "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
            "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
            "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
        ]
    );
    let trailer = put.trailer.as_ref().expect("trailer");
    assert_eq!(trailer.name, "x-amz-checksum-crc32c");
    assert_eq!(trailer.value, "sOO8/Q==");
    assert_eq!(
        trailer.signature.as_deref(),
        Some("d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435")
    );
    assert!(put.body().ends_with(
        b"x-amz-checksum-crc32c:sOO8/Q==\r\n\
          x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n"
    ));
}

/// "Signing and Authenticating REST Requests" (SigV2): the GET, PUT and query-string
/// examples of the johnsmith bucket.
#[test]
fn signer_matches_aws_sigv2_examples() {
    let s = doc_signer();
    let get = sigv2_string_to_sign(
        "GET",
        "",
        "",
        "Tue, 27 Mar 2007 19:36:42 +0000",
        &[],
        "/johnsmith/photos/puppy.jpg",
    );
    assert_eq!(s.sigv2(&get), "bWq2s1WEIj+Ydj0vQ697zp+IXMU=");
    let put = sigv2_string_to_sign(
        "PUT",
        "",
        "image/jpeg",
        "Tue, 27 Mar 2007 21:15:45 +0000",
        &[],
        "/johnsmith/photos/puppy.jpg",
    );
    assert_eq!(s.sigv2(&put), "MyyxeRY7whkBe+bq8fHCL/2kKUg=");
    let query = sigv2_string_to_sign(
        "GET",
        "",
        "",
        "1175139620",
        &[],
        "/johnsmith/photos/puppy.jpg",
    );
    assert_eq!(s.sigv2(&query), "NpgCjnDzrM+WFzoENXmpNDUsSn8=");
}

/// The checksums are computed bit by bit here; the standard check value of each CRC
/// ("123456789") and the SHA test vectors pin them.
#[test]
fn checksums_match_check_values() {
    let v = |c: Checksum| hex::encode(c.digest(b"123456789"));
    assert_eq!(v(Checksum::Crc32), "cbf43926");
    assert_eq!(v(Checksum::Crc32c), "e3069283");
    assert_eq!(v(Checksum::Crc64Nvme), "ae8b14860a799888");
    assert_eq!(
        hex::encode(Checksum::Sha1.digest(b"abc")),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(
        Checksum::Sha256.value(b""),
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    );
}
