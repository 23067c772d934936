//! Adapter: publishes [`Notification`]s to an SNS topic that AWS Chatbot forwards to Slack.

use aws_sdk_sns::types::MessageAttributeValue;

use crate::aws::AwsError;
use crate::notify::{Notification, SNS_MAX_MESSAGE_BYTES, sns_size_of};
use crate::rotation::Notifier;

/// Publishes Chatbot custom-notification JSON to one topic.
#[derive(Debug, Clone)]
pub struct SnsPublisher {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsPublisher {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        SnsPublisher {
            client,
            topic_arn: topic_arn.into(),
        }
    }

    /// The topic this publisher writes to.
    pub fn topic_arn(&self) -> &str {
        &self.topic_arn
    }

    /// Publishes the Chatbot JSON with a `severity` String message attribute plus the
    /// notification's other attributes (e.g. `rule`), and returns SNS's message id.
    ///
    /// Refuses a message over 256 KiB instead of letting SNS reject it, so the caller learns to
    /// split a digest (see [`Notification::sns_size`]) rather than losing it to an opaque
    /// `InvalidParameter`.
    pub async fn publish_message(&self, n: &Notification) -> Result<String, AwsError> {
        const OP: &str = "Publish";
        let body = n.to_chatbot_json();
        // SNS rejects empty attribute values; an empty optional attribute is simply left out.
        let attributes: Vec<(&str, &str)> = n
            .message_attributes()
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
        let size = sns_size_of(&body, &attributes.iter().copied().collect());
        if size > SNS_MAX_MESSAGE_BYTES {
            return Err(AwsError::Other {
                operation: OP,
                message: format!(
                    "notification {:?} is {size} bytes, over SNS's {SNS_MAX_MESSAGE_BYTES}-byte limit; split it into smaller digests",
                    n.title
                ),
            });
        }
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(body);
        for (name, value) in attributes {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| AwsError::Other {
                    operation: OP,
                    message: e.to_string(),
                })?;
            request = request.message_attributes(name, value);
        }
        let output = request
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OP, e))?;
        Ok(output.message_id().unwrap_or_default().to_string())
    }
}

impl Notifier for SnsPublisher {
    async fn publish(&self, notification: &Notification) -> Result<(), AwsError> {
        self.publish_message(notification).await.map(|_| ())
    }
}
