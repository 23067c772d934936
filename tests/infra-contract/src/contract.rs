//! The checks. Each returns readable violations; an empty list means the contract holds.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::scan;
use crate::template::{self, FunctionSpec, Statement};
use crate::workspace::{Member, Workspace, rust_sources};

/// When an action no SDK call makes may still be granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Always: the Lambda service acts as the function's role.
    Always,
    /// The function has a dead-letter queue or on-failure destination.
    DeadLetterQueue,
    /// The function is attached to a VPC.
    Vpc,
    /// The statement restricts the key to use through a service (`kms:ViaService`).
    KmsViaService,
}

/// Actions the platform performs as the function's role, not the function's code.
pub const PLATFORM_ACTIONS: &[(&str, Needs, &str)] = &[
    (
        "logs:CreateLogStream",
        Needs::Always,
        "Lambda writes the function's logs as its role",
    ),
    (
        "logs:PutLogEvents",
        Needs::Always,
        "Lambda writes the function's logs as its role",
    ),
    (
        "sqs:SendMessage",
        Needs::DeadLetterQueue,
        "Lambda sends failed asynchronous events to the queue as the role",
    ),
    (
        "kms:Decrypt",
        Needs::KmsViaService,
        "Secrets Manager, SNS, SQS, SSM decrypt with the stack key as the caller",
    ),
    (
        "kms:GenerateDataKey",
        Needs::KmsViaService,
        "SNS, SQS, Secrets Manager encrypt with the stack key as the caller",
    ),
    (
        "kms:Encrypt",
        Needs::KmsViaService,
        "Parameter Store encrypts a standard SecureString as the caller",
    ),
    (
        "ec2:CreateNetworkInterface",
        Needs::Vpc,
        "Lambda attaches a VPC function's interfaces as its role",
    ),
    (
        "ec2:DescribeNetworkInterfaces",
        Needs::Vpc,
        "Lambda attaches a VPC function's interfaces as its role",
    ),
    (
        "ec2:DeleteNetworkInterface",
        Needs::Vpc,
        "Lambda attaches a VPC function's interfaces as its role",
    ),
    (
        "ec2:AssignPrivateIpAddresses",
        Needs::Vpc,
        "Lambda attaches a VPC function's interfaces as its role",
    ),
    (
        "ec2:UnassignPrivateIpAddresses",
        Needs::Vpc,
        "Lambda attaches a VPC function's interfaces as its role",
    ),
];

/// Actions that accept no narrower resource than `"*"` (IAM service authorization reference).
pub const RESOURCELESS_ACTIONS: &[&str] = &[
    "cloudtrail:LookupEvents",
    "secretsmanager:GetRandomPassword",
    "secretsmanager:ListSecrets",
    "ec2:DescribeNetworkInterfaces",
];

/// What a function's code reads and calls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionCode {
    pub env: BTreeSet<String>,
    pub actions: BTreeSet<String>,
}

/// Scans a function crate and the `shared` code it reaches.
pub fn function_code(ws: &Workspace, member: &Member) -> FunctionCode {
    let own: Vec<String> = rust_sources(&member.dir.join("src"))
        .iter()
        .map(|(_, text)| scan::production_code(text))
        .collect();
    let seed = own.join("\n");
    let mut code = FunctionCode {
        env: scan::env_names(&seed),
        actions: BTreeSet::new(),
    };
    for text in &own {
        code.actions
            .extend(scan::sdk_actions(text, &ws.sdk_operations));
    }
    let shared_chunks: Vec<scan::Chunk> = ws
        .members
        .iter()
        .filter(|m| m.name == "snowkey-shared")
        .flat_map(|m| rust_sources(&m.dir.join("src")))
        .flat_map(|(path, text)| scan::chunks(&module_name(&path), &text))
        .collect();
    let reached = scan::reachable(&seed, &shared_chunks);
    code.actions
        .extend(scan::chunk_actions(&reached, &ws.sdk_operations));
    // Settings shared by several functions (e.g. the audit runner's) declare their variables in
    // `shared`; one counts when reached code reads its constant, not merely when its file is reached.
    let uses: BTreeSet<String> = reached
        .iter()
        .map(|c| c.text.as_str())
        .chain([seed.as_str()])
        .flat_map(scan::env_uses)
        .collect();
    let shared_env = reached.iter().flat_map(|c| scan::env_constants(&c.text));
    code.env.extend(
        shared_env
            .filter(|(ident, _)| uses.contains(ident))
            .map(|(_, name)| name),
    );
    code
}

/// `aws/kms.rs` → `kms`, `aws/mod.rs` → `aws`; the crate root has no name of its own.
fn module_name(path: &std::path::Path) -> String {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    match stem {
        "mod" => path
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string(),
        "lib" | "main" => String::new(),
        _ => stem.to_string(),
    }
}

/// Every function is built by cargo-lambda from a binary of this workspace, and every binary under
/// `functions/` is deployed.
pub fn check_binaries(functions: &[FunctionSpec], ws: &Workspace) -> Vec<String> {
    let mut problems = Vec::new();
    for f in functions {
        if f.build_method.as_deref() != Some("rust-cargolambda") {
            problems.push(format!(
                "{}: Metadata.BuildMethod is not rust-cargolambda",
                f.logical_id
            ));
        }
        match &f.binary {
            None => problems.push(format!(
                "{}: no Metadata.BuildProperties.Binary",
                f.logical_id
            )),
            Some(bin) if ws.member_with_bin(bin).is_none() => problems.push(format!(
                "{}: binary `{bin}` is not a bin target of any workspace crate",
                f.logical_id
            )),
            Some(_) => {}
        }
    }
    let deployed: BTreeSet<&str> = functions
        .iter()
        .filter_map(|f| f.binary.as_deref())
        .collect();
    for m in ws
        .members
        .iter()
        .filter(|m| m.dir.starts_with(ws.root.join("functions")))
    {
        for bin in m.bins.iter().filter(|b| !deployed.contains(b.as_str())) {
            problems.push(format!(
                "binary `{bin}` of {} is built but the template deploys no function for it",
                m.name
            ));
        }
    }
    problems
}

/// The template sets exactly the variables the code declares.
pub fn check_environment(f: &FunctionSpec, code: &FunctionCode) -> Vec<String> {
    let mut problems = Vec::new();
    for name in f.env.difference(&code.env) {
        problems.push(format!(
            "{}: template sets {name}, which its code never reads",
            f.logical_id
        ));
    }
    for name in code.env.difference(&f.env) {
        problems.push(format!(
            "{}: code reads {name}, which the template does not set",
            f.logical_id
        ));
    }
    problems
}

/// No granted action beyond what the code calls (plus platform actions under their conditions), and
/// every action the code calls is granted.
pub fn check_actions(
    f: &FunctionSpec,
    statements: &[Statement],
    code: &FunctionCode,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut granted = BTreeSet::new();
    for st in statements.iter().filter(|s| s.allow) {
        for action in &st.actions {
            granted.insert(action.clone());
            if code.actions.contains(action) || platform_allows(action, f, st) {
                continue;
            }
            let sid = st.sid.as_deref().unwrap_or("(no Sid)");
            problems.push(format!(
                "{}: statement {sid} grants {action}, which its code never calls",
                f.logical_id
            ));
        }
    }
    for action in code.actions.difference(&granted) {
        problems.push(format!(
            "{}: code calls {action}, which its role does not grant",
            f.logical_id
        ));
    }
    problems
}

fn platform_allows(action: &str, f: &FunctionSpec, st: &Statement) -> bool {
    PLATFORM_ACTIONS.iter().any(|(a, needs, _why)| {
        *a == action
            && match needs {
                Needs::Always => true,
                Needs::DeadLetterQueue => f.has_dead_letter_queue,
                Needs::Vpc => f.in_vpc,
                Needs::KmsViaService => st.kms_via_service,
            }
    })
}

/// No wildcard action anywhere; `Resource: "*"` in identity policies only for resourceless actions.
pub fn check_policy_shape(template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let mut actions = Vec::new();
    template::all_actions(&template["Resources"], &mut actions);
    for a in actions.iter().filter(|a| a.contains('*')) {
        problems.push(format!("wildcard action {a}"));
    }
    for (id, st) in template::identity_policy_statements(template) {
        if st.resource_is_star {
            for a in st
                .actions
                .iter()
                .filter(|a| !RESOURCELESS_ACTIONS.contains(&a.as_str()))
            {
                problems.push(format!(
                    "{id}: {a} on Resource \"*\" although it accepts a narrower resource"
                ));
            }
        }
    }
    problems
}

/// What issue 6 asks of every function: the Rust runtime on arm64, explicit limits, JSON logs.
pub fn check_function_settings(template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for f in template::functions(template) {
        let props = &template["Resources"][&f.logical_id]["Properties"];
        let mut expect = |what: &str, ok: bool| {
            if !ok {
                problems.push(format!("{}: {what}", f.logical_id));
            }
        };
        expect(
            "Runtime must be provided.al2023",
            props["Runtime"] == "provided.al2023",
        );
        expect(
            "Architectures must be [arm64]",
            props["Architectures"] == serde_json::json!(["arm64"]),
        );
        expect("Timeout must be set", props["Timeout"].is_number());
        expect("MemorySize must be set", props["MemorySize"].is_number());
        expect(
            "LoggingConfig.LogFormat must be JSON",
            props["LoggingConfig"]["LogFormat"] == "JSON",
        );
        expect(
            "needs a dead-letter queue or on-failure destination",
            f.has_dead_letter_queue,
        );
    }
    problems
}

/// Every function has Errors and Throttles alarms: the template declares them in one `Fn::ForEach` over
/// function name prefixes (`<Prefix>Function`) and metrics.
pub fn check_alarms(template: &Value) -> Vec<String> {
    // A loop is `[identifier, [collection], {fragment}]`; `Value` indexing yields Null when absent.
    let collection = |loop_: &Value| -> BTreeSet<String> {
        loop_[1]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    };
    let outer = &template["Resources"]["Fn::ForEach::FunctionAlarms"];
    let prefixes = collection(outer);
    let metrics = collection(&outer[2]["Fn::ForEach::MetricAlarms"]);
    let mut problems = Vec::new();
    for f in template::functions(template) {
        let prefix = f
            .logical_id
            .strip_suffix("Function")
            .unwrap_or(&f.logical_id);
        if !prefixes.contains(prefix) {
            problems.push(format!(
                "{}: not in Fn::ForEach::FunctionAlarms",
                f.logical_id
            ));
        }
    }
    for metric in ["Errors", "Throttles"]
        .into_iter()
        .filter(|m| !metrics.contains(*m))
    {
        problems.push(format!("Fn::ForEach::FunctionAlarms: no {metric} alarm"));
    }
    problems
}

/// Runs every check of the template against the workspace.
pub fn evaluate(template: &Value, ws: &Workspace) -> Vec<String> {
    let functions = template::functions(template);
    let mut problems = check_binaries(&functions, ws);
    problems.extend(check_policy_shape(template));
    problems.extend(check_function_settings(template));
    problems.extend(check_alarms(template));
    for f in &functions {
        let Some(member) = f.binary.as_deref().and_then(|b| ws.member_with_bin(b)) else {
            continue;
        };
        let code = function_code(ws, member);
        problems.extend(check_environment(f, &code));
        match &f.role {
            Some(role) => problems.extend(check_actions(
                f,
                &template::role_statements(template, role),
                &code,
            )),
            None => problems.push(format!(
                "{}: no `Role: !GetAtt <role>.Arn` to check",
                f.logical_id
            )),
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function() -> FunctionSpec {
        FunctionSpec {
            logical_id: "RotationFunction".into(),
            binary: Some("rot".into()),
            build_method: Some("rust-cargolambda".into()),
            env: BTreeSet::from(["SNOWKEY_TOPIC_ARN".to_string()]),
            role: Some("RotationRole".into()),
            has_dead_letter_queue: true,
            in_vpc: false,
        }
    }

    fn statement(actions: &[&str], via_service: bool) -> Statement {
        Statement {
            sid: Some("S".into()),
            allow: true,
            actions: actions.iter().map(|a| a.to_string()).collect(),
            resource_is_star: false,
            kms_via_service: via_service,
        }
    }

    fn code(actions: &[&str]) -> FunctionCode {
        FunctionCode {
            env: BTreeSet::from(["SNOWKEY_TOPIC_ARN".to_string()]),
            actions: actions.iter().map(|a| a.to_string()).collect(),
        }
    }

    #[test]
    fn accepts_exactly_the_called_actions_plus_platform_ones() {
        let st = [
            statement(
                &[
                    "secretsmanager:GetSecretValue",
                    "logs:PutLogEvents",
                    "sqs:SendMessage",
                ],
                false,
            ),
            statement(&["kms:Decrypt"], true),
        ];
        assert_eq!(
            check_actions(&function(), &st, &code(&["secretsmanager:GetSecretValue"])),
            Vec::<String>::new()
        );
    }

    #[test]
    fn catches_an_action_the_code_never_calls() {
        let st = [statement(
            &[
                "secretsmanager:GetSecretValue",
                "secretsmanager:DeleteSecret",
            ],
            false,
        )];
        let problems = check_actions(&function(), &st, &code(&["secretsmanager:GetSecretValue"]));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("secretsmanager:DeleteSecret"),
            "{problems:?}"
        );
    }

    #[test]
    fn platform_actions_need_their_condition() {
        let mut f = function();
        f.has_dead_letter_queue = false;
        let problems = check_actions(
            &f,
            &[statement(&["sqs:SendMessage", "kms:Decrypt"], false)],
            &code(&[]),
        );
        assert_eq!(problems.len(), 2, "{problems:?}");
    }

    #[test]
    fn catches_a_called_action_that_is_not_granted() {
        let problems = check_actions(&function(), &[], &code(&["sns:Publish"]));
        assert_eq!(
            problems,
            vec![
                "RotationFunction: code calls sns:Publish, which its role does not grant"
                    .to_string()
            ]
        );
    }

    #[test]
    fn catches_environment_drift_both_ways() {
        let mut c = code(&[]);
        c.env = BTreeSet::from(["SNOWKEY_KEY_BITS".to_string()]);
        let problems = check_environment(&function(), &c);
        assert_eq!(problems.len(), 2, "{problems:?}");
    }

    #[test]
    fn catches_a_function_off_the_required_settings() {
        let t = template::parse(
            r#"
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties: {Runtime: provided.al2023, Architectures: [x86_64], Timeout: 10, MemorySize: 128}
"#,
        )
        .unwrap();
        let problems = check_function_settings(&t);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].contains("arm64")
                && problems[1].contains("JSON")
                && problems[2].contains("dead-letter")
        );
    }

    #[test]
    fn catches_a_function_without_alarms() {
        let t = template::parse(
            r#"
Resources:
  RotationFunction: {Type: AWS::Serverless::Function}
  AuditFunction: {Type: AWS::Serverless::Function}
  Fn::ForEach::FunctionAlarms:
    - Fn
    - [Rotation]
    - Fn::ForEach::MetricAlarms: [Metric, [Errors], {}]
"#,
        )
        .unwrap();
        let problems = check_alarms(&t);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].starts_with("AuditFunction") && problems[1].contains("Throttles"),
            "{problems:?}"
        );
    }

    #[test]
    fn catches_wildcards_and_needless_star_resources() {
        let t = template::parse(
            r#"
Resources:
  R:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyDocument:
            Statement:
              - Effect: Allow
                Action: [secretsmanager:*, cloudtrail:LookupEvents]
                Resource: "*"
"#,
        )
        .unwrap();
        let problems = check_policy_shape(&t);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems.iter().all(|p| p.contains("secretsmanager:*")),
            "{problems:?}"
        );
    }
}
