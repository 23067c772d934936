//! Slack-bound notifications in the AWS Chatbot custom-notification format.
//!
//! A [`Notification`] is what every function hands to [`crate::aws::sns::SnsPublisher`]: AWS Chatbot
//! ("Amazon Q Developer in chat applications") renders the SNS message body in Slack when it is the
//! custom-notification JSON (`{"version":"1.0","source":"custom","content":{..},"metadata":{..}}`).
//! The severity travels twice: as the `severity` SNS message attribute (for subscription filter
//! policies such as `{"severity":["HIGH","CRITICAL"]}`) and inside `metadata.additionalContext`
//! (for `MessageBody`-scoped filters and for the reader in Slack).

use std::collections::BTreeMap;

use serde::Serialize;

/// SNS rejects a message (body plus message attributes) over 256 KiB. A topic feeding Chatbot is an
/// HTTPS subscription, so the 1 MiB extended limit never applies.
pub const SNS_MAX_MESSAGE_BYTES: usize = 262_144;

/// How urgent a notification is. Ordered: `Info < Low < Medium < High < Critical`.
///
/// Serialised (JSON config, SNS attribute) as the upper-case name, e.g. `"HIGH"`; lower-case and
/// capitalised spellings are accepted when reading configuration.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    #[serde(alias = "info", alias = "Info")]
    Info,
    #[serde(alias = "low", alias = "Low")]
    Low,
    #[serde(alias = "medium", alias = "Medium")]
    Medium,
    #[serde(alias = "high", alias = "High")]
    High,
    #[serde(alias = "critical", alias = "Critical")]
    Critical,
}

impl Severity {
    /// The wire name: `"INFO" | "LOW" | "MEDIUM" | "HIGH" | "CRITICAL"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Severity::Info => "INFO",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }

    /// A Slack emoji shortcode, so severity is visible at a glance in the channel.
    pub fn emoji(&self) -> &'static str {
        match self {
            Severity::Info => ":information_source:",
            Severity::Low => ":large_blue_circle:",
            Severity::Medium => ":large_yellow_circle:",
            Severity::High => ":large_orange_circle:",
            Severity::Critical => ":red_circle:",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "INFO" => Ok(Severity::Info),
            "LOW" => Ok(Severity::Low),
            "MEDIUM" => Ok(Severity::Medium),
            "HIGH" => Ok(Severity::High),
            "CRITICAL" => Ok(Severity::Critical),
            _ => Err(format!(
                "unknown severity {s:?}; expected one of INFO, LOW, MEDIUM, HIGH, CRITICAL"
            )),
        }
    }
}

/// One Slack-bound message in the AWS Chatbot custom-notification format (cloudtrail-audit.md §4.1).
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub title: String,
    pub description: String,
    pub next_steps: Vec<String>,
    pub keywords: Vec<String>,
    pub thread_id: Option<String>,
    pub summary: Option<String>,
    pub event_type: String,
    pub related_resources: Vec<String>,
    pub additional_context: BTreeMap<String, String>,
    pub severity: Severity,
    /// Extra SNS message attributes (String type) besides `severity`, e.g. "rule".
    pub attributes: BTreeMap<String, String>,
}

impl Notification {
    /// A notification with only the required parts; fill the rest with struct-update syntax.
    pub fn new(
        severity: Severity,
        event_type: impl Into<String>,
        title: impl Into<String>,
    ) -> Self {
        Notification {
            title: title.into(),
            description: String::new(),
            next_steps: Vec::new(),
            keywords: Vec::new(),
            thread_id: None,
            summary: None,
            event_type: event_type.into(),
            related_resources: Vec::new(),
            additional_context: BTreeMap::new(),
            severity,
            attributes: BTreeMap::new(),
        }
    }

    /// The SNS message body Chatbot understands. Empty optional fields are left out;
    /// `additionalContext.severity` is added unless the caller set it.
    pub fn to_chatbot_json(&self) -> String {
        let mut context: BTreeMap<&str, &str> = self
            .additional_context
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        context.entry("severity").or_insert(self.severity.as_str());
        let body = ChatbotMessage {
            version: "1.0",
            source: "custom",
            content: ChatbotContent {
                text_type: "client-markdown",
                title: &self.title,
                description: &self.description,
                next_steps: &self.next_steps,
                keywords: &self.keywords,
            },
            metadata: ChatbotMetadata {
                thread_id: self.thread_id.as_deref(),
                summary: self.summary.as_deref(),
                event_type: &self.event_type,
                related_resources: &self.related_resources,
                additional_context: context,
            },
        };
        // Serialising plain strings and maps cannot fail.
        serde_json::to_string(&body).expect("chatbot message serialises")
    }

    /// The SNS message attributes this notification is published with: `severity` plus `attributes`
    /// (an explicit `severity` in `attributes` is ignored so filter policies see one truth).
    pub fn message_attributes(&self) -> BTreeMap<&str, &str> {
        let mut attrs: BTreeMap<&str, &str> = self
            .attributes
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        attrs.insert("severity", self.severity.as_str());
        attrs
    }

    /// Bytes SNS counts against its 256 KiB limit: the body plus each attribute's name, type and value.
    pub fn sns_size(&self) -> usize {
        sns_size_of(&self.to_chatbot_json(), &self.message_attributes())
    }
}

/// Size of a body plus String message attributes as SNS measures it.
pub fn sns_size_of(body: &str, attributes: &BTreeMap<&str, &str>) -> usize {
    body.len()
        + attributes
            .iter()
            .map(|(k, v)| k.len() + "String".len() + v.len())
            .sum::<usize>()
}

#[derive(Serialize)]
struct ChatbotMessage<'a> {
    version: &'static str,
    source: &'static str,
    content: ChatbotContent<'a>,
    metadata: ChatbotMetadata<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChatbotContent<'a> {
    text_type: &'static str,
    title: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    next_steps: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    keywords: &'a [String],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChatbotMetadata<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    thread_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<&'a str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    event_type: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    related_resources: &'a [String],
    additional_context: BTreeMap<&'a str, &'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatbot_json_has_required_fields_and_severity() {
        let mut n = Notification::new(
            Severity::High,
            "snowkey.audit.finding",
            "Secret read by a human",
        );
        n.description = "*alice* read `snowflake/svc_dlt`".into();
        n.next_steps = vec!["Ask alice why".into()];
        n.thread_id = Some("secret-reader/alice".into());
        n.attributes
            .insert("rule".into(), "secret.human-reader".into());
        let v: serde_json::Value = serde_json::from_str(&n.to_chatbot_json()).unwrap();
        assert_eq!(v["version"], "1.0");
        assert_eq!(v["source"], "custom");
        assert_eq!(v["content"]["textType"], "client-markdown");
        assert_eq!(v["content"]["title"], "Secret read by a human");
        assert_eq!(v["content"]["nextSteps"][0], "Ask alice why");
        assert!(v["content"].get("keywords").is_none());
        assert_eq!(v["metadata"]["threadId"], "secret-reader/alice");
        assert_eq!(v["metadata"]["additionalContext"]["severity"], "HIGH");
        assert_eq!(n.message_attributes()["severity"], "HIGH");
        assert_eq!(n.message_attributes()["rule"], "secret.human-reader");
    }

    #[test]
    fn severity_reads_any_case_and_orders() {
        let s: Severity = serde_json::from_str("\"high\"").unwrap();
        assert_eq!(s, Severity::High);
        assert_eq!(
            serde_json::to_string(&Severity::Critical).unwrap(),
            "\"CRITICAL\""
        );
        assert!(Severity::Info < Severity::Critical);
        assert_eq!("medium".parse::<Severity>().unwrap(), Severity::Medium);
        assert!("urgent".parse::<Severity>().is_err());
    }

    #[test]
    fn sns_size_counts_attributes() {
        let n = Notification::new(Severity::Low, "t", "x");
        assert_eq!(
            n.sns_size(),
            n.to_chatbot_json().len() + "severity".len() + "String".len() + "LOW".len()
        );
    }
}
