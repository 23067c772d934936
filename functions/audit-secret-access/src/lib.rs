//! Secret-access audit: who read or changed the watched Snowflake secrets, from CloudTrail LookupEvents
//! in every configured region. The rules live in `snowkey_shared::audit::secret_access`; the run loop
//! (windows, watermarks, dedup, publishing) in `snowkey_shared::audit_runner`. The same rules also run
//! in real time on EventBridge "AWS API Call via CloudTrail" events from Secrets Manager.

use std::collections::{BTreeMap, HashMap};

use snowkey_shared::audit::normalize::Pattern;
use snowkey_shared::audit::{SecretAccessAudit, SecretAccessConfig};
use snowkey_shared::audit_runner::{
    EventReport, RealTimeError, RunReport, RunnerClients, RunnerSettings, audit_eventbridge_event,
    is_api_call_event, read_audit_config, run_cloudtrail_audit,
};
use snowkey_shared::aws::cloudtrail::CloudTrailReader;
use snowkey_shared::aws::watermark::WatermarkStore;
use snowkey_shared::aws::{AwsError, SnsPublisher};
use time::OffsetDateTime;

/// Reads and changes of a secret. `BatchGetSecretValue` also shows up as one GetSecretValue per secret.
pub const EVENT_NAMES: [&str; 11] = [
    "GetSecretValue",
    "BatchGetSecretValue",
    "PutSecretValue",
    "UpdateSecret",
    "UpdateSecretVersionStage",
    "DeleteSecret",
    "RestoreSecret",
    "PutResourcePolicy",
    "DeleteResourcePolicy",
    "RotateSecret",
    "CancelRotateSecret",
];

/// The EventBridge `source` of Secrets Manager's CloudTrail events.
pub const EVENT_SOURCE: &str = "aws.secretsmanager";

pub use snowkey_shared::audit_runner::ENV_AUDIT_CONFIG;
/// Secrets whose name starts with this are watched (added to the config's `name_prefixes`).
pub const ENV_WATCHED_SECRET_PREFIX: &str = "SNOWKEY_WATCHED_SECRET_PREFIX";
/// The rotation function's role: its reads and changes are expected.
pub const ENV_ROTATION_ROLE_ARN: &str = "SNOWKEY_ROTATION_ROLE_ARN";

#[derive(Debug, Clone)]
pub struct Config {
    pub runner: RunnerSettings,
    pub rules: SecretAccessConfig,
}

pub use snowkey_shared::audit_runner::ConfigError;

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// Validates everything a run needs, so a bad deployment fails at cold start, not mid-run.
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let runner = RunnerSettings::from_lookup(lookup, "/snowkey/audit/audit-secret-access")?;
        let mut rules = read_audit_config(lookup)?.secret_access;
        if let Some(prefix) = lookup(ENV_WATCHED_SECRET_PREFIX)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            && !rules.name_prefixes.contains(&prefix)
        {
            rules.name_prefixes.push(prefix);
        }
        if let Some(role) = lookup(ENV_ROTATION_ROLE_ARN)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
        {
            rules.rotation_roles.push(Pattern::new(role));
        }
        SecretAccessAudit::new(rules.clone())?;
        Ok(Config { runner, rules })
    }
}

/// Clients and settings, built once per cold start.
pub struct App {
    pub config: Config,
    pub reader: CloudTrailReader,
    pub watermarks: WatermarkStore,
    pub notifier: SnsPublisher,
    pub secrets: aws_sdk_secretsmanager::Client,
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
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
            config,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("listing secrets for their tags failed: {0}")]
    ListSecrets(AwsError),
    #[error(
        "audit incomplete in {regions}; their watermarks stay and the next run retries: {errors}"
    )]
    Incomplete { regions: String, errors: String },
    #[error(transparent)]
    RealTime(#[from] RealTimeError),
}

/// What one invocation did: a scheduled scan of every region, or one real-time event.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Scheduled(RunReport),
    RealTime(EventReport),
}

/// The Lambda entry point: an EventBridge "AWS API Call via CloudTrail" event is audited on its own;
/// anything else (the scheduler's payload) runs the scheduled scan.
pub async fn handle_event(
    app: &App,
    payload: &serde_json::Value,
    now: OffsetDateTime,
) -> Result<Outcome, RunError> {
    if !is_api_call_event(payload) {
        return handle(app, now).await.map(Outcome::Scheduled);
    }
    let audit = new_audit(app, watched_tags(app).await?);
    let report = audit_eventbridge_event(
        payload,
        &[EVENT_SOURCE],
        &app.watermarks,
        &app.notifier,
        audit,
    )
    .await?;
    Ok(Outcome::RealTime(report))
}

/// One scheduled run. The scheduler's payload carries nothing the run needs.
pub async fn handle(app: &App, now: OffsetDateTime) -> Result<RunReport, RunError> {
    let tags = watched_tags(app).await?;
    let report = run_cloudtrail_audit(
        &app.reader,
        &app.config.runner.regions,
        &EVENT_NAMES,
        &app.watermarks,
        &app.notifier,
        app.config.runner.overlap,
        app.config.runner.first_lookback,
        now,
        || new_audit(app, tags.clone()),
    )
    .await;
    into_result(report)
}

fn new_audit(app: &App, tags: SecretTags) -> SecretAccessAudit {
    SecretAccessAudit::new(app.config.rules.clone())
        .expect("validated at cold start")
        .with_secret_tags(tags)
}

type SecretTags = HashMap<String, BTreeMap<String, String>>;

/// Tags are listed only when the config watches secrets by tag.
async fn watched_tags(app: &App) -> Result<SecretTags, RunError> {
    if app.config.rules.tags.is_empty() {
        return Ok(HashMap::new());
    }
    secret_tags(&app.secrets).await
}

pub fn into_result(report: RunReport) -> Result<RunReport, RunError> {
    let failed = report.failed_regions();
    if failed.is_empty() {
        return Ok(report);
    }
    Err(RunError::Incomplete {
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

/// Every secret's tags by name, for tag-based watching (`ListSecrets` pages).
async fn secret_tags(client: &aws_sdk_secretsmanager::Client) -> Result<SecretTags, RunError> {
    let mut out = HashMap::new();
    let mut pages = client
        .list_secrets()
        .max_results(100)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| RunError::ListSecrets(AwsError::from_sdk("ListSecrets", e)))?;
        for secret in page.secret_list() {
            let tags = secret
                .tags()
                .iter()
                .filter_map(|t| {
                    Some((
                        t.key()?.to_owned(),
                        t.value().unwrap_or_default().to_owned(),
                    ))
                })
                .collect();
            out.insert(secret.name().unwrap_or_default().to_owned(), tags);
        }
    }
    Ok(out)
}
