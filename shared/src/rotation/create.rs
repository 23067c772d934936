//! createSecret: make the new key pair and store it as AWSPENDING under the token.

use crate::keys::{KeyError, PrivateKey};

use super::formats::{self, NewKeyFields};
use super::guards::{Ctx, SecretOptions};
use super::observe::{self, Loaded};
use super::secret_value::{FieldError, field};
use super::{
    KeyGenerator, Ports, RotationConfig, RotationError, SecretDescription, SecretStore, SecretText,
    StepOutcome, VersionSelector,
};

pub async fn create_secret<S: SecretStore, K, N, M, G: KeyGenerator>(
    ports: &Ports<S, K, N, M, G>,
    config: &RotationConfig,
    ctx: Ctx<'_>,
    description: &SecretDescription,
    options: &SecretOptions,
    event: &super::RotationEvent,
) -> Result<StepOutcome, RotationError> {
    let token = event.client_request_token.as_str();
    // The guards have checked that the token is labelled AWSPENDING.
    let pending = VersionSelector::Version(token.to_string());
    if ports
        .secrets
        .get_value(ctx.secret, &pending)
        .await
        .map_err(|e| ctx.aws(e))?
        .is_some()
    {
        return Ok(StepOutcome::PendingAlreadyCreated);
    }
    // Generation is CPU-bound and the rest waits on the network (and on decrypting the current
    // key): start it now so they overlap. Not earlier: a re-run that finds the pending value must
    // not leave a generation running into the next invocation of a frozen Lambda.
    let new_key = ports.keygen.generate(config.key_size);
    // Validates the whole current value (and decrypts its key) before anything is written.
    let current = observe::load_current(&ports.secrets, ctx, description).await?;
    let passphrase = if current.value.is_encrypted() || config.encrypt_keys {
        Some(
            ports
                .secrets
                .random_passphrase()
                .await
                .map_err(|e| ctx.aws(e))?,
        )
    } else {
        None
    };
    let key_error = |e: KeyError| RotationError::Key {
        secret: ctx.secret.to_string(),
        step: ctx.step,
        source: e,
    };
    let new_key = new_key.await.map_err(key_error)?;
    let text = next_value(ctx, &current, &new_key, passphrase.as_ref(), options)?;
    ports
        .secrets
        .put_pending(ctx.secret, token, &text, event.rotation_token.as_ref())
        .await
        .map_err(|e| ctx.aws(e))?;
    tracing::info!(secret = ctx.secret, step = %ctx.step, fingerprint = %new_key.fingerprint(), "stored new key as AWSPENDING");
    Ok(StepOutcome::PendingCreated {
        fingerprint: new_key.fingerprint(),
        encrypted: passphrase.is_some(),
    })
}

/// The current value with the key fields replaced; every other field keeps its bytes.
fn next_value(
    ctx: Ctx<'_>,
    current: &Loaded,
    new_key: &PrivateKey,
    passphrase: Option<&crate::keys::Passphrase>,
    options: &SecretOptions,
) -> Result<SecretText, RotationError> {
    let pem = match passphrase {
        Some(p) => new_key
            .to_encrypted_pkcs8_pem(p)
            .map_err(|e| RotationError::Key {
                secret: ctx.secret.to_string(),
                step: ctx.step,
                source: e,
            })?,
        None => new_key.to_pkcs8_pem(),
    };
    let mut object = current.value.object().clone();
    object.set_string(field::PRIVATE_KEY, &pem);
    match passphrase {
        Some(p) => object.set_string(field::PASSPHRASE, p.expose()),
        None => object.remove(field::PASSPHRASE),
    }
    object.set_string(field::FINGERPRINT, new_key.fingerprint().as_str());
    let fields = NewKeyFields {
        user: &current.value.user,
        private_key_pem: &pem,
        passphrase,
    };
    for format in &options.formats {
        formats::apply(*format, &mut object, &fields).map_err(|reason| {
            ctx.invalid(
                "AWSCURRENT",
                FieldError {
                    field: format.name().to_string(),
                    reason,
                },
            )
        })?;
    }
    Ok(SecretText::new(object.to_json().as_str()))
}
