//! Shared fixtures: realistic records relative to now, and a real aws-sdk-cloudtrail client.

#![allow(dead_code)]

use aws_sdk_cloudtrail::config::{Credentials, Region};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A GetSecretValue-shaped record (or another event name) `age_seconds` before now.
pub fn record(id: &str, name: &str, age_seconds: i64, region: &str) -> Value {
    let time = OffsetDateTime::now_utc() - time::Duration::seconds(age_seconds);
    let time = time
        .replace_nanosecond(0)
        .unwrap()
        .format(&Rfc3339)
        .unwrap();
    json!({
        "eventVersion": "1.09", "eventID": id, "eventName": name, "eventTime": time,
        "eventSource": "secretsmanager.amazonaws.com", "awsRegion": region, "readOnly": true,
        "eventCategory": "Management", "managementEvent": true, "recipientAccountId": "123456789012",
        "requestParameters": {"secretId": "snowflake/service-users/SVC_DBT"}, "responseElements": null,
        "sourceIPAddress": "10.0.0.5",
        "userIdentity": {"type": "AssumedRole", "accessKeyId": "ASIAEXAMPLE", "accountId": "123456789012",
            "arn": "arn:aws:sts::123456789012:assumed-role/dbt-runner/session-1",
            "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::123456789012:role/dbt-runner"}}}
    })
}

/// The real SDK client, signing for `region`, pointed at `url`. `retries` = max attempts (1 = none).
pub fn client(url: &str, region: &str, attempts: u32) -> aws_sdk_cloudtrail::Client {
    let config = aws_sdk_cloudtrail::Config::builder()
        .behavior_version(aws_sdk_cloudtrail::config::BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(url)
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        ))
        .retry_config(
            aws_sdk_cloudtrail::config::retry::RetryConfig::standard().with_max_attempts(attempts),
        )
        .build();
    aws_sdk_cloudtrail::Client::from_conf(config)
}

pub fn event_name(name: &str) -> aws_sdk_cloudtrail::types::LookupAttribute {
    aws_sdk_cloudtrail::types::LookupAttribute::builder()
        .attribute_key(aws_sdk_cloudtrail::types::LookupAttributeKey::EventName)
        .attribute_value(name)
        .build()
        .unwrap()
}
