//! Function-wide configuration, read from environment variables once per cold start.
//!
//! Per-secret options (SSM mirror path, consumer formats) live in the secret's tags instead, so one
//! deployed function can rotate many secrets.

use std::time::Duration;

use snowkey_shared::keys::KeySize;
use snowkey_shared::rotation::RotationConfig;

/// SNS topic for "rotated" / "rotation failed" messages. Optional: without it nothing is published.
pub const ENV_TOPIC_ARN: &str = "SNOWKEY_TOPIC_ARN";
/// RSA modulus size of new keys: 2048 (default), 3072 or 4096.
pub const ENV_KEY_BITS: &str = "SNOWKEY_KEY_BITS";
/// Encrypt every new private key with a fresh passphrase, even when the current key is not encrypted.
pub const ENV_ENCRYPT_KEYS: &str = "SNOWKEY_ENCRYPT_KEYS";
/// Keep the previous key valid until the next rotation (for consumers that cache the secret).
pub const ENV_GRACE_MODE: &str = "SNOWKEY_GRACE_MODE";
/// Customer-managed KMS key for the SSM SecureString mirror. Required only by secrets tagged for a mirror.
pub const ENV_SSM_KMS_KEY_ID: &str = "SNOWKEY_SSM_KMS_KEY_ID";
/// How long testSecret keeps retrying the pending key while Snowflake propagates it.
pub const ENV_TEST_RETRY_SECONDS: &str = "SNOWKEY_TEST_RETRY_SECONDS";
/// Per-request timeout of SQL API calls; a hung Snowflake must fail the step well before Lambda's timeout.
pub const ENV_SNOWFLAKE_TIMEOUT_SECONDS: &str = "SNOWKEY_SNOWFLAKE_TIMEOUT_SECONDS";

/// Validated configuration. Building it is the only place environment variables are read.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub topic_arn: Option<String>,
    pub key_size: KeySize,
    pub encrypt_keys: bool,
    pub grace_mode: bool,
    pub ssm_kms_key_id: Option<String>,
    pub test_retry: Duration,
    pub snowflake_timeout: Duration,
}

/// A configuration value that cannot be used; the message names the variable and what it accepts.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("{name}={value:?} is not a valid {expected}")]
    Invalid {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads through `lookup`, so tests need not mutate the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        // Empty values count as unset: SAM writes "" for an optional parameter left blank.
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let key_bits = match get(ENV_KEY_BITS) {
            None => KeySize::default(),
            Some(v) => v
                .parse::<u32>()
                .ok()
                .and_then(|bits| KeySize::from_bits(bits).ok())
                .ok_or(ConfigError::Invalid {
                    name: ENV_KEY_BITS,
                    value: v,
                    expected: "key size (2048, 3072 or 4096)",
                })?,
        };
        Ok(Config {
            topic_arn: get(ENV_TOPIC_ARN),
            key_size: key_bits,
            encrypt_keys: parse_bool(ENV_ENCRYPT_KEYS, get(ENV_ENCRYPT_KEYS))?,
            grace_mode: parse_bool(ENV_GRACE_MODE, get(ENV_GRACE_MODE))?,
            ssm_kms_key_id: get(ENV_SSM_KMS_KEY_ID),
            test_retry: parse_seconds(
                ENV_TEST_RETRY_SECONDS,
                get(ENV_TEST_RETRY_SECONDS),
                30,
                0..=600,
            )?,
            snowflake_timeout: parse_seconds(
                ENV_SNOWFLAKE_TIMEOUT_SECONDS,
                get(ENV_SNOWFLAKE_TIMEOUT_SECONDS),
                20,
                1..=300,
            )?,
        })
    }
}

impl Config {
    /// The domain's view of the settings.
    pub fn rotation_config(&self) -> RotationConfig {
        RotationConfig {
            key_size: self.key_size,
            encrypt_keys: self.encrypt_keys,
            grace_mode: self.grace_mode,
            test_retry: self.test_retry,
            ..RotationConfig::default()
        }
    }
}

fn parse_bool(name: &'static str, value: Option<String>) -> Result<bool, ConfigError> {
    match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("false" | "0" | "no") => Ok(false),
        Some("true" | "1" | "yes") => Ok(true),
        Some(_) => Err(ConfigError::Invalid {
            name,
            value: value.unwrap_or_default(),
            expected: "boolean (true or false)",
        }),
    }
}

fn parse_seconds(
    name: &'static str,
    value: Option<String>,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Duration, ConfigError> {
    let Some(v) = value else {
        return Ok(Duration::from_secs(default));
    };
    match v.parse::<u64>() {
        Ok(secs) if range.contains(&secs) => Ok(Duration::from_secs(secs)),
        _ => Err(ConfigError::Invalid {
            name,
            value: v,
            expected: "number of seconds in the allowed range",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let c = config(&[]).unwrap();
        assert_eq!(c.key_size, KeySize::Rsa2048);
        assert!(!c.encrypt_keys && !c.grace_mode);
        assert_eq!(c.topic_arn, None);
        assert_eq!(c.test_retry, Duration::from_secs(30));
    }

    #[test]
    fn reads_every_variable() {
        let c = config(&[
            (ENV_TOPIC_ARN, "arn:aws:sns:us-east-1:123456789012:t"),
            (ENV_KEY_BITS, "4096"),
            (ENV_ENCRYPT_KEYS, "TRUE"),
            (ENV_GRACE_MODE, "1"),
            (ENV_SSM_KMS_KEY_ID, "alias/snowkey"),
            (ENV_TEST_RETRY_SECONDS, "5"),
        ])
        .unwrap();
        assert_eq!(c.key_size, KeySize::Rsa4096);
        assert!(c.encrypt_keys && c.grace_mode);
        assert_eq!(c.ssm_kms_key_id.as_deref(), Some("alias/snowkey"));
        assert_eq!(c.test_retry, Duration::from_secs(5));
    }

    #[test]
    fn rejects_bad_values_naming_the_variable() {
        let err = config(&[(ENV_KEY_BITS, "1024")]).unwrap_err();
        assert!(err.to_string().contains(ENV_KEY_BITS), "{err}");
        let err = config(&[(ENV_GRACE_MODE, "maybe")]).unwrap_err();
        assert!(err.to_string().contains(ENV_GRACE_MODE), "{err}");
        assert!(config(&[(ENV_TEST_RETRY_SECONDS, "-1")]).is_err());
    }

    #[test]
    fn empty_values_count_as_unset() {
        assert_eq!(config(&[(ENV_TOPIC_ARN, "")]).unwrap().topic_arn, None);
    }
}
