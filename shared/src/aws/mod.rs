//! Adapters for the AWS services the functions use. Each talks to the real service through the
//! standard SDK configuration, so `AWS_ENDPOINT_URL[_<SERVICE>]` points it at a local server.

pub mod cloudtrail;
pub mod config;
mod error;
pub mod kms;
pub mod secrets_manager;
pub mod sns;
pub mod ssm;
pub mod watermark;

pub use error::AwsError;
pub use kms::{KmsKeyError, verify_customer_managed_key};
pub use secrets_manager::SecretsManagerStore;
pub use sns::SnsPublisher;
pub use ssm::SsmMirror;
