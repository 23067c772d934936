//! The statement routes: submit (sync, async, delayed, deduplicated retries), status with
//! partitions, and cancel.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use hyper::{Response, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::Shared;
use crate::api::ExchangeParts;
use crate::batch::{desired_statement_count, run_batch};
use crate::exec::Session;
use crate::results::Envelope;
use crate::server::{gzip_json, json};
use crate::sql::{SqlError, parse_batch};
use crate::state::{Outcome, StatementRecord};

pub fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// A Snowflake-style query id, e.g. `01bc06a4-0000-df4f-0000-00100006589e`.
pub fn new_handle() -> String {
    let b = uuid::Uuid::new_v4().into_bytes();
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    format!(
        "01{}-0000-{}-0000-{}",
        hex(&b[0..3]),
        hex(&b[3..5]),
        hex(&b[5..11])
    )
}

fn bad_payload() -> Response<Body> {
    json(
        StatusCode::BAD_REQUEST,
        &json!({"code": "390142", "message": "Incoming request does not contain a valid payload."}),
    )
}

pub async fn submit(
    shared: &Arc<Shared>,
    ex: ExchangeParts<'_>,
    user: &str,
    body: Option<Value>,
) -> Response<Body> {
    let Some(body) = body.filter(Value::is_object) else {
        return bad_payload();
    };
    let Some(text) = body
        .get("statement")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
    else {
        return bad_payload();
    };
    let Ok(desired) = desired_statement_count(&body) else {
        return bad_payload();
    };
    let async_requested = ex
        .query
        .get("async")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let nulls_as_text = ex
        .query
        .get("nullable")
        .is_some_and(|v| v.eq_ignore_ascii_case("false"));
    let request_id = ex.log.request_id.clone();

    let (handle, delay, max_wait) = {
        let mut state = shared.lock();
        // retry=true with a known requestId: never run again what already ran or is running.
        if ex.log.retry
            && let Some(id) = request_id.as_deref()
            && let Some(handle) = state.request_ids.get(id).cloned()
            && let Some(record) = state.statements.get(&handle)
            && record.owner == user
            && match record.outcome {
                Outcome::Succeeded(_) => true,
                Outcome::Running => state.options.dedupe_running_retries,
                Outcome::Failed(_) | Outcome::Canceled => false,
            }
        {
            ex.log.statement_handle = Some(handle.clone());
            return render(&handle, record, async_requested);
        }
        let role = match body.get("role").and_then(Value::as_str) {
            Some(role) => role.to_string(),
            None => state
                .user(user)
                .and_then(|u| u.default_role.clone())
                .unwrap_or_else(|| "PUBLIC".into()),
        };
        let handle = new_handle();
        let mut record = StatementRecord {
            owner: user.into(),
            created_on_ms: now_ms(),
            request_id: request_id.clone(),
            outcome: Outcome::Running,
            rows_per_partition: state.options.rows_per_partition,
            nulls_as_text,
        };
        let parsed = if state.role_granted(&role, user) {
            parse_batch(text, desired)
        } else {
            Err(SqlError::role_not_granted(&role))
        };
        ex.log.statement_handle = Some(handle.clone());
        if let Some(id) = &request_id {
            state.request_ids.insert(id.clone(), handle.clone());
        }
        let delay = state.options.execution_delay_ms;
        match parsed {
            Err(e) => record.outcome = Outcome::Failed(e),
            Ok(batch) => {
                ex.log.executed = true;
                let mut session = Session {
                    user: user.into(),
                    role,
                };
                if delay == 0 {
                    record.outcome = run_batch(&mut state, &mut session, &batch, user);
                } else {
                    spawn_delayed(shared.clone(), handle.clone(), session, batch, delay);
                }
            }
        }
        state.statements.insert(handle.clone(), record);
        (handle, delay, state.options.max_sync_wait_ms)
    };
    if !async_requested && delay > 0 {
        // Snowflake waits up to 45 s for a synchronous statement, then answers 202.
        let deadline = tokio::time::Instant::now() + Duration::from_millis(max_wait);
        while tokio::time::Instant::now() < deadline && is_running(shared, &handle) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let state = shared.lock();
    match state.statements.get(&handle) {
        Some(record) => render(&handle, record, async_requested),
        None => json(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"message": "statement vanished"}),
        ),
    }
}

fn is_running(shared: &Shared, handle: &str) -> bool {
    shared
        .lock()
        .statements
        .get(handle)
        .is_some_and(|r| matches!(r.outcome, Outcome::Running))
}

fn spawn_delayed(
    shared: Arc<Shared>,
    handle: String,
    mut session: Session,
    batch: Vec<crate::sql::Statement>,
    delay: u64,
) {
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(delay)).await;
        let mut state = shared.lock();
        // A canceled statement never runs.
        if !state
            .statements
            .get(&handle)
            .is_some_and(|r| matches!(r.outcome, Outcome::Running))
        {
            return;
        }
        let owner = session.user.clone();
        let outcome = run_batch(&mut state, &mut session, &batch, &owner);
        if let Some(record) = state.statements.get_mut(&handle) {
            record.outcome = outcome;
        }
    });
}

fn envelope<'a>(handle: &'a str, record: &'a StatementRecord) -> Envelope<'a> {
    Envelope {
        handle,
        created_on_ms: record.created_on_ms,
        request_id: record.request_id.as_deref(),
    }
}

fn running(env: &Envelope<'_>) -> Response<Body> {
    json(
        StatusCode::ACCEPTED,
        &json!({
            "code": "333334",
            "message": "Asynchronous execution in progress. Use provided query id to perform query monitoring and management.",
            "statementHandle": env.handle,
            "statementStatusUrl": env.status_url(),
        }),
    )
}

fn failure(env: &Envelope<'_>, e: &SqlError) -> Response<Body> {
    json(
        StatusCode::UNPROCESSABLE_ENTITY,
        &json!({
            "code": e.code, "message": e.message, "sqlState": e.sql_state,
            "statementHandle": env.handle, "statementStatusUrl": env.status_url(),
            "createdOn": env.created_on_ms,
        }),
    )
}

/// The answer for a statement in its current state. `async=true` always gets 202 on submit.
fn render(handle: &str, record: &StatementRecord, force_accepted: bool) -> Response<Body> {
    let env = envelope(handle, record);
    match &record.outcome {
        _ if force_accepted => running(&env),
        Outcome::Running => running(&env),
        Outcome::Succeeded(rs) => json(
            StatusCode::OK,
            &rs.to_json(&env, record.rows_per_partition, record.nulls_as_text),
        ),
        Outcome::Failed(e) => failure(&env, e),
        Outcome::Canceled => failure(&env, &SqlError::canceled()),
    }
}

fn not_found(handle: &str) -> Response<Body> {
    let e = SqlError::statement_not_found(handle);
    json(
        StatusCode::UNPROCESSABLE_ENTITY,
        &json!({"code": e.code, "message": e.message, "sqlState": e.sql_state, "statementHandle": handle}),
    )
}

pub fn status(
    shared: &Arc<Shared>,
    ex: ExchangeParts<'_>,
    user: &str,
    handle: &str,
) -> Response<Body> {
    ex.log.statement_handle = Some(handle.into());
    let state = shared.lock();
    let Some(record) = state.statements.get(handle).filter(|r| r.owner == user) else {
        return not_found(handle);
    };
    let partition = match ex.query.get("partition").map(|p| p.parse::<usize>()) {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(_)) => return bad_payload(),
    };
    match (&record.outcome, partition) {
        (Outcome::Succeeded(rs), Some(p)) if p > 0 => {
            match rs.partition_json(p, record.rows_per_partition, record.nulls_as_text) {
                // handling-responses: later partitions come gzip-compressed, without metadata.
                Some(body) => gzip_json(StatusCode::OK, &body),
                // ⚠ Snowflake's answer for a partition past the end is undocumented.
                None => json(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &json!({"code": "000709", "sqlState": "02000", "statementHandle": handle,
                            "message": format!("Partition {p} of statement {handle} not found")}),
                ),
            }
        }
        _ => render(handle, record, false),
    }
}

pub fn cancel(
    shared: &Arc<Shared>,
    ex: ExchangeParts<'_>,
    user: &str,
    handle: &str,
) -> Response<Body> {
    ex.log.statement_handle = Some(handle.into());
    let mut state = shared.lock();
    let Some(record) = state.statements.get_mut(handle).filter(|r| r.owner == user) else {
        return not_found(handle);
    };
    match record.outcome {
        Outcome::Running | Outcome::Canceled => {
            record.outcome = Outcome::Canceled;
            let env = envelope(handle, record);
            let e = SqlError::canceled();
            json(
                StatusCode::OK,
                &json!({"code": e.code, "sqlState": e.sql_state, "message": e.message,
                        "statementHandle": handle, "statementStatusUrl": env.status_url()}),
            )
        }
        // ⚠ Undocumented: cancelling a finished statement. We refuse it and change nothing.
        _ => json(
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!({"code": "000605", "sqlState": "01000", "statementHandle": handle,
                    "message": format!("Statement {handle} has already completed.")}),
        ),
    }
}
