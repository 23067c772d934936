//! The demo's audit scenario: which seeded CloudTrail events become findings, which stay silent,
//! and that a second run publishes nothing new. Keeps `make demo`'s audit half from rotting.

use e2e_tests::Stack;
use e2e_tests::audit_demo::{AuditDemo, DEPLOY_ROLE, HUMAN_USER, SENSITIVE_ROLE};

#[tokio::test]
async fn demo_audits_report_the_human_denied_and_mfa_less_events_once() {
    let stack = Stack::start().await.unwrap();
    let secret = format!("snowkey/e2e/audit-{}", uuid::Uuid::new_v4().simple());
    let demo = AuditDemo::start(&stack, &secret).await.unwrap();

    let first = demo.run(&stack).await.unwrap();
    let got: Vec<(&str, &str, Vec<String>)> = first
        .iter()
        .map(|f| (f.rule.as_str(), f.principal.as_str(), f.resources.clone()))
        .collect();
    let alice = format!("arn:aws:iam::123456789012:user/{HUMAN_USER}");
    let deployer = format!("arn:aws:iam::123456789012:role/{DEPLOY_ROLE}");
    let admin = format!("arn:aws:iam::123456789012:role/{SENSITIVE_ROLE}");
    assert_eq!(
        got,
        vec![
            ("role.human-without-mfa", alice.as_str(), vec![admin]),
            (
                "secret.denied-read",
                deployer.as_str(),
                vec![secret.clone()]
            ),
            ("secret.human-reader", alice.as_str(), vec![secret.clone()]),
            (
                "secret.unexpected-reader",
                alice.as_str(),
                vec![secret.clone()]
            ),
        ],
        "the rotation role, the allow-listed consumer and the deploy role's AssumeRole stay silent"
    );
    assert!(
        first
            .iter()
            .all(|f| f.severity == "HIGH" && f.findings == 1)
    );

    let second = demo.run(&stack).await.unwrap();
    assert_eq!(second, vec![], "the same events are not published twice");
}
