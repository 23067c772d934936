//! Statement lifecycle (async, polling, cancel, retries, partitions), injected faults, the
//! control endpoints and the binary (reference §2.1, §2.4, §2.5).

mod common;

use std::io::{BufRead as _, BufReader};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use snowflake_emulator::{Emulator, Fault};

/// Polls a handle until it stops answering 202 (bounded).
async fn poll(emu: &Emulator, token: &str, url: &str) -> (u16, Value) {
    for _ in 0..400 {
        let (status, body) = get(emu, token, url).await;
        if status != 202 {
            return (status, body);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("statement never finished");
}

fn set_slot_2(key: &TestKey) -> String {
    format!("ALTER USER SVC_DBT SET RSA_PUBLIC_KEY_2 = '{}'", key.body)
}

#[tokio::test]
async fn async_true_answers_202_and_the_handle_gives_the_result() {
    let emu = start().await;
    let token = token("ADMIN", &keys()[2]);
    let (status, body) = post_with(
        &emu,
        &token,
        "?async=true",
        json!({"statement": "SELECT CURRENT_USER()"}),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["code"], "333334");
    assert_eq!(
        body["message"],
        "Asynchronous execution in progress. Use provided query id to perform query monitoring and management."
    );
    let url = body["statementStatusUrl"].as_str().unwrap();
    assert_eq!(
        url,
        format!(
            "/api/v2/statements/{}",
            body["statementHandle"].as_str().unwrap()
        )
    );
    let (status, result) = poll(&emu, &token, url).await;
    assert_eq!((status, &result["data"]), (200, &json!([["ADMIN"]])));
    assert_eq!(result["statementHandle"], body["statementHandle"]);
}

#[tokio::test]
async fn a_slow_statement_answers_202_until_it_has_run() {
    let emu = start().await;
    let k = keys();
    emu.set_options(|o| {
        o.execution_delay_ms = 300;
        o.max_sync_wait_ms = 0;
    });
    let token = token("ADMIN", &k[2]);
    let (status, body) = run(&emu, &token, &set_slot_2(&k[1])).await;
    assert_eq!(status, 202, "{body}");
    let url = body["statementStatusUrl"].as_str().unwrap().to_string();
    let (status, _) = get(&emu, &token, &url).await;
    assert_eq!(status, 202);
    assert_eq!(
        emu.user("SVC_DBT").unwrap().rsa_public_key_2,
        None,
        "not run yet"
    );
    let (status, result) = poll(&emu, &token, &url).await;
    assert_eq!(
        (status, &result["data"]),
        (200, &json!([["Statement executed successfully."]]))
    );
    assert!(emu.user("SVC_DBT").unwrap().rsa_public_key_2.is_some());
    // Only the submitter may poll it.
    let (status, body) = get(&emu, &token_for_svc(), &url).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("000709")));
}

fn token_for_svc() -> String {
    token("SVC_DBT", &keys()[0])
}

#[tokio::test]
async fn a_canceled_statement_never_runs() {
    let emu = start().await;
    let k = keys();
    emu.set_options(|o| o.execution_delay_ms = 200);
    let token = token("ADMIN", &k[2]);
    let (status, body) = post_with(
        &emu,
        &token,
        "?async=true",
        json!({"statement": set_slot_2(&k[1])}),
    )
    .await;
    assert_eq!(status, 202);
    let handle = body["statementHandle"].as_str().unwrap();
    let cancel = api(
        &client(),
        reqwest::Method::POST,
        format!("{}/api/v2/statements/{handle}/cancel", emu.url()),
        &token,
    )
    .send()
    .await
    .unwrap();
    let (status, body) = read(cancel).await;
    assert_eq!(
        (status, body["code"].as_str(), body["sqlState"].as_str()),
        (200, Some("000604"), Some("57014"))
    );
    let (status, body) = poll(&emu, &token, &format!("/api/v2/statements/{handle}")).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("000604")));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(emu.user("SVC_DBT").unwrap().rsa_public_key_2, None);
    let unknown = api(
        &client(),
        reqwest::Method::POST,
        format!(
            "{}/api/v2/statements/01ffffff-0000-0000-0000-000000000000/cancel",
            emu.url()
        ),
        &token,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(read(unknown).await.1["code"], "000709");
}

#[tokio::test]
async fn retry_with_the_same_request_id_never_executes_twice() {
    let emu = start().await;
    let k = keys();
    let admin = token("ADMIN", &k[2]);
    let query = "?requestId=6f1b3c2e-0000-4000-8000-000000000001";
    let (status, first) =
        post_with(&emu, &admin, query, json!({"statement": set_slot_2(&k[1])})).await;
    assert_eq!(status, 200);
    // Someone else changes the slot meanwhile; a deduplicated retry must not undo that.
    assert_eq!(
        run(&emu, &admin, "ALTER USER SVC_DBT UNSET RSA_PUBLIC_KEY_2")
            .await
            .0,
        200
    );
    let retry = format!("{query}&retry=true");
    let (status, again) = post_with(
        &emu,
        &admin,
        &retry,
        json!({"statement": set_slot_2(&k[1])}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(again["statementHandle"], first["statementHandle"]);
    assert_eq!(emu.user("SVC_DBT").unwrap().rsa_public_key_2, None);
    assert!(!emu.requests().last().unwrap().executed);
    // Without retry=true, Snowflake runs the same requestId again.
    let (status, third) =
        post_with(&emu, &admin, query, json!({"statement": set_slot_2(&k[1])})).await;
    assert_eq!(status, 200);
    assert_ne!(third["statementHandle"], first["statementHandle"]);
    assert!(emu.user("SVC_DBT").unwrap().rsa_public_key_2.is_some());
    // A failed statement is run again on retry.
    let failing = "?requestId=6f1b3c2e-0000-4000-8000-000000000002";
    let (status, _) = post_with(
        &emu,
        &admin,
        failing,
        json!({"statement": "ALTER USER NOPE UNSET RSA_PUBLIC_KEY"}),
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = post_with(
        &emu,
        &admin,
        &format!("{failing}&retry=true"),
        json!({"statement": "ALTER USER NOPE UNSET RSA_PUBLIC_KEY"}),
    )
    .await;
    assert_eq!(status, 422);
    assert!(emu.requests().last().unwrap().executed);
}

#[tokio::test]
async fn large_results_come_in_partitions() {
    let emu = start().await;
    emu.set_options(|o| o.rows_per_partition = 2);
    let token = token("ADMIN", &keys()[2]);
    let (status, body) = run(&emu, &token, "SHOW USERS").await;
    assert_eq!(status, 200);
    let info = body["resultSetMetaData"]["partitionInfo"]
        .as_array()
        .unwrap();
    let counts: Vec<u64> = info
        .iter()
        .map(|p| p["rowCount"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [2, 2, 1]);
    assert_eq!(body["resultSetMetaData"]["numRows"], 5);
    let mut names: Vec<Value> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].clone())
        .collect();
    let url = body["statementStatusUrl"].as_str().unwrap();
    for p in 1..3 {
        let (status, part) = get(&emu, &token, &format!("{url}?partition={p}")).await;
        assert_eq!(status, 200);
        names.extend(
            part["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r[0].clone()),
        );
    }
    names.sort_by_key(|n| n.as_str().unwrap().to_string());
    assert_eq!(
        names,
        json!(["ADMIN", "Mixed\"Case", "ROTATOR", "SELF_SVC", "SVC_DBT"])
            .as_array()
            .unwrap()
            .clone()
    );
    let (status, _) = get(&emu, &token, &format!("{url}?partition=3")).await;
    assert_eq!(status, 422);
    let (status, first) = get(&emu, &token, &format!("{url}?partition=0")).await;
    assert_eq!((status, first["data"].as_array().unwrap().len()), (200, 2));
}

#[tokio::test]
async fn status_faults_answer_without_executing_and_can_target_statements() {
    let emu = start().await;
    let k = keys();
    let admin = token("ADMIN", &k[2]);
    emu.inject(Fault::Status {
        status: 429,
        count: 2,
        statement_pattern: None,
    });
    for _ in 0..2 {
        let (status, body) = run(&emu, &admin, "SELECT CURRENT_USER()").await;
        assert_eq!((status, body["code"].as_str()), (429, Some("390505")));
    }
    assert_eq!(run(&emu, &admin, "SELECT CURRENT_USER()").await.0, 200);
    emu.inject(Fault::Status {
        status: 503,
        count: 1,
        statement_pattern: Some("(?i)^alter user".into()),
    });
    emu.inject(Fault::Status {
        status: 500,
        count: 1,
        statement_pattern: Some("(?i)^alter user".into()),
    });
    assert_eq!(run(&emu, &admin, "SELECT CURRENT_USER()").await.0, 200);
    assert_eq!(run(&emu, &admin, &set_slot_2(&k[1])).await.0, 503);
    assert_eq!(run(&emu, &admin, &set_slot_2(&k[1])).await.0, 500);
    assert_eq!(emu.user("SVC_DBT").unwrap().rsa_public_key_2, None);
    assert_eq!(run(&emu, &admin, &set_slot_2(&k[1])).await.0, 200);
    let faulted: Vec<_> = emu
        .requests()
        .into_iter()
        .filter(|r| r.fault.is_some())
        .collect();
    assert_eq!(faulted.len(), 4);
    assert!(
        faulted
            .iter()
            .all(|r| !r.executed && r.fault.as_deref() == Some("status"))
    );
}

#[tokio::test]
async fn a_hang_outlasts_the_client_timeout_and_runs_nothing() {
    let emu = start().await;
    let k = keys();
    emu.set_options(|o| o.hang_ms = 5_000);
    emu.inject(Fault::Hang {
        count: 1,
        statement_pattern: None,
    });
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let url = format!("{}/api/v2/statements", emu.url());
    let error = api(
        &impatient,
        reqwest::Method::POST,
        url,
        &token("ADMIN", &k[2]),
    )
    .json(&json!({"statement": set_slot_2(&k[1])}))
    .send()
    .await
    .unwrap_err();
    assert!(error.is_timeout(), "{error}");
    assert_eq!(emu.user("SVC_DBT").unwrap().rsa_public_key_2, None);
    let logged = emu.requests().pop().unwrap();
    assert_eq!(
        (logged.fault.as_deref(), logged.status, logged.executed),
        (Some("hang"), 0, false)
    );
}

#[tokio::test]
async fn drop_after_execute_changes_state_and_a_retry_returns_the_original_result() {
    let emu = start().await;
    let k = keys();
    let admin = token("ADMIN", &k[2]);
    emu.inject(Fault::DropAfterExecute {
        count: 1,
        statement_pattern: Some("RSA_PUBLIC_KEY_2".into()),
    });
    let query = "?requestId=0d1c0a2b-0000-4000-8000-000000000003";
    let url = format!("{}/api/v2/statements{query}", emu.url());
    let error = api(&client(), reqwest::Method::POST, url, &admin)
        .json(&json!({"statement": set_slot_2(&k[1])}))
        .send()
        .await
        .unwrap_err();
    assert!(!error.is_timeout(), "{error}");
    let set_at = emu.user("SVC_DBT").unwrap().rsa_public_key_2_last_set_time;
    assert!(
        set_at.is_some(),
        "the statement ran before the connection dropped"
    );
    let dropped = emu.requests().pop().unwrap();
    assert_eq!(
        (dropped.fault.as_deref(), dropped.status, dropped.executed),
        (Some("drop_after_execute"), 0, true)
    );
    let (status, body) = post_with(
        &emu,
        &admin,
        &format!("{query}&retry=true"),
        json!({"statement": set_slot_2(&k[1])}),
    )
    .await;
    assert_eq!(
        (status, &body["data"]),
        (200, &json!([["Statement executed successfully."]]))
    );
    assert_eq!(
        body["statementHandle"].as_str(),
        dropped.statement_handle.as_deref()
    );
    assert_eq!(
        emu.user("SVC_DBT").unwrap().rsa_public_key_2_last_set_time,
        set_at
    );
    assert_eq!(emu.requests().iter().filter(|r| r.executed).count(), 1);
}

#[tokio::test]
async fn control_endpoints_over_http() {
    let emu = start().await;
    let k = keys();
    let c = client();
    let control = |path: &str| format!("{}/_emulator/{path}", emu.url());
    let fault =
        json!({"kind": "status", "status": 503, "count": 1, "statement_pattern": "CURRENT_ROLE"});
    assert_eq!(
        c.post(control("faults"))
            .json(&fault)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let armed: Value = c
        .get(control("faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(armed[0]["remaining"], 1);
    let bad_regex = json!({"kind": "hang", "count": 1, "statement_pattern": "("});
    assert_eq!(
        c.post(control("faults"))
            .json(&bad_regex)
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    let bad_kind = json!({"kind": "explode", "count": 1});
    assert_eq!(
        c.post(control("faults"))
            .json(&bad_kind)
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        run_as(&emu, "ADMIN", &k[2], "SELECT CURRENT_ROLE()")
            .await
            .0,
        503
    );

    let options = json!({"allow_duplicate_keys": true, "execution_delay_ms": 0});
    let put: Value = c
        .put(control("options"))
        .json(&options)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            put["allow_duplicate_keys"].as_bool(),
            put["rows_per_partition"].as_u64()
        ),
        (Some(true), Some(1000))
    );
    assert!(emu.options().allow_duplicate_keys);
    let wrong = json!({"no_such_option": 1});
    assert_eq!(
        c.put(control("options"))
            .json(&wrong)
            .send()
            .await
            .unwrap()
            .status(),
        400
    );

    let new_user =
        json!({"login_name": "new_login", "type": "SERVICE", "rsa_public_key_2": k[1].body});
    let put = c
        .put(control("users/NEW_SVC"))
        .json(&new_user)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    assert_eq!(
        run_as(&emu, "NEW_LOGIN", &k[1], "SELECT CURRENT_USER()")
            .await
            .1["data"],
        json!([["NEW_SVC"]])
    );
    let bad_key = json!({"rsa_public_key": "garbage"});
    assert_eq!(
        c.put(control("users/BAD"))
            .json(&bad_key)
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    let quoted: Value = c
        .get(control("users/Mixed%22Case"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(quoted["login_name"], "MIXED_LOGIN");
    let users: Value = c
        .get(control("users"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(users.as_array().unwrap().len(), 6);

    let log: Value = c
        .get(control("requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let last = log.as_array().unwrap().last().unwrap();
    assert_eq!(
        (last["statement"].as_str(), last["status"].as_u64()),
        (Some("SELECT CURRENT_USER()"), Some(200))
    );

    assert_eq!(c.post(control("reset")).send().await.unwrap().status(), 204);
    assert!(emu.user("NEW_SVC").is_none());
    assert!(!emu.options().allow_duplicate_keys);
    assert!(emu.requests().is_empty());
    assert_eq!(
        c.get(control("nothing")).send().await.unwrap().status(),
        404
    );
}

#[tokio::test]
async fn the_binary_prints_its_url_and_serves_the_seed() {
    let dir = tempfile::tempdir().unwrap();
    let seed_path = dir.path().join("seed.json");
    std::fs::write(&seed_path, serde_json::to_string(&seed()).unwrap()).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_snowflake-emulator"))
        .args(["--seed", seed_path.to_str().unwrap(), "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect("ready line")
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let response = api(
        &client(),
        reqwest::Method::POST,
        format!("{url}/api/v2/statements"),
        &token("SVC_DBT", &keys()[0]),
    )
    .json(&json!({"statement": "SELECT CURRENT_USER()"}))
    .send()
    .await
    .unwrap();
    let (status, body) = read(response).await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!((status, &body["data"]), (200, &json!([["SVC_DBT"]])));
}
