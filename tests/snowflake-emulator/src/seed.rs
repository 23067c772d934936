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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Options {
    /// ⚠ Undocumented in Snowflake. false: setting a slot to the key already in the other slot is
    /// rejected (what named key pairs do); true: it is accepted.
    pub allow_same_key_in_both_slots: bool,
    /// ⚠ The drivers' login flow rejects a JWT used more than 60 s after `iat` (394302); whether
    /// the SQL API does is unknown. true turns the check on.
    pub enforce_iat_within_60s: bool,
    /// When above 0, every statement runs this long in the background: the POST answers 202
    /// and the handle is polled (as Snowflake does after 45 s).
    pub execution_delay_ms: u64,
    /// Rows per result partition; partition 0 comes inline, the rest via `?partition=i`.
    pub rows_per_partition: usize,
    /// Tolerance for `exp` and a future `iat`.
    pub clock_skew_secs: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            allow_same_key_in_both_slots: false,
            enforce_iat_within_60s: false,
            execution_delay_ms: 0,
            rows_per_partition: 1000,
            clock_skew_secs: 60,
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

    /// Reads and parses a seed file.
    pub fn from_file(path: &std::path::Path) -> Result<Self, crate::EmulatorError> {
        let text = std::fs::read_to_string(path).map_err(|e| crate::EmulatorError::SeedFile {
            path: path.display().to_string(),
            cause: e.to_string(),
        })?;
        serde_json::from_str(&text).map_err(|e| crate::EmulatorError::SeedFile {
            path: path.display().to_string(),
            cause: e.to_string(),
        })
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
