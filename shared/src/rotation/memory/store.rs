//! Secrets Manager in memory: versions, staging labels, and the calls rotation makes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::aws::AwsError;
use crate::keys::Passphrase;
use crate::rotation::{
    RotationToken, SecretDescription, SecretStore, SecretText, Stage, StoredVersion,
    VersionSelector,
};

use super::lock;

#[derive(Clone)]
struct Version {
    id: String,
    stages: Vec<String>,
    value: Option<SecretText>,
}

#[derive(Clone)]
struct Secret {
    arn: String,
    name: String,
    rotation_enabled: bool,
    versions: Vec<Version>,
    tags: BTreeMap<String, String>,
}

impl Secret {
    fn version_with(&self, stage: Stage) -> Option<&Version> {
        self.versions
            .iter()
            .find(|v| v.stages.iter().any(|s| s == stage.as_str()))
    }
    fn remove_stage(&mut self, stage: Stage) {
        for v in &mut self.versions {
            v.stages.retain(|s| s != stage.as_str());
        }
    }
    fn add_stage(&mut self, id: &str, stage: Stage) {
        self.remove_stage(stage);
        if let Some(v) = self.versions.iter_mut().find(|v| v.id == id) {
            v.stages.push(stage.as_str().to_string());
        }
    }
}

#[derive(Default)]
struct StoreState {
    secrets: Vec<Secret>,
    passphrases_issued: u64,
    rotation_tokens: Vec<String>,
    next_version: u64,
}

impl StoreState {
    fn find(&mut self, id: &str) -> Result<&mut Secret, AwsError> {
        self.secrets
            .iter_mut()
            .find(|s| s.name == id || s.arn == id)
            .ok_or_else(|| not_found("secret"))
    }
    fn new_version_id(&mut self) -> String {
        self.next_version += 1;
        format!("00000000-0000-4000-8000-{:012}", self.next_version)
    }
}

fn not_found(what: &str) -> AwsError {
    AwsError::Service {
        operation: "SecretsManager",
        code: "ResourceNotFoundException".into(),
        message: format!("Secrets Manager can't find the specified {what}."),
    }
}

fn invalid(operation: &'static str, message: &str) -> AwsError {
    AwsError::Service {
        operation,
        code: "InvalidParameterException".into(),
        message: message.into(),
    }
}

/// Secrets Manager in memory.
#[derive(Clone, Default)]
pub struct MemorySecretStore {
    state: Arc<Mutex<StoreState>>,
}

/// A comparable copy of one secret's versions, stages and values (values never printed).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretSnapshot(Vec<(String, Vec<String>, Option<String>)>);

impl std::fmt::Debug for SecretSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let stages: Vec<_> = self
            .0
            .iter()
            .map(|(id, stages, v)| (id, stages, v.is_some()))
            .collect();
        write!(f, "SecretSnapshot({stages:?}, values redacted)")
    }
}

impl MemorySecretStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// CreateSecret with rotation enabled; the value becomes AWSCURRENT. Returns the ARN.
    pub fn create_secret(&self, name: &str, value: &str, tags: &[(&str, &str)]) -> String {
        let mut state = lock(&self.state);
        let id = state.new_version_id();
        let arn = format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf");
        state.secrets.push(Secret {
            arn: arn.clone(),
            name: name.to_string(),
            rotation_enabled: true,
            versions: vec![Version {
                id,
                stages: vec!["AWSCURRENT".into()],
                value: Some(SecretText::new(value)),
            }],
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        });
        arn
    }

    pub fn set_rotation_enabled(&self, secret: &str, enabled: bool) {
        lock(&self.state)
            .find(secret)
            .expect("secret exists")
            .rotation_enabled = enabled;
    }

    /// What RotateSecret does before invoking the function: an empty AWSPENDING version under a
    /// new token. A rotation already in progress keeps its token (Secrets Manager retries with it).
    pub fn begin_rotation(&self, secret: &str) -> String {
        let mut state = lock(&self.state);
        let token = state.new_version_id();
        let s = state.find(secret).expect("secret exists");
        if let Some(v) = s
            .version_with(Stage::Pending)
            .filter(|v| !v.stages.iter().any(|st| st == "AWSCURRENT"))
        {
            return v.id.clone();
        }
        s.versions.push(Version {
            id: token.clone(),
            stages: Vec::new(),
            value: None,
        });
        s.add_stage(&token, Stage::Pending);
        token
    }

    /// The value at a stage.
    pub fn value_at(&self, secret: &str, stage: Stage) -> Option<SecretText> {
        let mut state = lock(&self.state);
        state.find(secret).ok()?.version_with(stage)?.value.clone()
    }

    pub fn version_at(&self, secret: &str, stage: Stage) -> Option<String> {
        let mut state = lock(&self.state);
        Some(state.find(secret).ok()?.version_with(stage)?.id.clone())
    }

    /// Replaces a version's value in place (to corrupt it in tests).
    pub fn overwrite_value(&self, secret: &str, stage: Stage, value: &str) {
        let mut state = lock(&self.state);
        let s = state.find(secret).expect("secret exists");
        let id = s.version_with(stage).expect("stage exists").id.clone();
        let v = s
            .versions
            .iter_mut()
            .find(|v| v.id == id)
            .expect("version exists");
        v.value = Some(SecretText::new(value));
    }

    pub fn snapshot(&self, secret: &str) -> SecretSnapshot {
        let mut state = lock(&self.state);
        let s = state.find(secret).expect("secret exists");
        SecretSnapshot(
            s.versions
                .iter()
                .map(|v| {
                    (
                        v.id.clone(),
                        v.stages.clone(),
                        v.value.as_ref().map(|t| t.expose().to_string()),
                    )
                })
                .collect(),
        )
    }

    /// Every `RotationToken` passed to PutSecretValue, in order.
    pub fn rotation_tokens_seen(&self) -> Vec<String> {
        lock(&self.state).rotation_tokens.clone()
    }
}

impl SecretStore for MemorySecretStore {
    async fn describe(&self, secret_id: &str) -> Result<SecretDescription, AwsError> {
        let mut state = lock(&self.state);
        let s = state.find(secret_id)?;
        Ok(SecretDescription {
            arn: s.arn.clone(),
            name: s.name.clone(),
            rotation_enabled: s.rotation_enabled,
            // Like DescribeSecret: only versions that still carry a label.
            versions: s
                .versions
                .iter()
                .filter(|v| !v.stages.is_empty())
                .map(|v| (v.id.clone(), v.stages.clone()))
                .collect(),
            tags: s.tags.clone(),
        })
    }

    async fn get_value(
        &self,
        secret_id: &str,
        selector: &VersionSelector,
    ) -> Result<Option<StoredVersion>, AwsError> {
        let mut state = lock(&self.state);
        let s = state.find(secret_id)?;
        let has = |v: &Version, stage: Stage| v.stages.iter().any(|st| st == stage.as_str());
        let version = match selector {
            VersionSelector::Stage(stage) => s.versions.iter().find(|v| has(v, *stage)),
            VersionSelector::Version(id) => s.versions.iter().find(|v| &v.id == id),
            VersionSelector::VersionAtStage(id, stage) => {
                s.versions.iter().find(|v| &v.id == id && has(v, *stage))
            }
        };
        Ok(version.and_then(|v| {
            let text = v.value.clone()?;
            Some(StoredVersion {
                version_id: v.id.clone(),
                text,
            })
        }))
    }

    async fn put_pending(
        &self,
        secret_id: &str,
        token: &str,
        value: &SecretText,
        rotation_token: Option<&RotationToken>,
    ) -> Result<(), AwsError> {
        let mut state = lock(&self.state);
        if let Some(t) = rotation_token {
            state.rotation_tokens.push(t.expose().to_string());
        }
        let s = state.find(secret_id)?;
        match s.versions.iter_mut().find(|v| v.id == token) {
            Some(v) => match &v.value {
                Some(existing) if existing.expose() != value.expose() => {
                    return Err(AwsError::Service {
                        operation: "PutSecretValue",
                        code: "ResourceExistsException".into(),
                        message: "A resource with the ID you requested already exists.".into(),
                    });
                }
                _ => v.value = Some(value.clone()),
            },
            None => s.versions.push(Version {
                id: token.to_string(),
                stages: Vec::new(),
                value: Some(value.clone()),
            }),
        }
        s.add_stage(token, Stage::Pending);
        Ok(())
    }

    async fn move_current(
        &self,
        secret_id: &str,
        to_version: &str,
        from_version: Option<&str>,
    ) -> Result<(), AwsError> {
        let mut state = lock(&self.state);
        let s = state.find(secret_id)?;
        if !s.versions.iter().any(|v| v.id == to_version) {
            return Err(not_found("version"));
        }
        let current = s.version_with(Stage::Current).map(|v| v.id.clone());
        if current.as_deref() == Some(to_version) {
            return Ok(());
        }
        if from_version != current.as_deref() {
            return Err(invalid(
                "UpdateSecretVersionStage",
                "The parameter RemoveFromVersionId doesn't match the version with AWSCURRENT.",
            ));
        }
        if let Some(old) = current {
            s.add_stage(&old, Stage::Previous);
        }
        s.add_stage(to_version, Stage::Current);
        s.versions
            .iter_mut()
            .filter(|v| v.id == to_version)
            .for_each(|v| v.stages.retain(|st| st != "AWSPENDING"));
        Ok(())
    }

    async fn random_passphrase(&self) -> Result<Passphrase, AwsError> {
        let mut state = lock(&self.state);
        state.passphrases_issued += 1;
        Ok(Passphrase::new(format!(
            "Pp{:08}x{}",
            state.passphrases_issued, "q7Zk3mW9vR2tL5nB8cX4hJ6dF1gS0a"
        )))
    }
}
