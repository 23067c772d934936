//! Secret-access audit: who read or changed the watched Snowflake secrets, from CloudTrail LookupEvents
//! in every configured region. The rules live in `snowkey_shared::audit::secret_access`; the run loop
//! (windows, watermarks, dedup, publishing) in `snowkey_shared::audit_runner`.

use std::collections::{BTreeMap, HashMap};

use snowkey_shared::audit::normalize::Pattern;
use snowkey_shared::audit::{AuditConfig, SecretAccessAudit, SecretAccessConfig};
use snowkey_shared::audit_runner::{RunReport, RunnerSettings, run_cloudtrail_audit};
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

/// JSON rule configuration (allow-lists, CIDRs, severities); see `snowkey_shared::audit`.
pub const ENV_AUDIT_CONFIG: &str = "SNOWKEY_AUDIT_CONFIG";
/// Secrets whose name starts with this are watched (added to the config's `name_prefixes`).
pub const ENV_WATCHED_SECRET_PREFIX: &str = "SNOWKEY_WATCHED_SECRET_PREFIX";
/// The rotation function's role: its reads and changes are expected.
pub const ENV_ROTATION_ROLE_ARN: &str = "SNOWKEY_ROTATION_ROLE_ARN";

#[derive(Debug, Clone)]
pub struct Config {
    pub runner: RunnerSettings,
    pub rules: SecretAccessConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Settings(#[from] snowkey_shared::audit_runner::SettingsError),
    #[error("{ENV_AUDIT_CONFIG}: {0}")]
    Rules(#[from] snowkey_shared::audit::AuditConfigError),
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// Validates everything a run needs, so a bad deployment fails at cold start, not mid-run.
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let runner = RunnerSettings::from_lookup(lookup, "/snowkey/audit/audit-secret-access")?;
        let json = lookup(ENV_AUDIT_CONFIG)
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| "{}".into());
        let mut rules = AuditConfig::from_json(&json)?.secret_access;
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
        App {
            reader: CloudTrailReader::new(
                sdk,
                &config.runner.regions,
                config.runner.pacing.clone(),
            ),
            watermarks: WatermarkStore::new(
                aws_sdk_ssm::Client::new(sdk),
                config.runner.watermark_prefix.clone(),
            ),
            notifier: SnsPublisher::new(
                aws_sdk_sns::Client::new(sdk),
                config.runner.topic_arn.clone(),
            ),
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
}

/// One scheduled run. The scheduler's payload carries nothing the run needs.
pub async fn handle(app: &App, now: OffsetDateTime) -> Result<RunReport, RunError> {
    let tags = if app.config.rules.tags.is_empty() {
        HashMap::new()
    } else {
        secret_tags(&app.secrets).await?
    };
    let report = run_cloudtrail_audit(
        &app.reader,
        &app.config.runner.regions,
        &EVENT_NAMES,
        &app.watermarks,
        &app.notifier,
        app.config.runner.overlap,
        app.config.runner.first_lookback,
        now,
        || {
            SecretAccessAudit::new(app.config.rules.clone())
                .expect("validated at cold start")
                .with_secret_tags(tags.clone())
        },
    )
    .await;
    into_result(report)
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
async fn secret_tags(
    client: &aws_sdk_secretsmanager::Client,
) -> Result<HashMap<String, BTreeMap<String, String>>, RunError> {
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
