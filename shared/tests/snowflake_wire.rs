//! Exactly what goes over the wire, against a scripted HTTP server: every header, the body,
//! the resend after a 401, short results, and host overrides.

mod snowflake_harness;

use snowflake_harness::*;
use snowkey_shared::snowflake::{SnowflakeError, statements};

fn single_value(result: &snowkey_shared::snowflake::ResultSet) -> Option<String> {
    result
        .rows
        .first()
        .and_then(|row| row.first().cloned().flatten())
}

fn header<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    raw.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

#[tokio::test]
async fn the_request_carries_every_header_and_the_role_and_warehouse_in_the_body() {
    let (url, seen) = scripted_server(vec![(200, result_set_json("CURRENT_USER()", "SVC"))]).await;
    let emulator = emulator().await;
    let mut settings = settings(&emulator, "svc");
    settings.host = Some(url);
    settings.role = Some("Loader_Role".into());
    settings.warehouse = Some("WH_XS".into());
    let client = snowkey_shared::snowflake::SqlApiClient::new(
        reqwest::Client::new(),
        settings,
        KEY_A.clone(),
        fast_policy(),
    )
    .unwrap();
    let result = client
        .execute(&statements::select_current_user())
        .await
        .unwrap();
    assert_eq!(single_value(&result).as_deref(), Some("SVC"));

    let raw = seen.lock().unwrap()[0].clone();
    assert!(
        raw.starts_with("POST /api/v2/statements?requestId="),
        "{raw}"
    );
    assert!(
        !raw.lines().next().unwrap().contains("retry"),
        "a first send has no retry flag"
    );
    assert!(header(&raw, "authorization").is_some_and(|v| v.starts_with("Bearer eyJ")));
    assert_eq!(
        header(&raw, "x-snowflake-authorization-token-type"),
        Some("KEYPAIR_JWT")
    );
    assert_eq!(
        header(&raw, "user-agent"),
        Some(concat!("snowkey/", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(header(&raw, "content-type"), Some("application/json"));
    assert_eq!(header(&raw, "accept"), Some("application/json"));
    let body: serde_json::Value =
        serde_json::from_str(&raw[raw.find("\r\n\r\n").unwrap() + 4..]).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"statement": "SELECT CURRENT_USER()", "role": "Loader_Role", "warehouse": "WH_XS"})
    );
}

#[tokio::test]
async fn after_one_401_a_new_token_is_minted_and_the_statement_succeeds() {
    let unauthorized = r#"{"code":"390144","message":"JWT token is invalid. [x]"}"#.to_string();
    let (url, seen) = scripted_server(vec![
        (401, unauthorized),
        (200, result_set_json("CURRENT_USER()", "SVC")),
    ])
    .await;
    let emulator = emulator().await;
    let mut settings = settings(&emulator, "svc");
    settings.host = Some(url);
    let client = snowkey_shared::snowflake::SqlApiClient::new(
        reqwest::Client::new(),
        settings,
        KEY_A.clone(),
        fast_policy(),
    )
    .unwrap();
    client
        .execute(&statements::select_current_user())
        .await
        .unwrap();

    let seen = seen.lock().unwrap();
    let first_line = |raw: &str| raw.lines().next().unwrap().to_string();
    let request_id =
        |raw: &str| first_line(raw).split("requestId=").nth(1).unwrap()[..36].to_string();
    assert_eq!(seen.len(), 2);
    assert_eq!(request_id(&seen[0]), request_id(&seen[1]));
    assert!(
        first_line(&seen[1]).contains("retry=true"),
        "{}",
        first_line(&seen[1])
    );
}

#[tokio::test]
async fn a_host_override_must_be_a_plain_http_base_url_and_credentials_are_never_echoed() {
    let emulator = emulator().await;
    for (host, needle) in [
        ("ftp://example.com", "https://host"),
        ("https://user:s3cr3t@example.com", "credentials"),
    ] {
        let mut settings = settings(&emulator, SERVICE_USER);
        settings.host = Some(url::Url::parse(host).unwrap());
        let err = snowkey_shared::snowflake::SqlApiClient::new(
            reqwest::Client::new(),
            settings,
            KEY_A.clone(),
            fast_policy(),
        )
        .err()
        .expect("refused");
        let text = err.to_string();
        assert!(
            matches!(err, SnowflakeError::InvalidHost(_)) && text.contains(needle),
            "{text}"
        );
        assert!(!text.contains("s3cr3t"), "{text}");
    }
}

#[tokio::test]
async fn a_result_with_fewer_rows_than_announced_is_refused() {
    let mut short: serde_json::Value =
        serde_json::from_str(&result_set_json("property", "NAME")).unwrap();
    short["resultSetMetaData"]["numRows"] = serde_json::json!(3);
    let (url, _) = scripted_server(vec![(200, short.to_string())]).await;
    let emulator = emulator().await;
    let mut settings = settings(&emulator, "svc");
    settings.host = Some(url);
    let client = snowkey_shared::snowflake::SqlApiClient::new(
        reqwest::Client::new(),
        settings,
        KEY_A.clone(),
        fast_policy(),
    )
    .unwrap();
    let err = client
        .execute(&statements::desc_user("svc").unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(err, SnowflakeError::Protocol(_)) && err.to_string().contains("expected 3 rows"),
        "{err}"
    );
}
