//! Gathers what the rotation-health rules judge: each managed secret's rotation state and versions
//! (Secrets Manager) and the keys its Snowflake user holds (`DESC USER`). Never logs a key.
//!
//! Each user describes itself with its AWSCURRENT key: `DESC USER` on another user takes OWNERSHIP
//! of it, which an admin role with only MODIFY PROGRAMMATIC AUTHENTICATION METHODS lacks.

use std::sync::Arc;

use aws_sdk_secretsmanager::Client;
use snowkey_shared::audit::health::{SecretState, SnowflakeKeys, VersionState};
use snowkey_shared::aws::AwsError;
use snowkey_shared::rotation::secret_value::SecretValue;
use snowkey_shared::rotation::{Connection, KeyRegistry};
use snowkey_shared::snowflake::{Slot, SnowflakeError, SqlApiKeyRegistry, UserKeySlots};
use time::OffsetDateTime;

/// Why one secret could not be fully checked; the others still are.
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    #[error("{secret}: {source}")]
    Aws { secret: String, source: AwsError },
    #[error("{secret}: AWSCURRENT is not a usable snowkey secret: field `{field}` {reason}")]
    Value {
        secret: String,
        field: String,
        reason: String,
    },
    #[error("{secret}: DESC USER {user} failed: {cause}")]
    Snowflake {
        secret: String,
        user: String,
        cause: String,
    },
    /// Invariant 1 of the rotation is broken: consumers of this secret cannot log in.
    #[error("{secret}: the AWSCURRENT key does not log in as {user}: {cause}")]
    CurrentKeyRefused {
        secret: String,
        user: String,
        cause: String,
    },
}

/// Names of the secrets under `prefix` (ListSecrets, paged).
pub async fn managed_secrets(client: &Client, prefix: &str) -> Result<Vec<String>, AwsError> {
    let filter = aws_sdk_secretsmanager::types::Filter::builder()
        .key(aws_sdk_secretsmanager::types::FilterNameStringType::Name)
        .values(prefix)
        .build();
    let mut names = Vec::new();
    let mut pages = client
        .list_secrets()
        .filters(filter)
        .max_results(100)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::from_sdk("ListSecrets", e))?;
        // The Name filter matches by prefix already; checked again because it is case-insensitive-ish.
        names.extend(
            page.secret_list()
                .iter()
                .filter_map(|s| s.name())
                .filter(|n| n.starts_with(prefix))
                .map(str::to_owned),
        );
    }
    Ok(names)
}

/// The state of one secret, Snowflake included. A secret whose Snowflake side cannot be read still
/// gets its Secrets Manager checks (`snowflake: None`), and the error is returned beside it.
pub async fn secret_state(
    client: &Client,
    registry: &SqlApiKeyRegistry,
    name: &str,
) -> Result<(SecretState, Option<ObserveError>), ObserveError> {
    let aws = |source| ObserveError::Aws {
        secret: name.to_owned(),
        source,
    };
    let described = client
        .describe_secret()
        .secret_id(name)
        .send()
        .await
        .map_err(|e| aws(AwsError::from_sdk("DescribeSecret", e)))?;
    let listed = client
        .list_secret_version_ids()
        .secret_id(name)
        .max_results(100)
        .send()
        .await
        .map_err(|e| aws(AwsError::from_sdk("ListSecretVersionIds", e)))?;
    let current = current_value(client, name).await?;
    let current_fp = match &current {
        Some(value) => fingerprint(name, value)?,
        None => None,
    };
    let versions = listed
        .versions()
        .iter()
        .map(|v| {
            let stages: Vec<String> = v.version_stages().to_vec();
            let is_current = stages.iter().any(|s| s == "AWSCURRENT");
            VersionState {
                version_id: v.version_id().unwrap_or_default().to_owned(),
                created: v
                    .created_date()
                    .and_then(to_time)
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH),
                fingerprint: if is_current { current_fp.clone() } else { None },
                stages,
            }
        })
        .collect();
    let mut state = SecretState {
        name: name.to_owned(),
        rotation_enabled: described.rotation_enabled().unwrap_or(false),
        last_rotated: described.last_rotated_date().and_then(to_time),
        created: described.created_date().and_then(to_time),
        versions,
        snowflake: None,
    };
    let Some(value) = current else {
        return Ok((state, None));
    };
    let (keys, problem) = snowflake_keys(client, registry, name, &value).await;
    state.snowflake = keys;
    Ok((state, problem))
}

async fn current_value(client: &Client, name: &str) -> Result<Option<SecretValue>, ObserveError> {
    let out = match client
        .get_secret_value()
        .secret_id(name)
        .version_stage("AWSCURRENT")
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) => {
            let err = AwsError::from_sdk("GetSecretValue", e);
            if err.code() == Some("ResourceNotFoundException") {
                return Ok(None); // no AWSCURRENT yet: nothing to compare
            }
            return Err(ObserveError::Aws {
                secret: name.to_owned(),
                source: err,
            });
        }
    };
    let text = out.secret_string().unwrap_or_default();
    SecretValue::parse(text)
        .map(Some)
        .map_err(|e| ObserveError::Value {
            secret: name.to_owned(),
            field: e.field,
            reason: e.reason,
        })
}

/// The recorded fingerprint when the secret carries one (no decryption), else from the key.
fn fingerprint(name: &str, value: &SecretValue) -> Result<Option<String>, ObserveError> {
    if let Some(fp) = value.recorded_fingerprint() {
        return Ok(Some(fp.to_string()));
    }
    let key = value.private_key().map_err(|e| ObserveError::Value {
        secret: name.to_owned(),
        field: e.field,
        reason: e.reason,
    })?;
    Ok(Some(key.fingerprint().to_string()))
}

/// `DESC USER` as the user itself. A key that does not log in is reported (the rotation's first
/// invariant is broken) and, when the secret names an admin secret, the slots are read as the admin
/// instead, so drift still shows when the admin's role owns the user.
async fn snowflake_keys(
    client: &Client,
    registry: &SqlApiKeyRegistry,
    name: &str,
    value: &SecretValue,
) -> (Option<SnowflakeKeys>, Option<ObserveError>) {
    let user = value.user.as_str();
    let failed = |cause: String| ObserveError::Snowflake {
        secret: name.to_owned(),
        user: user.to_owned(),
        cause,
    };
    let own = match connection(name, value) {
        Ok(own) => own,
        Err(e) => return (None, Some(e)),
    };
    let refused = match registry.describe_user(&own, user).await {
        Ok(slots) => return (Some(keys_of(user, &slots)), None),
        Err(e @ SnowflakeError::Authentication { .. }) => e,
        Err(e) => return (None, Some(failed(e.to_string()))),
    };
    let refused_error = |cause: String| ObserveError::CurrentKeyRefused {
        secret: name.to_owned(),
        user: user.to_owned(),
        cause,
    };
    let Some(admin_arn) = value.admin_secret_arn.as_deref() else {
        return (None, Some(refused_error(refused.to_string())));
    };
    let admin = match current_value(client, admin_arn).await {
        Ok(Some(admin)) => admin,
        Ok(None) => {
            let cause = format!("{refused}; admin secret {admin_arn} has no AWSCURRENT value");
            return (None, Some(refused_error(cause)));
        }
        Err(e) => return (None, Some(refused_error(format!("{refused}; {e}")))),
    };
    let described = match connection(admin_arn, &admin) {
        Ok(conn) => registry.describe_user(&conn, user).await,
        Err(e) => return (None, Some(refused_error(format!("{refused}; {e}")))),
    };
    match described {
        Ok(slots) => (
            Some(keys_of(user, &slots)),
            Some(refused_error(refused.to_string())),
        ),
        Err(e) => {
            let cause = format!(
                "{refused}; DESC USER as the admin user {} failed too ({e}){}",
                admin.user,
                ownership_hint(&e)
            );
            (None, Some(refused_error(cause)))
        }
    }
}

/// Snowflake answers "does not exist or not authorized" to a role that may not describe a user.
fn ownership_hint(error: &SnowflakeError) -> &'static str {
    match error {
        SnowflakeError::Sql { .. } => {
            ": describing another user takes OWNERSHIP of it (MODIFY PROGRAMMATIC AUTHENTICATION METHODS is not enough)"
        }
        _ => "",
    }
}

/// Logging in as `value`'s user with its key (`secret` names it in errors).
fn connection(secret: &str, value: &SecretValue) -> Result<Connection, ObserveError> {
    let invalid = |e: snowkey_shared::rotation::secret_value::FieldError| ObserveError::Value {
        secret: secret.to_owned(),
        field: e.field,
        reason: e.reason,
    };
    Ok(Connection {
        settings: value.connection_settings().map_err(invalid)?,
        key: Arc::new(value.private_key().map_err(invalid)?),
    })
}

fn keys_of(user: &str, slots: &UserKeySlots) -> SnowflakeKeys {
    SnowflakeKeys {
        user: user.to_owned(),
        slot_1: slots.fingerprint(Slot::One).map(ToString::to_string),
        slot_2: slots.fingerprint(Slot::Two).map(ToString::to_string),
    }
}

fn to_time(t: &aws_sdk_secretsmanager::primitives::DateTime) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(t.as_nanos()).ok()
}
