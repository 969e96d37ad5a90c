//! Incremental, bounded-memory decoder of the `aws-chunked` body framing.
//!
//! Signed chunks: `<hex-size>;chunk-signature=<64 hex>\r\n<data>\r\n`; unsigned chunks:
//! `<hex-size>\r\n<data>\r\n`. The final chunk has size 0 and no data; after its header
//! line come the trailer lines (`name:value\r\n`, for signed-trailer bodies ending with
//! `x-amz-trailer-signature:<sig>\r\n`) and a blank line (`\r\n`).
//!
//! Tolerances, after what real clients send and what MinIO/s3s accept: a bare `\n` ends a
//! line; a blank line may precede the trailers; at end of input the blank line closing
//! the trailers, or even the final line's CRLF, may be missing; unknown chunk extensions
//! are ignored; CR/LF bytes after the end are ignored.
//!
//! Input may be split anywhere. Data is passed on as zero-copy slices of the input; only
//! header lines (≤ [`MAX_LINE`]) and the trailer block (≤ [`MAX_TRAILER_BLOCK`]) are
//! buffered.

use bytes::Bytes;
use jetgate_protocol::S3Error;
use sha2::{Digest, Sha256};

/// Longest accepted chunk header line, CRLF included.
pub const MAX_LINE: usize = 4096;
/// Largest accepted trailer section (all lines, CRLFs included).
pub const MAX_TRAILER_BLOCK: usize = 16 * 1024;
/// Most hex digits in a chunk size.
pub const MAX_SIZE_DIGITS: usize = 16;

/// SHA-256 of the empty string, in hex: the hash of the final chunk's data.
pub const EMPTY_SHA256_HEX: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// What the decoder found in the input, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkEvent {
    /// Decoded object data (a slice of the input).
    Data(Bytes),
    /// The end of a chunk, the final empty chunk included. In signed mode: the SHA-256
    /// (hex) of the chunk's data and the `chunk-signature` the client sent.
    ChunkEnd {
        sha256_hex: Option<String>,
        signature: Option<String>,
    },
    /// The trailer section, if the body had one. `headers` have lowercase names and
    /// trimmed values, in arrival order, without `x-amz-trailer-signature`, whose value
    /// is `signature`. `canonical_sha256_hex` is the SHA-256 of every header as
    /// `name:value\n`, in arrival order: the hash the trailer signature signs.
    Trailers {
        headers: Vec<(String, String)>,
        signature: Option<String>,
        canonical_sha256_hex: String,
    },
    /// The body is complete.
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Header,
    Data { remaining: u64 },
    DataCr,
    DataLf,
    Trailer,
    Done,
}

/// Incremental `aws-chunked` decoder; see the module docs.
#[derive(Debug)]
pub struct ChunkedDecoder {
    signed: bool,
    trailer_expected: bool,
    state: State,
    line: Vec<u8>,
    chunk_hash: Option<Sha256>,
    chunk_sig: Option<String>,
    trailer_bytes: usize,
    trailers: Vec<(String, String)>,
    trailer_sig: Option<String>,
    trailer_canonical: Vec<u8>,
    leading_blank: bool,
}

fn malformed(what: &str) -> S3Error {
    S3Error::invalid_request(format!("Malformed aws-chunked request body: {what}."))
}

/// The error for a body that ended before its framing did.
pub fn incomplete() -> S3Error {
    S3Error::incomplete_body_with("The request body terminated unexpectedly.")
}

impl ChunkedDecoder {
    /// `signed`: chunk headers carry `chunk-signature` (required) and chunk data is
    /// hashed. `trailer_expected`: a blank line right after the final chunk may be
    /// followed by trailers, so the end is only certain at [`ChunkedDecoder::finish`].
    pub fn new(signed: bool, trailer_expected: bool) -> Self {
        ChunkedDecoder {
            signed,
            trailer_expected,
            state: State::Header,
            line: Vec::new(),
            chunk_hash: None,
            chunk_sig: None,
            trailer_bytes: 0,
            trailers: Vec::new(),
            trailer_sig: None,
            trailer_canonical: Vec::new(),
            leading_blank: false,
        }
    }

    /// True once [`ChunkEvent::End`] has been produced.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes one piece of the body, appending what it found to `out`.
    pub fn push(&mut self, mut input: Bytes, out: &mut Vec<ChunkEvent>) -> Result<(), S3Error> {
        while !input.is_empty() {
            match self.state {
                State::Header => {
                    if let Some(line) = self.take_line(&mut input, MAX_LINE)? {
                        self.on_header_line(&line, out)?;
                    }
                }
                State::Data { remaining } => {
                    let n = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(input.len());
                    let data = input.split_to(n);
                    if let Some(h) = self.chunk_hash.as_mut() {
                        h.update(&data);
                    }
                    out.push(ChunkEvent::Data(data));
                    let remaining = remaining - n as u64;
                    self.state = if remaining == 0 {
                        State::DataCr
                    } else {
                        State::Data { remaining }
                    };
                }
                State::DataCr | State::DataLf => {
                    let b = input.split_to(1);
                    match (self.state, b.first()) {
                        (State::DataCr, Some(b'\r')) => self.state = State::DataLf,
                        (_, Some(b'\n')) => self.end_data_chunk(out),
                        _ => return Err(malformed("chunk data not followed by CRLF")),
                    }
                }
                State::Trailer => {
                    let budget = MAX_TRAILER_BLOCK.saturating_sub(self.trailer_bytes);
                    let before = input.len() + self.line.len();
                    let line = self.take_line(&mut input, budget)?;
                    if let Some(line) = line {
                        self.trailer_bytes += before - input.len();
                        self.on_trailer_line(&line, out)?;
                    }
                }
                State::Done => {
                    if input.iter().any(|b| *b != b'\r' && *b != b'\n') {
                        return Err(malformed("data after the final chunk"));
                    }
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Signals the end of input. Errors with `IncompleteBody` if the body was cut short.
    pub fn finish(&mut self, out: &mut Vec<ChunkEvent>) -> Result<(), S3Error> {
        match self.state {
            State::Done => Ok(()),
            State::Trailer => {
                if !self.line.is_empty() {
                    // The last line lacks its CRLF: take it as it is.
                    let line = std::mem::take(&mut self.line);
                    self.on_trailer_line(&line, out)?;
                }
                if self.state != State::Done {
                    self.end_trailers(out);
                }
                Ok(())
            }
            _ => Err(incomplete()),
        }
    }

    /// Moves bytes up to and including the next `\n` into `self.line`; returns the
    /// complete line (without CR/LF) once there is one.
    fn take_line(&mut self, input: &mut Bytes, limit: usize) -> Result<Option<Vec<u8>>, S3Error> {
        let nl = input.iter().position(|b| *b == b'\n');
        let take = nl.map_or(input.len(), |i| i + 1);
        if self.line.len() + take > limit {
            return Err(if self.state == State::Trailer {
                malformed("trailer section too large")
            } else {
                malformed("chunk header line too long")
            });
        }
        self.line.extend_from_slice(&input.split_to(take));
        if nl.is_none() {
            return Ok(None);
        }
        let mut line = std::mem::take(&mut self.line);
        line.pop(); // '\n'
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Ok(Some(line))
    }

    fn on_header_line(&mut self, line: &[u8], out: &mut Vec<ChunkEvent>) -> Result<(), S3Error> {
        let line = std::str::from_utf8(line).map_err(|_| malformed("chunk header is not text"))?;
        let mut parts = line.split(';');
        let size_hex = parts.next().unwrap_or("").trim();
        if size_hex.is_empty()
            || size_hex.len() > MAX_SIZE_DIGITS
            || !size_hex.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(malformed("invalid chunk size"));
        }
        let size =
            u64::from_str_radix(size_hex, 16).map_err(|_| malformed("invalid chunk size"))?;
        let mut signature = None;
        for ext in parts {
            let (name, value) = ext.split_once('=').unwrap_or((ext, ""));
            if name.trim() == "chunk-signature" {
                signature = Some(value.trim().to_string());
            }
        }
        if self.signed {
            match &signature {
                Some(s) if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {}
                Some(_) => return Err(malformed("invalid chunk-signature")),
                None => return Err(malformed("missing chunk-signature")),
            }
        } else {
            signature = None;
        }
        self.chunk_sig = signature;
        if size == 0 {
            out.push(ChunkEvent::ChunkEnd {
                sha256_hex: self.signed.then(|| EMPTY_SHA256_HEX.to_string()),
                signature: self.chunk_sig.take(),
            });
            self.state = State::Trailer;
        } else {
            self.chunk_hash = self.signed.then(Sha256::new);
            self.state = State::Data { remaining: size };
        }
        Ok(())
    }

    fn end_data_chunk(&mut self, out: &mut Vec<ChunkEvent>) {
        out.push(ChunkEvent::ChunkEnd {
            sha256_hex: self.chunk_hash.take().map(|h| hex::encode(h.finalize())),
            signature: self.chunk_sig.take(),
        });
        self.state = State::Header;
    }

    fn on_trailer_line(&mut self, line: &[u8], out: &mut Vec<ChunkEvent>) -> Result<(), S3Error> {
        let line = std::str::from_utf8(line).map_err(|_| malformed("trailer is not text"))?;
        if line.trim().is_empty() {
            let nothing_yet = self.trailers.is_empty() && self.trailer_sig.is_none();
            if nothing_yet && self.trailer_expected && !self.leading_blank {
                // `0\r\n\r\n`: either the end, or a blank line before the trailers.
                self.leading_blank = true;
                return Ok(());
            }
            self.end_trailers(out);
            return Ok(());
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| malformed("trailer without ':'"))?;
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim();
        if name.is_empty() {
            return Err(malformed("trailer without a name"));
        }
        if name == "x-amz-trailer-signature" {
            if self.trailer_sig.is_some() {
                return Err(malformed("repeated x-amz-trailer-signature"));
            }
            self.trailer_sig = Some(value.to_string());
        } else {
            if self.trailer_sig.is_some() {
                return Err(malformed("trailer after x-amz-trailer-signature"));
            }
            self.trailer_canonical.extend_from_slice(name.as_bytes());
            self.trailer_canonical.push(b':');
            self.trailer_canonical.extend_from_slice(value.as_bytes());
            self.trailer_canonical.push(b'\n');
            self.trailers.push((name, value.to_string()));
        }
        Ok(())
    }

    fn end_trailers(&mut self, out: &mut Vec<ChunkEvent>) {
        if !self.trailers.is_empty() || self.trailer_sig.is_some() {
            out.push(ChunkEvent::Trailers {
                headers: std::mem::take(&mut self.trailers),
                signature: self.trailer_sig.take(),
                canonical_sha256_hex: hex::encode(Sha256::digest(&self.trailer_canonical)),
            });
            self.trailer_canonical = Vec::new();
        }
        out.push(ChunkEvent::End);
        self.state = State::Done;
    }
}

#[cfg(test)]
#[path = "chunked_tests.rs"]
pub(crate) mod tests;
