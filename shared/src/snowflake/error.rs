//! Errors from the Snowflake SQL API. Messages never contain keys or tokens.

#[derive(Debug, thiserror::Error)]
pub enum SnowflakeError {
    #[error("invalid account identifier {0:?}: {1}")]
    InvalidAccount(String, &'static str),
    #[error("invalid identifier: {0}")]
    InvalidIdentifier(String),
    #[error("refusing to place a public key value in SQL: {0}")]
    InvalidKeyValue(String),
    #[error("Snowflake rejected authentication (HTTP 401, code {code}): {message}")]
    Authentication { code: String, message: String },
    #[error("SQL error {code} ({sql_state}): {message}")]
    Sql { code: String, sql_state: String, message: String, statement_handle: Option<String> },
    #[error("Snowflake answered HTTP {status}: {message}")]
    Http { status: u16, message: String },
    #[error("statement still running after {waited_secs} s (handle {statement_handle})")]
    StillRunning { statement_handle: String, waited_secs: u64 },
    #[error("gave up after {attempts} attempts over {elapsed_ms} ms; last error: {last}")]
    RetriesExhausted { attempts: u32, elapsed_ms: u64, last: String },
    #[error("could not reach Snowflake at {host}: {cause}")]
    Transport { host: String, cause: String },
    #[error("unexpected response from Snowflake: {0}")]
    Protocol(String),
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
}
