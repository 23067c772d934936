//! The four rotation steps over in-memory adapters: happy paths, repeated rotations, re-runs,
//! duplicate-slot settings, grace mode, encryption, self/admin mode, mirror, formats, messages.

mod rotation_common;

use base64::Engine as _;
use rotation_common::*;
use snowkey_shared::keys::{Passphrase, PrivateKey};
use snowkey_shared::rotation::secret_value::SecretValue;
use snowkey_shared::rotation::{RotationToken, SlotOutcome, Stage, StepOutcome, run_step};
use snowkey_shared::snowflake::Slot;

#[tokio::test]
async fn happy_path_promotes_the_new_key_and_keeps_every_other_field() {
    let world = World::new(Setup::default());
    let old_fp = pool_key(0).fingerprint();
    let old_version = world.store.version_at(SECRET, Stage::Current).unwrap();
    let token = world.store.begin_rotation(SECRET);
    let mut event = event("createSecret", &token);
    event.rotation_token = Some(RotationToken::new("rotation-token-123"));
    run_step(&world.ports(), &world.config, &event)
        .await
        .unwrap();
    assert_eq!(
        world.store.rotation_tokens_seen(),
        vec!["rotation-token-123".to_string()],
        "RotationToken reaches PutSecretValue"
    );
    let mut set_returned = false;
    rotate(&world, &world.ports(), &token, &mut set_returned)
        .await
        .unwrap();
    world.assert_finished("happy path");

    let new_fp = world.fingerprint_at(Stage::Current).unwrap();
    assert_ne!(new_fp, old_fp);
    assert_eq!(
        world.store.version_at(SECRET, Stage::Current).unwrap(),
        token
    );
    assert_eq!(
        world.store.version_at(SECRET, Stage::Previous).unwrap(),
        old_version
    );
    assert_eq!(
        world.registry.slots(USER),
        (Some(new_fp.clone()), None),
        "runbook end state: new key in RSA_PUBLIC_KEY"
    );
    assert!(
        !world.registry.authenticates(USER, &old_fp),
        "the old key no longer authenticates"
    );

    let text = world.store.value_at(SECRET, Stage::Current).unwrap();
    assert!(
        text.expose().contains(EXTRA_FIELDS),
        "consumer fields keep their bytes and order: {}",
        text.expose().len()
    );
    assert_eq!(
        world.value(Stage::Current).unwrap().recorded_fingerprint(),
        Some(new_fp.clone())
    );
    assert!(!world.value(Stage::Current).unwrap().is_encrypted());

    let published = world.notifier.published();
    assert_eq!(published.len(), 1);
    let body = published[0].to_chatbot_json();
    for expected in [
        USER,
        ACCOUNT,
        old_fp.as_str(),
        new_fp.as_str(),
        "RSA_PUBLIC_KEY",
    ] {
        assert!(
            body.contains(expected),
            "rotated message names {expected}: {body}"
        );
    }
    assert_notifications_clean(&world);
}

#[tokio::test]
async fn ten_consecutive_rotations_both_duplicate_settings() {
    for refuse_duplicates in [false, true] {
        let world = World::new(Setup {
            refuse_duplicates,
            ..Setup::default()
        });
        let mut seen = std::collections::BTreeSet::from([pool_key(0).fingerprint()]);
        for round in 0..10 {
            rotate_ok(&world).await;
            let fp = world.fingerprint_at(Stage::Current).unwrap();
            assert!(
                seen.insert(fp.clone()),
                "round {round}: a fresh key each time"
            );
            let (one, two) = world.registry.slots(USER);
            if refuse_duplicates {
                // Alternates: the new key always lands in the slot not holding the current key.
                let expected = if round % 2 == 0 {
                    (None, Some(fp))
                } else {
                    (Some(fp), None)
                };
                assert_eq!((one, two), expected, "round {round}");
            } else {
                assert_eq!((one, two), (Some(fp), None), "round {round}");
            }
        }
        assert_eq!(world.notifier.published().len(), 10);
        assert_notifications_clean(&world);
    }
}

#[tokio::test]
async fn every_step_can_be_rerun() {
    for setup in [
        Setup::default(),
        Setup {
            refuse_duplicates: true,
            mirror: true,
            ..Setup::default()
        },
    ] {
        let world = World::new(setup);
        let ports = world.ports();
        for round in 0..2 {
            let token = world.store.begin_rotation(SECRET);
            for step in STEPS {
                let first = run_step(&ports, &world.config, &event(step.as_str(), &token))
                    .await
                    .unwrap();
                let snapshot = world.store.snapshot(SECRET);
                let slots = world.registry.slots(USER);
                for _ in 0..2 {
                    let again = run_step(&ports, &world.config, &event(step.as_str(), &token))
                        .await
                        .unwrap();
                    assert_eq!(
                        world.store.snapshot(SECRET),
                        snapshot,
                        "round {round}: re-running {step} changes no version"
                    );
                    assert_eq!(
                        world.registry.slots(USER),
                        slots,
                        "round {round}: re-running {step} changes no slot"
                    );
                    match (&first, &again) {
                        (
                            StepOutcome::PendingCreated { .. },
                            StepOutcome::PendingAlreadyCreated,
                        )
                        | (
                            StepOutcome::PendingRegistered { .. },
                            StepOutcome::PendingAlreadyRegistered { .. },
                        )
                        | (StepOutcome::PendingTested { .. }, StepOutcome::PendingTested { .. }) => {
                        }
                        (StepOutcome::Finished(a), StepOutcome::Finished(b)) => {
                            assert!(a.moved_current && !b.moved_current);
                            assert_eq!(a.slots, b.slots);
                        }
                        other => panic!("round {round}: {step}: unexpected outcomes {other:?}"),
                    }
                }
                world.assert_invariants(step != Step::Create, &format!("after re-running {step}"));
            }
            world.assert_finished("after re-runs");
            // Once finished, the earlier steps see the token as AWSCURRENT and do nothing.
            for step in [Step::Create, Step::Set, Step::Test] {
                let outcome = run_step(&ports, &world.config, &event(step.as_str(), &token))
                    .await
                    .unwrap();
                assert_eq!(outcome, StepOutcome::AlreadyCurrent);
            }
        }
    }
}

use snowkey_shared::rotation::Step;

#[tokio::test]
async fn refused_duplicate_leaves_the_new_key_in_slot_2_and_the_next_rotation_uses_slot_1() {
    let world = World::new(Setup {
        refuse_duplicates: true,
        ..Setup::default()
    });
    rotate_ok(&world).await;
    let first = world.fingerprint_at(Stage::Current).unwrap();
    assert_eq!(world.registry.slots(USER), (None, Some(first.clone())));
    let last = world.notifier.published().pop().unwrap().to_chatbot_json();
    assert!(last.contains("new key in RSA_PUBLIC_KEY_2"), "{last}");
    rotate_ok(&world).await;
    let second = world.fingerprint_at(Stage::Current).unwrap();
    assert_eq!(world.registry.slots(USER), (Some(second), None));
}

#[tokio::test]
async fn grace_mode_keeps_the_previous_key_until_the_next_rotation() {
    let world = World::new(Setup {
        grace_mode: true,
        ..Setup::default()
    });
    let original = pool_key(0).fingerprint();
    let token = rotate_ok(&world).await;
    let first = world.fingerprint_at(Stage::Current).unwrap();
    assert!(
        world.registry.authenticates(USER, &original),
        "previous key still valid in grace mode"
    );
    let outcome = run_step(
        &world.ports(),
        &world.config,
        &event("finishSecret", &token),
    )
    .await
    .unwrap();
    let StepOutcome::Finished(report) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        report.slots,
        SlotOutcome::PreviousKept {
            new_slot: Slot::Two,
            previous_slot: Slot::One
        }
    );

    rotate_ok(&world).await;
    let second = world.fingerprint_at(Stage::Current).unwrap();
    assert!(
        !world.registry.authenticates(USER, &original),
        "the key before previous is gone"
    );
    assert_eq!(
        world.registry.authenticating(USER),
        [first, second].into_iter().collect()
    );
}

#[tokio::test]
async fn encrypted_keys_stay_encrypted_with_a_fresh_passphrase() {
    let world = World::new(Setup {
        encrypted: true,
        mirror: true,
        ..Setup::default()
    });
    rotate_ok(&world).await;
    let current = world.value(Stage::Current).unwrap();
    assert!(
        current
            .private_key_text()
            .contains("BEGIN ENCRYPTED PRIVATE KEY")
    );
    let passphrase = current
        .passphrase()
        .expect("a passphrase")
        .expose()
        .to_string();
    assert_ne!(passphrase, PASSPHRASE);
    assert!(passphrase.len() >= 32);
    assert!(
        PrivateKey::from_pem(current.private_key_text(), None).is_err(),
        "the new key needs its passphrase"
    );
    assert_eq!(
        current.private_key().unwrap().fingerprint(),
        world.fingerprint_at(Stage::Current).unwrap()
    );
    let mirrored = world
        .mirror
        .get("/snowkey/svc_dlt/private-key-passphrase")
        .expect("passphrase mirrored");
    assert_eq!(mirrored.expose(), passphrase);
    assert_notifications_clean(&world);
}

#[tokio::test]
async fn unencrypted_keys_stay_unencrypted_unless_configured() {
    let world = World::new(Setup::default());
    rotate_ok(&world).await;
    assert!(world.value(Stage::Current).unwrap().passphrase().is_none());

    let mut world = World::new(Setup {
        mirror: true,
        ..Setup::default()
    });
    world.config.encrypt_keys = true;
    rotate_ok(&world).await;
    let current = world.value(Stage::Current).unwrap();
    assert!(current.is_encrypted() && current.passphrase().is_some());
    assert_eq!(
        world.mirror.names().len(),
        2,
        "key and passphrase parameters"
    );
}

#[tokio::test]
async fn admin_mode_changes_the_user_through_the_admin_and_the_admin_rotates_itself() {
    let world = World::new(Setup {
        admin_mode: true,
        mirror: true,
        ..Setup::default()
    });
    rotate_ok(&world).await;
    rotate_ok(&world).await;
    assert!(
        world
            .registry
            .authenticates(ADMIN_USER, &world.admin_fingerprint())
    );

    // The admin secret has no admin_secret_arn: it rotates itself, in self mode.
    let token = world.store.begin_rotation(ADMIN_SECRET);
    for step in STEPS {
        let mut e = event(step.as_str(), &token);
        e.secret_id = ADMIN_SECRET.to_string();
        run_step(&world.ports(), &world.config, &e)
            .await
            .unwrap_or_else(|e| panic!("{step}: {e}"));
    }
    let admin_text = world.store.value_at(ADMIN_SECRET, Stage::Current).unwrap();
    let new_admin_fp = SecretValue::parse(admin_text.expose())
        .unwrap()
        .private_key()
        .unwrap()
        .fingerprint();
    assert_eq!(
        world.registry.authenticating(ADMIN_USER),
        [new_admin_fp].into_iter().collect()
    );
    // And the service user still rotates with the rotated admin key.
    rotate_ok(&world).await;
}

#[tokio::test]
async fn consumer_formats_write_each_tools_fields() {
    let world = World::with_tags(
        Setup::default(),
        &[(
            "snowkey:formats",
            "dlt,dbt,airbyte,kafka,lightdash,terraform",
        )],
    );
    world.store.overwrite_value(
        SECRET,
        Stage::Current,
        &secret_json(
            USER,
            &pool_key(0),
            None,
            None,
            r#""credentials":{"keep":"me","private_key":"old"},"snowflake.url.name":"x:443""#,
        ),
    );
    rotate_ok(&world).await;
    let text = world.store.value_at(SECRET, Stage::Current).unwrap();
    let v: serde_json::Value = serde_json::from_str(text.expose()).unwrap();
    let pem = v["private_key"].as_str().unwrap();
    assert!(
        pem.starts_with("-----BEGIN PRIVATE KEY-----\n"),
        "PEM with real newlines for dbt and Terraform"
    );
    assert_eq!(v["username"], USER, "dlt");
    assert_eq!(
        v["credentials"]["keep"], "me",
        "airbyte keeps other credential fields"
    );
    assert_eq!(v["credentials"]["private_key"], pem);
    assert_eq!(v["credentials"]["username"], USER);
    assert_eq!(v["credentials"]["auth_type"], "Key Pair Authentication");
    assert_eq!(v["privateKey"], pem, "lightdash");
    assert_eq!(v["authenticationType"], "private_key");
    assert_eq!(
        v["snowflake.url.name"], "x:443",
        "fields a format does not own are kept"
    );
    let body = v["snowflake.private.key"].as_str().unwrap();
    assert!(
        !body.contains('\n') && !body.contains("BEGIN"),
        "kafka wants the body on one line"
    );
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    assert_eq!(
        PrivateKey::from_bytes(&der, None).unwrap().fingerprint(),
        world.fingerprint_at(Stage::Current).unwrap()
    );
    assert!(
        v.get("snowflake.private.key.passphrase").is_none() && v.get("privateKeyPass").is_none()
    );
}

#[tokio::test]
async fn consumer_formats_carry_the_passphrase_of_encrypted_keys() {
    let world = World::with_tags(
        Setup {
            encrypted: true,
            ..Setup::default()
        },
        &[("snowkey:formats", "kafka,lightdash,airbyte")],
    );
    rotate_ok(&world).await;
    let current = world.value(Stage::Current).unwrap();
    let passphrase = current.passphrase().unwrap().expose().to_string();
    let v: serde_json::Value = serde_json::from_str(
        world
            .store
            .value_at(SECRET, Stage::Current)
            .unwrap()
            .expose(),
    )
    .unwrap();
    assert_eq!(v["snowflake.private.key.passphrase"], passphrase.as_str());
    assert_eq!(v["privateKeyPass"], passphrase.as_str());
    assert_eq!(
        v["credentials"]["private_key_password"],
        passphrase.as_str()
    );
    let pem = format!(
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\n{}\n-----END ENCRYPTED PRIVATE KEY-----\n",
        v["snowflake.private.key"].as_str().unwrap()
    );
    let key = PrivateKey::from_pem(&pem, Some(&Passphrase::new(passphrase))).unwrap();
    assert_eq!(
        key.fingerprint(),
        world.fingerprint_at(Stage::Current).unwrap()
    );
}

#[tokio::test]
async fn test_secret_fails_while_the_pending_key_is_not_registered() {
    let world = World::new(Setup::default());
    let token = world.store.begin_rotation(SECRET);
    let ports = world.ports();
    run_step(&ports, &world.config, &event("createSecret", &token))
        .await
        .unwrap();
    let err = run_step(&ports, &world.config, &event("testSecret", &token))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("did not pass the test after 1 attempt"),
        "{err}"
    );
    let failed = world.notifier.published().pop().unwrap().to_chatbot_json();
    assert!(
        failed.contains("testSecret") && failed.contains(SECRET),
        "{failed}"
    );
    assert_no_secrets(&world, &failed);
    // finishSecret refuses to move AWSCURRENT to a key Snowflake does not know.
    let err = run_step(&ports, &world.config, &event("finishSecret", &token))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("setSecret has not completed"),
        "{err}"
    );
    assert_eq!(
        world.fingerprint_at(Stage::Current),
        Some(pool_key(0).fingerprint())
    );
}
