//! The two targets a run can drive: an S3 endpoint or the raw NATS object store.

use crate::op_error::OpError;
use crate::raw::RawDriver;
use crate::s3::S3Driver;
use crate::spec::Op;

pub enum Driver {
    S3(Box<S3Driver>),
    Raw(Box<RawDriver>),
}

impl Driver {
    pub fn target_name(&self) -> &'static str {
        match self {
            Driver::S3(_) => "s3",
            Driver::Raw(_) => "raw",
        }
    }

    pub async fn ensure_bucket(&self) -> anyhow::Result<()> {
        match self {
            Driver::S3(d) => d.ensure_bucket().await,
            Driver::Raw(d) => d.ensure_bucket().await,
        }
    }

    /// Run one operation; returns the payload bytes moved.
    pub async fn run(
        &self,
        op: Op,
        key: &str,
        size: u64,
        list_prefix: &str,
    ) -> Result<u64, OpError> {
        match (self, op) {
            (Driver::S3(d), Op::Put) => d.put(key, size).await,
            (Driver::S3(d), Op::Get) => d.get(key, size).await,
            (Driver::S3(d), Op::Head) => d.head(key, size).await,
            (Driver::S3(d), Op::List) => d.list(list_prefix).await,
            (Driver::S3(d), Op::Delete) => d.delete(key).await,
            (Driver::S3(d), Op::Multipart) => d.multipart(key, size).await,
            (Driver::Raw(d), Op::Put) => d.put(key, size).await,
            (Driver::Raw(d), Op::Get) => d.get(key, size).await,
            (Driver::Raw(d), Op::Head) => d.head(key, size).await,
            (Driver::Raw(d), Op::List) => d.list().await,
            (Driver::Raw(d), Op::Delete) => d.delete(key).await,
            // The ceiling a multipart upload is measured against: one object-store put.
            (Driver::Raw(d), Op::Multipart) => d.put(key, size).await,
        }
    }
}
