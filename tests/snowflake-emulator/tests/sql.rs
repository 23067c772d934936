//! The SQL subset: key slots, privileges, the key policy, DESC USER, SHOW USERS, context
//! functions, identifiers, errors and multi-statement requests (reference §2.3–§3).

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::*;
use serde_json::{Value, json};

const REJECTED: &str =
    "SQL execution error:\nNew public key rejected by current policy. Reason: 'Invalid Public key'";

fn assert_sql_error(status: u16, body: &Value, code: &str, sql_state: &str) {
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        (body["code"].as_str(), body["sqlState"].as_str()),
        (Some(code), Some(sql_state)),
        "{body}"
    );
    assert!(body["statementHandle"].is_string(), "{body}");
}

/// The PKCS#1 RSAPublicKey inside a 2048-bit SPKI (after its fixed 24-byte header).
fn pkcs1_body(spki_body: &str) -> String {
    let der = STANDARD.decode(spki_body).unwrap();
    STANDARD.encode(&der[24..])
}

#[tokio::test]
async fn describe_user_has_four_text_columns_and_null_for_unset() {
    let emu = start().await;
    let k = keys();
    let (status, body) = run_as(&emu, "ADMIN", &k[2], "describe user svc_dbt").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["code"].as_str(), body["sqlState"].as_str()),
        (Some("090001"), Some("00000"))
    );
    assert_eq!(body["message"], "Statement executed successfully.");
    let handle = body["statementHandle"].as_str().unwrap();
    let handle_shape =
        regex::Regex::new(r"^01[0-9a-f]{6}-0000-[0-9a-f]{4}-0000-[0-9a-f]{12}$").unwrap();
    assert!(handle_shape.is_match(handle), "{handle}");
    assert_eq!(
        body["statementStatusUrl"],
        format!("/api/v2/statements/{handle}")
    );
    assert!(body["createdOn"].as_i64().unwrap() > 1_700_000_000_000);
    let meta = &body["resultSetMetaData"];
    let names: Vec<&str> = meta["rowType"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["property", "value", "default", "description"]);
    assert!(
        meta["rowType"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["type"] == "text")
    );
    assert_eq!(meta["format"], "jsonv2");
    assert_eq!(meta["numRows"], body["data"].as_array().unwrap().len());
    assert_eq!(meta["partitionInfo"][0]["rowCount"], meta["numRows"]);
    assert_eq!(property(&body, "NAME"), "SVC_DBT");
    assert_eq!(property(&body, "LOGIN_NAME"), "SVC_DBT");
    assert_eq!(property(&body, "TYPE"), "SERVICE");
    assert_eq!(property(&body, "DEFAULT_ROLE"), "SVC_ROLE");
    assert_eq!(property(&body, "RSA_PUBLIC_KEY"), k[0].body);
    assert_eq!(property(&body, "RSA_PUBLIC_KEY_FP"), k[0].fingerprint);
    assert_ne!(property(&body, "RSA_PUBLIC_KEY_LAST_SET_TIME"), "null");
    for unset in [
        "RSA_PUBLIC_KEY_2",
        "RSA_PUBLIC_KEY_2_FP",
        "RSA_PUBLIC_KEY_2_LAST_SET_TIME",
    ] {
        assert_eq!(property(&body, unset), "null", "{unset}");
    }
    // A user may describe itself; a role without privileges on another user may not.
    assert_eq!(
        run_as(&emu, "SVC_DBT", &k[0], "DESC USER SVC_DBT").await.0,
        200
    );
    let (status, body) = run_as(&emu, "SVC_DBT", &k[0], "DESC USER ADMIN").await;
    assert_sql_error(status, &body, "002003", "02000");
}

#[tokio::test]
async fn set_and_unset_change_the_slots_and_alter_answers_one_status_row() {
    let emu = start().await;
    let k = keys();
    let set = format!("alter user SVC_DBT set rsa_public_key_2 = '{}'", k[1].body);
    let (status, body) = run_as(&emu, "ROTATOR", &k[1], &set).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["resultSetMetaData"]["rowType"][0]["name"], "status");
    assert_eq!(body["data"], json!([["Statement executed successfully."]]));
    let user = emu.user("SVC_DBT").unwrap();
    assert_eq!(
        user.rsa_public_key_2_fp.as_deref(),
        Some(k[1].fingerprint.as_str())
    );
    assert_eq!(
        user.rsa_public_key_fp.as_deref(),
        Some(k[0].fingerprint.as_str())
    );
    assert!(user.rsa_public_key_2_last_set_time.is_some());
    // MPAM changes keys but does not describe: that takes OWNERSHIP (see conformance.rs).
    let (_, desc) = run_as(&emu, "ADMIN", &k[2], "DESC USER SVC_DBT").await;
    assert_eq!(property(&desc, "RSA_PUBLIC_KEY_2_FP"), k[1].fingerprint);

    assert_eq!(
        run_as(
            &emu,
            "ROTATOR",
            &k[1],
            "ALTER USER SVC_DBT UNSET RSA_PUBLIC_KEY"
        )
        .await
        .0,
        200
    );
    let user = emu.user("SVC_DBT").unwrap();
    assert_eq!((user.rsa_public_key, user.rsa_public_key_fp), (None, None));
    assert!(user.rsa_public_key_2.is_some());
    let unset_both = "ALTER USER SVC_DBT UNSET RSA_PUBLIC_KEY, RSA_PUBLIC_KEY_2;";
    assert_eq!(run_as(&emu, "ROTATOR", &k[1], unset_both).await.0, 200);
    assert_eq!(emu.user("SVC_DBT").unwrap().rsa_public_key_2, None);
}

#[tokio::test]
async fn changing_keys_needs_ownership_or_mpam_even_on_oneself() {
    let emu = start().await;
    let k = keys();
    let before = emu.user("SVC_DBT").unwrap();
    let set_own = format!("ALTER USER SVC_DBT SET RSA_PUBLIC_KEY_2 = '{}'", k[1].body);
    let (status, body) = run_as(&emu, "SVC_DBT", &k[0], &set_own).await;
    assert_sql_error(status, &body, "003001", "42501");
    assert_eq!(
        body["message"],
        "SQL access control error:\nInsufficient privileges to operate on user 'SVC_DBT'"
    );
    let logged = emu.requests().pop().unwrap();
    assert_eq!(
        (logged.status, logged.error_code.as_deref()),
        (422, Some("003001"))
    );
    assert_eq!(emu.user("SVC_DBT").unwrap(), before);
    // MPAM on SVC_DBT does not reach ADMIN.
    let (status, body) = run_as(
        &emu,
        "ROTATOR",
        &k[1],
        "ALTER USER ADMIN UNSET RSA_PUBLIC_KEY",
    )
    .await;
    assert_sql_error(status, &body, "003001", "42501");
    assert!(emu.user("ADMIN").unwrap().rsa_public_key.is_some());
    // SELF_ROLE holds MPAM on SELF_SVC itself.
    let set_self = format!("ALTER USER SELF_SVC SET RSA_PUBLIC_KEY_2 = '{}'", k[1].body);
    assert_eq!(run_as(&emu, "SELF_SVC", &k[0], &set_self).await.0, 200);
    // OWNERSHIP works too.
    assert_eq!(
        run_as(
            &emu,
            "ADMIN",
            &k[2],
            "ALTER USER ROTATOR UNSET RSA_PUBLIC_KEY_2"
        )
        .await
        .0,
        200
    );
}

#[tokio::test]
async fn the_role_field_selects_the_current_role() {
    let emu = start().await;
    let k = keys();
    let token = token("ADMIN", &k[2]);
    let statement = "ALTER USER SVC_DBT UNSET RSA_PUBLIC_KEY_2";
    let (status, body) = post_with(
        &emu,
        &token,
        "",
        json!({"statement": statement, "role": "PUBLIC"}),
    )
    .await;
    assert_sql_error(status, &body, "003001", "42501");
    let (status, body) = post_with(
        &emu,
        &token,
        "",
        json!({"statement": "SELECT CURRENT_ROLE()", "role": "SECURITYADMIN"}),
    )
    .await;
    assert_eq!((status, &body["data"]), (200, &json!([["SECURITYADMIN"]])));
    // Role names are case-sensitive in the body, and the role must be granted to the user.
    let (status, _) = post_with(
        &emu,
        &token,
        "",
        json!({"statement": statement, "role": "securityadmin"}),
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = post_with(
        &emu,
        &token,
        "",
        json!({"statement": statement, "role": "ROTATOR_ROLE"}),
    )
    .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn missing_users_fail_unless_if_exists() {
    let emu = start().await;
    let k = keys();
    let set = format!("ALTER USER NOPE SET RSA_PUBLIC_KEY = '{}'", k[1].body);
    let (status, body) = run_as(&emu, "ADMIN", &k[2], &set).await;
    assert_sql_error(status, &body, "002003", "02000");
    assert_eq!(
        body["message"],
        "SQL compilation error:\nUser 'NOPE' does not exist or not authorized."
    );
    let if_exists = format!(
        "ALTER USER IF EXISTS NOPE SET RSA_PUBLIC_KEY = '{}'",
        k[1].body
    );
    let (status, body) = run_as(&emu, "ADMIN", &k[2], &if_exists).await;
    assert_eq!(
        (status, &body["data"]),
        (200, &json!([["Statement executed successfully."]]))
    );
    assert!(emu.user("NOPE").is_none());
    let (status, body) = run_as(&emu, "ADMIN", &k[2], "DESC USER NOPE").await;
    assert_sql_error(status, &body, "002003", "02000");
    let (status, _) = run_as(
        &emu,
        "ADMIN",
        &k[2],
        "ALTER USER IF EXISTS NOPE UNSET RSA_PUBLIC_KEY",
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn identifiers_fold_unless_quoted_and_doubled_quotes_unescape() {
    let emu = start().await;
    let k = keys();
    let quoted = format!(
        "ALTER USER \"Mixed\"\"Case\" SET RSA_PUBLIC_KEY_2 = '{}'",
        k[0].body
    );
    assert_eq!(run_as(&emu, "ADMIN", &k[2], &quoted).await.0, 200);
    assert_eq!(
        emu.user("Mixed\"Case")
            .unwrap()
            .rsa_public_key_2_fp
            .as_deref(),
        Some(k[0].fingerprint.as_str())
    );
    // Unquoted folds to uppercase; quoted lowercase is another (missing) user.
    assert_eq!(
        run_as(
            &emu,
            "ADMIN",
            &k[2],
            "alter user svc_dbt unset rsa_public_key_2"
        )
        .await
        .0,
        200
    );
    assert_eq!(
        run_as(
            &emu,
            "ADMIN",
            &k[2],
            "ALTER USER \"SVC_DBT\" UNSET RSA_PUBLIC_KEY_2"
        )
        .await
        .0,
        200
    );
    let (status, body) = run_as(
        &emu,
        "ADMIN",
        &k[2],
        "ALTER USER \"svc_dbt\" UNSET RSA_PUBLIC_KEY_2",
    )
    .await;
    assert_sql_error(status, &body, "002003", "02000");
    assert_eq!(
        body["message"],
        "SQL compilation error:\nUser 'svc_dbt' does not exist or not authorized."
    );
    let (status, body) = run_as(&emu, "ADMIN", &k[2], "DESC USER \"Mixed\"\"Case\"").await;
    assert_eq!(status, 200);
    assert_eq!(property(&body, "LOGIN_NAME"), "MIXED_LOGIN");
}

#[tokio::test]
async fn the_key_policy_rejects_anything_but_a_bare_rsa_2048_spki() {
    let emu = start().await;
    let k = keys();
    let pem_multiline = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----",
        k[1].body
    );
    let pem_one_line = format!(
        "-----BEGIN PUBLIC KEY-----{}-----END PUBLIC KEY-----",
        k[1].body
    );
    let candidates = [
        pem_multiline,
        pem_one_line,
        fixture_body("rsa1024.pub"),
        fixture_body("ec_p256.pub"),
        pkcs1_body(&k[1].body),
        format!("{}\n{}", &k[1].body[..64], &k[1].body[64..]),
        "not a key".to_string(),
        "bm90IGEga2V5IGF0IGFsbA==".to_string(),
        k[1].body[..200].to_string(),
    ];
    let before = emu.user("SVC_DBT").unwrap();
    for candidate in candidates {
        let set = format!("ALTER USER SVC_DBT SET RSA_PUBLIC_KEY_2 = '{candidate}'");
        let (status, body) = run_as(&emu, "ADMIN", &k[2], &set).await;
        assert_eq!(status, 422, "{candidate}: {body}");
        assert_eq!(body["message"], REJECTED, "{candidate}");
    }
    assert_eq!(emu.user("SVC_DBT").unwrap(), before);
}

#[tokio::test]
async fn duplicate_keys_across_slots_are_a_switch() {
    let emu = start().await;
    let k = keys();
    let duplicate = format!("ALTER USER SVC_DBT SET RSA_PUBLIC_KEY_2 = '{}'", k[0].body);
    let (status, body) = run_as(&emu, "ADMIN", &k[2], &duplicate).await;
    assert_eq!(status, 422, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.starts_with("SQL execution error:\nNew public key rejected by current policy."),
        "{message}"
    );
    assert!(message.contains("RSA_PUBLIC_KEY"), "{message}");
    assert_eq!(emu.user("SVC_DBT").unwrap().rsa_public_key_2, None);
    // Re-setting the same key in its own slot is not a duplicate.
    let same_slot = format!("ALTER USER SVC_DBT SET RSA_PUBLIC_KEY = '{}'", k[0].body);
    assert_eq!(run_as(&emu, "ADMIN", &k[2], &same_slot).await.0, 200);

    emu.set_options(|o| o.allow_duplicate_keys = true);
    assert_eq!(run_as(&emu, "ADMIN", &k[2], &duplicate).await.0, 200);
    let user = emu.user("SVC_DBT").unwrap();
    assert_eq!(user.rsa_public_key_fp, user.rsa_public_key_2_fp);

    emu.set_options(|o| o.allow_duplicate_keys = false);
    let back = format!("ALTER USER SVC_DBT SET RSA_PUBLIC_KEY = '{}'", k[0].body);
    assert_eq!(run_as(&emu, "ADMIN", &k[2], &back).await.0, 422);
}

#[tokio::test]
async fn anything_else_is_a_snowflake_shaped_compilation_error() {
    let emu = start().await;
    let k = keys();
    let cases = [
        (
            "DROP USER SVC_DBT",
            "syntax error line 1 at position 0 unexpected 'DROP'.",
        ),
        (
            "ALTER USER SVC_DBT SET PASSWORD = 'x'",
            "syntax error line 1 at position 23 unexpected 'PASSWORD'.",
        ),
        (
            "SELECT 1",
            "syntax error line 1 at position 7 unexpected '1'.",
        ),
        (
            "select current_user(",
            "syntax error line 1 at position 20 unexpected '<EOF>'.",
        ),
        (
            "ALTER USER SVC_DBT\nUNSET DEFAULT_ROLE",
            "syntax error line 2 at position 6 unexpected 'DEFAULT_ROLE'.",
        ),
    ];
    for (statement, tail) in cases {
        let (status, body) = run_as(&emu, "ADMIN", &k[2], statement).await;
        assert_sql_error(status, &body, "001003", "42000");
        assert_eq!(
            body["message"],
            format!("SQL compilation error:\n{tail}"),
            "{statement}"
        );
    }
}

#[tokio::test]
async fn multi_statement_requests_need_their_count() {
    let emu = start().await;
    let k = keys();
    let token = token("ADMIN", &k[2]);
    let batch = "SELECT CURRENT_USER(); SELECT CURRENT_ROLE()";
    let (status, body) = run(&emu, &token, batch).await;
    assert_eq!(status, 422);
    assert_eq!(
        body["message"],
        "Actual statement count 2 did not match the desired statement count 1."
    );
    for count in [json!("2"), json!(2), json!(0)] {
        let request = json!({"statement": batch, "parameters": {"multi_statement_count": count}});
        let (status, body) = post_with(&emu, &token, "", request).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["data"],
            json!([["Multiple statements executed successfully."]])
        );
        let handles = body["statementHandles"].as_array().unwrap();
        assert_eq!(handles.len(), 2);
        let (_, second) = get(
            &emu,
            &token,
            &format!("/api/v2/statements/{}", handles[1].as_str().unwrap()),
        )
        .await;
        assert_eq!(second["data"], json!([["SECURITYADMIN"]]));
    }
    let request = json!({"statement": batch, "parameters": {"MULTI_STATEMENT_COUNT": "3"}});
    let (status, body) = post_with(&emu, &token, "", request).await;
    assert_eq!(status, 422);
    assert_eq!(
        body["message"],
        "Actual statement count 2 did not match the desired statement count 3."
    );
}

#[tokio::test]
async fn use_is_rejected_alone_and_switches_the_role_in_a_batch() {
    let emu = start().await;
    let k = keys();
    let token = token("ADMIN", &k[2]);
    let (status, body) = run(&emu, &token, "USE ROLE PUBLIC").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "391911");
    let batch = "USE ROLE PUBLIC; ALTER USER SVC_DBT UNSET RSA_PUBLIC_KEY";
    let (status, body) = post_with(
        &emu,
        &token,
        "",
        json!({"statement": batch, "parameters": {"MULTI_STATEMENT_COUNT": "2"}}),
    )
    .await;
    assert_sql_error(status, &body, "003001", "42501");
    assert!(emu.user("SVC_DBT").unwrap().rsa_public_key.is_some());
    let batch = "USE ROLE ROTATOR_ROLE; SELECT CURRENT_ROLE()";
    let (status, _) = post_with(
        &emu,
        &token,
        "",
        json!({"statement": batch, "parameters": {"MULTI_STATEMENT_COUNT": "2"}}),
    )
    .await;
    assert_eq!(status, 422, "ROTATOR_ROLE is not granted to ADMIN");
}

#[tokio::test]
async fn show_users_reports_who_has_a_key_and_nullable_false_spells_null() {
    let emu = start().await;
    let k = keys();
    let (status, body) = run_as(&emu, "ADMIN", &k[2], "SHOW USERS").await;
    assert_eq!(status, 200, "{body}");
    let columns: Vec<&str> = body["resultSetMetaData"]["rowType"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    let name = columns.iter().position(|c| *c == "name").unwrap();
    let has_key = columns
        .iter()
        .position(|c| *c == "has_rsa_public_key")
        .unwrap();
    let role = columns.iter().position(|c| *c == "default_role").unwrap();
    let rows = body["data"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    let row = |n: &str| rows.iter().find(|r| r[name] == n).unwrap().clone();
    assert_eq!(row("SVC_DBT")[has_key], "true");
    assert_eq!(row("Mixed\"Case")[has_key], "false");
    assert_eq!(row("Mixed\"Case")[role], Value::Null);
    let (_, body) = post_with(
        &emu,
        &token("ADMIN", &k[2]),
        "?nullable=false",
        json!({"statement": "SHOW USERS"}),
    )
    .await;
    let rows = body["data"].as_array().unwrap();
    assert!(rows.iter().any(|r| r[role] == "null"));
    let (_, body) = run_as(&emu, "ADMIN", &k[2], "SHOW USERS LIKE 'svc%'").await;
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
}
