//! The fault matrix over real HTTP: every AWS call of every step failed before and after it
//! reaches moto (on a cold and on a warm function), hung until the function's SDK timeouts end it,
//! or applied by moto with the answer lost so that the SDK retries it; every Snowflake statement
//! kind of every step answered 500, hung, or executed then dropped; after each, Secrets Manager's
//! retries must converge with invariants 1–5 held.

use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e_tests::aws_faults::AwsFaultKind;
use e2e_tests::driver::STEPS;
use e2e_tests::keys::{self, POOL_SIZE};
use e2e_tests::logs::{self, LeakScanner};
use e2e_tests::matrix::{CaseOutcome, Injection, run_case, statement_pattern};
use e2e_tests::stack::SnsMessage;
use e2e_tests::{Options, Scenario, Stack};
use snowflake_emulator::Fault;
use snowkey_shared::rotation::Step;

/// A watchdog only: a timeout case takes a few seconds (the stack's operation timeout, then the
/// retries), so a case still running after this long is one the SDK timeouts did not end.
const HUNG_CASE: Duration = Duration::from_secs(120);

/// Every step on a freshly started function, so each step makes every AWS call it can (a warm
/// function answers repeated version reads from memory).
fn options(case: usize) -> Options {
    Options {
        mirror: true,
        key_offset: (case * 3) % POOL_SIZE,
        cold_starts: true,
        ..Options::default()
    }
}

/// A warm function, as when Secrets Manager's steps land on one Lambda instance.
fn warm_options(case: usize) -> Options {
    Options {
        cold_starts: false,
        ..options(case)
    }
}

fn assert_no_leaks(messages: &[SnsMessage]) {
    let mut scanner = LeakScanner::new();
    for key in keys::all_pool_keys() {
        scanner.add_key(&key);
    }
    let mut leaks: Vec<String> = messages
        .iter()
        .flat_map(|m| scanner.scan("an SNS message", &m.body))
        .collect();
    leaks.extend(scanner.scan("the captured logs", &logs::captured()));
    assert!(leaks.is_empty(), "{leaks:?}");
}

/// One AWS call of one step, as a clean rotation makes it.
#[derive(Debug, Clone)]
struct AwsCall {
    step: Step,
    /// 1-based, among the AWS calls of the step.
    nth: usize,
    operation: String,
    encrypted: bool,
}

/// Every AWS call of every step, from clean rotations with `options`: each call of an unencrypted
/// key's rotation, and GetRandomPassword, which only an encrypted key's createSecret makes (such a
/// key is slow to decrypt, so only that call is taken from its rotation).
async fn aws_calls(stack: &Arc<Stack>, options: fn(usize) -> Options) -> Vec<AwsCall> {
    let mut calls = Vec::new();
    let baseline = Scenario::new(stack.clone(), options(0)).await.unwrap();
    let token = baseline.start_rotation().await.unwrap();
    for step in STEPS {
        stack.faults.disarm();
        baseline.invoke(step, &token).await.unwrap();
        for (index, operation) in stack.faults.operations().into_iter().enumerate() {
            calls.push(AwsCall {
                step,
                nth: index + 1,
                operation,
                encrypted: false,
            });
        }
    }

    let encrypted = Scenario::new(
        stack.clone(),
        Options {
            encrypted: true,
            ..options(1)
        },
    )
    .await
    .unwrap();
    let token = encrypted.start_rotation().await.unwrap();
    stack.faults.disarm();
    encrypted.invoke(Step::Create, &token).await.unwrap();
    let nth = 1 + stack
        .faults
        .operations()
        .iter()
        .position(|op| op == "GetRandomPassword")
        .expect("GetRandomPassword is called");
    stack.faults.disarm();
    calls.push(AwsCall {
        step: Step::Create,
        nth,
        operation: "GetRandomPassword".into(),
        encrypted: true,
    });
    calls
}

/// Runs one AWS fault case in a fresh scenario with `options`; panics with the case's name if an
/// invariant breaks, the rotation does not converge, or the fault hit another call than `call`.
async fn run_aws_case(
    stack: &Arc<Stack>,
    call: &AwsCall,
    kind: AwsFaultKind,
    options: fn(usize) -> Options,
    case: usize,
) -> (CaseOutcome, Vec<SnsMessage>) {
    let warmth = if options(case).cold_starts {
        "cold"
    } else {
        "warm"
    };
    let name = format!(
        "{}, call {} ({}) {kind:?}, {warmth}",
        call.step, call.nth, call.operation
    );
    let s = Scenario::new(
        stack.clone(),
        Options {
            encrypted: call.encrypted,
            ..options(case)
        },
    )
    .await
    .unwrap();
    let injection = Injection::Aws {
        nth: call.nth,
        kind,
    };
    let outcome = run_case(&s, call.step, &injection)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e:#}"));
    let hit = outcome.fired.as_ref().map(|f| f.operation.as_str());
    assert_eq!(hit, Some(call.operation.as_str()), "{name}: the fault hit");
    let messages = stack.drain_queue(&s.queue_url).await.unwrap();
    (outcome, messages)
}

/// [`run_aws_case`] on a cold function, failed (not hung) if the SDK's timeouts never end it.
async fn run_hang_case(
    stack: &Arc<Stack>,
    call: &AwsCall,
    kind: AwsFaultKind,
    case: usize,
) -> (CaseOutcome, Vec<SnsMessage>) {
    tokio::time::timeout(HUNG_CASE, run_aws_case(stack, call, kind, options, case))
        .await
        .unwrap_or_else(|_| panic!("{}: still hung after {HUNG_CASE:?}", case_name(call)))
}

fn case_name(call: &AwsCall) -> String {
    format!("{}, call {} ({})", call.step, call.nth, call.operation)
}

fn call_names(calls: &[AwsCall]) -> Vec<String> {
    calls
        .iter()
        .map(|c| format!("{} {}", c.step, c.operation))
        .collect()
}

/// On a cold function for every call it can make, then on a warm one (the steps of a rotation on
/// one Lambda instance) for every call that makes: fewer, since repeated version reads are
/// answered from memory, and each at a different position in its step.
#[tokio::test]
async fn every_aws_call_failing_before_or_after_sending_converges() {
    logs::capture();
    let stack = Arc::new(Stack::start().await.unwrap());
    let mut messages = Vec::new();
    let mut counts = Vec::new();
    for (warmth, options) in [
        ("cold", options as fn(usize) -> Options),
        ("warm", warm_options),
    ] {
        let calls = aws_calls(&stack, options).await;
        let mut cases = 0;
        let mut failed_steps = 0;
        for call in &calls {
            for kind in [AwsFaultKind::BeforeSend, AwsFaultKind::AfterSend] {
                cases += 1;
                let (outcome, case_messages) =
                    run_aws_case(&stack, call, kind, options, cases + 1).await;
                failed_steps += usize::from(outcome.step_failed());
                messages.extend(case_messages);
            }
        }
        println!(
            "AWS fault cases, {warmth} function: {cases} ({failed_steps} made the step fail); calls: {:?}",
            call_names(&calls)
        );
        assert!(failed_steps > 0, "{warmth}: no fault made its step fail");
        counts.push((warmth, cases, calls));
    }
    let [(_, cold, cold_calls), (_, warm, warm_calls)] = &counts[..] else {
        unreachable!()
    };
    assert!(*cold >= 20, "the matrix covers every call: {cold_calls:?}");
    assert!(
        warm >= &10 && warm < cold,
        "a warm function makes fewer calls, and the matrix covers them: {warm_calls:?}"
    );
    assert!(
        messages.iter().any(|m| m.severity == "HIGH"),
        "failures are announced"
    );
    assert_no_leaks(&messages);
}

/// The call is sent (and every SDK retry of it re-sent) to a port that accepts and never answers:
/// the production timeouts (`sdk_timeouts`, with the stack's short values) must end it, the step
/// must fail and say so, and Secrets Manager's retries must converge.
#[tokio::test]
async fn every_aws_call_timing_out_converges() {
    logs::capture();
    let started = Instant::now();
    let stack = Arc::new(Stack::start().await.unwrap());
    let calls = aws_calls(&stack, options).await;

    let mut cases = 0;
    let mut attempts = Vec::new();
    let mut example_error = None;
    let mut messages = Vec::new();
    for call in &calls {
        cases += 1;
        let name = case_name(call);
        let (outcome, case_messages) =
            run_hang_case(&stack, call, AwsFaultKind::Timeout, cases + 1).await;
        attempts.push(outcome.fired.as_ref().map_or(0, |f| f.attempts));
        if call.operation == "Publish" {
            // Publishing is best effort: a notification that cannot be sent never fails a rotation.
            assert!(
                !outcome.step_failed(),
                "{name}: a hung Publish failed the step: {:?}",
                outcome.step_error
            );
        } else {
            let error = outcome
                .step_error
                .unwrap_or_else(|| panic!("{name}: the step succeeded though the call hung"));
            example_error.get_or_insert_with(|| error.clone());
            assert!(
                error.contains(&format!("{} failed", call.operation)) && error.contains("timeout"),
                "{name}: the step's error does not say the call timed out: {error}"
            );
            assert!(
                case_messages.iter().any(|m| m.severity == "HIGH"
                    && m.body.contains(call.step.as_str())
                    && m.body.contains("timeout")),
                "{name}: the timeout was not announced with severity HIGH: {case_messages:?}"
            );
        }
        messages.extend(case_messages);
    }
    println!(
        "AWS timeout cases: {cases} (attempts per timed-out call: {attempts:?}); {:.1} s; e.g. {}",
        started.elapsed().as_secs_f64(),
        example_error.unwrap_or_default()
    );
    assert!(cases >= 10, "the matrix covers every call: {calls:?}");
    assert_no_leaks(&messages);
}

/// The call's first attempt reaches moto, which applies it, but the answer never comes back: the
/// attempt timeout fires and the SDK sends the call again (moto sees it twice: a stage moved
/// twice, a value or parameter put twice, a message published twice). The service did what was
/// asked, so the step must not fail for it (a retried stage move is refused because AWSCURRENT
/// already moved: finishSecret must see that), and the rotation must end with the invariants held.
#[tokio::test]
async fn every_aws_call_applied_then_hanging_converges() {
    logs::capture();
    let started = Instant::now();
    let stack = Arc::new(Stack::start().await.unwrap());
    let calls = aws_calls(&stack, options).await;

    let mut cases = 0;
    let mut failed = Vec::new();
    let mut statuses = Vec::new();
    let mut messages = Vec::new();
    for call in &calls {
        cases += 1;
        let name = case_name(call);
        let (outcome, case_messages) =
            run_hang_case(&stack, call, AwsFaultKind::AppliedThenHang, cases + 1).await;
        let fired = outcome.fired.clone().expect("the fault fired");
        let status = fired
            .service_answered
            .unwrap_or_else(|| panic!("{name}: moto never answered the relayed call: {fired:?}"));
        // A read may be answered "not found" (the pending version before createSecret makes it);
        // a write in a clean rotation succeeds, so moto applied it.
        let is_read = ["Get", "Describe", "List"]
            .iter()
            .any(|verb| call.operation.starts_with(verb));
        assert!(
            is_read || (200..300).contains(&status),
            "{name}: moto did not apply the relayed call: {fired:?}"
        );
        statuses.push(status);
        assert!(
            fired.attempts >= 2,
            "{name}: the SDK did not send the applied call again: {fired:?}"
        );
        if let Some(error) = &outcome.step_error {
            // Only the first attempt is lost: the SDK's retry is answered, whatever it says.
            assert!(
                !error.contains("timeout"),
                "{name}: the retry of the applied call was not answered: {error}"
            );
            failed.push(format!("{name}: {error}"));
        }
        messages.extend(case_messages);
    }
    println!(
        "AWS applied-then-hang cases: {cases} ({} made the step fail); moto's answers to the \
         relayed calls: {statuses:?}; {:.1} s; calls: {:?}; failed: {failed:#?}",
        failed.len(),
        started.elapsed().as_secs_f64(),
        call_names(&calls)
    );
    assert!(cases >= 10, "the matrix covers every call: {calls:?}");
    assert!(
        failed.is_empty(),
        "a call the service applied failed its step: {failed:#?}"
    );
    assert_no_leaks(&messages);
}

#[tokio::test]
async fn every_snowflake_statement_failing_hanging_or_dropping_converges() {
    logs::capture();
    let stack = Arc::new(Stack::start().await.unwrap());
    // Which statements each step runs, from a clean rotation.
    let baseline = Scenario::new(stack.clone(), warm_options(0)).await.unwrap();
    let token = baseline.start_rotation().await.unwrap();
    let mut patterns = Vec::new();
    for step in STEPS {
        let seen = baseline.emulator.requests().len();
        baseline.invoke(step, &token).await.unwrap();
        let mut kinds: Vec<String> = baseline.emulator.requests()[seen..]
            .iter()
            .filter_map(|r| r.statement.as_deref().map(statement_pattern))
            .collect();
        kinds.dedup();
        kinds.sort();
        kinds.dedup();
        patterns.push((step, kinds));
    }

    let mut cases = 0;
    let mut failed_steps = 0;
    let mut messages = Vec::new();
    for (step, kinds) in &patterns {
        for pattern in kinds {
            let faults = [
                Fault::Status {
                    status: 500,
                    count: 2,
                    statement_pattern: Some(pattern.clone()),
                },
                Fault::Hang {
                    count: 1,
                    statement_pattern: Some(pattern.clone()),
                },
                Fault::DropAfterExecute {
                    count: 2,
                    statement_pattern: Some(pattern.clone()),
                },
            ];
            for fault in faults {
                let s = Scenario::new(stack.clone(), warm_options(cases + 1))
                    .await
                    .unwrap();
                let outcome = run_case(&s, *step, &Injection::Snowflake(fault.clone()))
                    .await
                    .unwrap_or_else(|e| panic!("{step}, {fault:?}: {e:#}"));
                failed_steps += usize::from(outcome.step_failed());
                cases += 1;
                messages.extend(stack.drain_queue(&s.queue_url).await.unwrap());
            }
        }
    }
    println!(
        "Snowflake fault cases: {cases} ({failed_steps} made the step fail); statements per step: {patterns:?}"
    );
    assert!(
        cases >= 12,
        "the matrix covers every statement kind: {patterns:?}"
    );
    assert_no_leaks(&messages);
}
