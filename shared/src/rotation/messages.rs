//! The "rotated" and "rotation failed" notifications. Built only from fingerprints, names and error
//! messages, none of which carry key material.

use crate::notify::{Notification, Severity};

use super::RotationError;
use super::finish::FinishReport;

pub const EVENT_ROTATED: &str = "snowkey.rotation.rotated";
pub const EVENT_FAILED: &str = "snowkey.rotation.failed";

pub fn rotated(secret: &str, report: &FinishReport) -> Notification {
    let mut n = Notification::new(
        Severity::Info,
        EVENT_ROTATED,
        format!("Rotated the key of {}", report.user),
    );
    n.description = format!(
        "Secret `{secret}`: user *{}* on account `{}`: {}. {}.",
        report.user,
        report.account,
        report.stage_summary(),
        report.slots
    );
    n.thread_id = Some(format!("rotation/{secret}"));
    n.summary = Some(format!("{} rotated", report.user));
    n.related_resources = vec![secret.to_string()];
    n.keywords = vec!["snowflake".into(), "key-rotation".into()];
    let context = &mut n.additional_context;
    context.insert("secret".into(), secret.to_string());
    context.insert("user".into(), report.user.clone());
    context.insert("account".into(), report.account.clone());
    context.insert("new_fingerprint".into(), report.new_fingerprint.to_string());
    if let Some(old) = &report.old_fingerprint {
        context.insert("old_fingerprint".into(), old.to_string());
    }
    context.insert("slots".into(), report.slots.to_string());
    n.attributes.insert("event".into(), "rotated".into());
    n
}

pub fn failed(secret: &str, step: &str, error: &RotationError) -> Notification {
    let mut n = Notification::new(
        Severity::High,
        EVENT_FAILED,
        format!("Key rotation failed: {secret}"),
    );
    n.description = format!("Step `{step}` of secret `{secret}` failed: {error}");
    n.next_steps = vec![
        "Read the cause above; Secrets Manager retries the rotation, and every step is safe to re-run.".into(),
        "If it keeps failing, fix the cause, then run RotateSecret again.".into(),
    ];
    n.thread_id = Some(format!("rotation/{secret}"));
    n.summary = Some(format!("rotation of {secret} failed in {step}"));
    n.related_resources = vec![secret.to_string()];
    n.keywords = vec!["snowflake".into(), "key-rotation".into(), "failed".into()];
    n.additional_context
        .insert("secret".into(), secret.to_string());
    n.additional_context.insert("step".into(), step.to_string());
    n.attributes
        .insert("event".into(), "rotation-failed".into());
    n
}
