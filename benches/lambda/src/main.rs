//! Cold start and peak memory of the Lambda binaries, against an in-process Lambda Runtime API and
//! a local AWS stub (nothing leaves the machine), plus the size of the release zips.
//!
//! ```text
//! cargo build --release -p snowflake-key-rotation -p audit-secret-access -p audit-assume-role -p audit-rotation-health
//! scripts/package.sh   # optional: the release zips in target/lambda (arm64, x86-64 fallback)
//! cargo run --release -p snowkey-lambda-bench -- --runs 20 --zip-dir target/lambda
//! ```
//! Without binary paths it measures every known function found in `target/release`.

mod aws_stub;
mod measure;
mod report;
mod runtime_api;
mod scenarios;
mod zips;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use clap::Parser;

const FUNCTIONS: [&str; 4] = [
    "snowflake-key-rotation",
    "audit-secret-access",
    "audit-assume-role",
    "audit-rotation-health",
];

#[derive(Parser)]
#[command(about = "Cold start, peak RSS and release-zip size of the snowkey Lambda functions")]
struct Args {
    /// Function binaries (release builds, or `target/lambda/<name>/bootstrap`).
    /// Default: the known functions present in `target/release`.
    binaries: Vec<PathBuf>,
    /// Measured cold starts per scenario.
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Unmeasured starts first, so the binary is in the page cache like on a warm Lambda host.
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// Give up on a start that has not answered after this many seconds.
    #[arg(long, default_value_t = 20)]
    timeout_seconds: u64,
    /// Where `cargo lambda build --output-format zip` put `<function>/bootstrap.zip`.
    #[arg(long)]
    zip_dir: Option<PathBuf>,
    /// Directory for each function's stdout/stderr (the last run's log is kept).
    #[arg(long, default_value_os_t = std::env::temp_dir())]
    log_dir: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let binaries = if args.binaries.is_empty() {
        let found: Vec<PathBuf> = FUNCTIONS
            .iter()
            .map(|f| PathBuf::from("target/release").join(f))
            .filter(|p| p.is_file())
            .collect();
        if found.is_empty() {
            bail!(
                "no function binaries given and none in target/release; build them with cargo build --release -p <function>"
            );
        }
        found
    } else {
        args.binaries.clone()
    };

    let stub = aws_stub::AwsStub::start().await?;
    let timeout = Duration::from_secs(args.timeout_seconds);
    println!(
        "cold start = process spawn → first /response or /error POST to a local Lambda Runtime API; \
         init = spawn → first GET /invocation/next; peak RSS = VmHWM after the first result."
    );
    println!(
        "{} measured runs per scenario after {} warm-up; AWS_ENDPOINT_URL = local stub at {}.",
        args.runs, args.warmup, stub.addr
    );
    report::machine();
    let mut verdicts = Vec::new();
    for binary in &binaries {
        let function = scenarios::function_name(binary);
        let list = scenarios::for_function(&function);
        if list.is_empty() {
            bail!(
                "{}: unknown function {function:?}; known: {FUNCTIONS:?}",
                binary.display()
            );
        }
        for scenario in &list {
            let log = args.log_dir.join(format!(
                "snowkey-lambda-bench-{function}-{}.log",
                scenario.name
            ));
            for _ in 0..args.warmup {
                measure::cold_start(binary, scenario, &stub, &log, timeout).await?;
            }
            let mut samples = Vec::with_capacity(args.runs);
            for _ in 0..args.runs {
                samples.push(measure::cold_start(binary, scenario, &stub, &log, timeout).await?);
            }
            verdicts.extend(report::scenario(scenario, &samples));
        }
    }
    if let Some(dir) = &args.zip_dir {
        verdicts.extend(report::zips(dir, &binaries));
    }
    println!("\ntargets:");
    for line in &verdicts {
        println!("  {line}");
    }
    Ok(())
}
