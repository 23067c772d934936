//! LookupEvents as the real aws-sdk-cloudtrail client sees it.

mod common;

use aws_sdk_cloudtrail::error::ProvideErrorMetadata;
use aws_sdk_cloudtrail::primitives::DateTime;
use cloudtrail_emulator::{Config, Emulator, Fault, RateLimit, RawEvent};
use common::{client, event_name, record};
use serde_json::Value;

async fn unthrottled(records: Vec<(&str, Vec<Value>)>) -> Emulator {
    let mut config = Config::default().with_rate_limit(None);
    for (region, list) in records {
        config = config.with_records(region, list);
    }
    Emulator::start(config).await.unwrap()
}

fn code<E: ProvideErrorMetadata>(err: &aws_sdk_cloudtrail::error::SdkError<E>) -> String {
    err.as_service_error()
        .and_then(|e| e.code())
        .unwrap_or("(no service error)")
        .to_owned()
}

#[tokio::test]
async fn pages_newest_first_with_the_record_as_cloudtrail_event() {
    let mut records: Vec<Value> = (0..120)
        .map(|i| {
            record(
                &format!("read-{i:03}"),
                "GetSecretValue",
                60 + i,
                "us-east-1",
            )
        })
        .collect();
    records.push(record("other", "PutSecretValue", 30, "us-east-1"));
    let emu = unthrottled(vec![("us-east-1", records.clone())]).await;
    let ct = client(&emu.url(), "us-east-1", 1);

    let pages: Vec<_> = ct
        .lookup_events()
        .lookup_attributes(event_name("GetSecretValue"))
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(
        pages.iter().map(|p| p.events().len()).collect::<Vec<_>>(),
        vec![50, 50, 20]
    );
    let events: Vec<_> = pages.iter().flat_map(|p| p.events()).collect();
    let ids: Vec<_> = events
        .iter()
        .map(|e| e.event_id().unwrap().to_owned())
        .collect();
    let expected: Vec<_> = (0..120).map(|i| format!("read-{i:03}")).collect();
    assert_eq!(
        ids, expected,
        "newest first, every matching event exactly once"
    );

    let first = events[0];
    assert_eq!(first.event_name(), Some("GetSecretValue"));
    assert_eq!(first.username(), Some("session-1"));
    assert_eq!(first.access_key_id(), Some("ASIAEXAMPLE"));
    let embedded: Value = serde_json::from_str(first.cloud_trail_event().unwrap()).unwrap();
    assert_eq!(embedded, records[0]);
    let time = time::OffsetDateTime::parse(
        records[0]["eventTime"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(first.event_time().unwrap().secs(), time.unix_timestamp());
}

#[tokio::test]
async fn time_bounds_are_inclusive_and_old_history_is_gone() {
    let records = vec![
        record("inside-new", "GetSecretValue", 100, "us-east-1"),
        record("inside-old", "GetSecretValue", 200, "us-east-1"),
        record("outside", "GetSecretValue", 300, "us-east-1"),
        record("ancient", "GetSecretValue", 91 * 86_400, "us-east-1"),
    ];
    let secs = |r: &Value| {
        time::OffsetDateTime::parse(
            r["eventTime"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
        .unix_timestamp()
    };
    let emu = unthrottled(vec![("us-east-1", records.clone())]).await;
    let ct = client(&emu.url(), "us-east-1", 1);
    let out = ct
        .lookup_events()
        .start_time(DateTime::from_secs(secs(&records[1])))
        .end_time(DateTime::from_secs(secs(&records[0])))
        .send()
        .await
        .unwrap();
    let ids: Vec<_> = out.events().iter().filter_map(|e| e.event_id()).collect();
    assert_eq!(ids, ["inside-new", "inside-old"]);

    let all = ct.lookup_events().send().await.unwrap();
    let ids: Vec<_> = all.events().iter().filter_map(|e| e.event_id()).collect();
    assert_eq!(
        ids,
        ["inside-new", "inside-old", "outside"],
        "events beyond 90 days are not in event history"
    );
}

#[tokio::test]
async fn invalid_requests_get_cloudtrails_error_codes() {
    let emu = unthrottled(vec![(
        "us-east-1",
        vec![record("a", "GetSecretValue", 60, "us-east-1")],
    )])
    .await;
    let ct = client(&emu.url(), "us-east-1", 1);

    let two = ct
        .lookup_events()
        .lookup_attributes(event_name("GetSecretValue"))
        .lookup_attributes(event_name("AssumeRole"));
    assert_eq!(
        code(&two.send().await.unwrap_err()),
        "InvalidLookupAttributesException"
    );

    let bogus_key = aws_sdk_cloudtrail::types::LookupAttribute::builder()
        .attribute_key("SecretId".into())
        .attribute_value("x")
        .build()
        .unwrap();
    let err = ct
        .lookup_events()
        .lookup_attributes(bogus_key)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidLookupAttributesException");

    for bad in [0, 51] {
        let err = ct
            .lookup_events()
            .max_results(bad)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "InvalidMaxResultsException", "MaxResults {bad}");
    }
    for good in [1, 50] {
        assert_eq!(
            ct.lookup_events()
                .max_results(good)
                .send()
                .await
                .unwrap()
                .events()
                .len(),
            1
        );
    }

    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let reversed = ct
        .lookup_events()
        .start_time(DateTime::from_secs(now))
        .end_time(DateTime::from_secs(now - 60));
    assert_eq!(
        code(&reversed.send().await.unwrap_err()),
        "InvalidTimeRangeException"
    );

    let err = ct
        .lookup_events()
        .event_category("data".into())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidEventCategoryException");
}

#[tokio::test]
async fn a_next_token_only_works_with_the_parameters_it_was_issued_for() {
    let records: Vec<Value> = (0..3)
        .map(|i| record(&format!("e{i}"), "GetSecretValue", 60 + i, "us-east-1"))
        .collect();
    let emu = unthrottled(vec![("us-east-1", records)]).await;
    let ct = client(&emu.url(), "us-east-1", 1);
    let first = ct
        .lookup_events()
        .lookup_attributes(event_name("GetSecretValue"))
        .max_results(1)
        .send()
        .await
        .unwrap();
    let token = first.next_token().unwrap().to_owned();

    let other_filter = ct
        .lookup_events()
        .lookup_attributes(event_name("AssumeRole"))
        .next_token(&token);
    assert_eq!(
        code(&other_filter.send().await.unwrap_err()),
        "InvalidNextTokenException"
    );
    let made_up = ct
        .lookup_events()
        .lookup_attributes(event_name("GetSecretValue"))
        .next_token("not-a-token");
    assert_eq!(
        code(&made_up.send().await.unwrap_err()),
        "InvalidNextTokenException"
    );

    // Resent with the same parameters it goes on where the first page stopped.
    let second = ct
        .lookup_events()
        .lookup_attributes(event_name("GetSecretValue"))
        .max_results(1)
        .next_token(&token);
    let ids: Vec<_> = second
        .send()
        .await
        .unwrap()
        .events()
        .iter()
        .filter_map(|e| e.event_id().map(str::to_owned))
        .collect();
    assert_eq!(ids, ["e1"]);
}

#[tokio::test]
async fn each_region_has_its_own_history_chosen_by_the_signature() {
    let emu = unthrottled(vec![
        (
            "us-east-1",
            vec![record("east", "AssumeRole", 60, "us-east-1")],
        ),
        (
            "eu-west-1",
            vec![record("west", "AssumeRole", 60, "eu-west-1")],
        ),
    ])
    .await;
    for (region, expected) in [("us-east-1", "east"), ("eu-west-1", "west")] {
        let out = client(&emu.url(), region, 1)
            .lookup_events()
            .send()
            .await
            .unwrap();
        let ids: Vec<_> = out.events().iter().filter_map(|e| e.event_id()).collect();
        assert_eq!(ids, [expected]);
    }
    let regions: Vec<_> = emu
        .requests()
        .into_iter()
        .map(|r| r.region.unwrap())
        .collect();
    assert_eq!(regions, ["us-east-1", "eu-west-1"]);
}

#[tokio::test]
async fn over_the_rate_limit_is_a_throttling_exception_per_region() {
    // A bucket of two that never refills: the third call in a region is refused whatever the timing.
    let limit = RateLimit {
        per_second: 1e-9,
        burst: 2.0,
    };
    let emu = Emulator::start(Config::default().with_rate_limit(Some(limit)))
        .await
        .unwrap();
    let east = client(&emu.url(), "us-east-1", 1);
    east.lookup_events().send().await.unwrap();
    east.lookup_events().send().await.unwrap();
    let err = east.lookup_events().send().await.unwrap_err();
    assert_eq!(code(&err), "ThrottlingException");
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 400);
    client(&emu.url(), "eu-west-1", 1)
        .lookup_events()
        .send()
        .await
        .expect("another region has its own budget");
}

#[tokio::test]
async fn the_sdk_retries_through_injected_throttling() {
    let emu = unthrottled(vec![(
        "us-east-1",
        vec![record("a", "GetSecretValue", 60, "us-east-1")],
    )])
    .await;
    emu.inject(Fault::Throttle, 2);
    let out = client(&emu.url(), "us-east-1", 3)
        .lookup_events()
        .send()
        .await
        .unwrap();
    assert_eq!(out.events().len(), 1);
    let codes: Vec<_> = emu.requests().into_iter().map(|r| r.error_code).collect();
    assert_eq!(
        codes,
        [
            Some("ThrottlingException".to_owned()),
            Some("ThrottlingException".to_owned()),
            None
        ]
    );
}

#[tokio::test]
async fn records_added_at_runtime_and_raw_events_are_served() {
    let emu = unthrottled(vec![]).await;
    let ct = client(&emu.url(), "us-east-1", 1);
    assert!(ct.lookup_events().send().await.unwrap().events().is_empty());
    emu.add_records(
        "us-east-1",
        vec![record("late", "GetSecretValue", 600, "us-east-1")],
    );
    emu.add_raw_event(
        "us-east-1",
        RawEvent {
            event_id: "broken".into(),
            event_name: "GetSecretValue".into(),
            event_time: time::OffsetDateTime::now_utc() - time::Duration::seconds(10),
            cloudtrail_event: "{not json".into(),
        },
    );
    let out = ct
        .lookup_events()
        .lookup_attributes(event_name("GetSecretValue"))
        .send()
        .await
        .unwrap();
    let got: Vec<_> = out
        .events()
        .iter()
        .map(|e| (e.event_id().unwrap(), e.cloud_trail_event().unwrap()))
        .collect();
    assert_eq!(got[0], ("broken", "{not json"));
    assert_eq!(got[1].0, "late");
}
