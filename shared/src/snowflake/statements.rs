//! The only SQL this crate sends. Identifiers are double-quoted with inner quotes doubled; key
//! values pass strict base64 validation before they are placed in SQL.

use super::SnowflakeError;
use crate::keys::PublicKey;

/// Snowflake's longest identifier.
const MAX_IDENTIFIER_CHARS: usize = 255;

/// Snowflake's two legacy key slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slot {
    /// `RSA_PUBLIC_KEY`
    One,
    /// `RSA_PUBLIC_KEY_2`
    Two,
}

impl Slot {
    pub fn property(self) -> &'static str {
        match self {
            Slot::One => "RSA_PUBLIC_KEY",
            Slot::Two => "RSA_PUBLIC_KEY_2",
        }
    }
    pub fn other(self) -> Slot {
        match self {
            Slot::One => Slot::Two,
            Slot::Two => Slot::One,
        }
    }
}

impl std::fmt::Display for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.property())
    }
}

/// A SQL statement ready to send. Built only by the functions below, or by
/// [`Statement::operator_supplied`] for SQL an operator typed themselves (the CLI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    sql: String,
}

impl Statement {
    pub fn sql(&self) -> &str {
        &self.sql
    }
    /// SQL typed by an operator at the CLI; never used by the functions.
    pub fn operator_supplied(sql: impl Into<String>) -> Self {
        Statement { sql: sql.into() }
    }
}

/// `"NAME"` with inner `"` doubled. Quoting makes any character safe, but an empty name, a
/// control character (newline, NUL, …) or an over-long name is surely a mistake, so it is refused.
pub fn quote_identifier(name: &str) -> Result<String, SnowflakeError> {
    let invalid = |reason| SnowflakeError::InvalidIdentifier {
        name: name.to_string(),
        reason,
    };
    if name.is_empty() {
        return Err(invalid("it is empty"));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid(
            "it contains a control character (newline, tab, NUL, …); check for a stray line break",
        ));
    }
    if name.chars().count() > MAX_IDENTIFIER_CHARS {
        return Err(invalid("it is longer than Snowflake's 255-character limit"));
    }
    Ok(format!("\"{}\"", name.replace('"', "\"\"")))
}

/// A user name as Snowflake resolves it, quoted. A name that may be written unquoted
/// (`svc_loader`) names the user created as `CREATE USER svc_loader`, which Snowflake stores
/// upper-case (the JWT names it upper-case too); quoting it as written would name another, missing
/// user. Any other name (`john.doe@x.com`, `svc"q`) can only have been created quoted: kept as is.
pub fn user_identifier(user: &str) -> Result<String, SnowflakeError> {
    let mut chars = user.chars();
    let unquoted_form = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if unquoted_form {
        quote_identifier(&user.to_ascii_uppercase())
    } else {
        quote_identifier(user)
    }
}

/// The key's one-line body, re-checked here because it is placed between quotes in SQL:
/// only `[A-Za-z0-9+/]` with `=` padding, and it must decode back to the same key.
fn key_literal(key: &PublicKey) -> Result<String, SnowflakeError> {
    let body = key.to_snowflake_body();
    let data_len = body.trim_end_matches('=').len();
    let shape_ok = !body.is_empty()
        && body.len().is_multiple_of(4)
        && body.len() - data_len <= 2
        && body[..data_len]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    if !shape_ok {
        return Err(SnowflakeError::InvalidKeyValue(
            "the key body is not strict single-line base64".into(),
        ));
    }
    match PublicKey::from_snowflake_body(&body) {
        Ok(decoded) if decoded == *key => Ok(body),
        _ => Err(SnowflakeError::InvalidKeyValue(
            "the key body does not decode back to the same RSA key".into(),
        )),
    }
}

/// `DESC USER "<user>"`
pub fn desc_user(user: &str) -> Result<Statement, SnowflakeError> {
    Ok(Statement {
        sql: format!("DESC USER {}", user_identifier(user)?),
    })
}

/// `ALTER USER "<user>" SET RSA_PUBLIC_KEY[_2] = '<base64 SPKI>'`
pub fn set_public_key(
    user: &str,
    slot: Slot,
    key: &PublicKey,
) -> Result<Statement, SnowflakeError> {
    let user = user_identifier(user)?;
    let body = key_literal(key)?;
    Ok(Statement {
        sql: format!("ALTER USER {user} SET {} = '{body}'", slot.property()),
    })
}

/// `ALTER USER "<user>" UNSET RSA_PUBLIC_KEY[_2]`
pub fn unset_public_key(user: &str, slot: Slot) -> Result<Statement, SnowflakeError> {
    Ok(Statement {
        sql: format!(
            "ALTER USER {} UNSET {}",
            user_identifier(user)?,
            slot.property()
        ),
    })
}

/// `SELECT CURRENT_USER()`
pub fn select_current_user() -> Statement {
    Statement {
        sql: "SELECT CURRENT_USER()".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_with_inner_quotes_doubled() {
        assert_eq!(quote_identifier("SVC_LOADER").unwrap(), "\"SVC_LOADER\"");
        assert_eq!(quote_identifier("a\"b").unwrap(), "\"a\"\"b\"");
        assert_eq!(
            quote_identifier("x\"; DROP USER y; --").unwrap(),
            "\"x\"\"; DROP USER y; --\""
        );
        assert_eq!(
            quote_identifier("john.doe@example.com").unwrap(),
            "\"john.doe@example.com\""
        );
    }

    #[test]
    fn empty_control_and_overlong_names_are_refused() {
        for bad in ["", "svc\nuser", "svc\r", "nul\0", "tab\there"] {
            let err = quote_identifier(bad).unwrap_err();
            assert!(
                matches!(err, SnowflakeError::InvalidIdentifier { .. }),
                "{bad:?}: {err}"
            );
        }
        assert!(quote_identifier(&"a".repeat(256)).is_err());
        assert!(quote_identifier(&"a".repeat(255)).is_ok());
    }

    #[test]
    fn unset_and_desc_name_the_slot_and_quoted_user() {
        assert_eq!(
            unset_public_key("svc", Slot::Two).unwrap().sql(),
            "ALTER USER \"SVC\" UNSET RSA_PUBLIC_KEY_2"
        );
        assert_eq!(
            unset_public_key("svc", Slot::One).unwrap().sql(),
            "ALTER USER \"SVC\" UNSET RSA_PUBLIC_KEY"
        );
        assert_eq!(desc_user("S\"VC").unwrap().sql(), "DESC USER \"S\"\"VC\"");
        assert!(desc_user("a\nb").is_err());
    }

    #[test]
    fn names_that_could_be_unquoted_are_upper_cased_others_kept() {
        assert_eq!(user_identifier("svc_loader$1").unwrap(), "\"SVC_LOADER$1\"");
        assert_eq!(user_identifier("_x").unwrap(), "\"_X\"");
        for kept in [
            "john.doe@example.com",
            "1svc",
            "svc-loader",
            "Ünïcode",
            "a\"b",
        ] {
            assert_eq!(
                user_identifier(kept).unwrap(),
                quote_identifier(kept).unwrap()
            );
        }
        assert!(user_identifier("").is_err());
    }
}
