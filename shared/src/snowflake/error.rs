//! Errors from the Snowflake SQL API. Messages never contain keys or tokens; each says what to fix.

#[derive(Debug, thiserror::Error)]
pub enum SnowflakeError {
    #[error("invalid Snowflake account {0:?}: {1}")]
    InvalidAccount(String, &'static str),
    #[error("invalid Snowflake user name {user:?}: {reason}")]
    InvalidUser { user: String, reason: &'static str },
    #[error("invalid identifier {name:?}: {reason}")]
    InvalidIdentifier { name: String, reason: &'static str },
    #[error("refusing to place a public key value in SQL: {0}")]
    InvalidKeyValue(String),
    #[error(
        "JWT lifetime of {0} s is out of range: use 1 to 3540 seconds (Snowflake caps tokens at one hour)"
    )]
    InvalidLifetime(u64),
    #[error("invalid SQL API host override: {0}")]
    InvalidHost(String),
    #[error("could not sign the JWT: {0}")]
    Signing(String),
    #[error(
        "Snowflake rejected the key-pair JWT (HTTP 401, code {code}: {message}); check the account, \
         that the user is the LOGIN_NAME, and that the key's public half is set on the user"
    )]
    Authentication { code: String, message: String },
    #[error("SQL error {code} ({sql_state}): {message}")]
    Sql {
        code: String,
        sql_state: String,
        message: String,
        statement_handle: Option<String>,
    },
    #[error("Snowflake answered HTTP {status}: {message}")]
    Http { status: u16, message: String },
    #[error(
        "statement still running after {waited_secs} s (handle {statement_handle}); check it in Snowflake"
    )]
    StillRunning {
        statement_handle: String,
        waited_secs: u64,
    },
    #[error("gave up after {attempts} attempts over {elapsed_ms} ms; last error: {last}")]
    RetriesExhausted {
        attempts: u32,
        elapsed_ms: u64,
        last: String,
    },
    #[error("unexpected response from Snowflake: {0}")]
    Protocol(String),
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
}

impl SnowflakeError {
    /// The SQL error code (`"000904"` …) when Snowflake refused the statement itself.
    pub fn sql_code(&self) -> Option<&str> {
        match self {
            SnowflakeError::Sql { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether this is a SQL error whose message starts with `prefix`.
    pub fn sql_message_starts_with(&self, prefix: &str) -> bool {
        matches!(self, SnowflakeError::Sql { message, .. } if message.starts_with(prefix))
    }
}
