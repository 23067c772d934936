//! Adapter: SSM Parameter Store as the rotation's [`KeyMirror`], for runtimes that read keys from
//! SSM (e.g. Fargate tasks injecting a SecureString as an environment variable with `valueFrom`).

use std::sync::Arc;

use aws_sdk_ssm::types::{ParameterTier, ParameterType};
use tokio::sync::OnceCell;

use super::AwsError;
use super::kms::{CustomerManagedKey, KmsKeyError, verify_customer_managed_key};
use crate::rotation::{KeyMirror, SecretText};

/// Standard-tier parameters hold at most 4 KiB; larger values need the Advanced tier.
const STANDARD_TIER_MAX_BYTES: usize = 4096;

/// Writes SecureString parameters under one customer-managed KMS key, overwriting.
///
/// Before its first write it checks the key once ([`verify_customer_managed_key`]): a wrong key
/// fails the mirror with what to change, instead of SSM's error or a parameter nobody can read.
/// Lazily, so a cold start makes no network call; clones share the one check.
#[derive(Debug, Clone)]
pub struct SsmMirror {
    client: aws_sdk_ssm::Client,
    kms: aws_sdk_kms::Client,
    kms_key_id: String,
    checked_key: Arc<OnceCell<CustomerManagedKey>>,
}

impl SsmMirror {
    /// `kms_key_id` is the customer-managed key (id, ARN or alias) every parameter is encrypted
    /// with; `kms` only describes it.
    pub fn new(
        client: aws_sdk_ssm::Client,
        kms: aws_sdk_kms::Client,
        kms_key_id: impl Into<String>,
    ) -> Self {
        SsmMirror {
            client,
            kms,
            kms_key_id: kms_key_id.into(),
            checked_key: Arc::new(OnceCell::new()),
        }
    }

    pub fn kms_key_id(&self) -> &str {
        &self.kms_key_id
    }

    /// The key as KMS described it, after the first successful check. A failed check is not
    /// remembered: the next write checks again (the key may have been fixed, or KMS was down).
    pub async fn checked_key(&self) -> Result<&CustomerManagedKey, AwsError> {
        self.checked_key
            .get_or_try_init(|| verify_customer_managed_key(&self.kms, &self.kms_key_id))
            .await
            .map_err(|e| match e {
                KmsKeyError::Aws { source, .. } => source,
                unusable => AwsError::Other {
                    operation: "DescribeKey",
                    message: unusable.to_string(),
                },
            })
    }
}

impl KeyMirror for SsmMirror {
    /// The key check (once), then `PutParameter` Type SecureString, KeyId = the CMK, Overwrite. The tier is chosen by size (a
    /// 4096-bit encrypted PEM is ~3.4 KiB, so Standard suffices today) so a larger value never fails
    /// the rotation's last step.
    async fn put_secure(&self, name: &str, value: &SecretText) -> Result<(), AwsError> {
        const OP: &str = "PutParameter";
        self.checked_key().await?;
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
