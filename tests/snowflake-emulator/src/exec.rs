//! Runs parsed statements against the state, with Snowflake's privilege and key-policy checks.

use time::OffsetDateTime;
use time::macros::format_description;

use crate::keys::validate_public_key;
use crate::results::{Column, ResultSet, status_ok};
use crate::seed::{MPAM, OWNERSHIP};
use crate::sql::{ContextFunction, SqlError, Statement};
use crate::state::{Slot, State, User};

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
        Statement::ShowUsers { like } => Ok(show_users(state, like.as_deref())),
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

/// ⚠ Who may DESCRIBE a user is not in the reference: the user itself, or a role with OWNERSHIP,
/// MPAM or MONITOR on it. Others get "does not exist or not authorized".
fn describe_user(state: &State, session: &Session, name: &str) -> Result<ResultSet, SqlError> {
    let allowed =
        session.user == name || state.role_has(&session.role, &[OWNERSHIP, MPAM, "MONITOR"], name);
    let user = state
        .user(name)
        .filter(|_| allowed)
        .ok_or_else(|| SqlError::user_not_found(name))?;
    let text = |v: Option<&str>| v.unwrap_or("null").to_string();
    let slot_body = |i: usize| text(user.keys[i].as_ref().map(|s| s.key.body.as_str()));
    let slot_fp = |i: usize| text(user.keys[i].as_ref().map(|s| s.key.fingerprint.as_str()));
    let slot_time = |i: usize| {
        text(
            user.keys[i]
                .as_ref()
                .map(|s| desc_time(s.last_set))
                .as_deref(),
        )
    };
    let properties: Vec<(&str, String, &str)> = vec![
        ("NAME", user.name.clone(), "Name"),
        (
            "COMMENT",
            text(None),
            "user comment associated to an object in the dictionary",
        ),
        (
            "DISPLAY_NAME",
            user.name.clone(),
            "Display name of the associated object",
        ),
        ("TYPE", text(user.user_type.as_deref()), "Type of the user"),
        (
            "LOGIN_NAME",
            user.login_name.clone(),
            "Login name of the user",
        ),
        (
            "DISABLED",
            user.disabled.to_string(),
            "Whether the user is disabled",
        ),
        (
            "DEFAULT_ROLE",
            text(user.default_role.as_deref()),
            "Primary principal of user session will be set to this role",
        ),
        ("RSA_PUBLIC_KEY", slot_body(0), "RSA public key of the user"),
        (
            "RSA_PUBLIC_KEY_FP",
            slot_fp(0),
            "Fingerprint of user's RSA public key.",
        ),
        (
            "RSA_PUBLIC_KEY_LAST_SET_TIME",
            slot_time(0),
            "The timestamp at which the RSA public key was last set for the user",
        ),
        (
            "RSA_PUBLIC_KEY_2",
            slot_body(1),
            "Second RSA public key of the user",
        ),
        (
            "RSA_PUBLIC_KEY_2_FP",
            slot_fp(1),
            "Fingerprint of user's second RSA public key.",
        ),
        (
            "RSA_PUBLIC_KEY_2_LAST_SET_TIME",
            slot_time(1),
            "The timestamp at which the second RSA public key was last set for the user",
        ),
    ];
    Ok(ResultSet {
        columns: ["property", "value", "default", "description"]
            .iter()
            .map(|n| Column::text(n))
            .collect(),
        rows: properties
            .into_iter()
            .map(|(p, v, d)| vec![Some(p.into()), Some(v), Some("null".into()), Some(d.into())])
            .collect(),
        statement_handles: Vec::new(),
    })
}

/// ⚠ DESC USER time format as we believe Snowflake prints it: `2024-01-02 03:04:05.678 +0000`.
fn desc_time(at: OffsetDateTime) -> String {
    at.format(format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:3] [offset_hour sign:mandatory][offset_minute]"
    ))
    .unwrap_or_default()
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

fn show_users(state: &State, like: Option<&str>) -> ResultSet {
    let columns = vec![
        Column::text("name"),
        Column::timestamp("created_on"),
        Column::text("login_name"),
        Column::text("display_name"),
        Column::boolean("disabled"),
        Column::text("default_role"),
        Column::text("type"),
        Column::boolean("has_password"),
        Column::boolean("has_rsa_public_key"),
        Column::text("owner"),
    ];
    let rows = state
        .users
        .iter()
        .filter(|u| like.is_none_or(|pattern| like_matches(pattern, &u.name)))
        .map(|u| {
            let owner = state
                .roles
                .iter()
                .find(|r| {
                    r.grants
                        .iter()
                        .any(|g| g.on_user == u.name && g.privilege == OWNERSHIP)
                })
                .map(|r| r.name.clone());
            let created = u.created_on.unix_timestamp_nanos() / 1_000_000;
            vec![
                Some(u.name.clone()),
                Some(format!("{}.{:03}", created / 1000, created % 1000)),
                Some(u.login_name.clone()),
                Some(u.name.clone()),
                Some(u.disabled.to_string()),
                u.default_role.clone(),
                u.user_type.clone(),
                Some("false".into()),
                Some(u.keys.iter().any(Option::is_some).to_string()),
                owner,
            ]
        })
        .collect();
    ResultSet {
        columns,
        rows,
        statement_handles: Vec::new(),
    }
}

/// SQL LIKE, case-insensitive as SHOW … LIKE is: `%` any run, `_` one character.
fn like_matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_uppercase().chars().collect();
    let t: Vec<char> = text.to_uppercase().chars().collect();
    fn go(p: &[char], t: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('%', rest)) => (0..=t.len()).any(|i| go(rest, &t[i..])),
            Some(('_', rest)) => !t.is_empty() && go(rest, &t[1..]),
            Some((c, rest)) => t.first() == Some(c) && go(rest, &t[1..]),
        }
    }
    go(&p, &t)
}

#[cfg(test)]
mod tests {
    use super::like_matches;

    #[test]
    fn like_is_case_insensitive_with_wildcards() {
        assert!(like_matches("svc_%", "SVC_DBT"));
        assert!(like_matches("%dbt", "SVC_DBT"));
        assert!(!like_matches("svc", "SVC_DBT"));
    }
}
