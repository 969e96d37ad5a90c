//! `jetgate buckets ...`: admin commands on buckets (log in as the gateway account's
//! `admin` user in the per-role layouts).

use clap::Subcommand;
use jetgate_actors::store::Store;
use jetgate_protocol::messages::Owner;
use jetgate_protocol::names::{bucket_from_nats, bucket_to_nats, validate_bucket};

use crate::nats::NatsArgs;

#[derive(Subcommand)]
pub enum BucketsCmd {
    /// Every bucket with its owner (`-` for the admin's: no owner recorded).
    Ls {
        #[command(flatten)]
        nats: NatsArgs,
    },
    /// Gives a bucket to another owner (the owner id of their access keys, as
    /// `jetgate credentials list` shows it).
    Chown {
        #[command(flatten)]
        nats: NatsArgs,
        /// The S3 bucket name.
        #[arg(long)]
        bucket: String,
        /// The new owner's id.
        #[arg(long)]
        owner_id: String,
        /// The new owner's display name (default: the id).
        #[arg(long)]
        display_name: Option<String>,
    },
}

pub async fn buckets(cmd: BucketsCmd) -> anyhow::Result<()> {
    match cmd {
        BucketsCmd::Ls { nats } => {
            let store = Store::new(nats.connect("jetgate-buckets").await?);
            for b in store.nats_buckets().await? {
                // Object stores of native NATS clients whose names S3 cannot spell.
                let Some(bucket) = bucket_from_nats(&b.name) else {
                    continue;
                };
                println!("{bucket}\t{}", b.owner.map_or("-".into(), |o| o.id));
            }
        }
        BucketsCmd::Chown {
            nats,
            bucket,
            owner_id,
            display_name,
        } => {
            validate_bucket(&bucket).map_err(|e| anyhow::anyhow!("{}", e.message))?;
            anyhow::ensure!(!owner_id.trim().is_empty(), "--owner-id must not be empty");
            let store = Store::new(nats.connect("jetgate-buckets").await?);
            let owner = Owner {
                display_name: display_name.unwrap_or_else(|| owner_id.clone()),
                id: owner_id,
            };
            store
                .set_bucket_owner(&bucket_to_nats(&bucket), &owner)
                .await?;
            println!("{bucket} now owned by {}", owner.id);
        }
    }
    Ok(())
}
