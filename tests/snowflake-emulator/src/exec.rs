//! Runs parsed statements against the state, with Snowflake's privilege and key-policy checks.

use time::OffsetDateTime;

use crate::keys::validate_public_key;
use crate::results::{Column, ResultSet, status_ok};
use crate::sql::{ContextFunction, SqlError, Statement};
use crate::state::{Slot, State, User};
use crate::users::{describe_user, show_users};

/// Who runs the statement: the user NAME and the current role.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: String,
    pub role: String,
}

const SLOT_NAMES: [&str; 2] = ["RSA_PUBLIC_KEY", "RSA_PUBLIC_KEY_2"];

pub fn execute(
    state: &mut State,
    session: &mut Session,
    statement: &Statement,
) -> Result<ResultSet, SqlError> {
    match statement {
        Statement::SetKeys {
            if_exists,
            user,
            keys,
        } => set_keys(state, session, *if_exists, user, keys),
        Statement::UnsetKeys {
            if_exists,
            user,
            slots,
        } => unset_keys(state, session, *if_exists, user, slots),
        Statement::DescribeUser { user } => describe_user(state, session, user),
        Statement::SelectContext(functions) => Ok(select_context(state, session, functions)),
        Statement::ShowUsers { like } => Ok(show_users(state, session, like.as_deref())),
        Statement::Use { object, name } => {
            if object == "ROLE" {
                if !state.role_granted(name, &session.user) {
                    return Err(SqlError::new(
                        "002003",
                        "02000",
                        format!(
                            "SQL compilation error:\nRole '{name}' does not exist or not authorized."
                        ),
                    ));
                }
                session.role = name.clone();
            }
            Ok(status_ok())
        }
    }
}

/// Finds the target and checks the current role may change its keys. `Ok(None)` means
/// "missing, but IF EXISTS": succeed without change.
fn key_target<'a>(
    state: &'a mut State,
    session: &Session,
    if_exists: bool,
    user: &str,
) -> Result<Option<&'a mut User>, SqlError> {
    if state.user(user).is_none() {
        return if if_exists {
            Ok(None)
        } else {
            Err(SqlError::user_not_found(user))
        };
    }
    // A user changing its own key needs the same privilege on itself (reference §3.3).
    if !state.may_modify_keys(&session.role, user) {
        return Err(SqlError::insufficient_privileges(user));
    }
    Ok(state.user_mut(user))
}

fn set_keys(
    state: &mut State,
    session: &Session,
    if_exists: bool,
    user: &str,
    assignments: &[(u8, String)],
) -> Result<ResultSet, SqlError> {
    let allow_duplicates = state.options.allow_duplicate_keys;
    let Some(target) = key_target(state, session, if_exists, user)? else {
        return Ok(status_ok());
    };
    // Validate everything first so a rejected statement changes nothing.
    let mut next = target.keys.clone();
    let now = OffsetDateTime::now_utc();
    for (slot, body) in assignments {
        let key =
            validate_public_key(body).map_err(|_| SqlError::key_rejected("Invalid Public key"))?;
        next[usize::from(*slot) - 1] = Some(Slot { key, last_set: now });
    }
    if !allow_duplicates {
        for (slot, _) in assignments {
            let (this, other) = (usize::from(*slot) - 1, 2 - usize::from(*slot));
            let same = |a: &Option<Slot>, b: &Option<Slot>| match (a, b) {
                (Some(a), Some(b)) => a.key.fingerprint == b.key.fingerprint,
                _ => false,
            };
            if same(&next[this], &next[other]) {
                return Err(SqlError::duplicate_key(SLOT_NAMES[other]));
            }
        }
    }
    target.keys = next;
    Ok(status_ok())
}

fn unset_keys(
    state: &mut State,
    session: &Session,
    if_exists: bool,
    user: &str,
    slots: &[u8],
) -> Result<ResultSet, SqlError> {
    if let Some(target) = key_target(state, session, if_exists, user)? {
        for slot in slots {
            target.keys[usize::from(*slot) - 1] = None;
        }
    }
    Ok(status_ok())
}

fn select_context(state: &State, session: &Session, functions: &[ContextFunction]) -> ResultSet {
    ResultSet {
        columns: functions
            .iter()
            .map(|f| Column::text(f.column_name()))
            .collect(),
        rows: vec![
            functions
                .iter()
                .map(|f| {
                    Some(match f {
                        ContextFunction::CurrentUser => session.user.clone(),
                        ContextFunction::CurrentAccount => state.account.clone(),
                        ContextFunction::CurrentRole => session.role.clone(),
                    })
                })
                .collect(),
        ],
        statement_handles: Vec::new(),
    }
}
