//! Findings → Slack-bound digests (AWS Chatbot custom notifications via SNS).
//!
//! One digest per (rule, principal), threaded in Slack by `metadata.threadId`, split so that no
//! message exceeds SNS's 256 KiB or the per-message finding cap. Findings carry no secret
//! material by construction (the record model never reads secret values or session tokens).

use std::collections::{BTreeMap, BTreeSet};

use super::finding::{Finding, display_time, truncate};
use crate::notify::{Notification, SNS_MAX_MESSAGE_BYTES};

pub const EVENT_TYPE: &str = "snowkey.audit.finding";

/// Caps per message. Slack renders long messages poorly well before SNS refuses them.
#[derive(Debug, Clone, Copy)]
pub struct DigestLimits {
    pub max_bytes: usize,
    pub max_findings: usize,
    pub max_description_chars: usize,
}

impl Default for DigestLimits {
    fn default() -> Self {
        DigestLimits {
            max_bytes: SNS_MAX_MESSAGE_BYTES,
            max_findings: 25,
            max_description_chars: 12_000,
        }
    }
}

/// A message to publish and the findings it carries (mark them published once SNS accepted it).
#[derive(Debug, Clone)]
pub struct Digest {
    pub notification: Notification,
    pub dedup_keys: Vec<String>,
}

/// Room kept for everything but the description: title, next steps, keywords, up to 20
/// related resources, context and attributes.
const ENVELOPE_ALLOWANCE: usize = 16 * 1024;

/// Groups findings by rule and principal, most severe groups first.
pub fn digests(findings: &[Finding], limits: DigestLimits) -> Vec<Digest> {
    let mut groups: BTreeMap<(&str, &str), Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        groups
            .entry((f.rule.as_str(), f.principal.as_str()))
            .or_default()
            .push(f);
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by_key(|(_, fs)| std::cmp::Reverse(fs.iter().map(|f| f.severity).max()));
    let byte_budget = limits.max_bytes.saturating_sub(ENVELOPE_ALLOWANCE);
    let mut out = Vec::new();
    for ((rule, principal), mut fs) in groups {
        fs.sort_by_key(|f| f.time);
        let (mut chunk, mut bytes, mut chars) = (Vec::new(), 0, 0);
        for f in fs {
            let l = line(f);
            // Escaped JSON length, plus the joining newline.
            let (b, c) = (
                serde_json::to_string(&l).map_or(l.len() * 6, |j| j.len()),
                l.chars().count() + 1,
            );
            let full = chunk.len() >= limits.max_findings
                || bytes + b > byte_budget
                || chars + c > limits.max_description_chars;
            if !chunk.is_empty() && full {
                out.push(finish(rule, principal, &chunk, limits));
                (chunk, bytes, chars) = (Vec::new(), 0, 0);
            }
            chunk.push(f);
            bytes += b;
            chars += c;
        }
        if !chunk.is_empty() {
            out.push(finish(rule, principal, &chunk, limits));
        }
    }
    out
}

fn fits(n: &Notification, limits: DigestLimits) -> bool {
    n.description.chars().count() <= limits.max_description_chars
        && n.sns_size() <= limits.max_bytes
}

fn finish(rule: &str, principal: &str, chunk: &[&Finding], limits: DigestLimits) -> Digest {
    let mut n = render(rule, principal, chunk);
    // A single finding too large on its own: cut its description until it fits.
    let mut budget = limits.max_description_chars;
    while !fits(&n, limits) && budget > 64 {
        budget /= 2;
        n.description = truncate(&n.description, budget);
        n.related_resources.truncate(5);
    }
    Digest {
        notification: n,
        dedup_keys: chunk.iter().map(|f| f.dedup_key.clone()).collect(),
    }
}

fn render(rule: &str, principal: &str, chunk: &[&Finding]) -> Notification {
    let severity = chunk
        .iter()
        .map(|f| f.severity)
        .max()
        .expect("chunk is never empty");
    let title = match chunk {
        [one] => format!("{} {}", severity.emoji(), one.title),
        many => format!(
            "{} {}: {} findings for {}",
            severity.emoji(),
            rule,
            many.len(),
            short(principal)
        ),
    };
    let title = escape(&title);
    let mut n = Notification::new(severity, EVENT_TYPE, truncate(&title, 250));
    n.description = chunk.iter().map(|f| line(f)).collect::<Vec<_>>().join("\n");
    n.next_steps = next_steps(rule).iter().map(|s| s.to_string()).collect();
    n.keywords = vec![
        rule.to_string(),
        severity.as_str().to_string(),
        truncate(short(principal), 60),
    ];
    n.thread_id = Some(truncate(&format!("{rule}/{principal}"), 200));
    n.summary = Some(truncate(&title, 250));
    let resources: BTreeSet<&str> = chunk.iter().map(|f| f.resource.as_str()).collect();
    n.related_resources = resources
        .into_iter()
        .take(20)
        .map(|r| truncate(r, 256))
        .collect();
    n.additional_context.insert("rule".into(), rule.to_string());
    n.additional_context
        .insert("principal".into(), truncate(principal, 256));
    n.additional_context
        .insert("findings".into(), chunk.len().to_string());
    n.attributes.insert("rule".into(), rule.to_string());
    n
}

fn short(principal: &str) -> &str {
    principal
        .rsplit(['/', ':'])
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(principal)
}

/// Slack's three control characters escaped, and backticks removed so values cannot break out
/// of their code span (or ping a channel with `<!channel>`).
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('`', "'")
}

/// One Slack line per finding; event-derived values are code-quoted.
fn line(f: &Finding) -> String {
    let q = |s: &str| format!("`{}`", escape(s));
    let mut l = format!(
        "• *{}* {} — resource {} — principal {}",
        f.severity,
        escape(&f.title),
        q(&f.resource),
        q(&f.principal)
    );
    l.push_str(&format!(" — {}", display_time(f.time)));
    if let (Some(r), Some(a)) = (&f.region, &f.account) {
        l.push_str(&format!(" — {r} / {a}"));
    }
    if !f.event_ids.is_empty() {
        l.push_str(&format!(
            " — events {}",
            f.event_ids
                .iter()
                .map(|e| q(e))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let ctx: Vec<String> = f
        .context
        .iter()
        .map(|(k, v)| format!("{k}={}", q(v)))
        .collect();
    if !ctx.is_empty() {
        l.push_str(&format!(" — {}", ctx.join(" ")));
    }
    l
}

fn next_steps(rule: &str) -> &'static [&'static str] {
    use super::{assume_role as ar, health as h, secret_access as sa};
    match rule {
        sa::UNEXPECTED_READER => &[
            "Confirm with the principal's owner why it read the secret",
            "If unexpected, rotate the secret now and tighten its resource policy",
        ],
        sa::DENIED_READ => &[
            "Find out who owns the principal and what it was trying to do",
            "Repeated denials may be probing: check its other activity",
        ],
        sa::HUMAN_READER => &[
            "Service credentials are for workloads: ask the person why",
            "Rotate the secret if the read was not part of an agreed procedure",
        ],
        sa::OFF_NETWORK_READ => &[
            "Check the source IP; reads should come through the VPC endpoint",
            "Rotate the secret if the source is unknown",
        ],
        sa::BULK_READ => &[
            "Many secrets read at once can be credential harvesting: review the principal's session",
            "Rotate the secrets read if the activity is not explained",
        ],
        sa::UNEXPECTED_CHANGE => &[
            "Only the rotation function should change these secrets: review the change",
            "Verify the Snowflake user still holds the AWSCURRENT key (`snowkey verify`)",
        ],
        ar::UNEXPECTED_CALLER => &[
            "Confirm the caller should use this role; add it to the allow-list or remove its access",
        ],
        ar::HUMAN_WITHOUT_MFA => {
            &["Require MFA (aws:MultiFactorAuthPresent) in the role's trust policy"]
        }
        ar::FOREIGN_ACCOUNT => &["Check the role's trust policy for the external account"],
        ar::FAILED_ASSUMPTIONS => {
            &["Failures across many roles suggest enumeration: review the caller's recent activity"]
        }
        ar::OFF_NETWORK => &["Check the source IP of the caller"],
        ar::CHAINING => {
            &["Review which role chained into this one; allow it in chain_sources if expected"]
        }
        h::ROTATION_DISABLED => &["Re-enable rotation on the secret"],
        h::ROTATION_OVERDUE => &[
            "Rotate now (`aws secretsmanager rotate-secret`) and check the rotation function's logs",
        ],
        h::PENDING_STUCK => {
            &["Check the rotation function's logs, then retry the rotation; it resumes safely"]
        }
        h::KEY_DRIFT => {
            &["Consumers may fail to log in: re-run the rotation or restore the registered key"]
        }
        h::UNEXPECTED_SECOND_KEY => &["Find who registered the extra key; unset it if unknown"],
        _ => &["Review the finding"],
    }
}
