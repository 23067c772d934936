//! The workspace as cargo sees it: member crates, their binaries, and the operations of the AWS SDK
//! crates they depend on (read from each SDK crate's `src/operation/` directory, so the mapping from a
//! method such as `get_secret_value()` to the IAM action `secretsmanager:GetSecretValue` is not hand-kept).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::ContractError;

#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    pub dir: PathBuf,
    pub bins: Vec<String>,
}

/// SDK operations by service: IAM prefix (`secretsmanager`) → snake-case operation names.
pub type SdkOperations = BTreeMap<String, BTreeSet<String>>;

#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
    pub members: Vec<Member>,
    pub sdk_operations: SdkOperations,
}

impl Workspace {
    /// Runs `cargo metadata` in `root`: offline, since the tests were just built from the same crates,
    /// and for this host only, since other platforms' crates need not be downloaded.
    pub fn load(root: &Path) -> Result<Self, ContractError> {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let host = host_triple(&cargo)?;
        let out = Command::new(cargo)
            .args([
                "metadata",
                "--format-version",
                "1",
                "--offline",
                "--filter-platform",
                &host,
            ])
            .current_dir(root)
            .output()
            .map_err(|e| ContractError::Metadata(e.to_string()))?;
        if !out.status.success() {
            return Err(ContractError::Metadata(
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ));
        }
        let meta: Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| ContractError::Metadata(e.to_string()))?;
        let members: BTreeSet<&str> = meta["workspace_members"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let mut ws = Workspace {
            root: root.to_path_buf(),
            members: Vec::new(),
            sdk_operations: SdkOperations::new(),
        };
        for p in meta["packages"].as_array().into_iter().flatten() {
            let name = p["name"].as_str().unwrap_or_default().to_string();
            let dir = Path::new(p["manifest_path"].as_str().unwrap_or_default())
                .parent()
                .map(Path::to_path_buf);
            let Some(dir) = dir else { continue };
            if members.contains(p["id"].as_str().unwrap_or_default()) {
                let bins = p["targets"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|t| {
                        t["kind"]
                            .as_array()
                            .is_some_and(|k| k.iter().any(|k| k == "bin"))
                    })
                    .filter_map(|t| t["name"].as_str().map(str::to_string))
                    .collect();
                ws.members.push(Member { name, dir, bins });
            } else if let Some(service) = name.strip_prefix("aws-sdk-") {
                ws.sdk_operations.insert(
                    service.to_string(),
                    operations_of(&dir.join("src/operation")),
                );
            }
        }
        Ok(ws)
    }

    /// The member crate that builds `bin`.
    pub fn member_with_bin(&self, bin: &str) -> Option<&Member> {
        self.members
            .iter()
            .find(|m| m.bins.iter().any(|b| b == bin))
    }
}

fn host_triple(cargo: &str) -> Result<String, ContractError> {
    // `cargo` sits next to the `rustc` of the same toolchain.
    let rustc = Path::new(cargo).with_file_name("rustc");
    let rustc = if rustc.exists() {
        rustc
    } else {
        PathBuf::from("rustc")
    };
    let out = Command::new(rustc)
        .arg("-vV")
        .output()
        .map_err(|e| ContractError::Metadata(e.to_string()))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .ok_or_else(|| ContractError::Metadata("rustc -vV printed no host triple".to_string()))
}

fn operations_of(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect()
}

/// Every `.rs` file under `dir`, with its text.
pub fn rust_sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && let Ok(text) = std::fs::read_to_string(&path)
            {
                out.push((path, text));
            }
        }
    }
    out.sort();
    out
}
