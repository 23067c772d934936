//! Settings every CloudTrail audit function shares, read from `SNOWKEY_*` environment variables.

use std::time::Duration;

use crate::audit::{AuditConfig, AuditConfigError};
use crate::aws::cloudtrail::LookupPacing;

pub const ENV_TOPIC_ARN: &str = "SNOWKEY_TOPIC_ARN";
/// Comma-separated regions to audit; default: the function's own region (`AWS_REGION`).
pub const ENV_REGIONS: &str = "SNOWKEY_REGIONS";
/// SSM parameter path under which each region's watermark lives (`<prefix>/<region>`).
pub const ENV_WATERMARK_PREFIX: &str = "SNOWKEY_WATERMARK_PREFIX";
/// How far each run rescans before the watermark, for CloudTrail's late delivery (default 30).
pub const ENV_OVERLAP_MINUTES: &str = "SNOWKEY_AUDIT_OVERLAP_MINUTES";
/// How far back the first run (no watermark yet) looks (default 60).
pub const ENV_LOOKBACK_MINUTES: &str = "SNOWKEY_AUDIT_LOOKBACK_MINUTES";
/// LookupEvents requests per second per region this function may use (default 1: half of CloudTrail's
/// 2, which the secret-access and assume-role audits share).
pub const ENV_LOOKUP_RATE: &str = "SNOWKEY_LOOKUP_REQUESTS_PER_SECOND";
/// JSON rule configuration (allow-lists, CIDRs, severities) for every audit; see `crate::audit`.
pub const ENV_AUDIT_CONFIG: &str = "SNOWKEY_AUDIT_CONFIG";

/// Why an audit function's configuration was refused at cold start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("{ENV_AUDIT_CONFIG}: {0}")]
    Rules(#[from] AuditConfigError),
}

/// The audits' rule configuration; unset or blank means every default.
pub fn read_audit_config(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<AuditConfig, AuditConfigError> {
    let json = lookup(ENV_AUDIT_CONFIG)
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "{}".into());
    AuditConfig::from_json(&json)
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunnerSettings {
    pub topic_arn: String,
    pub regions: Vec<String>,
    pub watermark_prefix: String,
    pub overlap: Duration,
    pub first_lookback: Duration,
    pub pacing: LookupPacing,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("{name}={value:?} is not valid: expected {expected}")]
    Invalid {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
}

impl RunnerSettings {
    /// Reads through `lookup` (the process environment in production), so tests need not mutate it.
    pub fn from_lookup(
        lookup: &impl Fn(&str) -> Option<String>,
        default_watermark_prefix: &str,
    ) -> Result<Self, SettingsError> {
        // Empty counts as unset: SAM writes "" for an optional parameter left blank.
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let topic_arn = get(ENV_TOPIC_ARN).ok_or(SettingsError::Missing(ENV_TOPIC_ARN))?;
        let regions_text = get(ENV_REGIONS)
            .or_else(|| get("AWS_REGION"))
            .ok_or(SettingsError::Missing(ENV_REGIONS))?;
        let regions: Vec<String> = regions_text
            .split(',')
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty())
            .collect();
        let region_ok = |r: &String| {
            r.split('-').count() >= 3
                && r.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        };
        if regions.is_empty() || !regions.iter().all(region_ok) {
            return Err(SettingsError::Invalid {
                name: ENV_REGIONS,
                value: regions_text,
                expected: "comma-separated regions like us-east-1,eu-west-1",
            });
        }
        let watermark_prefix =
            get(ENV_WATERMARK_PREFIX).unwrap_or_else(|| default_watermark_prefix.to_owned());
        if !watermark_prefix.starts_with('/') {
            return Err(SettingsError::Invalid {
                name: ENV_WATERMARK_PREFIX,
                value: watermark_prefix,
                expected: "an SSM path starting with /",
            });
        }
        let minutes = |name: &'static str, default: u64| -> Result<Duration, SettingsError> {
            match get(name) {
                None => Ok(Duration::from_secs(default * 60)),
                Some(v) => match v.parse::<u64>() {
                    Ok(m) if (1..=90 * 24 * 60).contains(&m) => Ok(Duration::from_secs(m * 60)),
                    _ => Err(SettingsError::Invalid {
                        name,
                        value: v,
                        expected: "whole minutes, 1 to 129600 (90 days)",
                    }),
                },
            }
        };
        let overlap = minutes(ENV_OVERLAP_MINUTES, 30)?;
        let first_lookback = minutes(ENV_LOOKBACK_MINUTES, 60)?;
        let mut pacing = LookupPacing::default();
        if let Some(v) = get(ENV_LOOKUP_RATE) {
            pacing.requests_per_second = match v.parse::<f64>() {
                Ok(rate) if rate > 0.0 && rate <= 2.0 => rate,
                _ => {
                    return Err(SettingsError::Invalid {
                        name: ENV_LOOKUP_RATE,
                        value: v,
                        expected: "a number above 0 and at most 2 (CloudTrail's limit)",
                    });
                }
            };
        }
        Ok(RunnerSettings {
            topic_arn,
            regions,
            watermark_prefix,
            overlap,
            first_lookback,
            pacing,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_to_the_functions_region_and_documented_windows() {
        let s = RunnerSettings::from_lookup(
            &env(&[
                (ENV_TOPIC_ARN, "arn:t"),
                ("AWS_REGION", "eu-west-1"),
                (ENV_REGIONS, ""),
            ]),
            "/snowkey/audit/x",
        )
        .unwrap();
        assert_eq!(s.regions, ["eu-west-1"]);
        assert_eq!(s.watermark_prefix, "/snowkey/audit/x");
        assert_eq!(s.overlap, Duration::from_secs(1800));
        assert_eq!(s.pacing.requests_per_second, 1.0);
    }

    #[test]
    fn refuses_what_would_break_a_run() {
        let base = [
            (ENV_TOPIC_ARN, "arn:t"),
            (ENV_REGIONS, "us-east-1, eu-west-1"),
        ];
        assert_eq!(
            RunnerSettings::from_lookup(&env(&base), "/p")
                .unwrap()
                .regions,
            ["us-east-1", "eu-west-1"]
        );
        assert_eq!(
            RunnerSettings::from_lookup(&env(&[(ENV_REGIONS, "us-east-1")]), "/p"),
            Err(SettingsError::Missing(ENV_TOPIC_ARN))
        );
        for (name, value) in [
            (ENV_REGIONS, "US East"),
            (ENV_LOOKUP_RATE, "5"),
            (ENV_OVERLAP_MINUTES, "0"),
            (ENV_WATERMARK_PREFIX, "no-slash"),
        ] {
            let mut pairs = base.to_vec();
            pairs.retain(|(k, _)| *k != name);
            pairs.push((name, value));
            let err = RunnerSettings::from_lookup(&env(&pairs), "/p").unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}
