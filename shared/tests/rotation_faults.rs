//! The fault matrix: for every port call of a full rotation, fail it (a) before it takes effect and
//! (b) after it took effect (a crash before the function returns); then retry the rotation as
//! Secrets Manager does. Invariants 1, 2 and 5 are checked after every step, 3 at the end.

mod rotation_common;

use rotation_common::*;
use snowkey_shared::rotation::{Stage, Step};

/// The port calls of one clean rotation under `setup`, in order.
async fn calls_of_a_rotation(setup: Setup) -> Vec<&'static str> {
    let world = World::new(setup);
    let plan = FaultPlan::new(0, FaultMode::Before);
    let token = world.store.begin_rotation(SECRET);
    let mut set_returned = false;
    rotate(
        &world,
        &world.faulty_ports(&plan),
        &token,
        &mut set_returned,
    )
    .await
    .unwrap();
    plan.log.lock().unwrap().clone()
}

/// Injects one fault at call `k`, retries until the rotation completes, then rotates once more.
async fn run_case(setup: Setup, k: usize, mode: FaultMode, then_rotate_again: bool) {
    let world = World::new(setup);
    let plan = FaultPlan::new(k, mode);
    let ports = world.faulty_ports(&plan);
    let token = world.store.begin_rotation(SECRET);
    let original = pool_key(0).fingerprint();
    let mut set_returned = false;
    let first = rotate(&world, &ports, &token, &mut set_returned).await;
    let failed_step = match &first {
        // A fault in Publish is logged, not fatal; any other fault must fail its step.
        Ok(_) => None,
        Err((step, _)) => Some(*step),
    };
    plan.disarm();
    // Secrets Manager retries the whole rotation with the same token.
    rotate(&world, &ports, &token, &mut set_returned)
        .await
        .unwrap_or_else(|(step, e)| {
            panic!("{setup:?} k={k} {mode:?}: retry failed in {step}: {e}")
        });
    let context = format!("{setup:?} k={k} {mode:?} (first failure in {failed_step:?})");
    world.assert_finished(&context);
    assert_eq!(
        world.store.version_at(SECRET, Stage::Current).as_deref(),
        Some(token.as_str()),
        "{context}"
    );
    assert_ne!(
        world.fingerprint_at(Stage::Current),
        Some(original),
        "{context}: the key was rotated"
    );
    assert_notifications_clean(&world);
    if then_rotate_again {
        // The state left behind must support the next rotation.
        rotate_ok(&world).await;
    }
}

#[tokio::test]
async fn every_call_failing_before_or_after_it_takes_effect_converges() {
    let mut cases = 0;
    let mut per_setup = Vec::new();
    for admin_mode in [false, true] {
        for refuse_duplicates in [false, true] {
            for grace_mode in [false, true] {
                let setup = Setup {
                    admin_mode,
                    refuse_duplicates,
                    grace_mode,
                    encrypted: false,
                    mirror: true,
                };
                let calls = calls_of_a_rotation(setup).await;
                for k in 1..=calls.len() {
                    for mode in [FaultMode::Before, FaultMode::After] {
                        run_case(setup, k, mode, true).await;
                        cases += 1;
                    }
                }
                per_setup.push((setup, calls));
            }
        }
    }
    for (setup, calls) in &per_setup {
        println!("{setup:?}: {} calls: {}", calls.len(), calls.join(", "));
    }
    println!("rotation fault matrix: {cases} fault cases run");
    assert!(
        cases >= 8 * 2 * 10,
        "every setup makes at least 10 calls: {cases}"
    );
}

#[tokio::test]
async fn encrypted_rotation_converges_after_a_fault_in_each_step() {
    // Encrypted keys cost a slow key derivation per read, so only the calls that write are faulted.
    let setup = Setup {
        encrypted: true,
        mirror: true,
        ..Setup::default()
    };
    let calls = calls_of_a_rotation(setup).await;
    let writes: Vec<usize> = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            matches!(
                **c,
                "PutSecretValue"
                    | "UpdateSecretVersionStage"
                    | "ALTER USER SET"
                    | "ALTER USER UNSET"
                    | "PutParameter"
            )
        })
        .map(|(i, _)| i + 1)
        .collect();
    assert!(writes.len() >= 5, "{calls:?}");
    for k in &writes {
        run_case(setup, *k, FaultMode::After, false).await;
    }
    println!("encrypted fault cases: {}", writes.len());
}

async fn move_call() -> usize {
    let calls = calls_of_a_rotation(Setup::default()).await;
    calls
        .iter()
        .position(|c| *c == "UpdateSecretVersionStage")
        .unwrap()
        + 1
}

#[tokio::test]
async fn a_crash_after_the_move_is_completed_by_finish_finding_the_token_current() {
    let world = World::new(Setup::default());
    let token = world.store.begin_rotation(SECRET);
    let plan = FaultPlan::crash_after(move_call().await);
    let ports = world.faulty_ports(&plan);
    let mut set_returned = false;
    let (step, _) = rotate(&world, &ports, &token, &mut set_returned)
        .await
        .unwrap_err();
    assert_eq!(step, Step::Finish);
    assert_eq!(
        world.store.version_at(SECRET, Stage::Current).as_deref(),
        Some(token.as_str()),
        "the move happened"
    );
    assert_eq!(
        world.registry.authenticating(USER).len(),
        2,
        "the old key is still registered"
    );
    plan.disarm();
    snowkey_shared::rotation::run_step(&ports, &world.config, &event("finishSecret", &token))
        .await
        .unwrap();
    world.assert_finished("finish re-run after the move");
}

/// The SDK retries a move whose answer was lost; the retry is refused because AWSCURRENT already
/// left the old version. finishSecret looks, sees the move done, and completes in the same call.
#[tokio::test]
async fn a_move_whose_answer_was_lost_is_recognised_and_finish_completes() {
    let world = World::new(Setup::default());
    let token = world.store.begin_rotation(SECRET);
    let plan = FaultPlan::new(move_call().await, FaultMode::After);
    let ports = world.faulty_ports(&plan);
    let mut set_returned = false;
    rotate(&world, &ports, &token, &mut set_returned)
        .await
        .unwrap();
    world.assert_finished("finish after the lost answer");
}
