//! One audit run over every region: scan, evaluate, publish, advance.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::{
    AssumeRoleAudit, CloudTrailRecord, DigestLimits, Finding, SecretAccessAudit, SkipCounts,
    digests, parse_lookup_event,
};
use crate::aws::cloudtrail::CloudTrailReader;
use crate::aws::watermark::{WatermarkState, WatermarkStore};
use crate::rotation::Notifier;

/// A rule engine fed one region's records, in any order.
pub trait RecordAudit {
    fn observe(&mut self, record: &CloudTrailRecord);
    fn finish(self) -> Vec<Finding>;
}

impl RecordAudit for SecretAccessAudit {
    fn observe(&mut self, record: &CloudTrailRecord) {
        SecretAccessAudit::observe(self, record)
    }
    fn finish(self) -> Vec<Finding> {
        SecretAccessAudit::finish(self)
    }
}

impl RecordAudit for AssumeRoleAudit {
    fn observe(&mut self, record: &CloudTrailRecord) {
        AssumeRoleAudit::observe(self, record)
    }
    fn finish(self) -> Vec<Finding> {
        AssumeRoleAudit::finish(self)
    }
}

/// What happened in one region; `error` set means the watermark did not move.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RegionReport {
    pub region: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub window_start: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub window_end: Option<OffsetDateTime>,
    pub events_read: u64,
    pub skipped: SkipCounts,
    pub findings: usize,
    pub already_published: usize,
    pub published: usize,
    pub messages: usize,
    pub watermark_advanced: bool,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RunReport {
    pub regions: Vec<RegionReport>,
}

impl RunReport {
    pub fn failed_regions(&self) -> Vec<&RegionReport> {
        self.regions.iter().filter(|r| r.error.is_some()).collect()
    }
}

/// Runs one audit in every region of `reader`. A region's failure is reported and does not stop the
/// others; the caller turns failed regions into a failed invocation.
#[allow(clippy::too_many_arguments)]
pub async fn run_cloudtrail_audit<A: RecordAudit>(
    reader: &CloudTrailReader,
    regions: &[String],
    event_names: &[&str],
    watermarks: &WatermarkStore,
    notifier: &impl Notifier,
    overlap: Duration,
    first_lookback: Duration,
    now: OffsetDateTime,
    new_audit: impl Fn() -> A,
) -> RunReport {
    let mut report = RunReport::default();
    for region in regions {
        let mut region_report = RegionReport {
            region: region.clone(),
            ..RegionReport::default()
        };
        let outcome = audit_region(
            reader,
            region,
            event_names,
            watermarks,
            notifier,
            (overlap, first_lookback, now),
            new_audit(),
            &mut region_report,
        )
        .await;
        if let Err(error) = outcome {
            tracing::error!(region, %error, "audit run incomplete; the watermark stays, the next run retries");
            region_report.error = Some(error);
        }
        tracing::info!(
            region,
            events = region_report.events_read,
            skipped = region_report.skipped.total(),
            malformed = region_report.skipped.malformed,
            findings = region_report.findings,
            published = region_report.published,
            already_published = region_report.already_published,
            "audit region done"
        );
        report.regions.push(region_report);
    }
    report
}

#[allow(clippy::too_many_arguments)]
async fn audit_region<A: RecordAudit>(
    reader: &CloudTrailReader,
    region: &str,
    event_names: &[&str],
    watermarks: &WatermarkStore,
    notifier: &impl Notifier,
    (overlap, first_lookback, now): (Duration, Duration, OffsetDateTime),
    mut audit: A,
    report: &mut RegionReport,
) -> Result<(), String> {
    let mut state = watermarks.load(region).await.map_err(|e| e.to_string())?;
    let start = match state.watermark() {
        Some(watermark) => watermark - overlap,
        None => now - first_lookback,
    };
    report.window_start = Some(start);
    report.window_end = Some(now);

    let mut scan_error = None;
    for name in event_names {
        let read = reader.for_each_event(region, name, start, now, |event| match parse_lookup_event(&event.cloudtrail_event) {
            Ok(record) => audit.observe(&record),
            Err(skip) => {
                tracing::warn!(region, event_id = %event.event_id, reason = skip.reason.as_str(), "skipped a CloudTrail record");
                report.skipped.add(skip.reason);
            }
        });
        match read.await {
            Ok(count) => report.events_read += count,
            Err(e) => {
                // Keep what was read: its findings are published now and not again; the rest waits for
                // the next run, which rescans from the unchanged watermark.
                scan_error = Some(e.to_string());
                break;
            }
        }
    }

    let findings = audit.finish();
    report.findings = findings.len();
    let publish_error = publish_new(&findings, &mut state, notifier, report).await;

    let complete = scan_error.is_none() && publish_error.is_none();
    if complete {
        // Keys stay while the next rescan (from now - overlap) could meet them again, with a margin.
        state.advance(now, now - overlap * 2);
        report.watermark_advanced = true;
    }
    if complete || report.published > 0 {
        watermarks
            .save(region, &state)
            .await
            .map_err(|e| e.to_string())?;
    }
    match (scan_error, publish_error) {
        (None, None) => Ok(()),
        (Some(e), _) | (None, Some(e)) => Err(e),
    }
}

/// Publishes findings not already in `state`, digest by digest, marking each digest as soon as SNS took
/// it. Stops at the first failure and returns it.
pub(super) async fn publish_new(
    findings: &[Finding],
    state: &mut WatermarkState,
    notifier: &impl Notifier,
    report: &mut RegionReport,
) -> Option<String> {
    let mut seen = std::collections::HashSet::new();
    let fresh: Vec<Finding> = findings
        .iter()
        .filter(|f| !state.is_published(&f.dedup_key) && seen.insert(f.dedup_key.clone()))
        .cloned()
        .collect();
    report.already_published = findings.len() - fresh.len();
    let times: HashMap<&str, OffsetDateTime> = fresh
        .iter()
        .map(|f| (f.dedup_key.as_str(), f.time))
        .collect();
    for digest in digests(&fresh, DigestLimits::default()) {
        if let Err(e) = notifier.publish(&digest.notification).await {
            return Some(format!("publishing findings failed: {e}"));
        }
        for key in &digest.dedup_keys {
            state.mark_published(
                key,
                times
                    .get(key.as_str())
                    .copied()
                    .unwrap_or_else(OffsetDateTime::now_utc),
            );
        }
        report.published += digest.dedup_keys.len();
        report.messages += 1;
    }
    None
}
