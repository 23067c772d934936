//! Printing: per-scenario quantiles, release zips, and the PASS/MISS lines against the issues' targets.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::measure::Sample;
use crate::scenarios::{self, Scenario};
use crate::zips;

const COLD_START_TARGET_MS: f64 = 30.0;
const PEAK_RSS_TARGET_MIB: f64 = 40.0;
const ZIP_TARGET_MIB: f64 = 8.0;

/// Load and core count: other work on the machine inflates every timing here.
pub fn machine() {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("machine: {cores} cores, load average {}\n", load.join(" "));
}

/// Prints one scenario's numbers; returns its verdict lines.
pub fn scenario(scenario: &Scenario, samples: &[Sample]) -> Vec<String> {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut init: Vec<f64> = samples.iter().map(|s| ms(s.init)).collect();
    let mut first_call: Vec<f64> = samples
        .iter()
        .filter_map(|s| s.first_aws_call.map(ms))
        .collect();
    let mut cold: Vec<f64> = samples.iter().map(|s| ms(s.cold_start)).collect();
    let mut rss: Vec<f64> = samples
        .iter()
        .map(|s| s.peak_rss_kib as f64 / 1024.0)
        .collect();
    let first = &samples[0];
    println!(
        "{} · {}: {}",
        scenario.function, scenario.name, scenario.description
    );
    println!("  AWS calls (stub): {}", collapse(&first.aws_calls));
    println!("  result: {}", first.outcome);
    print_quantiles("init", &mut init);
    if !first_call.is_empty() {
        print_quantiles("1st AWS call", &mut first_call);
    }
    let (cold_p50, cold_p90) = print_quantiles("cold start", &mut cold);
    let (rss_p50, rss_max) = (quantile(&mut rss, 0.5), quantile(&mut rss, 1.0));
    println!("  peak RSS      p50 {rss_p50:8.1} MiB  max {rss_max:8.1} MiB\n");

    let name = format!("{} · {}", scenario.function, scenario.name);
    let init_p50 = quantile(&mut init, 0.5);
    let cold_line = if scenario.has_target {
        format!(
            "{name}: cold start p50 {cold_p50:.1} ms (p90 {cold_p90:.1}) ≤ {COLD_START_TARGET_MS:.0} ms: {} (p90: {})",
            verdict(cold_p50 <= COLD_START_TARGET_MS),
            verdict(cold_p90 <= COLD_START_TARGET_MS)
        )
    } else {
        format!(
            "{name}: init p50 {init_p50:.1} ms, first result p50 {cold_p50:.1} ms (measured; the {COLD_START_TARGET_MS:.0} ms target is the rotation function's)"
        )
    };
    vec![
        cold_line,
        format!(
            "{name}: peak RSS max {rss_max:.1} MiB ≤ {PEAK_RSS_TARGET_MIB:.0} MiB: {}",
            verdict(rss_max <= PEAK_RSS_TARGET_MIB)
        ),
    ]
}

/// Prints and returns the release zips' sizes and architectures against the 8 MB target.
pub fn zips(dir: &Path, binaries: &[PathBuf]) -> Vec<String> {
    println!("release zips in {}:", dir.display());
    let mut verdicts = Vec::new();
    for binary in binaries {
        let function = scenarios::function_name(binary);
        let zip = dir.join(&function).join("bootstrap.zip");
        match zips::inspect(&zip) {
            Ok(info) => {
                let mib = info.bytes as f64 / (1024.0 * 1024.0);
                println!("  {function:<24} {mib:6.2} MiB  {}", info.architecture);
                verdicts.push(format!(
                    "{function}: zip {mib:.2} MiB ({}) ≤ {ZIP_TARGET_MIB:.0} MiB: {}",
                    info.architecture,
                    verdict(mib <= ZIP_TARGET_MIB)
                ));
            }
            Err(error) => {
                println!("  {function:<24} not measured: {error:#}");
                verdicts.push(format!("{function}: zip not measured"));
            }
        }
    }
    verdicts
}

/// Prints p50/p90/max of `values` (ms); returns (p50, p90).
fn print_quantiles(label: &str, values: &mut [f64]) -> (f64, f64) {
    let (p50, p90, max) = (
        quantile(values, 0.5),
        quantile(values, 0.9),
        quantile(values, 1.0),
    );
    println!("  {label:<13} p50 {p50:8.1} ms   p90 {p90:8.1} ms   max {max:8.1} ms");
    (p50, p90)
}

/// `A, B ×3, C`: repeated calls in a row shown once with a count.
fn collapse(calls: &[String]) -> String {
    if calls.is_empty() {
        return "none".to_owned();
    }
    let mut parts: Vec<(String, usize)> = Vec::new();
    for call in calls {
        match parts.last_mut() {
            Some((last, count)) if last == call => *count += 1,
            _ => parts.push((call.clone(), 1)),
        }
    }
    let parts: Vec<String> = parts
        .into_iter()
        .map(|(call, n)| {
            if n == 1 {
                call
            } else {
                format!("{call} ×{n}")
            }
        })
        .collect();
    parts.join(", ")
}

/// Nearest-rank quantile (`q` in 0..=1) of a small sample.
fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let rank = (q * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

fn verdict(pass: bool) -> &'static str {
    if pass { "PASS" } else { "MISS" }
}
