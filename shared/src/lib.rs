//! Shared core of the Snowflake key-rotation and CloudTrail-audit functions.
//!
//! - [`keys`]: RSA key generation, PKCS#8 reading/writing, fingerprints (pure).
//! - [`snowflake`]: key-pair JWTs, the SQL API v2 client, key-slot statements (the key-registry adapter).
//! - [`rotation`]: the four Secrets Manager rotation steps as reconciliation over ports.
//! - [`audit`]: CloudTrail record model, rules and findings (no AWS client types in signatures).
//! - [`aws`]: adapters for Secrets Manager, SSM, SNS, CloudTrail, KMS.

pub mod audit;
pub mod audit_runner;
pub mod aws;
pub mod keys;
pub mod notify;
pub mod rotation;
pub mod snowflake;
