//! Fixture loading for the audit tests: real CloudTrail samples, tweaked per test.
#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::Value;
use snowkey_shared::audit::{CloudTrailRecord, parse_record};

pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cloudtrail")
        .join(name)
}

pub fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture_path(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The fixture with fields replaced: `("/userIdentity/type", json!("Root"))`; `Value::Null` removes.
pub fn tweak(mut v: Value, changes: &[(&str, Value)]) -> Value {
    for (pointer, value) in changes {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let target = if parent.is_empty() {
            &mut v
        } else {
            v.pointer_mut(parent)
                .unwrap_or_else(|| panic!("no {parent}"))
        };
        let obj = target.as_object_mut().unwrap();
        if value.is_null() {
            obj.remove(key);
        } else {
            obj.insert(key.to_string(), value.clone());
        }
    }
    v
}

pub fn record(v: &Value) -> CloudTrailRecord {
    parse_record(v.to_string().as_bytes()).unwrap()
}

/// The records of an S3-style fixture (`{"Records":[...]}`).
pub fn records_of(name: &str) -> Vec<Value> {
    fixture(name)["Records"].as_array().unwrap().clone()
}
