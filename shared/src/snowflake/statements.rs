//! The only SQL this crate sends. Identifiers are double-quoted with inner quotes doubled; key
//! values pass strict base64 validation before they are placed in SQL.

use crate::keys::PublicKey;

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

/// `"NAME"` with inner `"` doubled; rejects empty names and control characters.
pub fn quote_identifier(name: &str) -> Result<String, super::SnowflakeError> {
    let _ = name;
    todo!("snowflake client helper")
}

pub fn desc_user(user: &str) -> Result<Statement, super::SnowflakeError> {
    let _ = user;
    todo!("snowflake client helper")
}

pub fn set_public_key(user: &str, slot: Slot, key: &PublicKey) -> Result<Statement, super::SnowflakeError> {
    let _ = (user, slot, key);
    todo!("snowflake client helper")
}

pub fn unset_public_key(user: &str, slot: Slot) -> Result<Statement, super::SnowflakeError> {
    let _ = (user, slot);
    todo!("snowflake client helper")
}

pub fn select_current_user() -> Statement {
    Statement { sql: "SELECT CURRENT_USER()".to_string() }
}
