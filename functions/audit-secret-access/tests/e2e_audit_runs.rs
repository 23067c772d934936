//! The secret-access audit end to end: CloudTrail emulator (LookupEvents) + moto (SSM watermarks,
//! SNS → SQS to read findings back).

mod common;

use std::sync::atomic::AtomicUsize;

use audit_secret_access::{App, Config, EVENT_NAMES, handle};
use cloudtrail_emulator::{Config as EmuConfig, Emulator, Fault, RawEvent};
use common::*;
use serde_json::json;
use snowkey_shared::audit::SecretAccessAudit;
use snowkey_shared::audit_runner::run_cloudtrail_audit;
use snowkey_shared::aws::cloudtrail::{CloudTrailReader, LookupPacing};
use time::OffsetDateTime;

const PREFIX: &str = "snowflake/service-users/";
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

/// The function's App, but CloudTrail is the emulator and pacing is fast (the emulator is unthrottled
/// here; pacing against the real 2 TPS is proven in the assume-role crate's tests).
async fn app(emu: &Emulator, inbox: &Inbox, test: &str) -> App {
    let sdk = test_support::moto().await.sdk_config().await;
    let audit_config = json!({"secret_access": {
        "readers": {"snowflake/service-users/SVC_DBT*": [format!("arn:aws:iam::{ACCOUNT}:role/dbt-runner")]}
    }});
    let mut config = Config::from_lookup(&env(vec![
        ("SNOWKEY_TOPIC_ARN", inbox.topic_arn.clone()),
        ("SNOWKEY_REGIONS", REGIONS.join(",")),
        (
            "SNOWKEY_WATERMARK_PREFIX",
            format!("/snowkey-test/{}", unique(test)),
        ),
        ("SNOWKEY_WATCHED_SECRET_PREFIX", PREFIX.into()),
        ("SNOWKEY_ROTATION_ROLE_ARN", ROTATION_ROLE.into()),
        ("SNOWKEY_AUDIT_CONFIG", audit_config.to_string()),
    ]))
    .unwrap();
    config.runner.pacing = LookupPacing {
        requests_per_second: 200.0,
        max_retries: 4,
        backoff_base: std::time::Duration::from_millis(20),
    };
    let ct_sdk = sdk.to_builder().endpoint_url(emu.url()).build();
    let mut app = App::new(config, &sdk);
    app.reader = CloudTrailReader::new(
        &ct_sdk,
        &app.config.runner.regions,
        app.config.runner.pacing.clone(),
    );
    app
}

async fn unthrottled_emulator() -> Emulator {
    Emulator::start(EmuConfig::default().with_rate_limit(None))
        .await
        .unwrap()
}

fn seed(emu: &Emulator) {
    emu.add_records(
        "us-east-1",
        vec![
            secret_event(
                "ok-reader",
                "GetSecretValue",
                "dbt-runner",
                "snowflake/service-users/SVC_DBT",
                600,
                "us-east-1",
            ),
            secret_event(
                "ok-rotation",
                "PutSecretValue",
                "snowkey-rotation",
                "snowflake/service-users/SVC_DBT",
                590,
                "us-east-1",
            ),
            secret_event(
                "intruder-1",
                "GetSecretValue",
                "intruder",
                "snowflake/service-users/SVC_DBT",
                500,
                "us-east-1",
            ),
            denied(secret_event(
                "denied-1",
                "GetSecretValue",
                "scanner",
                "snowflake/service-users/SVC_DLT",
                400,
                "us-east-1",
            )),
            secret_event(
                "unwatched",
                "GetSecretValue",
                "intruder",
                "other/app-secret",
                300,
                "us-east-1",
            ),
        ],
    );
    emu.add_records(
        "eu-west-1",
        vec![secret_event(
            "changer-1",
            "UpdateSecret",
            "someone",
            "snowflake/service-users/SVC_DBT",
            450,
            "eu-west-1",
        )],
    );
}

#[tokio::test]
async fn findings_are_published_once_across_overlapping_runs() {
    let sdk = test_support::moto().await.sdk_config().await;
    let inbox = Inbox::new(&sdk, &unique("secret-once")).await;
    let emu = unthrottled_emulator().await;
    seed(&emu);
    let app = app(&emu, &inbox, "once").await;

    let now = OffsetDateTime::now_utc();
    let first = handle(&app, now).await.unwrap();
    let messages = inbox.take().await;
    let rules: Vec<String> = rules_and_counts(&messages)
        .into_iter()
        .map(|(r, _)| r)
        .collect();
    for expected in [
        "secret.unexpected-reader",
        "secret.denied-read",
        "secret.unexpected-change",
    ] {
        assert!(
            rules.iter().any(|r| r == expected),
            "{expected} missing from {rules:?}"
        );
    }
    let text = serde_json::to_string(&messages).unwrap();
    assert!(
        !text.contains("dbt-runner"),
        "an allow-listed reader was reported: {text}"
    );
    assert!(
        !text.contains("snowkey-rotation"),
        "the rotation role's change was reported: {text}"
    );
    assert!(
        !text.contains("other/app-secret"),
        "an unwatched secret was reported: {text}"
    );
    let published: usize = first.regions.iter().map(|r| r.published).sum();
    assert_eq!(
        rules_and_counts(&messages)
            .iter()
            .map(|(_, n)| n)
            .sum::<usize>(),
        published
    );
    assert!(
        first.regions.iter().all(|r| r.watermark_advanced),
        "{first:?}"
    );
    assert_eq!(first.regions.iter().map(|r| r.events_read).sum::<u64>(), 6);

    // Five minutes later the window overlaps the first one: same events, nothing new to say.
    let second = handle(&app, now + time::Duration::minutes(5))
        .await
        .unwrap();
    assert!(
        inbox.take().await.is_empty(),
        "the second run published again"
    );
    assert_eq!(
        second
            .regions
            .iter()
            .map(|r| r.already_published)
            .sum::<usize>(),
        published
    );

    // A late-delivered event inside the overlap is reported on the next run, alone.
    emu.add_records(
        "us-east-1",
        vec![secret_event(
            "late-1",
            "GetSecretValue",
            "latecomer",
            "snowflake/service-users/SVC_DBT",
            420,
            "us-east-1",
        )],
    );
    handle(&app, now + time::Duration::minutes(10))
        .await
        .unwrap();
    let late = inbox.take().await;
    assert_eq!(late.len(), 1, "{late:?}");
    assert!(serde_json::to_string(&late).unwrap().contains("latecomer"));
}

#[tokio::test]
async fn a_run_that_fails_midway_loses_nothing_and_repeats_nothing() {
    let sdk = test_support::moto().await.sdk_config().await;
    let inbox = Inbox::new(&sdk, &unique("secret-midway")).await;
    let emu = unthrottled_emulator().await;
    let readers = ["intruder-a", "intruder-b", "intruder-c"];
    let records = readers
        .iter()
        .enumerate()
        .map(|(i, role)| {
            secret_event(
                &format!("read-{i}"),
                "GetSecretValue",
                role,
                "snowflake/service-users/SVC_DBT",
                300 + i as i64,
                "us-east-1",
            )
        })
        .collect();
    emu.add_records("us-east-1", records);
    let app = app(&emu, &inbox, "midway").await;
    let regions = vec!["us-east-1".to_owned()];
    let now = OffsetDateTime::now_utc();
    let run = |notifier| {
        let app = &app;
        let regions = regions.clone();
        async move {
            let new_audit = || SecretAccessAudit::new(app.config.rules.clone()).unwrap();
            let r = &app.config.runner;
            run_cloudtrail_audit(
                &app.reader,
                &regions,
                &EVENT_NAMES,
                &app.watermarks,
                notifier,
                r.overlap,
                r.first_lookback,
                now,
                new_audit,
            )
            .await
        }
    };

    // SNS accepts the first digest, then fails.
    let flaky = FailingAfter {
        inner: &app.notifier,
        allowed: 1,
        calls: AtomicUsize::new(0),
    };
    let failed = run(&flaky).await;
    assert!(
        failed.regions[0]
            .error
            .as_deref()
            .unwrap()
            .contains("injected"),
        "{failed:?}"
    );
    assert!(!failed.regions[0].watermark_advanced);
    let first_batch = inbox.take().await;
    assert_eq!(first_batch.len(), 1);

    let healthy = FailingAfter {
        inner: &app.notifier,
        allowed: usize::MAX,
        calls: AtomicUsize::new(0),
    };
    let retried = run(&healthy).await;
    assert!(retried.regions[0].error.is_none(), "{retried:?}");
    let second_batch = inbox.take().await;
    let mut principals: Vec<String> = first_batch
        .iter()
        .chain(&second_batch)
        .map(|m| {
            m["metadata"]["additionalContext"]["principal"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    principals.sort();
    let total = principals.len();
    principals.dedup();
    assert_eq!(
        principals.len(),
        total,
        "a digest was published twice: {principals:?}"
    );
    for role in readers {
        assert!(
            principals.iter().any(|p| p.contains(role)),
            "{role} never reported: {principals:?}"
        );
    }
    assert_eq!(
        retried.regions[0].already_published,
        failed.regions[0].published
    );
}

#[tokio::test]
async fn broken_records_are_skipped_and_counted_and_throttling_is_survived() {
    let sdk = test_support::moto().await.sdk_config().await;
    let inbox = Inbox::new(&sdk, &unique("secret-broken")).await;
    let emu = unthrottled_emulator().await;
    let event = |id: &str, text: String| RawEvent {
        event_id: id.into(),
        event_name: "GetSecretValue".into(),
        event_time: OffsetDateTime::now_utc() - time::Duration::seconds(200),
        cloudtrail_event: text,
    };
    emu.add_raw_event(
        "us-east-1",
        event("not-json", "{\"eventID\": \"not-json\", ".into()),
    );
    let mut huge = secret_event(
        "huge",
        "GetSecretValue",
        "intruder",
        "snowflake/service-users/SVC_DBT",
        200,
        "us-east-1",
    );
    huge["padding"] = json!("x".repeat(1_100_000));
    emu.add_raw_event("us-east-1", event("huge", huge.to_string()));
    emu.add_records(
        "us-east-1",
        vec![secret_event(
            "good",
            "GetSecretValue",
            "intruder",
            "snowflake/service-users/SVC_DBT",
            100,
            "us-east-1",
        )],
    );
    emu.inject(Fault::Throttle, 3);
    let app = app(&emu, &inbox, "broken").await;

    let report = handle(&app, OffsetDateTime::now_utc()).await.unwrap();
    let east = &report.regions[0];
    assert_eq!(east.events_read, 3);
    assert_eq!(east.skipped.total(), 2, "{east:?}");
    assert_eq!(east.skipped.malformed, 1, "{east:?}");
    assert!(
        east.watermark_advanced,
        "skipped records never hold the watermark back"
    );
    let messages = inbox.take().await;
    assert_eq!(
        messages.len(),
        1,
        "the good record still produced its finding"
    );
    let throttled = emu
        .requests()
        .iter()
        .filter(|r| r.error_code.as_deref() == Some("ThrottlingException"))
        .count();
    assert_eq!(throttled, 3);

    let saved = aws_sdk_ssm::Client::new(&sdk)
        .get_parameter()
        .name(app.watermarks.parameter_name("us-east-1"))
        .send()
        .await
        .unwrap();
    assert!(
        saved
            .parameter()
            .unwrap()
            .value()
            .unwrap()
            .contains("\"w\""),
        "watermark saved in SSM"
    );
}

#[tokio::test]
async fn a_lookup_that_keeps_failing_holds_the_watermark_and_the_next_run_catches_up() {
    let sdk = test_support::moto().await.sdk_config().await;
    let inbox = Inbox::new(&sdk, &unique("secret-lookup-down")).await;
    let emu = unthrottled_emulator().await;
    emu.add_records(
        "us-east-1",
        vec![secret_event(
            "r1",
            "GetSecretValue",
            "intruder",
            "snowflake/service-users/SVC_DBT",
            100,
            "us-east-1",
        )],
    );
    let app = app(&emu, &inbox, "lookup-down").await;
    // More throttling than the reader's retries: the first run gives up on us-east-1.
    emu.inject(Fault::Throttle, 5);
    let now = OffsetDateTime::now_utc();
    let err = handle(&app, now).await.unwrap_err().to_string();
    assert!(
        err.contains("us-east-1") && err.contains("throttled"),
        "{err}"
    );

    let report = handle(&app, now + time::Duration::minutes(15))
        .await
        .unwrap();
    assert!(report.regions.iter().all(|r| r.watermark_advanced));
    let messages = inbox.take().await;
    assert_eq!(
        messages.len(),
        1,
        "the intruder's read is reported exactly once: {messages:#?}"
    );
    assert!(
        serde_json::to_string(&messages)
            .unwrap()
            .contains("intruder")
    );
}
