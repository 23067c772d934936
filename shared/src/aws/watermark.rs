//! Adapter: per function and region audit watermarks in SSM Parameter Store (String parameters).
//!
//! A watermark says "every event up to here has been read and every finding from it published". Runs
//! rescan an overlap before it (CloudTrail delivers late), so the state also remembers which findings
//! it already published there: a finding seen again is not reported twice. The run advances the
//! watermark only after publishing; a run that fails midway keeps the old one and the keys of what it
//! did publish, so the next run reports the rest and nothing twice.

use std::collections::BTreeMap;

use aws_sdk_ssm::types::{ParameterTier, ParameterType};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::AwsError;

/// Standard-tier parameters hold 4 KiB, Advanced 8 KiB.
const STANDARD_MAX_BYTES: usize = 4096;
const ADVANCED_MAX_BYTES: usize = 8192;

#[derive(Debug, thiserror::Error)]
pub enum WatermarkError {
    #[error("watermark {name}: {source}")]
    Ssm { name: String, source: AwsError },
    #[error(
        "watermark {name} holds unreadable state ({reason}); fix or delete the parameter to restart from the look-back window"
    )]
    Corrupt { name: String, reason: String },
}

/// What one function has read and published in one region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatermarkState {
    /// Every event up to this time (epoch seconds) was read and its findings published.
    #[serde(rename = "w", default, skip_serializing_if = "Option::is_none")]
    watermark_secs: Option<i64>,
    /// Short hashes of published finding dedup keys → the finding's time (epoch seconds), kept while
    /// a rescan can still meet them.
    #[serde(rename = "p", default)]
    published: BTreeMap<String, i64>,
}

impl WatermarkState {
    pub fn watermark(&self) -> Option<OffsetDateTime> {
        self.watermark_secs
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
    }

    pub fn is_published(&self, dedup_key: &str) -> bool {
        self.published.contains_key(&short_hash(dedup_key))
    }

    /// Records a finding as published (call after SNS accepted it).
    pub fn mark_published(&mut self, dedup_key: &str, time: OffsetDateTime) {
        self.published
            .insert(short_hash(dedup_key), time.unix_timestamp());
    }

    /// Moves the watermark to `to` (never backwards) and forgets published keys older than `forget_before`,
    /// which no rescan reaches any more.
    pub fn advance(&mut self, to: OffsetDateTime, forget_before: OffsetDateTime) {
        let to = to.unix_timestamp();
        self.watermark_secs = Some(self.watermark_secs.map_or(to, |w| w.max(to)));
        let cutoff = forget_before.unix_timestamp();
        self.published.retain(|_, time| *time >= cutoff);
    }

    pub fn published_count(&self) -> usize {
        self.published.len()
    }

    /// JSON that fits an Advanced parameter: when too many keys are remembered, the oldest go first
    /// (at worst a very late event is reported twice; never is one lost).
    fn to_value(&self) -> (String, usize) {
        let mut state = self.clone();
        let mut dropped = 0;
        loop {
            let text = serde_json::to_string(&state).expect("state serialises");
            if text.len() <= ADVANCED_MAX_BYTES || state.published.is_empty() {
                return (text, dropped);
            }
            let excess = state.published.len().div_ceil(10);
            let mut by_age: Vec<(String, i64)> = state
                .published
                .iter()
                .map(|(k, t)| (k.clone(), *t))
                .collect();
            by_age.sort_by_key(|(_, t)| *t);
            for (key, _) in by_age.into_iter().take(excess) {
                state.published.remove(&key);
                dropped += 1;
            }
        }
    }
}

/// 64 bits of SHA-256: enough to tell a window's findings apart, small enough to keep hundreds.
fn short_hash(dedup_key: &str) -> String {
    let digest = Sha256::digest(dedup_key.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Watermark parameters `<prefix>/<region>`, e.g. `/snowkey/audit/audit-secret-access/us-east-1`.
#[derive(Debug, Clone)]
pub struct WatermarkStore {
    client: aws_sdk_ssm::Client,
    prefix: String,
}

impl WatermarkStore {
    pub fn new(client: aws_sdk_ssm::Client, prefix: impl Into<String>) -> Self {
        WatermarkStore {
            client,
            prefix: prefix.into().trim_end_matches('/').to_owned(),
        }
    }

    pub fn parameter_name(&self, region: &str) -> String {
        format!("{}/{region}", self.prefix)
    }

    /// The saved state, or an empty one (no watermark) when the parameter does not exist yet.
    pub async fn load(&self, region: &str) -> Result<WatermarkState, WatermarkError> {
        let name = self.parameter_name(region);
        let output = match self.client.get_parameter().name(&name).send().await {
            Ok(output) => output,
            Err(err) => {
                let err = AwsError::from_sdk("GetParameter", err);
                if err.code() == Some("ParameterNotFound") {
                    return Ok(WatermarkState::default());
                }
                return Err(WatermarkError::Ssm { name, source: err });
            }
        };
        let value = output
            .parameter()
            .and_then(|p| p.value())
            .unwrap_or_default();
        serde_json::from_str(value).map_err(|e| WatermarkError::Corrupt {
            name,
            reason: e.to_string(),
        })
    }

    pub async fn save(&self, region: &str, state: &WatermarkState) -> Result<(), WatermarkError> {
        let name = self.parameter_name(region);
        let (value, dropped) = state.to_value();
        if dropped > 0 {
            tracing::warn!(parameter = %name, dropped, "watermark full: forgot the oldest published finding keys");
        }
        let tier = if value.len() > STANDARD_MAX_BYTES {
            ParameterTier::Advanced
        } else {
            ParameterTier::Standard
        };
        self.client
            .put_parameter()
            .name(&name)
            .value(value)
            .r#type(ParameterType::String)
            .tier(tier)
            .overwrite(true)
            .send()
            .await
            .map_err(|e| WatermarkError::Ssm {
                name,
                source: AwsError::from_sdk("PutParameter", e),
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(secs).unwrap()
    }

    #[test]
    fn remembers_published_findings_until_no_rescan_can_meet_them() {
        let mut state = WatermarkState::default();
        state.mark_published("secret.denied-read|e1", at(1_000));
        state.mark_published("secret.denied-read|e2", at(2_000));
        assert!(state.is_published("secret.denied-read|e1"));
        assert!(!state.is_published("secret.denied-read|e3"));
        state.advance(at(3_000), at(1_500));
        assert!(
            !state.is_published("secret.denied-read|e1"),
            "older than any rescan"
        );
        assert!(state.is_published("secret.denied-read|e2"));
        assert_eq!(state.watermark(), Some(at(3_000)));
    }

    #[test]
    fn the_watermark_never_moves_backwards() {
        let mut state = WatermarkState::default();
        state.advance(at(5_000), at(0));
        state.advance(at(4_000), at(0));
        assert_eq!(state.watermark(), Some(at(5_000)));
    }

    #[test]
    fn round_trips_and_sheds_the_oldest_keys_when_over_the_parameter_limit() {
        let mut state = WatermarkState::default();
        state.advance(at(9_000), at(0));
        for i in 0..1_000 {
            state.mark_published(&format!("k{i}"), at(i));
        }
        let (text, dropped) = state.to_value();
        assert!(text.len() <= ADVANCED_MAX_BYTES, "{}", text.len());
        assert!(dropped > 0);
        let back: WatermarkState = serde_json::from_str(&text).unwrap();
        assert!(back.is_published("k999"), "newest kept");
        assert!(!back.is_published("k0"), "oldest shed");
        assert_eq!(back.watermark(), Some(at(9_000)));
    }
}
