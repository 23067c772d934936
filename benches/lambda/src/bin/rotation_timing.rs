//! A full four-step rotation against the local servers (moto + the Snowflake emulator, set up by
//! the end-to-end harness in `tests/e2e`), timed step by step, next to the time of the key
//! generation it contains. Target: the four steps take at most twice one key generation.
//!
//! ```text
//! scripts/bootstrap.sh   # once: .venv with moto
//! cargo run --release -p snowkey-lambda-bench --features rotation-timing --bin snowkey-rotation-timing
//! ```
//! Timed: the rotation function's handler for createSecret, setSecret, testSecret, finishSecret,
//! with the event Secrets Manager sends. Not timed: `RotateSecret` (Secrets Manager's own call) and
//! the harness's stage clean-up between steps (a moto difference from AWS).
//!
//! By default the steps run on one warm function, as when Secrets Manager's four invocations land on
//! the same Lambda instance: setSecret, testSecret and finishSecret then read the versions from
//! memory. `--fresh-function` gives every step a newly built function (no remembered versions), as
//! when each lands on a new instance — five more `GetSecretValue` calls per rotation.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use e2e_tests::driver::STEPS;
use e2e_tests::{Options, Scenario, Stack};
use lambda_runtime::{Context as LambdaContext, LambdaEvent};
use snowkey_shared::keys::{KeySize, PrivateKey};

#[derive(Parser)]
#[command(about = "Times a full four-step rotation against moto and the Snowflake emulator")]
struct Args {
    /// Rotations to time (each on the same secret, one after the other). RSA generation time
    /// varies several-fold from key to key, so medians need dozens of samples.
    #[arg(long, default_value_t = 60)]
    runs: usize,
    /// RSA-2048 generations to time for the reference.
    #[arg(long, default_value_t = 100)]
    key_runs: usize,
    /// Run every step on a newly built function instead of one warm function.
    #[arg(long)]
    fresh_function: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.runs > 0 && args.key_runs > 0,
        "--runs and --key-runs must be at least 1"
    );

    let mut keygen: Vec<f64> = (0..args.key_runs)
        .map(|_| {
            let started = Instant::now();
            PrivateKey::generate(KeySize::Rsa2048).map(|_| ms(started.elapsed()))
        })
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("key generation failed: {e:?}"))?;

    let stack = Arc::new(
        Stack::start()
            .await
            .context("starting moto (run scripts/bootstrap.sh)")?,
    );
    let scenario = Scenario::new(stack, Options::default()).await?;
    // One untimed rotation first: connection pools and the emulator warm, like a warm Lambda.
    rotate(&scenario, args.fresh_function).await?;
    let mut totals = Vec::with_capacity(args.runs);
    let mut per_step: [Vec<f64>; 4] = Default::default();
    for _ in 0..args.runs {
        let steps = rotate(&scenario, args.fresh_function).await?;
        totals.push(steps.iter().sum());
        for (times, took) in per_step.iter_mut().zip(steps) {
            times.push(took);
        }
    }

    let keygen_p50 = median(&mut keygen);
    println!(
        "RSA-2048 key generation (aws-lc-rs), {} runs: p50 {keygen_p50:.1} ms, max {:.1} ms",
        args.key_runs,
        max(&keygen)
    );
    println!(
        "four-step rotation (handler time per step, moto + Snowflake emulator, {}), {} runs after 1 warm-up:",
        if args.fresh_function {
            "a fresh function per step"
        } else {
            "one warm function"
        },
        args.runs
    );
    for (step, times) in STEPS.iter().zip(per_step.iter_mut()) {
        println!(
            "  {:<13} p50 {:7.1} ms   max {:7.1} ms",
            step.as_str(),
            median(times),
            max(times)
        );
    }
    let total_p50 = median(&mut totals);
    println!(
        "  {:<13} p50 {total_p50:7.1} ms   max {:7.1} ms",
        "total",
        max(&totals)
    );
    let budget = 2.0 * keygen_p50;
    let verdict = if total_p50 <= budget { "PASS" } else { "MISS" };
    println!(
        "\ntarget: rotation p50 {total_p50:.1} ms ≤ 2 × key generation p50 ({budget:.1} ms): {verdict}"
    );
    Ok(())
}

/// One rotation: Secrets Manager's `RotateSecret`, then the four steps; returns each step's time.
async fn rotate(scenario: &Scenario, fresh_function: bool) -> anyhow::Result<[f64; 4]> {
    let token = scenario.start_rotation().await?;
    let mut times = [0.0; 4];
    for (slot, step) in times.iter_mut().zip(STEPS) {
        let event = serde_json::json!({
            "SecretId": scenario.secret_id,
            "ClientRequestToken": token,
            "Step": step.as_str(),
        });
        // Built outside the timing: a new instance's clients exist before its first event.
        let fresh;
        let app = if fresh_function {
            fresh = scenario.cold_app();
            &fresh
        } else {
            &scenario.app
        };
        let started = Instant::now();
        snowflake_key_rotation::handle(app, LambdaEvent::new(event, LambdaContext::default()))
            .await
            .map_err(|e| anyhow::anyhow!("{} failed: {e}", step.as_str()))?;
        *slot = ms(started.elapsed());
        scenario.normalize_stages().await?;
    }
    Ok(times)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[(values.len() - 1) / 2]
}

fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::MIN, f64::max)
}
