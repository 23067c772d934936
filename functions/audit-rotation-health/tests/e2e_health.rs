//! The rotation-health audit end to end: moto (Secrets Manager, SSM, SNS → SQS) and the Snowflake
//! emulator answering DESC USER, so drift between a secret's AWSCURRENT key and Snowflake shows.

use std::sync::{Arc, LazyLock};

use audit_rotation_health::{App, Config, handle};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{Value, json};
use snowflake_emulator::{Emulator, Seed, SeedRole, SeedUser};
use snowkey_shared::keys::{KeySize, PrivateKey};
use time::OffsetDateTime;

static KEY_SNOWFLAKE: LazyLock<Arc<PrivateKey>> =
    LazyLock::new(|| Arc::new(PrivateKey::generate(KeySize::Rsa2048).unwrap()));
static KEY_DRIFTED: LazyLock<Arc<PrivateKey>> =
    LazyLock::new(|| Arc::new(PrivateKey::generate(KeySize::Rsa2048).unwrap()));
static KEY_ADMIN: LazyLock<Arc<PrivateKey>> =
    LazyLock::new(|| Arc::new(PrivateKey::generate(KeySize::Rsa2048).unwrap()));

async fn snowflake() -> Emulator {
    let mut seed = Seed::new("MYORG-MYACCOUNT");
    let mut service = SeedUser::service("SVC_LOADER", Some("SVC_ROLE"));
    service.rsa_public_key = Some(KEY_SNOWFLAKE.public_key().to_snowflake_body());
    let mut admin = SeedUser::service("KEY_ADMIN", Some("ADMIN_ROLE"));
    admin.rsa_public_key = Some(KEY_ADMIN.public_key().to_snowflake_body());
    seed.users = vec![service, admin];
    seed.roles = vec![SeedRole::new(
        "ADMIN_ROLE",
        &["KEY_ADMIN"],
        "OWNERSHIP",
        &["SVC_LOADER", "KEY_ADMIN"],
    )];
    Emulator::start(seed).await.unwrap()
}

fn secret_value(user: &str, key: &PrivateKey, host: &str, admin: Option<&str>) -> String {
    let mut v = json!({"account": "myorg-myaccount", "user": user, "private_key": key.to_pkcs8_pem().as_str(), "host": host});
    if let Some(admin) = admin {
        v["admin_secret_arn"] = json!(admin);
    }
    v.to_string()
}

#[tokio::test]
async fn drift_and_disabled_rotation_are_reported_once_a_day() {
    let sf = snowflake().await;
    let sdk = test_support::moto().await.sdk_config().await;
    let run_id = OffsetDateTime::now_utc().unix_timestamp_nanos();
    let prefix = format!("health-{run_id}/");
    let sm = aws_sdk_secretsmanager::Client::new(&sdk);
    let admin_arn = sm
        .create_secret()
        .name(format!("{prefix}KEY_ADMIN"))
        .secret_string(secret_value("KEY_ADMIN", &KEY_ADMIN, &sf.url(), None))
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    sm.create_secret()
        .name(format!("{prefix}SVC_LOADER"))
        .secret_string(secret_value(
            "SVC_LOADER",
            &KEY_DRIFTED,
            &sf.url(),
            Some(&admin_arn),
        ))
        .send()
        .await
        .unwrap();

    // SNS → SQS (raw delivery) to read the published messages back.
    let sns = aws_sdk_sns::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let topic = sns
        .create_topic()
        .name(format!("health-{run_id}"))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let queue = sqs
        .create_queue()
        .queue_name(format!("health-{run_id}"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let queue_arn = attrs.attributes.unwrap()[&QueueAttributeName::QueueArn].clone();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(queue_arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    let take = || async {
        let mut out: Vec<Value> = Vec::new();
        loop {
            let got = sqs
                .receive_message()
                .queue_url(&queue)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            let messages = got.messages.unwrap_or_default();
            if messages.is_empty() {
                return out;
            }
            for m in messages {
                out.push(serde_json::from_str(m.body().unwrap()).unwrap());
                sqs.delete_message()
                    .queue_url(&queue)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    };

    let lookup = |name: &str| match name {
        "SNOWKEY_TOPIC_ARN" => Some(topic.clone()),
        "SNOWKEY_WATCHED_SECRET_PREFIX" => Some(prefix.clone()),
        "SNOWKEY_WATERMARK_PREFIX" => Some(format!("/snowkey-test/health-{run_id}")),
        _ => None,
    };
    let app = App::new(
        Config::from_lookup(&lookup).unwrap(),
        &sdk,
        reqwest::Client::new(),
    );
    let now = OffsetDateTime::now_utc();
    let report = handle(&app, now).await.unwrap();
    assert_eq!(report.secrets_checked, 2, "{report:?}");

    let messages = take().await;
    let by_rule = |rule: &str| -> Vec<String> {
        messages
            .iter()
            .filter(|m| m["metadata"]["additionalContext"]["rule"] == rule)
            .map(|m| m["content"]["description"].as_str().unwrap().to_owned())
            .collect()
    };
    let drift = by_rule("health.key-drift");
    assert_eq!(drift.len(), 1, "{messages:#?}");
    assert!(
        drift[0].contains("SVC_LOADER") && !drift[0].contains("KEY_ADMIN"),
        "{drift:?}"
    );
    let disabled = by_rule("health.rotation-disabled").join("\n");
    assert!(
        disabled.contains("SVC_LOADER") && disabled.contains("KEY_ADMIN"),
        "moto secrets have rotation off: {disabled}"
    );
    let text = serde_json::to_string(&messages).unwrap();
    assert!(
        !text.contains("PRIVATE KEY"),
        "key material reached a message"
    );

    // Later the same day: the same problems, already reported.
    let again = handle(&app, now + time::Duration::minutes(30))
        .await
        .unwrap();
    assert_eq!(again.published, 0, "{again:?}");
    assert!(take().await.is_empty());
}
