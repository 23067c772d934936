//! Whole rotations through the function's handler over real HTTP: moto (Secrets Manager, SSM,
//! KMS, SNS → SQS) and the Snowflake emulator, with the invariants checked after every step.

use std::sync::Arc;

use e2e_tests::logs::{self, LeakScanner};
use e2e_tests::{Options, Scenario, Stack};
use snowkey_shared::rotation::{SecretStore, Stage, VersionSelector};

async fn stack() -> Arc<Stack> {
    logs::capture();
    Arc::new(Stack::start().await.expect("moto"))
}

async fn current_json(s: &Scenario) -> serde_json::Value {
    let store = snowkey_shared::aws::SecretsManagerStore::new(s.stack.secrets.clone());
    let current = store
        .get_value(&s.secret_id, &VersionSelector::Stage(Stage::Current))
        .await
        .unwrap()
        .unwrap();
    serde_json::from_str(current.text.expose()).unwrap()
}

#[tokio::test]
async fn a_rotation_replaces_the_key_mirrors_it_to_ssm_and_announces_it() {
    let stack = stack().await;
    let options = Options {
        mirror: true,
        allow_duplicate_keys: true,
        ..Options::default()
    };
    let s = Scenario::new(stack.clone(), options).await.unwrap();
    let before = s
        .fingerprint_at(VersionSelector::Stage(Stage::Current))
        .await
        .unwrap()
        .unwrap();

    s.rotate_checked().await.unwrap();

    let after = s
        .fingerprint_at(VersionSelector::Stage(Stage::Current))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(before, after, "AWSCURRENT holds a new key");
    let user = s.emulator.user(&s.user).unwrap();
    assert_eq!(
        user.rsa_public_key_fp.as_deref(),
        Some(after.as_str()),
        "the new key sits in RSA_PUBLIC_KEY"
    );
    assert_eq!(
        user.rsa_public_key_2_fp, None,
        "RSA_PUBLIC_KEY_2 is empty again"
    );

    let current = current_json(&s).await;
    assert_eq!(
        current["database"], "RAW",
        "a consumer's own field survives the rotation"
    );
    assert_eq!(current["public_key_fingerprint"], after.as_str());

    // The SSM mirror holds the new private key, encrypted under the configured key.
    let (value, version, key_id) = stack
        .read_parameter(s.parameter.as_deref().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(value, current["private_key"].as_str().unwrap());
    assert_eq!(version, 1);
    assert_eq!(key_id.as_deref(), Some(s.kms_key_id.as_str()));

    // Exactly one "rotated" message, in Chatbot format, naming the new fingerprint.
    let messages = stack.drain_queue(&s.queue_url).await.unwrap();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0].severity, "INFO");
    let body: serde_json::Value = serde_json::from_str(&messages[0].body).unwrap();
    assert_eq!(
        (body["version"].as_str(), body["source"].as_str()),
        (Some("1.0"), Some("custom"))
    );
    assert_eq!(
        body["metadata"]["additionalContext"]["new_fingerprint"],
        after.as_str()
    );
    assert_eq!(
        body["metadata"]["additionalContext"]["old_fingerprint"],
        before.as_str()
    );

    let mut scanner = LeakScanner::new();
    for key in e2e_tests::keys::all_pool_keys() {
        scanner.add_key(&key);
    }
    let mut leaks = scanner.scan("the SNS message", &messages[0].body);
    leaks.extend(scanner.scan("the captured logs", &logs::captured()));
    assert!(leaks.is_empty(), "{leaks:?}");
}

#[tokio::test]
async fn consecutive_rotations_in_every_mode_keep_one_working_key() {
    let stack = stack().await;
    let modes = [
        ("unencrypted, duplicates refused", Options::default()),
        (
            "encrypted",
            Options {
                encrypted: true,
                key_offset: 4,
                ..Options::default()
            },
        ),
        (
            "duplicates allowed",
            Options {
                allow_duplicate_keys: true,
                key_offset: 8,
                ..Options::default()
            },
        ),
        (
            "grace mode",
            Options {
                grace_mode: true,
                key_offset: 12,
                ..Options::default()
            },
        ),
    ];
    for (mode, options) in modes {
        let started = std::time::Instant::now();
        let s = Scenario::new(stack.clone(), options).await.unwrap();
        let mut seen = Vec::new();
        for round in 1..=3 {
            s.rotate_checked()
                .await
                .unwrap_or_else(|e| panic!("{mode}, rotation {round}: {e:#}"));
            seen.push(
                s.fingerprint_at(VersionSelector::Stage(Stage::Current))
                    .await
                    .unwrap()
                    .unwrap(),
            );
        }
        seen.dedup();
        assert_eq!(seen.len(), 3, "{mode}: every rotation installs a new key");
        if !options.allow_duplicate_keys && !options.grace_mode {
            // Snowflake refusing the key in both slots: the new key stays in slot 2, slot 1 empty.
            let user = s.emulator.user(&s.user).unwrap();
            assert_eq!(
                (user.rsa_public_key_fp, user.rsa_public_key_2_fp),
                (None, Some(seen[2].to_string())),
                "{mode}"
            );
        }
        let current = current_json(&s).await;
        assert_eq!(
            current["private_key_passphrase"].is_string(),
            options.encrypted,
            "{mode}"
        );
        let messages = stack.drain_queue(&s.queue_url).await.unwrap();
        if options.encrypted {
            assert!(
                current["private_key"]
                    .as_str()
                    .unwrap()
                    .contains("ENCRYPTED PRIVATE KEY"),
                "{mode}"
            );
            // The generated passphrase appears in no log line and no message.
            let mut scanner = LeakScanner::new();
            scanner.add(
                "the passphrase",
                current["private_key_passphrase"].as_str().unwrap(),
            );
            let mut leaks: Vec<String> = messages
                .iter()
                .flat_map(|m| scanner.scan("an SNS message", &m.body))
                .collect();
            leaks.extend(scanner.scan("the captured logs", &logs::captured()));
            assert!(leaks.is_empty(), "{leaks:?}");
        }
        assert_eq!(messages.len(), 3, "{mode}: one message per rotation");
        assert!(
            messages.iter().all(|m| m.severity == "INFO"),
            "{mode}: {messages:?}"
        );
        println!(
            "{mode}: 3 rotations in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
}

#[tokio::test]
async fn re_running_every_step_changes_nothing_more() {
    let stack = stack().await;
    let s = Scenario::new(
        stack.clone(),
        Options {
            key_offset: 2,
            ..Options::default()
        },
    )
    .await
    .unwrap();
    let token = s.start_rotation().await.unwrap();
    for step in e2e_tests::driver::STEPS {
        s.invoke(step, &token).await.unwrap();
        let slots = s.slot_fingerprints();
        s.invoke(step, &token)
            .await
            .unwrap_or_else(|e| panic!("re-running {step}: {e}"));
        assert_eq!(
            s.slot_fingerprints(),
            slots,
            "re-running {step} changed the slots"
        );
        s.check_invariants(&token, false).await.unwrap();
    }
    s.check_finished(&token).await.unwrap();
}

/// The checks the fault matrix relies on are not vacuous: a user whose AWSCURRENT key was removed
/// behind the function's back fails invariant 1, and an outsider's key fails invariant 5.
#[tokio::test]
async fn the_invariant_checks_catch_a_lost_or_foreign_key() {
    use snowkey_shared::rotation::secret_value::SecretValue;
    use snowkey_shared::rotation::{Connection, KeyRegistry};
    use snowkey_shared::snowflake::Slot;

    let stack = stack().await;
    let s = Scenario::new(
        stack.clone(),
        Options {
            key_offset: 6,
            ..Options::default()
        },
    )
    .await
    .unwrap();
    let token = s.start_rotation().await.unwrap();
    s.check_invariants(&token, false).await.unwrap();

    let current = SecretValue::parse(&current_json(&s).await.to_string()).unwrap();
    let conn = Connection {
        settings: current.connection_settings().unwrap(),
        key: Arc::new(current.private_key().unwrap()),
    };
    let outsider = s.keys.take();
    s.checker
        .set_key(&conn, &s.user, Slot::Two, &outsider.public_key())
        .await
        .unwrap();
    let err = s.check_invariants(&token, false).await.unwrap_err();
    assert!(err.to_string().contains("invariant 5"), "{err:#}");

    s.checker
        .unset_key(&conn, &s.user, Slot::One)
        .await
        .unwrap();
    let err = s.check_invariants(&token, false).await.unwrap_err();
    assert!(err.to_string().contains("invariant 1"), "{err:#}");
}

#[tokio::test]
async fn admin_mode_rotates_the_service_user_and_then_the_admin_itself() {
    let stack = stack().await;
    let options = Options {
        admin: true,
        key_offset: 10,
        ..Options::default()
    };
    let mut s = Scenario::new(stack.clone(), options).await.unwrap();
    let admin_before = s.emulator.user("SNOWKEY_ADMIN").unwrap().rsa_public_key_fp;

    s.rotate_checked()
        .await
        .expect("the service user rotates through the admin");
    assert_eq!(
        s.emulator.user("SNOWKEY_ADMIN").unwrap().rsa_public_key_fp,
        admin_before,
        "rotating the service user leaves the admin's key alone"
    );

    // The admin secret has no admin_secret_arn: it rotates itself, with the same function.
    s.switch_to_admin();
    s.rotate_checked()
        .await
        .expect("the admin secret rotates itself");
    assert_ne!(
        s.emulator.user("SNOWKEY_ADMIN").unwrap().rsa_public_key_fp,
        admin_before
    );
    s.switch_to_admin();
    s.rotate_checked()
        .await
        .expect("the service user rotates with the admin's new key");
}
