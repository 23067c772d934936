//! Adapter: checks, once per cold start, that the KMS key configured for the SSM mirror can do
//! the job, so a misconfiguration fails loudly at start-up instead of at the end of a rotation.

use aws_sdk_kms::types::{KeyManagerType, KeySpec, KeyState, KeyUsageType};

use super::AwsError;

/// The checked key, as KMS names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerManagedKey {
    pub key_id: String,
    pub arn: String,
}

/// Why the configured key cannot encrypt the mirror. Each says what to change.
#[derive(Debug, thiserror::Error)]
pub enum KmsKeyError {
    #[error(
        "KMS key {key_id} does not exist (or this role may not describe it): configure an existing customer-managed key"
    )]
    NotFound { key_id: String },
    #[error(
        "KMS key {key_id} is {state}, not Enabled: enable it or configure another customer-managed key"
    )]
    NotEnabled { key_id: String, state: String },
    #[error(
        "KMS key {key_id} is AWS-managed: the SSM mirror needs a customer-managed key, so its key policy decides \
         who can decrypt the private key"
    )]
    NotCustomerManaged { key_id: String },
    #[error(
        "KMS key {key_id} is a {spec} key for {usage}: SSM SecureString needs a symmetric ENCRYPT_DECRYPT key"
    )]
    NotSymmetricEncryption {
        key_id: String,
        spec: String,
        usage: String,
    },
    #[error("checking KMS key {key_id}: {source}")]
    Aws { key_id: String, source: AwsError },
}

/// `DescribeKey`, then: exists, `Enabled`, `KeyManager = CUSTOMER`, symmetric encrypt/decrypt.
pub async fn verify_customer_managed_key(
    client: &aws_sdk_kms::Client,
    key_id: &str,
) -> Result<CustomerManagedKey, KmsKeyError> {
    let out = client
        .describe_key()
        .key_id(key_id)
        .send()
        .await
        .map_err(|e| {
            let source = AwsError::from_sdk("DescribeKey", e);
            if source.code() == Some("NotFoundException") {
                KmsKeyError::NotFound {
                    key_id: key_id.to_string(),
                }
            } else {
                KmsKeyError::Aws {
                    key_id: key_id.to_string(),
                    source,
                }
            }
        })?;
    let Some(meta) = out.key_metadata() else {
        return Err(KmsKeyError::NotFound {
            key_id: key_id.to_string(),
        });
    };
    let state = meta.key_state();
    if !meta.enabled() || state.is_some_and(|s| *s != KeyState::Enabled) {
        let state = state.map_or("disabled", |s| s.as_str()).to_string();
        return Err(KmsKeyError::NotEnabled {
            key_id: key_id.to_string(),
            state,
        });
    }
    if meta.key_manager() != Some(&KeyManagerType::Customer) {
        return Err(KmsKeyError::NotCustomerManaged {
            key_id: key_id.to_string(),
        });
    }
    let spec = meta.key_spec().unwrap_or(&KeySpec::SymmetricDefault);
    let usage = meta.key_usage().unwrap_or(&KeyUsageType::EncryptDecrypt);
    if *spec != KeySpec::SymmetricDefault || *usage != KeyUsageType::EncryptDecrypt {
        return Err(KmsKeyError::NotSymmetricEncryption {
            key_id: key_id.to_string(),
            spec: spec.as_str().to_string(),
            usage: usage.as_str().to_string(),
        });
    }
    Ok(CustomerManagedKey {
        key_id: meta.key_id().to_string(),
        arn: meta.arn().unwrap_or_default().to_string(),
    })
}
