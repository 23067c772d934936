//! Rotation health from gathered state: the runbook's verification list.

use serde_json::json;
use snowkey_shared::audit::Finding;
use snowkey_shared::audit::health::*;
use time::macros::datetime;

const NOW: time::OffsetDateTime = datetime!(2026-11-25 12:00 UTC);

fn healthy() -> serde_json::Value {
    json!({
        "name": "snowflake/svc_dlt",
        "rotation_enabled": true,
        "last_rotated": "2026-11-01T03:00:00Z",
        "versions": [
            {"version_id": "v2", "stages": ["AWSCURRENT"], "created": "2026-11-01T03:00:00Z", "fingerprint": "SHA256:current"},
            {"version_id": "v1", "stages": ["AWSPREVIOUS"], "created": "2026-08-01T03:00:00Z", "fingerprint": "SHA256:previous"}
        ],
        "snowflake": {"user": "SVC_DLT", "slot_1": null, "slot_2": "SHA256:current"}
    })
}

fn eval(state: serde_json::Value, config: &HealthConfig) -> Vec<Finding> {
    let state: SecretState = serde_json::from_value(state).unwrap();
    evaluate(&[state], config, NOW)
}

fn rules(f: &[Finding]) -> Vec<&str> {
    f.iter().map(|f| f.rule.as_str()).collect()
}

#[test]
fn healthy_secret_has_no_findings() {
    assert!(eval(healthy(), &HealthConfig::default()).is_empty());
}

#[test]
fn disabled_rotation_and_old_rotation_are_reported() {
    let mut s = healthy();
    s["rotation_enabled"] = json!(false);
    s["last_rotated"] = json!("2026-08-01T00:00:00Z");
    let f = eval(s, &HealthConfig::default());
    assert_eq!(rules(&f), [ROTATION_DISABLED, ROTATION_OVERDUE]);
    assert!(f[1].title.contains("116 days"), "{}", f[1].title);
    assert_eq!(f[1].resource, "snowflake/svc_dlt");
    let lenient = HealthConfig {
        max_age_days: 180,
        ..HealthConfig::default()
    };
    let mut s = healthy();
    s["last_rotated"] = json!("2026-08-01T00:00:00Z");
    assert!(eval(s, &lenient).is_empty());
}

#[test]
fn pending_left_for_more_than_a_day_is_a_stuck_rotation() {
    let mut s = healthy();
    s["versions"].as_array_mut().unwrap().push(json!({"version_id": "v3", "stages": ["AWSPENDING"], "created": "2026-11-23T12:00:00Z", "fingerprint": "SHA256:pending"}));
    let f = eval(s.clone(), &HealthConfig::default());
    assert_eq!(rules(&f), [PENDING_STUCK]);
    assert_eq!(f[0].context["pending_version"], "v3");
    // Pending for an hour is a rotation in progress; pending on the current version is a finished one.
    s["versions"][2]["created"] = json!("2026-11-25T11:00:00Z");
    assert!(eval(s.clone(), &HealthConfig::default()).is_empty());
    s["versions"][2]["created"] = json!("2026-11-01T03:00:00Z");
    s["versions"][2]["stages"] = json!([]);
    s["versions"][0]["stages"] = json!(["AWSCURRENT", "AWSPENDING"]);
    assert!(eval(s, &HealthConfig::default()).is_empty());
}

#[test]
fn snowflake_not_holding_the_current_key_is_drift() {
    let mut s = healthy();
    s["snowflake"] = json!({"user": "SVC_DLT", "slot_1": "SHA256:previous", "slot_2": null});
    let f = eval(s, &HealthConfig::default());
    assert_eq!(rules(&f), [KEY_DRIFT, UNEXPECTED_SECOND_KEY]);
    assert_eq!(f[0].context["user"], "SVC_DLT");
}

#[test]
fn a_second_key_is_unexpected_unless_grace_mode_keeps_the_previous_one() {
    let mut s = healthy();
    s["snowflake"]["slot_1"] = json!("SHA256:previous");
    assert_eq!(
        rules(&eval(s.clone(), &HealthConfig::default())),
        [UNEXPECTED_SECOND_KEY]
    );
    let grace = HealthConfig {
        keep_previous_key: true,
        ..HealthConfig::default()
    };
    assert!(eval(s.clone(), &grace).is_empty());
    s["snowflake"]["slot_1"] = json!("SHA256:stranger");
    let f = eval(s, &grace);
    assert_eq!(rules(&f), [UNEXPECTED_SECOND_KEY]);
    assert_eq!(f[0].context["fingerprint"], "SHA256:stranger");
}

#[test]
fn findings_repeat_daily_but_not_within_a_day() {
    let mut s = healthy();
    s["rotation_enabled"] = json!(false);
    let state: SecretState = serde_json::from_value(s).unwrap();
    let c = HealthConfig::default();
    let morning = evaluate(std::slice::from_ref(&state), &c, NOW);
    let evening = evaluate(
        std::slice::from_ref(&state),
        &c,
        NOW + time::Duration::hours(8),
    );
    let tomorrow = evaluate(
        std::slice::from_ref(&state),
        &c,
        NOW + time::Duration::days(1),
    );
    assert_eq!(morning[0].dedup_key, evening[0].dedup_key);
    assert_ne!(morning[0].dedup_key, tomorrow[0].dedup_key);
}
