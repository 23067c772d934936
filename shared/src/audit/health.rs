//! Rotation health (the runbook's verification list), evaluated from what the runner gathered:
//! `DescribeSecret`/`ListSecretVersionIds` for each managed secret and `DESC USER` in Snowflake.

use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use super::AuditConfigError;
use super::finding::{Finding, RuleSettings};
use crate::notify::Severity;

pub const ROTATION_DISABLED: &str = "health.rotation-disabled";
pub const ROTATION_OVERDUE: &str = "health.rotation-overdue";
pub const PENDING_STUCK: &str = "health.pending-stuck";
pub const KEY_DRIFT: &str = "health.key-drift";
pub const UNEXPECTED_SECOND_KEY: &str = "health.unexpected-second-key";
pub const RULES: [&str; 5] = [
    ROTATION_DISABLED,
    ROTATION_OVERDUE,
    PENDING_STUCK,
    KEY_DRIFT,
    UNEXPECTED_SECOND_KEY,
];

/// `SNOWKEY_AUDIT_CONFIG` → `health`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthConfig {
    pub max_age_days: i64,
    pub pending_stuck_hours: i64,
    /// Grace mode: the `AWSPREVIOUS` key stays registered in the other slot until the next rotation.
    pub keep_previous_key: bool,
    pub rules: RuleSettings,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            max_age_days: 90,
            pending_stuck_hours: 24,
            keep_previous_key: false,
            rules: RuleSettings::default(),
        }
    }
}

impl HealthConfig {
    pub fn validate(&self) -> Result<(), AuditConfigError> {
        match self.rules.unknown_rule(&RULES) {
            Some(rule) => Err(AuditConfigError::UnknownRule(rule.to_string())),
            None => Ok(()),
        }
    }
}

/// One secret version: its stages, when it was created, and its public-key fingerprint
/// (`SHA256:…`, computed by the runner; never the key itself).
#[derive(Debug, Clone, Deserialize)]
pub struct VersionState {
    pub version_id: String,
    pub stages: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    pub fingerprint: Option<String>,
}

impl VersionState {
    fn has(&self, stage: &str) -> bool {
        self.stages.iter().any(|s| s == stage)
    }
}

/// What the runner observed about one managed secret.
#[derive(Debug, Clone, Deserialize)]
pub struct SecretState {
    pub name: String,
    pub rotation_enabled: bool,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_rotated: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created: Option<OffsetDateTime>,
    pub versions: Vec<VersionState>,
    /// `DESC USER`; `None` when Snowflake was not asked (then no drift check).
    pub snowflake: Option<SnowflakeKeys>,
}

/// `RSA_PUBLIC_KEY_FP` and `RSA_PUBLIC_KEY_2_FP` of the secret's Snowflake user.
#[derive(Debug, Clone, Deserialize)]
pub struct SnowflakeKeys {
    pub user: String,
    pub slot_1: Option<String>,
    pub slot_2: Option<String>,
}

/// Findings for every secret; `now` is passed in so a run is reproducible. Findings repeat
/// daily while a problem lasts (the dedup key includes the date).
pub fn evaluate(
    secrets: &[SecretState],
    config: &HealthConfig,
    now: OffsetDateTime,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in secrets {
        check_secret(s, config, now, &mut out);
    }
    out
}

fn check_secret(s: &SecretState, c: &HealthConfig, now: OffsetDateTime, out: &mut Vec<Finding>) {
    let day = now.date().to_string();
    let mut push = |rule: &str, default: Severity, title: String, ctx: &[(&str, String)]| {
        if let Some(sev) = c.rules.severity(rule, default) {
            let mut f = Finding::new(rule, sev, title, "-", s.name.as_str(), now, &day);
            for (k, v) in ctx {
                f = f.with_context(k, v);
            }
            out.push(f);
        }
    };
    if !s.rotation_enabled {
        push(
            ROTATION_DISABLED,
            Severity::High,
            format!("Rotation is disabled for {}", s.name),
            &[],
        );
    }
    let current = s.versions.iter().find(|v| v.has("AWSCURRENT"));
    let rotated = s.last_rotated.or(current.map(|v| v.created)).or(s.created);
    let max_age = Duration::days(c.max_age_days);
    match rotated {
        Some(t) if now - t > max_age => {
            let age = (now - t).whole_days();
            push(
                ROTATION_OVERDUE,
                Severity::High,
                format!(
                    "{} last rotated {age} days ago (max {})",
                    s.name, c.max_age_days
                ),
                &[("last_rotated", t.to_string())],
            );
        }
        None => push(
            ROTATION_OVERDUE,
            Severity::High,
            format!("{} has no rotation date", s.name),
            &[],
        ),
        _ => {}
    }
    let pending = s
        .versions
        .iter()
        .find(|v| v.has("AWSPENDING") && !v.has("AWSCURRENT"));
    if let Some(p) = pending
        && now - p.created > Duration::hours(c.pending_stuck_hours)
    {
        let hours = (now - p.created).whole_hours();
        push(
            PENDING_STUCK,
            Severity::High,
            format!("Rotation of {} stuck: AWSPENDING is {hours} h old", s.name),
            &[("pending_version", p.version_id.clone())],
        );
    }
    let (Some(sf), Some(current_fp)) =
        (&s.snowflake, current.and_then(|v| v.fingerprint.as_deref()))
    else {
        return;
    };
    let registered: Vec<&str> = [sf.slot_1.as_deref(), sf.slot_2.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if !registered.contains(&current_fp) {
        push(
            KEY_DRIFT,
            Severity::Critical,
            format!(
                "Snowflake user {} does not hold the AWSCURRENT key of {}",
                sf.user, s.name
            ),
            &[
                ("user", sf.user.clone()),
                ("current_fingerprint", current_fp.to_string()),
            ],
        );
    }
    let mut expected = vec![current_fp];
    expected.extend(pending.and_then(|p| p.fingerprint.as_deref()));
    if c.keep_previous_key {
        expected.extend(
            s.versions
                .iter()
                .filter(|v| v.has("AWSPREVIOUS"))
                .filter_map(|v| v.fingerprint.as_deref()),
        );
    }
    for fp in registered.iter().filter(|fp| !expected.contains(fp)) {
        push(
            UNEXPECTED_SECOND_KEY,
            Severity::High,
            format!(
                "Snowflake user {} holds a key that is not in {}",
                sf.user, s.name
            ),
            &[("user", sf.user.clone()), ("fingerprint", fp.to_string())],
        );
    }
}
