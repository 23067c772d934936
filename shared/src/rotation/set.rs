//! setSecret: register the pending public key in the slot that does not hold the current key.

use crate::snowflake::{Slot, SnowflakeError};

use super::guards::Ctx;
use super::observe::{self, KnownKeys};
use super::{
    KeyRegistry, Ports, RotationError, SecretDescription, SecretStore, SetKeyOutcome, StepOutcome,
};

pub async fn set_secret<S: SecretStore, K: KeyRegistry, N, M, G>(
    ports: &Ports<S, K, N, M, G>,
    ctx: Ctx<'_>,
    description: &SecretDescription,
    token: &str,
) -> Result<StepOutcome, RotationError> {
    let (current, pending) =
        observe::load_current_and_pending(&ports.secrets, ctx, description, token).await?;
    observe::same_identity(ctx, &current.value, &pending.value)?;
    let user = current.value.user.as_str();
    let slots = observe::describe_slots(ports, ctx, &current, "AWSCURRENT").await?;

    let (current_fp, pending_fp) = (current.fingerprint(), pending.fingerprint());
    if let Some(slot) = observe::slot_of(&slots, &pending_fp) {
        return Ok(StepOutcome::PendingAlreadyRegistered { slot });
    }
    let Some(current_slot) = observe::slot_of(&slots, &current_fp) else {
        return Err(RotationError::CurrentNotRegistered {
            secret: ctx.secret.to_string(),
            step: ctx.step,
            user: slots.name.clone(),
            fingerprint: current_fp,
        });
    };
    // Both slots may hold the current key (a promotion interrupted before its UNSET): keep slot 1.
    let target = if slots.fingerprint(Slot::One) == slots.fingerprint(Slot::Two) {
        Slot::Two
    } else {
        current_slot.other()
    };
    // The slot may still hold the previous key (grace mode, or a refused duplicate): only a key this
    // secret can vouch for may be overwritten.
    let mut known = KnownKeys::new([current_fp, pending_fp.clone()], &current.value);
    known.check_slots(&ports.secrets, ctx, &slots).await?;
    if current.value.admin_secret_arn.is_some() {
        // The admin can change any user: prove this secret really holds the user's working
        // key (AWS's multi-user template does the same), so an edited `user` cannot redirect it.
        observe::check_login(ports, ctx, &current, "AWSCURRENT").await?;
    }
    let conn = observe::management_connection(ports, ctx, &current, "AWSCURRENT").await?;

    match ports
        .registry
        .set_key(&conn, user, target, &pending.key.public_key())
        .await
        .map_err(|e| observe::alter_failed(ctx, &conn, user, e))?
    {
        SetKeyOutcome::Set => {
            tracing::info!(secret = ctx.secret, step = %ctx.step, %target, fingerprint = %pending_fp, "registered AWSPENDING key");
            Ok(StepOutcome::PendingRegistered { slot: target })
        }
        // The pending key is in no slot (checked above), so this is not the duplicate case: stop.
        SetKeyOutcome::RejectedByPolicy { reason } => Err(ctx.snowflake(SnowflakeError::Protocol(
            format!("Snowflake rejected the AWSPENDING public key for {target}: {reason}"),
        ))),
    }
}
