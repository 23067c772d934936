//! The SQL subset the emulator understands, and Snowflake-shaped SQL errors.

mod lexer;
mod parser;

pub use parser::{ContextFunction, Statement, parse_batch};

/// A statement failure as the SQL API reports it (HTTP 422, QueryFailureStatus).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SqlError {
    pub code: String,
    #[serde(rename = "sqlState")]
    pub sql_state: String,
    pub message: String,
}

impl SqlError {
    pub fn new(code: &str, sql_state: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            sql_state: sql_state.into(),
            message: message.into(),
        }
    }

    /// `001003`/`42000`, as Snowflake reports a parse error.
    pub fn syntax(line: usize, col: usize, unexpected: &str) -> Self {
        Self::new(
            "001003",
            "42000",
            format!(
                "SQL compilation error:\nsyntax error line {line} at position {col} unexpected '{unexpected}'."
            ),
        )
    }

    /// ⚠ Code reported by the community only (reference §2.3).
    pub fn statement_count(actual: usize, desired: usize) -> Self {
        Self::new(
            "000008",
            "0A000",
            format!(
                "Actual statement count {actual} did not match the desired statement count {desired}."
            ),
        )
    }

    pub fn user_not_found(user: &str) -> Self {
        Self::new(
            "002003",
            "02000",
            format!("SQL compilation error:\nUser '{user}' does not exist or not authorized."),
        )
    }

    pub fn insufficient_privileges(user: &str) -> Self {
        Self::new(
            "003001",
            "42501",
            format!(
                "SQL access control error:\nInsufficient privileges to operate on user '{user}'"
            ),
        )
    }

    /// ⚠ Code and sqlState are not documented (reference §3.2, §5); 395006/22023 is our choice.
    pub fn key_rejected(reason: &str) -> Self {
        Self::new(
            "395006",
            "22023",
            format!(
                "SQL execution error:\nNew public key rejected by current policy. Reason: '{reason}'"
            ),
        )
    }

    /// ⚠ Undocumented (reference §3.2); the reason text is ours. Same message prefix as any rejection.
    pub fn duplicate_key(slot_name: &str) -> Self {
        Self::new(
            "395006",
            "22023",
            format!(
                "SQL execution error:\nNew public key rejected by current policy. \
                 Reason: 'Duplicate public key: the key is already set as {slot_name}'"
            ),
        )
    }

    /// ⚠ Code seen by the community only (reference §2.6); message ours.
    pub fn use_not_allowed() -> Self {
        Self::new(
            "391911",
            "0A000",
            "USE statements are only supported in a multi-statement request.",
        )
    }

    /// ⚠ The body `role` is not granted to the user; code from the driver login flow.
    pub fn role_not_granted(role: &str) -> Self {
        Self::new(
            "390189",
            "08004",
            format!(
                "Role '{role}' specified in the connect string does not exist or not authorized. \
                 Contact your local system administrator, or attempt to login with another role, e.g. PUBLIC."
            ),
        )
    }

    pub fn canceled() -> Self {
        Self::new("000604", "57014", "SQL execution canceled")
    }

    pub fn statement_not_found(handle: &str) -> Self {
        Self::new("000709", "02000", format!("Statement {handle} not found"))
    }
}
