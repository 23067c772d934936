//! The rotation-health audit end to end: moto (Secrets Manager, SSM, SNS → SQS) and the Snowflake
//! emulator answering DESC USER, so drift between a secret's AWSCURRENT key and Snowflake shows.
//! The admin's role has only MODIFY PROGRAMMATIC AUTHENTICATION METHODS (issue 4), so each user
//! describes itself; one case gives it OWNERSHIP, which lets drift of a refused key show too.

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
static KEY_STRAY: LazyLock<Arc<PrivateKey>> =
    LazyLock::new(|| Arc::new(PrivateKey::generate(KeySize::Rsa2048).unwrap()));
static KEY_ADMIN: LazyLock<Arc<PrivateKey>> =
    LazyLock::new(|| Arc::new(PrivateKey::generate(KeySize::Rsa2048).unwrap()));

const MPAM: &str = "MODIFY PROGRAMMATIC AUTHENTICATION METHODS";

/// SVC_LOADER holds its secret's key and a stray second key; SVC_DRIFTED holds only a key its
/// secret does not have, so its secret's key is refused at login.
async fn snowflake(admin_privilege: &str) -> Emulator {
    let mut seed = Seed::new("MYORG-MYACCOUNT");
    let mut loader = SeedUser::service("SVC_LOADER", Some("SVC_ROLE"));
    loader.rsa_public_key = Some(KEY_SNOWFLAKE.public_key().to_snowflake_body());
    loader.rsa_public_key_2 = Some(KEY_STRAY.public_key().to_snowflake_body());
    let mut drifted = SeedUser::service("SVC_DRIFTED", Some("SVC_ROLE"));
    drifted.rsa_public_key = Some(KEY_STRAY.public_key().to_snowflake_body());
    let mut admin = SeedUser::service("KEY_ADMIN", Some("ADMIN_ROLE"));
    admin.rsa_public_key = Some(KEY_ADMIN.public_key().to_snowflake_body());
    seed.users = vec![loader, drifted, admin];
    seed.roles = vec![
        SeedRole::new(
            "ADMIN_ROLE",
            &["KEY_ADMIN"],
            admin_privilege,
            &["SVC_LOADER", "SVC_DRIFTED"],
        ),
        // The service users' own role: describing oneself needs no privilege.
        SeedRole::new("SVC_ROLE", &["SVC_LOADER", "SVC_DRIFTED"], MPAM, &[]),
    ];
    Emulator::start(seed).await.unwrap()
}

fn secret_value(user: &str, key: &PrivateKey, host: &str, admin: Option<&str>) -> String {
    let mut v = json!({"account": "myorg-myaccount", "user": user, "private_key": key.to_pkcs8_pem().as_str(), "host": host});
    if let Some(admin) = admin {
        v["admin_secret_arn"] = json!(admin);
    }
    v.to_string()
}

/// What one audit setup publishes and reports.
struct Audit {
    app: App,
    sqs: aws_sdk_sqs::Client,
    queue: String,
    _snowflake: Emulator,
}

impl Audit {
    /// The messages published to the topic since the last call.
    async fn take(&self) -> Vec<Value> {
        let mut out: Vec<Value> = Vec::new();
        loop {
            let got = self
                .sqs
                .receive_message()
                .queue_url(&self.queue)
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
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

async fn audit(admin_privilege: &str) -> Audit {
    let sf = snowflake(admin_privilege).await;
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
    for (user, key) in [
        ("SVC_LOADER", &KEY_SNOWFLAKE),
        ("SVC_DRIFTED", &KEY_DRIFTED),
    ] {
        sm.create_secret()
            .name(format!("{prefix}{user}"))
            .secret_string(secret_value(user, key, &sf.url(), Some(&admin_arn)))
            .send()
            .await
            .unwrap();
    }

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
    Audit {
        app,
        sqs,
        queue,
        _snowflake: sf,
    }
}

/// The descriptions of the findings of `rule`.
fn by_rule(messages: &[Value], rule: &str) -> Vec<String> {
    messages
        .iter()
        .filter(|m| m["metadata"]["additionalContext"]["rule"] == rule)
        .map(|m| m["content"]["description"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn with_an_mpam_only_admin_users_describe_themselves_and_a_refused_key_is_an_error() {
    let audit = audit(MPAM).await;
    let now = OffsetDateTime::now_utc();
    let error = handle(&audit.app, now).await.unwrap_err().to_string();
    // SVC_DRIFTED's key does not log in, and the admin may not describe it: the run fails saying so.
    assert!(
        error.contains("SVC_DRIFTED")
            && error.contains("does not log in")
            && error.contains("OWNERSHIP"),
        "{error}"
    );
    assert!(!error.contains("SVC_LOADER"), "{error}");

    let messages = audit.take().await;
    // SVC_LOADER described itself (its admin could not), so its stray key shows.
    let stray = by_rule(&messages, "health.unexpected-second-key");
    assert_eq!(stray.len(), 1, "{messages:#?}");
    assert!(stray[0].contains("SVC_LOADER"), "{stray:?}");
    assert!(
        by_rule(&messages, "health.key-drift").is_empty(),
        "{messages:#?}"
    );
    let disabled = by_rule(&messages, "health.rotation-disabled").join("\n");
    for name in ["SVC_LOADER", "SVC_DRIFTED", "KEY_ADMIN"] {
        assert!(
            disabled.contains(name),
            "moto secrets have rotation off: {disabled}"
        );
    }
    let text = serde_json::to_string(&messages).unwrap();
    assert!(
        !text.contains("PRIVATE KEY") && !error.contains("PRIVATE KEY"),
        "key material reached a message"
    );

    // Later the same day: the same problems, already reported (the refused key still fails the run).
    // Health findings repeat daily, so "later" must not cross midnight UTC whenever the suite runs.
    let later = (now + time::Duration::minutes(30)).min(now.replace_time(time::Time::MAX));
    assert!(handle(&audit.app, later).await.is_err());
    assert!(audit.take().await.is_empty());
}

#[tokio::test]
async fn with_an_owning_admin_the_drift_behind_a_refused_key_is_reported() {
    let audit = audit("OWNERSHIP").await;
    let error = handle(&audit.app, OffsetDateTime::now_utc())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("SVC_DRIFTED") && error.contains("does not log in"),
        "{error}"
    );
    assert!(
        !error.contains("OWNERSHIP"),
        "the admin could describe: {error}"
    );
    let messages = audit.take().await;
    let drift = by_rule(&messages, "health.key-drift");
    assert_eq!(drift.len(), 1, "{messages:#?}");
    assert!(
        drift[0].contains("SVC_DRIFTED") && !drift[0].contains("KEY_ADMIN"),
        "{drift:?}"
    );
}
