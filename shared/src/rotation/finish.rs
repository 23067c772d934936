//! finishSecret: move AWSCURRENT to the token, mirror the key to SSM, then promote in Snowflake.
//!
//! AWSCURRENT moves only once the pending key is registered, and the old key is removed only after
//! the move, so the AWSCURRENT key authenticates at every instant. Each part is decided from observed
//! state: a re-run after a crash anywhere (even after the move) completes the rest.

use crate::keys::Fingerprint;
use crate::snowflake::{Slot, UserKeySlots};

use super::guards::{Ctx, Guard, PASSPHRASE_PARAMETER_SUFFIX, SecretOptions};
use super::observe::{self, KnownKeys, Loaded};
use super::{
    Connection, KeyMirror, KeyRegistry, Ports, RotationConfig, RotationError, SecretDescription,
    SecretStore, SecretText, SetKeyOutcome, Stage, StepOutcome,
};

/// What a finished rotation did, for the "rotated" notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishReport {
    pub user: String,
    pub account: String,
    pub old_fingerprint: Option<Fingerprint>,
    pub new_fingerprint: Fingerprint,
    pub slots: SlotOutcome,
    /// Whether this invocation moved AWSCURRENT (false when a re-run found it already moved).
    pub moved_current: bool,
}

/// Where the keys ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotOutcome {
    /// The runbook's end state: the new key in `new_slot`, the other slot empty.
    OnlyNewKey { new_slot: Slot },
    /// Grace mode: the previous key stays valid in `previous_slot` until the next rotation.
    PreviousKept { new_slot: Slot, previous_slot: Slot },
}

impl std::fmt::Display for SlotOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SlotOutcome::OnlyNewKey { new_slot } => {
                write!(
                    f,
                    "new key in {new_slot}, {} empty; the old key no longer authenticates",
                    new_slot.other()
                )
            }
            SlotOutcome::PreviousKept {
                new_slot,
                previous_slot,
            } => {
                write!(
                    f,
                    "new key in {new_slot}; previous key kept in {previous_slot} until the next rotation (grace mode)"
                )
            }
        }
    }
}

pub async fn finish_secret<S: SecretStore, K: KeyRegistry, N, M: KeyMirror, G>(
    ports: &Ports<S, K, N, M, G>,
    config: &RotationConfig,
    ctx: Ctx<'_>,
    description: &SecretDescription,
    options: &SecretOptions,
    guard: Guard,
    token: &str,
) -> Result<StepOutcome, RotationError> {
    let (new, old_fp, moved_current) = match guard {
        Guard::Proceed => {
            let (new, old) = move_current(ports, ctx, description, token).await?;
            (new, Some(old.fingerprint()), true)
        }
        Guard::AlreadyCurrent => {
            let new = observe::load_current(&ports.secrets, ctx, description).await?;
            let previous = observe::previous_fingerprint(&ports.secrets, ctx, &new.value).await?;
            (new, previous, false)
        }
    };
    if let Some(name) = &options.ssm_parameter {
        mirror(ports, ctx, name, &new).await?;
    }
    let new_fp = new.fingerprint();
    let outcome = if config.grace_mode {
        let slots = attributed_slots(ports, ctx, &new, old_fp.clone()).await?;
        keep_previous(&slots, &new_fp)
    } else {
        let conn = observe::management_connection(ports, ctx, &new, "AWSCURRENT").await?;
        // Read right before changing anything (invariant 5): the slots may have changed while
        // AWSCURRENT moved and the mirror ran, and only keys attributable now may be removed.
        let slots = attributed_slots(ports, ctx, &new, old_fp.clone()).await?;
        promote(ports, ctx, &conn, &slots, &new).await?
    };
    tracing::info!(secret = ctx.secret, step = %ctx.step, %outcome, moved_current, "rotation finished");
    Ok(StepOutcome::Finished(FinishReport {
        user: new.value.user.clone(),
        account: new.value.account.clone(),
        old_fingerprint: old_fp,
        new_fingerprint: new_fp,
        slots: outcome,
        moved_current,
    }))
}

/// Moves AWSCURRENT to the token once Snowflake lists the pending key and accepts it for login.
/// Returns the (new, old) AWSCURRENT versions.
async fn move_current<S: SecretStore, K: KeyRegistry, N, M, G>(
    ports: &Ports<S, K, N, M, G>,
    ctx: Ctx<'_>,
    description: &SecretDescription,
    token: &str,
) -> Result<(Loaded, Loaded), RotationError> {
    let (current, pending) =
        observe::load_current_and_pending(&ports.secrets, ctx, description, token).await?;
    observe::same_identity(ctx, &current.value, &pending.value)?;
    let slots = observe::describe_slots(ports, ctx, &current, "AWSCURRENT").await?;
    if observe::slot_of(&slots, &pending.fingerprint()).is_none() {
        return Err(RotationError::PendingNotRegistered {
            secret: ctx.secret.to_string(),
            step: ctx.step,
            user: slots.name.clone(),
            fingerprint: pending.fingerprint(),
        });
    }
    // Refuse before the move, so an unknown key stops the rotation with nothing changed.
    KnownKeys::new(
        [current.fingerprint(), pending.fingerprint()],
        &current.value,
    )
    .check_slots(&ports.secrets, ctx, &slots)
    .await?;
    // Listed is not enough: AWSCURRENT moves only to a key Snowflake accepts right now (invariant 1).
    observe::check_login(ports, ctx, &pending, "AWSPENDING").await?;
    if let Err(error) = ports
        .secrets
        .move_current(ctx.secret, token, Some(&current.version_id))
        .await
    {
        // A move the service applied but whose answer was lost is retried by the SDK, and the
        // retry fails because AWSCURRENT has already left the old version: look before failing.
        let moved = ports
            .secrets
            .describe(ctx.secret)
            .await
            .is_ok_and(|d| d.has_stage(token, Stage::Current));
        if !moved {
            return Err(ctx.aws(error));
        }
        tracing::info!(secret = ctx.secret, step = %ctx.step, %error, "the move was refused, but AWSCURRENT is already on the new version");
    }
    tracing::info!(secret = ctx.secret, step = %ctx.step, "moved AWSCURRENT to the new version");
    Ok((pending, current))
}

/// The user's slots read with the new AWSCURRENT key (after a promotion the old key no longer logs
/// in), which must hold the new key and nothing this secret cannot vouch for.
async fn attributed_slots<S: SecretStore, K: KeyRegistry, N, M, G>(
    ports: &Ports<S, K, N, M, G>,
    ctx: Ctx<'_>,
    new: &Loaded,
    previous: Option<Fingerprint>,
) -> Result<UserKeySlots, RotationError> {
    let slots = observe::describe_slots(ports, ctx, new, "AWSCURRENT").await?;
    let new_fp = new.fingerprint();
    if observe::slot_of(&slots, &new_fp).is_none() {
        return Err(RotationError::CurrentNotRegistered {
            secret: ctx.secret.to_string(),
            step: ctx.step,
            user: slots.name.clone(),
            fingerprint: new_fp,
        });
    }
    KnownKeys::new([new_fp], &new.value)
        .with_previous(previous)
        .check_slots(&ports.secrets, ctx, &slots)
        .await?;
    Ok(slots)
}

/// SSM copy of the AWSCURRENT key (and passphrase), before the old key is removed from Snowflake.
async fn mirror<S, K, N, M: KeyMirror, G>(
    ports: &Ports<S, K, N, M, G>,
    ctx: Ctx<'_>,
    name: &str,
    current: &Loaded,
) -> Result<(), RotationError> {
    let key_text = SecretText::new(current.value.private_key_text());
    ports
        .mirror
        .put_secure(name, &key_text)
        .await
        .map_err(|e| ctx.aws(e))?;
    if let Some(passphrase) = current.value.passphrase() {
        let parameter = format!("{name}{PASSPHRASE_PARAMETER_SUFFIX}");
        ports
            .mirror
            .put_secure(&parameter, &SecretText::new(passphrase.expose()))
            .await
            .map_err(|e| ctx.aws(e))?;
    }
    Ok(())
}

/// Grace mode: setSecret already put the new key beside the previous one; nothing to remove.
fn keep_previous(slots: &UserKeySlots, new_fp: &Fingerprint) -> SlotOutcome {
    let new_slot = observe::slot_of(slots, new_fp).unwrap_or(Slot::One);
    match slots.fingerprint(new_slot.other()) {
        Some(fp) if fp != new_fp => SlotOutcome::PreviousKept {
            new_slot,
            previous_slot: new_slot.other(),
        },
        _ => SlotOutcome::OnlyNewKey { new_slot },
    }
}

/// The runbook: `SET RSA_PUBLIC_KEY = new`, then `UNSET RSA_PUBLIC_KEY_2`. If Snowflake refuses the
/// same key in both slots, the old key's slot is unset instead and the new key stays in slot 2.
async fn promote<S, K: KeyRegistry, N, M, G>(
    ports: &Ports<S, K, N, M, G>,
    ctx: Ctx<'_>,
    conn: &Connection,
    slots: &UserKeySlots,
    new: &Loaded,
) -> Result<SlotOutcome, RotationError> {
    let user = new.value.user.as_str();
    let new_fp = new.fingerprint();
    let holds_new = |slot: Slot| slots.fingerprint(slot) == Some(&new_fp);
    let unset = |slot: Slot| async move {
        ports
            .registry
            .unset_key(conn, user, slot)
            .await
            .map_err(|e| observe::alter_failed(ctx, conn, user, e))
    };

    let new_slot = if holds_new(Slot::One) {
        Slot::One
    } else {
        // The new key is only in slot 2; slot 1 holds the old key or nothing.
        match slots.fingerprint(Slot::One) {
            None => Slot::Two,
            Some(_) => match ports
                .registry
                .set_key(conn, user, Slot::One, &new.key.public_key())
                .await
                .map_err(|e| observe::alter_failed(ctx, conn, user, e))?
            {
                SetKeyOutcome::Set => Slot::One,
                // The new key already sits (accepted) in slot 2, so a policy refusal of the very
                // same key in slot 1 is the account refusing duplicates.
                SetKeyOutcome::RejectedByPolicy { .. } => {
                    tracing::info!(secret = ctx.secret, step = %ctx.step, "duplicate key refused; keeping the new key in RSA_PUBLIC_KEY_2");
                    unset(Slot::One).await?;
                    return Ok(SlotOutcome::OnlyNewKey {
                        new_slot: Slot::Two,
                    });
                }
            },
        }
    };
    // After a SET just now, slot 2 still holds the new key; otherwise it may hold the old one.
    let other = new_slot.other();
    if slots.fingerprint(other).is_some() {
        unset(other).await?;
    }
    Ok(SlotOutcome::OnlyNewKey { new_slot })
}

impl FinishReport {
    pub(super) fn stage_summary(&self) -> String {
        format!(
            "{} → {}",
            self.old_fingerprint
                .as_ref()
                .map_or("(none)".to_string(), |f| f.to_string()),
            self.new_fingerprint
        )
    }
}
