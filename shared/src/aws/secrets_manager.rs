//! Adapter: AWS Secrets Manager, the calls a rotation function makes and nothing else.
//!
//! Secret strings come back in [`zeroize::Zeroizing`] buffers and never appear in an error: the SDK's
//! own `Debug` of `GetSecretValueOutput` redacts them, and [`AwsError`] carries only codes and messages.

use std::collections::BTreeMap;

use zeroize::Zeroizing;

use super::AwsError;

/// Characters a generated passphrase never contains. Consumers paste the passphrase into shells,
/// YAML, JSON, `.env` files, JDBC URLs and Kafka properties; each of these has its own quoting, so
/// anything that needs quoting in any of them is excluded. 40 characters of the remaining ~64-letter
/// alphabet still give > 230 bits.
pub const PASSPHRASE_EXCLUDED_CHARACTERS: &str = "\"'`\\$/@:;%&|<>(){}[]!#?*~^=,+ ";
/// Length of generated passphrases.
pub const PASSPHRASE_LENGTH: i64 = 40;

/// What `DescribeSecret` says about a secret, reduced to what rotation needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Description {
    pub arn: String,
    pub name: String,
    /// `false` when the service omits the field (rotation never configured).
    pub rotation_enabled: bool,
    /// Version id -> its staging labels.
    pub versions: BTreeMap<String, Vec<String>>,
    pub tags: BTreeMap<String, String>,
}

/// One Secrets Manager client, built once per cold start.
#[derive(Debug, Clone)]
pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManager {
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        SecretsManager { client }
    }

    /// `DescribeSecret`: rotation flag, version stages and tags.
    pub async fn describe(&self, secret_id: &str) -> Result<Description, AwsError> {
        const OP: &str = "DescribeSecret";
        let out = self.client.describe_secret().secret_id(secret_id).send().await.map_err(|e| AwsError::from_sdk(OP, e))?;
        Ok(Description {
            arn: out.arn().unwrap_or_default().to_string(),
            name: out.name().unwrap_or_default().to_string(),
            rotation_enabled: out.rotation_enabled().unwrap_or(false),
            versions: out
                .version_ids_to_stages()
                .map(|m| m.iter().map(|(id, stages)| (id.clone(), stages.clone())).collect())
                .unwrap_or_default(),
            tags: out
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
                .collect(),
        })
    }

    /// `GetSecretValue` by version id and/or stage. `Ok(None)` when that version has no value yet
    /// (the empty `AWSPENDING` version Secrets Manager creates before createSecret) or the stage is
    /// attached to no version.
    pub async fn get_string(
        &self,
        secret_id: &str,
        version_id: Option<&str>,
        stage: Option<&str>,
    ) -> Result<Option<Zeroizing<String>>, AwsError> {
        const OP: &str = "GetSecretValue";
        let result = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .set_version_id(version_id.map(str::to_string))
            .set_version_stage(stage.map(str::to_string))
            .send()
            .await;
        match result {
            Ok(out) => match out.secret_string {
                Some(s) => Ok(Some(Zeroizing::new(s))),
                None if out.secret_binary.is_some() => Err(AwsError::Other {
                    operation: OP,
                    message: format!("secret {secret_id} holds a binary value; a JSON string is required"),
                }),
                None => Ok(None),
            },
            Err(e) => {
                let err = AwsError::from_sdk(OP, e);
                if err.code() == Some("ResourceNotFoundException") { Ok(None) } else { Err(err) }
            }
        }
    }

    /// `PutSecretValue` with the rotation's token as `ClientRequestToken` and stage `AWSPENDING`.
    /// Idempotent on the service side: the same token and value succeed again.
    pub async fn put_pending(
        &self,
        secret_id: &str,
        token: &str,
        secret_string: &str,
        rotation_token: Option<&str>,
    ) -> Result<(), AwsError> {
        const OP: &str = "PutSecretValue";
        self.client
            .put_secret_value()
            .secret_id(secret_id)
            .client_request_token(token)
            .secret_string(secret_string)
            .version_stages("AWSPENDING")
            .set_rotation_token(rotation_token.map(str::to_string))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OP, e))?;
        Ok(())
    }

    /// `UpdateSecretVersionStage` moving `AWSCURRENT` to `to_version`; Secrets Manager then labels
    /// `from_version` `AWSPREVIOUS`.
    pub async fn move_current(&self, secret_id: &str, to_version: &str, from_version: Option<&str>) -> Result<(), AwsError> {
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

    /// `GetRandomPassword` without characters that need quoting anywhere a consumer puts it.
    pub async fn random_password(&self) -> Result<Zeroizing<String>, AwsError> {
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
        out.random_password
            .map(Zeroizing::new)
            .ok_or(AwsError::Other { operation: OP, message: "the response carried no password".to_string() })
    }
}
