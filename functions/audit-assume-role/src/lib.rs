//! AssumeRole audit: who assumed the sensitive roles, from CloudTrail LookupEvents in every configured
//! region (STS serves the global endpoint regionally, so events are spread across regions). The rules
//! live in `snowkey_shared::audit::assume_role`; the run loop in `snowkey_shared::audit_runner`. The
//! same rules also run in real time on EventBridge "AWS API Call via CloudTrail" events from STS.

use snowkey_shared::audit::{AssumeRoleAudit, AssumeRoleConfig};
use snowkey_shared::audit_runner::{
    EventReport, RealTimeError, RunReport, RunnerClients, RunnerSettings, audit_eventbridge_event,
    is_api_call_event, read_audit_config, run_cloudtrail_audit,
};
use snowkey_shared::aws::SnsPublisher;
use snowkey_shared::aws::cloudtrail::CloudTrailReader;
use snowkey_shared::aws::watermark::WatermarkStore;
use time::OffsetDateTime;

pub const EVENT_NAMES: [&str; 3] = [
    "AssumeRole",
    "AssumeRoleWithSAML",
    "AssumeRoleWithWebIdentity",
];

/// The EventBridge `source` of STS's CloudTrail events.
pub const EVENT_SOURCE: &str = "aws.sts";

pub use snowkey_shared::audit_runner::ENV_AUDIT_CONFIG;

#[derive(Debug, Clone)]
pub struct Config {
    pub runner: RunnerSettings,
    pub rules: AssumeRoleConfig,
}

pub use snowkey_shared::audit_runner::ConfigError;

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// Validates everything a run needs, so a bad deployment fails at cold start, not mid-run.
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let runner = RunnerSettings::from_lookup(lookup, "/snowkey/audit/audit-assume-role")?;
        let rules = read_audit_config(lookup)?.assume_role;
        AssumeRoleAudit::new(rules.clone())?;
        Ok(Config { runner, rules })
    }
}

/// Clients and settings, built once per cold start.
pub struct App {
    pub config: Config,
    pub reader: CloudTrailReader,
    pub watermarks: WatermarkStore,
    pub notifier: SnsPublisher,
}

impl App {
    pub fn new(config: Config, sdk: &aws_config::SdkConfig) -> Self {
        let RunnerClients {
            reader,
            watermarks,
            notifier,
        } = RunnerClients::new(&config.runner, sdk);
        App {
            reader,
            watermarks,
            notifier,
            config,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("audit incomplete in {regions}; their watermarks stay and the next run retries: {errors}")]
pub struct RunError {
    pub regions: String,
    pub errors: String,
}

/// What one invocation did: a scheduled scan of every region, or one real-time event.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Scheduled(RunReport),
    RealTime(EventReport),
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Scan(#[from] RunError),
    #[error(transparent)]
    RealTime(#[from] RealTimeError),
}

/// The Lambda entry point: an EventBridge "AWS API Call via CloudTrail" event is audited on its own;
/// anything else (the scheduler's payload) runs the scheduled scan.
pub async fn handle_event(
    app: &App,
    payload: &serde_json::Value,
    now: OffsetDateTime,
) -> Result<Outcome, HandlerError> {
    if !is_api_call_event(payload) {
        return Ok(Outcome::Scheduled(handle(app, now).await?));
    }
    let report = audit_eventbridge_event(
        payload,
        &[EVENT_SOURCE],
        &app.watermarks,
        &app.notifier,
        new_audit(app),
    )
    .await?;
    Ok(Outcome::RealTime(report))
}

fn new_audit(app: &App) -> AssumeRoleAudit {
    AssumeRoleAudit::new(app.config.rules.clone()).expect("validated at cold start")
}

/// One scheduled run. The scheduler's payload carries nothing the run needs.
pub async fn handle(app: &App, now: OffsetDateTime) -> Result<RunReport, RunError> {
    let report = run_cloudtrail_audit(
        &app.reader,
        &app.config.runner.regions,
        &EVENT_NAMES,
        &app.watermarks,
        &app.notifier,
        app.config.runner.overlap,
        app.config.runner.first_lookback,
        now,
        || new_audit(app),
    )
    .await;
    let failed = report.failed_regions();
    if failed.is_empty() {
        return Ok(report);
    }
    Err(RunError {
        regions: failed
            .iter()
            .map(|r| r.region.as_str())
            .collect::<Vec<_>>()
            .join(","),
        errors: failed
            .iter()
            .filter_map(|r| r.error.as_deref())
            .collect::<Vec<_>>()
            .join("; "),
    })
}
