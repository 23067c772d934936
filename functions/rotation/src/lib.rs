//! The rotation Lambda: turns a Secrets Manager rotation event into one [`run_step`] call.
//!
//! Clients are built once per cold start ([`App`]); the handler only parses the event, opens a log
//! span (secret id, step, token — never the secret or the RotationToken) and calls the domain.

pub mod config;

pub use config::{Config, ConfigError};

use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use snowkey_shared::aws::secrets_manager::SecretsManagerStore;
use snowkey_shared::aws::sns::SnsPublisher;
use snowkey_shared::aws::ssm::SsmMirror;
use snowkey_shared::rotation::{
    Ports, RotationConfig, RotationEvent, RotationToken, VersionCache, run_step,
};
use snowkey_shared::snowflake::{RetryPolicy, SqlApiKeyRegistry};
use tracing::Instrument as _;

/// The ports of the deployed function: no topic → no messages; no KMS key → mirror tags fail loudly.
/// A warm function reads each secret version once ([`VersionCache`]).
pub type RotationPorts = Ports<
    VersionCache<SecretsManagerStore>,
    SqlApiKeyRegistry,
    Option<SnsPublisher>,
    Option<SsmMirror>,
>;

/// Everything built once per cold start.
pub struct App {
    pub rotation: RotationConfig,
    pub ports: RotationPorts,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("could not build the HTTP client for Snowflake: {0}")]
    Http(String),
}

impl App {
    /// Reads and validates the environment, loads the SDK configuration, builds the clients.
    pub async fn from_env() -> Result<App, AppError> {
        let config = Config::from_env()?;
        let sdk = snowkey_shared::aws::config::load_sdk_config().await;
        App::new(&config, &sdk)
    }

    pub fn new(config: &Config, sdk: &aws_config::SdkConfig) -> Result<App, AppError> {
        let retry = RetryPolicy {
            request_timeout: config.snowflake_timeout,
            ..RetryPolicy::default()
        };
        let http = reqwest::Client::builder()
            .timeout(config.snowflake_timeout)
            .build()
            .map_err(|e| AppError::Http(e.to_string()))?;
        let ports = Ports::new(
            VersionCache::new(SecretsManagerStore::new(
                aws_sdk_secretsmanager::Client::new(sdk),
            )),
            SqlApiKeyRegistry::new(http, retry),
            config
                .topic_arn
                .as_ref()
                .map(|arn| SnsPublisher::new(aws_sdk_sns::Client::new(sdk), arn.clone())),
            config.ssm_kms_key_id.as_ref().map(|key| {
                SsmMirror::new(
                    aws_sdk_ssm::Client::new(sdk),
                    aws_sdk_kms::Client::new(sdk),
                    key.clone(),
                )
            }),
        );
        Ok(App {
            rotation: config.rotation_config(),
            ports,
        })
    }
}

/// One Secrets Manager invocation. The error (if any) is what Secrets Manager records.
pub async fn handle(app: &App, event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
    let rotation_event = parse_event(&event.payload)
        .inspect_err(|error| tracing::error!(%error, "rejected the event"))?;
    let span = tracing::info_span!(
        "rotation",
        secret_id = %rotation_event.secret_id,
        step = %rotation_event.step,
        token = %rotation_event.client_request_token,
        request_id = %event.context.request_id,
    );
    async {
        // Boxed: the step futures nest deep enough to exceed the compiler's layout depth limit
        // inside the runtime's service type; one allocation per invocation is free.
        let outcome = Box::pin(run_step(&app.ports, &app.rotation, &rotation_event)).await?;
        tracing::info!(%outcome, "step done");
        Ok(json!({
            "SecretId": rotation_event.secret_id,
            "Step": rotation_event.step,
            "Outcome": outcome.to_string(),
        }))
    }
    .instrument(span)
    .await
}

/// An event that is not the Secrets Manager rotation shape. Never quotes a field's value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    #[error(
        "the event is not a JSON object; expected {{\"SecretId\", \"ClientRequestToken\", \"Step\", \"RotationToken\"?}}"
    )]
    NotAnObject,
    #[error("the event has no `{0}`")]
    Missing(&'static str),
    #[error("the event's `{0}` must be a non-empty string without control characters")]
    Invalid(&'static str),
}

/// `{"SecretId", "ClientRequestToken", "Step", "RotationToken"?}`. Fields AWS may add later are
/// ignored; the known ones must be strings. Control characters are refused so nothing forged
/// reaches a log line (AWS's template does the same since 2026).
pub fn parse_event(payload: &Value) -> Result<RotationEvent, EventError> {
    let object = payload.as_object().ok_or(EventError::NotAnObject)?;
    let field = |name: &'static str| -> Result<Option<String>, EventError> {
        match object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.is_empty() && !s.chars().any(char::is_control) => {
                Ok(Some(s.clone()))
            }
            Some(_) => Err(EventError::Invalid(name)),
        }
    };
    let required = |name: &'static str| field(name)?.ok_or(EventError::Missing(name));
    Ok(RotationEvent {
        secret_id: required("SecretId")?,
        client_request_token: required("ClientRequestToken")?,
        step: required("Step")?,
        rotation_token: field("RotationToken")?.map(RotationToken::new),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_secrets_manager_shape() {
        let event = parse_event(&json!({
            "SecretId": "arn:aws:secretsmanager:us-east-1:123456789012:secret:snowflake/svc_dlt-AbCdEf",
            "ClientRequestToken": "9f5c1a9e-3b1f-4a4e-9c55-0e3b5d1f2a77",
            "Step": "createSecret",
            "RotationToken": "opaque-token"
        }))
        .unwrap();
        assert_eq!(event.step, "createSecret");
        assert_eq!(event.rotation_token.unwrap().expose(), "opaque-token");
        let without =
            parse_event(&json!({"SecretId": "s", "ClientRequestToken": "t", "Step": "setSecret"}))
                .unwrap();
        assert!(without.rotation_token.is_none());
    }

    #[test]
    fn rejects_missing_or_malformed_fields_without_quoting_them() {
        assert_eq!(
            parse_event(&json!([1])).unwrap_err(),
            EventError::NotAnObject
        );
        assert_eq!(
            parse_event(&json!({"SecretId": "s", "Step": "x"})).unwrap_err(),
            EventError::Missing("ClientRequestToken")
        );
        let err = parse_event(
            &json!({"SecretId": "s", "ClientRequestToken": "t", "Step": "x", "RotationToken": 42}),
        )
        .unwrap_err();
        assert_eq!(err, EventError::Invalid("RotationToken"));
        assert!(!err.to_string().contains("42"));
        let forged = parse_event(
            &json!({"SecretId": "s\n{\"level\":\"INFO\"}", "ClientRequestToken": "t", "Step": "x"}),
        );
        assert_eq!(forged.unwrap_err(), EventError::Invalid("SecretId"));
    }

    #[test]
    fn app_builds_without_optional_services() {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build();
        let config = Config::from_lookup(|_| None).unwrap();
        let app = App::new(&config, &sdk).unwrap();
        assert!(app.ports.notifier.is_none() && app.ports.mirror.is_none());
        assert_eq!(app.rotation.key_size, config.key_size);

        let with_topic = Config::from_lookup(|name| match name {
            config::ENV_TOPIC_ARN => Some("arn:aws:sns:us-east-1:123456789012:rotation".into()),
            config::ENV_SSM_KMS_KEY_ID => Some("alias/snowkey".into()),
            _ => None,
        })
        .unwrap();
        let app = App::new(&with_topic, &sdk).unwrap();
        assert!(app.ports.notifier.is_some() && app.ports.mirror.is_some());
    }

    #[test]
    fn the_sample_events_parse() {
        for (file, step) in [
            ("createSecret.json", "createSecret"),
            ("setSecret.json", "setSecret"),
            ("testSecret.json", "testSecret"),
            ("finishSecret.json", "finishSecret"),
        ] {
            let path = format!("{}/../../events/{file}", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            let event = parse_event(&serde_json::from_str(&text).unwrap()).unwrap();
            assert_eq!(event.step, step);
            assert!(snowkey_shared::rotation::Step::parse(&event.step).is_some());
        }
    }
}
