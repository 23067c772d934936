//! The ports the rotation domain talks through: a secret store (Secrets Manager), a key registry
//! (Snowflake's two key slots), a notifier (SNS) and a key mirror (SSM Parameter Store).
//!
//! CONTRACT: the adapters (`crate::aws::*`, the Snowflake key-registry adapter) and the in-memory
//! adapters in [`super::memory`] implement these traits. Changes here are additive only.
//!
//! The domain only *observes* through these ports (version stages, `DESC USER` fingerprints) and
//! *decides*; every call here is one I/O operation, so a crash can happen between any two of them
//! and a re-run must converge.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use crate::aws::AwsError;
use crate::keys::{KeySize, Passphrase, PrivateKey, PublicKey};
use crate::notify::Notification;
use crate::snowflake::{ConnectionSettings, Slot, SnowflakeError, UserKeySlots};

/// Secrets Manager staging labels the rotation protocol uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// `AWSCURRENT`
    Current,
    /// `AWSPENDING`
    Pending,
    /// `AWSPREVIOUS`
    Previous,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Current => "AWSCURRENT",
            Stage::Pending => "AWSPENDING",
            Stage::Previous => "AWSPREVIOUS",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What `DescribeSecret` says about a secret: enough for the guards and for per-secret options.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecretDescription {
    pub arn: String,
    pub name: String,
    /// `RotationEnabled`; an absent field counts as `false` (as in AWS's template).
    pub rotation_enabled: bool,
    /// `VersionIdsToStages`: version id -> staging labels (e.g. `["AWSCURRENT"]`).
    pub versions: BTreeMap<String, Vec<String>>,
    /// Tags, key -> value (e.g. `snowkey:ssm-parameter`).
    pub tags: BTreeMap<String, String>,
}

impl SecretDescription {
    /// The version carrying `stage`, if any (Secrets Manager keeps each label on at most one version).
    pub fn version_with(&self, stage: Stage) -> Option<&str> {
        self.versions
            .iter()
            .find(|(_, stages)| stages.iter().any(|s| s == stage.as_str()))
            .map(|(id, _)| id.as_str())
    }

    /// Whether `version_id` carries `stage`.
    pub fn has_stage(&self, version_id: &str, stage: Stage) -> bool {
        self.versions
            .get(version_id)
            .is_some_and(|stages| stages.iter().any(|s| s == stage.as_str()))
    }
}

/// Which version of a secret to read (`GetSecretValue` with `VersionId` and/or `VersionStage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSelector {
    /// The version carrying this label.
    Stage(Stage),
    /// This version id, whatever its labels.
    Version(String),
    /// This version id, only if it carries this label (the template's pending read).
    VersionAtStage(String, Stage),
}

/// A secret's JSON text. Holds a private key (and maybe a passphrase): zeroized on drop, never printed.
#[derive(Clone)]
pub struct SecretText(secrecy::SecretString);

impl SecretText {
    pub fn new(text: impl Into<String>) -> Self {
        SecretText(secrecy::SecretString::from(text.into()))
    }
    /// Deliberately explicit: every call site that reads the secret is greppable.
    pub fn expose(&self) -> &str {
        use secrecy::ExposeSecret;
        self.0.expose_secret()
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretText(<redacted>)")
    }
}

/// One stored version's value, as `GetSecretValue` returns it. Only what never changes: Secrets
/// Manager refuses a different value under an existing version id, while labels move.
#[derive(Debug, Clone)]
pub struct StoredVersion {
    pub version_id: String,
    pub text: SecretText,
}

/// The `RotationToken` of the event, passed on to `PutSecretValue`. Sensitive (AWS keeps it out of
/// CloudTrail), so it never prints.
#[derive(Clone)]
pub struct RotationToken(secrecy::SecretString);

impl RotationToken {
    pub fn new(value: impl Into<String>) -> Self {
        RotationToken(secrecy::SecretString::from(value.into()))
    }
    pub fn expose(&self) -> &str {
        use secrecy::ExposeSecret;
        self.0.expose_secret()
    }
}

impl fmt::Debug for RotationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RotationToken(<redacted>)")
    }
}

/// Secrets Manager, as the rotation protocol uses it.
///
/// Errors are [`AwsError`]; "no such version / no value at that stage" is `Ok(None)` from
/// [`SecretStore::get_value`], never an error, because the domain decides on it.
pub trait SecretStore: Send + Sync {
    /// `DescribeSecret`.
    fn describe(
        &self,
        secret_id: &str,
    ) -> impl Future<Output = Result<SecretDescription, AwsError>> + Send;

    /// `GetSecretValue`; `Ok(None)` when the selected version does not exist or has no value yet
    /// (`ResourceNotFoundException`).
    fn get_value(
        &self,
        secret_id: &str,
        selector: &VersionSelector,
    ) -> impl Future<Output = Result<Option<StoredVersion>, AwsError>> + Send;

    /// `PutSecretValue(ClientRequestToken = token, VersionStages = [AWSPENDING], RotationToken)`.
    fn put_pending(
        &self,
        secret_id: &str,
        token: &str,
        value: &SecretText,
        rotation_token: Option<&RotationToken>,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;

    /// `UpdateSecretVersionStage(AWSCURRENT, MoveToVersionId = to, RemoveFromVersionId = from)`.
    /// Secrets Manager then labels `from` `AWSPREVIOUS` and drops `AWSPENDING` from `to`.
    fn move_current(
        &self,
        secret_id: &str,
        to_version: &str,
        from_version: Option<&str>,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;

    /// `GetRandomPassword`, for the passphrase of a newly generated encrypted key.
    fn random_passphrase(&self) -> impl Future<Output = Result<Passphrase, AwsError>> + Send;
}

/// Who logs in to Snowflake, and with which key. The adapter opens a fresh SQL API client per
/// connection (long-lived sessions expire), over one shared HTTP client.
#[derive(Debug, Clone)]
pub struct Connection {
    pub settings: ConnectionSettings,
    pub key: Arc<PrivateKey>,
}

/// What happened to an `ALTER USER … SET RSA_PUBLIC_KEY[_2]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetKeyOutcome {
    /// The slot now holds the key.
    Set,
    /// Snowflake's key policy refused the key ("New public key rejected by current policy"), with
    /// Snowflake's reason. The same words cover a malformed key and, on accounts that do not allow
    /// it, the same key in both slots; the caller knows the slots and tells the two apart (the
    /// adapter cannot: describing another user needs OWNERSHIP, which an admin with only MODIFY
    /// PROGRAMMATIC AUTHENTICATION METHODS lacks). Every other failure is an `Err`.
    RejectedByPolicy { reason: String },
}

/// Snowflake's two legacy key slots of one user, managed over a [`Connection`].
///
/// `target_user` is the user whose slots are read or written; the connection's user is either the
/// same user (self mode) or an admin user (admin mode). Authentication failures are `Err`.
pub trait KeyRegistry: Send + Sync {
    /// `DESC USER target_user`.
    fn describe_user(
        &self,
        conn: &Connection,
        target_user: &str,
    ) -> impl Future<Output = Result<UserKeySlots, SnowflakeError>> + Send;

    /// `ALTER USER target_user SET <slot> = '<key body>'`.
    fn set_key(
        &self,
        conn: &Connection,
        target_user: &str,
        slot: Slot,
        key: &PublicKey,
    ) -> impl Future<Output = Result<SetKeyOutcome, SnowflakeError>> + Send;

    /// `ALTER USER target_user UNSET <slot>`.
    fn unset_key(
        &self,
        conn: &Connection,
        target_user: &str,
        slot: Slot,
    ) -> impl Future<Output = Result<(), SnowflakeError>> + Send;

    /// `SELECT CURRENT_USER()` — proves the connection's key authenticates.
    fn current_user(
        &self,
        conn: &Connection,
    ) -> impl Future<Output = Result<String, SnowflakeError>> + Send;
}

/// Where "rotated" / "rotation failed" messages go (SNS feeding AWS Chatbot).
pub trait Notifier: Send + Sync {
    fn publish(
        &self,
        notification: &Notification,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
}

/// SSM Parameter Store mirror: `PutParameter(Type = SecureString, KeyId = <customer-managed key>,
/// Overwrite = true)`. The KMS key is the adapter's configuration.
pub trait KeyMirror: Send + Sync {
    fn put_secure(
        &self,
        name: &str,
        value: &SecretText,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
}

/// Makes new key pairs. Production uses [`SystemKeyGenerator`]; tests may hand out pre-generated
/// keys because RSA generation dominates their run time.
///
/// Generation starts when `generate` is called, not when the future is first polled, so the step
/// can overlap it with its network reads. Dropping the future discards the key (zeroized), but
/// the work already started runs to its end.
pub trait KeyGenerator: Send + Sync {
    fn generate(
        &self,
        size: KeySize,
    ) -> impl Future<Output = Result<PrivateKey, crate::keys::KeyError>> + Send + 'static;
}

/// [`PrivateKey::generate`] on Tokio's blocking pool: RSA generation is tens of milliseconds of CPU,
/// which would otherwise stall the reads it can run beside.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemKeyGenerator;

impl KeyGenerator for SystemKeyGenerator {
    fn generate(
        &self,
        size: KeySize,
    ) -> impl Future<Output = Result<PrivateKey, crate::keys::KeyError>> + Send + 'static {
        let task = tokio::task::spawn_blocking(move || PrivateKey::generate(size));
        async move {
            task.await.map_err(|e| {
                crate::keys::KeyError::Generation(format!("the key generation task failed: {e}"))
            })?
        }
    }
}

/// A notifier for functions without a topic: drops every message.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoNotifier;

impl Notifier for NoNotifier {
    async fn publish(&self, _notification: &Notification) -> Result<(), AwsError> {
        Ok(())
    }
}

/// A mirror for functions without SSM configured: any secret tagged for mirroring fails loudly
/// rather than silently skipping the copy its consumers rely on.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMirror;

impl KeyMirror for NoMirror {
    async fn put_secure(&self, name: &str, _value: &SecretText) -> Result<(), AwsError> {
        Err(AwsError::Other {
            operation: "PutParameter",
            message: format!(
                "parameter {name} requested by tag, but no SSM mirror (KMS key) is configured"
            ),
        })
    }
}

/// An optional notifier: `None` (no topic configured) drops every message.
impl<T: Notifier> Notifier for Option<T> {
    async fn publish(&self, notification: &Notification) -> Result<(), AwsError> {
        match self {
            Some(inner) => inner.publish(notification).await,
            None => NoNotifier.publish(notification).await,
        }
    }
}

/// An optional mirror: `None` (no KMS key configured) fails like [`NoMirror`].
impl<T: KeyMirror> KeyMirror for Option<T> {
    async fn put_secure(&self, name: &str, value: &SecretText) -> Result<(), AwsError> {
        match self {
            Some(inner) => inner.put_secure(name, value).await,
            None => NoMirror.put_secure(name, value).await,
        }
    }
}

/// Everything the rotation steps talk through, built once per cold start.
pub struct Ports<S, K, N = NoNotifier, M = NoMirror, G = SystemKeyGenerator> {
    pub secrets: S,
    pub registry: K,
    pub notifier: N,
    pub mirror: M,
    pub keygen: G,
}

impl<S, K, N, M> Ports<S, K, N, M, SystemKeyGenerator> {
    pub fn new(secrets: S, registry: K, notifier: N, mirror: M) -> Self {
        Ports {
            secrets,
            registry,
            notifier,
            mirror,
            keygen: SystemKeyGenerator,
        }
    }
}

impl<S, K, N, M, G> Ports<S, K, N, M, G> {
    /// Replaces the key generator (tests).
    pub fn with_key_generator<G2>(self, keygen: G2) -> Ports<S, K, N, M, G2> {
        Ports {
            secrets: self.secrets,
            registry: self.registry,
            notifier: self.notifier,
            mirror: self.mirror,
            keygen,
        }
    }
}
