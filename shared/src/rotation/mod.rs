//! Secrets Manager rotation of a Snowflake user's RSA key pair, as reconciliation over ports.
//!
//! [`run_step`] is the entry point: the AWS template's guards, then one function per step
//! ([`create`], [`set`], [`test`], [`finish`]). Every step decides from what it observes (version
//! stages, `DESC USER` fingerprints), so any step can be re-run after a crash at any point.

pub mod create;
pub mod error;
pub mod finish;
pub mod formats;
pub mod guards;
pub mod memory;
pub mod messages;
pub mod observe;
pub mod ports;
pub mod secret_value;
pub mod set;
pub mod test;
pub mod version_cache;

pub use error::RotationError;
pub use finish::{FinishReport, SlotOutcome};
pub use ports::*;
pub use version_cache::VersionCache;

use crate::keys::Fingerprint;
use crate::snowflake::Slot;
use guards::{Ctx, Guard, SecretOptions};

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
        [Step::Create, Step::Set, Step::Test, Step::Finish]
            .into_iter()
            .find(|s| s.as_str() == step)
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

/// What a step did (or found already done).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// The token is already AWSCURRENT: createSecret, setSecret and testSecret have nothing to do.
    AlreadyCurrent,
    PendingAlreadyCreated,
    PendingCreated {
        fingerprint: Fingerprint,
        encrypted: bool,
    },
    PendingAlreadyRegistered {
        slot: Slot,
    },
    PendingRegistered {
        slot: Slot,
    },
    PendingTested {
        attempts: u32,
    },
    Finished(FinishReport),
}

impl fmt::Display for StepOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepOutcome::AlreadyCurrent => {
                f.write_str("the version is already AWSCURRENT; nothing to do")
            }
            StepOutcome::PendingAlreadyCreated => {
                f.write_str("AWSPENDING already has a value; nothing to do")
            }
            StepOutcome::PendingCreated {
                fingerprint,
                encrypted,
            } => {
                let kind = if *encrypted {
                    "encrypted"
                } else {
                    "unencrypted"
                };
                write!(f, "stored a new {kind} key {fingerprint} as AWSPENDING")
            }
            StepOutcome::PendingAlreadyRegistered { slot } => {
                write!(f, "the AWSPENDING key is already in {slot}")
            }
            StepOutcome::PendingRegistered { slot } => {
                write!(f, "registered the AWSPENDING key in {slot}")
            }
            StepOutcome::PendingTested { attempts } => {
                write!(f, "the AWSPENDING key logged in (attempt {attempts})")
            }
            StepOutcome::Finished(report) => write!(
                f,
                "rotated {}: {}; {}",
                report.user,
                report.stage_summary(),
                report.slots
            ),
        }
    }
}

/// Runs one step for one Secrets Manager invocation. Publishes "rotated" after finishSecret and
/// "rotation failed" after any error, which is still returned so Secrets Manager records it.
/// A notification that cannot be published is logged, never turned into a rotation failure.
pub async fn run_step<S, K, N, M, G>(
    ports: &Ports<S, K, N, M, G>,
    config: &RotationConfig,
    event: &RotationEvent,
) -> Result<StepOutcome, RotationError>
where
    S: SecretStore,
    K: KeyRegistry,
    N: Notifier,
    M: KeyMirror,
    G: KeyGenerator,
{
    let result = dispatch(ports, config, event).await;
    let notification = match &result {
        Ok(StepOutcome::Finished(report)) => Some(messages::rotated(&event.secret_id, report)),
        Ok(_) => None,
        Err(error) => {
            tracing::error!(secret = %event.secret_id, step = %event.step, %error, "rotation step failed");
            Some(messages::failed(&event.secret_id, &event.step, error))
        }
    };
    if let Some(notification) = notification
        && let Err(error) = ports.notifier.publish(&notification).await
    {
        tracing::warn!(secret = %event.secret_id, step = %event.step, %error, "could not publish the notification");
    }
    result
}

async fn dispatch<S, K, N, M, G>(
    ports: &Ports<S, K, N, M, G>,
    config: &RotationConfig,
    event: &RotationEvent,
) -> Result<StepOutcome, RotationError>
where
    S: SecretStore,
    K: KeyRegistry,
    M: KeyMirror,
    G: KeyGenerator,
{
    let secret = event.secret_id.as_str();
    let step = Step::parse(&event.step).ok_or_else(|| RotationError::UnknownStep {
        secret: secret.to_string(),
        step: event.step.clone(),
    })?;
    let ctx = Ctx { secret, step };
    let description = ports
        .secrets
        .describe(secret)
        .await
        .map_err(|e| ctx.aws(e))?;
    let guard = guards::check(ctx, &description, &event.client_request_token)?;
    let options = SecretOptions::from_tags(ctx, &description)?;
    if guard == Guard::AlreadyCurrent && step != Step::Finish {
        tracing::info!(secret, %step, "version is already AWSCURRENT; nothing to do");
        return Ok(StepOutcome::AlreadyCurrent);
    }
    let token = event.client_request_token.as_str();
    match step {
        Step::Create => {
            create::create_secret(ports, config, ctx, &description, &options, event).await
        }
        Step::Set => set::set_secret(ports, ctx, &description, token).await,
        Step::Test => test::test_secret(ports, config, ctx, token).await,
        Step::Finish => {
            finish::finish_secret(ports, config, ctx, &description, &options, guard, token).await
        }
    }
}
