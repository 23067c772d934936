//! Snowflake's two key slots per user in memory, with login and privilege checks.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::keys::{Fingerprint, PublicKey};
use crate::rotation::{Connection, KeyRegistry, SetKeyOutcome};
use crate::snowflake::{Slot, SnowflakeError, UserKeySlots};

use super::lock;

struct User {
    name: String,
    slot_1: Option<PublicKey>,
    slot_2: Option<PublicKey>,
    grant: Grant,
}

/// What the user's role holds on the other users.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Grant {
    Nothing,
    /// MODIFY PROGRAMMATIC AUTHENTICATION METHODS: may change keys, may not `DESC USER` them.
    ModifyKeys,
    /// OWNERSHIP: may change and describe.
    Ownership,
}

/// Describing another user takes OWNERSHIP (desc-user, "Access control requirements");
/// changing its keys takes MPAM or OWNERSHIP. Acting on oneself is always allowed.
#[derive(Clone, Copy)]
enum Action {
    Describe,
    ChangeKeys,
}

impl User {
    fn slot(&mut self, slot: Slot) -> &mut Option<PublicKey> {
        match slot {
            Slot::One => &mut self.slot_1,
            Slot::Two => &mut self.slot_2,
        }
    }
    fn authenticates(&self, fp: &Fingerprint) -> bool {
        [&self.slot_1, &self.slot_2]
            .into_iter()
            .flatten()
            .any(|k| &k.fingerprint() == fp)
    }
}

#[derive(Default)]
struct RegistryState {
    users: BTreeMap<String, User>,
    refuse_duplicate_keys: bool,
}

/// Snowflake's key slots in memory. Every call authenticates its connection afresh, like the SQL API.
#[derive(Clone, Default)]
pub struct MemoryKeyRegistry {
    state: Arc<Mutex<RegistryState>>,
}

impl MemoryKeyRegistry {
    /// `refuse_duplicate_keys`: refuse a key already held by the user's other slot.
    pub fn new(refuse_duplicate_keys: bool) -> Self {
        let registry = Self::default();
        lock(&registry.state).refuse_duplicate_keys = refuse_duplicate_keys;
        registry
    }

    /// A service user with `key` in RSA_PUBLIC_KEY.
    pub fn add_user(&self, name: &str, key: &PublicKey) {
        self.insert(name, Some(key.clone()), Grant::Nothing);
    }

    /// An admin whose role has only MODIFY PROGRAMMATIC AUTHENTICATION METHODS on the other users:
    /// it may change their keys but not `DESC USER` them.
    pub fn add_admin(&self, name: &str, key: &PublicKey) {
        self.insert(name, Some(key.clone()), Grant::ModifyKeys);
    }

    /// An admin whose role has OWNERSHIP of the other users: it may also `DESC USER` them.
    pub fn add_owner_admin(&self, name: &str, key: &PublicKey) {
        self.insert(name, Some(key.clone()), Grant::Ownership);
    }

    fn insert(&self, name: &str, key: Option<PublicKey>, grant: Grant) {
        let user = User {
            name: name.to_ascii_uppercase(),
            slot_1: key,
            slot_2: None,
            grant,
        };
        lock(&self.state)
            .users
            .insert(name.to_ascii_uppercase(), user);
    }

    /// Puts any key (or nothing) in a slot, as an operator might by hand.
    pub fn put_slot(&self, user: &str, slot: Slot, key: Option<&PublicKey>) {
        let mut state = lock(&self.state);
        *state
            .users
            .get_mut(&user.to_ascii_uppercase())
            .expect("user exists")
            .slot(slot) = key.cloned();
    }

    /// The fingerprints in (RSA_PUBLIC_KEY, RSA_PUBLIC_KEY_2).
    pub fn slots(&self, user: &str) -> (Option<Fingerprint>, Option<Fingerprint>) {
        let state = lock(&self.state);
        let u = &state.users[&user.to_ascii_uppercase()];
        (
            u.slot_1.as_ref().map(PublicKey::fingerprint),
            u.slot_2.as_ref().map(PublicKey::fingerprint),
        )
    }

    /// The set of keys that log in as `user`.
    pub fn authenticating(&self, user: &str) -> BTreeSet<Fingerprint> {
        let (a, b) = self.slots(user);
        a.into_iter().chain(b).collect()
    }

    pub fn authenticates(&self, user: &str, fp: &Fingerprint) -> bool {
        lock(&self.state)
            .users
            .get(&user.to_ascii_uppercase())
            .is_some_and(|u| u.authenticates(fp))
    }

    fn authorize(
        &self,
        conn: &Connection,
        target: &str,
        action: Action,
    ) -> Result<MutexGuard<'_, RegistryState>, SnowflakeError> {
        let state = lock(&self.state);
        let caller = state.users.get(&conn.settings.user.to_ascii_uppercase());
        let Some(caller) = caller.filter(|u| u.authenticates(&conn.key.fingerprint())) else {
            return Err(SnowflakeError::Authentication {
                code: "390144".into(),
                message: "JWT token is invalid.".into(),
            });
        };
        let target = target.to_ascii_uppercase();
        let own = caller.name == target;
        if !own && matches!(action, Action::Describe) && caller.grant != Grant::Ownership {
            // Snowflake does not say whether the user exists to a role that may not describe it.
            return Err(SnowflakeError::Sql {
                code: "002003".into(),
                sql_state: "02000".into(),
                message: format!("User '{target}' does not exist or not authorized."),
                statement_handle: None,
            });
        }
        if !own && caller.grant == Grant::Nothing {
            return Err(SnowflakeError::Sql {
                code: "003001".into(),
                sql_state: "42501".into(),
                message: format!("Insufficient privileges to operate on user '{target}'"),
                statement_handle: None,
            });
        }
        if !state.users.contains_key(&target) {
            return Err(SnowflakeError::Sql {
                code: "002003".into(),
                sql_state: "02000".into(),
                message: format!("User '{target}' does not exist or not authorized."),
                statement_handle: None,
            });
        }
        Ok(state)
    }
}

impl KeyRegistry for MemoryKeyRegistry {
    async fn describe_user(
        &self,
        conn: &Connection,
        target_user: &str,
    ) -> Result<UserKeySlots, SnowflakeError> {
        let state = self.authorize(conn, target_user, Action::Describe)?;
        let u = &state.users[&target_user.to_ascii_uppercase()];
        Ok(UserKeySlots {
            name: u.name.clone(),
            login_name: u.name.clone(),
            user_type: Some("SERVICE".into()),
            slot_1: u.slot_1.as_ref().map(PublicKey::fingerprint),
            slot_2: u.slot_2.as_ref().map(PublicKey::fingerprint),
        })
    }

    async fn set_key(
        &self,
        conn: &Connection,
        target_user: &str,
        slot: Slot,
        key: &PublicKey,
    ) -> Result<SetKeyOutcome, SnowflakeError> {
        let mut state = self.authorize(conn, target_user, Action::ChangeKeys)?;
        let refuse = state.refuse_duplicate_keys;
        let u = state
            .users
            .get_mut(&target_user.to_ascii_uppercase())
            .expect("authorized user exists");
        if refuse && u.slot(slot.other()).as_ref() == Some(key) {
            return Ok(SetKeyOutcome::RejectedByPolicy {
                reason: "SQL execution error: New public key rejected by current policy. Reason: 'Duplicate public key'".into(),
            });
        }
        *u.slot(slot) = Some(key.clone());
        Ok(SetKeyOutcome::Set)
    }

    async fn unset_key(
        &self,
        conn: &Connection,
        target_user: &str,
        slot: Slot,
    ) -> Result<(), SnowflakeError> {
        let mut state = self.authorize(conn, target_user, Action::ChangeKeys)?;
        *state
            .users
            .get_mut(&target_user.to_ascii_uppercase())
            .expect("authorized user exists")
            .slot(slot) = None;
        Ok(())
    }

    async fn current_user(&self, conn: &Connection) -> Result<String, SnowflakeError> {
        let user = conn.settings.user.clone();
        let _state = self.authorize(conn, &user, Action::Describe)?;
        Ok(user.to_ascii_uppercase())
    }
}
