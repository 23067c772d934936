//! `DESC USER` and `SHOW USERS`, shaped and guarded as the official pages describe them
//! (sql-reference/sql/desc-user, sql-reference/sql/show-users).

use time::OffsetDateTime;

use crate::exec::Session;
use crate::results::{Column, ResultSet};
use crate::seed::OWNERSHIP;
use crate::sql::SqlError;
use crate::state::{State, User};

/// A user may describe itself; describing another takes OWNERSHIP of it (desc-user, "Access
/// control requirements"). Others get "does not exist or not authorized" (⚠ the exact error).
pub fn describe_user(state: &State, session: &Session, name: &str) -> Result<ResultSet, SqlError> {
    let allowed = session.user == name || state.role_has(&session.role, &[OWNERSHIP], name);
    let user = state
        .user(name)
        .filter(|_| allowed)
        .ok_or_else(|| SqlError::user_not_found(name))?;
    let rows = properties(user)
        .into_iter()
        .map(|(property, value, default, description)| {
            vec![
                Some(property.to_string()),
                Some(value.unwrap_or_else(|| "null".into())),
                Some(default.to_string()),
                Some(description.to_string()),
            ]
        })
        .collect();
    Ok(ResultSet {
        columns: ["property", "value", "default", "description"]
            .iter()
            .map(|n| Column::text(n))
            .collect(),
        rows,
        statement_handles: Vec::new(),
    })
}

type Property = (&'static str, Option<String>, &'static str, &'static str);

/// The rows of the docs' example, in its order; `None` prints as `null`.
fn properties(user: &User) -> Vec<Property> {
    let slot_body = |i: usize| user.keys[i].as_ref().map(|s| s.key.body.clone());
    let slot_fp = |i: usize| user.keys[i].as_ref().map(|s| s.key.fingerprint.clone());
    let slot_time = |i: usize| user.keys[i].as_ref().map(|s| desc_time(s.last_set));
    let no = || Some("false".to_string());
    vec![
        ("NAME", Some(user.name.clone()), "null", "Name"),
        (
            "COMMENT",
            None,
            "null",
            "user comment associated to an object in the dictionary",
        ),
        (
            "DISPLAY_NAME",
            Some(user.name.clone()),
            "null",
            "Display name of the associated object",
        ),
        (
            "TYPE",
            user.user_type.clone(),
            "null",
            "Type of the account, application package, data exchange, data exchange listing, replication group, secret, network rule, or user.",
        ),
        (
            "LOGIN_NAME",
            Some(user.login_name.clone()),
            "null",
            "Login name of the user",
        ),
        ("FIRST_NAME", None, "null", "First name of the user"),
        ("MIDDLE_NAME", None, "null", "Middle name of the user"),
        ("LAST_NAME", None, "null", "Last name of the user"),
        ("EMAIL", None, "null", "Email address of the user"),
        ("PASSWORD", None, "null", "Password of the user"),
        (
            "MUST_CHANGE_PASSWORD",
            no(),
            "false",
            "User must change the password",
        ),
        (
            "DISABLED",
            Some(user.disabled.to_string()),
            "false",
            "Whether the entity is disabled",
        ),
        (
            "SNOWFLAKE_LOCK",
            no(),
            "false",
            "Whether the user, account, or organization is locked by Snowflake",
        ),
        (
            "SNOWFLAKE_SUPPORT",
            no(),
            "false",
            "Snowflake Support is allowed to use the user or account",
        ),
        (
            "DAYS_TO_EXPIRY",
            None,
            "null",
            "User record will be treated as expired after specified number of days",
        ),
        (
            "MINS_TO_UNLOCK",
            None,
            "null",
            "Temporary lock on the user will be removed after specified number of minutes",
        ),
        (
            "DEFAULT_WAREHOUSE",
            None,
            "null",
            "Default warehouse for this user",
        ),
        (
            "DEFAULT_NAMESPACE",
            None,
            "null",
            "Default database namespace prefix for this user",
        ),
        (
            "DEFAULT_ROLE",
            user.default_role.clone(),
            "null",
            "Primary principal of user session will be set to this role",
        ),
        (
            "DEFAULT_SECONDARY_ROLES",
            Some("[]".into()),
            "[ALL]",
            "The secondary roles will be set to all roles provided here.",
        ),
        (
            "EXT_AUTHN_DUO",
            no(),
            "false",
            "Whether Duo Security is enabled as second factor authentication",
        ),
        (
            "EXT_AUTHN_UID",
            None,
            "null",
            "External authentication ID of the user",
        ),
        (
            "DEFAULT_MFA_METHOD",
            None,
            "null",
            "Default MFA method for the user",
        ),
        (
            "HAS_MFA",
            no(),
            "false",
            "Whether the user is enrolled in multi-factor authentication",
        ),
        (
            "HAS_PAT",
            no(),
            "false",
            "Whether the user has a programmatic access token",
        ),
        (
            "HAS_FEDERATED_WORKLOAD_AUTHENTICATION",
            no(),
            "false",
            "Reserved for future use",
        ),
        (
            "MINS_TO_BYPASS_MFA",
            None,
            "null",
            "Temporary bypass MFA for the user for a specified number of minutes",
        ),
        (
            "MINS_TO_BYPASS_NETWORK_POLICY",
            None,
            "null",
            "Temporary bypass network policy on the user for a specified number of minutes",
        ),
        (
            "RSA_PUBLIC_KEY",
            slot_body(0),
            "null",
            "RSA public key of the user",
        ),
        (
            "RSA_PUBLIC_KEY_FP",
            slot_fp(0),
            "null",
            "Fingerprint of user's RSA public key.",
        ),
        (
            "RSA_PUBLIC_KEY_LAST_SET_TIME",
            slot_time(0),
            "null",
            "The timestamp at which the RSA public key was last set for the user. Defaults to null if no RSA public key has been set yet.",
        ),
        (
            "RSA_PUBLIC_KEY_2",
            slot_body(1),
            "null",
            "Second RSA public key of the user",
        ),
        (
            "RSA_PUBLIC_KEY_2_FP",
            slot_fp(1),
            "null",
            "Fingerprint of user's second RSA public key.",
        ),
        (
            "RSA_PUBLIC_KEY_2_LAST_SET_TIME",
            slot_time(1),
            "null",
            "The timestamp at which the second RSA public key was last set for the user. Defaults to null if no second RSA public key has been set yet.",
        ),
        (
            "PASSWORD_LAST_SET_TIME",
            None,
            "null",
            "The timestamp on which the last non-null password was set for the user. Default to null if no password has been set yet.",
        ),
        (
            "CUSTOM_LANDING_PAGE_URL",
            None,
            "null",
            "Reserved for future use",
        ),
        (
            "CUSTOM_LANDING_PAGE_URL_FLUSH_NEXT_UI_LOAD",
            no(),
            "false",
            "Reserved for future use",
        ),
    ]
}

/// `2020-10-08 01:33:13.43`, as the desc-user example prints PASSWORD_LAST_SET_TIME: UTC,
/// milliseconds without trailing zeros (at least one digit), no offset. ⚠ Inferred from that
/// example and from a SQL API client that parses it with `2006-01-02 15:04:05.999`.
pub fn desc_time(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let millis = format!("{:03}", at.millisecond());
    let millis = millis.trim_end_matches('0');
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        if millis.is_empty() { "0" } else { millis }
    )
}

/// The documented SHOW USERS columns, in order; only `created_on` is not text.
const SHOW_USERS_COLUMNS: [&str; 31] = [
    "name",
    "created_on",
    "login_name",
    "display_name",
    "first_name",
    "last_name",
    "email",
    "mins_to_unlock",
    "days_to_expiry",
    "comment",
    "disabled",
    "must_change_password",
    "snowflake_lock",
    "default_warehouse",
    "default_namespace",
    "default_role",
    "default_secondary_roles",
    "ext_authn_duo",
    "ext_authn_uid",
    "mins_to_bypass_mfa",
    "owner",
    "last_success_login",
    "expires_at_time",
    "locked_until_time",
    "has_password",
    "has_rsa_public_key",
    "type",
    "has_mfa",
    "has_pat",
    "has_workload_identity",
    "is_from_organization_user",
];

/// SHOW USERS lists the users the current role holds some privilege on; every column but `name`
/// is NULL unless the role owns the user (show-users, "Access control requirements"; MANAGE
/// GRANTS is not modelled).
pub fn show_users(state: &State, session: &Session, like: Option<&str>) -> ResultSet {
    let columns = SHOW_USERS_COLUMNS
        .iter()
        .map(|name| match *name {
            "created_on" | "last_success_login" | "expires_at_time" | "locked_until_time" => {
                Column::timestamp(name)
            }
            _ => Column::text(name),
        })
        .collect();
    let rows = state
        .users
        .iter()
        .filter(|u| like.is_none_or(|pattern| like_matches(pattern, &u.name)))
        .filter(|u| state.role_has_any(&session.role, &u.name))
        .map(|u| {
            if state.role_has(&session.role, &[OWNERSHIP], &u.name) {
                show_row(state, u)
            } else {
                let mut row = vec![None; SHOW_USERS_COLUMNS.len()];
                row[0] = Some(u.name.clone());
                row
            }
        })
        .collect();
    ResultSet {
        columns,
        rows,
        statement_handles: Vec::new(),
    }
}

fn show_row(state: &State, u: &User) -> Vec<Option<String>> {
    let owner = state
        .roles
        .iter()
        .find(|r| {
            r.grants
                .iter()
                .any(|g| g.on_user == u.name && g.privilege == OWNERSHIP)
        })
        .map(|r| r.name.clone());
    let nanos = u.created_on.unix_timestamp_nanos();
    let no = || Some("false".to_string());
    SHOW_USERS_COLUMNS
        .iter()
        .map(|column| match *column {
            "name" | "display_name" => Some(u.name.clone()),
            // TIMESTAMP_LTZ: seconds since the epoch with 9 decimals (handling-responses).
            "created_on" => Some(format!(
                "{}.{:09}",
                nanos.div_euclid(1_000_000_000),
                nanos.rem_euclid(1_000_000_000)
            )),
            "login_name" => Some(u.login_name.clone()),
            "disabled" => Some(u.disabled.to_string()),
            "default_role" => u.default_role.clone(),
            "default_secondary_roles" => Some("[]".into()),
            "owner" => owner.clone(),
            "type" => u.user_type.clone(),
            "has_rsa_public_key" => Some(u.keys.iter().any(Option::is_some).to_string()),
            "must_change_password"
            | "snowflake_lock"
            | "ext_authn_duo"
            | "has_password"
            | "has_mfa"
            | "has_pat"
            | "has_workload_identity"
            | "is_from_organization_user" => no(),
            _ => None,
        })
        .collect()
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
    use super::*;

    #[test]
    fn like_is_case_insensitive_with_wildcards() {
        assert!(like_matches("svc_%", "SVC_DBT"));
        assert!(like_matches("%dbt", "SVC_DBT"));
        assert!(!like_matches("svc", "SVC_DBT"));
    }

    #[test]
    fn desc_times_drop_trailing_zeros() {
        let at = time::macros::datetime!(2020-10-08 01:33:13.430 UTC);
        assert_eq!(desc_time(at), "2020-10-08 01:33:13.43");
        let at = time::macros::datetime!(2020-10-08 01:33:13 +02:00);
        assert_eq!(desc_time(at), "2020-10-07 23:33:13.0");
    }
}
