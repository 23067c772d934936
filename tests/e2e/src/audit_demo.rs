//! The audit half of the demo: the CloudTrail emulator seeded with a few minutes of realistic
//! history around one secret, and the secret-access and assume-role functions run over it with
//! their watermarks in moto SSM and their findings read back through SNS → SQS.

use anyhow::Context;
use cloudtrail_emulator::{Config as EmulatorConfig, Emulator};
use serde_json::{Value, json};
use snowkey_shared::aws::cloudtrail::CloudTrailReader;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Stack;

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
pub const ROTATION_ROLE: &str = "snowkey-rotation";
pub const CONSUMER_ROLE: &str = "dbt-runner";
pub const DEPLOY_ROLE: &str = "ci-deployer";
pub const SENSITIVE_ROLE: &str = "snowflake-admin";
pub const HUMAN_USER: &str = "alice";
/// CloudTrail's own limit, the highest the functions accept: 11 + 3 lookups take ~7 s per run.
pub const LOOKUP_RATE: &str = "2";

/// One published message, as the on-call reader sees it in Slack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedFinding {
    pub severity: String,
    pub rule: String,
    pub principal: String,
    pub resources: Vec<String>,
    pub findings: usize,
}

/// Both functions against one emulator, one watermark prefix and one topic.
pub struct AuditDemo {
    pub emulator: Emulator,
    /// How many CloudTrail records were seeded.
    pub seeded: usize,
    pub topic_arn: String,
    queue_url: String,
    secret_access: audit_secret_access::App,
    assume_role: audit_assume_role::App,
}

impl AuditDemo {
    /// Starts the emulator with [`seed_records`] for `secret_name` and builds both functions as
    /// their cold starts do (CloudTrail pointed at the emulator, the rest at moto).
    pub async fn start(stack: &Stack, secret_name: &str) -> anyhow::Result<AuditDemo> {
        let emulator = Emulator::start(EmulatorConfig::default())
            .await
            .context("starting the CloudTrail emulator")?;
        let records = seed_records(secret_name, OffsetDateTime::now_utc());
        let seeded = records.len();
        emulator.add_records(REGION, records);
        let id = uuid::Uuid::new_v4().simple().to_string();
        let (topic_arn, queue_url) = stack
            .topic_with_queue(&format!("snowkey-audit-{id}"))
            .await?;
        let role = |name: &str| format!("arn:aws:iam::{ACCOUNT}:role/{name}");
        let rules = json!({
            "secret_access": {"readers": {secret_name: [role(CONSUMER_ROLE)]}},
            "assume_role": {
                "sensitive_roles": [format!("*:role/{SENSITIVE_ROLE}")],
                "chain_sources": [role(DEPLOY_ROLE)],
                "callers": {format!("*:role/{SENSITIVE_ROLE}"): [
                    role(DEPLOY_ROLE),
                    format!("arn:aws:iam::{ACCOUNT}:user/{HUMAN_USER}"),
                ]}
            }
        })
        .to_string();
        let env = [
            ("SNOWKEY_TOPIC_ARN", topic_arn.clone()),
            ("SNOWKEY_REGIONS", REGION.to_string()),
            ("SNOWKEY_WATERMARK_PREFIX", format!("/snowkey-demo/{id}")),
            ("SNOWKEY_WATCHED_SECRET_PREFIX", secret_name.to_string()),
            ("SNOWKEY_ROTATION_ROLE_ARN", role(ROTATION_ROLE)),
            ("SNOWKEY_AUDIT_CONFIG", rules),
            (
                "SNOWKEY_LOOKUP_REQUESTS_PER_SECOND",
                LOOKUP_RATE.to_string(),
            ),
        ];
        let lookup = |name: &str| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone());
        // Only CloudTrail goes to the emulator, as `AWS_ENDPOINT_URL_CLOUDTRAIL` would send it.
        let cloudtrail_sdk = stack.sdk.to_builder().endpoint_url(emulator.url()).build();
        let mut secret_access = audit_secret_access::App::new(
            audit_secret_access::Config::from_lookup(&lookup)?,
            &stack.sdk,
        );
        secret_access.reader = CloudTrailReader::new(
            &cloudtrail_sdk,
            &secret_access.config.runner.regions,
            secret_access.config.runner.pacing.clone(),
        );
        let mut assume_role = audit_assume_role::App::new(
            audit_assume_role::Config::from_lookup(&lookup)?,
            &stack.sdk,
        );
        // One pacer for both: CloudTrail's limit is per account and region, not per function.
        assume_role.reader = secret_access.reader.clone();
        Ok(AuditDemo {
            emulator,
            seeded,
            topic_arn,
            queue_url,
            secret_access,
            assume_role,
        })
    }

    /// One scheduled run of each function (one after the other: CloudTrail's limit is per
    /// account and region), then every message they published.
    pub async fn run(&self, stack: &Stack) -> anyhow::Result<Vec<PublishedFinding>> {
        let now = OffsetDateTime::now_utc();
        audit_secret_access::handle(&self.secret_access, now)
            .await
            .context("audit-secret-access")?;
        audit_assume_role::handle(&self.assume_role, now)
            .await
            .context("audit-assume-role")?;
        let mut published = Vec::new();
        for message in stack.drain_queue(&self.queue_url).await? {
            let body: Value = serde_json::from_str(&message.body)?;
            let context = &body["metadata"]["additionalContext"];
            let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
            published.push(PublishedFinding {
                severity: message.severity,
                rule: text(&context["rule"]),
                principal: text(&context["principal"]),
                resources: body["metadata"]["relatedResources"]
                    .as_array()
                    .map(|r| r.iter().map(text).collect())
                    .unwrap_or_default(),
                findings: text(&context["findings"]).parse().unwrap_or(0),
            });
        }
        published.sort_by(|a, b| (&a.rule, &a.principal).cmp(&(&b.rule, &b.principal)));
        Ok(published)
    }
}

/// The last few minutes of one account's history around `secret_name`: the rotation function's
/// own reads and writes and the allow-listed consumer's read (both expected), a human reading the
/// secret, a denied read, and a human assuming the sensitive role without MFA (each a finding),
/// plus the deploy role's expected AssumeRole.
pub fn seed_records(secret_name: &str, now: OffsetDateTime) -> Vec<Value> {
    let at = |age: i64| {
        (now - time::Duration::seconds(age))
            .replace_nanosecond(0)
            .expect("0 is a valid nanosecond")
            .format(&Rfc3339)
            .expect("RFC 3339 formats every UTC time")
    };
    let secret_arn =
        format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{secret_name}-AbCdEf");
    let role_session = |role: &str, session: &str, age: i64| {
        json!({
            "type": "AssumedRole", "principalId": format!("AROAEXAMPLE{role}:{session}"), "accountId": ACCOUNT,
            "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}"), "accessKeyId": "ASIAEXAMPLE",
            "sessionContext": {
                "attributes": {"creationDate": at(age + 60), "mfaAuthenticated": "false"},
                "sessionIssuer": {"type": "Role", "principalId": format!("AROAEXAMPLE{role}"), "accountId": ACCOUNT,
                    "arn": format!("arn:aws:iam::{ACCOUNT}:role/{role}"), "userName": role}
            }
        })
    };
    let human = json!({
        "type": "IAMUser", "principalId": "AIDAEXAMPLEALICE", "accountId": ACCOUNT,
        "arn": format!("arn:aws:iam::{ACCOUNT}:user/{HUMAN_USER}"), "accessKeyId": "AKIAEXAMPLEALICE",
        "userName": HUMAN_USER
    });
    let secret_call = |id: &str, name: &str, identity: Value, age: i64| {
        json!({
            "eventVersion": "1.09", "eventID": id, "eventName": name, "eventTime": at(age),
            "eventSource": "secretsmanager.amazonaws.com", "awsRegion": REGION, "eventType": "AwsApiCall",
            "eventCategory": "Management", "managementEvent": true, "readOnly": name == "GetSecretValue",
            "recipientAccountId": ACCOUNT, "requestID": format!("req-{id}"),
            "requestParameters": {"secretId": secret_arn},
            "responseElements": null, "sourceIPAddress": "10.0.3.7", "vpcEndpointId": "vpce-0a1b2c3d",
            "userAgent": "aws-sdk-rust/1.3.9 os/linux lang/rust/1.94.1",
            "userIdentity": identity
        })
    };
    let assume = |id: &str, identity: Value, age: i64| {
        let target = format!("arn:aws:iam::{ACCOUNT}:role/{SENSITIVE_ROLE}");
        json!({
            "eventVersion": "1.08", "eventID": id, "eventName": "AssumeRole", "eventTime": at(age),
            "eventSource": "sts.amazonaws.com", "awsRegion": REGION, "eventType": "AwsApiCall",
            "eventCategory": "Management", "managementEvent": true, "readOnly": true,
            "recipientAccountId": ACCOUNT, "requestID": format!("req-{id}"),
            "sourceIPAddress": "10.0.8.20", "userAgent": "aws-cli/2.15.30 Python/3.11.8 Linux/6.1",
            "requestParameters": {"roleArn": target, "roleSessionName": "session", "durationSeconds": 3600},
            "responseElements": {"assumedRoleUser": {
                "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{SENSITIVE_ROLE}/session"),
                "assumedRoleId": "AROAEXAMPLEADMIN:session"}},
            "resources": [{"ARN": target, "accountId": ACCOUNT, "type": "AWS::IAM::Role"}],
            "userIdentity": identity
        })
    };
    let mut denied = secret_call(
        "demo-denied-read",
        "GetSecretValue",
        role_session(DEPLOY_ROLE, "deploy", 120),
        120,
    );
    denied["errorCode"] = json!("AccessDenied");
    denied["errorMessage"] = json!(format!(
        "User: arn:aws:sts::{ACCOUNT}:assumed-role/{DEPLOY_ROLE}/deploy is not authorized to perform: \
         secretsmanager:GetSecretValue on resource: {secret_arn}"
    ));
    vec![
        secret_call(
            "demo-rotation-get",
            "GetSecretValue",
            role_session(ROTATION_ROLE, "rotation", 300),
            300,
        ),
        secret_call(
            "demo-rotation-put",
            "PutSecretValue",
            role_session(ROTATION_ROLE, "rotation", 290),
            290,
        ),
        secret_call(
            "demo-consumer-read",
            "GetSecretValue",
            role_session(CONSUMER_ROLE, "nightly", 240),
            240,
        ),
        secret_call("demo-human-read", "GetSecretValue", human.clone(), 180),
        denied,
        assume(
            "demo-deploy-assume",
            role_session(DEPLOY_ROLE, "deploy", 90),
            90,
        ),
        assume("demo-human-assume", human, 60),
    ]
}
