//! The AWS SDK configuration, loaded once per cold start.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;

/// One attempt of an AWS call. The SDK sets no read timeout by default, so a hung endpoint would hold
/// a rotation step until Lambda kills it; failing the attempt lets the SDK retry and the step report.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// A whole AWS call, retries included: well inside the rotation function's timeout.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);

/// Standard provider chain: region, credentials and `AWS_ENDPOINT_URL[_<SERVICE>]` from the environment,
/// with [`sdk_timeouts`].
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(sdk_timeouts(ATTEMPT_TIMEOUT, OPERATION_TIMEOUT))
        .load()
        .await
}

/// The timeouts every client of a function uses.
pub fn sdk_timeouts(attempt: Duration, operation: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(attempt)
        .operation_timeout(operation)
        .build()
}
