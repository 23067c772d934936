//! The secret's JSON: the fields rotation reads and writes, and every other field kept verbatim.
//!
//! Consumers keep their own fields next to ours (database, schema, notes…). The object is held as
//! ordered `(key, raw JSON value)` pairs, so a field we do not own keeps its exact bytes and its
//! position across rotations; fields we write replace the old value in place or are appended.

use std::fmt;

use serde::de::{Deserializer as _, MapAccess, Visitor};
use serde_json::value::RawValue;
use zeroize::Zeroizing;

use crate::keys::{Fingerprint, KeyError, Passphrase, PrivateKey};
use crate::snowflake::{AccountIdentifier, ConnectionSettings};

/// Field names of the secret value.
pub mod field {
    pub const ACCOUNT: &str = "account";
    pub const USER: &str = "user";
    pub const PRIVATE_KEY: &str = "private_key";
    pub const PASSPHRASE: &str = "private_key_passphrase";
    pub const HOST: &str = "host";
    pub const ROLE: &str = "role";
    pub const WAREHOUSE: &str = "warehouse";
    pub const ADMIN_SECRET_ARN: &str = "admin_secret_arn";
    pub const FINGERPRINT: &str = "public_key_fingerprint";
}

/// Why a secret value cannot be used. Names the field, never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    fn new(field: &str, reason: impl Into<String>) -> Self {
        FieldError {
            field: field.to_string(),
            reason: reason.into(),
        }
    }
}

/// A JSON object as ordered `(key, raw JSON)` pairs. Values may hold key material: zeroized on drop.
#[derive(Clone, Default)]
pub struct RawObject {
    entries: Vec<(String, Zeroizing<String>)>,
}

impl fmt::Debug for RawObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<&str> = self.entries.iter().map(|(k, _)| k.as_str()).collect();
        write!(f, "RawObject(keys: {keys:?}, values redacted)")
    }
}

impl RawObject {
    /// Parses a JSON object. Error messages carry positions only: serde's own messages can quote values.
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        if !text.trim_start().starts_with('{') {
            return Err(FieldError::new(
                "(value)",
                "the secret value is not a JSON object",
            ));
        }
        let mut de = serde_json::Deserializer::from_str(text);
        let entries = de
            .deserialize_map(EntriesVisitor)
            .and_then(|entries| de.end().map(|()| entries))
            .map_err(|e| {
                FieldError::new(
                    "(value)",
                    format!("not valid JSON (line {}, column {})", e.line(), e.column()),
                )
            })?;
        let mut seen = std::collections::HashSet::new();
        if let Some((dup, _)) = entries.iter().find(|(k, _)| !seen.insert(k.as_str())) {
            return Err(FieldError::new(dup, "the field appears more than once"));
        }
        Ok(RawObject { entries })
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    /// The raw JSON text of a field.
    pub fn raw(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A string field: `Ok(None)` when absent, null or empty; an error for any other JSON type.
    pub fn string(&self, key: &str) -> Result<Option<Zeroizing<String>>, FieldError> {
        let Some(raw) = self.raw(key) else {
            return Ok(None);
        };
        if raw == "null" {
            return Ok(None);
        }
        match serde_json::from_str::<String>(raw) {
            Ok(s) if s.is_empty() => Ok(None),
            Ok(s) => Ok(Some(Zeroizing::new(s))),
            Err(_) => Err(FieldError::new(key, "must be a string")),
        }
    }

    /// A nested object field (`Ok(None)` when absent or null).
    pub fn object(&self, key: &str) -> Result<Option<RawObject>, FieldError> {
        match self.raw(key) {
            None | Some("null") => Ok(None),
            Some(raw) => RawObject::parse(raw)
                .map(Some)
                .map_err(|_| FieldError::new(key, "must be a JSON object")),
        }
    }

    /// Replaces the value in place, or appends the field.
    pub fn set_raw(&mut self, key: &str, raw: Zeroizing<String>) {
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = raw,
            None => self.entries.push((key.to_string(), raw)),
        }
    }

    pub fn set_string(&mut self, key: &str, value: &str) {
        // Serialising a &str cannot fail.
        let raw = serde_json::to_string(value).expect("a string serialises");
        self.set_raw(key, Zeroizing::new(raw));
    }

    pub fn set_object(&mut self, key: &str, value: &RawObject) {
        self.set_raw(key, value.to_json());
    }

    pub fn remove(&mut self, key: &str) {
        self.entries.retain(|(k, _)| k != key);
    }

    /// Compact JSON with every value's original bytes.
    pub fn to_json(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::from("{"));
        for (i, (key, value)) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&serde_json::to_string(key).expect("a string serialises"));
            out.push(':');
            out.push_str(value);
        }
        out.push('}');
        out
    }
}

struct EntriesVisitor;

impl<'de> Visitor<'de> for EntriesVisitor {
    type Value = Vec<(String, Zeroizing<String>)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, &'de RawValue>()? {
            entries.push((key, Zeroizing::new(value.get().to_string())));
        }
        Ok(entries)
    }
}

/// One version of a rotated secret: the fields rotation needs, validated, plus the whole object.
#[derive(Clone)]
pub struct SecretValue {
    object: RawObject,
    pub account: String,
    pub user: String,
    private_key: Zeroizing<String>,
    passphrase: Option<Passphrase>,
    pub host: Option<String>,
    pub role: Option<String>,
    pub warehouse: Option<String>,
    pub admin_secret_arn: Option<String>,
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretValue")
            .field("account", &self.account)
            .field("user", &self.user)
            .field("encrypted", &self.is_encrypted())
            .field("admin_secret_arn", &self.admin_secret_arn)
            .finish_non_exhaustive()
    }
}

impl SecretValue {
    /// Validates the JSON and the fields rotation needs (not the key itself: see [`Self::private_key`]).
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        let object = RawObject::parse(text)?;
        let required = |name: &str| {
            object
                .string(name)?
                .ok_or_else(|| FieldError::new(name, "is missing or empty (it is required)"))
        };
        let optional = |name: &str| object.string(name).map(|v| v.map(|s| s.to_string()));
        let account = required(field::ACCOUNT)?.to_string();
        let user = required(field::USER)?.to_string();
        let private_key = required(field::PRIVATE_KEY)?;
        let passphrase = object
            .string(field::PASSPHRASE)?
            .map(|p| Passphrase::new(p.as_str()));
        let value = SecretValue {
            account,
            user,
            private_key,
            passphrase,
            host: optional(field::HOST)?,
            role: optional(field::ROLE)?,
            warehouse: optional(field::WAREHOUSE)?,
            admin_secret_arn: optional(field::ADMIN_SECRET_ARN)?,
            object,
        };
        value.connection_settings()?;
        Ok(value)
    }

    /// Reads (and, if encrypted, decrypts) the private key.
    pub fn private_key(&self) -> Result<PrivateKey, FieldError> {
        PrivateKey::from_pem(&self.private_key, self.passphrase.as_ref())
            .map_err(|e: KeyError| FieldError::new(field::PRIVATE_KEY, e.to_string()))
    }

    /// The stored private key text exactly as consumers read it (PEM, maybe encrypted).
    pub fn private_key_text(&self) -> &str {
        &self.private_key
    }

    pub fn passphrase(&self) -> Option<&Passphrase> {
        self.passphrase.as_ref()
    }

    /// Whether the key is stored encrypted: new keys then are too.
    pub fn is_encrypted(&self) -> bool {
        self.passphrase.is_some() || self.private_key.contains("ENCRYPTED")
    }

    /// The fingerprint a previous rotation recorded, if any (informational; attribution uses the key).
    pub fn recorded_fingerprint(&self) -> Option<Fingerprint> {
        self.object
            .string(field::FINGERPRINT)
            .ok()
            .flatten()
            .and_then(|s| Fingerprint::parse(&s).ok())
    }

    /// Where and as whom this secret logs in.
    pub fn connection_settings(&self) -> Result<ConnectionSettings, FieldError> {
        let account = AccountIdentifier::parse(&self.account)
            .map_err(|e| FieldError::new(field::ACCOUNT, e.to_string()))?;
        let host =
            match &self.host {
                None => None,
                Some(h) => Some(parse_host(h).ok_or_else(|| {
                    FieldError::new(field::HOST, "is not a host name or https URL")
                })?),
            };
        Ok(ConnectionSettings {
            account,
            user: self.user.clone(),
            host,
            role: self.role.clone(),
            warehouse: self.warehouse.clone(),
        })
    }

    /// The whole object, for writing the next version.
    pub fn object(&self) -> &RawObject {
        &self.object
    }
}

/// `host` is either a URL (`https://…`, or `http://` for a local emulator) or a bare host name.
fn parse_host(host: &str) -> Option<url::Url> {
    let url = if host.contains("://") {
        url::Url::parse(host).ok()?
    } else {
        url::Url::parse(&format!("https://{host}")).ok()?
    };
    (matches!(url.scheme(), "https" | "http") && url.host_str().is_some()).then_some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_keep_their_bytes_and_order() {
        let text =
            r#"{"z": 1.50, "account":"a","nested":{"b" : [1, 2]},"user":"u","private_key":"k"}"#;
        let mut obj = RawObject::parse(text).unwrap();
        obj.set_string("private_key", "new");
        obj.set_string("added", "x");
        assert_eq!(
            obj.to_json().as_str(),
            r#"{"z":1.50,"account":"a","nested":{"b" : [1, 2]},"user":"u","private_key":"new","added":"x"}"#
        );
    }

    #[test]
    fn rejects_non_objects_and_duplicates_without_quoting_values() {
        let err = RawObject::parse("\"-----BEGIN PRIVATE KEY-----\"").unwrap_err();
        assert!(!err.reason.contains("BEGIN"), "{err:?}");
        assert!(
            RawObject::parse("{\"a\":1,\"a\":2}")
                .unwrap_err()
                .reason
                .contains("more than once")
        );
        assert!(RawObject::parse("{\"a\":1} trailing").is_err());
    }

    #[test]
    fn wrong_types_name_the_field_only() {
        let obj = RawObject::parse(r#"{"user": 12345}"#).unwrap();
        let err = obj.string("user").unwrap_err();
        assert_eq!(err.field, "user");
        assert!(!err.reason.contains("12345"));
    }

    #[test]
    fn host_forms() {
        assert_eq!(
            parse_host("xy.snowflakecomputing.com").unwrap().as_str(),
            "https://xy.snowflakecomputing.com/"
        );
        assert_eq!(
            parse_host("http://127.0.0.1:8080").unwrap().port(),
            Some(8080)
        );
        assert!(parse_host("ftp://x").is_none());
    }
}
