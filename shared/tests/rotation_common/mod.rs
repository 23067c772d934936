//! Shared fixtures for the rotation domain tests: pre-generated keys, a world of in-memory
//! adapters, a fault-injecting wrapper, and the invariant checks.
#![allow(dead_code)]

mod faults;
pub use faults::*;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use snowkey_shared::keys::{Fingerprint, KeySize, Passphrase, PrivateKey, PublicKey};
use snowkey_shared::rotation::memory::{
    MemoryKeyRegistry, MemoryMirror, MemoryNotifier, MemorySecretStore, PregeneratedKeys,
};
use snowkey_shared::rotation::secret_value::SecretValue;
use snowkey_shared::rotation::{
    KeyMirror, KeyRegistry, Notifier, Ports, RotationConfig, RotationError, RotationEvent,
    SecretStore, Stage, Step, StepOutcome, run_step,
};

pub const ACCOUNT: &str = "xy12345.us-east-1";
pub const USER: &str = "SVC_DLT";
pub const ADMIN_USER: &str = "SVC_KEY_ADMIN";
pub const SECRET: &str = "snowflake/svc_dlt";
pub const ADMIN_SECRET: &str = "snowflake/svc_key_admin";
pub const PASSPHRASE: &str = "correct horse battery staple";
/// A field a consumer keeps in the secret, with formatting that must survive byte for byte.
/// (Values keep their bytes; the separators between top-level fields are written compactly.)
pub const EXTRA_FIELDS: &str =
    r#""database":"RAW","settings":{"retries" : 3,"tags":["a", "b"]},"ratio":1.50e0"#;

/// Keys generated once per test binary: index 0 is the user's first key, 1 the admin's, 2 an
/// outsider's; the generator hands out the rest.
pub fn key_pool() -> Arc<Vec<Vec<u8>>> {
    static POOL: OnceLock<Arc<Vec<Vec<u8>>>> = OnceLock::new();
    POOL.get_or_init(|| {
        let keys: Vec<Vec<u8>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| {
                        (0..12)
                            .map(|_| {
                                PrivateKey::generate(KeySize::Rsa2048)
                                    .unwrap()
                                    .pkcs8_der()
                                    .to_vec()
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        Arc::new(keys)
    })
    .clone()
}

pub fn pool_key(index: usize) -> PrivateKey {
    PrivateKey::from_bytes(&key_pool()[index], None).unwrap()
}

pub const FIRST_GENERATED: usize = 3;

/// How a world is set up.
#[derive(Debug, Clone, Copy, Default)]
pub struct Setup {
    pub admin_mode: bool,
    pub refuse_duplicates: bool,
    pub grace_mode: bool,
    pub encrypted: bool,
    pub mirror: bool,
}

pub struct World {
    pub setup: Setup,
    pub store: MemorySecretStore,
    pub registry: MemoryKeyRegistry,
    pub notifier: MemoryNotifier,
    pub mirror: MemoryMirror,
    pub keygen: PregeneratedKeys,
    pub config: RotationConfig,
}

pub fn secret_json(
    user: &str,
    key: &PrivateKey,
    passphrase: Option<&str>,
    admin_arn: Option<&str>,
    extra: &str,
) -> String {
    let pem = match passphrase {
        Some(p) => key
            .to_encrypted_pkcs8_pem(&Passphrase::new(p))
            .unwrap()
            .to_string(),
        None => key.to_pkcs8_pem().to_string(),
    };
    let mut fields = vec![
        format!("\"account\":\"{ACCOUNT}\""),
        format!("\"user\":{}", serde_json::to_string(user).unwrap()),
        format!("\"private_key\":{}", serde_json::to_string(&pem).unwrap()),
    ];
    if let Some(p) = passphrase {
        fields.push(format!("\"private_key_passphrase\":\"{p}\""));
    }
    if let Some(arn) = admin_arn {
        fields.push(format!("\"admin_secret_arn\":\"{arn}\""));
    }
    if !extra.is_empty() {
        fields.push(extra.to_string());
    }
    format!("{{{}}}", fields.join(","))
}

impl World {
    pub fn new(setup: Setup) -> World {
        Self::with_tags(setup, &[])
    }

    pub fn with_tags(setup: Setup, extra_tags: &[(&str, &str)]) -> World {
        let store = MemorySecretStore::new();
        let registry = MemoryKeyRegistry::new(setup.refuse_duplicates);
        let user_key = pool_key(0);
        registry.add_user(USER, &user_key.public_key());
        let admin_arn = setup.admin_mode.then(|| {
            let admin_key = pool_key(1);
            // MPAM only, as issue 4 asks: the admin may change keys but not DESC USER others.
            registry.add_admin(ADMIN_USER, &admin_key.public_key());
            store.create_secret(
                ADMIN_SECRET,
                &secret_json(ADMIN_USER, &admin_key, None, None, ""),
                &[],
            )
        });
        let mut tags: Vec<(&str, &str)> = extra_tags.to_vec();
        if setup.mirror {
            tags.push(("snowkey:ssm-parameter", "/snowkey/svc_dlt/private-key"));
        }
        let passphrase = setup.encrypted.then_some(PASSPHRASE);
        store.create_secret(
            SECRET,
            &secret_json(
                USER,
                &user_key,
                passphrase,
                admin_arn.as_deref(),
                EXTRA_FIELDS,
            ),
            &tags,
        );
        let config = RotationConfig {
            grace_mode: setup.grace_mode,
            test_retry: Duration::ZERO,
            test_retry_interval: Duration::ZERO,
            ..RotationConfig::default()
        };
        World {
            setup,
            store,
            registry,
            notifier: MemoryNotifier::default(),
            mirror: MemoryMirror::default(),
            keygen: PregeneratedKeys::starting_at(key_pool(), FIRST_GENERATED),
            config,
        }
    }

    pub fn ports(
        &self,
    ) -> Ports<MemorySecretStore, MemoryKeyRegistry, MemoryNotifier, MemoryMirror, PregeneratedKeys>
    {
        Ports::new(
            self.store.clone(),
            self.registry.clone(),
            self.notifier.clone(),
            self.mirror.clone(),
        )
        .with_key_generator(self.keygen.clone())
    }

    /// Ports whose every I/O call passes through `plan`.
    pub fn faulty_ports(
        &self,
        plan: &Arc<FaultPlan>,
    ) -> Ports<
        Faulty<MemorySecretStore>,
        Faulty<MemoryKeyRegistry>,
        Faulty<MemoryNotifier>,
        Faulty<MemoryMirror>,
        PregeneratedKeys,
    > {
        Ports::new(
            Faulty {
                inner: self.store.clone(),
                plan: plan.clone(),
            },
            Faulty {
                inner: self.registry.clone(),
                plan: plan.clone(),
            },
            Faulty {
                inner: self.notifier.clone(),
                plan: plan.clone(),
            },
            Faulty {
                inner: self.mirror.clone(),
                plan: plan.clone(),
            },
        )
        .with_key_generator(self.keygen.clone())
    }

    pub fn value(&self, stage: Stage) -> Option<SecretValue> {
        self.store
            .value_at(SECRET, stage)
            .and_then(|t| SecretValue::parse(t.expose()).ok())
    }

    pub fn fingerprint_at(&self, stage: Stage) -> Option<Fingerprint> {
        fingerprint_of(self.store.value_at(SECRET, stage)?.expose())
    }

    /// Gives the admin's role OWNERSHIP of the other users (the setup some accounts use), keeping its key.
    pub fn grant_admin_ownership(&self) {
        let text = self.store.value_at(ADMIN_SECRET, Stage::Current).unwrap();
        let key = SecretValue::parse(text.expose())
            .unwrap()
            .private_key()
            .unwrap();
        self.registry.add_owner_admin(ADMIN_USER, &key.public_key());
    }

    /// The admin secret's AWSCURRENT key (the admin rotates too).
    pub fn admin_fingerprint(&self) -> Fingerprint {
        fingerprint_of(
            self.store
                .value_at(ADMIN_SECRET, Stage::Current)
                .unwrap()
                .expose(),
        )
        .unwrap()
    }

    /// Invariants 1, 2 and 5 (as observable from outside), checked after every step.
    pub fn assert_invariants(&self, set_returned: bool, context: &str) {
        let current = self
            .fingerprint_at(Stage::Current)
            .expect("AWSCURRENT has a readable key");
        assert!(
            self.registry.authenticates(USER, &current),
            "{context}: invariant 1: the AWSCURRENT key must authenticate"
        );
        let pending = self.fingerprint_at(Stage::Pending);
        if set_returned && let Some(pending) = &pending {
            assert!(
                self.registry.authenticates(USER, pending),
                "{context}: invariant 2: AWSPENDING must authenticate after setSecret"
            );
        }
        let previous = self.fingerprint_at(Stage::Previous);
        for fp in self.registry.authenticating(USER) {
            // A key the test planted by hand (the outsider's) is not the function's doing.
            let attributable = fp == current
                || pending.as_ref() == Some(&fp)
                || previous.as_ref() == Some(&fp)
                || fp == outsider_key().fingerprint();
            assert!(
                attributable,
                "{context}: invariant 5: a slot holds {fp}, which no version of the secret owns"
            );
        }
        if self.setup.admin_mode {
            assert!(
                self.registry
                    .authenticates(ADMIN_USER, &self.admin_fingerprint()),
                "{context}: the admin key must be untouched"
            );
        }
    }

    /// Invariant 3, after a finished rotation.
    pub fn assert_finished(&self, context: &str) {
        assert_eq!(
            self.store.version_at(SECRET, Stage::Pending),
            None,
            "{context}: no AWSPENDING left"
        );
        let current = self.fingerprint_at(Stage::Current).unwrap();
        let mut expected = std::collections::BTreeSet::from([current.clone()]);
        if self.setup.grace_mode
            && let Some(previous) = self.fingerprint_at(Stage::Previous)
        {
            expected.insert(previous);
        }
        assert_eq!(
            self.registry.authenticating(USER),
            expected,
            "{context}: invariant 3: only the expected keys authenticate"
        );
        if self.setup.mirror {
            let mirrored = self
                .mirror
                .get("/snowkey/svc_dlt/private-key")
                .expect("mirror written");
            assert_eq!(
                mirrored.expose(),
                self.value(Stage::Current).unwrap().private_key_text(),
                "{context}: SSM mirrors AWSCURRENT"
            );
        }
    }
}

/// The fingerprint of a secret value's key, cached: encrypted keys take a slow key derivation.
pub fn fingerprint_of(secret_text: &str) -> Option<Fingerprint> {
    static CACHE: OnceLock<Mutex<HashMap<String, Fingerprint>>> = OnceLock::new();
    let value = SecretValue::parse(secret_text).ok()?;
    let cache_key = format!(
        "{}|{:?}",
        value.private_key_text(),
        value.passphrase().map(|p| p.expose().to_string())
    );
    let cache = CACHE.get_or_init(Default::default);
    if let Some(fp) = cache.lock().unwrap().get(&cache_key) {
        return Some(fp.clone());
    }
    let fp = value.private_key().ok()?.fingerprint();
    cache.lock().unwrap().insert(cache_key, fp.clone());
    Some(fp)
}

pub fn event(step: &str, token: &str) -> RotationEvent {
    RotationEvent {
        secret_id: SECRET.to_string(),
        client_request_token: token.to_string(),
        step: step.to_string(),
        rotation_token: None,
    }
}

pub const STEPS: [Step; 4] = [Step::Create, Step::Set, Step::Test, Step::Finish];

/// Runs the four steps as Secrets Manager does, checking invariants after each; stops at the first error.
pub async fn rotate<S: SecretStore, K: KeyRegistry, N: Notifier, M: KeyMirror>(
    world: &World,
    ports: &Ports<S, K, N, M, PregeneratedKeys>,
    token: &str,
    set_returned: &mut bool,
) -> Result<Vec<StepOutcome>, (Step, RotationError)> {
    let mut outcomes = Vec::new();
    for step in STEPS {
        let result = run_step(ports, &world.config, &event(step.as_str(), token)).await;
        if step == Step::Set && result.is_ok() {
            *set_returned = true;
        }
        world.assert_invariants(
            *set_returned,
            &format!(
                "after {step} ({})",
                if result.is_ok() { "ok" } else { "failed" }
            ),
        );
        match result {
            Ok(outcome) => outcomes.push(outcome),
            Err(e) => {
                assert_no_secrets(world, &e.to_string());
                return Err((step, e));
            }
        }
    }
    Ok(outcomes)
}

/// One complete rotation with healthy ports; returns the token.
pub async fn rotate_ok(world: &World) -> String {
    let token = world.store.begin_rotation(SECRET);
    let mut set_returned = false;
    rotate(world, &world.ports(), &token, &mut set_returned)
        .await
        .unwrap_or_else(|(step, e)| panic!("{step}: {e}"));
    world.assert_finished("after a rotation");
    token
}

/// No key body, PEM marker or passphrase from any version of the secret appears in `text`.
pub fn assert_no_secrets(world: &World, text: &str) {
    assert!(
        !text.contains("PRIVATE KEY-----"),
        "PEM marker leaked: {text}"
    );
    assert!(!text.contains(PASSPHRASE), "passphrase leaked: {text}");
    for stage in [Stage::Current, Stage::Pending, Stage::Previous] {
        let Some(value) = world.value(stage) else {
            continue;
        };
        // Any 40-character run of the key body would identify it.
        for line in value
            .private_key_text()
            .lines()
            .filter(|l| !l.starts_with("-----") && l.len() >= 40)
        {
            assert!(!text.contains(&line[..40]), "key material leaked: {text}");
        }
        if let Some(p) = value.passphrase() {
            assert!(!text.contains(p.expose()), "passphrase leaked: {text}");
        }
    }
}

pub fn assert_notifications_clean(world: &World) {
    for n in world.notifier.published() {
        assert_no_secrets(world, &n.to_chatbot_json());
    }
}

/// An outsider's key (never in any secret).
pub fn outsider_key() -> PublicKey {
    pool_key(2).public_key()
}
