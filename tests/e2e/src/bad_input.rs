//! Bad input over real HTTP: what Secrets Manager and Snowflake hold right before an invocation
//! that must fail, compared after it; the raw invocation (any `Step` string); and re-seeding a
//! user in the emulator (its role, its slots) for cases [`crate::Options`] cannot express.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};

use anyhow::{Context, ensure};
use lambda_runtime::{Context as LambdaContext, LambdaEvent};
use snowflake_emulator::UserState;
use snowkey_shared::keys::{Passphrase, PrivateKey, PublicKey};
use snowkey_shared::rotation::secret_value::SecretValue;

use crate::keys;
use crate::logs::{self, LeakScanner};
use crate::scenario::Scenario;

/// One version of a secret: its stages and its `SecretString` (never printed).
#[derive(Clone, PartialEq, Eq)]
pub struct VersionState {
    pub stages: BTreeSet<String>,
    pub value: Option<String>,
}

impl fmt::Debug for VersionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The value holds a private key: show only that it exists and whether it changed.
        let value = self.value.as_ref().map(|v| {
            let mut h = DefaultHasher::new();
            v.hash(&mut h);
            format!("<{} bytes, digest {:016x}>", v.len(), h.finish())
        });
        f.debug_struct("VersionState")
            .field("stages", &self.stages)
            .field("value", &value)
            .finish()
    }
}

/// Everything a failing invocation must leave untouched: every version (stages and value) of the
/// scenario's secrets, and every user's slots as the emulator holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub secrets: BTreeMap<String, BTreeMap<String, VersionState>>,
    pub users: Vec<UserState>,
}

impl Snapshot {
    /// Read with the un-faulted clients: `ListSecretVersionIds` + `GetSecretValue` per version,
    /// and `GET /_emulator/users`.
    pub async fn take(s: &Scenario) -> anyhow::Result<Snapshot> {
        let mut secrets = BTreeMap::new();
        let mut ids = vec![s.secret_id.clone()];
        ids.extend(s.admin.as_ref().map(|a| a.secret_id.clone()));
        for id in ids {
            secrets.insert(id.clone(), versions(s, &id).await?);
        }
        let users = s
            .http
            .get(format!("{}/_emulator/users", s.emulator.url()))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(Snapshot { secrets, users })
    }

    /// The versions of the scenario's own secret.
    pub fn own(&self, s: &Scenario) -> &BTreeMap<String, VersionState> {
        &self.secrets[&s.secret_id]
    }

    /// A scanner for every private key and passphrase these secrets hold (also keys that do not
    /// parse: raw slices of their PEM body), plus the e2e key pool.
    pub fn leak_scanner(&self) -> LeakScanner {
        let mut scanner = LeakScanner::new();
        for key in keys::all_pool_keys() {
            scanner.add_key(&key);
        }
        for value in self.secrets.values().flat_map(|v| v.values()) {
            let Some(text) = &value.value else { continue };
            let Ok(json) = serde_json::from_str::<serde_json::Value>(text) else {
                continue;
            };
            if let Some(pem) = json["private_key"].as_str() {
                let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
                for start in (0..body.len().saturating_sub(40)).step_by(200) {
                    scanner.add("private key material", &body[start..start + 40]);
                }
            }
            if let Some(p) = json["private_key_passphrase"].as_str() {
                scanner.add("a passphrase", p);
            }
            if let Ok(parsed) = SecretValue::parse(text)
                && let Ok(key) = parsed.private_key()
            {
                scanner.add_key(&key);
            }
        }
        scanner
    }
}

async fn versions(s: &Scenario, secret_id: &str) -> anyhow::Result<BTreeMap<String, VersionState>> {
    // moto answers a NextToken even on the last page: page until one brings nothing new.
    let mut listed = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..20 {
        let page = s
            .stack
            .secrets
            .list_secret_version_ids()
            .secret_id(secret_id)
            .include_deprecated(true)
            .set_next_token(next.take())
            .send()
            .await?;
        let fresh: Vec<_> = page
            .versions()
            .iter()
            .filter(|v| {
                !listed.iter().any(
                    |l: &aws_sdk_secretsmanager::types::SecretVersionsListEntry| {
                        l.version_id() == v.version_id()
                    },
                )
            })
            .cloned()
            .collect();
        let done = fresh.is_empty() || page.next_token().is_none_or(str::is_empty);
        listed.extend(fresh);
        if done {
            break;
        }
        next = page.next_token().map(str::to_string);
    }
    let mut out = BTreeMap::new();
    for v in &listed {
        let id = v
            .version_id()
            .context("a version without an id")?
            .to_string();
        let value = match s
            .stack
            .secrets
            .get_secret_value()
            .secret_id(secret_id)
            .version_id(&id)
            .send()
            .await
        {
            Ok(got) => got.secret_string().map(str::to_string),
            // The version RotateSecret creates has no value until createSecret stores one.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_resource_not_found_exception()) =>
            {
                None
            }
            Err(e) => return Err(e.into()),
        };
        let stages = v.version_stages().iter().cloned().collect();
        out.insert(id, VersionState { stages, value });
    }
    Ok(out)
}

/// One invocation with the event Secrets Manager sends, `Step` given verbatim. Stages are not
/// normalised afterwards, so the snapshot sees exactly what the function left.
pub async fn invoke_raw(
    s: &Scenario,
    step: &str,
    token: &str,
) -> Result<serde_json::Value, lambda_runtime::Error> {
    let payload = serde_json::json!({
        "SecretId": s.secret_id,
        "ClientRequestToken": token,
        "Step": step,
    });
    snowflake_key_rotation::handle(&s.app, LambdaEvent::new(payload, LambdaContext::default()))
        .await
}

/// Invokes `step` expecting an error, and checks that nothing changed: every version of the
/// secrets (stages and value), every user's slots, no `ALTER USER` that succeeded; that a "rotation
/// failed" message naming the secret and `step` was published; and that neither the error nor the
/// message nor the captured logs hold a key, passphrase or JWT. Returns the error text (what
/// Secrets Manager would record) for the test's assertions on its wording.
pub async fn expect_refusal(s: &Scenario, step: &str, token: &str) -> anyhow::Result<String> {
    // Anything published before (e.g. by a step that succeeded) is not this invocation's.
    s.stack.drain_queue(&s.queue_url).await?;
    let before = Snapshot::take(s).await?;
    let seen = s.emulator.requests().len();
    let result = invoke_raw(s, step, token).await;
    let after = Snapshot::take(s).await?;
    let error = match result {
        Ok(outcome) => anyhow::bail!("{step} succeeded ({outcome}); it must refuse"),
        Err(e) => e.to_string(),
    };
    ensure!(
        after == before,
        "{step} failed ({error}) but changed state:\nbefore: {before:#?}\nafter: {after:#?}"
    );
    let altered: Vec<String> = s.emulator.requests()[seen..]
        .iter()
        .filter(|r| r.executed && r.error_code.is_none())
        .filter_map(|r| r.statement.clone())
        .filter(|st| st.trim_start().to_ascii_uppercase().starts_with("ALTER"))
        .collect();
    ensure!(altered.is_empty(), "{step} changed keys: {altered:?}");

    let messages = s.stack.drain_queue(&s.queue_url).await?;
    ensure!(
        messages.iter().any(|m| m.severity == "HIGH"
            && m.body.contains(&s.secret_id)
            && m.body.contains(step)),
        "no \"rotation failed\" message naming the secret and {step}: {messages:?}"
    );
    let scanner = before.leak_scanner();
    let mut leaks = scanner.scan("the error", &error);
    for m in &messages {
        leaks.extend(scanner.scan("the failure message", &m.body));
    }
    leaks.extend(scanner.scan("the captured logs", &logs::captured()));
    ensure!(leaks.is_empty(), "{step}: {leaks:?}");
    // Shown with --nocapture, to read the wording an operator gets.
    println!("{step} refused: {error}");
    Ok(error)
}

/// Replaces the scenario's AWSCURRENT value (`PutSecretValue`: the old one becomes AWSPREVIOUS).
pub async fn put_current(s: &Scenario, value: &str) -> anyhow::Result<String> {
    let out = s
        .stack
        .secrets
        .put_secret_value()
        .secret_id(&s.secret_id)
        .secret_string(value)
        .send()
        .await?;
    Ok(out.version_id().unwrap_or_default().to_string())
}

/// The scenario's AWSCURRENT value as JSON.
pub async fn current_json(s: &Scenario) -> anyhow::Result<serde_json::Value> {
    let got = s
        .stack
        .secrets
        .get_secret_value()
        .secret_id(&s.secret_id)
        .send()
        .await?;
    Ok(serde_json::from_str(
        got.secret_string().unwrap_or_default(),
    )?)
}

/// What an emulator user is re-seeded with; `None` leaves that property as it is.
#[derive(Default)]
pub struct UserChange {
    /// `Some(None)`: no default role, so the session runs as PUBLIC, which holds no grant.
    pub default_role: Option<Option<String>>,
    pub slot_1: Option<Option<PublicKey>>,
    pub slot_2: Option<Option<PublicKey>>,
}

/// Re-seeds a user through `PUT /_emulator/users/{name}` (as an administrator would run ALTER
/// USER / REVOKE outside the rotation), keeping every property not changed.
pub async fn reseed_user(s: &Scenario, name: &str, change: UserChange) -> anyhow::Result<()> {
    let now = s.emulator.user(name).context("no such emulator user")?;
    let body = |slot: Option<Option<PublicKey>>, current: Option<String>| match slot {
        None => current,
        Some(key) => key.map(|k| k.to_snowflake_body()),
    };
    let seed = serde_json::json!({
        "login_name": now.login_name,
        "type": now.r#type,
        "default_role": change.default_role.unwrap_or(now.default_role),
        "disabled": now.disabled,
        "rsa_public_key": body(change.slot_1, now.rsa_public_key),
        "rsa_public_key_2": body(change.slot_2, now.rsa_public_key_2),
    });
    s.http
        .put(format!("{}/_emulator/users/{name}", s.emulator.url()))
        .json(&seed)
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

/// The scenario's current secret value with `edit` applied (a field removed, the key replaced…).
pub async fn edited_current(
    s: &Scenario,
    edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
) -> anyhow::Result<String> {
    let mut json = current_json(s).await?;
    edit(
        json.as_object_mut()
            .context("the current value is an object")?,
    );
    Ok(json.to_string())
}

/// `key` as PKCS#8 PEM encrypted under `passphrase` (what a user with an encrypted key stores).
pub fn encrypted_pem(key: &PrivateKey, passphrase: &str) -> String {
    key.to_encrypted_pkcs8_pem(&Passphrase::new(passphrase))
        .expect("encrypt")
        .to_string()
}
