//! What can stop a rotation step. One variant per thing an operator can act on; every message names
//! the secret, the step and the cause, never a key, passphrase, JWT or rotation token.

use crate::aws::AwsError;
use crate::keys::{Fingerprint, KeyError};
use crate::snowflake::{Slot, SnowflakeError};

use super::Step;

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error("secret {secret}: {step}: rotation is not enabled on this secret")]
    RotationDisabled { secret: String, step: Step },

    #[error(
        "secret {secret}: {step}: token {token} is not a version of this secret (it has no stage for rotation)"
    )]
    TokenNotAVersion {
        secret: String,
        step: Step,
        token: String,
    },

    #[error("secret {secret}: {step}: version {token} is not labelled AWSPENDING")]
    TokenNotPending {
        secret: String,
        step: Step,
        token: String,
    },

    #[error(
        "secret {secret}: unknown step {step:?}: expected createSecret, setSecret, testSecret or finishSecret"
    )]
    UnknownStep { secret: String, step: String },

    #[error("secret {secret}: {step}: {version} value is invalid: field `{field}`: {reason}")]
    InvalidSecret {
        secret: String,
        step: Step,
        version: String,
        field: String,
        reason: String,
    },

    #[error("secret {secret}: {step}: tag `{tag}` is invalid: {reason}")]
    InvalidTag {
        secret: String,
        step: Step,
        tag: String,
        reason: String,
    },

    #[error("secret {secret}: {step}: the secret has no {stage} value")]
    MissingVersion {
        secret: String,
        step: Step,
        stage: super::Stage,
    },

    #[error(
        "secret {secret}: {step}: user {user} has key {fingerprint} in {slot}, which belongs to none of this \
         secret's AWSCURRENT, AWSPENDING or AWSPREVIOUS versions; refusing to overwrite or remove it \
         (remove it yourself, or put the matching key back in the secret)"
    )]
    UnattributedKey {
        secret: String,
        step: Step,
        user: String,
        slot: Slot,
        fingerprint: Fingerprint,
    },

    #[error(
        "secret {secret}: {step}: the AWSCURRENT key {fingerprint} is not registered for user {user} in either slot; \
         register it (ALTER USER … SET RSA_PUBLIC_KEY) before rotating"
    )]
    CurrentNotRegistered {
        secret: String,
        step: Step,
        user: String,
        fingerprint: Fingerprint,
    },

    #[error(
        "secret {secret}: {step}: the AWSPENDING key {fingerprint} is not registered for user {user}; \
         setSecret has not completed, so AWSCURRENT was not moved"
    )]
    PendingNotRegistered {
        secret: String,
        step: Step,
        user: String,
        fingerprint: Fingerprint,
    },

    #[error(
        "secret {secret}: {step}: field `{field}` differs between AWSCURRENT and AWSPENDING; a rotation must not change it"
    )]
    IdentityChanged {
        secret: String,
        step: Step,
        field: &'static str,
    },

    #[error(
        "secret {secret}: {step}: the {version} key does not log in as user {user}: {cause}; nothing was changed"
    )]
    LoginFailed {
        secret: String,
        step: Step,
        version: String,
        user: String,
        cause: String,
    },

    #[error(
        "secret {secret}: {step}: Snowflake refused user {by} changing the keys of user {user}: {cause}; \
         grant MODIFY PROGRAMMATIC AUTHENTICATION METHODS on user {user} to the role {by} logs in with \
         (the `role` field of {by}'s secret, or else {by}'s default role)"
    )]
    AlterRefused {
        secret: String,
        step: Step,
        /// The user the function logged in as: the service user itself, or the admin user.
        by: String,
        user: String,
        cause: String,
    },

    #[error(
        "secret {secret}: {step}: the AWSPENDING key did not pass the test after {attempts} attempt(s): {cause}"
    )]
    TestFailed {
        secret: String,
        step: Step,
        attempts: u32,
        cause: String,
    },

    #[error("secret {secret}: {step}: admin secret {admin_secret}: {cause}")]
    AdminSecret {
        secret: String,
        step: Step,
        admin_secret: String,
        cause: String,
    },

    #[error("secret {secret}: {step}: key handling failed: {source}")]
    Key {
        secret: String,
        step: Step,
        source: KeyError,
    },

    #[error("secret {secret}: {step}: Snowflake: {source}")]
    Snowflake {
        secret: String,
        step: Step,
        source: SnowflakeError,
    },

    #[error("secret {secret}: {step}: AWS: {source}")]
    Aws {
        secret: String,
        step: Step,
        source: AwsError,
    },
}

impl RotationError {
    /// The step the error happened in, as Secrets Manager names it (`None` for an unknown step).
    pub fn step(&self) -> Option<Step> {
        use RotationError::*;
        match self {
            UnknownStep { .. } => None,
            RotationDisabled { step, .. }
            | TokenNotAVersion { step, .. }
            | TokenNotPending { step, .. }
            | InvalidSecret { step, .. }
            | InvalidTag { step, .. }
            | MissingVersion { step, .. }
            | UnattributedKey { step, .. }
            | CurrentNotRegistered { step, .. }
            | PendingNotRegistered { step, .. }
            | IdentityChanged { step, .. }
            | LoginFailed { step, .. }
            | AlterRefused { step, .. }
            | TestFailed { step, .. }
            | AdminSecret { step, .. }
            | Key { step, .. }
            | Snowflake { step, .. }
            | Aws { step, .. } => Some(*step),
        }
    }
}
