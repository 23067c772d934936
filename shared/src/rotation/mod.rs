//! Secrets Manager rotation of a Snowflake user's RSA key pair, as reconciliation over ports.
//! (Work in progress: entry points land in this module.)

pub mod error;
pub mod ports;

pub use error::RotationError;
pub use ports::*;

use std::fmt;
use std::time::Duration;

use crate::keys::KeySize;

/// The four steps Secrets Manager invokes, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    Create,
    Set,
    Test,
    Finish,
}

impl Step {
    /// The event's `Step` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Create => "createSecret",
            Step::Set => "setSecret",
            Step::Test => "testSecret",
            Step::Finish => "finishSecret",
        }
    }

    pub fn parse(step: &str) -> Option<Step> {
        [Step::Create, Step::Set, Step::Test, Step::Finish].into_iter().find(|s| s.as_str() == step)
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One invocation by Secrets Manager: `{"SecretId","ClientRequestToken","Step","RotationToken"?}`.
#[derive(Debug, Clone)]
pub struct RotationEvent {
    pub secret_id: String,
    /// The version id of the pending version ("token" throughout this module).
    pub client_request_token: String,
    /// Kept raw so an unknown step is reported by the domain like any other failure.
    pub step: String,
    pub rotation_token: Option<RotationToken>,
}

/// Function-wide settings, validated once per cold start (env vars `SNOWKEY_*`).
#[derive(Debug, Clone)]
pub struct RotationConfig {
    /// `SNOWKEY_KEY_BITS` (default 2048).
    pub key_size: KeySize,
    /// `SNOWKEY_ENCRYPT_KEYS`: encrypt new keys even when the current key is not encrypted.
    pub encrypt_keys: bool,
    /// `SNOWKEY_GRACE_MODE`: keep the previous key valid until the next rotation.
    pub grace_mode: bool,
    /// `SNOWKEY_TEST_RETRY_SECONDS` (default 30): how long testSecret keeps retrying the pending key.
    pub test_retry: Duration,
    /// Pause between testSecret attempts.
    pub test_retry_interval: Duration,
}

impl Default for RotationConfig {
    fn default() -> Self {
        RotationConfig {
            key_size: KeySize::Rsa2048,
            encrypt_keys: false,
            grace_mode: false,
            test_retry: Duration::from_secs(30),
            test_retry_interval: Duration::from_secs(2),
        }
    }
}
