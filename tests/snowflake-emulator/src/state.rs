//! The emulator's mutable world: users with their key slots, roles, statements, faults and the
//! request log. One mutex guards it; every handler takes the lock briefly and never across I/O.

use std::collections::{HashMap, VecDeque};

use regex::Regex;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::keys::{RegisteredKey, validate_public_key};
use crate::results::ResultSet;
use crate::seed::{MPAM, OWNERSHIP, Options, Seed, SeedGrant, SeedUser};
use crate::sql::SqlError;
use crate::{Fault, LoggedRequest};

/// A registered key and when it was set.
#[derive(Debug, Clone)]
pub struct Slot {
    pub key: RegisteredKey,
    pub last_set: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    /// Always uppercase, as Snowflake stores it; the JWT names the user by this.
    pub login_name: String,
    pub user_type: Option<String>,
    pub default_role: Option<String>,
    pub disabled: bool,
    /// `keys[0]` is RSA_PUBLIC_KEY (slot 1), `keys[1]` is RSA_PUBLIC_KEY_2 (slot 2).
    pub keys: [Option<Slot>; 2],
    pub created_on: OffsetDateTime,
}

impl User {
    pub fn from_seed(seed: &SeedUser, now: OffsetDateTime) -> anyhow::Result<Self> {
        let slot = |body: &Option<String>, which: &str| -> anyhow::Result<Option<Slot>> {
            body.as_deref()
                .map(|b| {
                    validate_public_key(b)
                        .map(|key| Slot { key, last_set: now })
                        .map_err(|e| anyhow::anyhow!("seed user {}: {which}: {e}", seed.name))
                })
                .transpose()
        };
        Ok(Self {
            name: seed.name.clone(),
            login_name: seed
                .login_name
                .as_deref()
                .unwrap_or(&seed.name)
                .to_uppercase(),
            user_type: seed.r#type.clone(),
            default_role: seed.default_role.clone(),
            disabled: seed.disabled,
            keys: [
                slot(&seed.rsa_public_key, "rsa_public_key")?,
                slot(&seed.rsa_public_key_2, "rsa_public_key_2")?,
            ],
            created_on: now,
        })
    }

    pub fn snapshot(&self) -> UserState {
        let body = |i: usize| self.keys[i].as_ref().map(|s| s.key.body.clone());
        let fp = |i: usize| self.keys[i].as_ref().map(|s| s.key.fingerprint.clone());
        let at = |i: usize| self.keys[i].as_ref().map(|s| rfc3339(s.last_set));
        UserState {
            name: self.name.clone(),
            login_name: self.login_name.clone(),
            r#type: self.user_type.clone(),
            default_role: self.default_role.clone(),
            disabled: self.disabled,
            rsa_public_key: body(0),
            rsa_public_key_fp: fp(0),
            rsa_public_key_last_set_time: at(0),
            rsa_public_key_2: body(1),
            rsa_public_key_2_fp: fp(1),
            rsa_public_key_2_last_set_time: at(1),
        }
    }
}

/// What tests assert on: a user's slots as bodies and fingerprints, and when each was set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserState {
    pub name: String,
    pub login_name: String,
    pub r#type: Option<String>,
    pub default_role: Option<String>,
    pub disabled: bool,
    pub rsa_public_key: Option<String>,
    pub rsa_public_key_fp: Option<String>,
    /// RFC 3339.
    pub rsa_public_key_last_set_time: Option<String>,
    pub rsa_public_key_2: Option<String>,
    pub rsa_public_key_2_fp: Option<String>,
    pub rsa_public_key_2_last_set_time: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Role {
    pub name: String,
    pub users: Vec<String>,
    pub grants: Vec<SeedGrant>,
}

/// Where a statement is in its life.
#[derive(Debug, Clone)]
pub enum Outcome {
    Running,
    Succeeded(ResultSet),
    Failed(SqlError),
    Canceled,
}

#[derive(Debug, Clone)]
pub struct StatementRecord {
    /// The user NAME that submitted it; only that user may poll or cancel it.
    pub owner: String,
    pub created_on_ms: i64,
    pub request_id: Option<String>,
    pub outcome: Outcome,
    pub rows_per_partition: usize,
    /// `nullable=false` on the POST: SQL NULL is sent as the string "null".
    pub nulls_as_text: bool,
}

/// A fault waiting for matching requests.
#[derive(Debug)]
pub struct ArmedFault {
    pub fault: Fault,
    pub remaining: u32,
    pub pattern: Option<Regex>,
}

/// What a matched fault makes the server do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultAction {
    Status(u16),
    Hang,
    DropAfterExecute,
}

pub struct State {
    pub seed: Seed,
    pub account: String,
    pub users: Vec<User>,
    pub roles: Vec<Role>,
    pub options: Options,
    pub statements: HashMap<String, StatementRecord>,
    /// requestId → the handle of its latest execution.
    pub request_ids: HashMap<String, String>,
    pub faults: VecDeque<ArmedFault>,
    pub log: Vec<LoggedRequest>,
}

impl State {
    pub fn from_seed(seed: Seed) -> anyhow::Result<Self> {
        let now = OffsetDateTime::now_utc();
        let users = seed
            .users
            .iter()
            .map(|u| User::from_seed(u, now))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let roles = seed
            .roles
            .iter()
            .map(|r| Role {
                name: r.name.clone(),
                users: r.granted_to_users.clone(),
                grants: r.grants.clone(),
            })
            .collect();
        Ok(Self {
            account: seed.account.to_uppercase(),
            options: seed.options.clone(),
            seed,
            users,
            roles,
            statements: HashMap::new(),
            request_ids: HashMap::new(),
            faults: VecDeque::new(),
            log: Vec::new(),
        })
    }

    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    pub fn user_mut(&mut self, name: &str) -> Option<&mut User> {
        self.users.iter_mut().find(|u| u.name == name)
    }

    /// PUBLIC is granted to everyone; other roles must list the user.
    pub fn role_granted(&self, role: &str, user: &str) -> bool {
        role == "PUBLIC"
            || self
                .roles
                .iter()
                .any(|r| r.name == role && r.users.iter().any(|u| u == user))
    }

    /// Whether `role` holds one of `privileges` on the user named `target`.
    pub fn role_has(&self, role: &str, privileges: &[&str], target: &str) -> bool {
        self.roles.iter().filter(|r| r.name == role).any(|r| {
            r.grants
                .iter()
                .any(|g| g.on_user == target && privileges.contains(&g.privilege.as_str()))
        })
    }

    /// Whether `role` holds any privilege on the user named `target`.
    pub fn role_has_any(&self, role: &str, target: &str) -> bool {
        self.roles
            .iter()
            .filter(|r| r.name == role)
            .any(|r| r.grants.iter().any(|g| g.on_user == target))
    }

    /// OWNERSHIP or MPAM: what changing a user's keys takes, on oneself too.
    pub fn may_modify_keys(&self, role: &str, target: &str) -> bool {
        self.role_has(role, &[OWNERSHIP, MPAM], target)
    }

    /// Takes one count from the first armed fault matching this request.
    pub fn take_fault(&mut self, statement: Option<&str>) -> Option<FaultAction> {
        let index = self
            .faults
            .iter()
            .position(|f| match (&f.pattern, statement) {
                (None, _) => true,
                (Some(p), Some(s)) => p.is_match(s),
                (Some(_), None) => false,
            })?;
        let armed = &mut self.faults[index];
        armed.remaining -= 1;
        let action = match armed.fault {
            Fault::Status { status, .. } => FaultAction::Status(status),
            Fault::Hang { .. } => FaultAction::Hang,
            Fault::DropAfterExecute { .. } => FaultAction::DropAfterExecute,
        };
        if armed.remaining == 0 {
            self.faults.remove(index);
        }
        Some(action)
    }

    pub fn arm(&mut self, fault: Fault) -> Result<(), regex::Error> {
        let (count, pattern) = fault.count_and_pattern();
        let pattern = pattern.map(Regex::new).transpose()?;
        if count > 0 {
            self.faults.push_back(ArmedFault {
                remaining: count,
                fault,
                pattern,
            });
        }
        Ok(())
    }
}

pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
