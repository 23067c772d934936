//! Key-pair JWT authentication and the request-level errors (reference §1, §2.2, §2.4).

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use serde_json::{Value, json};
use snowflake_emulator::Emulator;

/// Sends `token`, expects Snowflake's generic 401, and returns the specific code the log recorded.
async fn refused_code(emu: &Emulator, token: &str) -> String {
    let (status, body) = run(emu, token, "SELECT CURRENT_USER()").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["code"], "390144");
    let message = body["message"].as_str().unwrap();
    let pattern = regex::Regex::new(r"^JWT token is invalid\. \[[0-9a-f-]{36}\]$").unwrap();
    assert!(pattern.is_match(message), "{message}");
    let last = emu.requests().pop().unwrap();
    assert_eq!(last.status, 401);
    assert!(!last.executed);
    last.auth_failure_code.expect("reason recorded")
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

#[tokio::test]
async fn a_correct_token_runs_the_statement_as_its_user() {
    let emu = start().await;
    let k = keys();
    let (status, body) = run_as(
        &emu,
        "SVC_DBT",
        &k[0],
        "select current_user(), current_account(), current_role()",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"],
        json!([["SVC_DBT", "MYORG-MYACCOUNT", "SVC_ROLE"]])
    );
    let last = emu.requests().pop().unwrap();
    assert_eq!(
        (last.status, last.auth_failure_code, last.executed),
        (200, None, true)
    );
}

#[tokio::test]
async fn either_slot_authenticates_and_the_fingerprint_must_name_the_signing_key() {
    let emu = start().await;
    let k = keys();
    let set = format!("ALTER USER SVC_DBT SET RSA_PUBLIC_KEY_2 = '{}'", k[1].body);
    assert_eq!(run_as(&emu, "ADMIN", &k[2], &set).await.0, 200);
    assert_eq!(
        run_as(&emu, "SVC_DBT", &k[1], "SELECT CURRENT_USER()")
            .await
            .0,
        200
    );
    assert_eq!(
        run_as(&emu, "SVC_DBT", &k[0], "SELECT CURRENT_USER()")
            .await
            .0,
        200
    );
    // Signed with slot 2's key but naming slot 1's fingerprint.
    let wrong = sign(
        &with(
            claims("SVC_DBT", &k[1]),
            "iss",
            json!(format!("{ACCOUNT}.SVC_DBT.{}", k[0].fingerprint)),
        ),
        &k[1],
    );
    assert_eq!(refused_code(&emu, &wrong).await, "394304");
}

#[tokio::test]
async fn unknown_users_and_names_that_are_not_login_names_get_394300() {
    let emu = start().await;
    let k = keys();
    assert_eq!(refused_code(&emu, &token("NOBODY", &k[0])).await, "394300");
    // Login names are uppercase; a lowercase user in the token does not match.
    assert_eq!(refused_code(&emu, &token("svc_dbt", &k[0])).await, "394300");
    // `Mixed"Case` logs in as MIXED_LOGIN, not by its NAME.
    let set = format!(
        "ALTER USER \"Mixed\"\"Case\" SET RSA_PUBLIC_KEY = '{}'",
        k[1].body
    );
    assert_eq!(run_as(&emu, "ADMIN", &k[2], &set).await.0, 200);
    assert_eq!(
        refused_code(&emu, &token("Mixed\"Case", &k[1])).await,
        "394300"
    );
    let (status, body) = run_as(&emu, "MIXED_LOGIN", &k[1], "SELECT CURRENT_USER()").await;
    assert_eq!((status, &body["data"]), (200, &json!([["Mixed\"Case"]])));
}

#[tokio::test]
async fn time_claims_are_checked() {
    let emu = start().await;
    let k = &keys()[0];
    let good = claims("SVC_DBT", k);
    let now = now();
    let mut no_exp = good.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    assert_eq!(refused_code(&emu, &sign(&no_exp, k)).await, "394301");
    let mut no_iat = good.clone();
    no_iat.as_object_mut().unwrap().remove("iat");
    assert_eq!(refused_code(&emu, &sign(&no_iat, k)).await, "394301");
    let expired = with(
        with(good.clone(), "iat", json!(now - 4000)),
        "exp",
        json!(now - 400),
    );
    assert_eq!(refused_code(&emu, &sign(&expired, k)).await, "394303");
    // exp far ahead does not help: a token lives at most one hour after iat.
    let too_long = with(
        with(good.clone(), "iat", json!(now - 3800)),
        "exp",
        json!(now + 3600),
    );
    assert_eq!(refused_code(&emu, &sign(&too_long, k)).await, "394303");
    let future = with(
        with(good.clone(), "iat", json!(now + 600)),
        "exp",
        json!(now + 1200),
    );
    assert_eq!(refused_code(&emu, &sign(&future, k)).await, "394302");
    // Milliseconds are accepted.
    let millis = with(
        with(good.clone(), "iat", json!(now * 1000)),
        "exp",
        json!((now + 3000) * 1000),
    );
    assert_eq!(
        run(&emu, &sign(&millis, k), "SELECT CURRENT_USER()")
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn the_60_second_iat_rule_is_a_switch() {
    let emu = start().await;
    let k = &keys()[0];
    let old = with(
        with(claims("SVC_DBT", k), "iat", json!(now() - 120)),
        "exp",
        json!(now() + 1000),
    );
    assert_eq!(
        run(&emu, &sign(&old, k), "SELECT CURRENT_USER()").await.0,
        200
    );
    emu.set_options(|o| o.strict_iat = true);
    assert_eq!(refused_code(&emu, &sign(&old, k)).await, "394302");
    assert_eq!(
        run_as(&emu, "SVC_DBT", k, "SELECT CURRENT_USER()").await.0,
        200
    );
}

#[tokio::test]
async fn fingerprint_signature_and_algorithm_failures() {
    let emu = start().await;
    let k = keys();
    // iss names a key the user does not have.
    assert_eq!(refused_code(&emu, &token("SVC_DBT", &k[1])).await, "394304");
    // iss names the user's key but another key signed.
    let forged = sign(&claims("SVC_DBT", &k[0]), &k[1]);
    assert_eq!(refused_code(&emu, &forged).await, "394306");
    // A tampered payload no longer verifies.
    let good = token("SVC_DBT", &k[0]);
    let parts: Vec<&str> = good.split('.').collect();
    let altered = with(claims("SVC_DBT", &k[0]), "exp", json!(now() + 3000));
    let payload = URL_SAFE_NO_PAD.encode(altered.to_string());
    let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
    assert_eq!(refused_code(&emu, &tampered).await, "394306");
    // The fingerprint must be standard base64 with padding.
    let unpadded = format!(
        "{ACCOUNT}.SVC_DBT.{}",
        k[0].fingerprint.trim_end_matches('=')
    );
    let unpadded = with(claims("SVC_DBT", &k[0]), "iss", json!(unpadded));
    assert_eq!(refused_code(&emu, &sign(&unpadded, &k[0])).await, "394304");
    for alg in ["HS256", "none", "RS384x", "ES256"] {
        let raw = sign_raw(
            &json!({"alg": alg, "typ": "JWT"}),
            &claims("SVC_DBT", &k[0]),
            &k[0],
        );
        assert_eq!(refused_code(&emu, &raw).await, "394305", "{alg}");
    }
    let raw = sign_raw(
        &json!({"alg": "RS256", "typ": "JWT"}),
        &claims("SVC_DBT", &k[0]),
        &k[0],
    );
    assert_eq!(run(&emu, &raw, "SELECT CURRENT_USER()").await.0, 200);
}

#[tokio::test]
async fn account_and_subject_must_match() {
    let emu = start().await;
    let k = &keys()[0];
    let other = json!({
        "iss": format!("OTHERACCT.SVC_DBT.{}", k.fingerprint), "sub": "OTHERACCT.SVC_DBT",
        "iat": now(), "exp": now() + 600,
    });
    assert_eq!(refused_code(&emu, &sign(&other, k)).await, "394307");
    let lower = json!({
        "iss": format!("myorg-myaccount.SVC_DBT.{}", k.fingerprint), "sub": "myorg-myaccount.SVC_DBT",
        "iat": now(), "exp": now() + 600,
    });
    assert_eq!(refused_code(&emu, &sign(&lower, k)).await, "394307");
    for sub in ["", "MYORG-MYACCOUNT.ROTATOR", "MYORG-MYACCOUNT"] {
        let bad = with(claims("SVC_DBT", k), "sub", json!(sub));
        assert_eq!(
            refused_code(&emu, &sign(&bad, k)).await,
            "390144",
            "sub {sub:?}"
        );
    }
    let mut no_sub = claims("SVC_DBT", k);
    no_sub.as_object_mut().unwrap().remove("sub");
    assert_eq!(refused_code(&emu, &sign(&no_sub, k)).await, "390144");
}

#[tokio::test]
async fn a_disabled_user_cannot_log_in() {
    let mut seed = seed();
    seed.users[0].disabled = true;
    let emu = Emulator::start(seed).await.unwrap();
    assert_eq!(
        refused_code(&emu, &token("SVC_DBT", &keys()[0])).await,
        "390101"
    );
}

#[tokio::test]
async fn token_type_header_and_authorization_header() {
    let emu = start().await;
    let token = token("SVC_DBT", &keys()[0]);
    let url = format!("{}/api/v2/statements", emu.url());
    let body = json!({"statement": "SELECT CURRENT_USER()"});
    // Absent type header: Snowflake infers KEYPAIR_JWT from the token.
    let response = client()
        .post(&url)
        .bearer_auth(&token)
        .header("Content-Type", "application/json")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let oauth = client()
        .post(&url)
        .bearer_auth(&token)
        .header("X-Snowflake-Authorization-Token-Type", "OAUTH")
        .header("Content-Type", "application/json")
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, reply) = read(oauth).await;
    assert_eq!((status, reply["code"].as_str()), (401, Some("390303")));
    let anonymous = client()
        .post(&url)
        .header("Content-Type", "application/json")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let opaque = client()
        .post(&url)
        .bearer_auth("not-a-jwt")
        .header("Content-Type", "application/json")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(read(opaque).await.1["code"], "390303");
}

#[tokio::test]
async fn content_type_payload_path_and_method_errors() {
    let emu = start().await;
    let token = token("SVC_DBT", &keys()[0]);
    let url = format!("{}/api/v2/statements", emu.url());
    let c = client();
    let text = c
        .post(&url)
        .bearer_auth(&token)
        .header("X-Snowflake-Authorization-Token-Type", "KEYPAIR_JWT")
        .header("Content-Type", "text/plain")
        .body(r#"{"statement":"SELECT CURRENT_USER()"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(text.status(), 415);
    for payload in [
        "{not json",
        "{}",
        r#"{"statement": 5}"#,
        r#"{"statement": "  "}"#,
        "[]",
    ] {
        let (status, body) = read(
            api(&c, reqwest::Method::POST, url.clone(), &token)
                .body(payload)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 400, "{payload}");
        assert_eq!(
            body,
            json!({"code": "390142", "message": "Incoming request does not contain a valid payload."})
        );
    }
    let missing = api(
        &c,
        reqwest::Method::POST,
        format!("{}/api/v2/statementz", emu.url()),
        &token,
    )
    .json(&json!({"statement": "SELECT CURRENT_USER()"}))
    .send()
    .await
    .unwrap();
    assert_eq!(missing.status(), 404);
    let wrong_method = api(&c, reqwest::Method::GET, url.clone(), &token)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert!(wrong_method.text().await.unwrap().is_empty());
    let delete = api(
        &c,
        reqwest::Method::DELETE,
        format!("{url}/01aa0000-0000-0000-0000-000000000000"),
        &token,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(delete.status(), 405);
    // None of these ran anything.
    assert!(emu.requests().iter().all(|r| !r.executed));
}

#[tokio::test]
async fn the_request_log_never_holds_a_token() {
    let emu = start().await;
    let k = keys();
    let good = token("SVC_DBT", &k[0]);
    let bad = token("SVC_DBT", &k[1]);
    let expired = sign(
        &with(
            with(claims("SVC_DBT", &k[0]), "iat", json!(now() - 9000)),
            "exp",
            json!(now() - 8000),
        ),
        &k[0],
    );
    run(&emu, &good, "SELECT CURRENT_USER()").await;
    run(&emu, &bad, "SELECT CURRENT_USER()").await;
    run(&emu, &expired, "SELECT CURRENT_USER()").await;
    let over_http = client()
        .get(format!("{}/_emulator/requests", emu.url()))
        .send()
        .await
        .unwrap();
    let log_text = over_http.text().await.unwrap();
    let in_process = serde_json::to_string(&emu.requests()).unwrap();
    assert_eq!(emu.requests().len(), 3);
    for token in [&good, &bad, &expired] {
        for part in token.split('.').skip(1) {
            assert!(!log_text.contains(part), "token part leaked over HTTP");
            assert!(!in_process.contains(part), "token part leaked in process");
        }
    }
    assert!(!log_text.contains("Bearer"));
}
