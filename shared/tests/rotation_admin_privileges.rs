//! Admin mode with the least privilege issue 4 asks for: a role with only MODIFY PROGRAMMATIC
//! AUTHENTICATION METHODS may change a user's keys but not `DESC USER` it (that takes OWNERSHIP),
//! so the user's slots are read by the user itself; an owning admin is the fallback.

mod rotation_common;

use rotation_common::*;
use snowkey_shared::rotation::secret_value::SecretValue;
use snowkey_shared::rotation::{Connection, KeyRegistry, RotationError, Stage, run_step};
use snowkey_shared::snowflake::Slot;

/// Logging in as the admin secret's user.
fn admin_connection(world: &World) -> Connection {
    let text = world.store.value_at(ADMIN_SECRET, Stage::Current).unwrap();
    let admin = SecretValue::parse(text.expose()).unwrap();
    Connection {
        settings: admin.connection_settings().unwrap(),
        key: std::sync::Arc::new(admin.private_key().unwrap()),
    }
}

fn admin_world() -> World {
    World::new(Setup {
        admin_mode: true,
        ..Setup::default()
    })
}

/// createSecret, setSecret and testSecret, then the AWSCURRENT key is removed by hand: only the
/// AWSPENDING key still logs in when finishSecret runs.
async fn current_key_removed_before_finish(world: &World) -> String {
    let token = world.store.begin_rotation(SECRET);
    for step in ["createSecret", "setSecret", "testSecret"] {
        run_step(&world.ports(), &world.config, &event(step, &token))
            .await
            .unwrap_or_else(|e| panic!("{step}: {e}"));
    }
    let current = world.fingerprint_at(Stage::Current).unwrap();
    assert_eq!(world.registry.slots(USER).0, Some(current));
    world.registry.put_slot(USER, Slot::One, None);
    token
}

#[tokio::test]
async fn an_admin_with_only_mpam_rotates_a_user_it_may_not_describe() {
    let world = admin_world();
    let refused = world
        .registry
        .describe_user(&admin_connection(&world), USER)
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("not authorized"),
        "the fixture's admin must lack OWNERSHIP: {refused}"
    );
    rotate_ok(&world).await;
    rotate_ok(&world).await;
}

#[tokio::test]
async fn a_current_key_that_no_longer_logs_in_is_read_through_an_owning_admin() {
    let world = admin_world();
    world.grant_admin_ownership();
    let token = current_key_removed_before_finish(&world).await;
    run_step(
        &world.ports(),
        &world.config,
        &event("finishSecret", &token),
    )
    .await
    .unwrap_or_else(|e| panic!("finishSecret: {e}"));
    assert_eq!(
        world.store.version_at(SECRET, Stage::Current).as_deref(),
        Some(token.as_str())
    );
    world.assert_finished("after finishing through the owning admin");
}

#[tokio::test]
async fn without_ownership_the_error_names_the_missing_privilege_and_nothing_changes() {
    let world = admin_world();
    let token = current_key_removed_before_finish(&world).await;
    let current_before = world.store.version_at(SECRET, Stage::Current);
    let slots_before = world.registry.slots(USER);
    let err = run_step(
        &world.ports(),
        &world.config,
        &event("finishSecret", &token),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, RotationError::LoginFailed { .. }), "{err}");
    let message = err.to_string();
    for expected in ["AWSCURRENT", ADMIN_USER, "OWNERSHIP"] {
        assert!(message.contains(expected), "{expected} missing: {message}");
    }
    assert_no_secrets(&world, &message);
    assert_eq!(
        world.store.version_at(SECRET, Stage::Current),
        current_before
    );
    assert_eq!(world.registry.slots(USER), slots_before);
}
