//! Crafted `aws-chunked` uploads (signed, signed with a trailer, unsigned with a trailer),
//! built whole so that a test can change one byte and send the exact twin.

use super::signer::{corrupt_b64, corrupt_hex, Checksum, Signer, Stamp};
use super::wire::RawRequest;

pub const STREAMING_SIGNED: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
pub const STREAMING_SIGNED_TRAILER: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
pub const STREAMING_UNSIGNED_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";

/// Which `x-amz-content-sha256` form the body takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    Signed,
    SignedTrailer(Checksum),
    UnsignedTrailer(Checksum),
}

impl Form {
    pub fn content_sha256(self) -> &'static str {
        match self {
            Form::Signed => STREAMING_SIGNED,
            Form::SignedTrailer(_) => STREAMING_SIGNED_TRAILER,
            Form::UnsignedTrailer(_) => STREAMING_UNSIGNED_TRAILER,
        }
    }

    fn signed(self) -> bool {
        !matches!(self, Form::UnsignedTrailer(_))
    }

    fn checksum(self) -> Option<Checksum> {
        match self {
            Form::Signed => None,
            Form::SignedTrailer(c) | Form::UnsignedTrailer(c) => Some(c),
        }
    }
}

/// How to build the request: target, framing and extra signed headers.
#[derive(Clone, Debug)]
pub struct ChunkedSpec {
    pub method: String,
    /// Path as sent (already URI-encoded), e.g. `/bucket/key`.
    pub path: String,
    /// Canonical query string (sorted, encoded), e.g. `delete=`; sent as is.
    pub query: String,
    pub host: String,
    pub form: Form,
    pub chunk_size: usize,
    /// Send `x-amz-decoded-content-length`.
    pub decoded_length: bool,
    /// `Transfer-Encoding: chunked` instead of `Content-Length`.
    pub http_chunked: bool,
    /// More headers to sign (e.g. `content-md5`).
    pub extra: Vec<(String, String)>,
}

impl ChunkedSpec {
    /// A PUT of `/bucket/key` to `host` with the defaults real clients use.
    pub fn put(host: &str, bucket: &str, key: &str, form: Form, chunk_size: usize) -> Self {
        ChunkedSpec {
            method: "PUT".into(),
            path: format!("/{bucket}/{}", super::signer::uri_encode(key, true)),
            query: String::new(),
            host: host.into(),
            form,
            chunk_size,
            decoded_length: true,
            http_chunked: false,
            extra: Vec::new(),
        }
    }
}

/// One chunk: its data and the `chunk-signature` sent with it (signed forms).
#[derive(Clone, Debug)]
pub struct Chunk {
    pub data: Vec<u8>,
    pub signature: Option<String>,
}

/// The trailing checksum header and, for signed trailers, its signature.
#[derive(Clone, Debug)]
pub struct Trailer {
    pub name: String,
    pub value: String,
    pub signature: Option<String>,
}

/// A signed `aws-chunked` request; its parts are public so a test can alter one byte.
#[derive(Clone, Debug)]
pub struct ChunkedPut {
    pub spec: ChunkedSpec,
    pub signer: Signer,
    pub stamp: Stamp,
    /// Data chunks, then the final empty chunk.
    pub chunks: Vec<Chunk>,
    pub trailer: Option<Trailer>,
    pub seed: String,
    /// The request headers, Authorization included.
    pub headers: Vec<(String, String)>,
}

impl ChunkedPut {
    /// Splits `data` into `spec.chunk_size` chunks and signs head, chunks and trailer.
    pub fn build(spec: ChunkedSpec, signer: &Signer, stamp: Stamp, data: &[u8]) -> ChunkedPut {
        let mut chunks: Vec<Chunk> = data
            .chunks(spec.chunk_size)
            .map(|c| Chunk {
                data: c.to_vec(),
                signature: None,
            })
            .collect();
        chunks.push(Chunk {
            data: Vec::new(),
            signature: None,
        });
        let trailer = spec.form.checksum().map(|c| Trailer {
            name: c.header(),
            value: c.value(data),
            signature: None,
        });
        let mut put = ChunkedPut {
            spec,
            signer: signer.clone(),
            stamp,
            chunks,
            trailer,
            seed: String::new(),
            headers: Vec::new(),
        };
        put.sign_head(data.len());
        put.sign_chunks();
        put
    }

    fn sign_head(&mut self, decoded: usize) {
        let spec = &self.spec;
        let mut h: Vec<(String, String)> = vec![
            ("host".into(), spec.host.clone()),
            ("x-amz-date".into(), self.stamp.time.clone()),
            (
                "x-amz-content-sha256".into(),
                spec.form.content_sha256().into(),
            ),
            ("content-encoding".into(), "aws-chunked".into()),
        ];
        if spec.decoded_length {
            h.push(("x-amz-decoded-content-length".into(), decoded.to_string()));
        }
        if !spec.http_chunked {
            h.push(("content-length".into(), self.body().len().to_string()));
        }
        if let Some(t) = &self.trailer {
            h.push(("x-amz-trailer".into(), t.name.clone()));
        }
        h.extend(spec.extra.iter().cloned());
        let signed = self
            .signer
            .sign_head(&self.stamp, &spec.method, &spec.path, &spec.query, h);
        self.seed = signed.signature;
        self.headers = signed.headers;
    }

    /// (Re)computes every chunk signature and the trailer signature from the data and
    /// trailer value as they are now.
    pub fn sign_chunks(&mut self) {
        if !self.spec.form.signed() {
            return;
        }
        let mut prev = self.seed.clone();
        for c in &mut self.chunks {
            let sig = self.signer.chunk_signature(&self.stamp, &prev, &c.data);
            c.signature = Some(sig.clone());
            prev = sig;
        }
        self.sign_trailer();
    }

    /// (Re)computes the trailer signature for the trailer value as it is now.
    pub fn sign_trailer(&mut self) {
        let prev = self
            .chunks
            .last()
            .and_then(|c| c.signature.clone())
            .unwrap_or_default();
        if let Some(t) = self.trailer.as_mut().filter(|_| self.spec.form.signed()) {
            let canonical = format!("{}:{}\n", t.name, t.value);
            t.signature = Some(
                self.signer
                    .trailer_signature(&self.stamp, &prev, &canonical),
            );
        }
    }

    /// Index of the last data chunk.
    pub fn last_data(&self) -> usize {
        self.chunks.len() - 2
    }

    /// Flips one bit of chunk `i`'s data, signatures unchanged.
    pub fn corrupt_data(&mut self, i: usize) {
        let d = &mut self.chunks[i].data;
        let mid = d.len() / 2;
        d[mid] ^= 0x01;
    }

    /// Changes one hex digit of chunk `i`'s signature.
    pub fn corrupt_chunk_signature(&mut self, i: usize) {
        let s = self.chunks[i].signature.as_mut().expect("signed chunk");
        *s = corrupt_hex(s);
    }

    /// Changes one byte of the trailer's checksum; `resign`: sign the wrong value (a
    /// client that computed a wrong checksum), else leave the old signature.
    pub fn corrupt_trailer_checksum(&mut self, resign: bool) {
        let t = self.trailer.as_mut().expect("trailer");
        t.value = corrupt_b64(&t.value);
        if resign {
            self.sign_trailer();
        }
    }

    /// Changes one hex digit of the trailer signature.
    pub fn corrupt_trailer_signature(&mut self) {
        let t = self.trailer.as_mut().expect("trailer");
        let s = t.signature.as_mut().expect("signed trailer");
        *s = corrupt_hex(s);
    }

    /// The `aws-chunked` body (signature placeholders while unsigned, same length).
    pub fn body(&self) -> Vec<u8> {
        let signed = self.spec.form.signed();
        let placeholder = "0".repeat(64);
        let mut out = Vec::new();
        for c in &self.chunks {
            out.extend_from_slice(format!("{:x}", c.data.len()).as_bytes());
            if signed {
                let sig = c.signature.as_deref().unwrap_or(&placeholder);
                out.extend_from_slice(format!(";chunk-signature={sig}").as_bytes());
            }
            out.extend_from_slice(b"\r\n");
            if !c.data.is_empty() {
                out.extend_from_slice(&c.data);
                out.extend_from_slice(b"\r\n");
            }
        }
        if let Some(t) = &self.trailer {
            out.extend_from_slice(format!("{}:{}\r\n", t.name, t.value).as_bytes());
            if signed {
                let sig = t.signature.as_deref().unwrap_or(&placeholder);
                out.extend_from_slice(format!("x-amz-trailer-signature:{sig}\r\n").as_bytes());
            }
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    /// The request as it goes on the wire.
    pub fn request(&self) -> RawRequest {
        let target = if self.spec.query.is_empty() {
            self.spec.path.clone()
        } else {
            format!("{}?{}", self.spec.path, self.spec.query)
        };
        RawRequest {
            method: self.spec.method.clone(),
            target,
            headers: self.headers.clone(),
            body: self.body(),
            http_chunked: self.spec.http_chunked,
        }
    }
}
