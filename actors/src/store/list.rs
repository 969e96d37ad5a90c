//! Reads every object's metadata of a bucket: an ordered consumer over the meta subjects
//! (rollup keeps exactly one message per object), drained to its end. A snapshot taken at
//! creation, so a listing sees every write acknowledged before it started.

use std::ops::ControlFlow;

use async_nats::jetstream::consumer::{push::OrderedConfig, DeliverPolicy};

use futures::StreamExt;

use super::{stream_name, ObjectMeta, Store, StoreError};

impl Store {
    /// Metadata of every live object in the bucket, in no particular order.
    #[tracing::instrument(name = "jetstream.list", level = "info", skip_all, fields(otel.kind = "client"))]
    pub async fn list_metas(&self, nats_bucket: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        let mut out = Vec::new();
        self.scan_metas(nats_bucket, |meta| {
            out.push(meta);
            ControlFlow::Continue(())
        })
        .await?;
        Ok(out)
    }

    /// Whether the bucket holds a live object: stops at the first one, so it reads one
    /// message of a bucket with objects (and the deletion markers of an empty one),
    /// never a whole bucket, and builds no listing index (DeleteBucket's question).
    #[tracing::instrument(name = "jetstream.any_object", level = "info", skip_all, fields(otel.kind = "client"))]
    pub async fn has_objects(&self, nats_bucket: &str) -> Result<bool, StoreError> {
        let mut found = false;
        self.scan_metas(nats_bucket, |_| {
            found = true;
            ControlFlow::Break(())
        })
        .await?;
        Ok(found)
    }

    /// Feeds the metadata of the bucket's live objects to `f` until it breaks or the
    /// snapshot (the stream as the consumer was created) is read.
    async fn scan_metas(
        &self,
        nats_bucket: &str,
        mut f: impl FnMut(ObjectMeta) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let stream = self
            .js
            .get_stream_no_info(stream_name(nats_bucket))
            .await
            .map_err(|e| StoreError::Request(e.to_string()))?;
        let consumer = stream
            .create_consumer(OrderedConfig {
                deliver_policy: DeliverPolicy::LastPerSubject,
                deliver_subject: self.client.new_inbox(),
                filter_subject: format!("$O.{nats_bucket}.M.>"),
                description: Some("jetgate listing".into()),
                ..Default::default()
            })
            .await
            .map_err(StoreError::api)?;
        let name = consumer.cached_info().name.clone();
        let scanned = async {
            if consumer.cached_info().num_pending == 0 {
                return Ok(());
            }
            let mut messages = consumer
                .messages()
                .await
                .map_err(|e| StoreError::Request(e.to_string()))?;
            while let Some(msg) = messages.next().await {
                let msg = msg.map_err(|e| StoreError::Request(e.to_string()))?;
                let pending = msg
                    .info()
                    .map(|i| i.pending)
                    .map_err(|e| StoreError::Request(e.to_string()))?;
                match ObjectMeta::parse(nats_bucket, &msg.subject, &msg.payload) {
                    Ok(meta) if !meta.deleted => {
                        if f(meta).is_break() {
                            return Ok(());
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, subject = %msg.subject, "skipping unreadable object metadata")
                    }
                }
                if pending == 0 {
                    break;
                }
            }
            Ok(())
        }
        .await;
        // Deleted at once: left to expire (30 s after its reader is gone), one consumer
        // per page piles up past nats-server's 1000 per stream at ~33 scans a second.
        if let Err(e) = stream.delete_consumer(&name).await {
            tracing::debug!(error = %e, "listing consumer not deleted (it expires)");
        }
        scanned
    }
}
