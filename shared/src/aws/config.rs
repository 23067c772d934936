//! The AWS SDK configuration, loaded once per cold start.

/// Standard provider chain: region, credentials and `AWS_ENDPOINT_URL[_<SERVICE>]` from the environment.
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
