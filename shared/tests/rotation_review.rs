//! Findings of the security review of the rotation path, each pinned by a test: keys Snowflake
//! lists but does not accept, edited secrets, and AWSPREVIOUS versions of another user.

mod rotation_common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use rotation_common::*;
use snowkey_shared::keys::{Fingerprint, PublicKey};
use snowkey_shared::rotation::memory::MemoryKeyRegistry;
use snowkey_shared::rotation::{
    Connection, KeyRegistry, Ports, RotationError, SetKeyOutcome, Stage, run_step,
};
use snowkey_shared::snowflake::{Slot, SnowflakeError, UserKeySlots};

/// A registry where some keys are listed in `DESC USER` but refused at login (as a network policy,
/// a disabled user or a propagation lag would do).
#[derive(Clone)]
struct RefusesLogin {
    inner: MemoryKeyRegistry,
    refused: Arc<Mutex<BTreeSet<Fingerprint>>>,
}

impl RefusesLogin {
    fn new(inner: MemoryKeyRegistry) -> Self {
        RefusesLogin {
            inner,
            refused: Arc::default(),
        }
    }
    fn refuse(&self, fp: Fingerprint) {
        self.refused.lock().unwrap().insert(fp);
    }
    fn check(&self, conn: &Connection) -> Result<(), SnowflakeError> {
        if self
            .refused
            .lock()
            .unwrap()
            .contains(&conn.key.fingerprint())
        {
            return Err(SnowflakeError::Authentication {
                code: "390144".into(),
                message: "JWT token is invalid.".into(),
            });
        }
        Ok(())
    }
}

impl KeyRegistry for RefusesLogin {
    async fn describe_user(&self, c: &Connection, u: &str) -> Result<UserKeySlots, SnowflakeError> {
        self.check(c)?;
        self.inner.describe_user(c, u).await
    }
    async fn set_key(
        &self,
        c: &Connection,
        u: &str,
        slot: Slot,
        key: &PublicKey,
    ) -> Result<SetKeyOutcome, SnowflakeError> {
        self.check(c)?;
        self.inner.set_key(c, u, slot, key).await
    }
    async fn unset_key(&self, c: &Connection, u: &str, slot: Slot) -> Result<(), SnowflakeError> {
        self.check(c)?;
        self.inner.unset_key(c, u, slot).await
    }
    async fn current_user(&self, c: &Connection) -> Result<String, SnowflakeError> {
        self.check(c)?;
        self.inner.current_user(c).await
    }
}

fn ports_refusing(
    world: &World,
    registry: &RefusesLogin,
) -> Ports<
    snowkey_shared::rotation::memory::MemorySecretStore,
    RefusesLogin,
    snowkey_shared::rotation::memory::MemoryNotifier,
    snowkey_shared::rotation::memory::MemoryMirror,
    snowkey_shared::rotation::memory::PregeneratedKeys,
> {
    Ports::new(
        world.store.clone(),
        registry.clone(),
        world.notifier.clone(),
        world.mirror.clone(),
    )
    .with_key_generator(world.keygen.clone())
}

#[tokio::test]
async fn finish_secret_does_not_move_current_to_a_key_snowflake_refuses() {
    let world = World::new(Setup::default());
    let token = world.store.begin_rotation(SECRET);
    let registry = RefusesLogin::new(world.registry.clone());
    let ports = ports_refusing(&world, &registry);
    for step in ["createSecret", "setSecret"] {
        run_step(&ports, &world.config, &event(step, &token))
            .await
            .unwrap();
    }
    // Listed in a slot, yet Snowflake refuses it; testSecret was skipped or raced.
    registry.refuse(world.fingerprint_at(Stage::Pending).unwrap());
    let before = world.store.version_at(SECRET, Stage::Current);
    let err = run_step(&ports, &world.config, &event("finishSecret", &token))
        .await
        .unwrap_err();
    assert!(matches!(err, RotationError::LoginFailed { .. }), "{err}");
    assert!(err.to_string().contains("AWSPENDING"), "{err}");
    assert_eq!(
        world.store.version_at(SECRET, Stage::Current),
        before,
        "AWSCURRENT stays on the key that works"
    );
    assert_no_secrets(&world, &err.to_string());
}

#[tokio::test]
async fn admin_mode_set_secret_first_proves_the_current_key_logs_in() {
    let world = World::new(Setup {
        admin_mode: true,
        ..Setup::default()
    });
    let token = world.store.begin_rotation(SECRET);
    let registry = RefusesLogin::new(world.registry.clone());
    let ports = ports_refusing(&world, &registry);
    run_step(&ports, &world.config, &event("createSecret", &token))
        .await
        .unwrap();
    registry.refuse(world.fingerprint_at(Stage::Current).unwrap());
    let slots = world.registry.slots(USER);
    let err = run_step(&ports, &world.config, &event("setSecret", &token))
        .await
        .unwrap_err();
    assert!(matches!(err, RotationError::LoginFailed { .. }), "{err}");
    assert!(err.to_string().contains("AWSCURRENT"), "{err}");
    assert_eq!(world.registry.slots(USER), slots, "no slot changed");
}

#[tokio::test]
async fn a_pending_version_pointing_at_another_host_is_refused() {
    let world = World::new(Setup::default());
    let token = world.store.begin_rotation(SECRET);
    run_step(
        &world.ports(),
        &world.config,
        &event("createSecret", &token),
    )
    .await
    .unwrap();
    let pending = world.store.value_at(SECRET, Stage::Pending).unwrap();
    let mut edited: serde_json::Value = serde_json::from_str(pending.expose()).unwrap();
    edited["host"] = "https://collector.example.net".into();
    world
        .store
        .overwrite_value(SECRET, Stage::Pending, &edited.to_string());
    let slots = world.registry.slots(USER);
    for step in ["setSecret", "finishSecret"] {
        let err = run_step(&world.ports(), &world.config, &event(step, &token))
            .await
            .unwrap_err();
        assert!(
            matches!(err, RotationError::IdentityChanged { field: "host", .. }),
            "{step}: {err}"
        );
    }
    assert_eq!(world.registry.slots(USER), slots, "no slot changed");
}

#[tokio::test]
async fn a_previous_version_for_another_user_vouches_for_no_key() {
    let world = World::new(Setup::default());
    rotate_ok(&world).await;
    // Someone edited the secret's history: AWSPREVIOUS names another user, with the outsider's key,
    // and that key sits in slot 2 of our user. It is not this user's previous key: leave it.
    let outsider = pool_key(2);
    world.store.overwrite_value(
        SECRET,
        Stage::Previous,
        &secret_json("SVC_OTHER", &outsider, None, None, ""),
    );
    let new_slot = if world.registry.slots(USER).0.is_some() {
        Slot::Two
    } else {
        Slot::One
    };
    world
        .registry
        .put_slot(USER, new_slot, Some(&outsider.public_key()));
    let token = world.store.begin_rotation(SECRET);
    let mut error = None;
    for step in ["createSecret", "setSecret"] {
        if let Err(e) = run_step(&world.ports(), &world.config, &event(step, &token)).await {
            error = Some(e);
            break;
        }
    }
    let err = error.expect("setSecret must refuse");
    assert!(
        matches!(err, RotationError::UnattributedKey { slot, .. } if slot == new_slot),
        "{err}"
    );
    assert!(
        world
            .registry
            .authenticates(USER, &outsider.public_key().fingerprint()),
        "the key stays"
    );
}
