//! The CloudTrail record model: what the rules read from one event, whatever the source.
//!
//! Tolerant by design: unknown fields are ignored and optional fields may be missing. A record
//! is rejected (and counted by the caller) only when it is not JSON, lacks `eventID`,
//! `eventName`, `eventSource`, `eventTime` or `userIdentity.type`, carries an identity type
//! CloudTrail does not document, or is larger than [`MAX_RECORD_BYTES`].
//! Only the fields the rules need are kept; `responseElements.credentials` (a session token)
//! is never deserialised, so nothing secret can leak into a finding.

use serde::Deserialize;
use time::OffsetDateTime;

/// CloudTrail caps a record at 256 KB; anything past 1 MB is hostile or corrupt.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// One CloudTrail event (`eventVersion` 1.0x).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudTrailRecord {
    #[serde(rename = "eventID")]
    pub event_id: String,
    pub event_name: String,
    pub event_source: String,
    #[serde(deserialize_with = "event_time::deserialize")]
    pub event_time: OffsetDateTime,
    pub user_identity: UserIdentity,
    #[serde(default)]
    pub aws_region: Option<String>,
    #[serde(default, rename = "sourceIPAddress")]
    pub source_ip_address: Option<String>,
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub vpc_endpoint_id: Option<String>,
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub request_parameters: Option<RequestParameters>,
    #[serde(default)]
    pub response_elements: Option<ResponseElements>,
    #[serde(default)]
    pub recipient_account_id: Option<String>,
    #[serde(default, rename = "sharedEventID")]
    pub shared_event_id: Option<String>,
    /// `"true"` (a string in real records) when the session came from the console.
    #[serde(default, deserialize_with = "loose_bool::deserialize")]
    pub session_credential_from_console: Option<bool>,
}

impl CloudTrailRecord {
    /// The call failed (any `errorCode`).
    pub fn failed(&self) -> bool {
        self.error_code.as_deref().is_some_and(|c| !c.is_empty())
    }

    /// `AccessDenied`, `AccessDeniedException` and friends.
    pub fn access_denied(&self) -> bool {
        self.error_code
            .as_deref()
            .is_some_and(|c| c.starts_with("AccessDenied"))
    }

    pub fn params(&self) -> Option<&RequestParameters> {
        self.request_parameters.as_ref()
    }
}

/// Who made the call (`userIdentity`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    #[serde(rename = "type")]
    pub kind: IdentityKind,
    #[serde(default)]
    pub principal_id: Option<String>,
    #[serde(default)]
    pub arn: Option<String>,
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub user_name: Option<String>,
    /// `AWSService`: the service hostname, e.g. `lambda.amazonaws.com`.
    #[serde(default)]
    pub invoked_by: Option<String>,
    /// `SAMLUser` / `WebIdentityUser`: the provider.
    #[serde(default)]
    pub identity_provider: Option<String>,
    #[serde(default)]
    pub session_context: Option<SessionContext>,
    /// `IdentityCenterUser`: the Identity Center user the call was made for.
    #[serde(default)]
    pub on_behalf_of: Option<OnBehalfOf>,
}

/// Every `userIdentity.type` CloudTrail documents. Anything else fails to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
pub enum IdentityKind {
    Root,
    #[serde(rename = "IAMUser")]
    IamUser,
    AssumedRole,
    Role,
    FederatedUser,
    #[serde(rename = "AWSAccount")]
    AwsAccount,
    #[serde(rename = "AWSService")]
    AwsService,
    IdentityCenterUser,
    #[serde(rename = "SAMLUser")]
    SamlUser,
    WebIdentityUser,
    Directory,
    Unknown,
}

impl IdentityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::Root => "Root",
            IdentityKind::IamUser => "IAMUser",
            IdentityKind::AssumedRole => "AssumedRole",
            IdentityKind::Role => "Role",
            IdentityKind::FederatedUser => "FederatedUser",
            IdentityKind::AwsAccount => "AWSAccount",
            IdentityKind::AwsService => "AWSService",
            IdentityKind::IdentityCenterUser => "IdentityCenterUser",
            IdentityKind::SamlUser => "SAMLUser",
            IdentityKind::WebIdentityUser => "WebIdentityUser",
            IdentityKind::Directory => "Directory",
            IdentityKind::Unknown => "Unknown",
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionContext {
    #[serde(default)]
    pub session_issuer: Option<SessionIssuer>,
    #[serde(default)]
    pub attributes: Option<SessionAttributes>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionIssuer {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub arn: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionAttributes {
    #[serde(default, deserialize_with = "loose_bool::deserialize")]
    pub mfa_authenticated: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OnBehalfOf {
    #[serde(default)]
    pub user_id: Option<String>,
}

/// The `requestParameters` the rules read (Secrets Manager and STS calls). Fields no rule reads
/// are skipped, not stored: every string kept costs an allocation per record.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestParameters {
    #[serde(default)]
    pub secret_id: Option<String>,
    /// `BatchGetSecretValue` by id.
    #[serde(default)]
    pub secret_id_list: Option<Vec<String>>,
    /// `BatchGetSecretValue` by filter: which secrets were read is not in the record.
    #[serde(default)]
    pub filters: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    pub role_arn: Option<String>,
    /// The MFA device on `AssumeRole`; absent means no MFA was presented.
    #[serde(default)]
    pub serial_number: Option<String>,
}

impl RequestParameters {
    pub fn has_filters(&self) -> bool {
        self.filters.is_some()
    }
}

/// Only `assumedRoleUser`: `credentials` holds a session token and is deliberately not modelled.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseElements {
    #[serde(default)]
    pub assumed_role_user: Option<AssumedRoleUser>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssumedRoleUser {
    #[serde(default)]
    pub arn: Option<String>,
}

/// Accepts `true`, `"true"`, `"TRUE"`, `false`, `"false"`, null; anything else reads as absent.
mod loose_bool {
    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Loose {
        Bool(bool),
        Text(String),
        Other(serde::de::IgnoredAny),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        Ok(match Option::<Loose>::deserialize(d)? {
            Some(Loose::Bool(b)) => Some(b),
            Some(Loose::Text(s)) if s.eq_ignore_ascii_case("true") => Some(true),
            Some(Loose::Text(s)) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        })
    }
}

/// RFC 3339 (`2014-07-18T15:07:39Z`, what CloudTrail writes) or the space-separated form some
/// pipelines re-emit (`2024-10-17 21:48:45.000000000`, read as UTC).
pub(crate) mod event_time {
    use serde::{Deserializer, de::Error};
    use time::{
        OffsetDateTime, PrimitiveDateTime, format_description::well_known::Rfc3339,
        macros::format_description,
    };

    pub fn parse(s: &str) -> Option<OffsetDateTime> {
        if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
            return Some(t);
        }
        let spaced = format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second][optional [.[subsecond]]]"
        );
        PrimitiveDateTime::parse(s, spaced)
            .ok()
            .map(PrimitiveDateTime::assume_utc)
    }

    struct Visitor;

    impl serde::de::Visitor<'_> for Visitor {
        type Value = OffsetDateTime;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an eventTime timestamp string")
        }

        // Borrowed or not, without allocating.
        fn visit_str<E: Error>(self, s: &str) -> Result<OffsetDateTime, E> {
            parse(s).ok_or_else(|| E::custom("eventTime is not a timestamp"))
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        d.deserialize_str(Visitor)
    }
}
