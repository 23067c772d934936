//! testSecret: the pending key logs in as the user, and Snowflake lists it for that user.

use std::time::Instant;

use super::guards::Ctx;
use super::observe::{self, Loaded};
use super::{
    Connection, KeyRegistry, Ports, RotationConfig, RotationError, SecretStore, StepOutcome,
};

pub async fn test_secret<S: SecretStore, K: KeyRegistry, N, M, G>(
    ports: &Ports<S, K, N, M, G>,
    config: &RotationConfig,
    ctx: Ctx<'_>,
    token: &str,
) -> Result<StepOutcome, RotationError> {
    let pending = observe::load_pending(&ports.secrets, ctx, token).await?;
    let login = pending.connection(ctx, "AWSPENDING")?;
    // Key changes propagate asynchronously: retry until the deadline, then report the last cause.
    let deadline = Instant::now() + config.test_retry;
    let mut attempts = 0;
    loop {
        attempts += 1;
        match attempt(ports, &pending, &login).await {
            Ok(()) => {
                tracing::info!(secret = ctx.secret, step = %ctx.step, attempts, "AWSPENDING key passed the test");
                return Ok(StepOutcome::PendingTested { attempts });
            }
            Err(cause) if Instant::now() >= deadline => {
                return Err(RotationError::TestFailed {
                    secret: ctx.secret.to_string(),
                    step: ctx.step,
                    attempts,
                    cause,
                });
            }
            Err(cause) => {
                tracing::warn!(secret = ctx.secret, step = %ctx.step, attempts, %cause, "AWSPENDING key not usable yet; retrying");
                tokio::time::sleep(config.test_retry_interval).await;
            }
        }
    }
}

async fn attempt<S, K: KeyRegistry, N, M, G>(
    ports: &Ports<S, K, N, M, G>,
    pending: &Loaded,
    login: &Connection,
) -> Result<(), String> {
    let user = pending.value.user.as_str();
    let logged_in_as = ports
        .registry
        .current_user(login)
        .await
        .map_err(|e| format!("login with the AWSPENDING key: {e}"))?;
    // Unquoted names are stored upper-case; the secret may spell them either way.
    if !logged_in_as.eq_ignore_ascii_case(user) {
        return Err(format!("logged in as {logged_in_as}, expected {user}"));
    }
    // The user describes itself with the key that just logged in: no admin privilege needed, and
    // so no fallback (an admin with only MPAM may not describe other users).
    let slots = ports
        .registry
        .describe_user(login, user)
        .await
        .map_err(|e| format!("DESC USER: {e}"))?;
    if observe::slot_of(&slots, &pending.fingerprint()).is_none() {
        return Err(format!(
            "DESC USER does not list the AWSPENDING key {}",
            pending.fingerprint()
        ));
    }
    Ok(())
}
