//! An arbitrary HTTP request as the edge hands it to a worker.

use arbitrary::Arbitrary;
use jetgate_protocol::messages::SignedRequest;

#[derive(Debug, Arbitrary)]
pub struct Request {
    method: u8,
    path: String,
    query: String,
    headers: Vec<(Header, String)>,
    virtual_host_bucket: Option<String>,
}

/// Header names the parsers read, plus anything else.
#[derive(Debug, Arbitrary)]
enum Header {
    Known(u8),
    Other(String),
}

const METHODS: &[&str] = &["GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS", "PATCH"];
const NAMES: &[&str] = &[
    "host",
    "authorization",
    "x-amz-date",
    "date",
    "x-amz-content-sha256",
    "x-amz-copy-source",
    "x-amz-copy-source-range",
    "if-match",
    "if-none-match",
    "x-amz-acl",
    "x-amz-grant-read",
    "content-md5",
    "content-type",
    "x-amz-decoded-content-length",
    "x-amz-trailer",
    "x-amz-security-token",
    "x-amz-meta-a",
    "range",
    "x-amz-checksum-algorithm",
    "if-modified-since",
    "if-unmodified-since",
];

impl Request {
    pub fn signed(self) -> SignedRequest {
        SignedRequest {
            method: METHODS[self.method as usize % METHODS.len()].to_string(),
            path: self.path,
            query: self.query,
            headers: self
                .headers
                .into_iter()
                .map(|(n, v)| {
                    let name = match n {
                        Header::Known(i) => NAMES[i as usize % NAMES.len()].to_string(),
                        Header::Other(s) => s.to_ascii_lowercase(),
                    };
                    (name, v)
                })
                .collect(),
            virtual_host_bucket: self.virtual_host_bucket,
        }
    }
}
