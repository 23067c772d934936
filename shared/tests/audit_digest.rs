//! Findings into Chatbot digests: threading, attributes, size limits, nothing secret.

mod audit_common;

use audit_common::*;
use serde_json::{Value, json};
use snowkey_shared::audit::assume_role::{AssumeRoleAudit, AssumeRoleConfig};
use snowkey_shared::audit::{DigestLimits, Finding, digests};
use snowkey_shared::notify::{SNS_MAX_MESSAGE_BYTES, Severity};
use time::macros::datetime;

fn finding(rule: &str, principal: &str, i: usize, severity: Severity) -> Finding {
    Finding::new(
        rule,
        severity,
        format!("finding {i}"),
        principal,
        format!("snowflake/svc_{i}"),
        datetime!(2026-11-25 10:00 UTC),
        &i.to_string(),
    )
    .with_event_ids([format!("evt-{i}")])
    .with_context("user_agent", "x".repeat(400))
}

fn body(d: &snowkey_shared::audit::Digest) -> Value {
    serde_json::from_str(&d.notification.to_chatbot_json()).unwrap()
}

#[test]
fn digests_group_by_rule_and_principal_and_thread_by_them() {
    let fs = vec![
        finding(
            "secret.unexpected-reader",
            "arn:aws:iam::1:role/a",
            1,
            Severity::High,
        ),
        finding(
            "secret.unexpected-reader",
            "arn:aws:iam::1:role/a",
            2,
            Severity::High,
        ),
        finding(
            "secret.unexpected-reader",
            "arn:aws:iam::1:role/b",
            3,
            Severity::High,
        ),
        finding(
            "secret.unexpected-change",
            "arn:aws:iam::1:role/a",
            4,
            Severity::Critical,
        ),
    ];
    let ds = digests(&fs, DigestLimits::default());
    assert_eq!(ds.len(), 3);
    // Most severe first.
    assert_eq!(
        ds[0].notification.attributes["rule"],
        "secret.unexpected-change"
    );
    assert_eq!(
        ds[0].notification.message_attributes()["severity"],
        "CRITICAL"
    );
    let grouped = ds.iter().find(|d| d.dedup_keys.len() == 2).unwrap();
    let v = body(grouped);
    assert_eq!(v["version"], "1.0");
    assert_eq!(v["source"], "custom");
    assert_eq!(
        v["metadata"]["threadId"],
        "secret.unexpected-reader/arn:aws:iam::1:role/a"
    );
    assert!(
        v["content"]["title"]
            .as_str()
            .unwrap()
            .contains("2 findings")
    );
    assert!(
        v["content"]["description"]
            .as_str()
            .unwrap()
            .contains("evt-2")
    );
    assert!(!v["content"]["nextSteps"].as_array().unwrap().is_empty());
    assert!(
        v["content"]["keywords"]
            .as_array()
            .unwrap()
            .contains(&json!("secret.unexpected-reader"))
    );
    let mut keys: Vec<_> = ds.iter().flat_map(|d| d.dedup_keys.clone()).collect();
    keys.sort();
    let mut want: Vec<_> = fs.iter().map(|f| f.dedup_key.clone()).collect();
    want.sort();
    assert_eq!(keys, want, "every finding is in exactly one digest");
}

#[test]
fn many_findings_split_into_messages_under_the_sns_limit() {
    let fs: Vec<Finding> = (0..5000)
        .map(|i| {
            finding(
                "secret.bulk-read",
                "arn:aws:iam::1:role/a",
                i,
                Severity::High,
            )
        })
        .collect();
    let limits = DigestLimits {
        max_findings: 10_000,
        max_description_chars: usize::MAX,
        ..DigestLimits::default()
    };
    let ds = digests(&fs, limits);
    assert!(ds.len() > 1);
    for d in &ds {
        assert!(
            d.notification.sns_size() <= SNS_MAX_MESSAGE_BYTES,
            "{}",
            d.notification.sns_size()
        );
    }
    assert_eq!(ds.iter().map(|d| d.dedup_keys.len()).sum::<usize>(), 5000);
    // The default caps keep messages Slack-sized.
    let ds = digests(&fs, DigestLimits::default());
    assert!(
        ds.iter()
            .all(|d| d.dedup_keys.len() <= 25
                && d.notification.description.chars().count() <= 12_000)
    );
}

#[test]
fn one_huge_finding_is_truncated_to_fit() {
    let mut f = finding(
        "secret.human-reader",
        "arn:aws:iam::1:user/bob",
        1,
        Severity::High,
    );
    for i in 0..2000 {
        f.context.insert(format!("k{i}"), "v".repeat(500));
    }
    let ds = digests(&[f], DigestLimits::default());
    assert_eq!(ds.len(), 1);
    assert!(ds[0].notification.sns_size() <= SNS_MAX_MESSAGE_BYTES);
}

#[test]
fn no_session_token_or_key_reaches_a_digest() {
    let config: AssumeRoleConfig =
        serde_json::from_value(json!({"sensitive_roles": ["*"]})).unwrap();
    let mut audit = AssumeRoleAudit::new(config).unwrap();
    audit.observe(&record(&fixture(
        "sts_assumerole_iamuser_cross_account.json",
    )));
    let fs = audit.finish();
    assert!(!fs.is_empty());
    for d in digests(&fs, DigestLimits::default()) {
        let json = d.notification.to_chatbot_json();
        assert!(!json.contains("FwoGZXIvYXdzEXAMPLESESSIONTOKENDONOTLEAK"));
        assert!(!json.contains("sessionToken"));
        assert!(json.contains("arn:aws:iam::777788889999:user/JohnDoe"));
    }
}

#[test]
fn backticks_in_event_fields_cannot_break_out_of_code_spans() {
    let mut f = finding(
        "secret.off-network-read",
        "arn:aws:iam::1:user/bob",
        1,
        Severity::Medium,
    );
    f = f.with_context("user_agent", "evil` *bold* <!channel>");
    let ds = digests(&[f], DigestLimits::default());
    let desc = &ds[0].notification.description;
    assert!(desc.contains("`evil' *bold* &lt;!channel&gt;`"), "{desc}");
}
