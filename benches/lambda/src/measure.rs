//! One cold start: spawn the binary against a fresh Runtime API, wait for its first result, read
//! its peak RSS, kill it.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::body::Bytes;
use tokio::process::Command;

use crate::aws_stub::AwsStub;
use crate::runtime_api::{RuntimeApi, RuntimeCall};
use crate::scenarios::{Scenario, function_arn, lambda_environment};

pub struct Sample {
    /// Spawn → `GET /runtime/invocation/next` (config read, clients built).
    pub init: Duration,
    /// Spawn → first `/response` or `/error` POST: the cold start of one invocation.
    pub cold_start: Duration,
    /// Spawn → first request to the AWS stub, if any.
    pub first_aws_call: Option<Duration>,
    /// Peak resident set size (`VmHWM`) after the first result, in KiB.
    pub peak_rss_kib: u64,
    pub outcome: String,
    pub aws_calls: Vec<String>,
}

pub async fn cold_start(
    binary: &Path,
    scenario: &Scenario,
    stub: &AwsStub,
    log_file: &Path,
    timeout: Duration,
) -> anyhow::Result<Sample> {
    let mut api = RuntimeApi::start(
        Bytes::from(serde_json::to_vec(&scenario.event)?),
        function_arn(&scenario.function),
    )
    .await?;
    let log = std::fs::File::create(log_file)
        .with_context(|| format!("creating {}", log_file.display()))?;
    stub.take_calls();
    let mut command = Command::new(binary);
    command
        .env_clear()
        .envs(lambda_environment(scenario, api.addr, stub.addr))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true);
    let started = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let pid = child.id().context("the child has no pid")?;

    let mut init = None;
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let (finished, outcome) = loop {
        tokio::select! {
            call = api.calls.recv() => match call {
                Some(RuntimeCall::Next(at)) => init = Some(at - started),
                Some(RuntimeCall::Response(at, body)) => break (at, format!("response {}", snippet(&body))),
                Some(RuntimeCall::Error(at, kind, body)) => break (at, format!("error ({kind}) {}", error_summary(&body))),
                Some(RuntimeCall::InitError(body)) => bail!("init error: {}", snippet(&body)),
                None => bail!("the runtime API stopped"),
            },
            status = child.wait() => bail!(
                "{} exited ({}) before answering; log: {}",
                binary.display(), status?, log_file.display()
            ),
            () = &mut deadline => bail!("no result within {timeout:?}; log: {}", log_file.display()),
        }
    };
    let peak_rss_kib = peak_rss_kib(pid)?;
    child.kill().await?;
    let aws_calls = stub.take_calls();
    Ok(Sample {
        first_aws_call: aws_calls.first().map(|(at, _)| *at - started),
        init: init.context("answered without asking for the event")?,
        cold_start: finished - started,
        peak_rss_kib,
        outcome,
        aws_calls: aws_calls.into_iter().map(|(_, op)| op).collect(),
    })
}

/// `VmHWM` from `/proc/<pid>/status`: the process's peak RSS so far.
fn peak_rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM in /proc/<pid>/status")
}

/// `errorType: errorMessage` of a Runtime API error body, shortened.
fn error_summary(body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return snippet(body);
    };
    let field = |name| value.get(name).and_then(|v| v.as_str()).unwrap_or("");
    let text = format!("{}: {}", field("errorType"), field("errorMessage"));
    shorten(&text)
}

fn snippet(body: &[u8]) -> String {
    shorten(&String::from_utf8_lossy(body))
}

fn shorten(text: &str) -> String {
    const MAX: usize = 140;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
