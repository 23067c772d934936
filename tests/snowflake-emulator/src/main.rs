//! `snowflake-emulator --seed FILE [--port N] [--host 127.0.0.1]`: prints
//! `listening on http://HOST:PORT` on stdout once ready (scripts parse it); logs go to stderr.

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::Parser;
use snowflake_emulator::{Emulator, Seed};

#[derive(Parser)]
#[command(about = "Local Snowflake SQL API v2 emulator with key-pair JWT verification")]
struct Args {
    /// Seed JSON: account, users, roles, options (see README.md).
    #[arg(long)]
    seed: PathBuf,
    /// 0 picks a free port.
    #[arg(long, default_value_t = 0)]
    port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let seed = Seed::from_file(&args.seed)?;
    let emulator = Emulator::start_on(seed, SocketAddr::new(args.host, args.port)).await?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on {}", emulator.url())?;
    stdout.flush()?;
    tokio::signal::ctrl_c().await?;
    drop(emulator);
    Ok(())
}
