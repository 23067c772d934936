//! End-to-end fixtures: CloudTrail emulator + moto (SSM watermarks, SNS → SQS read-back).

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{Value, json};
use snowkey_shared::aws::AwsError;
use snowkey_shared::notify::Notification;
use snowkey_shared::rotation::Notifier;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub const ACCOUNT: &str = "123456789012";
pub const ROTATION_ROLE: &str = "arn:aws:iam::123456789012:role/snowkey-rotation";

/// A unique suffix so tests sharing one moto never collide.
pub fn unique(name: &str) -> String {
    format!(
        "{name}-{}",
        OffsetDateTime::now_utc().unix_timestamp_nanos()
    )
}

pub fn at(age_seconds: i64) -> String {
    (OffsetDateTime::now_utc() - time::Duration::seconds(age_seconds))
        .replace_nanosecond(0)
        .unwrap()
        .format(&Rfc3339)
        .unwrap()
}

/// A GetSecretValue (or other secret event) by an assumed role's session, through a VPC endpoint.
pub fn secret_event(
    id: &str,
    name: &str,
    role: &str,
    secret: &str,
    age_seconds: i64,
    region: &str,
) -> Value {
    json!({
        "eventVersion": "1.09", "eventID": id, "eventName": name, "eventTime": at(age_seconds),
        "eventSource": "secretsmanager.amazonaws.com", "awsRegion": region, "eventType": "AwsApiCall",
        "eventCategory": "Management", "managementEvent": true, "readOnly": name == "GetSecretValue",
        "recipientAccountId": ACCOUNT, "requestID": format!("req-{id}"),
        "requestParameters": {"secretId": format!("arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{secret}-AbCdEf")},
        "responseElements": null, "sourceIPAddress": "10.0.3.7", "vpcEndpointId": "vpce-0a1b2c3d",
        "userAgent": "aws-sdk-rust/1.3.9 os/linux lang/rust/1.94.1",
        "userIdentity": {
            "type": "AssumedRole", "principalId": "AROAEXAMPLE:worker", "accountId": ACCOUNT,
            "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/worker"), "accessKeyId": "ASIAEXAMPLE",
            "sessionContext": {
                "attributes": {"creationDate": at(age_seconds + 60), "mfaAuthenticated": "false"},
                "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE", "accountId": ACCOUNT,
                    "arn": format!("arn:aws:iam::{ACCOUNT}:role/{role}"), "userName": role}
            }
        }
    })
}

pub fn denied(mut record: Value) -> Value {
    record["errorCode"] = json!("AccessDenied");
    record["errorMessage"] =
        json!("User is not authorized to perform: secretsmanager:GetSecretValue");
    record
}

/// An SNS topic with an SQS queue subscribed (raw delivery: the body is the Chatbot JSON).
pub struct Inbox {
    pub topic_arn: String,
    queue_url: String,
    sqs: aws_sdk_sqs::Client,
}

impl Inbox {
    pub async fn new(sdk: &aws_config::SdkConfig, name: &str) -> Inbox {
        let sns = aws_sdk_sns::Client::new(sdk);
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let topic_arn = sns
            .create_topic()
            .name(name)
            .send()
            .await
            .unwrap()
            .topic_arn
            .unwrap();
        let queue_url = sqs
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let queue_arn = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&QueueAttributeName::QueueArn]
            .clone();
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .attributes("RawMessageDelivery", "true")
            .send()
            .await
            .unwrap();
        Inbox {
            topic_arn,
            queue_url,
            sqs,
        }
    }

    /// Every message delivered since the last call (Chatbot JSON bodies), removing them from the queue.
    pub async fn take(&self) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let got = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            let messages = got.messages.unwrap_or_default();
            if messages.is_empty() {
                return out;
            }
            for m in messages {
                out.push(serde_json::from_str(m.body().unwrap()).unwrap());
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

/// The rule id and number of findings each message carries.
pub fn rules_and_counts(messages: &[Value]) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = messages
        .iter()
        .map(|m| {
            let ctx = &m["metadata"]["additionalContext"];
            (
                ctx["rule"].as_str().unwrap().to_owned(),
                ctx["findings"].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Passes the first `allowed` publications on, then fails every one: SNS down midway through a run.
pub struct FailingAfter<'a, N> {
    pub inner: &'a N,
    pub allowed: usize,
    pub calls: AtomicUsize,
}

impl<N: Notifier> Notifier for FailingAfter<'_, N> {
    async fn publish(&self, notification: &Notification) -> Result<(), AwsError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) >= self.allowed {
            return Err(AwsError::Other {
                operation: "Publish",
                message: "injected: SNS unavailable".into(),
            });
        }
        self.inner.publish(notification).await
    }
}

pub fn env(pairs: Vec<(&str, String)>) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    move |k| map.get(k).cloned()
}
