//! One rotation world: a fresh Snowflake emulator with a seeded service user, a uniquely named
//! secret in moto holding the user's first key, a topic with a queue, and the function's ports
//! built from the real adapters.

use std::sync::Arc;
use std::time::Duration;

use snowflake_emulator::seed::MPAM;
use snowflake_emulator::{Emulator, Seed, SeedRole, SeedUser};
use snowflake_key_rotation::App;
use snowkey_shared::keys::{Passphrase, PrivateKey};
use snowkey_shared::rotation::{Ports, RotationConfig, VersionCache};
use snowkey_shared::snowflake::{RetryPolicy, SqlApiKeyRegistry};

use crate::keys::PooledKeys;
use crate::stack::Stack;

pub const ACCOUNT: &str = "SNOWKEY-DEMO";
pub const TAG_SSM_PARAMETER: &str = "snowkey:ssm-parameter";
/// A field a consumer keeps in the secret; it must survive every rotation unchanged.
pub const CONSUMER_FIELD: (&str, &str) = ("database", "RAW");

/// How a scenario is set up.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// The first key is stored encrypted with a passphrase (so new keys are too).
    pub encrypted: bool,
    pub grace_mode: bool,
    /// The emulator's ⚠ switch: whether Snowflake accepts the same key in both slots.
    pub allow_duplicate_keys: bool,
    /// Tag the secret for the SSM mirror.
    pub mirror: bool,
    /// Offset into the key pool (scenarios running side by side may share keys, never emulators).
    pub key_offset: usize,
    /// Admin mode: the service user may not change its own keys; an admin user (its own secret,
    /// named by `admin_secret_arn`) holds the privilege on both users.
    pub admin: bool,
    /// Every invocation runs on a freshly started function, as when each step lands on a new
    /// Lambda instance: nothing is remembered between steps, so each step makes every AWS call
    /// it can make (what a fault matrix must cover).
    pub cold_starts: bool,
}

/// The admin side of an admin-mode scenario.
#[derive(Debug, Clone)]
pub struct AdminSide {
    pub user: String,
    pub secret_id: String,
}

pub struct Scenario {
    pub stack: Arc<Stack>,
    pub options: Options,
    pub emulator: Emulator,
    pub user: String,
    pub secret_id: String,
    pub admin: Option<AdminSide>,
    pub topic_arn: String,
    pub queue_url: String,
    pub parameter: Option<String>,
    pub kms_key_id: String,
    pub keys: PooledKeys,
    /// The function as built at cold start, over the fault-injecting AWS clients.
    pub app: App,
    /// Logs in for the invariant checks; never faulted by the AWS interceptor.
    pub checker: SqlApiKeyRegistry,
    pub http: reqwest::Client,
}

/// Bounds for the function's SQL API client: short, so hangs and retries keep the suite fast.
pub fn fast_retry_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 2,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        max_total: Duration::from_secs(10),
        request_timeout: Duration::from_millis(1500),
        poll_interval: Duration::from_millis(50),
        max_poll: Duration::from_secs(5),
    }
}

/// The secret JSON the way a user would store it.
pub fn secret_json(
    user: &str,
    key: &PrivateKey,
    passphrase: Option<&Passphrase>,
    host: &str,
    admin_secret_arn: Option<&str>,
) -> String {
    let pem = match passphrase {
        Some(p) => key.to_encrypted_pkcs8_pem(p).expect("encrypt").to_string(),
        None => key.to_pkcs8_pem().to_string(),
    };
    let mut value = serde_json::json!({
        "account": ACCOUNT,
        "user": user,
        "private_key": pem,
        "host": host,
        CONSUMER_FIELD.0: CONSUMER_FIELD.1,
    });
    if let Some(p) = passphrase {
        value["private_key_passphrase"] = p.expose().into();
    }
    if let Some(arn) = admin_secret_arn {
        value["admin_secret_arn"] = arn.into();
    }
    value.to_string()
}

/// The function as a cold start builds it: nothing remembered, no KMS key checked yet.
fn function_app(
    stack: &Stack,
    options: &Options,
    topic_arn: &str,
    kms_key_id: &str,
    http: &reqwest::Client,
) -> App {
    let ports = Ports::new(
        VersionCache::new(stack.secret_store()),
        SqlApiKeyRegistry::new(http.clone(), fast_retry_policy()),
        Some(stack.publisher(topic_arn)),
        Some(stack.mirror(kms_key_id)),
    );
    let rotation = RotationConfig {
        grace_mode: options.grace_mode,
        test_retry: Duration::from_millis(300),
        test_retry_interval: Duration::from_millis(100),
        ..RotationConfig::default()
    };
    App { rotation, ports }
}

impl Scenario {
    /// A freshly started function over the same clients (see [`Options::cold_starts`]).
    pub fn cold_app(&self) -> App {
        function_app(
            &self.stack,
            &self.options,
            &self.topic_arn,
            &self.kms_key_id,
            &self.http,
        )
    }

    pub async fn new(stack: Arc<Stack>, options: Options) -> anyhow::Result<Scenario> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let user = "SVC_LOADER".to_string();
        let keys = PooledKeys::new(options.key_offset);
        let first_key = keys.take();

        let mut seed = Seed::new(ACCOUNT);
        // Changing one's own key takes MODIFY PROGRAMMATIC AUTHENTICATION METHODS on oneself;
        // in admin mode only the admin's role may change keys, on both users.
        let admin_user = "SNOWKEY_ADMIN".to_string();
        let admin_key = options.admin.then(|| keys.take());
        let (role, holders, targets) = if options.admin {
            (
                "SNOWKEY_ROTATOR".to_string(),
                vec![admin_user.as_str()],
                vec![user.as_str(), admin_user.as_str()],
            )
        } else {
            (
                format!("{user}_KEYS"),
                vec![user.as_str()],
                vec![user.as_str()],
            )
        };
        // MPAM only, as the README asks of the rotation role: DESC USER of another user would need
        // OWNERSHIP, so the rotation reads the slots as the service user describing itself.
        seed.roles
            .push(SeedRole::new(&role, &holders, MPAM, &targets));
        let mut seed_user = SeedUser::service(&user, (!options.admin).then_some(role.as_str()));
        seed_user.rsa_public_key = Some(first_key.public_key().to_snowflake_body());
        seed.users.push(seed_user);
        if let Some(key) = &admin_key {
            let mut admin = SeedUser::service(&admin_user, Some(&role));
            admin.rsa_public_key = Some(key.public_key().to_snowflake_body());
            seed.users.push(admin);
        }
        seed.options.allow_duplicate_keys = options.allow_duplicate_keys;
        // Longer than the client's request timeout, short enough to keep the suite fast.
        seed.options.hang_ms = 2_500;
        let emulator = Emulator::start(seed).await?;

        let secret_id = format!("snowkey/e2e/{id}");
        let mut admin = None;
        let mut admin_arn = None;
        if let Some(key) = &admin_key {
            let admin_secret = format!("snowkey/e2e/{id}-admin");
            let value = secret_json(&admin_user, key, None, &emulator.url(), None);
            let out = stack
                .secrets
                .create_secret()
                .name(&admin_secret)
                .secret_string(value)
                .send()
                .await?;
            admin_arn = out.arn().map(str::to_string);
            admin = Some(AdminSide {
                user: admin_user.clone(),
                secret_id: admin_secret,
            });
        }
        let passphrase = options
            .encrypted
            .then(|| Passphrase::new(format!("first-passphrase-{id}")));
        let value = secret_json(
            &user,
            &first_key,
            passphrase.as_ref(),
            &emulator.url(),
            admin_arn.as_deref(),
        );
        let parameter = options
            .mirror
            .then(|| format!("/snowkey/e2e/{id}/private-key"));
        let mut create = stack
            .secrets
            .create_secret()
            .name(&secret_id)
            .secret_string(value);
        if let Some(name) = &parameter {
            create = create.tags(
                aws_sdk_secretsmanager::types::Tag::builder()
                    .key(TAG_SSM_PARAMETER)
                    .value(name)
                    .build(),
            );
        }
        create.send().await?;

        let (topic_arn, queue_url) = stack.topic_with_queue(&format!("snowkey-e2e-{id}")).await?;
        let kms_key_id = stack.create_kms_key().await?;
        let http = reqwest::Client::builder().build()?;
        let app = function_app(&stack, &options, &topic_arn, &kms_key_id, &http);
        let checker = SqlApiKeyRegistry::new(
            http.clone(),
            RetryPolicy {
                max_attempts: 1,
                request_timeout: Duration::from_secs(10),
                ..fast_retry_policy()
            },
        );
        Ok(Scenario {
            stack,
            options,
            emulator,
            user,
            secret_id,
            admin,
            topic_arn,
            queue_url,
            parameter,
            kms_key_id,
            keys,
            app,
            checker,
            http,
        })
    }

    /// Points the driver at the admin secret and user (admin mode), so the admin secret can be
    /// rotated by the same function; calling it again points back.
    pub fn switch_to_admin(&mut self) {
        let admin = self.admin.as_mut().expect("an admin-mode scenario");
        std::mem::swap(&mut self.user, &mut admin.user);
        std::mem::swap(&mut self.secret_id, &mut admin.secret_id);
        self.parameter = None;
    }

    /// Clears armed emulator faults a step did not consume (`DELETE /_emulator/faults`).
    pub async fn clear_snowflake_faults(&self) -> anyhow::Result<()> {
        self.http
            .delete(format!("{}/_emulator/faults", self.emulator.url()))
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }
}
