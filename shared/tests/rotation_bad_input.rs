//! Bad input stops a step with a clear error and changes nothing in Snowflake or Secrets Manager.

mod rotation_common;

use rotation_common::*;
use snowkey_shared::keys::Passphrase;
use snowkey_shared::rotation::{RotationError, Stage, run_step};
use snowkey_shared::snowflake::Slot;

/// Runs the whole rotation expecting a failure; asserts nothing changed that matters.
async fn expect_failure(world: &World, token: &str) -> RotationError {
    let snapshot_current = world.store.version_at(SECRET, Stage::Current);
    let slots = world.registry.slots(USER);
    let err = steps_until_failure(world, token).await;
    assert_eq!(
        world.store.version_at(SECRET, Stage::Current),
        snapshot_current,
        "AWSCURRENT did not move"
    );
    assert_eq!(world.registry.slots(USER), slots, "no slot changed");
    assert_no_secrets(world, &err.to_string());
    let failed = world.notifier.published().pop().expect("a failure message");
    assert!(failed.to_chatbot_json().contains(SECRET));
    assert_no_secrets(world, &failed.to_chatbot_json());
    err
}

/// The four steps in order, without invariant checks (the current value may be unreadable on purpose).
async fn steps_until_failure(world: &World, token: &str) -> RotationError {
    for step in STEPS {
        if let Err(e) = run_step(&world.ports(), &world.config, &event(step.as_str(), token)).await
        {
            return e;
        }
    }
    panic!("the rotation must fail")
}

fn world_with_value(value: &str) -> World {
    let world = World::new(Setup::default());
    world.store.overwrite_value(SECRET, Stage::Current, value);
    world
}

#[tokio::test]
async fn missing_fields_not_json_and_wrong_types_name_the_field() {
    let key = pool_key(0);
    let pem = serde_json::to_string(key.to_pkcs8_pem().as_str()).unwrap();
    for (value, field) in [
        (
            format!(r#"{{"account":"{ACCOUNT}","user":"{USER}"}}"#),
            "private_key",
        ),
        (
            format!(r#"{{"account":"{ACCOUNT}","private_key":{pem}}}"#),
            "user",
        ),
        (
            format!(r#"{{"user":"{USER}","private_key":{pem}}}"#),
            "account",
        ),
        (
            format!(r#"{{"account":"{ACCOUNT}","user":["x"],"private_key":{pem}}}"#),
            "user",
        ),
        (
            format!(
                r#"{{"account":"{ACCOUNT}","user":"{USER}","private_key":{pem},"host":"ftp://h"}}"#
            ),
            "host",
        ),
        ("not json at all".to_string(), "(value)"),
        (
            format!("{{\"account\":\"{ACCOUNT}\",\"user\":\"{USER}\",\"private_key\":{pem}"),
            "(value)",
        ),
    ] {
        let world = world_with_value(&value);
        let token = world.store.begin_rotation(SECRET);
        let before = world.store.snapshot(SECRET);
        let err = expect_failure(&world, &token).await;
        assert!(
            matches!(&err, RotationError::InvalidSecret { field: f, .. } if f == field),
            "{field}: {err}"
        );
        assert!(err.to_string().contains("createSecret"), "{err}");
        assert_eq!(
            world.store.snapshot(SECRET),
            before,
            "nothing written to Secrets Manager"
        );
    }
}

#[tokio::test]
async fn corrupt_or_wrongly_encrypted_current_key_is_refused() {
    let key = pool_key(0);
    let encrypted = key
        .to_encrypted_pkcs8_pem(&Passphrase::new("the right one"))
        .unwrap();
    let corrupt = key.to_pkcs8_pem().replace("MII", "XYZ");
    for (pem, passphrase, expected) in [
        (corrupt.as_str(), None, "malformed"),
        (
            encrypted.as_str(),
            Some("the wrong one"),
            "wrong passphrase",
        ),
        (encrypted.as_str(), None, "no passphrase"),
    ] {
        let mut value = serde_json::json!({"account": ACCOUNT, "user": USER, "private_key": pem});
        if let Some(p) = passphrase {
            value["private_key_passphrase"] = p.into();
        }
        let world = world_with_value(&value.to_string());
        let token = world.store.begin_rotation(SECRET);
        let before = world.store.snapshot(SECRET);
        let err = expect_failure(&world, &token).await;
        assert!(err.to_string().contains(expected), "{err}");
        assert!(err.to_string().contains("private_key"), "{err}");
        assert!(
            !err.to_string().contains("the right one")
                && !err.to_string().contains("the wrong one")
        );
        assert_eq!(world.store.snapshot(SECRET), before);
    }
}

#[tokio::test]
async fn guard_failures_unknown_step_bad_token_disabled_rotation() {
    let world = World::new(Setup::default());
    let token = world.store.begin_rotation(SECRET);
    let before = world.store.snapshot(SECRET);
    let ports = world.ports();

    let err = run_step(&ports, &world.config, &event("rotateSecret", &token))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RotationError::UnknownStep { .. })
            && err.to_string().contains("rotateSecret"),
        "{err}"
    );

    let err = run_step(
        &ports,
        &world.config,
        &event("createSecret", "not-a-version"),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, RotationError::TokenNotAVersion { .. }),
        "{err}"
    );

    let current = world.store.version_at(SECRET, Stage::Current).unwrap();
    rotate_ok(&world).await;
    // The old AWSCURRENT is now AWSPREVIOUS: a version, but not pending.
    let err = run_step(&ports, &world.config, &event("setSecret", &current))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RotationError::TokenNotPending { .. }),
        "{err}"
    );

    world.store.set_rotation_enabled(SECRET, false);
    let token = world.store.begin_rotation(SECRET);
    let err = run_step(&ports, &world.config, &event("createSecret", &token))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RotationError::RotationDisabled { .. }),
        "{err}"
    );
    assert_eq!(
        world.store.value_at(SECRET, Stage::Pending).map(|_| ()),
        None,
        "nothing created"
    );
    let _ = before;
    assert!(
        world.notifier.published().len() >= 4,
        "every failure is published"
    );
}

#[tokio::test]
async fn a_slot_holding_an_unknown_key_is_never_touched() {
    // setSecret would write slot 2, which holds a key nobody can attribute.
    let world = World::new(Setup::default());
    world
        .registry
        .put_slot(USER, Slot::Two, Some(&outsider_key()));
    let token = world.store.begin_rotation(SECRET);
    let err = expect_failure(&world, &token).await;
    let text = err.to_string();
    assert!(
        matches!(
            err,
            RotationError::UnattributedKey {
                slot: Slot::Two,
                ..
            }
        ),
        "{text}"
    );
    assert!(
        text.contains("RSA_PUBLIC_KEY_2") && text.contains(outsider_key().fingerprint().as_str()),
        "{text}"
    );
    assert!(
        world
            .registry
            .authenticates(USER, &outsider_key().fingerprint())
    );

    // finishSecret found the token AWSCURRENT, but a grace-mode slot now holds an unknown key.
    let world = World::new(Setup {
        grace_mode: true,
        ..Setup::default()
    });
    let token = rotate_ok(&world).await;
    world
        .registry
        .put_slot(USER, Slot::One, Some(&outsider_key()));
    let mut no_grace = world.config.clone();
    no_grace.grace_mode = false;
    let err = run_step(&world.ports(), &no_grace, &event("finishSecret", &token))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RotationError::UnattributedKey {
                slot: Slot::One,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        world
            .registry
            .authenticates(USER, &outsider_key().fingerprint()),
        "the unknown key stays"
    );
}

#[tokio::test]
async fn current_key_not_registered_stops_before_any_change() {
    let world = World::new(Setup {
        admin_mode: true,
        ..Setup::default()
    });
    // With the key gone only an owning admin can read the slots (MPAM-only: rotation_admin_privileges).
    world.grant_admin_ownership();
    world.registry.put_slot(USER, Slot::One, None);
    let token = world.store.begin_rotation(SECRET);
    let err = run_step(
        &world.ports(),
        &world.config,
        &event("createSecret", &token),
    )
    .await
    .map(|_| ());
    assert!(err.is_ok());
    let err = run_step(&world.ports(), &world.config, &event("setSecret", &token))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RotationError::CurrentNotRegistered { .. }),
        "{err}"
    );
    assert_eq!(world.registry.slots(USER), (None, None));
}

#[tokio::test]
async fn unknown_user_and_missing_privileges_fail_in_set_secret() {
    // The admin user lacks the privilege to change other users.
    let world = World::new(Setup {
        admin_mode: true,
        ..Setup::default()
    });
    world
        .registry
        .add_user(ADMIN_USER, &pool_key(1).public_key());
    let token = world.store.begin_rotation(SECRET);
    let err = expect_failure(&world, &token).await;
    assert!(
        err.to_string().contains("setSecret")
            && err.to_string().contains("Insufficient privileges"),
        "{err}"
    );

    // The secret names a user Snowflake does not know: the key cannot log in.
    let world = World::new(Setup::default());
    world.store.overwrite_value(
        SECRET,
        Stage::Current,
        &secret_json("NO_SUCH_USER", &pool_key(0), None, None, ""),
    );
    let token = world.store.begin_rotation(SECRET);
    let slots = world.registry.slots(USER);
    let err = steps_until_failure(&world, &token).await;
    assert_eq!(err.step().map(|s| s.as_str()), Some("setSecret"), "{err}");
    assert!(
        matches!(&err, RotationError::LoginFailed { user, version, .. }
            if user == "NO_SUCH_USER" && version == "AWSCURRENT"),
        "{err}"
    );
    assert_eq!(world.registry.slots(USER), slots);
}

#[tokio::test]
async fn bad_tags_stop_the_rotation_before_anything_is_written() {
    let world = World::with_tags(Setup::default(), &[("snowkey:formats", "dbt,fivetran")]);
    let token = world.store.begin_rotation(SECRET);
    let before = world.store.snapshot(SECRET);
    let err = expect_failure(&world, &token).await;
    assert!(
        matches!(err, RotationError::InvalidTag { .. }) && err.to_string().contains("fivetran"),
        "{err}"
    );
    assert_eq!(world.store.snapshot(SECRET), before);
}
