//! Observing state: reading secret versions, logging in, and attributing the keys in Snowflake's
//! slots to versions of this secret (invariant 5).

use std::sync::Arc;

use crate::keys::{Fingerprint, PrivateKey};
use crate::snowflake::{Slot, SnowflakeError, UserKeySlots};

use super::guards::Ctx;
use super::secret_value::SecretValue;
use super::{
    Connection, KeyRegistry, Ports, RotationError, SecretDescription, SecretStore, Stage,
    VersionSelector,
};

/// One version of this secret, validated, with its key read.
pub struct Loaded {
    pub version_id: String,
    pub value: SecretValue,
    pub key: Arc<PrivateKey>,
}

impl Loaded {
    pub fn fingerprint(&self) -> Fingerprint {
        self.key.fingerprint()
    }
    /// Logging in as this version's user with this version's key.
    pub fn connection(&self, ctx: Ctx<'_>, label: &str) -> Result<Connection, RotationError> {
        let settings = self
            .value
            .connection_settings()
            .map_err(|e| ctx.invalid(label, e))?;
        Ok(Connection {
            settings,
            key: self.key.clone(),
        })
    }
}

/// Reads and fully validates a version; `Ok(None)` when it has no value.
pub async fn load<S: SecretStore>(
    secrets: &S,
    ctx: Ctx<'_>,
    selector: VersionSelector,
    label: &str,
) -> Result<Option<Loaded>, RotationError> {
    let Some(stored) = secrets
        .get_value(ctx.secret, &selector)
        .await
        .map_err(|e| ctx.aws(e))?
    else {
        return Ok(None);
    };
    let value = SecretValue::parse(stored.text.expose()).map_err(|e| ctx.invalid(label, e))?;
    let key = value.private_key().map_err(|e| ctx.invalid(label, e))?;
    Ok(Some(Loaded {
        version_id: stored.version_id,
        value,
        key: Arc::new(key),
    }))
}

/// The AWSCURRENT version as this step's `DescribeSecret` labels it, read by version id: a
/// version's value never changes, so [`super::VersionCache`] may answer it without a call.
pub async fn load_current<S: SecretStore>(
    secrets: &S,
    ctx: Ctx<'_>,
    description: &SecretDescription,
) -> Result<Loaded, RotationError> {
    let version = description
        .version_with(Stage::Current)
        .ok_or_else(|| ctx.missing(Stage::Current))?;
    load(
        secrets,
        ctx,
        VersionSelector::Version(version.to_string()),
        "AWSCURRENT",
    )
    .await?
    .ok_or_else(|| ctx.missing(Stage::Current))
}

/// The token's value. The guards have checked that the token is labelled AWSPENDING.
pub async fn load_pending<S: SecretStore>(
    secrets: &S,
    ctx: Ctx<'_>,
    token: &str,
) -> Result<Loaded, RotationError> {
    let selector = VersionSelector::Version(token.to_string());
    load(secrets, ctx, selector, "AWSPENDING")
        .await?
        .ok_or_else(|| ctx.missing(Stage::Pending))
}

/// Both versions, read at once; when both fail, the AWSCURRENT error is the one reported.
pub async fn load_current_and_pending<S: SecretStore>(
    secrets: &S,
    ctx: Ctx<'_>,
    description: &SecretDescription,
    token: &str,
) -> Result<(Loaded, Loaded), RotationError> {
    let (current, pending) = tokio::join!(
        load_current(secrets, ctx, description),
        load_pending(secrets, ctx, token),
    );
    Ok((current?, pending?))
}

/// A rotation may replace the key, never who or where it logs in.
pub fn same_identity(
    ctx: Ctx<'_>,
    current: &SecretValue,
    pending: &SecretValue,
) -> Result<(), RotationError> {
    let changed = if current.account != pending.account {
        Some("account")
    } else if current.user != pending.user {
        Some("user")
    } else if current.host != pending.host {
        // Another host would receive JWTs signed by this user's keys.
        Some("host")
    } else if current.admin_secret_arn != pending.admin_secret_arn {
        Some("admin_secret_arn")
    } else {
        None
    };
    match changed {
        Some(field) => Err(RotationError::IdentityChanged {
            secret: ctx.secret.to_string(),
            step: ctx.step,
            field,
        }),
        None => Ok(()),
    }
}

/// Proves `subject`'s key logs in as its user (`SELECT CURRENT_USER()`): a fingerprint in `DESC USER`
/// alone does not show that Snowflake accepts the key for this user.
pub async fn check_login<S, K: KeyRegistry, N, M, G>(
    ports: &Ports<S, K, N, M, G>,
    ctx: Ctx<'_>,
    subject: &Loaded,
    label: &str,
) -> Result<(), RotationError> {
    let user = subject.value.user.as_str();
    let failed = |cause: String| RotationError::LoginFailed {
        secret: ctx.secret.to_string(),
        step: ctx.step,
        version: label.to_string(),
        user: user.to_string(),
        cause,
    };
    let logged_in_as = ports
        .registry
        .current_user(&subject.connection(ctx, label)?)
        .await
        .map_err(|e| failed(e.to_string()))?;
    // Unquoted names are stored upper-case; the secret may spell them either way.
    if !logged_in_as.eq_ignore_ascii_case(user) {
        return Err(failed(format!(
            "Snowflake says it logged in as {logged_in_as}"
        )));
    }
    Ok(())
}

/// The connection that changes the user's slots (`ALTER USER`): the admin secret's user when the
/// secret names one (admin mode), otherwise `subject` itself (self mode).
pub async fn management_connection<S: SecretStore, K, N, M, G>(
    ports: &Ports<S, K, N, M, G>,
    ctx: Ctx<'_>,
    subject: &Loaded,
    label: &str,
) -> Result<Connection, RotationError> {
    let Some(admin_arn) = subject.value.admin_secret_arn.as_deref() else {
        return subject.connection(ctx, label);
    };
    let admin_error = |cause: String| RotationError::AdminSecret {
        secret: ctx.secret.to_string(),
        step: ctx.step,
        admin_secret: admin_arn.to_string(),
        cause,
    };
    let stored = ports
        .secrets
        .get_value(admin_arn, &VersionSelector::Stage(Stage::Current))
        .await
        .map_err(|e| admin_error(e.to_string()))?
        .ok_or_else(|| admin_error("it has no AWSCURRENT value".into()))?;
    let admin = SecretValue::parse(stored.text.expose())
        .map_err(|e| admin_error(format!("field `{}` {}", e.field, e.reason)))?;
    let key = admin
        .private_key()
        .map_err(|e| admin_error(format!("field `{}`: {}", e.field, e.reason)))?;
    let settings = admin
        .connection_settings()
        .map_err(|e| admin_error(format!("field `{}` {}", e.field, e.reason)))?;
    let own_account = subject
        .value
        .connection_settings()
        .map_err(|e| ctx.invalid(label, e))?
        .account;
    if settings.account != own_account {
        return Err(admin_error(
            "it is for a different Snowflake account".into(),
        ));
    }
    Ok(Connection {
        settings,
        key: Arc::new(key),
    })
}

/// The user's key slots, read by the user itself with `subject`'s key: `DESC USER` on another user
/// takes OWNERSHIP of it, which an admin role with only MODIFY PROGRAMMATIC AUTHENTICATION METHODS
/// lacks, while describing oneself is always allowed. In admin mode a key that does not log in
/// falls back to the admin user (enough when its role owns the user).
pub async fn describe_slots<S: SecretStore, K: KeyRegistry, N, M, G>(
    ports: &Ports<S, K, N, M, G>,
    ctx: Ctx<'_>,
    subject: &Loaded,
    label: &str,
) -> Result<UserKeySlots, RotationError> {
    let user = subject.value.user.as_str();
    let own_login = subject.connection(ctx, label)?;
    let refused = match ports.registry.describe_user(&own_login, user).await {
        Ok(slots) => return Ok(slots),
        Err(e @ SnowflakeError::Authentication { .. })
            if subject.value.admin_secret_arn.is_some() =>
        {
            e
        }
        // Snowflake answers a wrong key and a user that does not exist alike: name the user.
        Err(e @ SnowflakeError::Authentication { .. }) => {
            return Err(RotationError::LoginFailed {
                secret: ctx.secret.to_string(),
                step: ctx.step,
                version: label.to_string(),
                user: user.to_string(),
                cause: e.to_string(),
            });
        }
        Err(e) => return Err(ctx.snowflake(e)),
    };
    tracing::warn!(secret = ctx.secret, step = %ctx.step, version = label, cause = %refused, "key does not log in as its user; reading DESC USER as the admin user");
    let admin = management_connection(ports, ctx, subject, label).await?;
    ports
        .registry
        .describe_user(&admin, user)
        .await
        .map_err(|e| RotationError::LoginFailed {
            secret: ctx.secret.to_string(),
            step: ctx.step,
            version: label.to_string(),
            user: user.to_string(),
            cause: format!(
                "{refused}; DESC USER as the admin user {} failed too ({e}){}",
                admin.settings.user,
                match e {
                    // "does not exist or not authorized": what a role that may not describe it gets.
                    SnowflakeError::Sql { .. } =>
                        ": either the user does not exist, or the admin's role does not own it \
                        (describing another user takes OWNERSHIP of it; MODIFY PROGRAMMATIC \
                        AUTHENTICATION METHODS is not enough)",
                    _ => "",
                }
            ),
        })
}

/// Fingerprints this secret can vouch for. AWSPREVIOUS is read only when a slot holds a key that
/// is neither of the others: it may be encrypted, and decrypting is slow.
pub struct KnownKeys<'a> {
    known: Vec<Fingerprint>,
    previous_checked: bool,
    /// The version whose user the slots belong to: AWSPREVIOUS vouches only for the same user.
    subject: &'a SecretValue,
}

impl<'a> KnownKeys<'a> {
    pub fn new(known: impl IntoIterator<Item = Fingerprint>, subject: &'a SecretValue) -> Self {
        KnownKeys {
            known: known.into_iter().collect(),
            previous_checked: false,
            subject,
        }
    }

    /// Adds the fingerprint of a version loaded elsewhere (e.g. the old AWSCURRENT that just became AWSPREVIOUS).
    pub fn with_previous(mut self, previous: Option<Fingerprint>) -> Self {
        self.known.extend(previous);
        self.previous_checked = true;
        self
    }

    async fn attributes<S: SecretStore>(
        &mut self,
        secrets: &S,
        ctx: Ctx<'_>,
        fp: &Fingerprint,
    ) -> Result<bool, RotationError> {
        if self.known.contains(fp) {
            return Ok(true);
        }
        if !self.previous_checked {
            self.previous_checked = true;
            self.known
                .extend(previous_fingerprint(secrets, ctx, self.subject).await?);
        }
        Ok(self.known.contains(fp))
    }

    /// Invariant 5: every key in the user's slots belongs to this secret, or nothing is touched.
    pub async fn check_slots<S: SecretStore>(
        &mut self,
        secrets: &S,
        ctx: Ctx<'_>,
        slots: &UserKeySlots,
    ) -> Result<(), RotationError> {
        for slot in [Slot::One, Slot::Two] {
            let Some(fp) = slots.fingerprint(slot) else {
                continue;
            };
            if !self.attributes(secrets, ctx, fp).await? {
                return Err(RotationError::UnattributedKey {
                    secret: ctx.secret.to_string(),
                    step: ctx.step,
                    user: slots.name.clone(),
                    slot,
                    fingerprint: fp.clone(),
                });
            }
        }
        Ok(())
    }
}

/// The AWSPREVIOUS key's fingerprint. A previous version that no longer parses, or that names
/// another account or user than `subject`, vouches for nothing.
pub async fn previous_fingerprint<S: SecretStore>(
    secrets: &S,
    ctx: Ctx<'_>,
    subject: &SecretValue,
) -> Result<Option<Fingerprint>, RotationError> {
    let selector = VersionSelector::Stage(Stage::Previous);
    let Some(stored) = secrets
        .get_value(ctx.secret, &selector)
        .await
        .map_err(|e| ctx.aws(e))?
    else {
        return Ok(None);
    };
    let fingerprint = SecretValue::parse(stored.text.expose())
        .ok()
        .filter(|v| v.account == subject.account && v.user == subject.user)
        .and_then(|v| v.private_key().ok())
        .map(|k| k.fingerprint());
    if fingerprint.is_none() {
        tracing::warn!(secret = ctx.secret, step = %ctx.step, "AWSPREVIOUS value is unreadable or for another user; its key cannot be attributed");
    }
    Ok(fingerprint)
}

/// An `ALTER USER` that failed: a missing privilege names who lacks it on whom, and what to grant.
/// Callers have just read the user's slots, so the user exists.
pub fn alter_failed(
    ctx: Ctx<'_>,
    conn: &Connection,
    target_user: &str,
    error: SnowflakeError,
) -> RotationError {
    match error {
        // 42501: "Insufficient privileges to operate on user …" (a role that can see the user);
        // 02000: "… does not exist or not authorized" (one that cannot see it at all).
        SnowflakeError::Sql { ref sql_state, .. }
            if sql_state == "42501" || sql_state == "02000" =>
        {
            RotationError::AlterRefused {
                secret: ctx.secret.to_string(),
                step: ctx.step,
                by: conn.settings.user.clone(),
                user: target_user.to_string(),
                cause: error.to_string(),
            }
        }
        other => ctx.snowflake(other),
    }
}

/// The slot holding `fp`, slot 1 first.
pub fn slot_of(slots: &UserKeySlots, fp: &Fingerprint) -> Option<Slot> {
    [Slot::One, Slot::Two]
        .into_iter()
        .find(|s| slots.fingerprint(*s) == Some(fp))
}
