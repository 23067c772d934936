//! The seed file: the account, its users, roles and grants, and the emulator's options.
//!
//! The same JSON feeds `Emulator::start` and the binary's `--seed FILE`; README.md documents it.

use serde::{Deserialize, Serialize};

/// The privilege that lets a role set or unset a user's keys (besides OWNERSHIP).
pub const MPAM: &str = "MODIFY PROGRAMMATIC AUTHENTICATION METHODS";
/// Owning a user grants every privilege on it.
pub const OWNERSHIP: &str = "OWNERSHIP";

/// Everything the emulator starts from.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// The account name the JWT must carry, e.g. `MYORG-MYACCOUNT`.
    pub account: String,
    #[serde(default)]
    pub users: Vec<SeedUser>,
    #[serde(default)]
    pub roles: Vec<SeedRole>,
    #[serde(default)]
    pub options: Options,
}

/// One user. `login_name` defaults to `name`; both are stored as given except that the login
/// name is uppercased, as Snowflake stores it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    pub name: String,
    #[serde(default)]
    pub login_name: Option<String>,
    /// `SERVICE`, `PERSON`, `LEGACY_SERVICE` or null (Snowflake shows null for an untyped user).
    #[serde(default)]
    pub r#type: Option<String>,
    #[serde(default)]
    pub default_role: Option<String>,
    /// Base64 body of an RSA SPKI (no PEM delimiters), or null.
    #[serde(default)]
    pub rsa_public_key: Option<String>,
    #[serde(default)]
    pub rsa_public_key_2: Option<String>,
    /// A disabled user cannot log in, whatever its keys.
    #[serde(default)]
    pub disabled: bool,
}

/// One role: who holds it and what it may do.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedRole {
    pub name: String,
    /// User NAMEs this role is granted to.
    #[serde(default)]
    pub granted_to_users: Vec<String>,
    #[serde(default)]
    pub grants: Vec<SeedGrant>,
}

/// A privilege on a user object.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SeedGrant {
    /// `OWNERSHIP` or `MODIFY PROGRAMMATIC AUTHENTICATION METHODS`.
    pub privilege: String,
    /// The user's NAME.
    pub on_user: String,
}

/// Behaviour switches for the points where Snowflake's behaviour is unknown (⚠) or tunable.
/// Every field has a default, so a seed or `PUT /_emulator/options` may give any subset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Options {
    /// ⚠ Undocumented in Snowflake. false: setting a slot to the key already in the other slot
    /// is rejected (what named key pairs do); true: it is accepted.
    pub allow_duplicate_keys: bool,
    /// ⚠ The drivers' login flow rejects a JWT used more than 60 s after `iat` (394302); whether
    /// the SQL API does is unknown. true turns the check on.
    pub strict_iat: bool,
    /// Every statement takes this long to run (in the background; poll its handle).
    pub execution_delay_ms: u64,
    /// How long a POST without `async=true` waits for its statement before answering 202
    /// (Snowflake: 45 s).
    pub max_sync_wait_ms: u64,
    /// Rows per result partition; partition 0 comes inline, the rest via `?partition=i`.
    pub rows_per_partition: usize,
    /// Tolerance for `exp` and for an `iat` in the future.
    pub clock_skew_secs: u64,
    /// How long a `hang` fault holds a request before dropping the connection.
    pub hang_ms: u64,
    /// ⚠ sqlapi.yaml marks `User-Agent` required; the community saw 391903 without it.
    pub require_user_agent: bool,
    /// ⚠ sqlapi.yaml: without `X-Snowflake-Authorization-Token-Type` "OAUTH is assumed"; the
    /// current docs say the token is examined (the default here). true refuses its absence.
    pub require_token_type_header: bool,
    /// ⚠ The docs only promise no re-execution for a statement that already succeeded. true: a
    /// `retry=true` resubmission of a still-running statement returns it; false: runs again.
    pub dedupe_running_retries: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            allow_duplicate_keys: false,
            strict_iat: false,
            execution_delay_ms: 0,
            max_sync_wait_ms: 45_000,
            rows_per_partition: 1000,
            clock_skew_secs: 60,
            hang_ms: 120_000,
            require_user_agent: true,
            require_token_type_header: false,
            dedupe_running_retries: true,
        }
    }
}

impl Seed {
    /// An account with no users or roles, default options.
    pub fn new(account: impl Into<String>) -> Self {
        Self {
            account: account.into(),
            ..Self::default()
        }
    }

    /// Parses seed JSON.
    pub fn from_json_str(text: &str) -> anyhow::Result<Self> {
        Ok(serde_json::from_str(text)?)
    }

    /// Reads and parses a seed file.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> anyhow::Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read seed file {}: {e}", path.display()))?;
        Self::from_json_str(&text)
            .map_err(|e| anyhow::anyhow!("seed file {} is invalid: {e}", path.display()))
    }
}

impl SeedUser {
    /// A SERVICE user without keys whose login name equals its name.
    pub fn service(name: impl Into<String>, default_role: Option<&str>) -> Self {
        Self {
            name: name.into(),
            r#type: Some("SERVICE".into()),
            default_role: default_role.map(str::to_string),
            ..Self::default()
        }
    }
}

impl SeedRole {
    /// A role granted to `users` holding `privilege` on each of `on_users`.
    pub fn new(name: &str, users: &[&str], privilege: &str, on_users: &[&str]) -> Self {
        Self {
            name: name.into(),
            granted_to_users: users.iter().map(|u| u.to_string()).collect(),
            grants: on_users
                .iter()
                .map(|u| SeedGrant {
                    privilege: privilege.into(),
                    on_user: u.to_string(),
                })
                .collect(),
        }
    }
}
