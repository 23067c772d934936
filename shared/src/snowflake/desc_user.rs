//! A parsed view of `DESC USER`.

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
    pub fn from_result_set(rs: &super::ResultSet) -> Result<Self, super::SnowflakeError> {
        let _ = rs;
        todo!("snowflake client helper")
    }
    pub fn fingerprint(&self, slot: super::Slot) -> Option<&Fingerprint> {
        match slot {
            super::Slot::One => self.slot_1.as_ref(),
            super::Slot::Two => self.slot_2.as_ref(),
        }
    }
}
