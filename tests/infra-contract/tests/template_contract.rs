//! The deployed template against this workspace's code: see `src/contract.rs` for the rules.

use std::path::PathBuf;

use infra_contract_tests::{contract, template, workspace::Workspace};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

fn real_template() -> Value {
    let text =
        std::fs::read_to_string(root().join("infra/template.yaml")).expect("infra/template.yaml");
    template::parse(&text).expect("template parses")
}

#[test]
fn template_matches_the_function_crates() {
    let t = real_template();
    let ws = Workspace::load(&root()).expect("cargo metadata");
    let functions = template::functions(&t);
    assert!(
        functions.len() >= 4,
        "expected the rotation and three audit functions, found {functions:?}"
    );

    let problems = contract::evaluate(&t, &ws);
    assert!(
        problems.is_empty(),
        "infra/template.yaml breaks its contract with the code:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn a_grant_or_variable_added_to_the_real_template_is_caught() {
    let mut t = real_template();
    let ws = Workspace::load(&root()).expect("cargo metadata");
    let statements = &mut t["Resources"]["RotationRole"]["Properties"]["Policies"][0]["PolicyDocument"]
        ["Statement"];
    let first = statements
        .as_array_mut()
        .and_then(|s| s.first_mut())
        .expect("RotationRole has statements");
    first["Action"]
        .as_array_mut()
        .expect("an action list")
        .push("secretsmanager:DeleteSecret".into());
    t["Resources"]["AuditAssumeRoleFunction"]["Properties"]["Environment"]["Variables"]["SNOWKEY_UNUSED"] =
        "x".into();

    let problems = contract::evaluate(&t, &ws);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("RotationFunction") && p.contains("secretsmanager:DeleteSecret")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("AuditAssumeRoleFunction") && p.contains("SNOWKEY_UNUSED")),
        "{problems:?}"
    );
}

#[test]
fn the_scanner_sees_the_rotation_functions_calls() {
    // If the scanner stopped finding calls, the contract above would hold vacuously.
    let ws = Workspace::load(&root()).expect("cargo metadata");
    let member = ws
        .member_with_bin("snowflake-key-rotation")
        .expect("rotation function crate");
    let code = contract::function_code(&ws, member);
    for action in [
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage",
    ] {
        assert!(
            code.actions.contains(action),
            "{action} not found among {:?}",
            code.actions
        );
    }
    assert!(
        code.env.contains("SNOWKEY_TOPIC_ARN"),
        "env constants not found: {:?}",
        code.env
    );
}
