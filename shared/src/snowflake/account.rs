//! Account identifiers: the form used in the JWT and the host of the SQL API.
//!
//! Snowflake wants the JWT account uppercased and without region, cloud or `.privatelink`
//! labels, while the host keeps them. Every form in the reference table is accepted:
//!
//! | input                           | JWT account      | host prefix                     |
//! |---------------------------------|------------------|---------------------------------|
//! | `xy12345`                       | `XY12345`        | `xy12345`                       |
//! | `xy12345.us-east-2.aws`         | `XY12345`        | `xy12345.us-east-2.aws`         |
//! | `xy12345.us-east-1.privatelink` | `XY12345`        | `xy12345.us-east-1.privatelink` |
//! | `myorg-myaccount`               | `MYORG-MYACCOUNT`| `myorg-myaccount`               |
//! | `myorg.myaccount` (a mistake)   | `MYORG-MYACCOUNT`| `myorg-myaccount`               |
//! | `myacct-ext.global`             | `MYACCT`         | `myacct-ext.global`             |
//!
//! For `.global` the drivers disagree; we follow the official sample and the Python connector
//! (drop the `-<suffix>`). A `.global` name without a suffix keeps its first label, because
//! periods in the JWT account make the token invalid.

use super::SnowflakeError;

const DOMAIN: &str = ".snowflakecomputing.com";

/// Labels that name a cloud or connectivity rather than a region.
const NON_REGION_LABELS: &[&str] = &["aws", "azure", "gcp", "privatelink", "global"];

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
    pub fn parse(input: &str) -> Result<Self, SnowflakeError> {
        let invalid = |why: &'static str| SnowflakeError::InvalidAccount(input.to_string(), why);
        let mut text = input.trim().to_ascii_lowercase();
        for scheme in ["https://", "http://"] {
            if let Some(rest) = text.strip_prefix(scheme) {
                text = rest.to_string();
            }
        }
        let text = text.trim_end_matches('/');
        let text = text.strip_suffix(DOMAIN).unwrap_or(text);
        if text.is_empty() {
            return Err(invalid(
                "it is empty; give e.g. MYORG-MYACCOUNT or xy12345.us-east-1",
            ));
        }
        if !text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(invalid(
                "only letters, digits, '-', '_' and '.' are allowed (e.g. MYORG-MYACCOUNT)",
            ));
        }
        let labels: Vec<&str> = text.split('.').collect();
        if labels.iter().any(|l| l.is_empty()) {
            return Err(invalid("it has an empty label between dots"));
        }
        let first = labels[0];

        if labels.last() == Some(&"global") {
            let account = first.rsplit_once('-').map_or(first, |(name, _suffix)| name);
            if account.is_empty() {
                return Err(invalid("a .global account needs a name before '-'"));
            }
            return Ok(Self::new(account, text));
        }

        // `org.account` is a mistake for `org-account`: a region label always contains '-'.
        if labels.len() == 2 && !labels[1].contains('-') && !NON_REGION_LABELS.contains(&labels[1])
        {
            let joined = format!("{}-{}", labels[0], labels[1]);
            return Ok(Self::new(&joined, &joined));
        }
        Ok(Self::new(first, text))
    }

    fn new(jwt_account: &str, host_prefix: &str) -> Self {
        AccountIdentifier {
            jwt_account: jwt_account.to_ascii_uppercase(),
            host_prefix: host_prefix.to_string(),
        }
    }

    pub fn jwt_account(&self) -> &str {
        &self.jwt_account
    }

    /// The label(s) before `.snowflakecomputing.com`.
    pub fn host_prefix(&self) -> &str {
        &self.host_prefix
    }

    /// `https://<host_prefix>.snowflakecomputing.com`
    pub fn base_url(&self) -> url::Url {
        let text = format!("https://{}{DOMAIN}/", self.host_prefix);
        // The prefix holds only validated hostname characters, so this cannot fail.
        url::Url::parse(&text).expect("validated account forms a valid URL")
    }
}

impl std::fmt::Display for AccountIdentifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.jwt_account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(input: &str) -> (String, String) {
        let a = AccountIdentifier::parse(input).unwrap();
        (a.jwt_account().to_string(), a.base_url().to_string())
    }

    #[test]
    fn every_form_in_the_reference_table_normalises() {
        let cases = [
            (
                "xy12345",
                "XY12345",
                "https://xy12345.snowflakecomputing.com/",
            ),
            (
                "xy12345.us-east-1",
                "XY12345",
                "https://xy12345.us-east-1.snowflakecomputing.com/",
            ),
            (
                "xy12345.us-east-2.aws",
                "XY12345",
                "https://xy12345.us-east-2.aws.snowflakecomputing.com/",
            ),
            (
                "xy12345.us-east-1.privatelink",
                "XY12345",
                "https://xy12345.us-east-1.privatelink.snowflakecomputing.com/",
            ),
            (
                "myorg-myaccount",
                "MYORG-MYACCOUNT",
                "https://myorg-myaccount.snowflakecomputing.com/",
            ),
            (
                "MyOrg.MyAccount",
                "MYORG-MYACCOUNT",
                "https://myorg-myaccount.snowflakecomputing.com/",
            ),
            (
                "myacct-ext.global",
                "MYACCT",
                "https://myacct-ext.global.snowflakecomputing.com/",
            ),
            (
                "s3testaccount.global",
                "S3TESTACCOUNT",
                "https://s3testaccount.global.snowflakecomputing.com/",
            ),
            (
                "xy12345.azure",
                "XY12345",
                "https://xy12345.azure.snowflakecomputing.com/",
            ),
            (
                "xy12345.privatelink",
                "XY12345",
                "https://xy12345.privatelink.snowflakecomputing.com/",
            ),
            (
                "https://MYORG-MYACCOUNT.snowflakecomputing.com/",
                "MYORG-MYACCOUNT",
                "https://myorg-myaccount.snowflakecomputing.com/",
            ),
            (
                "myorg-myaccount.privatelink.snowflakecomputing.com",
                "MYORG-MYACCOUNT",
                "https://myorg-myaccount.privatelink.snowflakecomputing.com/",
            ),
        ];
        for (input, jwt, url) in cases {
            assert_eq!(
                parsed(input),
                (jwt.to_string(), url.to_string()),
                "input {input}"
            );
        }
    }

    #[test]
    fn nonsense_accounts_are_refused_with_a_reason() {
        for input in [
            "",
            "  ",
            "a..b",
            "acct;drop",
            "acct/evil",
            "https://",
            "-ext.global",
            "a b",
        ] {
            let err = AccountIdentifier::parse(input).unwrap_err();
            assert!(
                matches!(err, SnowflakeError::InvalidAccount(..)),
                "{input}: {err}"
            );
        }
    }
}
