//! Key-pair JWTs exactly as Snowflake documents them, cached until ~5 minutes before expiry.
//!
//! `iss` = `ACCOUNT.USER.SHA256:<fp>`, `sub` = `ACCOUNT.USER`, RS256, `exp` at most 59 minutes
//! after `iat` (Snowflake caps tokens at one hour; the official sample uses 59 minutes).

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use secrecy::{ExposeSecret, SecretString};

use super::{AccountIdentifier, SnowflakeError};
use crate::keys::PrivateKey;

/// The longest lifetime we mint: 59 minutes, under Snowflake's one-hour cap.
pub const MAX_LIFETIME: Duration = Duration::from_secs(59 * 60);
/// A cached token is replaced this long before it expires.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// A signed JWT. A bearer credential: zeroized on drop, never printed.
#[derive(Clone)]
pub struct Jwt(SecretString);

impl Jwt {
    /// Deliberately explicit: every call site that reads the token is greppable.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Jwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Jwt(<redacted>)")
    }
}

/// The claims Snowflake reads.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub iat: u64,
    pub exp: u64,
}

impl Claims {
    /// Claims for `user` (uppercased) of `account` with `key`, issued at `iat` (Unix seconds).
    pub fn new(
        account: &AccountIdentifier,
        user: &str,
        key: &PrivateKey,
        iat: u64,
        lifetime: Duration,
    ) -> Result<Self, SnowflakeError> {
        if lifetime.is_zero() || lifetime > MAX_LIFETIME {
            return Err(SnowflakeError::InvalidLifetime(lifetime.as_secs()));
        }
        let user = jwt_user(user)?;
        let sub = format!("{}.{user}", account.jwt_account());
        Ok(Claims {
            iss: format!("{sub}.{}", key.fingerprint()),
            sub,
            iat,
            exp: iat + lifetime.as_secs(),
        })
    }
}

/// The user as the JWT carries it: uppercased LOGIN_NAME.
fn jwt_user(user: &str) -> Result<String, SnowflakeError> {
    let user = user.trim();
    if user.is_empty() {
        return Err(SnowflakeError::InvalidUser {
            user: user.to_string(),
            reason: "it is empty; give the user's LOGIN_NAME",
        });
    }
    if user.chars().any(char::is_control) {
        return Err(SnowflakeError::InvalidUser {
            user: user.to_string(),
            reason: "it contains a control character (newline, NUL, …)",
        });
    }
    Ok(user.to_uppercase())
}

/// Signs `claims` with RS256.
pub fn sign(claims: &Claims, key: &PrivateKey) -> Result<Jwt, SnowflakeError> {
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    jsonwebtoken::encode(&header, claims, &key.jwt_encoding_key())
        .map(|t| Jwt(SecretString::from(t)))
        .map_err(|e| SnowflakeError::Signing(e.to_string()))
}

/// Mints one token issued now.
pub fn mint(
    account: &AccountIdentifier,
    user: &str,
    key: &PrivateKey,
    lifetime: Duration,
) -> Result<Jwt, SnowflakeError> {
    sign(&Claims::new(account, user, key, unix_now(), lifetime)?, key)
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Reuses one token until [`REFRESH_MARGIN`] before its expiry, then mints another.
pub struct TokenCache {
    account: AccountIdentifier,
    user: String,
    key: Arc<PrivateKey>,
    lifetime: Duration,
    current: Mutex<Option<(Jwt, u64)>>,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("account", &self.account)
            .field("user", &self.user)
            .finish()
    }
}

impl TokenCache {
    pub fn new(
        account: AccountIdentifier,
        user: &str,
        key: Arc<PrivateKey>,
    ) -> Result<Self, SnowflakeError> {
        jwt_user(user)?;
        Ok(TokenCache {
            account,
            user: user.to_string(),
            key,
            lifetime: MAX_LIFETIME,
            current: Mutex::new(None),
        })
    }

    /// The cached token, or a new one when none is cached or it expires within the margin.
    pub fn token(&self) -> Result<Jwt, SnowflakeError> {
        self.token_at(unix_now())
    }

    /// [`TokenCache::token`] at a given time (Unix seconds).
    pub fn token_at(&self, now: u64) -> Result<Jwt, SnowflakeError> {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((jwt, exp)) = current.as_ref()
            && now + REFRESH_MARGIN.as_secs() < *exp
        {
            return Ok(jwt.clone());
        }
        let claims = Claims::new(&self.account, &self.user, &self.key, now, self.lifetime)?;
        let jwt = sign(&claims, &self.key)?;
        *current = Some((jwt.clone(), claims.exp));
        Ok(jwt)
    }

    /// Drops the cached token and mints a new one (after Snowflake answered 401).
    pub fn refresh(&self) -> Result<Jwt, SnowflakeError> {
        self.refresh_at(unix_now())
    }

    pub fn refresh_at(&self, now: u64) -> Result<Jwt, SnowflakeError> {
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.token_at(now)
    }
}
