//! `SnsPublisher` against a real moto server: published messages are read back from an SQS queue
//! subscribed to the topic, as Slack's Chatbot subscription would receive them.

use std::time::Duration;

use snowkey_shared::aws::SnsPublisher;
use snowkey_shared::notify::{Notification, SNS_MAX_MESSAGE_BYTES, Severity};
use snowkey_shared::rotation::Notifier;

struct Topic {
    publisher: SnsPublisher,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

/// A fresh topic with a fresh queue subscribed (SNS envelope delivery, so attributes are visible).
async fn topic_with_queue() -> Topic {
    let config = test_support::moto().await.sdk_config().await;
    let sns = aws_sdk_sns::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let name = format!("snowkey-test-{}", uuid::Uuid::new_v4().simple());
    let topic_arn = sns
        .create_topic()
        .name(&name)
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    let queue_url = sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let queue_arn = format!("arn:aws:sqs:us-east-1:123456789012:{name}");
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .send()
        .await
        .unwrap();
    Topic {
        publisher: SnsPublisher::new(sns, topic_arn),
        sqs,
        queue_url,
    }
}

/// Every SNS envelope delivered to the queue so far.
async fn received(topic: &Topic, expected: usize) -> Vec<serde_json::Value> {
    let mut envelopes = Vec::new();
    for _ in 0..20 {
        let out = topic
            .sqs
            .receive_message()
            .queue_url(&topic.queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        for m in out.messages() {
            envelopes.push(serde_json::from_str(m.body().unwrap()).expect("SNS envelope is JSON"));
        }
        if envelopes.len() >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    envelopes
}

fn finding() -> Notification {
    let mut n = Notification::new(
        Severity::High,
        "snowkey.audit.finding",
        "Secret read by a human",
    );
    n.description = "*alice* read `snowflake/svc_dlt`".into();
    n.next_steps = vec!["Ask alice why".into()];
    n.thread_id = Some("secret.human-reader/alice".into());
    n.attributes
        .insert("rule".into(), "secret.human-reader".into());
    n
}

#[tokio::test]
async fn published_notification_arrives_as_chatbot_json_with_attributes() {
    let topic = topic_with_queue().await;
    let message_id = topic.publisher.publish_message(&finding()).await.unwrap();
    assert!(!message_id.is_empty());

    let envelopes = received(&topic, 1).await;
    assert_eq!(envelopes.len(), 1, "exactly one message delivered");
    let envelope = &envelopes[0];
    assert_eq!(envelope["MessageId"], message_id.as_str());
    assert_eq!(envelope["MessageAttributes"]["severity"]["Value"], "HIGH");
    assert_eq!(envelope["MessageAttributes"]["severity"]["Type"], "String");
    assert_eq!(
        envelope["MessageAttributes"]["rule"]["Value"],
        "secret.human-reader"
    );

    let body: serde_json::Value =
        serde_json::from_str(envelope["Message"].as_str().unwrap()).expect("Chatbot JSON");
    assert_eq!(body["version"], "1.0");
    assert_eq!(body["source"], "custom");
    assert_eq!(body["content"]["title"], "Secret read by a human");
    assert_eq!(body["content"]["nextSteps"][0], "Ask alice why");
    assert_eq!(body["metadata"]["threadId"], "secret.human-reader/alice");
}

#[tokio::test]
async fn the_notifier_port_publishes_with_only_severity_when_no_rule_is_set() {
    let topic = topic_with_queue().await;
    let n = Notification::new(
        Severity::Info,
        "snowkey.rotation.rotated",
        "Rotated SVC_DLT",
    );
    Notifier::publish(&topic.publisher, &n).await.unwrap();

    let envelopes = received(&topic, 1).await;
    assert_eq!(envelopes.len(), 1);
    let attributes = envelopes[0]["MessageAttributes"].as_object().unwrap();
    assert_eq!(attributes.keys().collect::<Vec<_>>(), ["severity"]);
    assert_eq!(attributes["severity"]["Value"], "INFO");
}

#[tokio::test]
async fn a_message_over_256_kib_is_refused_and_nothing_is_sent() {
    let topic = topic_with_queue().await;
    let mut n = finding();
    n.description = "x".repeat(SNS_MAX_MESSAGE_BYTES);
    let err = topic.publisher.publish_message(&n).await.unwrap_err();
    assert!(
        err.to_string().contains("split it into smaller digests"),
        "{err}"
    );
    assert!(
        !err.to_string().contains("xxxxxxxx"),
        "the error must not echo the body"
    );

    // A message just under the limit goes through.
    let mut fits = finding();
    fits.description = "y".into();
    let room = SNS_MAX_MESSAGE_BYTES - fits.sns_size();
    fits.description = "y".repeat(1 + room);
    assert_eq!(fits.sns_size(), SNS_MAX_MESSAGE_BYTES);
    topic.publisher.publish_message(&fits).await.unwrap();
    let envelopes = received(&topic, 1).await;
    assert_eq!(
        envelopes.len(),
        1,
        "only the message that fits was delivered"
    );
}

#[tokio::test]
async fn publishing_to_a_missing_topic_is_an_error_naming_publish() {
    let config = test_support::moto().await.sdk_config().await;
    let publisher = SnsPublisher::new(
        aws_sdk_sns::Client::new(&config),
        "arn:aws:sns:us-east-1:123456789012:snowkey-missing-topic",
    );
    let err = publisher.publish(&finding()).await.unwrap_err();
    assert!(err.to_string().starts_with("Publish failed"), "{err}");
}
