//! One wildcard inbox subscription per NATS connection, demultiplexed into per-request
//! routes. A request needs a reply subject and, when a body streams, control and data
//! subjects; subscribing per request would cost a SUB/UNSUB round each time.
//!
//! Routes live under the connection's *stream* prefix, `<inbox prefix>_S.<nuid>`, not
//! under its inbox prefix: the peer of a body stream (the edge for a worker, a worker
//! for the edge) must be allowed to publish to the other's routes, and that permission
//! (`_INBOX_data_S.>`) must not also reach the replies to the other's JetStream and
//! auth requests (`_INBOX_data.>`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::{Client, Message};
use futures::StreamExt;
use tokio::sync::mpsc;

/// Routes messages arriving under this connection's inbox to the request that owns them.
#[derive(Clone)]
pub struct Mux {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    prefix: String,
    routes: Mutex<HashMap<String, mpsc::UnboundedSender<Message>>>,
}

/// `<inbox prefix>.<nuid>` (what `Client::new_inbox` makes) → `<inbox prefix>_S.<nuid>`.
pub fn stream_prefix(inbox: &str) -> String {
    match inbox.rsplit_once('.') {
        Some((prefix, id)) => format!("{prefix}_S.{id}"),
        None => format!("{inbox}_S"),
    }
}

impl Mux {
    /// Subscribes `<stream prefix>.*.*` and starts the dispatcher task.
    pub async fn new(client: Client) -> Result<Self, async_nats::SubscribeError> {
        let prefix = stream_prefix(&client.new_inbox());
        let mut sub = client.subscribe(format!("{prefix}.*.*")).await?;
        let inner = Arc::new(Inner {
            client,
            prefix,
            routes: Mutex::new(HashMap::new()),
        });
        let weak = Arc::downgrade(&inner);
        tokio::spawn(async move {
            while let Some(msg) = sub.next().await {
                let Some(inner) = weak.upgrade() else { break };
                let token = msg
                    .subject
                    .strip_prefix(inner.prefix.as_str())
                    .and_then(|rest| rest.strip_prefix('.'))
                    .and_then(|rest| rest.split('.').next())
                    .map(str::to_string);
                if let Some(token) = token {
                    let routes = inner.routes.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(tx) = routes.get(&token) {
                        // A closed route means the request ended; late frames are dropped.
                        let _ = tx.send(msg);
                    }
                }
            }
        });
        Ok(Mux { inner })
    }

    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// Opens a route: subjects `<inbox>.<token>.<kind>` all deliver to it.
    pub fn open(&self) -> Route {
        let token = nuid::next().to_string();
        let (tx, rx) = mpsc::unbounded_channel();
        self.inner
            .routes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token.clone(), tx);
        Route {
            inner: self.inner.clone(),
            token,
            rx,
        }
    }
}

/// The receiving end of one request's subjects; closes when dropped.
pub struct Route {
    inner: Arc<Inner>,
    token: String,
    rx: mpsc::UnboundedReceiver<Message>,
}

impl Route {
    /// Subject of kind `kind` (`r` reply, `c` control, `d` data) on this route.
    pub fn subject(&self, kind: &str) -> String {
        format!("{}.{}.{}", self.inner.prefix, self.token, kind)
    }

    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// Next message, or `None` after `timeout` of silence.
    pub async fn recv_timeout(&mut self, timeout: Duration) -> Option<Message> {
        tokio::time::timeout(timeout, self.rx.recv())
            .await
            .ok()
            .flatten()
    }

    /// Kind of a message's subject on this route (`r`, `c`, `d`).
    pub fn kind_of<'a>(&self, msg: &'a Message) -> &'a str {
        msg.subject.rsplit('.').next().unwrap_or("")
    }
}

impl Drop for Route {
    fn drop(&mut self) {
        self.inner
            .routes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.token);
    }
}

#[cfg(test)]
mod tests {
    use super::stream_prefix;

    #[test]
    fn stream_prefix_is_beside_the_inbox_not_under_it() {
        assert_eq!(stream_prefix("_INBOX_edge.abc"), "_INBOX_edge_S.abc");
        assert_eq!(stream_prefix("_INBOX.abc"), "_INBOX_S.abc");
        // `_INBOX_edge.>` does not match it, so reply permissions do not reach routes.
        assert!(!stream_prefix("_INBOX_edge.abc").starts_with("_INBOX_edge."));
    }
}
