//! The SQL API client over real HTTP against the Snowflake emulator: success, 202 polling,
//! partitions, typed SQL errors, 401 handling, retries with the same requestId, timeouts,
//! dropped connections, bounded retry budgets and unreachable hosts.

mod snowflake_harness;

use std::time::Duration;

use snowflake_emulator::{Emulator, Fault, LoggedRequest};
use snowflake_harness::*;
use snowkey_shared::snowflake::{RetryPolicy, Slot, SnowflakeError, Statement, statements};

/// The POSTs of the statement run last (polls and partition fetches are GETs).
fn posts(emulator: &Emulator) -> Vec<LoggedRequest> {
    emulator
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect()
}

fn single_value(result: &snowkey_shared::snowflake::ResultSet) -> Option<String> {
    result
        .rows
        .first()
        .and_then(|row| row.first().cloned().flatten())
}

#[tokio::test]
async fn a_statement_runs_with_a_fresh_request_id_and_no_retry_flag() {
    let emulator = emulator().await;
    let client = client(&emulator, "svc_loader", &KEY_A, fast_policy());
    let result = client
        .execute(&statements::select_current_user())
        .await
        .unwrap();
    assert_eq!(single_value(&result).as_deref(), Some(SERVICE_USER));
    let again = client
        .execute(&statements::select_current_user())
        .await
        .unwrap();
    assert_eq!(again.rows, result.rows);

    let log = posts(&emulator);
    assert_eq!(log.len(), 2);
    assert!(
        log.iter()
            .all(|r| r.status == 200 && !r.retry && r.executed)
    );
    assert_ne!(
        log[0].request_id, log[1].request_id,
        "each logical statement gets its own requestId"
    );
    assert!(
        log[0]
            .request_id
            .as_deref()
            .is_some_and(|id| uuid::Uuid::parse_str(id).is_ok())
    );
}

#[tokio::test]
async fn role_from_the_settings_is_used_for_the_statement() {
    let emulator = emulator().await;
    let mut settings = settings(&emulator, ADMIN_USER);
    settings.role = Some("ADMIN_ROLE".into());
    let client = snowkey_shared::snowflake::SqlApiClient::new(
        reqwest::Client::new(),
        settings,
        KEY_C.clone(),
        fast_policy(),
    )
    .unwrap();
    let result = client
        .execute(&Statement::operator_supplied("SELECT CURRENT_ROLE()"))
        .await
        .unwrap();
    assert_eq!(single_value(&result).as_deref(), Some("ADMIN_ROLE"));
}

#[tokio::test]
async fn a_slow_statement_answers_202_and_is_polled_to_completion() {
    let emulator = emulator().await;
    emulator.set_options(|o| {
        o.execution_delay_ms = 300;
        o.max_sync_wait_ms = 20;
    });
    let client = client(&emulator, SERVICE_USER, &KEY_A, fast_policy());
    let result = client
        .execute(&statements::select_current_user())
        .await
        .unwrap();
    assert_eq!(single_value(&result).as_deref(), Some(SERVICE_USER));
    let log = emulator.requests();
    assert_eq!(log[0].status, 202);
    assert!(
        log.iter().skip(1).all(|r| r.method == "GET"),
        "polled with GET: {log:?}"
    );
    assert_eq!(log.last().unwrap().status, 200);
}

#[tokio::test]
async fn polling_gives_up_after_max_poll_with_the_handle() {
    let emulator = emulator().await;
    emulator.set_options(|o| {
        o.execution_delay_ms = 5_000;
        o.max_sync_wait_ms = 10;
    });
    let policy = RetryPolicy {
        max_poll: Duration::from_millis(200),
        ..fast_policy()
    };
    let err = client(&emulator, SERVICE_USER, &KEY_A, policy)
        .execute(&statements::select_current_user())
        .await;
    assert!(
        matches!(err, Err(SnowflakeError::StillRunning { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn every_partition_of_a_large_result_is_fetched() {
    let emulator = emulator().await;
    let client = client(&emulator, SERVICE_USER, &KEY_A, fast_policy());
    let desc = statements::desc_user(SERVICE_USER).unwrap();
    let whole = client.execute(&desc).await.unwrap();
    assert!(whole.rows.len() > 3);

    let before = emulator.requests().len();
    emulator.set_options(|o| o.rows_per_partition = 2);
    let paged = client.execute(&desc).await.unwrap();
    assert_eq!(paged.rows, whole.rows);
    assert_eq!(
        paged.columns,
        ["property", "value", "default", "description"]
    );
    let partition_gets = emulator.requests()[before..]
        .iter()
        .filter(|r| r.method == "GET")
        .count();
    assert_eq!(partition_gets, whole.rows.len().div_ceil(2) - 1);
}

#[tokio::test]
async fn a_sql_error_is_typed_with_code_sql_state_and_message_and_not_retried() {
    let emulator = emulator().await;
    let client = client(&emulator, SERVICE_USER, &KEY_A, fast_policy());
    let err = client
        .execute(&Statement::operator_supplied("SELEC 1"))
        .await
        .unwrap_err();
    let SnowflakeError::Sql {
        code,
        sql_state,
        message,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(code.len(), 6, "{code}");
    assert_eq!(sql_state.len(), 5, "{sql_state}");
    assert!(message.contains("SQL compilation error"), "{message}");
    assert_eq!(posts(&emulator).len(), 1);
}

#[tokio::test]
async fn a_401_is_retried_once_with_a_new_token_then_fails_clearly_without_the_token() {
    let emulator = emulator().await;
    // KEY_B is not registered for the service user.
    let client = client(&emulator, SERVICE_USER, &KEY_B, fast_policy());
    let err = client
        .execute(&statements::select_current_user())
        .await
        .unwrap_err();
    assert!(
        matches!(err, SnowflakeError::Authentication { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("401") && text.contains("LOGIN_NAME"),
        "{text}"
    );
    assert!(
        !text.contains("eyJ"),
        "the error must not quote a JWT: {text}"
    );

    let log = posts(&emulator);
    assert_eq!(log.len(), 2, "exactly one re-mint: {log:?}");
    assert!(log.iter().all(|r| r.status == 401 && !r.executed));
    assert_eq!(log[0].request_id, log[1].request_id);
    assert_eq!(
        log[1].auth_failure_code.as_deref(),
        Some("394304"),
        "{log:?}"
    );
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_with_the_same_request_id() {
    for status in [429, 500, 503] {
        let emulator = emulator().await;
        emulator.inject(Fault::Status {
            status,
            count: 2,
            statement_pattern: None,
        });
        let client = client(&emulator, SERVICE_USER, &KEY_A, fast_policy());
        let result = client
            .execute(&statements::select_current_user())
            .await
            .unwrap();
        assert_eq!(single_value(&result).as_deref(), Some(SERVICE_USER));

        let log = posts(&emulator);
        let statuses: Vec<u16> = log.iter().map(|r| r.status).collect();
        assert_eq!(statuses, [status, status, 200]);
        assert!(
            log.iter().all(|r| r.request_id == log[0].request_id),
            "{log:?}"
        );
        let retry_flags: Vec<bool> = log.iter().map(|r| r.retry).collect();
        assert_eq!(retry_flags, [false, true, true]);
    }
}

#[tokio::test]
async fn a_connection_dropped_after_execution_is_retried_without_running_twice() {
    let emulator = emulator().await;
    emulator.inject(Fault::DropAfterExecute {
        count: 1,
        statement_pattern: Some("ALTER USER".into()),
    });
    let client = client(&emulator, SERVICE_USER, &KEY_A, fast_policy());
    let set = statements::set_public_key(SERVICE_USER, Slot::Two, &KEY_B.public_key()).unwrap();
    client.execute(&set).await.unwrap();

    let log = posts(&emulator);
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0].request_id, log[1].request_id);
    assert!(
        log[0].executed && !log[1].executed,
        "the resend is answered from the first run: {log:?}"
    );
    assert!(log[1].retry && log[1].status == 200);
    let user = emulator.user(SERVICE_USER).unwrap();
    assert_eq!(
        user.rsa_public_key_2_fp.as_deref(),
        Some(KEY_B.fingerprint().as_str())
    );
}

#[tokio::test]
async fn a_hanging_request_times_out_and_is_resent() {
    let emulator = emulator().await;
    emulator.set_options(|o| o.hang_ms = 3_000);
    emulator.inject(Fault::Hang {
        count: 1,
        statement_pattern: None,
    });
    let policy = RetryPolicy {
        request_timeout: Duration::from_millis(300),
        ..fast_policy()
    };
    let client = client(&emulator, SERVICE_USER, &KEY_A, policy);
    let result = client
        .execute(&statements::select_current_user())
        .await
        .unwrap();
    assert_eq!(single_value(&result).as_deref(), Some(SERVICE_USER));
    let answered: Vec<LoggedRequest> = posts(&emulator)
        .into_iter()
        .filter(|r| r.status == 200)
        .collect();
    assert_eq!(answered.len(), 1);
    assert!(answered[0].retry, "the answered request is the resend");
}

#[tokio::test]
async fn retries_stop_at_max_attempts() {
    let emulator = emulator().await;
    emulator.inject(Fault::Status {
        status: 503,
        count: 100,
        statement_pattern: None,
    });
    let policy = RetryPolicy {
        max_attempts: 3,
        ..fast_policy()
    };
    let err = client(&emulator, SERVICE_USER, &KEY_A, policy)
        .execute(&statements::select_current_user())
        .await;
    let Err(SnowflakeError::RetriesExhausted { attempts, last, .. }) = err else {
        panic!("{err:?}")
    };
    assert_eq!(attempts, 3);
    assert!(last.contains("503"), "{last}");
    assert_eq!(posts(&emulator).len(), 3);
}

#[tokio::test]
async fn retries_stop_when_the_total_time_budget_is_spent() {
    let emulator = emulator().await;
    emulator.inject(Fault::Status {
        status: 500,
        count: 1_000,
        statement_pattern: None,
    });
    let policy = RetryPolicy {
        max_attempts: 1_000,
        initial_backoff: Duration::from_millis(40),
        max_backoff: Duration::from_millis(80),
        max_total: Duration::from_millis(400),
        ..fast_policy()
    };
    let err = client(&emulator, SERVICE_USER, &KEY_A, policy)
        .execute(&statements::select_current_user())
        .await;
    let Err(SnowflakeError::RetriesExhausted {
        attempts,
        elapsed_ms,
        ..
    }) = err
    else {
        panic!("{err:?}")
    };
    // Each wait is at least 20 ms, so a 400 ms budget allows at most ~20 sends.
    assert!((2..=21).contains(&attempts), "{attempts}");
    assert!(elapsed_ms <= 400, "{elapsed_ms}");
}

#[tokio::test]
async fn an_unreachable_host_is_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let emulator = emulator().await;
    let mut settings = settings(&emulator, SERVICE_USER);
    settings.host = Some(url::Url::parse(&format!("http://127.0.0.1:{port}")).unwrap());
    let policy = RetryPolicy {
        max_attempts: 2,
        ..fast_policy()
    };
    let client = snowkey_shared::snowflake::SqlApiClient::new(
        reqwest::Client::new(),
        settings,
        KEY_A.clone(),
        policy,
    )
    .unwrap();
    let err = client
        .execute(&statements::select_current_user())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("could not connect to 127.0.0.1"), "{text}");
    assert!(text.contains("2 attempts"), "{text}");
}

#[tokio::test]
async fn awkward_user_names_are_quoted_and_newlines_never_reach_the_server() {
    let emulator = emulator().await;
    let client = client(&emulator, ADMIN_USER, &KEY_C, fast_policy());
    for name in [QUOTE_USER, SEMICOLON_USER] {
        let result = client
            .execute(&statements::desc_user(name).unwrap())
            .await
            .unwrap();
        let slots = snowkey_shared::snowflake::UserKeySlots::from_result_set(&result).unwrap();
        assert_eq!(slots.name, name);
    }
    assert!(
        emulator.user(ADMIN_USER).is_some(),
        "the semicolon did not end the statement"
    );

    let before = emulator.requests().len();
    let err = statements::desc_user("svc\nKEY_ADMIN").unwrap_err();
    assert!(err.to_string().contains("control character"), "{err}");
    assert_eq!(emulator.requests().len(), before);
}

#[tokio::test]
async fn plain_http_to_another_machine_is_refused_before_a_jwt_is_sent() {
    let emulator = emulator().await;
    for (host, allowed) in [
        ("http://snowflake-proxy.internal.example:8080", false),
        ("http://10.0.0.7", false),
        ("https://snowflake-proxy.internal.example", true),
        ("http://localhost:8080", true),
        ("http://[::1]:8080", true),
    ] {
        let mut settings = settings(&emulator, SERVICE_USER);
        settings.host = Some(url::Url::parse(host).unwrap());
        let built = snowkey_shared::snowflake::SqlApiClient::new(
            reqwest::Client::new(),
            settings,
            KEY_A.clone(),
            fast_policy(),
        );
        match built {
            Ok(_) => assert!(allowed, "{host} must be refused"),
            Err(err) => {
                assert!(!allowed, "{host}: {err}");
                assert!(err.to_string().contains("unencrypted"), "{err}");
            }
        }
    }
}
