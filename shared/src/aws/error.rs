use aws_sdk_secretsmanager::error::ProvideErrorMetadata;

/// A failed AWS call. Carries the operation, the service's error code and message; never a secret value.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error("{operation} failed: {code}: {message}")]
    Service {
        operation: &'static str,
        code: String,
        message: String,
    },
    #[error("{operation} failed: {message}")]
    Other {
        operation: &'static str,
        message: String,
    },
}

impl AwsError {
    /// Classifies an SDK error by its service error code (e.g. `ResourceNotFoundException`).
    pub fn from_sdk<E, R>(
        operation: &'static str,
        err: aws_smithy_runtime_api::client::result::SdkError<E, R>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + 'static,
    {
        match err.as_service_error() {
            Some(service) => AwsError::Service {
                operation,
                code: service.code().unwrap_or("Unknown").to_string(),
                message: service.message().unwrap_or_default().to_string(),
            },
            None => AwsError::Other {
                operation,
                message: describe_chain(&err),
            },
        }
    }

    /// The service error code, when the service answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            AwsError::Service { code, .. } => Some(code),
            AwsError::Other { .. } => None,
        }
    }
}

/// `SdkError`'s own Display is terse ("dispatch failure"); the source chain says why.
pub(crate) fn describe_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
