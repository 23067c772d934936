//! Secret-access rules: who read or changed the watched Secrets Manager secrets.

use std::collections::{BTreeMap, HashMap};

use ipnet::IpNet;
use serde::Deserialize;

use super::finding::{Finding, RuleSettings};
use super::normalize::{
    Origin, Pattern, Principal, SecretName, any_matches, classify_origin, glob, secret_name,
};
use super::record::CloudTrailRecord;
use super::window::DistinctInWindow;
use super::{AuditConfigError, parse_cidrs};
use crate::notify::Severity;

pub const UNEXPECTED_READER: &str = "secret.unexpected-reader";
pub const DENIED_READ: &str = "secret.denied-read";
pub const HUMAN_READER: &str = "secret.human-reader";
pub const OFF_NETWORK_READ: &str = "secret.off-network-read";
pub const BULK_READ: &str = "secret.bulk-read";
pub const UNEXPECTED_CHANGE: &str = "secret.unexpected-change";
pub const RULES: [&str; 6] = [
    UNEXPECTED_READER,
    DENIED_READ,
    HUMAN_READER,
    OFF_NETWORK_READ,
    BULK_READ,
    UNEXPECTED_CHANGE,
];

const READ_EVENTS: [&str; 2] = ["GetSecretValue", "BatchGetSecretValue"];
const CHANGE_EVENTS: [&str; 9] = [
    "PutSecretValue",
    "UpdateSecret",
    "UpdateSecretVersionStage",
    "DeleteSecret",
    "RestoreSecret",
    "PutResourcePolicy",
    "DeleteResourcePolicy",
    "RotateSecret",
    "CancelRotateSecret",
];
/// What a `BatchGetSecretValue` by filter is reported against: the record does not say which secrets.
const FILTERED_BATCH: &str = "(BatchGetSecretValue by filter)";

/// `SNOWKEY_AUDIT_CONFIG` → `secret_access`. Every field is optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecretAccessConfig {
    /// Secrets whose name starts with one of these are watched.
    pub name_prefixes: Vec<String>,
    /// Secrets carrying one of these tags are watched (`"*"` matches any value); the caller
    /// supplies each secret's tags with [`SecretAccessAudit::with_secret_tags`].
    pub tags: BTreeMap<String, String>,
    /// Allowed readers per secret-name glob, e.g. `{"snowflake/dlt*": ["arn:aws:iam::1:role/dlt"]}`.
    /// Entries are principal patterns: role ARNs (matching their sessions), user ARNs, service hostnames.
    pub readers: BTreeMap<String, Vec<Pattern>>,
    /// Allowed to read every watched secret (default: AWS service principals, `*.amazonaws.com`).
    pub always_allowed: Vec<Pattern>,
    /// The rotation function's role: may read and change every watched secret.
    pub rotation_roles: Vec<Pattern>,
    /// Others allowed to change watched secrets (default: Secrets Manager itself).
    pub change_allowed: Vec<Pattern>,
    /// Humans allowed to read without a finding from `secret.human-reader` (break-glass roles).
    pub human_allowed: Vec<Pattern>,
    /// Networks reads may come from besides VPC endpoints, private addresses and AWS services.
    pub trusted_cidrs: Vec<String>,
    /// `secret.bulk-read`: this many distinct watched secrets…
    pub bulk_threshold: usize,
    /// …by one principal within this many minutes.
    pub bulk_window_minutes: i64,
    /// User-agent prefixes that mean a browser (a console session).
    pub browser_user_agents: Vec<String>,
    pub rules: RuleSettings,
}

impl Default for SecretAccessConfig {
    fn default() -> Self {
        SecretAccessConfig {
            name_prefixes: Vec::new(),
            tags: BTreeMap::new(),
            readers: BTreeMap::new(),
            always_allowed: vec![Pattern::new("*.amazonaws.com")],
            rotation_roles: Vec::new(),
            change_allowed: vec![Pattern::new("secretsmanager.amazonaws.com")],
            human_allowed: Vec::new(),
            trusted_cidrs: Vec::new(),
            bulk_threshold: 5,
            bulk_window_minutes: 60,
            browser_user_agents: vec!["Mozilla/".into()],
            rules: RuleSettings::default(),
        }
    }
}

/// The secret-access rule engine: feed it records in any order, then take the findings.
pub struct SecretAccessAudit {
    config: SecretAccessConfig,
    trusted: Vec<IpNet>,
    tags: HashMap<String, BTreeMap<String, String>>,
    findings: Vec<Finding>,
    bulk: DistinctInWindow,
}

impl SecretAccessAudit {
    pub fn new(config: SecretAccessConfig) -> Result<Self, AuditConfigError> {
        if let Some(rule) = config.rules.unknown_rule(&RULES) {
            return Err(AuditConfigError::UnknownRule(rule.to_string()));
        }
        let trusted = parse_cidrs(&config.trusted_cidrs)?;
        if config.name_prefixes.is_empty() && config.tags.is_empty() {
            return Err(AuditConfigError::NothingWatched);
        }
        let bulk = DistinctInWindow::new(
            config.bulk_window_minutes.max(1) * 60,
            config.bulk_threshold,
        );
        Ok(SecretAccessAudit {
            config,
            trusted,
            tags: HashMap::new(),
            findings: Vec::new(),
            bulk,
        })
    }

    /// Each secret's tags by secret name (from `ListSecrets`), for tag-based watching and for
    /// telling a partial ARN from a full one.
    pub fn with_secret_tags(mut self, tags: HashMap<String, BTreeMap<String, String>>) -> Self {
        self.tags = tags;
        self
    }

    fn is_watched(&self, name: &SecretName) -> bool {
        self.config
            .name_prefixes
            .iter()
            .any(|p| name.0.starts_with(p.as_str()))
            || self.tags.get(&name.0).is_some_and(|t| {
                self.config
                    .tags
                    .iter()
                    .any(|(k, v)| t.get(k).is_some_and(|tv| v == "*" || tv == v))
            })
    }

    fn severity(&self, rule: &str, default: Severity) -> Option<Severity> {
        self.config.rules.severity(rule, default)
    }

    fn may_read(&self, principal: &Principal, secret: Option<&SecretName>) -> bool {
        let c = &self.config;
        any_matches(&c.always_allowed, &principal.id)
            || any_matches(&c.rotation_roles, &principal.id)
            || c.readers.iter().any(|(secret_glob, readers)| {
                secret.is_none_or(|s| glob(secret_glob, &s.0))
                    && any_matches(readers, &principal.id)
            })
    }

    fn looks_human(&self, principal: &Principal, r: &CloudTrailRecord) -> bool {
        principal.is_human()
            || r.session_credential_from_console == Some(true)
            || r.user_agent.as_deref().is_some_and(|ua| {
                self.config
                    .browser_user_agents
                    .iter()
                    .any(|b| ua.starts_with(b.as_str()))
            })
    }

    /// Events that arrived too far out of time order for the windowed rule to be exact.
    pub fn late_events(&self) -> u64 {
        self.bulk.late_events()
    }

    pub fn observe(&mut self, r: &CloudTrailRecord) {
        if r.event_source != "secretsmanager.amazonaws.com" {
            return;
        }
        let is_read = READ_EVENTS.contains(&r.event_name.as_str());
        if !is_read && !CHANGE_EVENTS.contains(&r.event_name.as_str()) {
            return;
        }
        let Some(params) = r.params() else { return };
        let known = |n: &str| self.tags.contains_key(n);
        let mut secrets: Vec<SecretName> = params
            .secret_id
            .iter()
            .chain(params.secret_id_list.iter().flatten())
            .map(|id| secret_name(id, &known))
            .filter(|n| self.is_watched(n))
            .collect();
        secrets.sort();
        secrets.dedup();
        let filtered_batch = is_read && params.has_filters();
        if secrets.is_empty() && !filtered_batch {
            return;
        }
        let principal = Principal::from_identity(&r.user_identity);
        if is_read {
            self.check_read(r, &principal, &secrets, filtered_batch);
        } else {
            self.check_change(r, &principal, &secrets);
        }
    }

    fn check_read(
        &mut self,
        r: &CloudTrailRecord,
        principal: &Principal,
        secrets: &[SecretName],
        filtered_batch: bool,
    ) {
        let targets: Vec<(Option<&SecretName>, &str)> = if secrets.is_empty() && filtered_batch {
            vec![(None, FILTERED_BATCH)]
        } else {
            secrets.iter().map(|s| (Some(s), s.0.as_str())).collect()
        };
        let human = self.looks_human(principal, r)
            && !any_matches(&self.config.human_allowed, &principal.id);
        let origin = classify_origin(
            r.source_ip_address.as_deref(),
            r.vpc_endpoint_id.as_deref(),
            &self.trusted,
        );
        let mut new = Vec::new();
        for (secret, resource) in targets {
            if r.access_denied() {
                if let Some(sev) = self.severity(DENIED_READ, Severity::High) {
                    new.push(Finding::for_event(
                        DENIED_READ,
                        sev,
                        format!("Denied read of {resource}"),
                        principal,
                        resource,
                        r,
                    ));
                }
            } else if !self.may_read(principal, secret)
                && let Some(sev) = self.severity(UNEXPECTED_READER, Severity::High)
            {
                let title = format!("{resource} read by a principal not on its allow-list");
                new.push(Finding::for_event(
                    UNEXPECTED_READER,
                    sev,
                    title,
                    principal,
                    resource,
                    r,
                ));
            }
            if human
                && !r.failed()
                && let Some(sev) = self.severity(HUMAN_READER, Severity::High)
            {
                let title = format!("Service credential {resource} read by a person");
                new.push(Finding::for_event(
                    HUMAN_READER,
                    sev,
                    title,
                    principal,
                    resource,
                    r,
                ));
            }
            if origin == Origin::Untrusted
                && let Some(sev) = self.severity(OFF_NETWORK_READ, Severity::Medium)
            {
                let title = format!("{resource} read from outside the expected network");
                new.push(Finding::for_event(
                    OFF_NETWORK_READ,
                    sev,
                    title,
                    principal,
                    resource,
                    r,
                ));
            }
            if let Some(s) = secret
                && self.severity(BULK_READ, Severity::High).is_some()
            {
                self.bulk.add(
                    &principal.id,
                    &s.0,
                    r.event_time.unix_timestamp(),
                    &r.event_id,
                );
            }
        }
        self.findings.extend(new);
    }

    fn check_change(
        &mut self,
        r: &CloudTrailRecord,
        principal: &Principal,
        secrets: &[SecretName],
    ) {
        let c = &self.config;
        if any_matches(&c.rotation_roles, &principal.id)
            || any_matches(&c.change_allowed, &principal.id)
        {
            return;
        }
        let Some(sev) = self.severity(UNEXPECTED_CHANGE, Severity::Critical) else {
            return;
        };
        for s in secrets {
            let verb = if r.failed() {
                "Attempted"
            } else {
                "Unexpected"
            };
            let title = format!(
                "{verb} {} on {} by someone other than the rotation function",
                r.event_name, s.0
            );
            self.findings.push(Finding::for_event(
                UNEXPECTED_CHANGE,
                sev,
                title,
                principal,
                &s.0,
                r,
            ));
        }
    }

    /// All findings, single-event ones first, then bulk reads.
    pub fn finish(mut self) -> Vec<Finding> {
        if let Some(sev) = self.severity(BULK_READ, Severity::High) {
            for b in self.bulk.finish() {
                let title = format!(
                    "{} watched secrets read by one principal within {} min",
                    b.items.len(),
                    self.config.bulk_window_minutes
                );
                let f = Finding::for_burst(BULK_READ, sev, title, "distinct_secrets", b);
                self.findings.push(f);
            }
        }
        self.findings
    }
}
