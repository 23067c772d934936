//! AssumeRole rules: who assumed the roles marked sensitive, and how.

use std::collections::BTreeMap;

use ipnet::IpNet;
use serde::Deserialize;

use super::finding::{Finding, RuleSettings};
use super::normalize::{
    Origin, Pattern, Principal, any_matches, arn_account, classify_origin, role_key,
};
use super::record::{CloudTrailRecord, IdentityKind};
use super::window::DistinctInWindow;
use super::{AuditConfigError, parse_cidrs};
use crate::notify::Severity;

pub const UNEXPECTED_CALLER: &str = "role.unexpected-caller";
pub const HUMAN_WITHOUT_MFA: &str = "role.human-without-mfa";
pub const FOREIGN_ACCOUNT: &str = "role.foreign-account";
pub const FAILED_ASSUMPTIONS: &str = "role.failed-assumptions";
pub const OFF_NETWORK: &str = "role.off-network";
pub const CHAINING: &str = "role.chaining";
pub const RULES: [&str; 6] = [
    UNEXPECTED_CALLER,
    HUMAN_WITHOUT_MFA,
    FOREIGN_ACCOUNT,
    FAILED_ASSUMPTIONS,
    OFF_NETWORK,
    CHAINING,
];

const ASSUME_EVENTS: [&str; 3] = [
    "AssumeRole",
    "AssumeRoleWithSAML",
    "AssumeRoleWithWebIdentity",
];

/// `SNOWKEY_AUDIT_CONFIG` → `assume_role`. Every field is optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AssumeRoleConfig {
    /// Roles whose assumption is audited: role ARN or role-name globs, e.g. `"*:role/snowflake-*"`.
    pub sensitive_roles: Vec<Pattern>,
    /// Allowed callers per role pattern (callers as principal patterns: role ARNs match their
    /// sessions, user ARNs, service hostnames, SAML `provider/user`).
    pub callers: BTreeMap<String, Vec<Pattern>>,
    /// Allowed to assume every sensitive role (default: AWS service principals).
    pub always_allowed: Vec<Pattern>,
    /// Accounts callers may come from; empty means the rule is off.
    pub accounts: Vec<String>,
    /// Networks callers may come from besides private addresses and AWS services.
    pub trusted_cidrs: Vec<String>,
    /// Roles whose sessions may chain into a sensitive role without a `role.chaining` finding.
    pub chain_sources: Vec<Pattern>,
    /// `role.failed-assumptions`: this many distinct roles (any role) failed for one caller…
    pub failed_threshold: usize,
    /// …within this many minutes.
    pub failed_window_minutes: i64,
    pub rules: RuleSettings,
}

impl Default for AssumeRoleConfig {
    fn default() -> Self {
        AssumeRoleConfig {
            sensitive_roles: Vec::new(),
            callers: BTreeMap::new(),
            always_allowed: vec![Pattern::new("*.amazonaws.com")],
            accounts: Vec::new(),
            trusted_cidrs: Vec::new(),
            chain_sources: Vec::new(),
            failed_threshold: 3,
            failed_window_minutes: 60,
            rules: RuleSettings::default(),
        }
    }
}

/// The AssumeRole rule engine: feed it records in any order, then take the findings.
pub struct AssumeRoleAudit {
    config: AssumeRoleConfig,
    trusted: Vec<IpNet>,
    findings: Vec<Finding>,
    failures: DistinctInWindow,
}

impl AssumeRoleAudit {
    pub fn new(config: AssumeRoleConfig) -> Result<Self, AuditConfigError> {
        if let Some(rule) = config.rules.unknown_rule(&RULES) {
            return Err(AuditConfigError::UnknownRule(rule.to_string()));
        }
        let trusted = parse_cidrs(&config.trusted_cidrs)?;
        let failures = DistinctInWindow::new(
            config.failed_window_minutes.max(1) * 60,
            config.failed_threshold,
        );
        Ok(AssumeRoleAudit {
            config,
            trusted,
            findings: Vec::new(),
            failures,
        })
    }

    fn severity(&self, rule: &str, default: Severity) -> Option<Severity> {
        self.config.rules.severity(rule, default)
    }

    /// An `AWSAccount` identity (the role owner's copy of a cross-account call) only names the
    /// calling account, so any allowed caller from that account matches it.
    fn caller_allowed(&self, role_arn: &str, caller: &Principal) -> bool {
        let c = &self.config;
        let allowed = |p: &Pattern| match caller.kind {
            IdentityKind::AwsAccount => caller
                .account
                .as_deref()
                .is_some_and(|a| arn_account(p.as_str()) == Some(a) || p.as_str() == a),
            _ => p.matches(&caller.id),
        };
        c.always_allowed.iter().any(allowed)
            || c.callers.iter().any(|(role_glob, callers)| {
                Pattern::new(role_glob.as_str()).matches(role_arn) && callers.iter().any(allowed)
            })
    }

    /// Events that arrived too far out of time order for the windowed rule to be exact.
    pub fn late_events(&self) -> u64 {
        self.failures.late_events()
    }

    pub fn observe(&mut self, r: &CloudTrailRecord) {
        if r.event_source != "sts.amazonaws.com" || !ASSUME_EVENTS.contains(&r.event_name.as_str())
        {
            return;
        }
        let Some(role_arn) = r.params().and_then(|p| p.role_arn.as_deref()) else {
            return;
        };
        let principal = Principal::from_identity(&r.user_identity);
        if r.failed()
            && self
                .severity(FAILED_ASSUMPTIONS, Severity::Medium)
                .is_some()
        {
            let role = role_key(role_arn)
                .map_or_else(|| role_arn.to_string(), |(a, n)| format!("{a}:{n}"));
            self.failures.add(
                &principal.id,
                &role,
                r.event_time.unix_timestamp(),
                &r.event_id,
            );
        }
        if !any_matches(&self.config.sensitive_roles, role_arn) {
            return;
        }
        let mut new = Vec::new();
        let ok = !r.failed();
        let mut push = |rule: &str, default: Severity, title: String| {
            if let Some(sev) = self.config.rules.severity(rule, default) {
                new.push(Finding::for_event(
                    rule, sev, title, &principal, role_arn, r,
                ));
            }
        };
        if ok && !self.caller_allowed(role_arn, &principal) {
            push(
                UNEXPECTED_CALLER,
                Severity::High,
                format!("Sensitive role {role_arn} assumed by a caller not on its allow-list"),
            );
        }
        let mfa =
            r.params().is_some_and(|p| p.serial_number.is_some()) || principal.mfa_authenticated;
        if ok && r.event_name == "AssumeRole" && principal.is_human() && !mfa {
            push(
                HUMAN_WITHOUT_MFA,
                Severity::High,
                format!("Sensitive role {role_arn} assumed by a person without MFA"),
            );
        }
        if !self.config.accounts.is_empty()
            && let Some(acct) = principal.account.as_deref()
            && principal.kind != IdentityKind::AwsService
            && !self.config.accounts.iter().any(|a| a == acct)
        {
            push(
                FOREIGN_ACCOUNT,
                Severity::High,
                format!(
                    "Sensitive role {role_arn} assumed from account {acct}, outside the configured accounts"
                ),
            );
        }
        if classify_origin(
            r.source_ip_address.as_deref(),
            r.vpc_endpoint_id.as_deref(),
            &self.trusted,
        ) == Origin::Untrusted
        {
            push(
                OFF_NETWORK,
                Severity::Medium,
                format!("Sensitive role {role_arn} assumed from outside the expected network"),
            );
        }
        if principal.kind == IdentityKind::AssumedRole
            && !any_matches(&self.config.chain_sources, &principal.id)
        {
            push(
                CHAINING,
                Severity::Medium,
                format!("Role chaining into sensitive role {role_arn}"),
            );
        }
        self.findings.extend(new);
    }

    /// All findings, single-event ones first, then repeated failures.
    pub fn finish(mut self) -> Vec<Finding> {
        if let Some(sev) = self.severity(FAILED_ASSUMPTIONS, Severity::Medium) {
            for b in self.failures.finish() {
                let title = format!(
                    "Failed assumption of {} distinct roles by one caller within {} min",
                    b.items.len(),
                    self.config.failed_window_minutes
                );
                let f = Finding::for_burst(FAILED_ASSUMPTIONS, sev, title, "distinct_roles", b);
                self.findings.push(f);
            }
        }
        self.findings
    }
}
