//! `lasthop-terminal`: the command line of a hub's scanning terminal. See the library's docs
//! for what it keeps and for how long.
//!
//! ```text
//! lasthop-terminal --state DIR enroll                  # keys made; prints what ops enrols
//! lasthop-terminal --state DIR set-token lh1.…         # the credential ops issued
//! lasthop-terminal --state DIR --edge URL pickup --order o_… --buyer b_… --waybill SF1
//! lasthop-terminal --state DIR --edge URL hop --order o_…
//! lasthop-terminal --state DIR --edge URL deliver --order o_… --signature "…"
//! lasthop-terminal --state DIR --edge URL renew
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use lasthop_core::api::{
    DeliverResponse, HopResponse, Recipient, ScannerRenewalResponse, StatusResponse,
};
use lasthop_core::ids::{BuyerId, OrderId, PlatformId, ReleaseId};
use lasthop_core::time::Timestamp;
use lasthop_terminal::client::Edge;
use lasthop_terminal::scan::{open_recipient, sign_call, Call};
use lasthop_terminal::state::State;
use rand::rngs::OsRng;

/// A hub's scanning terminal for lasthop.
#[derive(Debug, Parser)]
#[command(name = "lasthop-terminal", version, about)]
struct Cli {
    /// Folder of the device's keys, credential and kept recipients (created 0700).
    #[arg(
        long,
        env = "LASTHOP_TERMINAL_STATE",
        default_value = "lasthop-terminal"
    )]
    state: PathBuf,
    /// The edge's base URL.
    #[arg(long, env = "LASTHOP_EDGE_URL")]
    edge: Option<String>,
    /// A CA certificate (PEM) to trust for the edge, besides the system's roots.
    #[arg(long, env = "LASTHOP_EDGE_CA_FILE")]
    ca_file: Option<PathBuf>,
    /// The shop platform of the parcels.
    #[arg(long, env = "LASTHOP_PLATFORM", default_value = "demo")]
    platform: String,
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Make this device's keys (kept 0600) and print the `device` object ops enrols.
    Enroll,
    /// Store the scanner credential ops issued for this device.
    SetToken {
        /// The credential (`lh1.…`).
        token: String,
    },
    /// Pick a parcel up (pickup scanners).
    Pickup {
        /// The order id on the label.
        #[arg(long)]
        order: String,
        /// The buyer id on the label.
        #[arg(long)]
        buyer: String,
        /// The waybill number.
        #[arg(long)]
        waybill: String,
    },
    /// Scan a parcel at this hub; at the final hop, open and show its recipient.
    Hop {
        /// The order id on the label.
        #[arg(long)]
        order: String,
    },
    /// Hand a parcel over with the proof of receipt; erases its recipient.
    Deliver {
        /// The order id on the label.
        #[arg(long)]
        order: String,
        /// The release (default: the one whose recipient this terminal keeps for the order).
        #[arg(long)]
        release: Option<String>,
        /// Proof of receipt, e.g. the recipient's signature.
        #[arg(long)]
        signature: String,
    },
    /// Renew this scanner's credential for the next shift.
    Renew,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn now() -> Timestamp {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Timestamp::from_unix_millis(millis)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let state = State::open(&cli.state)?;
    // A recipient past its erase_after goes before anything else happens.
    let erased = state.purge_expired(now())?;
    if erased > 0 {
        eprintln!("erased {erased} recipient(s) past their erase_after");
    }
    let platform = PlatformId::parse(&cli.platform).context("--platform")?;
    let edge = || -> anyhow::Result<Edge> {
        let url = cli
            .edge
            .as_deref()
            .context("--edge (or LASTHOP_EDGE_URL) is needed")?;
        Ok(Edge::new(url, cli.ca_file.as_deref())?)
    };
    let signed = |call: &Call| -> anyhow::Result<_> {
        let keys = state.keys()?;
        let token = state.token()?;
        Ok(sign_call(
            &keys,
            &token,
            &platform,
            call,
            now(),
            &mut OsRng,
        )?)
    };
    match cli.command {
        Command::Enroll => {
            let keys = state.enroll(&mut OsRng)?;
            println!("{}", serde_json::to_string_pretty(&keys.public())?);
            eprintln!(
                "give ops this `device` object: POST /v1/ops/scanners {{\"hub_id\", \"role\", \"device\"}}; \
                 then run `set-token` with the credential they send back"
            );
        }
        Command::SetToken { token } => {
            state.set_token(&token)?;
            eprintln!("credential stored");
        }
        Command::Pickup {
            order,
            buyer,
            waybill,
        } => {
            let call = Call::Pickup {
                order_id: OrderId::parse(&order).context("--order")?,
                buyer_id: BuyerId::parse(&buyer).context("--buyer")?,
                waybill,
            };
            let answer: StatusResponse = edge()?.send(&signed(&call)?)?;
            println!("{}", serde_json::to_string(&answer)?);
        }
        Command::Hop { order } => {
            let order_id = OrderId::parse(&order).context("--order")?;
            let call = Call::Hop {
                order_id: order_id.clone(),
            };
            let verdict: HopResponse = edge()?.send(&signed(&call)?)?;
            if matches!(verdict, HopResponse::Deliver { .. }) {
                let opened = open_recipient(&state.keys()?, &order_id, &verdict)?;
                state.keep(&order_id, &opened)?;
                println!(
                    "{}",
                    serde_json::json!({"verdict": "deliver", "release_id": opened.release_id,
                                       "erase_after": opened.erase_after})
                );
                show(&opened.recipient);
            } else {
                println!("{}", serde_json::to_string(&verdict)?);
            }
        }
        Command::Deliver {
            order,
            release,
            signature,
        } => {
            let order_id = OrderId::parse(&order).context("--order")?;
            let release_id = match release {
                Some(release) => ReleaseId::parse(&release).context("--release")?,
                None => state
                    .release_of(&order_id)?
                    .context("no recipient is kept for this order: pass --release")?,
            };
            let call = Call::Deliver {
                order_id,
                release_id: release_id.clone(),
                signature,
            };
            let answer: DeliverResponse = edge()?.send(&signed(&call)?)?;
            for erase in answer.erase.iter().chain([&release_id]) {
                state.erase(erase)?;
            }
            println!("{}", serde_json::to_string(&answer)?);
        }
        Command::Renew => {
            let answer: ScannerRenewalResponse = edge()?.send(&signed(&Call::Renew)?)?;
            state.set_token(&answer.token)?;
            println!(
                "{}",
                serde_json::json!({"renewed": true, "expires_at": answer.expires_at})
            );
        }
    }
    Ok(())
}

/// Shows the recipient on the terminal's screen (its standard output), never in a log.
fn show(recipient: &Recipient) {
    println!("recipient: {}", recipient.name);
    println!("phone:     {}", recipient.phone);
    println!(
        "address:   {}, {} {} ({})",
        recipient.line, recipient.postal_code, recipient.region, recipient.country
    );
}
