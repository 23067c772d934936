//! AssumeRole rules on the IAM guide's cross-account sample and events built in its shape.

mod audit_common;

use audit_common::*;
use serde_json::{Value, json};
use snowkey_shared::audit::Finding;
use snowkey_shared::audit::assume_role::*;

const SENSITIVE: &str = "arn:aws:iam::111122223333:role/EC2-dev";

fn config() -> AssumeRoleConfig {
    serde_json::from_value(json!({
        "sensitive_roles": ["arn:aws:iam::111122223333:role/EC2-*", "*:role/snowkey-rotation"],
        "callers": {
            "arn:aws:iam::111122223333:role/EC2-dev": ["arn:aws:iam::777788889999:user/JohnDoe", "arn:aws:iam::111122223333:role/deployer"],
            "*:role/snowkey-rotation": ["lambda.amazonaws.com"]
        },
        "always_allowed": [],
        "accounts": ["111122223333", "777788889999"],
        "trusted_cidrs": ["192.0.2.0/24"],
        "chain_sources": ["arn:aws:iam::111122223333:role/deployer"],
        "failed_threshold": 3,
        "failed_window_minutes": 15
    }))
    .unwrap()
}

fn run(events: &[Value]) -> Vec<Finding> {
    let mut audit = AssumeRoleAudit::new(config()).unwrap();
    for e in events {
        audit.observe(&record(e));
    }
    audit.finish()
}

fn rules(findings: &[Finding]) -> Vec<&str> {
    let mut r: Vec<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
    r.sort();
    r
}

fn john() -> Value {
    fixture("sts_assumerole_iamuser_cross_account.json")
}

fn as_user(name: &str, account: &str) -> Value {
    tweak(
        john(),
        &[
            (
                "/userIdentity/arn",
                json!(format!("arn:aws:iam::{account}:user/{name}")),
            ),
            ("/userIdentity/userName", json!(name)),
            ("/userIdentity/accountId", json!(account)),
        ],
    )
}

fn chained_from(role: &str, session: &str) -> Value {
    tweak(
        john(),
        &[(
            "/userIdentity",
            json!({"type": "AssumedRole", "principalId": format!("AROAEXAMPLE:{session}"),
                   "arn": format!("arn:aws:sts::111122223333:assumed-role/{role}/{session}"), "accountId": "111122223333",
                   "sessionContext": {"sessionIssuer": {"type": "Role", "arn": format!("arn:aws:iam::111122223333:role/{role}"),
                       "accountId": "111122223333", "userName": role},
                     "attributes": {"creationDate": "2014-07-18T15:00:00Z", "mfaAuthenticated": "false"}}}),
        )],
    )
}

#[test]
fn allow_listed_caller_with_mfa_from_a_trusted_network_is_silent() {
    assert!(run(&[john()]).is_empty());
    // The role owner's copy (AWSAccount identity) matches the allowed user's account.
    assert!(run(&[fixture("sts_assumerole_awsaccount_copy.json")]).is_empty());
}

#[test]
fn aws_service_assuming_the_rotation_role_is_silent_and_non_sensitive_roles_are_ignored() {
    assert!(run(&[fixture("sts_assumerole_awsservice_lambda.json")]).is_empty());
    let other_role = tweak(
        as_user("mallory", "777788889999"),
        &[(
            "/requestParameters/roleArn",
            json!("arn:aws:iam::111122223333:role/ReadOnly"),
        )],
    );
    assert!(run(&[other_role]).is_empty());
}

#[test]
fn caller_not_on_the_allow_list_is_reported() {
    let f = run(&[as_user("mallory", "777788889999")]);
    assert_eq!(rules(&f), [UNEXPECTED_CALLER]);
    assert_eq!(f[0].principal, "arn:aws:iam::777788889999:user/mallory");
    assert_eq!(f[0].resource, SENSITIVE);
    assert_eq!(f[0].account.as_deref(), Some("111122223333"));
    assert!(!format!("{f:?}").contains("FwoGZXIvYXdzEXAMPLESESSIONTOKENDONOTLEAK"));
    // A service not on the role's list.
    let ec2 = tweak(
        fixture("sts_assumerole_awsservice_lambda.json"),
        &[("/userIdentity/invokedBy", json!("ec2.amazonaws.com"))],
    );
    assert_eq!(rules(&run(&[ec2])), [UNEXPECTED_CALLER]);
}

#[test]
fn human_without_mfa_is_reported_and_mfa_session_is_not() {
    let no_mfa = tweak(john(), &[("/requestParameters/serialNumber", json!(null))]);
    let f = run(std::slice::from_ref(&no_mfa));
    assert_eq!(rules(&f), [HUMAN_WITHOUT_MFA]);
    let mfa_session = tweak(
        no_mfa,
        &[(
            "/userIdentity/sessionContext",
            json!({"attributes": {"mfaAuthenticated": "true", "creationDate": "2014-07-18T15:00:00Z"}}),
        )],
    );
    assert!(run(&[mfa_session]).is_empty());
}

#[test]
fn caller_from_an_unconfigured_account_is_reported() {
    let f = run(&[tweak(
        fixture("sts_assumerole_awsaccount_copy.json"),
        &[("/userIdentity/accountId", json!("444455556666"))],
    )]);
    assert_eq!(rules(&f), [FOREIGN_ACCOUNT, UNEXPECTED_CALLER]);
    assert_eq!(
        f.iter()
            .find(|f| f.rule == FOREIGN_ACCOUNT)
            .unwrap()
            .principal,
        "account:444455556666"
    );
}

#[test]
fn source_ip_outside_the_cidrs_is_reported() {
    let f = run(&[tweak(
        john(),
        &[("/sourceIPAddress", json!("198.51.100.99"))],
    )]);
    assert_eq!(rules(&f), [OFF_NETWORK]);
}

#[test]
fn chaining_into_a_sensitive_role_is_reported_unless_from_an_allowed_source() {
    let f = run(&[chained_from("web-app", "sess-1")]);
    assert_eq!(rules(&f), [CHAINING, UNEXPECTED_CALLER]);
    assert_eq!(f[0].principal, "arn:aws:iam::111122223333:role/web-app");
    assert!(run(&[chained_from("deployer", "ci-42")]).is_empty());
}

#[test]
fn saml_and_web_identity_assumptions_are_judged_by_provider_user() {
    let saml = tweak(
        john(),
        &[
            ("/eventName", json!("AssumeRoleWithSAML")),
            (
                "/userIdentity",
                json!({"type": "SAMLUser", "principalId": "Ukh1i4+Ex=:alice", "userName": "alice", "identityProvider": "Ukh1i4+Ex="}),
            ),
            ("/requestParameters/serialNumber", json!(null)),
        ],
    );
    let f = run(&[saml]);
    // No MFA parameter exists for SAML: only the allow-list applies.
    assert_eq!(rules(&f), [UNEXPECTED_CALLER]);
    assert_eq!(f[0].principal, "Ukh1i4+Ex=/alice");
    let web = tweak(
        john(),
        &[
            ("/eventName", json!("AssumeRoleWithWebIdentity")),
            (
                "/userIdentity",
                json!({"type": "WebIdentityUser", "principalId": "token.actions.githubusercontent.com:sts.amazonaws.com:repo:x/y", "userName": "repo:x/y:ref:refs/heads/main", "identityProvider": "token.actions.githubusercontent.com"}),
            ),
        ],
    );
    assert_eq!(rules(&run(&[web])), [UNEXPECTED_CALLER]);
}

fn failed(role: &str, minute: u32) -> Value {
    tweak(
        as_user("mallory", "777788889999"),
        &[
            ("/errorCode", json!("AccessDenied")),
            ("/responseElements", json!(null)),
            (
                "/requestParameters/roleArn",
                json!(format!("arn:aws:iam::111122223333:role/{role}")),
            ),
            (
                "/eventTime",
                json!(format!("2014-07-18T15:{minute:02}:00Z")),
            ),
            ("/eventID", json!(format!("fail-{role}-{minute}"))),
        ],
    )
}

#[test]
fn failed_assumptions_across_distinct_roles_are_reported_once() {
    let f = run(&[
        failed("Admin", 1),
        failed("Billing", 3),
        failed("Admin", 4),
        failed("EC2-dev", 9),
    ]);
    assert_eq!(rules(&f), [FAILED_ASSUMPTIONS]);
    assert_eq!(
        f[0].resource,
        "111122223333:Admin, 111122223333:Billing, 111122223333:EC2-dev"
    );
    assert_eq!(f[0].event_ids.len(), 3);
    // Two roles, or three spread over more than the window, are silent.
    assert!(run(&[failed("Admin", 1), failed("Billing", 3), failed("Admin", 4)]).is_empty());
    assert!(run(&[failed("Admin", 1), failed("Billing", 10), failed("Ops", 40)]).is_empty());
}

#[test]
fn severities_can_be_changed_and_rules_disabled() {
    let mut c = config();
    c.rules = serde_json::from_value(json!({"role.unexpected-caller": {"severity": "critical"}, "role.chaining": {"enabled": false}})).unwrap();
    let mut audit = AssumeRoleAudit::new(c).unwrap();
    audit.observe(&record(&chained_from("web-app", "s")));
    let f = audit.finish();
    assert_eq!(rules(&f), [UNEXPECTED_CALLER]);
    assert_eq!(f[0].severity, snowkey_shared::notify::Severity::Critical);
}
