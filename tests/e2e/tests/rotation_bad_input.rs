//! Bad input through the rotation function over real HTTP (moto + the Snowflake emulator): a secret
//! value that is not JSON or lacks a field, an unknown step, a token that is not a pending version,
//! a user Snowflake does not know, a missing privilege, a slot holding a key this secret cannot
//! vouch for, a corrupt or wrongly encrypted current key. Each must stop the step with an error
//! that names the problem, leave every secret version and every Snowflake slot as it was, publish
//! "rotation failed", and leak no key, passphrase or JWT ([`expect_refusal`] checks all of that
//! around the one failing invocation; the test checks the wording).

use std::sync::Arc;

use e2e_tests::bad_input::{
    Snapshot, UserChange, edited_current, encrypted_pem, expect_refusal, invoke_raw, put_current,
    reseed_user,
};
use e2e_tests::driver::STEPS;
use e2e_tests::keys::PooledKeys;
use e2e_tests::logs;
use e2e_tests::{Options, Scenario, Stack};
use snowkey_shared::rotation::Step;

const NO_SUCH_USER: &str = "SVC_DROPPED_LAST_WEEK";

async fn scenario(options: Options) -> Scenario {
    logs::capture();
    let stack = Arc::new(Stack::start().await.expect("moto"));
    Scenario::new(stack, options).await.expect("scenario")
}

fn with_offset(key_offset: usize) -> Options {
    Options {
        key_offset,
        ..Options::default()
    }
}

/// Every word must appear in the error; the message says which was missing.
fn assert_names(error: &str, words: &[&str]) {
    for word in words {
        assert!(
            error.contains(word),
            "the error does not say {word:?}: {error}"
        );
    }
}

/// Stores `value` as AWSCURRENT, starts a rotation, and expects createSecret to refuse it.
async fn create_secret_refuses(s: &Scenario, value: &str) -> String {
    put_current(s, value).await.unwrap();
    let token = s.start_rotation().await.unwrap();
    let error = expect_refusal(s, "createSecret", &token).await.unwrap();
    let after = Snapshot::take(s).await.unwrap();
    assert_eq!(
        after.own(s)[&token].value,
        None,
        "nothing stored as AWSPENDING"
    );
    error
}

// 1. The current value is not JSON.

#[tokio::test]
async fn a_current_value_that_is_not_json_is_refused() {
    let s = scenario(with_offset(0)).await;
    let error = create_secret_refuses(&s, "SVC_LOADER / see the wiki for the key").await;
    assert_names(
        &error,
        &["createSecret", "AWSCURRENT", "(value)", "not a JSON object"],
    );

    // Cut mid-way through the private key: the error must point at the spot without quoting it.
    let s = scenario(with_offset(1)).await;
    let whole = edited_current(&s, |_| {}).await.unwrap();
    let cut = &whole[..whole.find("private_key").unwrap() + 200];
    let error = create_secret_refuses(&s, cut).await;
    assert_names(
        &error,
        &[
            "createSecret",
            "AWSCURRENT",
            "(value)",
            "not valid JSON",
            "line 1, column",
        ],
    );
}

// 2. A required field is missing.

async fn a_missing_field_is_named(field: &str, key_offset: usize) {
    let s = scenario(with_offset(key_offset)).await;
    let value = edited_current(&s, |m| {
        m.remove(field);
    })
    .await
    .unwrap();
    let error = create_secret_refuses(&s, &value).await;
    assert_names(
        &error,
        &[
            &s.secret_id,
            "createSecret",
            "AWSCURRENT",
            &format!("field `{field}`"),
            "missing",
        ],
    );
}

#[tokio::test]
async fn a_missing_user_is_named() {
    a_missing_field_is_named("user", 2).await;
}

#[tokio::test]
async fn a_missing_private_key_is_named() {
    a_missing_field_is_named("private_key", 3).await;
}

#[tokio::test]
async fn a_missing_account_is_named() {
    a_missing_field_is_named("account", 4).await;
}

// 3. An unknown step.

#[tokio::test]
async fn an_unknown_step_is_named_and_the_known_ones_listed() {
    let s = scenario(with_offset(5)).await;
    let token = s.start_rotation().await.unwrap();
    for step in ["rotateSecret", "CreateSecret"] {
        let error = expect_refusal(&s, step, &token).await.unwrap();
        assert_names(
            &error,
            &[
                &s.secret_id,
                "unknown step",
                &format!("\"{step}\""),
                "createSecret, setSecret, testSecret or finishSecret",
            ],
        );
    }
    // The rotation itself is unharmed: Secrets Manager's next attempt goes through.
    s.rotate_once(&token).await.unwrap();
    s.check_finished(&token).await.unwrap();
}

// 4. A token that is not a version of the secret, or not its pending one.

#[tokio::test]
async fn a_token_that_is_not_a_pending_version_is_refused_by_every_step() {
    let s = scenario(with_offset(6)).await;
    let before = Snapshot::take(&s).await.unwrap();
    let (first_version, _) = before
        .own(&s)
        .iter()
        .find(|(_, v)| v.stages.contains("AWSCURRENT"))
        .unwrap();
    let first_version = first_version.clone();
    // The same value again: a new AWSCURRENT, the first version becomes AWSPREVIOUS.
    let value = edited_current(&s, |_| {}).await.unwrap();
    put_current(&s, &value).await.unwrap();
    let token = s.start_rotation().await.unwrap();

    let stranger = uuid::Uuid::new_v4().to_string();
    for step in STEPS {
        let error = expect_refusal(&s, step.as_str(), &stranger).await.unwrap();
        assert_names(
            &error,
            &[step.as_str(), &stranger, "is not a version of this secret"],
        );
        let error = expect_refusal(&s, step.as_str(), &first_version)
            .await
            .unwrap();
        assert_names(
            &error,
            &[step.as_str(), &first_version, "is not labelled AWSPENDING"],
        );
    }
    s.rotate_once(&token).await.unwrap();
    s.check_finished(&token).await.unwrap();
}

// 5. The secret names a user Snowflake does not have.

/// createSecret does not talk to Snowflake, so it stores AWSPENDING; the refusal comes in setSecret,
/// and finishSecret must not move AWSCURRENT either.
async fn unknown_user_refused_in_set_and_finish(s: &Scenario) -> Vec<String> {
    let value = edited_current(s, |m| {
        m.insert("user".into(), NO_SUCH_USER.into());
    })
    .await
    .unwrap();
    put_current(s, &value).await.unwrap();
    let token = s.start_rotation().await.unwrap();
    invoke_raw(s, Step::Create.as_str(), &token).await.unwrap();
    let mut errors = Vec::new();
    for step in [Step::Set, Step::Finish] {
        let error = expect_refusal(s, step.as_str(), &token).await.unwrap();
        errors.push(error);
    }
    errors
}

#[tokio::test]
async fn a_user_that_does_not_exist_is_named_and_nothing_changes_in_self_mode() {
    let s = scenario(with_offset(8)).await;
    let errors = unknown_user_refused_in_set_and_finish(&s).await;
    assert_names(
        &errors[0],
        &[
            "setSecret",
            "the AWSCURRENT key does not log in as user",
            NO_SUCH_USER,
            "that the user is the LOGIN_NAME",
        ],
    );
    assert_names(
        &errors[1],
        &[
            "finishSecret",
            "does not log in as user",
            NO_SUCH_USER,
            "Snowflake rejected the key-pair JWT",
        ],
    );
}

#[tokio::test]
async fn a_user_that_does_not_exist_is_named_in_admin_mode() {
    let s = scenario(Options {
        admin: true,
        ..with_offset(9)
    })
    .await;
    let errors = unknown_user_refused_in_set_and_finish(&s).await;
    for (error, step) in errors.iter().zip(["setSecret", "finishSecret"]) {
        assert_names(
            error,
            &[
                step,
                &format!("does not log in as user {NO_SUCH_USER}"),
                &format!("User '{NO_SUCH_USER}' does not exist"),
            ],
        );
    }
}

// 6. A missing privilege: the role that runs ALTER USER lacks MODIFY PROGRAMMATIC AUTHENTICATION
// METHODS on the service user.

async fn set_secret_refused_for_lack_of_privilege(s: &Scenario, who_alters: &str) {
    // The role that held the grant is no longer the user's default: its sessions run as PUBLIC.
    reseed_user(
        s,
        who_alters,
        UserChange {
            default_role: Some(None),
            ..UserChange::default()
        },
    )
    .await
    .unwrap();
    let token = s.start_rotation().await.unwrap();
    invoke_raw(s, Step::Create.as_str(), &token).await.unwrap();
    let error = expect_refusal(s, Step::Set.as_str(), &token).await.unwrap();
    assert_names(
        &error,
        &[
            "setSecret",
            &format!("Insufficient privileges to operate on user '{}'", s.user),
        ],
    );
    // Secrets Manager would stop here; a finishSecret anyway must not move AWSCURRENT.
    let error = expect_refusal(s, Step::Finish.as_str(), &token)
        .await
        .unwrap();
    assert_names(
        &error,
        &[
            "finishSecret",
            "AWSPENDING key",
            "is not registered",
            "setSecret has not completed",
        ],
    );
}

#[tokio::test]
async fn a_user_without_the_privilege_on_itself_is_refused_in_self_mode() {
    let s = scenario(with_offset(10)).await;
    let user = s.user.clone();
    set_secret_refused_for_lack_of_privilege(&s, &user).await;
}

#[tokio::test]
async fn an_admin_without_the_privilege_is_refused_in_admin_mode() {
    let s = scenario(Options {
        admin: true,
        ..with_offset(11)
    })
    .await;
    let admin = s.admin.as_ref().unwrap().user.clone();
    set_secret_refused_for_lack_of_privilege(&s, &admin).await;
}

// 7. A slot holds a key that belongs to no version of the secret.

/// The user's slots set to `slots`, a rotation started and its key stored: setSecret must refuse.
async fn set_secret_refused_with_slots(s: &Scenario, slots: UserChange) -> String {
    reseed_user(s, &s.user, slots).await.unwrap();
    let token = s.start_rotation().await.unwrap();
    invoke_raw(s, Step::Create.as_str(), &token).await.unwrap();
    expect_refusal(s, Step::Set.as_str(), &token).await.unwrap()
}

#[tokio::test]
async fn set_secret_never_overwrites_a_key_it_cannot_attribute() {
    // The free slot (slot 2) holds an outsider's key.
    let s = scenario(with_offset(12)).await;
    let outsider = s.keys.take();
    let slots = UserChange {
        slot_2: Some(Some(outsider.public_key())),
        ..UserChange::default()
    };
    let error = set_secret_refused_with_slots(&s, slots).await;
    assert_names(
        &error,
        &[
            "setSecret",
            &format!(
                "user {} has key {} in RSA_PUBLIC_KEY_2, which belongs to none",
                s.user,
                outsider.fingerprint()
            ),
        ],
    );

    // The current key sits in slot 2 and an outsider in slot 1, the slot setSecret would write.
    let s = scenario(with_offset(13)).await;
    let first = PooledKeys::new(13).take();
    let outsider = s.keys.take();
    let slots = UserChange {
        slot_1: Some(Some(outsider.public_key())),
        slot_2: Some(Some(first.public_key())),
        ..UserChange::default()
    };
    let error = set_secret_refused_with_slots(&s, slots).await;
    assert_names(
        &error,
        &[
            "setSecret",
            &format!("has key {} in RSA_PUBLIC_KEY,", outsider.fingerprint()),
        ],
    );
}

#[tokio::test]
async fn finish_secret_never_removes_a_key_it_cannot_attribute() {
    // A finished rotation; then someone adds a key to the empty slot 2 and Secrets Manager
    // re-runs finishSecret (the token is already AWSCURRENT), whose promotion would unset slot 2.
    let s = scenario(with_offset(14)).await;
    let token = s.rotate_checked().await.unwrap();
    // Refused duplicates (the default) leave the new key in slot 2 and slot 1 empty.
    let finished = s.emulator.user(&s.user).unwrap();
    let outsider = s.keys.take();
    let (change, slot) = match finished.rsa_public_key_fp {
        None => (
            UserChange {
                slot_1: Some(Some(outsider.public_key())),
                ..UserChange::default()
            },
            "RSA_PUBLIC_KEY,",
        ),
        Some(_) => (
            UserChange {
                slot_2: Some(Some(outsider.public_key())),
                ..UserChange::default()
            },
            "RSA_PUBLIC_KEY_2,",
        ),
    };
    reseed_user(&s, &s.user, change).await.unwrap();
    let error = expect_refusal(&s, Step::Finish.as_str(), &token)
        .await
        .unwrap();
    assert_names(
        &error,
        &[
            "finishSecret",
            &format!(
                "user {} has key {} in {slot} which belongs to none",
                s.user,
                outsider.fingerprint()
            ),
            "refusing to overwrite or remove it",
        ],
    );
}

// 8. The current private key is corrupt, or encrypted under another passphrase.

#[tokio::test]
async fn a_corrupt_current_key_is_refused_before_anything_is_stored() {
    let s = scenario(with_offset(15)).await;
    let value = edited_current(&s, |m| {
        let pem = m["private_key"].as_str().unwrap().replace("MII", "XYZ");
        m.insert("private_key".into(), pem.into());
    })
    .await
    .unwrap();
    let error = create_secret_refuses(&s, &value).await;
    assert_names(
        &error,
        &[
            "createSecret",
            "AWSCURRENT",
            "field `private_key`",
            "malformed key",
        ],
    );

    let s = scenario(with_offset(0)).await;
    let value = edited_current(&s, |m| {
        m.insert(
            "private_key".into(),
            "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbA==\n-----END PRIVATE KEY-----\n"
                .into(),
        );
    })
    .await
    .unwrap();
    let error = create_secret_refuses(&s, &value).await;
    assert_names(
        &error,
        &["createSecret", "field `private_key`", "malformed key"],
    );
}

#[tokio::test]
async fn a_wrongly_encrypted_current_key_is_refused_before_anything_is_stored() {
    // The registered key, encrypted; the secret carries another passphrase, or none.
    let s = scenario(with_offset(1)).await;
    let first = PooledKeys::new(1).take();
    let pem = encrypted_pem(&first, "the-passphrase-it-was-encrypted-with");
    let value = edited_current(&s, |m| {
        m.insert("private_key".into(), pem.clone().into());
        m.insert(
            "private_key_passphrase".into(),
            "a-passphrase-from-another-key".into(),
        );
    })
    .await
    .unwrap();
    let error = create_secret_refuses(&s, &value).await;
    assert_names(
        &error,
        &[
            "createSecret",
            "AWSCURRENT",
            "field `private_key`",
            "could not decrypt the private key: wrong passphrase",
        ],
    );
    assert!(
        !error.contains("the-passphrase-it-was-encrypted-with"),
        "{error}"
    );

    let s = scenario(with_offset(1)).await;
    let value = edited_current(&s, |m| {
        m.insert("private_key".into(), pem.into());
    })
    .await
    .unwrap();
    let error = create_secret_refuses(&s, &value).await;
    assert_names(
        &error,
        &[
            "createSecret",
            "field `private_key`",
            "encrypted but no passphrase",
        ],
    );
}

// What the refusals above rely on: the snapshot and the leak scan do see a change and a leak.

#[tokio::test]
async fn the_snapshot_sees_stage_value_and_slot_changes_and_the_scanner_sees_keys() {
    let s = scenario(with_offset(2)).await;
    let before = Snapshot::take(&s).await.unwrap();
    let current_text = edited_current(&s, |_| {}).await.unwrap();
    let pem = current_text.split("-----").nth(2).unwrap();
    let scanner = before.leak_scanner();
    assert!(!scanner.scan("a slice of the current key", pem).is_empty());

    let token = s.start_rotation().await.unwrap();
    let pending = Snapshot::take(&s).await.unwrap();
    assert_ne!(pending, before, "a new AWSPENDING version");
    s.stack
        .secrets
        .put_secret_value()
        .secret_id(&s.secret_id)
        .client_request_token(&token)
        .secret_string(&current_text)
        .version_stages("AWSPENDING")
        .send()
        .await
        .unwrap();
    let stored = Snapshot::take(&s).await.unwrap();
    assert_ne!(stored, pending, "a value stored as AWSPENDING");

    reseed_user(
        &s,
        &s.user,
        UserChange {
            slot_2: Some(Some(s.keys.take().public_key())),
            ..UserChange::default()
        },
    )
    .await
    .unwrap();
    assert_ne!(
        Snapshot::take(&s).await.unwrap(),
        stored,
        "a key set in slot 2"
    );
}

#[tokio::test]
async fn a_missing_privilege_is_named_with_who_lacks_it() {
    let s = scenario(Options {
        admin: true,
        ..with_offset(3)
    })
    .await;
    let admin = s.admin.as_ref().unwrap().user.clone();
    reseed_user(
        &s,
        &admin,
        UserChange {
            default_role: Some(None),
            ..UserChange::default()
        },
    )
    .await
    .unwrap();
    let token = s.start_rotation().await.unwrap();
    invoke_raw(&s, Step::Create.as_str(), &token).await.unwrap();
    let error = expect_refusal(&s, Step::Set.as_str(), &token)
        .await
        .unwrap();
    assert_names(
        &error,
        &["MODIFY PROGRAMMATIC AUTHENTICATION METHODS", &admin],
    );
}
