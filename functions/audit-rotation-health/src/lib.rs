//! Rotation-health audit (the runbook's verification list): every managed secret rotates, on time, is
//! not stuck with a pending version, and its AWSCURRENT key is the one Snowflake holds. The rules live
//! in `snowkey_shared::audit::health`; gathering the state in [`observe`].

pub mod observe;

use snowkey_shared::audit::health::{self, HealthConfig};
use snowkey_shared::audit::{DigestLimits, digests};
use snowkey_shared::audit_runner::{SettingsError, read_audit_config};
use snowkey_shared::aws::SnsPublisher;
use snowkey_shared::aws::watermark::WatermarkStore;
use snowkey_shared::rotation::Notifier;
use snowkey_shared::snowflake::{RetryPolicy, SqlApiKeyRegistry};
use time::OffsetDateTime;

pub const ENV_TOPIC_ARN: &str = "SNOWKEY_TOPIC_ARN";
/// Secrets whose name starts with this are checked.
pub const ENV_WATCHED_SECRET_PREFIX: &str = "SNOWKEY_WATCHED_SECRET_PREFIX";
/// JSON rule configuration; this audit reads its `health` section.
pub use snowkey_shared::audit_runner::ENV_AUDIT_CONFIG;
/// SSM path remembering which findings were published today (`<prefix>/<region>`).
pub const ENV_WATERMARK_PREFIX: &str = "SNOWKEY_WATERMARK_PREFIX";

#[derive(Debug, Clone)]
pub struct Config {
    pub topic_arn: String,
    pub secret_prefix: String,
    pub rules: HealthConfig,
    pub watermark_prefix: String,
}

pub use snowkey_shared::audit_runner::ConfigError;

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let topic_arn = get(ENV_TOPIC_ARN).ok_or(SettingsError::Missing(ENV_TOPIC_ARN))?;
        let secret_prefix = get(ENV_WATCHED_SECRET_PREFIX)
            .ok_or(SettingsError::Missing(ENV_WATCHED_SECRET_PREFIX))?;
        let rules = read_audit_config(lookup)?.health;
        let watermark_prefix = get(ENV_WATERMARK_PREFIX)
            .unwrap_or_else(|| "/snowkey/audit/audit-rotation-health".into());
        Ok(Config {
            topic_arn,
            secret_prefix,
            rules,
            watermark_prefix,
        })
    }
}

/// Clients and settings, built once per cold start.
pub struct App {
    pub config: Config,
    pub region: String,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub registry: SqlApiKeyRegistry,
    pub published: WatermarkStore,
    pub notifier: SnsPublisher,
}

impl App {
    pub fn new(config: Config, sdk: &aws_config::SdkConfig, http: reqwest::Client) -> Self {
        App {
            region: sdk
                .region()
                .map_or_else(|| "default".to_owned(), ToString::to_string),
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
            registry: SqlApiKeyRegistry::new(http, RetryPolicy::default()),
            published: WatermarkStore::new(
                aws_sdk_ssm::Client::new(sdk),
                config.watermark_prefix.clone(),
            ),
            notifier: SnsPublisher::new(aws_sdk_sns::Client::new(sdk), config.topic_arn.clone()),
            config,
        }
    }
}

#[derive(Debug, Default, serde::Serialize)]
pub struct HealthReport {
    pub secrets_checked: usize,
    pub findings: usize,
    pub already_published: usize,
    pub published: usize,
    pub errors: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("rotation-health run incomplete: {0}")]
pub struct RunError(pub String);

/// One scheduled run: check every managed secret, publish findings not yet published today.
/// Secrets that could not be checked fail the run (after the others were reported).
pub async fn handle(app: &App, now: OffsetDateTime) -> Result<HealthReport, RunError> {
    let mut report = HealthReport::default();
    let names = observe::managed_secrets(&app.secrets, &app.config.secret_prefix)
        .await
        .map_err(|e| RunError(e.to_string()))?;
    let mut states = Vec::new();
    for name in &names {
        match observe::secret_state(&app.secrets, &app.registry, name).await {
            Ok((state, partial)) => {
                states.push(state);
                report.errors.extend(partial.map(|e| e.to_string()));
            }
            Err(e) => report.errors.push(e.to_string()),
        }
    }
    report.secrets_checked = states.len();
    let findings = health::evaluate(&states, &app.config.rules, now);
    report.findings = findings.len();

    let mut seen = app
        .published
        .load(&app.region)
        .await
        .map_err(|e| RunError(e.to_string()))?;
    let fresh: Vec<_> = findings
        .into_iter()
        .filter(|f| !seen.is_published(&f.dedup_key))
        .collect();
    report.already_published = report.findings - fresh.len();
    let mut publish_error = None;
    for digest in digests(&fresh, DigestLimits::default()) {
        if let Err(e) = app.notifier.publish(&digest.notification).await {
            publish_error = Some(e.to_string());
            break;
        }
        digest
            .dedup_keys
            .iter()
            .for_each(|k| seen.mark_published(k, now));
        report.published += digest.dedup_keys.len();
    }
    // Health findings repeat daily (the date is in their key): two days of keys is enough.
    seen.advance(now, now - time::Duration::days(2));
    app.published
        .save(&app.region, &seen)
        .await
        .map_err(|e| RunError(e.to_string()))?;
    report.errors.extend(publish_error);
    for error in &report.errors {
        tracing::error!(%error, "rotation-health check incomplete");
    }
    if report.errors.is_empty() {
        Ok(report)
    } else {
        Err(RunError(report.errors.join("; ")))
    }
}
