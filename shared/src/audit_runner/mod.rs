//! The run loop of the scheduled CloudTrail audits: for every configured region, read LookupEvents
//! over a window that overlaps the last one, feed the records to a rule engine, publish the findings
//! not yet published, and only then advance that region's watermark.
//!
//! Guarantees (per region): an event is never skipped — the watermark moves only after the whole
//! window was read and every new finding was accepted by SNS; a finding is never published twice
//! while a rescan can still meet it — published dedup keys are saved even when the run fails midway.
//! Real-time EventBridge events go through the same dedup (`realtime`) without moving the watermark.

mod clients;
mod realtime;
mod run;
mod settings;

pub use clients::RunnerClients;
pub use realtime::{
    API_CALL_VIA_CLOUDTRAIL, EventReport, RealTimeError, audit_eventbridge_event, is_api_call_event,
};
pub use run::{RecordAudit, RegionReport, RunReport, run_cloudtrail_audit};
pub use settings::{
    ConfigError, ENV_AUDIT_CONFIG, RunnerSettings, SettingsError, read_audit_config,
};
