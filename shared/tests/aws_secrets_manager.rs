//! `SecretsManagerStore` against a real moto server over HTTP.

use aws_sdk_secretsmanager::types::Tag;
use snowkey_shared::aws::SecretsManagerStore;
use snowkey_shared::aws::secrets_manager::PASSPHRASE_EXCLUDED_CHARACTERS;
use snowkey_shared::rotation::{RotationToken, SecretStore, SecretText, Stage, VersionSelector};

async fn store() -> SecretsManagerStore {
    let moto = test_support::moto().await;
    SecretsManagerStore::new(aws_sdk_secretsmanager::Client::new(
        &moto.sdk_config().await,
    ))
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// A secret with one AWSCURRENT version; returns (name, current version id).
async fn create_secret(store: &SecretsManagerStore, value: &str) -> (String, String) {
    let name = unique("snowkey/test");
    let out = store
        .client()
        .create_secret()
        .name(&name)
        .secret_string(value)
        .tags(
            Tag::builder()
                .key("snowkey:ssm-parameter")
                .value("/svc/key")
                .build(),
        )
        .send()
        .await
        .expect("create secret");
    (name, out.version_id().expect("version id").to_string())
}

#[tokio::test]
async fn describe_reports_versions_tags_and_rotation_flag() {
    let store = store().await;
    let (name, current) = create_secret(&store, r#"{"user":"SVC"}"#).await;

    let d = store.describe(&name).await.unwrap();
    assert_eq!(d.name, name);
    assert!(d.arn.starts_with("arn:aws:secretsmanager:"), "{}", d.arn);
    assert!(
        !d.rotation_enabled,
        "a secret never configured for rotation reports rotation off"
    );
    assert_eq!(d.version_with(Stage::Current), Some(current.as_str()));
    assert_eq!(
        d.tags.get("snowkey:ssm-parameter").map(String::as_str),
        Some("/svc/key")
    );
}

#[tokio::test]
async fn describe_of_a_missing_secret_is_a_not_found_error_naming_the_operation() {
    let store = store().await;
    let err = store.describe(&unique("missing")).await.unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    assert!(
        err.to_string().starts_with("DescribeSecret failed"),
        "{err}"
    );
}

#[tokio::test]
async fn get_value_reads_by_stage_and_by_version() {
    let store = store().await;
    let (name, current) = create_secret(&store, r#"{"user":"SVC"}"#).await;

    let by_stage = store
        .get_value(&name, &VersionSelector::Stage(Stage::Current))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_stage.version_id, current);
    assert_eq!(by_stage.text.expose(), r#"{"user":"SVC"}"#);

    let by_version = store
        .get_value(&name, &VersionSelector::Version(current.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_version.text.expose(), r#"{"user":"SVC"}"#);
}

#[tokio::test]
async fn get_value_of_a_missing_secret_version_or_stage_is_none() {
    let store = store().await;
    let (name, current) = create_secret(&store, "{}").await;

    let missing_secret = store
        .get_value(&unique("missing"), &VersionSelector::Stage(Stage::Current))
        .await;
    assert!(missing_secret.unwrap().is_none());
    let missing_stage = store
        .get_value(&name, &VersionSelector::Stage(Stage::Pending))
        .await;
    assert!(missing_stage.unwrap().is_none());
    let missing_version = store
        .get_value(
            &name,
            &VersionSelector::Version(uuid::Uuid::new_v4().to_string()),
        )
        .await;
    assert!(missing_version.unwrap().is_none());
    // The current version is not AWSPENDING: the template's pending read finds nothing.
    let wrong_stage = store
        .get_value(
            &name,
            &VersionSelector::VersionAtStage(current, Stage::Pending),
        )
        .await;
    assert!(wrong_stage.unwrap().is_none());
}

#[tokio::test]
async fn put_pending_then_move_current_labels_versions_like_a_rotation() {
    let store = store().await;
    let (name, old) = create_secret(&store, r#"{"k":"old"}"#).await;
    let token = uuid::Uuid::new_v4().to_string();
    let value = SecretText::new(r#"{"k":"new"}"#);

    store
        .put_pending(
            &name,
            &token,
            &value,
            Some(&RotationToken::new("rotation-token")),
        )
        .await
        .unwrap();
    // Secrets Manager retries a step with the same token: the same put must succeed again.
    store
        .put_pending(&name, &token, &value, None)
        .await
        .unwrap();

    let pending = store
        .get_value(
            &name,
            &VersionSelector::VersionAtStage(token.clone(), Stage::Pending),
        )
        .await
        .unwrap()
        .expect("pending value");
    assert_eq!(pending.version_id, token);
    assert_eq!(pending.text.expose(), r#"{"k":"new"}"#);
    let d = store.describe(&name).await.unwrap();
    assert!(d.has_stage(&token, Stage::Pending) && d.has_stage(&old, Stage::Current));

    store.move_current(&name, &token, Some(&old)).await.unwrap();
    let d = store.describe(&name).await.unwrap();
    assert!(d.has_stage(&token, Stage::Current), "{:?}", d.versions);
    assert!(d.has_stage(&old, Stage::Previous), "{:?}", d.versions);
    let current = store
        .get_value(&name, &VersionSelector::Stage(Stage::Current))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current.text.expose(), r#"{"k":"new"}"#);
}

#[tokio::test]
async fn move_current_to_a_missing_version_is_an_error_naming_the_operation() {
    let store = store().await;
    let (name, old) = create_secret(&store, "{}").await;
    let err = store
        .move_current(&name, &uuid::Uuid::new_v4().to_string(), Some(&old))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("UpdateSecretVersionStage failed"),
        "{err}"
    );
    // (moto drops AWSCURRENT from `old` before failing, where AWS changes nothing: not asserted.)
}

#[tokio::test]
async fn random_passphrase_is_long_and_free_of_characters_that_need_quoting() {
    let store = store().await;
    let first = store.random_passphrase().await.unwrap();
    let second = store.random_passphrase().await.unwrap();
    assert_eq!(first.expose().len(), 40);
    assert_ne!(first.expose(), second.expose());
    for c in first.expose().chars().chain(second.expose().chars()) {
        assert!(
            !PASSPHRASE_EXCLUDED_CHARACTERS.contains(c),
            "passphrase contains excluded character {c:?}"
        );
    }
    assert!(
        !format!("{first:?}").contains(first.expose()),
        "Debug must not print the passphrase"
    );
}

#[tokio::test]
async fn errors_never_carry_the_secret_value() {
    let store = store().await;
    let secret_value = SecretText::new(r#"{"private_key":"-----BEGIN PRIVATE KEY-----MIIsecret"}"#);
    // PutSecretValue on a secret that does not exist fails; the error names the call, not the value.
    let err = store
        .put_pending(
            &unique("missing"),
            &uuid::Uuid::new_v4().to_string(),
            &secret_value,
            None,
        )
        .await;
    let err = err.unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(text.contains("PutSecretValue"), "{text}");
    assert!(
        !text.contains("MIIsecret") && !text.contains("BEGIN"),
        "{text}"
    );
}

#[tokio::test]
async fn a_hung_endpoint_fails_the_call_with_a_timeout_instead_of_hanging() {
    // Accepts connections and never answers, like a black-holed VPC endpoint.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .test_credentials()
        .endpoint_url(&endpoint)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2))
        .timeout_config(snowkey_shared::aws::config::sdk_timeouts(
            std::time::Duration::from_millis(300),
            std::time::Duration::from_secs(2),
        ))
        .load()
        .await;
    let store = SecretsManagerStore::new(aws_sdk_secretsmanager::Client::new(&sdk));
    let err = store.describe("snowflake/svc_hung").await.unwrap_err();
    let message = err.to_string();
    assert!(message.starts_with("DescribeSecret failed"), "{message}");
    assert!(message.to_lowercase().contains("timeout"), "{message}");
    held.abort();
}
