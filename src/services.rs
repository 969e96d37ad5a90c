//! `jetgate services ls|info|stats`: what `nats micro ls|info|stats` shows, for operators
//! without the nats CLI. Asks every instance through the micro discovery subjects.

use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

/// Collects every answer to a `$SRV.<verb>[.<name>]` request within `wait`.
async fn discover(
    client: &async_nats::Client,
    verb: &str,
    name: Option<&str>,
) -> anyhow::Result<Vec<Value>> {
    let subject = match name {
        Some(n) => format!("$SRV.{verb}.{n}"),
        None => format!("$SRV.{verb}"),
    };
    let inbox = client.new_inbox();
    let mut sub = client.subscribe(inbox.clone()).await?;
    client.publish_with_reply(subject, inbox, "".into()).await?;
    client.flush().await?;
    let mut out = Vec::new();
    let wait = Duration::from_millis(500);
    while let Ok(Some(msg)) = tokio::time::timeout(wait, sub.next()).await {
        if let Ok(v) = serde_json::from_slice::<Value>(&msg.payload) {
            out.push(v);
        }
    }
    out.sort_by_key(|v| {
        (
            v["name"].as_str().map(str::to_string),
            v["id"].as_str().map(str::to_string),
        )
    });
    Ok(out)
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// Lists jetgate service instances.
pub async fn ls(client: &async_nats::Client) -> anyhow::Result<()> {
    let infos = discover(client, "INFO", None).await?;
    println!("{:<20} {:<10} {:<24} description", "name", "version", "id");
    for i in infos
        .iter()
        .filter(|i| s(&i["name"]).starts_with("jetgate-"))
    {
        println!(
            "{:<20} {:<10} {:<24} {}",
            s(&i["name"]),
            s(&i["version"]),
            s(&i["id"]),
            s(&i["description"])
        );
    }
    Ok(())
}

/// Endpoints and metadata of every instance of one service.
pub async fn info(client: &async_nats::Client, name: &str) -> anyhow::Result<()> {
    for i in discover(client, "INFO", Some(name)).await? {
        println!("{} {} ({})", s(&i["name"]), s(&i["version"]), s(&i["id"]));
        println!("  metadata: {}", i["metadata"]);
        for e in i["endpoints"].as_array().into_iter().flatten() {
            println!(
                "  {:<18} {:<36} queue={}",
                s(&e["name"]),
                s(&e["subject"]),
                s(&e["queue_group"])
            );
        }
    }
    Ok(())
}

/// Request, error and latency counters per endpoint and instance.
pub async fn stats(client: &async_nats::Client, name: &str) -> anyhow::Result<()> {
    println!(
        "{:<24} {:<18} {:>10} {:>8} {:>14}",
        "instance", "endpoint", "requests", "errors", "avg latency"
    );
    for i in discover(client, "STATS", Some(name)).await? {
        for e in i["endpoints"].as_array().into_iter().flatten() {
            let avg_ns = e["average_processing_time"].as_u64().unwrap_or(0);
            println!(
                "{:<24} {:<18} {:>10} {:>8} {:>12.3}ms",
                s(&i["id"]),
                s(&e["name"]),
                e["num_requests"].as_u64().unwrap_or(0),
                e["num_errors"].as_u64().unwrap_or(0),
                avg_ns as f64 / 1e6
            );
        }
    }
    Ok(())
}
