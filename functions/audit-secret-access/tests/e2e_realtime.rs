//! The secret-access audit in real time: EventBridge "AWS API Call via CloudTrail" events through the
//! Lambda entry point, against moto (SSM watermark state, SNS → SQS) and the CloudTrail emulator for
//! the scheduled scan that follows.

mod common;

use audit_secret_access::{App, Config, Outcome, handle_event};
use cloudtrail_emulator::{Config as EmuConfig, Emulator};
use common::*;
use serde_json::{Value, json};
use snowkey_shared::audit_runner::EventReport;
use snowkey_shared::aws::cloudtrail::{CloudTrailReader, LookupPacing};
use time::OffsetDateTime;

async fn app(emu: &Emulator, inbox: &Inbox, test: &str) -> App {
    let sdk = test_support::moto().await.sdk_config().await;
    let audit_config = json!({"secret_access": {
        "readers": {"snowflake/service-users/SVC_DBT*": [format!("arn:aws:iam::{ACCOUNT}:role/dbt-runner")]}
    }});
    let mut config = Config::from_lookup(&env(vec![
        ("SNOWKEY_TOPIC_ARN", inbox.topic_arn.clone()),
        ("SNOWKEY_REGIONS", "us-east-1".into()),
        (
            "SNOWKEY_WATERMARK_PREFIX",
            format!("/snowkey-test/{}", unique(test)),
        ),
        (
            "SNOWKEY_WATCHED_SECRET_PREFIX",
            "snowflake/service-users/".into(),
        ),
        ("SNOWKEY_ROTATION_ROLE_ARN", ROTATION_ROLE.into()),
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

/// The EventBridge envelope around a CloudTrail record, as the rule delivers it.
fn eventbridge(source: &str, record: &Value) -> Value {
    json!({
        "version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602",
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

fn intruder_read(id: &str) -> Value {
    secret_event(
        id,
        "GetSecretValue",
        "intruder",
        "snowflake/service-users/SVC_DBT",
        120,
        "us-east-1",
    )
}

#[tokio::test]
async fn a_real_time_finding_is_published_once_and_the_next_scan_does_not_repeat_it() {
    let sdk = test_support::moto().await.sdk_config().await;
    let inbox = Inbox::new(&sdk, &unique("secret-rt-once")).await;
    let emu = Emulator::start(EmuConfig::default().with_rate_limit(None))
        .await
        .unwrap();
    let app = app(&emu, &inbox, "rt-once").await;
    let record = intruder_read("rt-intruder-1");
    let payload = eventbridge("aws.secretsmanager", &record);

    let first = real_time(&app, &payload).await;
    assert_eq!(first.published, 1, "{first:?}");
    let messages = inbox.take().await;
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert_eq!(
        rules_and_counts(&messages),
        vec![("secret.unexpected-reader".to_owned(), 1)]
    );
    assert!(
        serde_json::to_string(&messages)
            .unwrap()
            .contains("intruder")
    );

    // EventBridge delivers at least once: the same event again says nothing new.
    let again = real_time(&app, &payload).await;
    assert_eq!((again.published, again.already_published), (0, 1));
    assert!(inbox.take().await.is_empty(), "a redelivery was published");
    let state = app.watermarks.load("us-east-1").await.unwrap();
    assert_eq!(
        state.watermark(),
        None,
        "only a scan may move the watermark"
    );

    // CloudTrail then serves the same record through LookupEvents to the scheduled scan.
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
async fn an_allowed_real_time_read_publishes_nothing() {
    let sdk = test_support::moto().await.sdk_config().await;
    let inbox = Inbox::new(&sdk, &unique("secret-rt-allowed")).await;
    let emu = Emulator::start(EmuConfig::default()).await.unwrap();
    let app = app(&emu, &inbox, "rt-allowed").await;
    for (id, name, role) in [
        ("rt-dbt", "GetSecretValue", "dbt-runner"),
        ("rt-rotation", "PutSecretValue", "snowkey-rotation"),
    ] {
        let record = secret_event(
            id,
            name,
            role,
            "snowflake/service-users/SVC_DBT",
            60,
            "us-east-1",
        );
        let report = real_time(&app, &eventbridge("aws.secretsmanager", &record)).await;
        assert_eq!((report.findings, report.published), (0, 0), "{report:?}");
    }
    assert!(inbox.take().await.is_empty());
    assert!(
        emu.requests().is_empty(),
        "a real-time event must not start a LookupEvents scan"
    );
}

#[tokio::test]
async fn malformed_or_misrouted_events_are_counted_warnings_and_the_sample_event_is_audited() {
    let sdk = test_support::moto().await.sdk_config().await;
    let inbox = Inbox::new(&sdk, &unique("secret-rt-bad")).await;
    let emu = Emulator::start(EmuConfig::default()).await.unwrap();
    let app = app(&emu, &inbox, "rt-bad").await;

    let mut no_id = intruder_read("rt-bad-1");
    no_id.as_object_mut().unwrap().remove("eventID");
    let report = real_time(&app, &eventbridge("aws.secretsmanager", &no_id)).await;
    assert_eq!(report.skipped.malformed, 1, "{report:?}");

    let mut no_detail = eventbridge("aws.secretsmanager", &intruder_read("rt-bad-2"));
    no_detail["detail"] = json!("not a record");
    assert_eq!(real_time(&app, &no_detail).await.skipped.malformed, 1);

    let misrouted = real_time(&app, &eventbridge("aws.sts", &intruder_read("rt-bad-3"))).await;
    assert_eq!(misrouted.ignored_source.as_deref(), Some("aws.sts"));
    assert!(
        inbox.take().await.is_empty(),
        "a bad event produced a finding"
    );

    let sample: Value = serde_json::from_str(include_str!(
        "../../../events/audit-secret-access-eventbridge.json"
    ))
    .unwrap();
    let report = real_time(&app, &sample).await;
    assert_eq!(report.published, 1, "{report:?}");
    assert_eq!(
        rules_and_counts(&inbox.take().await),
        vec![("secret.unexpected-reader".to_owned(), 1)]
    );
}
