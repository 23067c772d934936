//! What each function is started with: the environment Lambda and `infra/template.yaml` give it, and
//! one cheap first event that it can answer from the local AWS stub alone.

use serde_json::{Value, json};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

pub struct Scenario {
    pub function: String,
    pub name: &'static str,
    /// What the first event exercises, for the report.
    pub description: &'static str,
    pub event: Value,
    /// Function-specific variables (on top of [`lambda_environment`]).
    pub env: Vec<(&'static str, String)>,
    pub memory_mb: u32,
    /// Whether the cold-start target applies (the rotation function); others are measured.
    pub has_target: bool,
}

/// The function name a binary stands for: its file name, or its directory for a `bootstrap`
/// from `cargo lambda build` (`target/lambda/<name>/bootstrap`).
pub fn function_name(binary: &std::path::Path) -> String {
    let file = binary.file_name().map(|f| f.to_string_lossy().into_owned());
    match file.as_deref() {
        Some("bootstrap") => binary.parent().and_then(|p| p.file_name()).map_or_else(
            || "bootstrap".to_owned(),
            |d| d.to_string_lossy().into_owned(),
        ),
        Some(name) => name.to_owned(),
        None => binary.display().to_string(),
    }
}

/// The scenarios for a function, or none if the bench does not know the function.
pub fn for_function(function: &str) -> Vec<Scenario> {
    let topic = format!("arn:aws:sns:{REGION}:{ACCOUNT}:snowkey-bench");
    let scenario =
        |name, description, event: Value, env: Vec<(&'static str, String)>, memory_mb| Scenario {
            function: function.to_owned(),
            name,
            description,
            event,
            env,
            memory_mb,
            has_target: function == "snowflake-key-rotation",
        };
    match function {
        "snowflake-key-rotation" => {
            let env = vec![
                ("SNOWKEY_TOPIC_ARN", topic),
                ("SNOWKEY_KEY_BITS", "2048".to_owned()),
                (
                    "SNOWKEY_SSM_KMS_KEY_ID",
                    format!(
                        "arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000"
                    ),
                ),
                ("SNOWKEY_SNOWFLAKE_TIMEOUT_SECONDS", "20".to_owned()),
            ];
            vec![
                scenario(
                    "unknown-step",
                    "Step \"bench\" is refused before any Secrets Manager call; \"rotation failed\" goes to SNS",
                    rotation_event("bench"),
                    env.clone(),
                    512,
                ),
                scenario(
                    "secret-not-found",
                    "createSecret: DescribeSecret answers ResourceNotFound; \"rotation failed\" goes to SNS",
                    rotation_event("createSecret"),
                    env,
                    512,
                ),
            ]
        }
        "audit-secret-access" | "audit-assume-role" | "audit-rotation-health" => {
            let mut env = vec![
                ("SNOWKEY_TOPIC_ARN", topic),
                ("SNOWKEY_REGIONS", REGION.to_owned()),
                (
                    "SNOWKEY_WATERMARK_PREFIX",
                    format!("/snowkey/bench/{function}"),
                ),
            ];
            if function != "audit-assume-role" {
                env.push(("SNOWKEY_WATCHED_SECRET_PREFIX", "snowflake/".to_owned()));
            }
            if function == "audit-secret-access" {
                env.push((
                    "SNOWKEY_ROTATION_ROLE_ARN",
                    format!("arn:aws:iam::{ACCOUNT}:role/snowkey-rotation"),
                ));
            }
            let description = if function == "audit-rotation-health" {
                "scheduled run over an empty account: no secrets to check"
            } else {
                "scheduled run over an empty trail: no watermark yet, LookupEvents returns nothing; \
                 CloudTrail pacing (1 LookupEvents/s, the deployed default) dominates the run"
            };
            vec![scenario(
                "empty-account",
                description,
                scheduled_event(),
                env,
                256,
            )]
        }
        _ => Vec::new(),
    }
}

/// Everything Lambda itself sets, pointing the SDK at the local stub with static test credentials.
pub fn lambda_environment(
    scenario: &Scenario,
    runtime_api: std::net::SocketAddr,
    aws_endpoint: std::net::SocketAddr,
) -> Vec<(String, String)> {
    let function = &scenario.function;
    let base = [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", function.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            scenario.memory_mb.to_string(),
        ),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{function}"),
        ),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/11/25/[$LATEST]bench".to_owned(),
        ),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".to_owned()),
        ("AWS_REGION", REGION.to_owned()),
        ("AWS_DEFAULT_REGION", REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE".to_owned()),
        (
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_owned(),
        ),
        ("AWS_SESSION_TOKEN", "bench".to_owned()),
        ("AWS_ENDPOINT_URL", format!("http://{aws_endpoint}")),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("TZ", ":UTC".to_owned()),
        ("PATH", "/usr/local/bin:/usr/bin:/bin".to_owned()),
    ];
    base.into_iter()
        .chain(scenario.env.iter().cloned())
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

pub fn function_arn(function: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}")
}

fn rotation_event(step: &str) -> Value {
    json!({
        "SecretId": format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:snowflake/svc_bench-AbCdEf"),
        "ClientRequestToken": "9f5c1a9e-3b1f-4a4e-9c55-0e3b5d1f2a77",
        "Step": step,
        "RotationToken": "00000000-0000-0000-0000-000000000000"
    })
}

fn scheduled_event() -> Value {
    json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": ACCOUNT,
        "time": "2026-11-25T22:00:00Z",
        "region": REGION,
        "resources": [format!("arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/snowkey-audit")],
        "detail": {}
    })
}
