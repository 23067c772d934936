//! Account identifiers: the form used in the JWT and the host of the SQL API.

/// A parsed account identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountIdentifier {
    /// Uppercase account as it appears in JWT `iss`/`sub` (e.g. `MYORG-MYACCOUNT`, `XY12345`).
    jwt_account: String,
    /// Host label(s) before `.snowflakecomputing.com`, lowercase (e.g. `xy12345.us-east-1.privatelink`).
    host_prefix: String,
}

impl AccountIdentifier {
    /// Accepts every form in the reference table: locator with region/cloud, `.privatelink`,
    /// `org-account`, `org.account` (given by mistake), `.global`, or a full
    /// `https://….snowflakecomputing.com` URL.
    pub fn parse(input: &str) -> Result<Self, super::SnowflakeError> {
        let _ = input;
        todo!("snowflake client helper")
    }
    pub fn jwt_account(&self) -> &str {
        &self.jwt_account
    }
    /// `https://<host_prefix>.snowflakecomputing.com`
    pub fn base_url(&self) -> url::Url {
        todo!("snowflake client helper")
    }
}
