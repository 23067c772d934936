//! The assume-role audit against CloudTrail's real limit: the emulator enforces 2 requests/s per region
//! and the production pacer at its maximum setting (2/s) must never be throttled while paging.

use std::time::Instant;

use audit_assume_role::{App, Config, handle};
use cloudtrail_emulator::{Config as EmuConfig, Emulator};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const ACCOUNT: &str = "123456789012";

fn assume_role(id: &str, caller_role: &str, age_seconds: i64) -> Value {
    let at = |age: i64| {
        (OffsetDateTime::now_utc() - time::Duration::seconds(age))
            .replace_nanosecond(0)
            .unwrap()
            .format(&Rfc3339)
            .unwrap()
    };
    json!({
        "eventVersion": "1.08", "eventID": id, "eventName": "AssumeRole", "eventTime": at(age_seconds),
        "eventSource": "sts.amazonaws.com", "awsRegion": "us-east-1", "eventType": "AwsApiCall",
        "eventCategory": "Management", "managementEvent": true, "readOnly": true, "recipientAccountId": ACCOUNT,
        "sourceIPAddress": "10.1.2.3", "userAgent": "aws-sdk-go-v2/1.30.0",
        "requestParameters": {"roleArn": format!("arn:aws:iam::{ACCOUNT}:role/snowflake-admin"), "roleSessionName": "s", "durationSeconds": 3600},
        "responseElements": {"assumedRoleUser": {"arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/snowflake-admin/s"), "assumedRoleId": "AROAX:s"}},
        "resources": [{"ARN": format!("arn:aws:iam::{ACCOUNT}:role/snowflake-admin"), "accountId": ACCOUNT, "type": "AWS::IAM::Role"}],
        "userIdentity": {"type": "AssumedRole", "principalId": "AROAY:w", "accountId": ACCOUNT, "accessKeyId": "ASIAY",
            "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{caller_role}/w"),
            "sessionContext": {"attributes": {"creationDate": at(age_seconds + 60), "mfaAuthenticated": "false"},
                "sessionIssuer": {"type": "Role", "principalId": "AROAY", "accountId": ACCOUNT,
                    "arn": format!("arn:aws:iam::{ACCOUNT}:role/{caller_role}"), "userName": caller_role}}}
    })
}

#[tokio::test]
async fn pages_at_the_real_two_per_second_without_being_throttled() {
    let records: Vec<Value> = (0..120)
        .map(|i| {
            assume_role(
                &format!("ar-{i:03}"),
                if i % 2 == 0 { "ci" } else { "intruder" },
                60 + i,
            )
        })
        .collect();
    let emu = Emulator::start(EmuConfig::default().with_records("us-east-1", records))
        .await
        .unwrap();
    let moto = test_support::moto().await;
    let sdk = moto.sdk_config().await;
    let topic = aws_sdk_sns::Client::new(&sdk)
        .create_topic()
        .name("assume-role-rate")
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let audit_config = json!({"assume_role": {
        "sensitive_roles": ["*:role/snowflake-admin"],
        "callers": {"*:role/snowflake-admin": [format!("arn:aws:iam::{ACCOUNT}:role/ci")]}
    }});
    let lookup = |name: &str| match name {
        "SNOWKEY_TOPIC_ARN" => Some(topic.clone()),
        "SNOWKEY_REGIONS" => Some("us-east-1".into()),
        "SNOWKEY_WATERMARK_PREFIX" => Some(format!(
            "/snowkey-test/assume-role-rate-{}",
            OffsetDateTime::now_utc().unix_timestamp_nanos()
        )),
        "SNOWKEY_AUDIT_CONFIG" => Some(audit_config.to_string()),
        "SNOWKEY_LOOKUP_REQUESTS_PER_SECOND" => Some("2".into()),
        _ => None,
    };
    let config = Config::from_lookup(&lookup).unwrap();
    let mut app = App::new(config, &sdk);
    let ct_sdk = sdk.to_builder().endpoint_url(emu.url()).build();
    app.reader = snowkey_shared::aws::cloudtrail::CloudTrailReader::new(
        &ct_sdk,
        &app.config.runner.regions,
        app.config.runner.pacing.clone(),
    );

    let started = Instant::now();
    let report = handle(&app, OffsetDateTime::now_utc()).await.unwrap();
    let elapsed = started.elapsed();
    let requests = emu.requests();
    eprintln!(
        "{} LookupEvents requests in {:.2} s ({:.2}/s)",
        requests.len(),
        elapsed.as_secs_f64(),
        requests.len() as f64 / elapsed.as_secs_f64()
    );

    assert_eq!(report.regions[0].events_read, 120, "every page read");
    let throttled: Vec<_> = requests.iter().filter(|r| r.status != 200).collect();
    assert!(
        throttled.is_empty(),
        "the pacer overran CloudTrail's 2 TPS: {throttled:?}"
    );
    assert_eq!(requests.len(), 5, "3 AssumeRole pages + SAML + WebIdentity");
    assert!(
        report.regions[0].published >= 1,
        "the intruder's assumptions were reported: {report:?}"
    );
    assert!(
        requests
            .iter()
            .all(|r| r.body["LookupAttributes"].as_array().map(Vec::len) == Some(1)),
        "one lookup attribute per call"
    );
}

#[test]
fn configuration_is_validated_at_cold_start() {
    let bad_rules = |name: &str| match name {
        "SNOWKEY_TOPIC_ARN" => Some("arn:aws:sns:us-east-1:1:t".into()),
        "SNOWKEY_REGIONS" => Some("us-east-1".into()),
        "SNOWKEY_AUDIT_CONFIG" => {
            Some(r#"{"assume_role": {"rules": {"role.nonexistent": {"enabled": false}}}}"#.into())
        }
        _ => None,
    };
    let err = Config::from_lookup(&bad_rules).unwrap_err().to_string();
    assert!(
        err.contains("SNOWKEY_AUDIT_CONFIG") && err.contains("role.nonexistent"),
        "{err}"
    );
    let no_topic = |name: &str| (name == "SNOWKEY_REGIONS").then(|| "us-east-1".to_owned());
    assert!(
        Config::from_lookup(&no_topic)
            .unwrap_err()
            .to_string()
            .contains("SNOWKEY_TOPIC_ARN")
    );
}
