//! `cloudtrail-emulator --records FILE[:REGION]... [--port N] [--port-file P] [--tps 2]`
//!
//! Serves CloudTrail LookupEvents on 127.0.0.1 until interrupted. A records file given without a region
//! is split by each record's `awsRegion`. Prints `listening on http://127.0.0.1:PORT` once ready.
//! Control endpoint: `POST /_emulator/records/{region}` (`{"Records":[...]}`), `GET /_emulator/requests`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use cloudtrail_emulator::{Config, Emulator, RateLimit, load_records_file, record_region};

#[derive(Parser)]
#[command(about = "Local CloudTrail LookupEvents emulator (awsJson1_1)")]
struct Args {
    /// CloudTrail records file (`{"Records":[...]}`, plain or .gz), optionally `:REGION`.
    #[arg(long = "records", value_name = "FILE[:REGION]")]
    records: Vec<String>,
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Write the bound port to this file once listening.
    #[arg(long)]
    port_file: Option<PathBuf>,
    /// LookupEvents requests per second per region (0 = no limit).
    #[arg(long, default_value_t = 2.0)]
    tps: f64,
}

/// `FILE:REGION` when the suffix looks like a region (`us-east-1`), else the whole text is the file.
fn split_region(spec: &str) -> (PathBuf, Option<String>) {
    if let Some((file, region)) = spec.rsplit_once(':') {
        let looks_like_region = region.split('-').count() >= 3
            && region
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        if looks_like_region {
            return (PathBuf::from(file), Some(region.to_owned()));
        }
    }
    (PathBuf::from(spec), None)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut by_region: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    for spec in &args.records {
        let (file, region) = split_region(spec);
        for record in load_records_file(&file)? {
            let region = region
                .clone()
                .or_else(|| record_region(&record).map(str::to_owned));
            let region = region.with_context(|| {
                format!(
                    "{}: a record has no awsRegion; use FILE:REGION",
                    file.display()
                )
            })?;
            by_region.entry(region).or_default().push(record);
        }
    }
    let rate_limit = (args.tps > 0.0).then(|| RateLimit::per_second(args.tps));
    let config = Config {
        port: args.port,
        rate_limit,
        records: by_region.into_iter().collect(),
        ..Config::default()
    };
    let emu = Emulator::start(config)
        .await
        .context("cannot bind the emulator port")?;
    if let Some(path) = &args.port_file {
        std::fs::write(path, emu.port().to_string())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    // Scripts wait for this exact line on stdout.
    println!("listening on {}", emu.url());
    std::io::Write::flush(&mut std::io::stdout()).context("cannot write to stdout")?;
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    emu.shutdown().await;
    Ok(())
}
