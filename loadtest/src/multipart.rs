//! The `multipart` operation against S3: CreateMultipartUpload, the parts in parallel
//! (`part_size`, `part_concurrency` in flight, as the aws CLI uploads a large file),
//! CompleteMultipartUpload. A failed upload is aborted so runs leave no parts behind.

use crate::op_error::OpError;
use crate::s3::{check_status, read_small, s3_code, xml_text, GenBody, S3Driver};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use http::Method;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

impl S3Driver {
    /// Uploads `key` (`size` bytes of generated content) in parts; returns the bytes.
    pub async fn multipart(&self, key: &str, size: u64) -> Result<u64, OpError> {
        let url = self.url(Some(key), "uploads");
        let req = self.signed(Method::POST, &url, GenBody::empty(), 0)?;
        let doc = self.answer(req).await?;
        let upload_id = xml_text(&doc, "UploadId")
            .map(str::to_string)
            .ok_or_else(|| OpError::msg("bad_reply", "CreateMultipartUpload without UploadId"))?;
        let id = utf8_percent_encode(&upload_id, NON_ALPHANUMERIC).to_string();
        match self.upload_parts(key, size, &id).await {
            Ok(doc) => {
                let url = self.url(Some(key), &format!("uploadId={id}"));
                let len = doc.len() as u64;
                let req = self.signed(Method::POST, &url, GenBody::fixed(doc), len)?;
                // Complete may answer 200 and then an error document.
                let answer = self.answer(req).await?;
                match s3_code(&answer) {
                    Some(code) if answer.contains("<Error>") => {
                        Err(OpError::msg(format!("http_200_{code}"), answer))
                    }
                    _ => Ok(size),
                }
            }
            Err(e) => {
                let url = self.url(Some(key), &format!("uploadId={id}"));
                if let Ok(req) = self.signed(Method::DELETE, &url, GenBody::empty(), 0) {
                    let _ = self.answer(req).await;
                }
                Err(e)
            }
        }
    }

    /// Uploads every part; returns the CompleteMultipartUpload document.
    async fn upload_parts(&self, key: &str, size: u64, id: &str) -> Result<Bytes, OpError> {
        let part = self.part_size;
        let count = size.div_ceil(part).max(1);
        let mut etags: Vec<(u64, String)> = futures::stream::iter(1..=count)
            .map(|n| async move {
                let (start, end) = ((n - 1) * part, (n * part).min(size));
                let url = self.url(Some(key), &format!("partNumber={n}&uploadId={id}"));
                let body = GenBody::range(key, size, start, end);
                let req = self.signed(Method::PUT, &url, body, end - start)?;
                let resp = check_status(self.send(req).await?).await?;
                let etag = resp
                    .headers()
                    .get(http::header::ETAG)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| OpError::msg("bad_reply", format!("part {n} without ETag")))?
                    .to_string();
                Ok::<_, OpError>((n, etag))
            })
            .buffer_unordered(self.part_concurrency)
            .try_collect()
            .await?;
        etags.sort_unstable();
        let mut doc = String::from("<CompleteMultipartUpload>");
        for (n, etag) in etags {
            doc.push_str(&format!(
                "<Part><PartNumber>{n}</PartNumber><ETag>{}</ETag></Part>",
                etag.replace('"', "&quot;")
            ));
        }
        doc.push_str("</CompleteMultipartUpload>");
        Ok(Bytes::from(doc))
    }

    /// Sends `req`; a success's (small) body as text.
    async fn answer(&self, req: http::Request<GenBody>) -> Result<String, OpError> {
        let resp = check_status(self.send(req).await?).await?;
        let body = read_small(resp.into_body(), 1 << 20)
            .await
            .map_err(|e| OpError::new("body_io", e))?;
        Ok(String::from_utf8_lossy(&body).into_owned())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn upload_id_from_initiate_result() {
        let xml = "<?xml version=\"1.0\"?><InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>abc.DEF_1</UploadId></InitiateMultipartUploadResult>";
        assert_eq!(xml_text(xml, "UploadId"), Some("abc.DEF_1"));
        assert_eq!(xml_text(xml, "Missing"), None);
    }
}
