//! The audits' LookupEvents reader (`snowkey_shared::aws::cloudtrail`) against the emulator at
//! CloudTrail's real rate limit, through the faults a lenient emulator would never produce.

mod common;

use aws_sdk_cloudtrail::config::{Credentials, Region, SharedCredentialsProvider};
use cloudtrail_emulator::{Config, Emulator, Fault};
use common::record;
use serde_json::Value;
use snowkey_shared::aws::cloudtrail::{CloudTrailReader, LookedUpEvent, LookupPacing};
use time::OffsetDateTime;

fn reader(url: &str, requests_per_second: f64) -> CloudTrailReader {
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        )))
        .build();
    let pacing = LookupPacing {
        requests_per_second,
        max_retries: 4,
        backoff_base: std::time::Duration::from_millis(20),
    };
    CloudTrailReader::new(&sdk, &["us-east-1".to_owned()], pacing)
}

#[tokio::test]
async fn the_reader_gets_every_event_through_an_empty_page_and_throttling_at_the_real_limit() {
    let records: Vec<Value> = (0..120)
        .map(|i| {
            record(
                &format!("read-{i:03}"),
                "GetSecretValue",
                60 + i,
                "us-east-1",
            )
        })
        .collect();
    // Default config: CloudTrail's 2 requests/s and tokens bound to every parameter.
    let emu = Emulator::start(Config::default().with_records("us-east-1", records))
        .await
        .unwrap();
    emu.inject(Fault::EmptyPage, 1);
    emu.inject(Fault::Throttle, 1);
    let now = OffsetDateTime::now_utc();
    let mut seen: Vec<LookedUpEvent> = Vec::new();
    let count = reader(&emu.url(), 2.0)
        .for_each_event(
            "us-east-1",
            "GetSecretValue",
            now - time::Duration::hours(1),
            now,
            |e| seen.push(e),
        )
        .await
        .unwrap();

    assert_eq!(count, 120);
    let ids: Vec<_> = seen.iter().map(|e| e.event_id.as_str()).collect();
    let expected: Vec<_> = (0..120).map(|i| format!("read-{i:03}")).collect();
    assert_eq!(ids, expected, "every event once, newest first");
    let answers: Vec<_> = emu
        .requests()
        .into_iter()
        .map(|r| (r.error_code, r.events_returned))
        .collect();
    assert_eq!(
        answers,
        [
            (None, 0),
            (Some("ThrottlingException".to_owned()), 0),
            (None, 50),
            (None, 50),
            (None, 20)
        ],
        "paced under the limit: only the injected throttle, and the empty page did not end the read"
    );
}
