//! Adapter: AWS Secrets Manager as the rotation's [`SecretStore`], the calls a rotation function
//! makes and nothing else.
//!
//! Secret strings come back as [`SecretText`] and never appear in an error: the SDK's own `Debug`
//! of `GetSecretValueOutput` redacts them, and [`AwsError`] carries only codes and messages.

use super::AwsError;
use crate::keys::Passphrase;
use crate::rotation::{
    RotationToken, SecretDescription, SecretStore, SecretText, StoredVersion, VersionSelector,
};

/// Characters a generated passphrase never contains. Consumers paste the passphrase into shells,
/// YAML, JSON, `.env` files, JDBC URLs and Kafka properties; each of these has its own quoting, so
/// anything that needs quoting in any of them is excluded. 40 characters of the remaining ~64-letter
/// alphabet still give > 230 bits.
pub const PASSPHRASE_EXCLUDED_CHARACTERS: &str = "\"'`\\$/@:;%&|<>(){}[]!#?*~^=,+ ";
/// Length of generated passphrases.
pub const PASSPHRASE_LENGTH: i64 = 40;

const NOT_FOUND: &str = "ResourceNotFoundException";

/// Secrets Manager over one SDK client, built once per cold start.
#[derive(Debug, Clone)]
pub struct SecretsManagerStore {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManagerStore {
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        SecretsManagerStore { client }
    }

    /// The underlying client (tests and the CLI reuse it for calls rotation does not make).
    pub fn client(&self) -> &aws_sdk_secretsmanager::Client {
        &self.client
    }
}

impl SecretStore for SecretsManagerStore {
    async fn describe(&self, secret_id: &str) -> Result<SecretDescription, AwsError> {
        const OP: &str = "DescribeSecret";
        let out = self
            .client
            .describe_secret()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OP, e))?;
        Ok(SecretDescription {
            arn: out.arn().unwrap_or_default().to_string(),
            name: out.name().unwrap_or_default().to_string(),
            rotation_enabled: out.rotation_enabled().unwrap_or(false),
            versions: out
                .version_ids_to_stages()
                .map(|m| {
                    m.iter()
                        .map(|(id, stages)| (id.clone(), stages.clone()))
                        .collect()
                })
                .unwrap_or_default(),
            tags: out
                .tags()
                .iter()
                .filter_map(|t| {
                    Some((
                        t.key()?.to_string(),
                        t.value().unwrap_or_default().to_string(),
                    ))
                })
                .collect(),
        })
    }

    async fn get_value(
        &self,
        secret_id: &str,
        selector: &VersionSelector,
    ) -> Result<Option<StoredVersion>, AwsError> {
        const OP: &str = "GetSecretValue";
        // A version asked for at a stage is read by id and its labels checked here: Secrets Manager
        // answers InvalidRequestException (not "not found") when the version lacks the label.
        let (version_id, stage, required_stage) = match selector {
            VersionSelector::Stage(stage) => (None, Some(stage.as_str()), None),
            VersionSelector::Version(id) => (Some(id.as_str()), None, None),
            VersionSelector::VersionAtStage(id, stage) => {
                (Some(id.as_str()), None, Some(stage.as_str()))
            }
        };
        let result = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .set_version_id(version_id.map(str::to_string))
            .set_version_stage(stage.map(str::to_string))
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(e) => {
                let err = AwsError::from_sdk(OP, e);
                return if err.code() == Some(NOT_FOUND) {
                    Ok(None)
                } else {
                    Err(err)
                };
            }
        };
        let version_id = out.version_id().unwrap_or_default().to_string();
        let stages = out.version_stages().to_vec();
        if required_stage.is_some_and(|required| !stages.iter().any(|s| s == required)) {
            return Ok(None);
        }
        match out.secret_string {
            Some(text) => Ok(Some(StoredVersion {
                version_id,
                text: SecretText::new(text),
            })),
            None if out.secret_binary.is_some() => Err(AwsError::Other {
                operation: OP,
                message: format!(
                    "secret {secret_id} version {version_id} holds a binary value; a JSON string is required"
                ),
            }),
            // A version without a value (AWS answers ResourceNotFound here; some emulators do not).
            None => Ok(None),
        }
    }

    async fn put_pending(
        &self,
        secret_id: &str,
        token: &str,
        value: &SecretText,
        rotation_token: Option<&RotationToken>,
    ) -> Result<(), AwsError> {
        const OP: &str = "PutSecretValue";
        self.client
            .put_secret_value()
            .secret_id(secret_id)
            .client_request_token(token)
            .secret_string(value.expose())
            .version_stages("AWSPENDING")
            .set_rotation_token(rotation_token.map(|t| t.expose().to_string()))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OP, e))?;
        Ok(())
    }

    async fn move_current(
        &self,
        secret_id: &str,
        to_version: &str,
        from_version: Option<&str>,
    ) -> Result<(), AwsError> {
        const OP: &str = "UpdateSecretVersionStage";
        self.client
            .update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage("AWSCURRENT")
            .move_to_version_id(to_version)
            .set_remove_from_version_id(from_version.map(str::to_string))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OP, e))?;
        Ok(())
    }

    async fn random_passphrase(&self) -> Result<Passphrase, AwsError> {
        const OP: &str = "GetRandomPassword";
        let out = self
            .client
            .get_random_password()
            .password_length(PASSPHRASE_LENGTH)
            .exclude_characters(PASSPHRASE_EXCLUDED_CHARACTERS)
            .include_space(false)
            .require_each_included_type(true)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OP, e))?;
        match out.random_password {
            Some(password) if !password.is_empty() => Ok(Passphrase::new(password)),
            _ => Err(AwsError::Other {
                operation: OP,
                message: "the response carried no password".to_string(),
            }),
        }
    }
}
