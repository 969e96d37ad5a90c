//! [`PayloadVerifier`]: decodes and checks a request body as it streams.
//!
//! Use: `new` from the request headers; `push` every raw body piece (forward the returned
//! decoded data); after each push, drain [`PayloadVerifier::take_chunk_sigs`] and send
//! them to the auth service; at end of input `finish`, which returns the digests and
//! the signatures still to check. Decoded data is handed out before its chunk signature
//! is checked: the object must not be committed until every signature (and the trailer
//! signature) has been verified. Signatures accumulate until taken (one per chunk), so
//! drain them after every push to keep memory bounded. After any error the verifier is
//! in an unspecified state: abort the request with that error.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use bytes::Bytes;
use jetgate_protocol::{ChunkSig, S3Error, SignedRequest};
use sha2::{Digest, Sha256};

use super::chunked::{ChunkEvent, ChunkedDecoder};
use super::md5x::Md5Stream;
use super::{ChecksumAlgorithm, ChecksumHasher, PayloadMode};

/// What a verified body hashed to.
#[derive(Debug, Clone)]
pub struct Digests {
    /// MD5 of the decoded data (the ETag of a single-part object).
    pub md5: [u8; 16],
    /// SHA-256 of the decoded data, unless [`PayloadVerifier::without_sha256`] said
    /// nobody needs it.
    pub sha256: Option<[u8; 32]>,
    pub decoded_len: u64,
    /// The additional checksum (base64), verified if the client sent a value, else
    /// computed because `x-amz-checksum-algorithm` asked for it.
    pub checksum: Option<(ChecksumAlgorithm, String)>,
    /// Chunk signatures not yet taken with `take_chunk_sigs`: still to be verified.
    pub chunk_sigs: Vec<ChunkSig>,
    /// The trailer's canonical SHA-256 (hex) and signature, still to be verified.
    pub trailer_sig: Option<ChunkSig>,
}

#[derive(Debug)]
struct ChecksumCheck {
    hasher: ChecksumHasher,
    /// The value to match, from the header or (once received) the trailer.
    expected: Option<Vec<u8>>,
    /// The value is announced in `x-amz-trailer`.
    from_trailer: bool,
}

/// Streaming body decoder and verifier; see the module docs.
#[derive(Debug)]
pub struct PayloadVerifier {
    mode: PayloadMode,
    decoder: Option<ChunkedDecoder>,
    events: Vec<ChunkEvent>,
    md5: Md5Stream,
    sha256: Option<Sha256>,
    decoded_len: u64,
    raw_len: u64,
    content_length: Option<u64>,
    decoded_content_length: Option<u64>,
    content_md5: Option<[u8; 16]>,
    checksum: Option<ChecksumCheck>,
    chunk_sigs: Vec<ChunkSig>,
    trailer_sig: Option<ChunkSig>,
}

fn parse_len(req: &SignedRequest, name: &str) -> Result<Option<u64>, S3Error> {
    req.header(name)
        .map(|v| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| S3Error::invalid_argument(format!("Invalid value for {name}.")))
        })
        .transpose()
}

impl PayloadVerifier {
    /// A verifier for `req`'s body, its mode taken from `x-amz-content-sha256`.
    pub fn new(req: &SignedRequest) -> Result<Self, S3Error> {
        Self::with_mode(req, PayloadMode::from_request(req)?)
    }

    /// Skips the SHA-256 of the data unless the signature covers it: a multipart part's
    /// own SHA-256 is never stored (the object's digest is hashed across parts instead).
    pub fn without_sha256(mut self) -> Self {
        if !matches!(self.mode, PayloadMode::Literal(_)) {
            self.sha256 = None;
        }
        self
    }

    /// Ignores a checksum the request's headers name (a trailer's is still checked): for
    /// a request whose `x-amz-checksum-*` header describes something else than its body.
    pub fn without_header_checksum(mut self) -> Self {
        if self.checksum.as_ref().is_some_and(|c| !c.from_trailer) {
            self.checksum = None;
        }
        self
    }

    /// A verifier for `req`'s body in an already parsed `mode`.
    pub fn with_mode(req: &SignedRequest, mode: PayloadMode) -> Result<Self, S3Error> {
        let content_md5 = match req.header("content-md5") {
            None => None,
            Some(v) => match B64.decode(v.trim()).map(<[u8; 16]>::try_from) {
                Ok(Ok(md5)) => Some(md5),
                _ => {
                    return Err(S3Error::invalid_digest());
                }
            },
        };
        let decoded_content_length = if mode.is_chunked() {
            parse_len(req, "x-amz-decoded-content-length")?
        } else {
            None
        };
        Ok(PayloadVerifier {
            mode,
            decoder: mode
                .is_chunked()
                .then(|| ChunkedDecoder::new(mode.is_signed_chunked(), mode.has_trailer())),
            events: Vec::new(),
            md5: Md5Stream::new(),
            sha256: Some(Sha256::new()),
            decoded_len: 0,
            raw_len: 0,
            content_length: parse_len(req, "content-length")?,
            decoded_content_length,
            content_md5,
            checksum: checksum_check(req, mode)?,
            chunk_sigs: Vec::new(),
            trailer_sig: None,
        })
    }

    pub fn mode(&self) -> PayloadMode {
        self.mode
    }

    /// The additional checksum this body is checked against or computes, if any.
    pub fn checksum_algorithm(&self) -> Option<ChecksumAlgorithm> {
        self.checksum.as_ref().map(|c| c.hasher.algorithm())
    }

    /// Decoded bytes so far.
    pub fn decoded_len(&self) -> u64 {
        self.decoded_len
    }

    /// Feeds one raw body piece; returns the decoded object data it contained (slices
    /// of `input`, possibly none).
    pub fn push(&mut self, input: Bytes) -> Result<Vec<Bytes>, S3Error> {
        self.raw_len += input.len() as u64;
        if self.content_length.is_some_and(|cl| self.raw_len > cl) {
            return Err(S3Error::incomplete_body());
        }
        let Some(decoder) = self.decoder.as_mut() else {
            self.on_data(&input)?;
            return Ok(vec![input]);
        };
        let mut events = std::mem::take(&mut self.events);
        events.clear();
        let res = decoder.push(input, &mut events);
        let out = res.and_then(|()| self.on_events(&mut events));
        self.events = events;
        out
    }

    /// Resolves once the MD5 backlog of this body is small again: await it after each
    /// push so a slow hashing thread cannot make the body pile up in memory.
    pub async fn hash_ready(&mut self) {
        self.md5.ready().await;
    }

    /// Chunk signatures waiting to be checked.
    pub fn pending_chunk_sigs(&self) -> usize {
        self.chunk_sigs.len()
    }

    /// Takes the chunk signatures collected so far, in body order.
    pub fn take_chunk_sigs(&mut self) -> Vec<ChunkSig> {
        std::mem::take(&mut self.chunk_sigs)
    }

    /// Takes the trailer's canonical hash and signature, once received.
    pub fn take_trailer_sig(&mut self) -> Option<ChunkSig> {
        self.trailer_sig.take()
    }

    /// Ends the body: checks completeness, lengths, the literal SHA-256, Content-MD5 and
    /// the additional checksum, in that order.
    pub async fn finish(mut self) -> Result<Digests, S3Error> {
        if let Some(mut decoder) = self.decoder.take() {
            let mut events = Vec::new();
            decoder.finish(&mut events)?;
            self.on_events(&mut events)?;
            if !decoder.is_done() {
                return Err(super::chunked::incomplete());
            }
        }
        if self.content_length.is_some_and(|cl| cl != self.raw_len)
            || self
                .decoded_content_length
                .is_some_and(|dl| dl != self.decoded_len)
        {
            return Err(S3Error::incomplete_body());
        }
        let sha256: Option<[u8; 32]> = self.sha256.map(|h| h.finalize().into());
        if matches!(self.mode, PayloadMode::Literal(expected) if Some(expected) != sha256) {
            return Err(S3Error::x_amz_content_sha256_mismatch());
        }
        let md5 = self.md5.finalize().await;
        if self.content_md5.is_some_and(|m| m != md5) {
            return Err(S3Error::bad_digest());
        }
        let checksum = match self.checksum {
            None => None,
            Some(c) => {
                let algo = c.hasher.algorithm();
                let actual = c.hasher.finalize();
                match c.expected {
                    Some(e) if e != actual => {
                        return Err(S3Error::bad_digest_with(format!(
                            "The {algo} you specified did not match the calculated checksum."
                        )));
                    }
                    None if c.from_trailer => {
                        return Err(S3Error::invalid_request(format!(
                            "The trailer {} declared in x-amz-trailer was not sent.",
                            algo.header_name()
                        )));
                    }
                    _ => Some((algo, B64.encode(actual))),
                }
            }
        };
        Ok(Digests {
            md5,
            sha256,
            decoded_len: self.decoded_len,
            checksum,
            chunk_sigs: self.chunk_sigs,
            trailer_sig: self.trailer_sig,
        })
    }

    fn on_data(&mut self, data: &Bytes) -> Result<(), S3Error> {
        self.decoded_len += data.len() as u64;
        if self
            .decoded_content_length
            .is_some_and(|dl| self.decoded_len > dl)
        {
            return Err(S3Error::incomplete_body());
        }
        self.md5.update(data.clone());
        if let Some(h) = self.sha256.as_mut() {
            h.update(data);
        }
        if let Some(c) = self.checksum.as_mut() {
            c.hasher.update(data);
        }
        Ok(())
    }

    fn on_events(&mut self, events: &mut Vec<ChunkEvent>) -> Result<Vec<Bytes>, S3Error> {
        let mut out = Vec::new();
        for ev in events.drain(..) {
            match ev {
                ChunkEvent::Data(d) => {
                    self.on_data(&d)?;
                    out.push(d);
                }
                ChunkEvent::ChunkEnd {
                    sha256_hex: Some(sha256),
                    signature: Some(signature),
                } => self.chunk_sigs.push(ChunkSig { sha256, signature }),
                ChunkEvent::ChunkEnd { .. } | ChunkEvent::End => {}
                ChunkEvent::Trailers {
                    headers,
                    signature,
                    canonical_sha256_hex,
                } => self.on_trailers(headers, signature, canonical_sha256_hex)?,
            }
        }
        Ok(out)
    }

    fn on_trailers(
        &mut self,
        headers: Vec<(String, String)>,
        signature: Option<String>,
        canonical_sha256_hex: String,
    ) -> Result<(), S3Error> {
        match self.mode {
            PayloadMode::StreamingSignedTrailer => {
                let Some(signature) = signature else {
                    return Err(S3Error::invalid_request(
                        "The trailer has no x-amz-trailer-signature.",
                    ));
                };
                self.trailer_sig = Some(ChunkSig {
                    sha256: canonical_sha256_hex,
                    signature,
                });
            }
            PayloadMode::StreamingUnsignedTrailer => {}
            _ => {
                return Err(S3Error::invalid_request(
                    "Trailers are not allowed in this request.",
                ))
            }
        }
        for (name, value) in headers {
            let Some(algo) = ChecksumAlgorithm::from_header_name(&name) else {
                continue;
            };
            match self.checksum.as_mut() {
                Some(c) if c.from_trailer && c.hasher.algorithm() == algo => {
                    c.expected = Some(algo.decode_value(&value)?);
                }
                _ => {
                    return Err(S3Error::invalid_request(format!(
                        "The trailer {name} was not declared in x-amz-trailer."
                    )));
                }
            }
        }
        Ok(())
    }
}

/// The checksum to compute and check: from an `x-amz-checksum-*` header, an
/// `x-amz-trailer` announcing one, or `x-amz-(sdk-)checksum-algorithm` alone.
fn checksum_check(
    req: &SignedRequest,
    mode: PayloadMode,
) -> Result<Option<ChecksumCheck>, S3Error> {
    let multiple = || {
        S3Error::invalid_request(
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
        )
    };
    let mut found: Option<ChecksumCheck> = None;
    for (name, value) in &req.headers {
        let Some(algo) = ChecksumAlgorithm::from_header_name(name) else {
            continue;
        };
        if found.is_some() {
            return Err(multiple());
        }
        found = Some(ChecksumCheck {
            hasher: algo.hasher(),
            expected: Some(algo.decode_value(value)?),
            from_trailer: false,
        });
    }
    for (_, value) in req.headers.iter().filter(|(n, _)| n == "x-amz-trailer") {
        for name in value.split(',') {
            let Some(algo) = ChecksumAlgorithm::from_header_name(name) else {
                continue;
            };
            if found.is_some() {
                return Err(multiple());
            }
            if !mode.has_trailer() {
                return Err(S3Error::invalid_request(
                    "x-amz-trailer requires a STREAMING-*-TRAILER x-amz-content-sha256.",
                ));
            }
            found = Some(ChecksumCheck {
                hasher: algo.hasher(),
                expected: None,
                from_trailer: true,
            });
        }
    }
    if found.is_none() {
        let named = req
            .header("x-amz-checksum-algorithm")
            .or_else(|| req.header("x-amz-sdk-checksum-algorithm"));
        if let Some(algo) = named.and_then(ChecksumAlgorithm::from_name) {
            found = Some(ChecksumCheck {
                hasher: algo.hasher(),
                expected: None,
                from_trailer: false,
            });
        }
    }
    Ok(found)
}

#[cfg(test)]
#[path = "verifier_tests.rs"]
mod tests;
