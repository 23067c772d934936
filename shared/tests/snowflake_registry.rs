//! The key-registry adapter against the Snowflake emulator: reading slots, setting and unsetting
//! keys in self and admin mode, the duplicate-key refusal, and failures that must stay errors.

mod snowflake_harness;

use snowflake_harness::*;
use snowkey_shared::rotation::ports::{KeyRegistry, SetKeyOutcome};
use snowkey_shared::snowflake::{Slot, SnowflakeError, SqlApiKeyRegistry};

fn registry() -> SqlApiKeyRegistry {
    SqlApiKeyRegistry::new(reqwest::Client::new(), fast_policy())
}

#[tokio::test]
async fn a_full_self_rotation_moves_the_user_to_the_new_key() {
    let emulator = emulator().await;
    let registry = registry();
    let old = connection(&emulator, SERVICE_USER, &KEY_A);

    let slots = registry.describe_user(&old, SERVICE_USER).await.unwrap();
    assert_eq!(slots.login_name, SERVICE_USER);
    assert_eq!(slots.user_type.as_deref(), Some("SERVICE"));
    assert_eq!(slots.slot_1, Some(KEY_A.fingerprint()));
    assert_eq!(slots.slot_2, None);

    let outcome = registry
        .set_key(&old, SERVICE_USER, Slot::Two, &KEY_B.public_key())
        .await
        .unwrap();
    assert_eq!(outcome, SetKeyOutcome::Set);
    let new = connection(&emulator, SERVICE_USER, &KEY_B);
    assert_eq!(registry.current_user(&new).await.unwrap(), SERVICE_USER);

    registry
        .unset_key(&new, SERVICE_USER, Slot::One)
        .await
        .unwrap();
    let slots = registry.describe_user(&new, SERVICE_USER).await.unwrap();
    assert_eq!(
        (slots.slot_1, slots.slot_2),
        (None, Some(KEY_B.fingerprint()))
    );
    let err = registry.current_user(&old).await.unwrap_err();
    assert!(
        matches!(err, SnowflakeError::Authentication { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_key_refused_by_policy_is_reported_with_snowflakes_reason() {
    let emulator = emulator().await;
    let registry = registry();
    let conn = connection(&emulator, SERVICE_USER, &KEY_A);
    let outcome = registry
        .set_key(&conn, SERVICE_USER, Slot::Two, &KEY_A.public_key())
        .await
        .unwrap();
    let SetKeyOutcome::RejectedByPolicy { reason } = outcome else {
        panic!("expected a policy rejection, got {outcome:?}");
    };
    assert!(
        reason.starts_with("SQL execution error: New public key rejected by current policy"),
        "{reason}"
    );
    assert_eq!(emulator.user(SERVICE_USER).unwrap().rsa_public_key_2, None);

    emulator.set_options(|o| o.allow_duplicate_keys = true);
    let outcome = registry
        .set_key(&conn, SERVICE_USER, Slot::Two, &KEY_A.public_key())
        .await
        .unwrap();
    assert_eq!(outcome, SetKeyOutcome::Set);
}

#[tokio::test]
async fn a_missing_privilege_is_an_error_and_changes_nothing() {
    let emulator = emulator().await;
    let registry = registry();
    // The service user's role owns only itself, not the admin.
    let conn = connection(&emulator, SERVICE_USER, &KEY_A);
    let err = registry
        .set_key(&conn, ADMIN_USER, Slot::Two, &KEY_B.public_key())
        .await
        .unwrap_err();
    assert!(matches!(err, SnowflakeError::Sql { .. }), "{err:?}");
    assert_eq!(emulator.user(ADMIN_USER).unwrap().rsa_public_key_2, None);
}

#[tokio::test]
async fn an_admin_manages_users_whose_names_need_quoting() {
    let emulator = emulator().await;
    let registry = registry();
    let admin = connection(&emulator, ADMIN_USER, &KEY_C);
    for name in [QUOTE_USER, SEMICOLON_USER] {
        let outcome = registry
            .set_key(&admin, name, Slot::One, &KEY_B.public_key())
            .await
            .unwrap();
        assert_eq!(outcome, SetKeyOutcome::Set);
        assert_eq!(
            emulator.user(name).unwrap().rsa_public_key_fp.as_deref(),
            Some(KEY_B.fingerprint().as_str())
        );
        let slots = registry.describe_user(&admin, name).await.unwrap();
        assert_eq!(slots.slot_1, Some(KEY_B.fingerprint()));
        registry.unset_key(&admin, name, Slot::One).await.unwrap();
        assert_eq!(emulator.user(name).unwrap().rsa_public_key, None);
    }
    assert_eq!(
        emulator
            .user(ADMIN_USER)
            .unwrap()
            .rsa_public_key_fp
            .as_deref(),
        Some(KEY_C.fingerprint().as_str())
    );
}

#[tokio::test]
async fn a_user_name_with_a_newline_is_refused_before_any_request() {
    let emulator = emulator().await;
    let registry = registry();
    let admin = connection(&emulator, ADMIN_USER, &KEY_C);
    let err = registry
        .describe_user(&admin, "svc\nuser")
        .await
        .unwrap_err();
    assert!(
        matches!(err, SnowflakeError::InvalidIdentifier { .. }),
        "{err:?}"
    );
    assert!(emulator.requests().is_empty());
}

#[test]
fn set_key_sql_carries_the_one_line_body_between_quotes() {
    let key = KEY_B.public_key();
    let statement =
        snowkey_shared::snowflake::statements::set_public_key("svc\"x", Slot::Two, &key).unwrap();
    let body = key.to_snowflake_body();
    assert_eq!(
        statement.sql(),
        format!("ALTER USER \"svc\"\"x\" SET RSA_PUBLIC_KEY_2 = '{body}'")
    );
    assert!(!body.contains('\n') && !body.contains("BEGIN"));
}

#[tokio::test]
async fn a_user_named_in_lower_case_reaches_the_user_created_unquoted() {
    // Secrets often spell the user as `svc_loader`; Snowflake stored it as SVC_LOADER.
    let emulator = emulator().await;
    let registry = registry();
    let lower = SERVICE_USER.to_lowercase();
    let conn = connection(&emulator, &lower, &KEY_A);
    let slots = registry.describe_user(&conn, &lower).await.unwrap();
    assert_eq!(slots.name, SERVICE_USER);
    let outcome = registry
        .set_key(&conn, &lower, Slot::Two, &KEY_B.public_key())
        .await
        .unwrap();
    assert_eq!(outcome, SetKeyOutcome::Set);
    assert_eq!(
        emulator
            .user(SERVICE_USER)
            .unwrap()
            .rsa_public_key_2_fp
            .as_deref(),
        Some(KEY_B.fingerprint().as_str())
    );
    registry.unset_key(&conn, &lower, Slot::Two).await.unwrap();
    assert_eq!(emulator.user(SERVICE_USER).unwrap().rsa_public_key_2, None);
}
