//! `SsmMirror` and the KMS key check against a real moto server over HTTP.

use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use snowkey_shared::aws::{KmsKeyError, SsmMirror, verify_customer_managed_key};
use snowkey_shared::rotation::{KeyMirror, SecretText};

struct Clients {
    kms: aws_sdk_kms::Client,
    ssm: aws_sdk_ssm::Client,
}

async fn clients() -> Clients {
    let config = test_support::moto().await.sdk_config().await;
    Clients {
        kms: aws_sdk_kms::Client::new(&config),
        ssm: aws_sdk_ssm::Client::new(&config),
    }
}

fn unique_parameter() -> String {
    format!(
        "/snowkey-test/{}/private-key",
        uuid::Uuid::new_v4().simple()
    )
}

async fn new_key(kms: &aws_sdk_kms::Client) -> String {
    let out = kms
        .create_key()
        .description("snowkey test")
        .send()
        .await
        .expect("create key");
    out.key_metadata().expect("metadata").key_id().to_string()
}

#[tokio::test]
async fn an_enabled_customer_managed_key_passes_by_id_arn_and_alias() {
    let c = clients().await;
    let key_id = new_key(&c.kms).await;
    let alias = format!("alias/snowkey-test-{}", uuid::Uuid::new_v4().simple());
    c.kms
        .create_alias()
        .alias_name(&alias)
        .target_key_id(&key_id)
        .send()
        .await
        .unwrap();

    let by_id = verify_customer_managed_key(&c.kms, &key_id).await.unwrap();
    assert_eq!(by_id.key_id, key_id);
    let by_arn = verify_customer_managed_key(&c.kms, &by_id.arn)
        .await
        .unwrap();
    assert_eq!(by_arn.key_id, key_id);
    let by_alias = verify_customer_managed_key(&c.kms, &alias).await.unwrap();
    assert_eq!(by_alias.key_id, key_id);
}

#[tokio::test]
async fn a_missing_key_is_reported_as_missing() {
    let c = clients().await;
    let missing = uuid::Uuid::new_v4().to_string();
    let err = verify_customer_managed_key(&c.kms, &missing)
        .await
        .unwrap_err();
    assert!(matches!(err, KmsKeyError::NotFound { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&missing) && err.to_string().contains("does not exist"),
        "{err}"
    );
}

#[tokio::test]
async fn a_disabled_key_is_refused_with_its_state() {
    let c = clients().await;
    let key_id = new_key(&c.kms).await;
    c.kms.disable_key().key_id(&key_id).send().await.unwrap();
    let err = verify_customer_managed_key(&c.kms, &key_id)
        .await
        .unwrap_err();
    assert!(matches!(err, KmsKeyError::NotEnabled { .. }), "{err:?}");
    assert!(err.to_string().contains("Disabled"), "{err}");
}

#[tokio::test]
async fn an_asymmetric_signing_key_is_refused() {
    let c = clients().await;
    let out = c
        .kms
        .create_key()
        .key_spec(KeySpec::Rsa2048)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap();
    let key_id = out.key_metadata().unwrap().key_id().to_string();
    let err = verify_customer_managed_key(&c.kms, &key_id)
        .await
        .unwrap_err();
    assert!(
        matches!(err, KmsKeyError::NotSymmetricEncryption { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("RSA_2048"), "{err}");
}

#[tokio::test]
async fn mirror_writes_a_secure_string_under_the_given_key_and_overwrites() {
    let c = clients().await;
    let key_id = new_key(&c.kms).await;
    let mirror = SsmMirror::new(c.ssm.clone(), c.kms.clone(), key_id.clone());
    let name = unique_parameter();

    mirror
        .put_secure(
            &name,
            &SecretText::new("-----BEGIN PRIVATE KEY-----\nfirst\n"),
        )
        .await
        .unwrap();
    mirror
        .put_secure(
            &name,
            &SecretText::new("-----BEGIN PRIVATE KEY-----\nsecond\n"),
        )
        .await
        .unwrap();

    let read = c
        .ssm
        .get_parameter()
        .name(&name)
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    let parameter = read.parameter().expect("parameter");
    assert_eq!(
        parameter.value(),
        Some("-----BEGIN PRIVATE KEY-----\nsecond\n")
    );
    assert_eq!(
        parameter.r#type(),
        Some(&aws_sdk_ssm::types::ParameterType::SecureString)
    );
    assert_eq!(
        parameter.version(),
        2,
        "the second write overwrites the first"
    );

    // Without decryption the stored value is ciphertext, not the key.
    let raw = c
        .ssm
        .get_parameter()
        .name(&name)
        .with_decryption(false)
        .send()
        .await
        .unwrap();
    assert_ne!(
        raw.parameter().and_then(|p| p.value()),
        Some("-----BEGIN PRIVATE KEY-----\nsecond\n")
    );

    let described = c
        .ssm
        .describe_parameters()
        .parameter_filters(
            aws_sdk_ssm::types::ParameterStringFilter::builder()
                .key("Name")
                .values(&name)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let meta = described.parameters().first().expect("described parameter");
    assert_eq!(
        meta.key_id(),
        Some(key_id.as_str()),
        "encrypted with the configured customer-managed key"
    );
}

#[tokio::test]
async fn mirror_errors_name_the_call_and_never_the_value() {
    let c = clients().await;
    let key_id = new_key(&c.kms).await;
    let mirror = SsmMirror::new(c.ssm.clone(), c.kms.clone(), key_id);
    // Names starting with "aws" are reserved: SSM refuses the write.
    let err = mirror
        .put_secure("aws-snowkey-test", &SecretText::new("MIIsecretvalue"))
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(text.contains("PutParameter"), "{text}");
    assert!(!text.contains("MIIsecretvalue"), "{text}");
}

#[tokio::test]
async fn mirror_refuses_an_unusable_key_before_writing_anything() {
    let c = clients().await;
    let key_id = new_key(&c.kms).await;
    c.kms.disable_key().key_id(&key_id).send().await.unwrap();
    let mirror = SsmMirror::new(c.ssm.clone(), c.kms.clone(), key_id.clone());
    let name = unique_parameter();

    let err = mirror
        .put_secure(&name, &SecretText::new("MIIsecretvalue"))
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(
        text.contains(&key_id) && text.contains("not Enabled"),
        "{text}"
    );
    assert!(!text.contains("MIIsecretvalue"), "{text}");
    let read = c.ssm.get_parameter().name(&name).send().await;
    assert!(
        read.is_err_and(|e| e
            .as_service_error()
            .is_some_and(|s| s.is_parameter_not_found())),
        "nothing was written"
    );

    // Fixed key: the same mirror checks again and writes.
    c.kms.enable_key().key_id(&key_id).send().await.unwrap();
    mirror
        .put_secure(&name, &SecretText::new("MIIsecretvalue"))
        .await
        .unwrap();
    assert_eq!(mirror.checked_key().await.unwrap().key_id, key_id);
}

#[tokio::test]
async fn mirror_refuses_a_missing_key_naming_it() {
    let c = clients().await;
    let mirror = SsmMirror::new(c.ssm.clone(), c.kms.clone(), "alias/snowkey-does-not-exist");
    let err = mirror
        .put_secure(&unique_parameter(), &SecretText::new("MIIsecretvalue"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("alias/snowkey-does-not-exist") && err.contains("does not exist"),
        "{err}"
    );
}
