//! Opt-in consumer formats: extra fields some tools read, written next to ours on every rotation.
//!
//! Chosen per secret with the tag `snowkey:formats` (e.g. `dbt,kafka`). The base fields
//! (`account`, `user`, `private_key` as PEM with real newlines, `private_key_passphrase`) already
//! serve dbt (`private_key`, dbt ≥ 1.5) and the Terraform provider, so those two add nothing.
//! `host` is never written for dlt or Airbyte: here it means the Snowflake host to connect to.

use std::fmt;

use crate::keys::Passphrase;

use super::secret_value::RawObject;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConsumerFormat {
    Dlt,
    Dbt,
    Airbyte,
    Kafka,
    Lightdash,
    Terraform,
}

impl ConsumerFormat {
    pub const ALL: [ConsumerFormat; 6] = [
        ConsumerFormat::Dlt,
        ConsumerFormat::Dbt,
        ConsumerFormat::Airbyte,
        ConsumerFormat::Kafka,
        ConsumerFormat::Lightdash,
        ConsumerFormat::Terraform,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ConsumerFormat::Dlt => "dlt",
            ConsumerFormat::Dbt => "dbt",
            ConsumerFormat::Airbyte => "airbyte",
            ConsumerFormat::Kafka => "kafka",
            ConsumerFormat::Lightdash => "lightdash",
            ConsumerFormat::Terraform => "terraform",
        }
    }

    /// A comma-separated list (`dbt, kafka`); empty entries are ignored, unknown names rejected.
    pub fn parse_list(list: &str) -> Result<Vec<ConsumerFormat>, String> {
        let mut formats = Vec::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let format = Self::ALL
                .into_iter()
                .find(|f| f.name().eq_ignore_ascii_case(name))
                .ok_or_else(|| format!("unknown format {name:?}; known: dlt, dbt, airbyte, kafka, lightdash, terraform"))?;
            if !formats.contains(&format) {
                formats.push(format);
            }
        }
        Ok(formats)
    }
}

impl fmt::Display for ConsumerFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a format needs to know about the new key.
pub struct NewKeyFields<'a> {
    pub user: &'a str,
    /// The private key exactly as stored in `private_key` (PKCS#8 PEM, encrypted when a passphrase is set).
    pub private_key_pem: &'a str,
    pub passphrase: Option<&'a Passphrase>,
}

/// Writes the fields `format` reads; fields it does not own stay untouched.
pub fn apply(
    format: ConsumerFormat,
    object: &mut RawObject,
    new: &NewKeyFields<'_>,
) -> Result<(), String> {
    match format {
        ConsumerFormat::Dbt | ConsumerFormat::Terraform => {}
        ConsumerFormat::Dlt => object.set_string("username", new.user),
        ConsumerFormat::Airbyte => {
            let mut credentials = object
                .object("credentials")
                .map_err(|_| {
                    "field `credentials` must be a JSON object for the airbyte format".to_string()
                })?
                .unwrap_or_default();
            credentials.set_string("auth_type", "Key Pair Authentication");
            credentials.set_string("username", new.user);
            credentials.set_string("private_key", new.private_key_pem);
            set_or_remove(&mut credentials, "private_key_password", new.passphrase);
            object.set_object("credentials", &credentials);
        }
        ConsumerFormat::Kafka => {
            // The connector wants the key body only: no header, footer or line breaks.
            object.set_string("snowflake.user.name", new.user);
            object.set_string("snowflake.private.key", &pem_body(new.private_key_pem));
            set_or_remove(object, "snowflake.private.key.passphrase", new.passphrase);
        }
        ConsumerFormat::Lightdash => {
            object.set_string("authenticationType", "private_key");
            object.set_string("privateKey", new.private_key_pem);
            set_or_remove(object, "privateKeyPass", new.passphrase);
        }
    }
    Ok(())
}

fn set_or_remove(object: &mut RawObject, key: &str, passphrase: Option<&Passphrase>) {
    match passphrase {
        Some(p) => object.set_string(key, p.expose()),
        None => object.remove(key),
    }
}

/// The base64 lines of a PEM joined into one line.
fn pem_body(pem: &str) -> zeroize::Zeroizing<String> {
    zeroize::Zeroizing::new(
        pem.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("-----"))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_case_insensitively_and_rejects_unknown() {
        assert_eq!(
            ConsumerFormat::parse_list(" dbt, Kafka,,dbt").unwrap(),
            vec![ConsumerFormat::Dbt, ConsumerFormat::Kafka]
        );
        assert!(
            ConsumerFormat::parse_list("dbt,fivetran")
                .unwrap_err()
                .contains("fivetran")
        );
    }

    #[test]
    fn pem_body_is_one_line() {
        assert_eq!(
            pem_body("-----BEGIN X-----\nAAA\nBBB\n-----END X-----\n").as_str(),
            "AAABBB"
        );
    }
}
