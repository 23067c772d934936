//! Adapter: see the module owner's docs.

// ---- Rotation's SSM mirror (owned by the rotation engineer) --------------------------------------
pub mod mirror {
    //! Mirror of a rotated private key into Parameter Store, for runtimes that read keys from SSM
    //! (e.g. Fargate tasks injecting a SecureString as an environment variable).

    use super::super::AwsError;

    /// Writes SecureString parameters under one customer-managed KMS key, overwriting.
    #[derive(Debug, Clone)]
    pub struct SsmMirror {
        client: aws_sdk_ssm::Client,
        kms_key_id: String,
    }

    impl SsmMirror {
        pub fn new(client: aws_sdk_ssm::Client, kms_key_id: impl Into<String>) -> Self {
            SsmMirror { client, kms_key_id: kms_key_id.into() }
        }

        /// `PutParameter` Type SecureString, KeyId = the CMK, Overwrite. Values over 4 KiB need the
        /// Advanced tier (a 4096-bit encrypted PEM is ~3.4 KiB, so Standard suffices today; the tier
        /// is chosen by size so a larger key never fails the rotation's last step).
        pub async fn put_secure(&self, name: &str, value: &str) -> Result<(), AwsError> {
            const OP: &str = "PutParameter";
            let tier = if value.len() > 4096 {
                aws_sdk_ssm::types::ParameterTier::Advanced
            } else {
                aws_sdk_ssm::types::ParameterTier::Standard
            };
            self.client
                .put_parameter()
                .name(name)
                .value(value)
                .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
                .key_id(&self.kms_key_id)
                .overwrite(true)
                .tier(tier)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(OP, e))?;
            Ok(())
        }
    }
}
