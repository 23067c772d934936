//! What every rule produces: a [`Finding`], and the per-rule settings that shape it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::notify::Severity;

/// Context values are capped so one odd event cannot bloat a digest.
const MAX_CONTEXT_VALUE: usize = 512;
/// Event ids kept per finding; the count beyond is recorded in `context`.
pub const MAX_EVENT_IDS: usize = 20;

/// One thing a person should look at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// e.g. `secret.unexpected-reader`.
    pub rule: String,
    pub severity: Severity,
    pub title: String,
    /// The principal as allow-lists name it (role ARN for assumed-role sessions).
    pub principal: String,
    /// The secret name or role ARN concerned.
    pub resource: String,
    pub region: Option<String>,
    pub account: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    pub event_ids: Vec<String>,
    pub context: BTreeMap<String, String>,
    /// Stable across runs: the same event (or the same window, for aggregate rules) gives the
    /// same key, so the publisher can skip what it already sent.
    pub dedup_key: String,
}

impl Finding {
    /// `basis` is what makes two findings of the same rule, principal and resource the same
    /// finding: the event id for single-event rules, the window for aggregates, the day for health.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        rule: &str,
        severity: Severity,
        title: impl Into<String>,
        principal: impl Into<String>,
        resource: impl Into<String>,
        time: OffsetDateTime,
        basis: &str,
    ) -> Finding {
        let principal = principal.into();
        let resource = resource.into();
        let dedup_key = dedup_key(&[rule, &principal, &resource, basis]);
        Finding {
            rule: rule.to_string(),
            severity,
            title: title.into(),
            principal,
            resource,
            region: None,
            account: None,
            time,
            event_ids: Vec::new(),
            context: BTreeMap::new(),
            dedup_key,
        }
    }

    pub fn with_context(mut self, key: &str, value: impl AsRef<str>) -> Finding {
        self.context
            .insert(key.to_string(), truncate(value.as_ref(), MAX_CONTEXT_VALUE));
        self
    }

    pub fn with_event_ids(mut self, ids: impl IntoIterator<Item = String>) -> Finding {
        let mut ids: Vec<String> = ids.into_iter().collect();
        ids.sort();
        ids.dedup();
        if ids.len() > MAX_EVENT_IDS {
            self.context.insert(
                "more_event_ids".into(),
                (ids.len() - MAX_EVENT_IDS).to_string(),
            );
            ids.truncate(MAX_EVENT_IDS);
        }
        self.event_ids = ids;
        self
    }

    pub fn with_place(mut self, region: Option<&str>, account: Option<&str>) -> Finding {
        self.region = region.map(str::to_string);
        self.account = account.map(str::to_string);
        self
    }
}

fn dedup_key(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `2024-05-02 09:05:00 UTC`: what a person reads in a table or in Slack.
pub fn display_time(t: OffsetDateTime) -> String {
    let utc = t.to_offset(time::UtcOffset::UTC);
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    utc.format(&format)
        .unwrap_or_else(|_| utc.unix_timestamp().to_string())
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Per-rule settings in the JSON config: `{"enabled": true, "severity": "HIGH"}`, both optional.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSetting {
    pub enabled: Option<bool>,
    pub severity: Option<Severity>,
}

/// The rules' settings keyed by rule id; a rule missing here runs with its default severity.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct RuleSettings(pub BTreeMap<String, RuleSetting>);

impl RuleSettings {
    /// `None` when the rule is disabled, else its severity.
    pub fn severity(&self, rule: &str, default: Severity) -> Option<Severity> {
        match self.0.get(rule) {
            Some(RuleSetting {
                enabled: Some(false),
                ..
            }) => None,
            Some(RuleSetting {
                severity: Some(s), ..
            }) => Some(*s),
            _ => Some(default),
        }
    }

    /// Names a rule id that does not exist: a typo that would silently keep a rule on.
    pub fn unknown_rule<'a>(&'a self, known: &[&str]) -> Option<&'a str> {
        self.0
            .keys()
            .map(String::as_str)
            .find(|k| !known.contains(k))
    }
}

impl Finding {
    /// A finding about one event: place, event id and the fields a responder asks for first.
    pub(crate) fn for_event(
        rule: &str,
        severity: Severity,
        title: impl Into<String>,
        principal: &super::normalize::Principal,
        resource: &str,
        r: &super::record::CloudTrailRecord,
    ) -> Finding {
        let account = r
            .recipient_account_id
            .as_deref()
            .or(principal.account.as_deref());
        let mut f = Finding::new(
            rule,
            severity,
            title,
            principal.id.as_str(),
            resource,
            r.event_time,
            &r.event_id,
        )
        .with_place(r.aws_region.as_deref(), account)
        .with_event_ids([r.event_id.clone()])
        .with_context("event", &r.event_name)
        .with_context("identity_type", principal.kind.as_str());
        if let Some(s) = &principal.session {
            f = f.with_context("session", s);
        }
        if let Some(ip) = &r.source_ip_address {
            f = f.with_context("source_ip", ip);
        }
        if let Some(ua) = &r.user_agent {
            f = f.with_context("user_agent", ua);
        }
        if let Some(v) = &r.vpc_endpoint_id {
            f = f.with_context("vpc_endpoint", v);
        }
        if let Some(e) = &r.error_code {
            f = f.with_context("error_code", e);
        }
        f
    }

    /// A finding about a windowed burst; `count_context` names the distinct-item count
    /// (e.g. `distinct_roles`). The bucket keeps the dedup key stable across runs.
    pub(crate) fn for_burst(
        rule: &str,
        severity: Severity,
        title: impl Into<String>,
        count_context: &str,
        b: super::window::Burst,
    ) -> Finding {
        let time =
            OffsetDateTime::from_unix_timestamp(b.start).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Finding::new(
            rule,
            severity,
            title,
            b.principal.as_str(),
            b.items.join(", "),
            time,
            &format!("bucket {}", b.bucket),
        )
        .with_event_ids(b.event_ids)
        .with_context(count_context, b.items.len().to_string())
        .with_context("window_seconds", (b.end - b.start).to_string())
    }
}
