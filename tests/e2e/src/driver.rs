//! Secrets Manager's side of a rotation, as AWS does it, on moto: start a rotation (an empty
//! AWSPENDING version keyed by a fresh token), invoke the function once per step, retry the whole
//! rotation after a failure; and the invariants checked after every invocation.

use std::collections::BTreeSet;
use std::sync::Arc;

use anyhow::{Context, bail, ensure};
use lambda_runtime::{Context as LambdaContext, LambdaEvent};
use snowkey_shared::keys::Fingerprint;
use snowkey_shared::rotation::secret_value::SecretValue;
use snowkey_shared::rotation::{
    Connection, KeyRegistry, SecretStore, Stage, Step, VersionSelector,
};

use crate::scenario::Scenario;

pub const STEPS: [Step; 4] = [Step::Create, Step::Set, Step::Test, Step::Finish];
/// Only used to make moto create the pending version; no such function exists.
const ROTATION_LAMBDA_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:snowkey-rotation";

impl Scenario {
    /// `RotateSecret` as Secrets Manager runs it before invoking the function: a new version id
    /// labelled AWSPENDING with no value, AWSCURRENT unchanged, rotation enabled.
    ///
    /// moto without a Lambda ARN moves AWSCURRENT at once; with an ARN it first records the pending
    /// version and rotation rules, then fails to find the function. That leaves exactly AWS's state,
    /// which is checked here so a moto change cannot silently break the tests.
    pub async fn start_rotation(&self) -> anyhow::Result<String> {
        self.normalize_stages().await?;
        let token = uuid::Uuid::new_v4().to_string();
        let result = self
            .stack
            .secrets
            .rotate_secret()
            .secret_id(&self.secret_id)
            .client_request_token(&token)
            .rotation_lambda_arn(ROTATION_LAMBDA_ARN)
            .rotation_rules(
                aws_sdk_secretsmanager::types::RotationRulesType::builder()
                    .automatically_after_days(30)
                    .build(),
            )
            .send()
            .await;
        ensure!(
            result.is_err(),
            "moto's RotateSecret unexpectedly succeeded; the pending-version set-up needs revisiting"
        );
        let d = self.stack_store().describe(&self.secret_id).await?;
        ensure!(
            d.rotation_enabled
                && d.has_stage(&token, Stage::Pending)
                && !d.has_stage(&token, Stage::Current),
            "RotateSecret did not leave an AWSPENDING version for {token}: {:?}",
            d.versions
        );
        Ok(token)
    }

    /// AWS removes AWSPENDING from the version AWSCURRENT moves to; moto leaves it (a known
    /// difference). Applied after every invocation so the function sees what AWS would show.
    pub async fn normalize_stages(&self) -> anyhow::Result<()> {
        let d = self.stack_store().describe(&self.secret_id).await?;
        if let Some(current) = d.version_with(Stage::Current)
            && d.has_stage(current, Stage::Pending)
        {
            self.stack
                .secrets
                .update_secret_version_stage()
                .secret_id(&self.secret_id)
                .version_stage("AWSPENDING")
                .remove_from_version_id(current)
                .send()
                .await?;
        }
        Ok(())
    }

    /// One invocation of the function's handler, with the event Secrets Manager sends.
    pub async fn invoke(
        &self,
        step: Step,
        token: &str,
    ) -> Result<serde_json::Value, lambda_runtime::Error> {
        let payload = serde_json::json!({
            "SecretId": self.secret_id,
            "ClientRequestToken": token,
            "Step": step.as_str(),
        });
        let cold;
        let app = if self.options.cold_starts {
            cold = self.cold_app();
            &cold
        } else {
            &self.app
        };
        let result = snowflake_key_rotation::handle(
            app,
            LambdaEvent::new(payload, LambdaContext::default()),
        )
        .await;
        // Normalising is the test harness playing AWS, never faulted.
        self.normalize_stages().await.expect("normalise stages");
        result
    }

    /// The four steps in order, stopping at the first failure (as Secrets Manager does).
    pub async fn rotate_once(&self, token: &str) -> Result<(), (Step, lambda_runtime::Error)> {
        for step in STEPS {
            self.invoke(step, token).await.map_err(|e| (step, e))?;
        }
        Ok(())
    }

    /// A whole rotation: start it, run the steps, check the invariants after every invocation.
    pub async fn rotate_checked(&self) -> anyhow::Result<String> {
        let token = self.start_rotation().await?;
        for step in STEPS {
            self.invoke(step, &token)
                .await
                .map_err(|e| anyhow::anyhow!("{step} failed: {e}"))?;
            self.check_invariants(&token, matches!(step, Step::Set | Step::Test))
                .await?;
        }
        self.check_finished(&token).await?;
        Ok(token)
    }

    /// The fingerprint of the key in the version selected, if that version has a value.
    pub async fn fingerprint_at(
        &self,
        selector: VersionSelector,
    ) -> anyhow::Result<Option<Fingerprint>> {
        Ok(self.key_at(selector).await?.map(|(fp, _)| fp))
    }

    async fn key_at(
        &self,
        selector: VersionSelector,
    ) -> anyhow::Result<Option<(Fingerprint, Connection)>> {
        let Some(stored) = self
            .stack_store()
            .get_value(&self.secret_id, &selector)
            .await?
        else {
            return Ok(None);
        };
        let value = SecretValue::parse(stored.text.expose())
            .map_err(|e| anyhow::anyhow!("{selector:?}: {e:?}"))?;
        let key = value
            .private_key()
            .map_err(|e| anyhow::anyhow!("{selector:?}: {e:?}"))?;
        let settings = value
            .connection_settings()
            .map_err(|e| anyhow::anyhow!("{selector:?}: {e:?}"))?;
        Ok(Some((
            key.fingerprint(),
            Connection {
                settings,
                key: Arc::new(key),
            },
        )))
    }

    fn stack_store(&self) -> snowkey_shared::aws::SecretsManagerStore {
        snowkey_shared::aws::SecretsManagerStore::new(self.stack.secrets.clone())
    }

    /// Whether `conn`'s key logs in to the emulator as this scenario's user.
    pub async fn authenticates(&self, conn: &Connection) -> bool {
        matches!(self.checker.current_user(conn).await, Ok(user) if user.eq_ignore_ascii_case(&self.user))
    }

    /// The fingerprints in the user's slots, as the emulator holds them.
    pub fn slot_fingerprints(&self) -> BTreeSet<String> {
        let user = self.emulator.user(&self.user).expect("seeded user");
        [user.rsa_public_key_fp, user.rsa_public_key_2_fp]
            .into_iter()
            .flatten()
            .collect()
    }

    /// Invariants 1, 2 and 5 at any point of a rotation: the AWSCURRENT key logs in; once
    /// setSecret has returned, the AWSPENDING key does too; every registered key belongs to the
    /// current, pending or previous version.
    pub async fn check_invariants(
        &self,
        token: &str,
        pending_registered: bool,
    ) -> anyhow::Result<()> {
        self.clear_snowflake_faults().await?;
        let (current_fp, current) = self
            .key_at(VersionSelector::Stage(Stage::Current))
            .await?
            .context("no AWSCURRENT value")?;
        ensure!(
            self.authenticates(&current).await,
            "invariant 1: the AWSCURRENT key {current_fp} does not log in"
        );
        let pending = self
            .key_at(VersionSelector::VersionAtStage(
                token.to_string(),
                Stage::Pending,
            ))
            .await?;
        let token_is_current = self
            .stack_store()
            .describe(&self.secret_id)
            .await?
            .has_stage(token, Stage::Current);
        if pending_registered && !token_is_current {
            let (fp, conn) = pending
                .as_ref()
                .context("setSecret returned but AWSPENDING has no value")?;
            ensure!(
                self.authenticates(conn).await,
                "invariant 2: the AWSPENDING key {fp} does not log in"
            );
        }
        let previous = self.key_at(VersionSelector::Stage(Stage::Previous)).await?;
        let known: BTreeSet<String> = [
            Some(current_fp),
            pending.map(|p| p.0),
            previous.map(|p| p.0),
        ]
        .into_iter()
        .flatten()
        .map(|fp| fp.to_string())
        .collect();
        let registered = self.slot_fingerprints();
        ensure!(
            registered.is_subset(&known),
            "invariant 5: slots {registered:?} hold a key outside {known:?}"
        );
        Ok(())
    }

    /// Invariants 3 and 4 after a finished rotation: the token is AWSCURRENT and only its key (and
    /// AWSPREVIOUS's, in grace mode) is registered and logs in.
    pub async fn check_finished(&self, token: &str) -> anyhow::Result<()> {
        self.clear_snowflake_faults().await?;
        let d = self.stack_store().describe(&self.secret_id).await?;
        ensure!(
            d.has_stage(token, Stage::Current),
            "the rotation did not finish: {:?}",
            d.versions
        );
        self.check_invariants(token, false).await?;
        let (current_fp, _) = self
            .key_at(VersionSelector::Stage(Stage::Current))
            .await?
            .context("no AWSCURRENT")?;
        let previous = self.key_at(VersionSelector::Stage(Stage::Previous)).await?;
        let mut expected = BTreeSet::from([current_fp.to_string()]);
        if let Some((previous_fp, previous_conn)) = previous {
            let logs_in = self.authenticates(&previous_conn).await;
            if self.options.grace_mode {
                ensure!(
                    logs_in,
                    "grace mode: the AWSPREVIOUS key {previous_fp} no longer logs in"
                );
                expected.insert(previous_fp.to_string());
            } else if logs_in {
                bail!(
                    "invariant 3: the AWSPREVIOUS key {previous_fp} still logs in after the rotation"
                );
            }
        }
        let registered = self.slot_fingerprints();
        ensure!(
            registered == expected,
            "invariant 3: slots hold {registered:?}, expected {expected:?}"
        );
        if let Some(parameter) = &self.parameter {
            self.check_mirror(parameter).await?;
        }
        Ok(())
    }

    /// The SSM mirror holds the AWSCURRENT private key, under the configured KMS key.
    async fn check_mirror(&self, parameter: &str) -> anyhow::Result<()> {
        let current = self
            .stack_store()
            .get_value(&self.secret_id, &VersionSelector::Stage(Stage::Current))
            .await?
            .context("no AWSCURRENT")?;
        let value = SecretValue::parse(current.text.expose())
            .map_err(|e| anyhow::anyhow!("AWSCURRENT: {e:?}"))?;
        let (mirrored, _, key_id) = self
            .stack
            .read_parameter(parameter)
            .await?
            .context("the SSM mirror was never written")?;
        ensure!(
            mirrored == value.private_key_text(),
            "the SSM mirror does not hold the AWSCURRENT key"
        );
        ensure!(
            key_id.as_deref() == Some(self.kms_key_id.as_str()),
            "the SSM mirror uses KMS key {key_id:?}"
        );
        Ok(())
    }
}
