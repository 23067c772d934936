//! The fault matrix over real HTTP: every AWS call of every step failed before and after it
//! reaches moto, and every Snowflake statement kind of every step answered 500, hung, or executed
//! then dropped; after each, Secrets Manager's retries must converge with invariants 1–5 held.

use std::sync::Arc;

use e2e_tests::aws_faults::AwsFaultKind;
use e2e_tests::driver::STEPS;
use e2e_tests::keys::{self, POOL_SIZE};
use e2e_tests::logs::{self, LeakScanner};
use e2e_tests::matrix::{Injection, run_case, statement_pattern};
use e2e_tests::stack::SnsMessage;
use e2e_tests::{Options, Scenario, Stack};
use snowflake_emulator::Fault;
use snowkey_shared::rotation::Step;

fn options(case: usize) -> Options {
    Options {
        mirror: true,
        key_offset: (case * 3) % POOL_SIZE,
        ..Options::default()
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

#[tokio::test]
async fn every_aws_call_failing_before_or_after_sending_converges() {
    logs::capture();
    let stack = Arc::new(Stack::start().await.unwrap());
    // Which AWS calls each step makes, from a clean rotation.
    let baseline = Scenario::new(stack.clone(), options(0)).await.unwrap();
    let token = baseline.start_rotation().await.unwrap();
    let mut calls = Vec::new();
    for step in STEPS {
        stack.faults.disarm();
        baseline.invoke(step, &token).await.unwrap();
        calls.push((step, stack.faults.operations()));
    }
    stack.faults.disarm();

    let mut cases = 0;
    let mut failed_steps = 0;
    let mut messages = Vec::new();
    for (step, operations) in &calls {
        for (index, operation) in operations.iter().enumerate() {
            for kind in [AwsFaultKind::BeforeSend, AwsFaultKind::AfterSend] {
                let s = Scenario::new(stack.clone(), options(cases + 1))
                    .await
                    .unwrap();
                let injection = Injection::Aws {
                    nth: index + 1,
                    kind,
                };
                let step_failed = run_case(&s, *step, &injection).await.unwrap_or_else(|e| {
                    panic!(
                        "{step}, call {} ({operation}) failed {kind:?}: {e:#}",
                        index + 1
                    )
                });
                failed_steps += usize::from(step_failed);
                cases += 1;
                messages.extend(stack.drain_queue(&s.queue_url).await.unwrap());
            }
        }
    }

    // An encrypted key adds GetRandomPassword to createSecret (slow to decrypt: only that call).
    let baseline = Scenario::new(
        stack.clone(),
        Options {
            encrypted: true,
            ..options(cases + 1)
        },
    )
    .await
    .unwrap();
    let token = baseline.start_rotation().await.unwrap();
    stack.faults.disarm();
    baseline.invoke(Step::Create, &token).await.unwrap();
    let create_calls = stack.faults.operations();
    let nth = 1 + create_calls
        .iter()
        .position(|op| op == "GetRandomPassword")
        .expect("GetRandomPassword is called");
    for kind in [AwsFaultKind::BeforeSend, AwsFaultKind::AfterSend] {
        let s = Scenario::new(
            stack.clone(),
            Options {
                encrypted: true,
                ..options(cases + 1)
            },
        )
        .await
        .unwrap();
        let step_failed = run_case(&s, Step::Create, &Injection::Aws { nth, kind })
            .await
            .unwrap_or_else(|e| panic!("createSecret, GetRandomPassword failed {kind:?}: {e:#}"));
        failed_steps += usize::from(step_failed);
        cases += 1;
        messages.extend(stack.drain_queue(&s.queue_url).await.unwrap());
    }
    println!(
        "AWS fault cases: {cases} ({failed_steps} made the step fail); calls per step: {calls:?}"
    );
    assert!(cases >= 20, "the matrix covers every call: {calls:?}");
    assert!(failed_steps > 0);
    assert!(
        messages.iter().any(|m| m.severity == "HIGH"),
        "failures are announced"
    );
    assert_no_leaks(&messages);
}

#[tokio::test]
async fn every_snowflake_statement_failing_hanging_or_dropping_converges() {
    logs::capture();
    let stack = Arc::new(Stack::start().await.unwrap());
    // Which statements each step runs, from a clean rotation.
    let baseline = Scenario::new(stack.clone(), options(0)).await.unwrap();
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
                let s = Scenario::new(stack.clone(), options(cases + 1))
                    .await
                    .unwrap();
                let step_failed = run_case(&s, *step, &Injection::Snowflake(fault.clone()))
                    .await
                    .unwrap_or_else(|e| panic!("{step}, {fault:?}: {e:#}"));
                failed_steps += usize::from(step_failed);
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
