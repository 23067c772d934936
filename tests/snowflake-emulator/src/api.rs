//! The SQL API v2 endpoints (reference §2): routing, faults, headers, auth, then the statement
//! routes. Every request ends up in the request log exactly once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::HeaderMap;
use hyper::{Method, Request, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::server::{DropConnection, ErrorCode, Reply, empty, json, read_body};
use crate::state::{FaultAction, State, rfc3339};
use crate::{LoggedRequest, Shared, jwt, statements};

enum Route {
    Submit,
    Status(String),
    Cancel(String),
}

impl Route {
    fn parse(path: &str) -> Option<(Route, Method)> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match segments[..] {
            ["api", "v2", "statements"] | ["api", "v2", "statements", ""] => {
                Some((Route::Submit, Method::POST))
            }
            ["api", "v2", "statements", h] => Some((Route::Status(h.into()), Method::GET)),
            ["api", "v2", "statements", h, "cancel"] => {
                Some((Route::Cancel(h.into()), Method::POST))
            }
            _ => None,
        }
    }
}

/// What the handlers learn about the request while answering it.
struct Exchange {
    log: LoggedRequest,
    query: HashMap<String, String>,
}

pub async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Reply {
    let (parts, body) = req.into_parts();
    let query: HashMap<String, String> = parts
        .uri
        .query()
        .map(|q| {
            q.split('&')
                .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default();
    let mut ex = Exchange {
        log: LoggedRequest {
            at: rfc3339(OffsetDateTime::now_utc()),
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().map(str::to_string),
            request_id: query.get("requestId").cloned(),
            retry: query
                .get("retry")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
            ..LoggedRequest::default()
        },
        query,
    };
    let Some((route, method)) = Route::parse(parts.uri.path()) else {
        return Ok(finish(&shared, ex, empty(StatusCode::NOT_FOUND)));
    };
    if parts.method != method {
        return Ok(finish(&shared, ex, empty(StatusCode::METHOD_NOT_ALLOWED)));
    }
    let body: Option<Value> = read_body(body)
        .await
        .and_then(|b| serde_json::from_slice(&b).ok());
    if matches!(route, Route::Submit) {
        ex.log.statement = body
            .as_ref()
            .and_then(|b| b.get("statement"))
            .and_then(Value::as_str)
            .map(str::to_string);
    }

    let fault = shared.lock().take_fault(ex.log.statement.as_deref());
    match fault {
        Some(FaultAction::Status(status)) => {
            ex.log.fault = Some("status".into());
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return Ok(finish(&shared, ex, fault_response(status)));
        }
        Some(FaultAction::Hang) => {
            ex.log.fault = Some("hang".into());
            let hang = Duration::from_millis(shared.lock().options.hang_ms);
            record(&shared, ex.log);
            tokio::time::sleep(hang).await;
            return Err(DropConnection);
        }
        _ => {}
    }
    let response = answer(&shared, &mut ex, route, &parts.headers, body).await;
    if fault == Some(FaultAction::DropAfterExecute) {
        ex.log.fault = Some("drop_after_execute".into());
        record(&shared, ex.log);
        return Err(DropConnection);
    }
    Ok(finish(&shared, ex, response))
}

async fn answer(
    shared: &Arc<Shared>,
    ex: &mut Exchange,
    route: Route,
    headers: &HeaderMap,
    body: Option<Value>,
) -> hyper::Response<axum::body::Body> {
    if !content_type_ok(headers) {
        return json(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &json!({"code": "391902", "message": "Unsupported Content-Type; use application/json."}),
        );
    }
    let user_agent = headers
        .get(hyper::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !v.trim().is_empty());
    if !user_agent && shared.lock().options.require_user_agent {
        return json(
            StatusCode::BAD_REQUEST,
            &json!({"code": "391903", "message": "User-Agent header is required."}),
        );
    }
    let authenticated = authenticate(&shared.lock(), headers);
    let user = match authenticated {
        Ok(user) => user,
        Err(refusal) => {
            let (response, failure) = *refusal;
            ex.log.auth_failure_code = Some(failure.code.to_string());
            ex.log.auth_failure_detail = Some(failure.detail);
            return response;
        }
    };
    match route {
        Route::Submit => statements::submit(shared, ex_parts(ex), &user, body).await,
        Route::Status(handle) => statements::status(shared, ex_parts(ex), &user, &handle),
        Route::Cancel(handle) => statements::cancel(shared, ex_parts(ex), &user, &handle),
    }
}

/// The parts of an exchange the statement routes read and fill in.
pub struct ExchangeParts<'a> {
    pub log: &'a mut LoggedRequest,
    pub query: &'a HashMap<String, String>,
}

fn ex_parts(ex: &mut Exchange) -> ExchangeParts<'_> {
    ExchangeParts {
        log: &mut ex.log,
        query: &ex.query,
    }
}

fn finish(
    shared: &Shared,
    mut ex: Exchange,
    response: hyper::Response<axum::body::Body>,
) -> hyper::Response<axum::body::Body> {
    ex.log.status = response.status().as_u16();
    ex.log.error_code = response
        .extensions()
        .get::<ErrorCode>()
        .map(|c| c.0.clone());
    record(shared, ex.log);
    response
}

fn record(shared: &Shared, log: LoggedRequest) {
    tracing::info!(method = %log.method, path = %log.path, status = log.status, "request");
    shared.lock().log.push(log);
}

fn fault_response(status: StatusCode) -> hyper::Response<axum::body::Body> {
    let body = match status.as_u16() {
        429 => json!({"code": "390505", "message": "Too many requests."}),
        503 => json!({"code": "390400", "message": "Service temporarily unavailable."}),
        _ => json!({"code": "390100", "message": "Internal error (injected fault)."}),
    };
    json(status, &body)
}

/// A Content-Type, when sent, must be `application/json` (parameters allowed); without one the
/// body is taken as JSON (sqlapi.yaml, 415).
fn content_type_ok(headers: &HeaderMap) -> bool {
    match headers
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        None => true,
        Some(v) => v
            .split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json")),
    }
}

/// Returns the authenticated user's NAME.
fn authenticate(
    state: &State,
    headers: &HeaderMap,
) -> Result<String, Box<(hyper::Response<axum::body::Body>, jwt::AuthFailure)>> {
    let incident = uuid::Uuid::new_v4();
    let jwt_invalid = |failure: jwt::AuthFailure| {
        let body =
            json!({"code": "390144", "message": format!("JWT token is invalid. [{incident}]")});
        Box::new((json(StatusCode::UNAUTHORIZED, &body), failure))
    };
    let token = headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Err(jwt_invalid(jwt::AuthFailure {
            code: jwt::codes::GENERIC,
            detail: "no Authorization: Bearer header".into(),
        }));
    };
    let token_type = headers
        .get("x-snowflake-authorization-token-type")
        .and_then(|v| v.to_str().ok());
    // Absent: Snowflake examines the token; a JWT is taken as KEYPAIR_JWT (unless the option
    // follows sqlapi.yaml's "OAUTH is assumed").
    let keypair = match token_type {
        Some(t) => t.eq_ignore_ascii_case("KEYPAIR_JWT"),
        None => !state.options.require_token_type_header && token.split('.').count() == 3,
    };
    if !keypair {
        let body = json!({"code": "390303", "message": format!("Invalid OAuth access token. [{incident}]")});
        let detail = format!(
            "token type {} is not KEYPAIR_JWT",
            token_type.unwrap_or("(inferred OAUTH)")
        );
        return Err(Box::new((
            json(StatusCode::UNAUTHORIZED, &body),
            jwt::AuthFailure {
                code: "390303",
                detail,
            },
        )));
    }
    let now = OffsetDateTime::now_utc();
    let ctx = jwt::AuthContext {
        account: &state.account,
        host: headers
            .get(hyper::header::HOST)
            .and_then(|v| v.to_str().ok()),
        now_secs: now.unix_timestamp_nanos() as f64 / 1e9,
        clock_skew_secs: state.options.clock_skew_secs,
        enforce_iat_within_60s: state.options.strict_iat,
    };
    match jwt::verify(token, &ctx, &state.users) {
        Ok(index) => Ok(state.users[index].name.clone()),
        Err(failure) => Err(jwt_invalid(failure)),
    }
}
