//! The whole offline path (what `snowkey audit` runs): a gzipped S3 log of every sample, the JSON
//! config, both rule sets, digests.

mod audit_common;

use std::collections::BTreeMap;
use std::io::Write;

use audit_common::fixture_path;
use snowkey_shared::audit::assume_role;
use snowkey_shared::audit::secret_access::*;
use snowkey_shared::audit::{
    AssumeRoleAudit, AuditConfig, DigestLimits, RecordStream, SecretAccessAudit, digests,
};
use snowkey_shared::notify::SNS_MAX_MESSAGE_BYTES;

#[test]
fn sample_log_gives_the_expected_findings_and_digests() {
    let config = AuditConfig::from_json(
        &std::fs::read_to_string(fixture_path("sample_audit_config.json")).unwrap(),
    )
    .unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&std::fs::read(fixture_path("sample_s3_log.json")).unwrap())
        .unwrap();
    let mut stream = RecordStream::open(std::io::Cursor::new(gz.finish().unwrap())).unwrap();
    let mut secrets = SecretAccessAudit::new(config.secret_access).unwrap();
    let mut roles = AssumeRoleAudit::new(config.assume_role).unwrap();
    for r in stream.by_ref() {
        let r = r.unwrap();
        secrets.observe(&r);
        roles.observe(&r);
    }
    assert_eq!((stream.records(), stream.skipped().total()), (19, 0));
    let mut findings = secrets.finish();
    findings.extend(roles.finish());
    let mut by_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &findings {
        *by_rule.entry(f.rule.as_str()).or_default() += 1;
    }
    let expected = BTreeMap::from([
        (BULK_READ, 1),
        (DENIED_READ, 1),
        (HUMAN_READER, 5),
        (OFF_NETWORK_READ, 1),
        (UNEXPECTED_CHANGE, 1),
        (UNEXPECTED_READER, 11),
        (assume_role::HUMAN_WITHOUT_MFA, 1),
        (assume_role::OFF_NETWORK, 1),
        (assume_role::UNEXPECTED_CALLER, 1),
    ]);
    assert_eq!(by_rule, expected);
    let ds = digests(&findings, DigestLimits::default());
    assert_eq!(
        ds.iter().map(|d| d.dedup_keys.len()).sum::<usize>(),
        findings.len()
    );
    assert!(
        ds.iter()
            .all(|d| d.notification.sns_size() <= SNS_MAX_MESSAGE_BYTES)
    );
}
