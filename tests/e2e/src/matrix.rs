//! The fault matrix: fail one call of one step, then let Secrets Manager retry the rotation, and
//! check the invariants after the fault, after every retry and at the end.

use anyhow::{Context, ensure};
use snowflake_emulator::Fault;
use snowkey_shared::rotation::Step;

use crate::aws_faults::{AwsFaultKind, FiredFault};
use crate::driver::STEPS;
use crate::scenario::Scenario;

/// How many whole-rotation retries Secrets Manager gets in these tests.
const RETRIES: usize = 3;

/// A fault to inject into one step.
#[derive(Debug, Clone)]
pub enum Injection {
    /// The `nth` AWS call the step makes fails this way.
    Aws { nth: usize, kind: AwsFaultKind },
    /// The emulator misbehaves on the step's first statement matching the fault's pattern.
    Snowflake(Fault),
}

/// What the faulted step did.
#[derive(Debug, Clone)]
pub struct CaseOutcome {
    /// The faulted step's error, as the function returned it to Secrets Manager.
    pub step_error: Option<String>,
    /// The AWS call the fault hit (`None` for a Snowflake fault, or if nothing matched).
    pub fired: Option<FiredFault>,
}

impl CaseOutcome {
    pub fn step_failed(&self) -> bool {
        self.step_error.is_some()
    }
}

/// Runs a rotation with `injection` in `faulted` step, then Secrets Manager's retries.
pub async fn run_case(
    s: &Scenario,
    faulted: Step,
    injection: &Injection,
) -> anyhow::Result<CaseOutcome> {
    let token = s.start_rotation().await?;
    let mut pending_registered = false;
    for step in STEPS {
        if step == faulted {
            break;
        }
        s.invoke(step, &token)
            .await
            .map_err(|e| anyhow::anyhow!("{step} before the fault: {e}"))?;
        pending_registered |= step == Step::Set;
        s.check_invariants(&token, pending_registered)
            .await
            .with_context(|| format!("after {step}"))?;
    }

    match injection {
        Injection::Aws { nth, kind } => s.stack.faults.arm(*nth, *kind),
        Injection::Snowflake(fault) => s.emulator.inject(fault.clone()),
    }
    let result = s.invoke(faulted, &token).await;
    let outcome = CaseOutcome {
        step_error: result.as_ref().err().map(ToString::to_string),
        fired: s.stack.faults.fired(),
    };
    s.stack.faults.disarm();
    s.clear_snowflake_faults().await?;
    pending_registered |= faulted == Step::Set && result.is_ok();
    s.check_invariants(&token, pending_registered)
        .await
        .context("right after the fault")?;

    // Secrets Manager retries the whole rotation with the same token.
    let mut finished = false;
    for attempt in 1..=RETRIES {
        match s.rotate_once(&token).await {
            Ok(()) => {
                finished = true;
                break;
            }
            Err((step, e)) => {
                pending_registered |= step != Step::Set && step != Step::Create;
                s.check_invariants(&token, pending_registered)
                    .await
                    .with_context(|| format!("after retry {attempt} failed in {step}: {e}"))?;
            }
        }
    }
    ensure!(
        finished,
        "the rotation did not converge within {RETRIES} retries"
    );
    s.check_finished(&token)
        .await
        .context("after the retries")?;
    Ok(outcome)
}

/// A regex matching the statement's kind (its text up to the key body), for an emulator fault.
pub fn statement_pattern(statement: &str) -> String {
    let head = statement.split('=').next().unwrap_or(statement).trim_end();
    format!("^{}", regex::escape(head))
}
