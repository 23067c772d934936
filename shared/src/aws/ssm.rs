//! Adapter: SSM Parameter Store as the rotation's [`KeyMirror`], for runtimes that read keys from
//! SSM (e.g. Fargate tasks injecting a SecureString as an environment variable with `valueFrom`).

use aws_sdk_ssm::types::{ParameterTier, ParameterType};

use super::AwsError;
use crate::rotation::{KeyMirror, SecretText};

/// Standard-tier parameters hold at most 4 KiB; larger values need the Advanced tier.
const STANDARD_TIER_MAX_BYTES: usize = 4096;

/// Writes SecureString parameters under one customer-managed KMS key, overwriting.
#[derive(Debug, Clone)]
pub struct SsmMirror {
    client: aws_sdk_ssm::Client,
    kms_key_id: String,
}

impl SsmMirror {
    /// `kms_key_id` is the customer-managed key (id, ARN or alias) every parameter is encrypted
    /// with; check it once per cold start with [`super::kms::verify_customer_managed_key`].
    pub fn new(client: aws_sdk_ssm::Client, kms_key_id: impl Into<String>) -> Self {
        SsmMirror {
            client,
            kms_key_id: kms_key_id.into(),
        }
    }

    pub fn kms_key_id(&self) -> &str {
        &self.kms_key_id
    }
}

impl KeyMirror for SsmMirror {
    /// `PutParameter` Type SecureString, KeyId = the CMK, Overwrite. The tier is chosen by size (a
    /// 4096-bit encrypted PEM is ~3.4 KiB, so Standard suffices today) so a larger value never fails
    /// the rotation's last step.
    async fn put_secure(&self, name: &str, value: &SecretText) -> Result<(), AwsError> {
        const OP: &str = "PutParameter";
        let value = value.expose();
        let tier = if value.len() > STANDARD_TIER_MAX_BYTES {
            ParameterTier::Advanced
        } else {
            ParameterTier::Standard
        };
        self.client
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(ParameterType::SecureString)
            .key_id(&self.kms_key_id)
            .overwrite(true)
            .tier(tier)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OP, e))?;
        Ok(())
    }
}
