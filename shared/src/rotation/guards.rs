//! What AWS's rotation template checks before every step, plus the per-secret options in tags.

use crate::aws::AwsError;
use crate::snowflake::SnowflakeError;

use super::formats::ConsumerFormat;
use super::secret_value::FieldError;
use super::{RotationError, SecretDescription, Stage, Step};

/// Tag naming the SSM parameter that mirrors the AWSCURRENT private key. The passphrase of an
/// encrypted key goes to `<name>-passphrase`.
pub const TAG_SSM_PARAMETER: &str = "snowkey:ssm-parameter";
/// Tag listing consumer formats to write, e.g. `dbt,kafka`.
pub const TAG_FORMATS: &str = "snowkey:formats";
/// Suffix of the SSM parameter holding the passphrase.
pub const PASSPHRASE_PARAMETER_SUFFIX: &str = "-passphrase";

/// The secret and step every error names.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub secret: &'a str,
    pub step: Step,
}

impl Ctx<'_> {
    pub fn aws(&self, source: AwsError) -> RotationError {
        RotationError::Aws {
            secret: self.secret.to_string(),
            step: self.step,
            source,
        }
    }
    pub fn snowflake(&self, source: SnowflakeError) -> RotationError {
        RotationError::Snowflake {
            secret: self.secret.to_string(),
            step: self.step,
            source,
        }
    }
    pub fn invalid(&self, version: impl Into<String>, err: FieldError) -> RotationError {
        RotationError::InvalidSecret {
            secret: self.secret.to_string(),
            step: self.step,
            version: version.into(),
            field: err.field,
            reason: err.reason,
        }
    }
    pub fn missing(&self, stage: Stage) -> RotationError {
        RotationError::MissingVersion {
            secret: self.secret.to_string(),
            step: self.step,
            stage,
        }
    }
    fn invalid_tag(&self, tag: &str, reason: impl Into<String>) -> RotationError {
        RotationError::InvalidTag {
            secret: self.secret.to_string(),
            step: self.step,
            tag: tag.to_string(),
            reason: reason.into(),
        }
    }
}

/// What the guards concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// The token is `AWSPENDING`: run the step.
    Proceed,
    /// The token is already `AWSCURRENT`: createSecret/setSecret/testSecret have nothing to do;
    /// finishSecret still completes the Snowflake side.
    AlreadyCurrent,
}

/// Rotation enabled; the token is a version; already current → nothing to do; else it must be pending.
pub fn check(
    ctx: Ctx<'_>,
    description: &SecretDescription,
    token: &str,
) -> Result<Guard, RotationError> {
    if !description.rotation_enabled {
        return Err(RotationError::RotationDisabled {
            secret: ctx.secret.to_string(),
            step: ctx.step,
        });
    }
    if !description.versions.contains_key(token) {
        return Err(RotationError::TokenNotAVersion {
            secret: ctx.secret.to_string(),
            step: ctx.step,
            token: token.to_string(),
        });
    }
    if description.has_stage(token, Stage::Current) {
        return Ok(Guard::AlreadyCurrent);
    }
    if !description.has_stage(token, Stage::Pending) {
        return Err(RotationError::TokenNotPending {
            secret: ctx.secret.to_string(),
            step: ctx.step,
            token: token.to_string(),
        });
    }
    Ok(Guard::Proceed)
}

/// Per-secret options, read from tags so one function can rotate many secrets differently.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretOptions {
    pub ssm_parameter: Option<String>,
    pub formats: Vec<ConsumerFormat>,
}

impl SecretOptions {
    /// Validated in every step, so a bad tag stops the rotation before anything changes.
    pub fn from_tags(ctx: Ctx<'_>, description: &SecretDescription) -> Result<Self, RotationError> {
        let formats = match description.tags.get(TAG_FORMATS) {
            None => Vec::new(),
            Some(list) => ConsumerFormat::parse_list(list)
                .map_err(|reason| ctx.invalid_tag(TAG_FORMATS, reason))?,
        };
        let ssm_parameter = match description.tags.get(TAG_SSM_PARAMETER).map(|s| s.trim()) {
            None | Some("") => None,
            Some(name) => {
                validate_parameter_name(name)
                    .map_err(|reason| ctx.invalid_tag(TAG_SSM_PARAMETER, reason))?;
                Some(name.to_string())
            }
        };
        Ok(SecretOptions {
            ssm_parameter,
            formats,
        })
    }
}

/// SSM's rules: `[a-zA-Z0-9_.\-/]`, at most 1011 characters with room for our suffix, no `aws`/`ssm` prefix.
fn validate_parameter_name(name: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/');
    if !name.chars().all(allowed) {
        return Err("a parameter name may contain only letters, digits and _ . - /".into());
    }
    if name.len() + PASSPHRASE_PARAMETER_SUFFIX.len() > 1011 {
        return Err("the parameter name is too long".into());
    }
    let first = name.trim_start_matches('/').to_ascii_lowercase();
    if first.starts_with("aws") || first.starts_with("ssm") {
        return Err("parameter names may not begin with aws or ssm".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_names() {
        assert!(validate_parameter_name("/snowkey/svc_dlt/private-key").is_ok());
        assert!(validate_parameter_name("/aws/x").is_err());
        assert!(validate_parameter_name("has space").is_err());
    }
}
