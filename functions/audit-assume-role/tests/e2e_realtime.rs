//! The assume-role audit in real time: EventBridge "AWS API Call via CloudTrail" events from STS
//! through the Lambda entry point, against moto (SSM watermark state, SNS → SQS) and the CloudTrail
//! emulator for the scheduled scan that follows.

// The SNS → SQS inbox and fixtures of the secret-access audit's end-to-end tests.
#[path = "../../audit-secret-access/tests/common/mod.rs"]
mod common;

use audit_assume_role::{App, Config, Outcome, handle_event};
use cloudtrail_emulator::{Config as EmuConfig, Emulator};
use common::*;
use serde_json::{Value, json};
use snowkey_shared::audit_runner::EventReport;
use snowkey_shared::aws::cloudtrail::{CloudTrailReader, LookupPacing};
use time::OffsetDateTime;

const SENSITIVE_ROLE: &str = "arn:aws:iam::123456789012:role/snowflake-admin";

async fn app(emu: &Emulator, inbox: &Inbox, test: &str) -> App {
    let sdk = test_support::moto().await.sdk_config().await;
    let audit_config = json!({"assume_role": {
        "sensitive_roles": ["*:role/snowflake-admin"],
        "callers": {"*:role/snowflake-admin": [format!("arn:aws:iam::{ACCOUNT}:role/ci")]},
        "rules": {"role.chaining": {"enabled": false}}
    }});
    let mut config = Config::from_lookup(&env(vec![
        ("SNOWKEY_TOPIC_ARN", inbox.topic_arn.clone()),
        ("SNOWKEY_REGIONS", "us-east-1".into()),
        (
            "SNOWKEY_WATERMARK_PREFIX",
            format!("/snowkey-test/{}", unique(test)),
        ),
        ("SNOWKEY_AUDIT_CONFIG", audit_config.to_string()),
    ]))
    .unwrap();
    config.runner.pacing = LookupPacing {
        requests_per_second: 200.0,
        max_retries: 4,
        backoff_base: std::time::Duration::from_millis(20),
    };
    let mut app = App::new(config, &sdk);
    let ct_sdk = sdk.to_builder().endpoint_url(emu.url()).build();
    app.reader = CloudTrailReader::new(
        &ct_sdk,
        &app.config.runner.regions,
        app.config.runner.pacing.clone(),
    );
    app
}

/// An AssumeRole into the sensitive role by `caller_role`'s session.
fn assume_role(id: &str, caller_role: &str, age_seconds: i64) -> Value {
    json!({
        "eventVersion": "1.08", "eventID": id, "eventName": "AssumeRole", "eventTime": at(age_seconds),
        "eventSource": "sts.amazonaws.com", "awsRegion": "us-east-1", "eventType": "AwsApiCall",
        "eventCategory": "Management", "managementEvent": true, "readOnly": true, "recipientAccountId": ACCOUNT,
        "sourceIPAddress": "10.1.2.3", "userAgent": "aws-sdk-go-v2/1.30.0",
        "requestParameters": {"roleArn": SENSITIVE_ROLE, "roleSessionName": "s", "durationSeconds": 3600},
        "responseElements": {"assumedRoleUser": {"arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/snowflake-admin/s"), "assumedRoleId": "AROAX:s"}},
        "resources": [{"ARN": SENSITIVE_ROLE, "accountId": ACCOUNT, "type": "AWS::IAM::Role"}],
        "userIdentity": {"type": "AssumedRole", "principalId": "AROAY:w", "accountId": ACCOUNT, "accessKeyId": "ASIAY",
            "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{caller_role}/w"),
            "sessionContext": {"attributes": {"creationDate": at(age_seconds + 60), "mfaAuthenticated": "false"},
                "sessionIssuer": {"type": "Role", "principalId": "AROAY", "accountId": ACCOUNT,
                    "arn": format!("arn:aws:iam::{ACCOUNT}:role/{caller_role}"), "userName": caller_role}}}
    })
}

fn eventbridge(source: &str, record: &Value) -> Value {
    json!({
        "version": "0", "id": "c1a2b3d4-5e6f-4789-9abc-def012345678",
        "detail-type": "AWS API Call via CloudTrail", "source": source, "account": ACCOUNT,
        "time": record["eventTime"], "region": record["awsRegion"], "resources": [], "detail": record
    })
}

async fn real_time(app: &App, payload: &Value) -> EventReport {
    match handle_event(app, payload, OffsetDateTime::now_utc())
        .await
        .unwrap()
    {
        Outcome::RealTime(report) => report,
        Outcome::Scheduled(report) => panic!("ran a scheduled scan instead: {report:?}"),
    }
}

#[tokio::test]
async fn a_real_time_finding_is_published_once_and_the_next_scan_does_not_repeat_it() {
    let sdk = test_support::moto().await.sdk_config().await;
    let inbox = Inbox::new(&sdk, &unique("role-rt-once")).await;
    let emu = Emulator::start(EmuConfig::default().with_rate_limit(None))
        .await
        .unwrap();
    let app = app(&emu, &inbox, "role-rt-once").await;
    let record = assume_role("rt-assume-1", "intruder", 120);
    let payload = eventbridge("aws.sts", &record);

    assert_eq!(real_time(&app, &payload).await.published, 1);
    let messages = inbox.take().await;
    assert_eq!(
        rules_and_counts(&messages),
        vec![("role.unexpected-caller".to_owned(), 1)]
    );
    assert!(
        serde_json::to_string(&messages)
            .unwrap()
            .contains("intruder")
    );

    let again = real_time(&app, &payload).await;
    assert_eq!((again.published, again.already_published), (0, 1));
    assert!(inbox.take().await.is_empty(), "a redelivery was published");
    let state = app.watermarks.load("us-east-1").await.unwrap();
    assert_eq!(
        state.watermark(),
        None,
        "only a scan may move the watermark"
    );

    emu.add_records("us-east-1", vec![record]);
    let scan = match handle_event(&app, &json!({}), OffsetDateTime::now_utc())
        .await
        .unwrap()
    {
        Outcome::Scheduled(report) => report,
        Outcome::RealTime(report) => panic!("`{{}}` was taken for an event: {report:?}"),
    };
    let east = &scan.regions[0];
    assert_eq!(east.events_read, 1, "{east:?}");
    assert_eq!((east.published, east.already_published), (0, 1), "{east:?}");
    assert!(east.watermark_advanced);
    assert!(
        inbox.take().await.is_empty(),
        "the scan repeated a finding already published in real time"
    );
}

#[tokio::test]
async fn allowed_malformed_and_misrouted_events_publish_nothing_and_the_sample_is_audited() {
    let sdk = test_support::moto().await.sdk_config().await;
    let inbox = Inbox::new(&sdk, &unique("role-rt-quiet")).await;
    let emu = Emulator::start(EmuConfig::default()).await.unwrap();
    let app = app(&emu, &inbox, "role-rt-quiet").await;

    let allowed = real_time(
        &app,
        &eventbridge("aws.sts", &assume_role("rt-ci", "ci", 60)),
    )
    .await;
    assert_eq!((allowed.findings, allowed.published), (0, 0), "{allowed:?}");

    let mut odd_identity = assume_role("rt-odd", "intruder", 60);
    odd_identity["userIdentity"]["type"] = json!("Martian");
    let skipped = real_time(&app, &eventbridge("aws.sts", &odd_identity)).await;
    assert_eq!(skipped.skipped.total(), 1, "{skipped:?}");

    let misrouted = real_time(
        &app,
        &eventbridge("aws.secretsmanager", &assume_role("rt-x", "intruder", 60)),
    )
    .await;
    assert_eq!(
        misrouted.ignored_source.as_deref(),
        Some("aws.secretsmanager")
    );
    assert!(
        inbox.take().await.is_empty(),
        "a quiet event produced a finding"
    );
    assert!(
        emu.requests().is_empty(),
        "a real-time event must not start a LookupEvents scan"
    );

    let sample: Value = serde_json::from_str(include_str!(
        "../../../events/audit-assume-role-eventbridge.json"
    ))
    .unwrap();
    assert_eq!(real_time(&app, &sample).await.published, 1);
    assert_eq!(
        rules_and_counts(&inbox.take().await),
        vec![("role.unexpected-caller".to_owned(), 1)]
    );
}
