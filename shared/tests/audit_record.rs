//! Reading CloudTrail records from every source, every identity type, and bad input.

mod audit_common;

use std::io::Write;

use audit_common::*;
use serde_json::json;
use snowkey_shared::audit::normalize::{Principal, secret_name};
use snowkey_shared::audit::{
    IdentityKind, RecordStream, SkipReason, parse_eventbridge_event, parse_lookup_event,
    parse_record,
};

fn no_known(_: &str) -> bool {
    false
}

#[test]
fn panther_sample_parses_with_its_space_separated_time_and_sso_issuer() {
    let r = record(&fixture("secretsmanager_get_denied_sso.json"));
    assert_eq!(r.event_id, "dfd6d93a-2ce6-4dbe-8939-86b8ba67c868");
    assert_eq!(r.event_time.unix_timestamp(), 1_729_201_725);
    assert!(r.access_denied());
    let p = Principal::from_identity(&r.user_identity);
    assert_eq!(
        p.id,
        "arn:aws:iam::123123123123:role/aws-reserved/sso.amazonaws.com/us-west-2/AWSReservedSSO_DevAdmin_635426549a280cc6"
    );
    assert_eq!(p.session.as_deref(), Some("evil.genius"));
    assert!(p.is_human());
    assert!(!p.mfa_authenticated);
}

#[test]
fn every_identity_type_parses_to_the_principal_an_allow_list_names() {
    let expected = [
        (IdentityKind::Root, "arn:aws:iam::123456789012:root", true),
        (
            IdentityKind::IamUser,
            "arn:aws:iam::123456789012:user/bob",
            true,
        ),
        (
            IdentityKind::AssumedRole,
            "arn:aws:iam::123456789012:role/service-role/dlt-runner",
            false,
        ),
        (
            IdentityKind::AwsService,
            "secretsmanager.amazonaws.com",
            false,
        ),
        (
            IdentityKind::FederatedUser,
            "arn:aws:sts::123456789012:federated-user/carol",
            true,
        ),
        (IdentityKind::AwsAccount, "account:999988887777", false),
        (
            IdentityKind::IdentityCenterUser,
            "identitycenter:94482488-3041-7026-18f3-be45837cd0e4",
            true,
        ),
        (
            IdentityKind::SamlUser,
            "bdGOnTesti4+ExamplexL/jEvs=/SamlExample",
            true,
        ),
        (
            IdentityKind::WebIdentityUser,
            "accounts.google.com/user-id",
            false,
        ),
        (IdentityKind::Unknown, "someone", false),
    ];
    let records = records_of("identities_get_secret_value.json");
    assert_eq!(records.len(), expected.len());
    for (v, (kind, id, human)) in records.iter().zip(expected) {
        let r = record(v);
        let p = Principal::from_identity(&r.user_identity);
        assert_eq!(p.kind, kind);
        assert_eq!(p.id, id, "{kind:?}");
        assert_eq!(p.is_human(), human, "{kind:?}");
    }
}

#[test]
fn assumed_role_without_session_issuer_falls_back_to_the_role_in_its_arn() {
    let v = tweak(
        fixture("secretsmanager_get_rotation_lambda.json"),
        &[("/userIdentity/sessionContext", json!(null))],
    );
    let p = Principal::from_identity(&record(&v).user_identity);
    assert_eq!(p.id, "arn:aws:iam::123456789012:role/snowkey-rotation");
    assert_eq!(p.session.as_deref(), Some("snowkey-rotation"));
}

#[test]
fn secret_ids_normalise_from_name_partial_arn_and_full_arn() {
    let full = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:snowflake/svc_dlt-AbC123";
    let partial = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:snowflake/svc_dlt";
    assert_eq!(
        secret_name("snowflake/svc_dlt", &no_known).0,
        "snowflake/svc_dlt"
    );
    assert_eq!(secret_name(full, &no_known).0, "snowflake/svc_dlt");
    assert_eq!(secret_name(partial, &no_known).0, "snowflake/svc_dlt");
    // A name that itself ends like a suffix is kept whole when the caller knows it.
    let tricky = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:snowflake/svc-abc123";
    assert_eq!(
        secret_name(tricky, &|n| n == "snowflake/svc-abc123").0,
        "snowflake/svc-abc123"
    );
    assert_eq!(secret_name(tricky, &no_known).0, "snowflake/svc");
}

#[test]
fn lookup_events_string_and_eventbridge_envelope_give_the_same_record() {
    let inner = fixture("eventbridge_get_secret_value.json")["detail"].to_string();
    let from_lookup = parse_lookup_event(&inner).unwrap();
    let from_bus = parse_eventbridge_event(
        fixture("eventbridge_get_secret_value.json")
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(from_lookup.event_id, from_bus.event_id);
    assert_eq!(from_bus.event_name, "GetSecretValue");
    assert_eq!(
        from_bus.vpc_endpoint_id.as_deref(),
        Some("vpce-0a1b2c3d4e5f67890")
    );

    let other = json!({"detail-type": "EC2 Instance State-change Notification", "detail": {"state": "running"}});
    assert_eq!(
        parse_eventbridge_event(other.to_string().as_bytes())
            .unwrap_err()
            .reason,
        SkipReason::NotCloudTrail
    );
}

#[test]
fn session_token_is_never_read_into_the_model() {
    let r = record(&fixture("sts_assumerole_iamuser_cross_account.json"));
    assert!(!format!("{r:?}").contains("FwoGZXIvYXdzEXAMPLESESSIONTOKENDONOTLEAK"));
    assert_eq!(
        r.params().unwrap().serial_number.as_deref(),
        Some("arn:aws:iam::777788889999:mfa")
    );
}

#[test]
fn bad_records_are_rejected_with_a_reason() {
    let good = fixture("secretsmanager_get_rotation_lambda.json");
    assert_eq!(
        parse_record(b"{not json").unwrap_err().reason,
        SkipReason::Malformed
    );
    let missing = tweak(good.clone(), &[("/eventID", json!(null))]);
    assert_eq!(
        parse_record(missing.to_string().as_bytes())
            .unwrap_err()
            .reason,
        SkipReason::Malformed
    );
    let no_identity = tweak(good.clone(), &[("/userIdentity", json!(null))]);
    assert_eq!(
        parse_record(no_identity.to_string().as_bytes())
            .unwrap_err()
            .reason,
        SkipReason::Malformed
    );
    let martian = tweak(good.clone(), &[("/userIdentity/type", json!("Martian"))]);
    let err = parse_record(martian.to_string().as_bytes()).unwrap_err();
    assert_eq!(err.reason, SkipReason::UnknownIdentityType);
    // Optional fields may be missing or odd.
    let sparse = tweak(
        good,
        &[
            ("/requestParameters", json!(null)),
            ("/sourceIPAddress", json!(null)),
            ("/userAgent", json!(null)),
            ("/sessionCredentialFromConsole", json!(42)),
            ("/brandNewField", json!({"x": 1})),
        ],
    );
    let r = parse_record(sparse.to_string().as_bytes()).unwrap();
    assert!(r.request_parameters.is_none() && r.source_ip_address.is_none());
}

/// An S3 log file with good records between a malformed one, one missing fields, an unknown
/// identity type and a record over 1 MB.
fn hostile_log() -> (Vec<u8>, usize) {
    let good: Vec<_> = records_of("identities_get_secret_value.json");
    let base = fixture("secretsmanager_get_rotation_lambda.json");
    let oversize = tweak(
        base.clone(),
        &[("/padding", json!("x{}[]\"".repeat(300_000)))],
    );
    let mut out = String::from("{\"Records\":[");
    let mut parts: Vec<String> = good.iter().map(|v| v.to_string()).collect();
    parts.insert(2, "{\"eventID\": 12, \"eventName\": }".to_string());
    parts.insert(
        4,
        tweak(base.clone(), &[("/eventName", json!(null))]).to_string(),
    );
    parts.insert(
        6,
        tweak(base.clone(), &[("/userIdentity/type", json!("Martian"))]).to_string(),
    );
    parts.insert(8, oversize.to_string());
    out.push_str(&parts.join(",\n"));
    out.push_str("]}");
    (out.into_bytes(), good.len())
}

#[test]
fn s3_log_stream_skips_and_counts_bad_records_plain_and_gzip() {
    let (plain, good) = hostile_log();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&plain).unwrap();
    let gz = gz.finish().unwrap();
    for bytes in [plain, gz] {
        let mut stream = RecordStream::open(std::io::Cursor::new(bytes)).unwrap();
        let ids: Vec<String> = stream.by_ref().map(|r| r.unwrap().event_id).collect();
        assert_eq!(ids.len(), good);
        assert_eq!(ids[0], "id-Root-00");
        let skipped = stream.skipped();
        assert_eq!(
            (
                skipped.malformed,
                skipped.unknown_identity_type,
                skipped.oversize
            ),
            (2, 1, 1)
        );
        assert_eq!(stream.records(), good as u64);
    }
}

#[test]
fn stream_reads_lookup_events_responses_arrays_and_json_lines() {
    let detail = fixture("eventbridge_get_secret_value.json")["detail"].clone();
    let lookup = json!({"Events": [{"EventId": "x", "EventName": "GetSecretValue", "CloudTrailEvent": detail.to_string()}], "NextToken": "t"});
    let array = json!([detail, fixture("eventbridge_get_secret_value.json")]);
    let lines = format!(
        "{}\n{}\n",
        detail,
        fixture("sts_assumerole_awsservice_lambda.json")
    );
    for (bytes, n) in [(lookup.to_string(), 1), (array.to_string(), 2), (lines, 2)] {
        let stream = RecordStream::open(std::io::Cursor::new(bytes.into_bytes())).unwrap();
        let records: Vec<_> = stream.map(|r| r.unwrap()).collect();
        assert_eq!(records.len(), n);
        assert_eq!(records[0].event_id, "a1b2c3d4-0000-4000-8000-000000000004");
    }
}

#[test]
fn truncated_file_ends_the_stream_without_panicking() {
    let (plain, _) = hostile_log();
    let cut = plain[..plain.len() / 3].to_vec();
    let mut stream = RecordStream::open(std::io::Cursor::new(cut)).unwrap();
    let n = stream.by_ref().filter_map(Result::ok).count();
    assert!(n >= 2);
    assert!(stream.skipped().total() >= 1);
}
