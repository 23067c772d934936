//! Shared by the `snowflake_*` tests: keys generated once per test binary, a seeded emulator,
//! connection settings pointing at it, and a retry policy with short waits.
#![allow(dead_code)]

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use snowflake_emulator::{Emulator, Seed, SeedRole, SeedUser};
use snowkey_shared::keys::{KeySize, PrivateKey};
use snowkey_shared::rotation::ports::Connection;
use snowkey_shared::snowflake::{AccountIdentifier, ConnectionSettings, RetryPolicy, SqlApiClient};

pub const ACCOUNT: &str = "MYORG-MYACCOUNT";
/// Service user with key A in slot 1; its role owns it (self mode).
pub const SERVICE_USER: &str = "SVC_LOADER";
/// Admin user with key C; its role owns the awkwardly named users below.
pub const ADMIN_USER: &str = "KEY_ADMIN";
/// Names that would break unquoted SQL.
pub const QUOTE_USER: &str = "svc\"quoted";
pub const SEMICOLON_USER: &str = "svc; DROP USER KEY_ADMIN; --";

pub static KEY_A: LazyLock<Arc<PrivateKey>> = LazyLock::new(generate);
pub static KEY_B: LazyLock<Arc<PrivateKey>> = LazyLock::new(generate);
pub static KEY_C: LazyLock<Arc<PrivateKey>> = LazyLock::new(generate);

fn generate() -> Arc<PrivateKey> {
    Arc::new(PrivateKey::generate(KeySize::Rsa2048).expect("generate RSA-2048"))
}

pub fn seed() -> Seed {
    let mut seed = Seed::new(ACCOUNT);
    let mut service = SeedUser::service(SERVICE_USER, Some("SVC_ROLE"));
    service.rsa_public_key = Some(KEY_A.public_key().to_snowflake_body());
    let mut admin = SeedUser::service(ADMIN_USER, Some("ADMIN_ROLE"));
    admin.rsa_public_key = Some(KEY_C.public_key().to_snowflake_body());
    seed.users = vec![
        service,
        admin,
        SeedUser::service(QUOTE_USER, None),
        SeedUser::service(SEMICOLON_USER, None),
    ];
    seed.roles = vec![
        SeedRole::new("SVC_ROLE", &[SERVICE_USER], "OWNERSHIP", &[SERVICE_USER]),
        SeedRole::new(
            "ADMIN_ROLE",
            &[ADMIN_USER],
            "OWNERSHIP",
            &[QUOTE_USER, SEMICOLON_USER, SERVICE_USER],
        ),
    ];
    seed
}

pub async fn emulator() -> Emulator {
    Emulator::start(seed())
        .await
        .expect("start the Snowflake emulator")
}

/// Short waits so retry tests run in well under a second each.
pub fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 5,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        max_total: Duration::from_secs(10),
        request_timeout: Duration::from_secs(5),
        poll_interval: Duration::from_millis(20),
        max_poll: Duration::from_secs(5),
    }
}

pub fn settings(emulator: &Emulator, user: &str) -> ConnectionSettings {
    ConnectionSettings {
        account: AccountIdentifier::parse("myorg-myaccount").unwrap(),
        user: user.to_string(),
        host: Some(url::Url::parse(&emulator.url()).unwrap()),
        role: None,
        warehouse: None,
    }
}

pub fn connection(emulator: &Emulator, user: &str, key: &Arc<PrivateKey>) -> Connection {
    Connection {
        settings: settings(emulator, user),
        key: key.clone(),
    }
}

pub fn client(
    emulator: &Emulator,
    user: &str,
    key: &Arc<PrivateKey>,
    policy: RetryPolicy,
) -> SqlApiClient {
    SqlApiClient::new(
        reqwest::Client::new(),
        settings(emulator, user),
        key.clone(),
        policy,
    )
    .unwrap()
}

/// A minimal HTTP server that records each raw request and answers with the next scripted
/// `(status, JSON body)`, for asserting on exact headers and bodies the emulator does not log.
pub async fn scripted_server(
    replies: Vec<(u16, String)>,
) -> (url::Url, Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        for (status, body) in replies {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut raw = Vec::new();
            let mut buf = [0u8; 4096];
            // Read the head, then as many body bytes as Content-Length says.
            loop {
                let n = socket.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                raw.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&raw).to_string();
                if let Some(head_end) = text.find("\r\n\r\n") {
                    let length = text[..head_end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().to_string())
                        })
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    if raw.len() >= head_end + 4 + length {
                        break;
                    }
                }
            }
            log.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&raw).to_string());
            let response = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    (url, seen)
}

/// A one-row, one-column ResultSet as the SQL API returns it.
pub fn result_set_json(column: &str, value: &str) -> String {
    serde_json::json!({
        "code": "090001", "sqlState": "00000", "message": "Statement executed successfully.",
        "statementHandle": "01bb1e2a-0000-0000-0000-000000000001",
        "statementStatusUrl": "/api/v2/statements/01bb1e2a-0000-0000-0000-000000000001",
        "resultSetMetaData": {"numRows": 1, "format": "jsonv2", "rowType": [{"name": column, "type": "text"}],
                              "partitionInfo": [{"rowCount": 1}]},
        "data": [[value]]
    })
    .to_string()
}
