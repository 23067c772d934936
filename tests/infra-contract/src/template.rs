//! Reads a SAM/CloudFormation template into JSON, with short-form tags (`!Ref`, `!GetAtt`, `!Sub`, …)
//! turned into their long forms, and extracts what the contract checks: functions and IAM statements.

use std::collections::BTreeSet;

use serde_json::{Map, Value};
use serde_yaml_ng::Value as Yaml;

use crate::ContractError;

/// Parses template text; `!GetAtt A.B` becomes `{"Fn::GetAtt": ["A", "B"]}`, `!X v` becomes `{"Fn::X": v}`.
pub fn parse(text: &str) -> Result<Value, ContractError> {
    let yaml: Yaml =
        serde_yaml_ng::from_str(text).map_err(|e| ContractError::Template(e.to_string()))?;
    Ok(to_json(yaml))
}

fn to_json(yaml: Yaml) -> Value {
    match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => serde_json::to_value(n).unwrap_or(Value::Null),
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Yaml::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = match to_json(k) {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                out.insert(key, to_json(v));
            }
            Value::Object(out)
        }
        Yaml::Tagged(tagged) => {
            let name = tagged.tag.to_string().trim_start_matches('!').to_string();
            let value = to_json(tagged.value);
            let (key, value) = match (name.as_str(), value) {
                ("Ref" | "Condition", v) => (name.clone(), v),
                ("GetAtt", Value::String(s)) => {
                    let (resource, attribute) = s.split_once('.').unwrap_or((s.as_str(), ""));
                    (
                        "Fn::GetAtt".to_string(),
                        Value::from(vec![resource, attribute]),
                    )
                }
                (_, v) => (format!("Fn::{name}"), v),
            };
            Value::Object(Map::from_iter([(key, value)]))
        }
    }
}

/// A Lambda function as the template declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSpec {
    pub logical_id: String,
    /// `Metadata.BuildProperties.Binary` (the cargo-lambda binary).
    pub binary: Option<String>,
    pub build_method: Option<String>,
    pub env: BTreeSet<String>,
    /// Logical id of the role named by `Role: !GetAtt X.Arn`.
    pub role: Option<String>,
    pub has_dead_letter_queue: bool,
    pub in_vpc: bool,
}

/// Every `AWS::Serverless::Function` / `AWS::Lambda::Function` in the template.
pub fn functions(template: &Value) -> Vec<FunctionSpec> {
    resources(template)
        .filter(|(_, r)| {
            matches!(
                r["Type"].as_str(),
                Some("AWS::Serverless::Function" | "AWS::Lambda::Function")
            )
        })
        .map(|(id, r)| {
            let props = &r["Properties"];
            FunctionSpec {
                logical_id: id.clone(),
                binary: r["Metadata"]["BuildProperties"]["Binary"]
                    .as_str()
                    .map(str::to_string),
                build_method: r["Metadata"]["BuildMethod"].as_str().map(str::to_string),
                env: props["Environment"]["Variables"]
                    .as_object()
                    .map(|vars| vars.keys().cloned().collect())
                    .unwrap_or_default(),
                role: props["Role"]["Fn::GetAtt"][0].as_str().map(str::to_string),
                has_dead_letter_queue: !props["DeadLetterQueue"].is_null()
                    || !props["DeadLetterConfig"].is_null()
                    || !props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"].is_null(),
                in_vpc: !props["VpcConfig"].is_null(),
            }
        })
        .collect()
}

/// One IAM statement, flattened out of any `Fn::If`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sid: Option<String>,
    pub allow: bool,
    pub actions: Vec<String>,
    pub resource_is_star: bool,
    /// The statement's condition names `kms:ViaService` (the key is usable only through a service).
    pub kms_via_service: bool,
}

/// Statements of a role's inline policies and of the template's managed policies it attaches.
pub fn role_statements(template: &Value, role_id: &str) -> Vec<Statement> {
    let role = &template["Resources"][role_id];
    let mut documents: Vec<&Value> = role["Properties"]["Policies"]
        .as_array()
        .map(|ps| ps.iter().map(|p| &p["PolicyDocument"]).collect())
        .unwrap_or_default();
    for arn in role["Properties"]["ManagedPolicyArns"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(id) = arn["Ref"].as_str() {
            documents.push(&template["Resources"][id]["Properties"]["PolicyDocument"]);
        }
    }
    documents
        .into_iter()
        .flat_map(|d| statements(&d["Statement"]))
        .collect()
}

/// IAM identity policies (roles' inline policies and managed policies), by resource logical id.
pub fn identity_policy_statements(template: &Value) -> Vec<(String, Statement)> {
    let mut out = Vec::new();
    for (id, r) in resources(template) {
        match r["Type"].as_str() {
            Some("AWS::IAM::Role") => {
                for p in r["Properties"]["Policies"].as_array().into_iter().flatten() {
                    out.extend(
                        statements(&p["PolicyDocument"]["Statement"])
                            .into_iter()
                            .map(|s| (id.clone(), s)),
                    );
                }
            }
            Some("AWS::IAM::ManagedPolicy" | "AWS::IAM::Policy") => {
                let st = statements(&r["Properties"]["PolicyDocument"]["Statement"]);
                out.extend(st.into_iter().map(|s| (id.clone(), s)));
            }
            _ => {}
        }
    }
    out
}

/// Every action string of every policy document in the template (identity, key, topic, trust policies).
pub fn all_actions(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "Action" || k == "NotAction" {
                    out.extend(strings(v));
                } else {
                    all_actions(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| all_actions(v, out)),
        _ => {}
    }
}

fn statements(value: &Value) -> Vec<Statement> {
    match value {
        Value::Array(items) => items.iter().flat_map(statements).collect(),
        Value::Object(map) if map.contains_key("Fn::If") => map["Fn::If"]
            .as_array()
            .map(|branches| branches.iter().skip(1).flat_map(statements).collect())
            .unwrap_or_default(),
        Value::Object(map) if map.get("Ref").and_then(Value::as_str) == Some("AWS::NoValue") => {
            Vec::new()
        }
        Value::Object(map) => vec![Statement {
            sid: map.get("Sid").and_then(Value::as_str).map(str::to_string),
            allow: map.get("Effect").and_then(Value::as_str) == Some("Allow"),
            actions: map.get("Action").map(strings).unwrap_or_default(),
            resource_is_star: map
                .get("Resource")
                .map(strings)
                .unwrap_or_default()
                .iter()
                .any(|r| r == "*"),
            kms_via_service: map
                .get("Condition")
                .and_then(Value::as_object)
                .is_some_and(|ops| {
                    ops.values()
                        .any(|keys| keys.get("kms:ViaService").is_some())
                }),
        }],
        _ => Vec::new(),
    }
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

fn resources(template: &Value) -> impl Iterator<Item = (&String, &Value)> {
    template["Resources"].as_object().into_iter().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyDocument:
            Statement:
              - Sid: Read
                Effect: Allow
                Action: [secretsmanager:GetSecretValue]
                Resource: !Sub arn:${AWS::Partition}:secretsmanager:*
              - !If
                - InVpc
                - Effect: Allow
                  Action: ec2:DescribeNetworkInterfaces
                  Resource: "*"
                - !Ref AWS::NoValue
              - Effect: Allow
                Action: kms:Decrypt
                Resource: !GetAtt Key.Arn
                Condition:
                  StringEquals:
                    kms:ViaService: secretsmanager.eu-west-1.amazonaws.com
  Fn:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: rust-cargolambda
      BuildProperties:
        Binary: my-bin
    Properties:
      Role: !GetAtt Role.Arn
      Environment:
        Variables:
          A: !Ref Topic
          B: "1"
"#;

    #[test]
    fn short_form_tags_become_long_forms() {
        let t = parse("X: !GetAtt Key.Arn\nY: !Ref Z\nW: !Sub a-${B}\n").unwrap();
        assert_eq!(t["X"], serde_json::json!({"Fn::GetAtt": ["Key", "Arn"]}));
        assert_eq!(t["Y"], serde_json::json!({"Ref": "Z"}));
        assert_eq!(t["W"], serde_json::json!({"Fn::Sub": "a-${B}"}));
    }

    #[test]
    fn reads_functions_and_flattens_conditional_statements() {
        let t = parse(TEMPLATE).unwrap();
        let f = &functions(&t)[0];
        assert_eq!(f.binary.as_deref(), Some("my-bin"));
        assert_eq!(f.role.as_deref(), Some("Role"));
        assert_eq!(f.env, BTreeSet::from(["A".to_string(), "B".to_string()]));
        let st = role_statements(&t, "Role");
        assert_eq!(st.len(), 3);
        assert!(st[1].resource_is_star && !st[0].resource_is_star);
        assert!(st[2].kms_via_service && !st[0].kms_via_service);
    }
}
