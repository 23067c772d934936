//! CloudTrail audits: who read or changed the Snowflake secrets, who assumed sensitive roles,
//! and whether rotation is healthy. Pure: no AWS client types; the runner does the I/O.
//!
//! # How the runner drives it
//! ```text
//! let config = AuditConfig::from_json(&std::env::var("SNOWKEY_AUDIT_CONFIG")?)?;   // once per cold start
//! let mut secrets = SecretAccessAudit::new(config.secret_access.clone())?
//!     .with_secret_tags(tags_by_secret_name);                                        // from ListSecrets
//! let mut roles = AssumeRoleAudit::new(config.assume_role.clone())?;
//! for event in lookup_events_pages {                                                 // any order
//!     match parse_lookup_event(&event.cloud_trail_event) {                           // or parse_eventbridge_event,
//!         Ok(record) => { secrets.observe(&record); roles.observe(&record); }        // or RecordStream::open(s3 body)
//!         Err(skip) => skipped.add(skip.reason),                                     // counted warning, never fatal
//!     }
//! }
//! let findings = [secrets.finish(), roles.finish()].concat();                        // + health::evaluate(..)
//! for d in digests(&findings_not_yet_published, DigestLimits::default()) {          // by Finding::dedup_key
//!     sns.publish(&d.notification)?; mark_published(&d.dedup_keys);
//! }
//! ```
//! `observe` keeps only per-(principal, window, secret/role) state for the aggregate rules
//! (bulk reads, repeated failures), and drops windows the time-ordered stream has passed
//! ([`window`]), so memory stays flat in the number of events; `late_events()` counts events
//! too far out of order for those rules to be exact. Findings of the same event always get the
//! same [`Finding::dedup_key`] (aggregates: same window; health: same day), so overlapping scan
//! windows publish nothing twice.
//!
//! Rule ids: `secret.*` in [`secret_access`], `role.*` in [`assume_role`], `health.*` in [`health`].
//! Each can be disabled or re-rated in the config: `"rules": {"secret.off-network-read":
//! {"severity": "LOW"}, "role.chaining": {"enabled": false}}`.

pub mod assume_role;
pub mod digest;
pub mod finding;
pub mod health;
pub mod normalize;
pub mod parse;
pub mod record;
pub mod secret_access;
pub mod stream;
pub mod window;

pub use assume_role::{AssumeRoleAudit, AssumeRoleConfig};
pub use digest::{Digest, DigestLimits, digests};
pub use finding::Finding;
pub use health::{HealthConfig, SecretState};
pub use parse::{
    RecordError, SkipCounts, SkipReason, parse_eventbridge_event, parse_lookup_event, parse_record,
    record_from_detail,
};
pub use record::{CloudTrailRecord, IdentityKind};
pub use secret_access::{SecretAccessAudit, SecretAccessConfig};
pub use stream::RecordStream;

use ipnet::IpNet;
use serde::Deserialize;

/// The whole audit configuration (`SNOWKEY_AUDIT_CONFIG`, or `snowkey audit --config FILE`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    pub secret_access: SecretAccessConfig,
    pub assume_role: AssumeRoleConfig,
    pub health: HealthConfig,
}

impl AuditConfig {
    /// Parses and validates (CIDRs, rule ids) so a bad config fails at cold start. Whether
    /// anything is watched is checked by [`SecretAccessAudit::new`], as only that audit needs it.
    pub fn from_json(json: &str) -> Result<Self, AuditConfigError> {
        let config: AuditConfig =
            serde_json::from_str(json).map_err(|e| AuditConfigError::Json(e.to_string()))?;
        match SecretAccessAudit::new(config.secret_access.clone()) {
            Ok(_) | Err(AuditConfigError::NothingWatched) => {}
            Err(e) => return Err(e),
        }
        AssumeRoleAudit::new(config.assume_role.clone())?;
        config.health.validate()?;
        Ok(config)
    }
}

/// A configuration the audits cannot run with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditConfigError {
    #[error("audit config is not valid JSON for the expected shape: {0}")]
    Json(String),
    #[error("audit config: {0:?} is not a CIDR block (expected e.g. \"203.0.113.0/24\")")]
    BadCidr(String),
    #[error("audit config: unknown rule id {0:?} under \"rules\"")]
    UnknownRule(String),
    #[error("audit config: secret_access watches nothing; set name_prefixes and/or tags")]
    NothingWatched,
}

pub(crate) fn parse_cidrs(cidrs: &[String]) -> Result<Vec<IpNet>, AuditConfigError> {
    cidrs
        .iter()
        .map(|c| {
            c.parse::<IpNet>()
                .or_else(|_| c.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| AuditConfigError::BadCidr(c.clone()))
        })
        .collect()
}
