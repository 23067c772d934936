//! Snowflake: key-pair JWTs, the SQL API v2 client, and the statements that manage key slots.
//!
//! CONTRACT (other modules code against these names; keep them stable):
//! - [`AccountIdentifier::parse`], [`ConnectionSettings`], [`SqlApiClient::new`] / [`SqlApiClient::execute`],
//!   [`RetryPolicy`], [`ResultSet`], [`Statement`], [`statements`], [`Slot`], [`UserKeySlots`],
//!   [`SnowflakeError`], [`SqlApiKeyRegistry`].

pub mod account;
pub mod client;
pub mod desc_user;
pub mod error;
pub mod jwt;
pub mod registry;
pub mod statements;
mod wire;

pub use account::AccountIdentifier;
pub use client::{ConnectionSettings, ResultSet, RetryPolicy, SqlApiClient};
pub use desc_user::UserKeySlots;
pub use error::SnowflakeError;
pub use jwt::{Jwt, TokenCache};
pub use registry::SqlApiKeyRegistry;
pub use statements::{Slot, Statement};
