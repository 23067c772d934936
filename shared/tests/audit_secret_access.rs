//! Secret-access rules: each fires on the event it is about and stays silent on allowed reads.

mod audit_common;

use std::collections::{BTreeMap, HashMap};

use audit_common::*;
use serde_json::{Value, json};
use snowkey_shared::audit::secret_access::*;
use snowkey_shared::audit::{AuditConfig, AuditConfigError, Finding};
use snowkey_shared::notify::Severity;

const ROTATION: &str = "arn:aws:iam::123456789012:role/snowkey-rotation";
const DLT: &str = "arn:aws:iam::123456789012:role/dlt-runner";

fn config() -> SecretAccessConfig {
    serde_json::from_value(json!({
        "name_prefixes": ["snowflake/"],
        "tags": {"snowkey:managed": "*"},
        "readers": {"snowflake/svc_dlt": [DLT], "snowflake/svc_dbt*": ["arn:aws:iam::123456789012:role/dbt-*"]},
        "rotation_roles": [ROTATION],
        "trusted_cidrs": ["203.0.113.0/24"],
        "bulk_threshold": 3,
        "bulk_window_minutes": 10
    }))
    .unwrap()
}

fn run_with(config: SecretAccessConfig, events: &[Value]) -> Vec<Finding> {
    let mut tags = HashMap::new();
    tags.insert(
        "legacy/warehouse-key".to_string(),
        BTreeMap::from([("snowkey:managed".to_string(), "true".to_string())]),
    );
    let mut audit = SecretAccessAudit::new(config)
        .unwrap()
        .with_secret_tags(tags);
    for e in events {
        audit.observe(&record(e));
    }
    audit.finish()
}

fn run(events: &[Value]) -> Vec<Finding> {
    run_with(config(), events)
}

fn rules(findings: &[Finding]) -> Vec<&str> {
    let mut r: Vec<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
    r.sort();
    r
}

fn rotation_read() -> Value {
    fixture("secretsmanager_get_rotation_lambda.json")
}

/// The rotation function's read, re-issued by another principal.
fn read_by(identity: Value) -> Value {
    tweak(rotation_read(), &[("/userIdentity", identity)])
}

fn dlt_identity() -> Value {
    records_of("identities_get_secret_value.json")[2]["userIdentity"].clone()
}

#[test]
fn rotation_function_and_allow_listed_role_and_aws_service_reads_are_silent() {
    let service = records_of("identities_get_secret_value.json")[3].clone();
    assert!(run(&[rotation_read(), read_by(dlt_identity()), service]).is_empty());
}

#[test]
fn reader_not_on_the_allow_list_is_reported_against_the_issuing_role() {
    let other = tweak(
        dlt_identity(),
        &[(
            "/sessionContext/sessionIssuer/arn",
            json!("arn:aws:iam::123456789012:role/analytics"),
        )],
    );
    let f = run(&[read_by(other)]);
    assert_eq!(rules(&f), [UNEXPECTED_READER]);
    assert_eq!(f[0].principal, "arn:aws:iam::123456789012:role/analytics");
    assert_eq!(f[0].resource, "snowflake/svc_dlt");
    assert_eq!(f[0].severity, Severity::High);
    assert_eq!(f[0].event_ids, ["a1b2c3d4-0000-4000-8000-000000000001"]);
    assert_eq!(f[0].region.as_deref(), Some("eu-west-1"));
    assert_eq!(f[0].context["session"], "i-0abc123");
}

#[test]
fn allow_list_is_per_secret() {
    // dlt-runner may read svc_dlt but not svc_dbt.
    let dbt = tweak(
        read_by(dlt_identity()),
        &[("/requestParameters/secretId", json!("snowflake/svc_dbt"))],
    );
    assert_eq!(rules(&run(&[dbt])), [UNEXPECTED_READER]);
}

#[test]
fn unwatched_secrets_are_ignored_and_tagged_secrets_are_watched() {
    let other = tweak(
        dlt_identity(),
        &[(
            "/sessionContext/sessionIssuer/arn",
            json!("arn:aws:iam::123456789012:role/analytics"),
        )],
    );
    let unwatched = tweak(
        read_by(other.clone()),
        &[("/requestParameters/secretId", json!("app/db-password"))],
    );
    assert!(run(&[unwatched]).is_empty());
    let tagged = tweak(
        read_by(other),
        &[(
            "/requestParameters/secretId",
            json!(
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:legacy/warehouse-key-Q1w2E3"
            ),
        )],
    );
    let f = run(&[tagged]);
    assert_eq!(rules(&f), [UNEXPECTED_READER]);
    assert_eq!(f[0].resource, "legacy/warehouse-key");
}

#[test]
fn denied_read_from_the_panther_sample_fires_with_sso_human_and_off_network() {
    let mut c = config();
    c.name_prefixes.push("stratus-red-team-".into());
    let f = run_with(c, &[fixture("secretsmanager_get_denied_sso.json")]);
    // Denied, from a public IP without a VPC endpoint; a denied read is not a human *reading*.
    assert_eq!(rules(&f), [DENIED_READ, OFF_NETWORK_READ]);
    let denied = f.iter().find(|f| f.rule == DENIED_READ).unwrap();
    assert_eq!(denied.resource, "stratus-red-team-retrieve-secret-3");
    assert_eq!(denied.context["error_code"], "AccessDenied");
    assert_eq!(denied.account.as_deref(), Some("123123123123"));
}

#[test]
fn denied_read_by_the_rotation_role_is_still_reported() {
    let denied = tweak(
        rotation_read(),
        &[("/errorCode", json!("AccessDeniedException"))],
    );
    assert_eq!(rules(&run(&[denied])), [DENIED_READ]);
}

#[test]
fn human_identities_reading_a_service_credential_are_reported() {
    let ids = records_of("identities_get_secret_value.json");
    let sso = fixture("secretsmanager_get_denied_sso.json")["userIdentity"].clone();
    let humans = [
        ids[0]["userIdentity"].clone(),
        ids[1]["userIdentity"].clone(),
        ids[4]["userIdentity"].clone(),
        sso,
    ];
    for identity in humans {
        let f = run(&[read_by(identity.clone())]);
        assert!(rules(&f).contains(&HUMAN_READER), "{identity}");
    }
    // A workload role from a browser or a console session counts as a person too.
    let browser = tweak(
        read_by(dlt_identity()),
        &[(
            "/userAgent",
            json!("Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0"),
        )],
    );
    let console = tweak(
        read_by(dlt_identity()),
        &[("/sessionCredentialFromConsole", json!("true"))],
    );
    assert_eq!(rules(&run(&[browser])), [HUMAN_READER]);
    assert_eq!(rules(&run(&[console])), [HUMAN_READER]);
}

#[test]
fn human_allowed_and_disabled_rule_are_silent() {
    let bob = records_of("identities_get_secret_value.json")[1]["userIdentity"].clone();
    let mut c = config();
    c.human_allowed
        .push(snowkey_shared::audit::normalize::Pattern::new(
            "arn:aws:iam::123456789012:user/bob",
        ));
    c.rules =
        serde_json::from_value(json!({"secret.unexpected-reader": {"enabled": false}})).unwrap();
    assert!(run_with(c, &[read_by(bob)]).is_empty());
}

#[test]
fn off_network_reads_fire_only_for_public_untrusted_sources() {
    let no_vpce = |ip: &str| {
        tweak(
            read_by(dlt_identity()),
            &[
                ("/vpcEndpointId", json!(null)),
                ("/sourceIPAddress", json!(ip)),
            ],
        )
    };
    assert_eq!(rules(&run(&[no_vpce("198.51.100.7")])), [OFF_NETWORK_READ]);
    assert!(run(&[no_vpce("203.0.113.40")]).is_empty(), "trusted CIDR");
    assert!(run(&[no_vpce("10.1.2.3")]).is_empty(), "private address");
    assert!(
        run(&[no_vpce("lambda.amazonaws.com")]).is_empty(),
        "AWS service hostname"
    );
    assert!(run(&[no_vpce("AWS Internal")]).is_empty());
    let f = run(&[no_vpce("2001:db8::1")]);
    assert_eq!(rules(&f), [OFF_NETWORK_READ]);
    assert_eq!(f[0].severity, Severity::Medium);
}

fn read_at(secret: &str, minute: u32, id: &str) -> Value {
    tweak(
        read_by(dlt_identity()),
        &[
            ("/requestParameters/secretId", json!(secret)),
            (
                "/eventTime",
                json!(format!("2024-05-02T10:{minute:02}:00Z")),
            ),
            ("/eventID", json!(id)),
        ],
    )
}

#[test]
fn bulk_reads_fire_at_the_threshold_within_the_window_in_any_order() {
    let mut c = config();
    c.readers.insert(
        "snowflake/*".into(),
        vec![snowkey_shared::audit::normalize::Pattern::new(DLT)],
    );
    // Three distinct secrets within 10 minutes, straddling a bucket boundary, newest first.
    let burst = [
        read_at("snowflake/c", 12, "e3"),
        read_at("snowflake/b", 9, "e2"),
        read_at("snowflake/a", 5, "e1"),
        read_at("snowflake/a", 6, "e1b"),
    ];
    let f = run_with(c.clone(), &burst);
    assert_eq!(rules(&f), [BULK_READ]);
    assert_eq!(f[0].resource, "snowflake/a, snowflake/b, snowflake/c");
    assert_eq!(
        f[0].principal,
        "arn:aws:iam::123456789012:role/service-role/dlt-runner"
    );
    assert_eq!(f[0].context["distinct_secrets"], "3");
    // The same three spread over more than the window, or repeated reads of two, are silent.
    let spread = [
        read_at("snowflake/a", 1, "s1"),
        read_at("snowflake/b", 8, "s2"),
        read_at("snowflake/c", 12, "s3"),
    ];
    assert!(run_with(c.clone(), &spread).is_empty());
    let repeated = [
        read_at("snowflake/a", 1, "r1"),
        read_at("snowflake/b", 2, "r2"),
        read_at("snowflake/a", 3, "r3"),
    ];
    assert!(run_with(c, &repeated).is_empty());
}

#[test]
fn batch_reads_count_each_watched_secret() {
    let f = run(&[fixture("secretsmanager_batch_get.json")]);
    let bulk: Vec<_> = f.iter().filter(|f| f.rule == BULK_READ).collect();
    assert_eq!(bulk.len(), 1);
    assert_eq!(
        bulk[0].resource,
        "snowflake/svc_airbyte, snowflake/svc_dbt, snowflake/svc_dlt"
    );
    // ci-deployer is on no allow-list: one finding per watched secret, none for app/unrelated.
    assert_eq!(f.iter().filter(|f| f.rule == UNEXPECTED_READER).count(), 3);
}

#[test]
fn batch_read_by_filter_is_judged_without_secret_names() {
    let by_filter = tweak(
        fixture("secretsmanager_batch_get.json"),
        &[(
            "/requestParameters",
            json!({"filters": [{"key": "tag-key", "values": ["!production"]}]}),
        )],
    );
    let f = run(&[by_filter]);
    assert_eq!(rules(&f), [UNEXPECTED_READER]);
    assert_eq!(f[0].resource, "(BatchGetSecretValue by filter)");
}

#[test]
fn changes_by_anyone_but_the_rotation_role_are_reported() {
    let console_put = fixture("secretsmanager_put_secret_value_console.json");
    let f = run(std::slice::from_ref(&console_put));
    assert_eq!(rules(&f), [UNEXPECTED_CHANGE]);
    assert_eq!(f[0].severity, Severity::Critical);
    assert_eq!(f[0].principal, "arn:aws:iam::123456789012:user/alice");
    for name in [
        "UpdateSecretVersionStage",
        "DeleteSecret",
        "PutResourcePolicy",
        "CancelRotateSecret",
    ] {
        let e = tweak(console_put.clone(), &[("/eventName", json!(name))]);
        assert_eq!(rules(&run(&[e])), [UNEXPECTED_CHANGE], "{name}");
    }
    let rotation_identity = rotation_read()["userIdentity"].clone();
    let by_rotation = tweak(console_put.clone(), &[("/userIdentity", rotation_identity)]);
    let by_service = tweak(
        console_put,
        &[(
            "/userIdentity",
            json!({"type": "AWSService", "invokedBy": "secretsmanager.amazonaws.com"}),
        )],
    );
    assert!(run(&[by_rotation, by_service]).is_empty());
}

#[test]
fn same_event_gives_the_same_dedup_key_across_runs() {
    let e = read_by(records_of("identities_get_secret_value.json")[1]["userIdentity"].clone());
    let a = run(std::slice::from_ref(&e));
    let b = run(&[e.clone(), e]);
    assert_eq!(a[0].dedup_key, b[0].dedup_key);
    assert_eq!(
        b.iter()
            .map(|f| &f.dedup_key)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        a.len()
    );
}

#[test]
fn config_errors_are_named() {
    let bad_cidr = AuditConfig::from_json(
        r#"{"secret_access": {"name_prefixes": ["s/"], "trusted_cidrs": ["10.0.0.0/33"]}}"#,
    );
    assert_eq!(
        bad_cidr.unwrap_err(),
        AuditConfigError::BadCidr("10.0.0.0/33".into())
    );
    let typo = AuditConfig::from_json(
        r#"{"assume_role": {"rules": {"role.chainng": {"enabled": false}}}}"#,
    );
    assert_eq!(
        typo.unwrap_err(),
        AuditConfigError::UnknownRule("role.chainng".into())
    );
    assert!(matches!(
        AuditConfig::from_json(r#"{"secret_acess": {}}"#),
        Err(AuditConfigError::Json(_))
    ));
    assert!(matches!(
        SecretAccessAudit::new(SecretAccessConfig::default()),
        Err(AuditConfigError::NothingWatched)
    ));
}

#[test]
fn bulk_reads_are_found_the_same_in_long_streams_oldest_or_newest_first() {
    let mut c = config();
    c.readers.insert(
        "snowflake/*".into(),
        vec![snowkey_shared::audit::normalize::Pattern::new(DLT)],
    );
    let at = |secret: &str, t: i64, id: String| {
        let time = time::OffsetDateTime::from_unix_timestamp(t)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        tweak(
            read_by(dlt_identity()),
            &[
                ("/requestParameters/secretId", json!(secret)),
                ("/eventTime", json!(time)),
                ("/eventID", json!(id)),
            ],
        )
    };
    let t0 = 1_780_000_000;
    // Two days of one read every 5 minutes, alternating two secrets; a burst of three others on day 2.
    let mut events: Vec<Value> = (0..576)
        .map(|i| {
            at(
                if i % 2 == 0 {
                    "snowflake/a"
                } else {
                    "snowflake/b"
                },
                t0 + i * 300,
                format!("bg-{i}"),
            )
        })
        .collect();
    events.extend([
        at("snowflake/x", t0 + 100_000, "x".into()),
        at("snowflake/y", t0 + 100_100, "y".into()),
        at("snowflake/z", t0 + 100_200, "z".into()),
    ]);
    events.sort_by_key(|e| e["eventTime"].as_str().unwrap().to_string());
    let ascending = run_with(c.clone(), &events);
    events.reverse();
    let descending = run_with(c, &events);
    for f in [&ascending, &descending] {
        assert_eq!(rules(f), [BULK_READ]);
        assert!(
            f[0].resource
                .contains("snowflake/x, snowflake/y, snowflake/z"),
            "{}",
            f[0].resource
        );
    }
    assert_eq!(ascending[0].dedup_key, descending[0].dedup_key);
}

#[test]
fn a_bad_cidr_is_reported_even_when_nothing_is_watched() {
    let bad = AuditConfig::from_json(r#"{"secret_access": {"trusted_cidrs": ["x"]}}"#);
    assert_eq!(bad.unwrap_err(), AuditConfigError::BadCidr("x".into()));
}
