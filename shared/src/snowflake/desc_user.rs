//! A parsed view of `DESC USER`: one row per property, columns `property`, `value`, `default`,
//! `description`; unset values are the string `null`.

use super::{ResultSet, Slot, SnowflakeError};
use crate::keys::Fingerprint;

/// What `DESC USER` says about a user's key slots. The string `null` means unset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserKeySlots {
    pub name: String,
    pub login_name: String,
    pub user_type: Option<String>,
    /// `RSA_PUBLIC_KEY_FP`
    pub slot_1: Option<Fingerprint>,
    /// `RSA_PUBLIC_KEY_2_FP`
    pub slot_2: Option<Fingerprint>,
}

impl UserKeySlots {
    pub fn from_result_set(rs: &ResultSet) -> Result<Self, SnowflakeError> {
        let column = |name: &str| {
            rs.columns
                .iter()
                .position(|c| c.eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    SnowflakeError::Protocol(format!(
                        "DESC USER result has no {name:?} column (got {:?})",
                        rs.columns
                    ))
                })
        };
        let (property_col, value_col) = (column("property")?, column("value")?);
        let value = |property: &str| -> Option<&str> {
            rs.rows
                .iter()
                .find(|row| row.get(property_col).and_then(Option::as_deref) == Some(property))
                .and_then(|row| row.get(value_col).and_then(Option::as_deref))
                .filter(|v| !v.is_empty() && *v != "null")
        };
        let required = |property: &str| {
            value(property).map(str::to_string).ok_or_else(|| {
                SnowflakeError::Protocol(format!("DESC USER result has no {property} row"))
            })
        };
        let fingerprint = |property: &str| {
            value(property)
                .map(|fp| {
                    Fingerprint::parse(fp).map_err(|e| {
                        SnowflakeError::Protocol(format!(
                            "DESC USER {property} is not a SHA256 fingerprint: {e}"
                        ))
                    })
                })
                .transpose()
        };
        Ok(UserKeySlots {
            name: required("NAME")?,
            login_name: required("LOGIN_NAME")?,
            user_type: value("TYPE").map(str::to_string),
            slot_1: fingerprint("RSA_PUBLIC_KEY_FP")?,
            slot_2: fingerprint("RSA_PUBLIC_KEY_2_FP")?,
        })
    }

    pub fn fingerprint(&self, slot: Slot) -> Option<&Fingerprint> {
        match slot {
            Slot::One => self.slot_1.as_ref(),
            Slot::Two => self.slot_2.as_ref(),
        }
    }

    /// The slot holding `fingerprint`, if any (slot 1 first).
    pub fn slot_of(&self, fingerprint: &Fingerprint) -> Option<Slot> {
        [Slot::One, Slot::Two]
            .into_iter()
            .find(|s| self.fingerprint(*s) == Some(fingerprint))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP: &str = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

    fn desc(rows: &[(&str, Option<&str>)]) -> ResultSet {
        ResultSet {
            columns: ["property", "value", "default", "description"]
                .map(String::from)
                .to_vec(),
            rows: rows
                .iter()
                .map(|(p, v)| {
                    vec![
                        Some(p.to_string()),
                        v.map(String::from),
                        Some("null".into()),
                        None,
                    ]
                })
                .collect(),
            statement_handle: None,
        }
    }

    #[test]
    fn reads_login_name_type_and_both_slots_with_null_as_unset() {
        let rs = desc(&[
            ("NAME", Some("SVC_LOADER")),
            ("LOGIN_NAME", Some("SVC_LOADER_LOGIN")),
            ("TYPE", Some("SERVICE")),
            ("RSA_PUBLIC_KEY_FP", Some(FP)),
            ("RSA_PUBLIC_KEY_2_FP", Some("null")),
        ]);
        let slots = UserKeySlots::from_result_set(&rs).unwrap();
        assert_eq!(slots.login_name, "SVC_LOADER_LOGIN");
        assert_eq!(slots.user_type.as_deref(), Some("SERVICE"));
        assert_eq!(
            slots.fingerprint(Slot::One).map(Fingerprint::as_str),
            Some(FP)
        );
        assert_eq!(slots.fingerprint(Slot::Two), None);
        assert_eq!(
            slots.slot_of(&Fingerprint::parse(FP).unwrap()),
            Some(Slot::One)
        );
    }

    #[test]
    fn a_garbled_fingerprint_or_missing_login_name_is_a_protocol_error() {
        let bad_fp = desc(&[
            ("NAME", Some("U")),
            ("LOGIN_NAME", Some("U")),
            ("RSA_PUBLIC_KEY_FP", Some("MD5:abc")),
        ]);
        assert!(matches!(
            UserKeySlots::from_result_set(&bad_fp),
            Err(SnowflakeError::Protocol(_))
        ));
        let no_login = desc(&[("NAME", Some("U"))]);
        assert!(matches!(
            UserKeySlots::from_result_set(&no_login),
            Err(SnowflakeError::Protocol(_))
        ));
    }
}
