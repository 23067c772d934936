//! Adapter: publishes [`Notification`]s to an SNS topic that AWS Chatbot forwards to Slack.

use aws_sdk_sns::types::MessageAttributeValue;

use crate::aws::AwsError;
use crate::notify::{Notification, SNS_MAX_MESSAGE_BYTES, sns_size_of};

/// Publishes Chatbot custom-notification JSON to one topic.
#[derive(Debug, Clone)]
pub struct SnsPublisher {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsPublisher {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        SnsPublisher { client, topic_arn: topic_arn.into() }
    }

    /// The topic this publisher writes to.
    pub fn topic_arn(&self) -> &str {
        &self.topic_arn
    }

    /// Publishes the Chatbot JSON with a `severity` String message attribute plus `attributes`.
    /// Refuses (error) a message over 256 KiB instead of letting SNS reject it, so the caller learns
    /// to split a digest rather than losing it to an opaque `InvalidParameter`.
    pub async fn publish(&self, n: &Notification) -> Result<String, AwsError> {
        let body = n.to_chatbot_json();
        let attributes = n.message_attributes();
        let size = sns_size_of(&body, &attributes);
        if size > SNS_MAX_MESSAGE_BYTES {
            return Err(AwsError::Other {
                operation: "Publish",
                message: format!(
                    "notification {:?} is {size} bytes, over SNS's {SNS_MAX_MESSAGE_BYTES}-byte limit; split it into smaller digests",
                    n.title
                ),
            });
        }
        let mut request = self.client.publish().topic_arn(&self.topic_arn).message(body);
        for (name, value) in attributes {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| AwsError::Other { operation: "Publish", message: e.to_string() })?;
            request = request.message_attributes(name, value);
        }
        let output = request.send().await.map_err(|e| AwsError::from_sdk("Publish", e))?;
        Ok(output.message_id().unwrap_or_default().to_string())
    }
}
