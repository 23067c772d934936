//! Control endpoints under `/_emulator/` (no auth): faults, the request log, users' slots,
//! options, reset. README.md documents them.

use axum::body::Body;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::server::{empty, json, read_body};
use crate::state::{State, User};
use crate::{Fault, Options, SeedUser, Shared};

pub async fn handle(shared: &Shared, req: Request<Incoming>) -> Response<Body> {
    let method = req.method().clone();
    let path = req
        .uri()
        .path()
        .trim_start_matches("/_emulator/")
        .to_string();
    let body = read_body(req.into_body()).await.unwrap_or_default();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match (&method, &segments[..]) {
        (&Method::GET, ["requests"]) => json(StatusCode::OK, &json!(shared.lock().log)),
        (&Method::DELETE, ["requests"]) => {
            shared.lock().log.clear();
            empty(StatusCode::NO_CONTENT)
        }
        (&Method::POST, ["faults"]) => match serde_json::from_slice::<Fault>(&body) {
            Ok(fault) => match shared.lock().arm(fault) {
                Ok(()) => empty(StatusCode::NO_CONTENT),
                Err(e) => bad_request(format!("invalid statement_pattern: {e}")),
            },
            Err(e) => bad_request(format!("invalid fault: {e}")),
        },
        (&Method::GET, ["faults"]) => {
            let state = shared.lock();
            let armed: Vec<Value> = state
                .faults
                .iter()
                .map(|f| json!({"fault": f.fault, "remaining": f.remaining}))
                .collect();
            json(StatusCode::OK, &json!(armed))
        }
        (&Method::DELETE, ["faults"]) => {
            shared.lock().faults.clear();
            empty(StatusCode::NO_CONTENT)
        }
        (&Method::GET, ["users"]) => {
            let users: Vec<_> = shared.lock().users.iter().map(User::snapshot).collect();
            json(StatusCode::OK, &json!(users))
        }
        (&Method::GET, ["users", name]) => match shared.lock().user(&decode(name)) {
            Some(user) => json(StatusCode::OK, &json!(user.snapshot())),
            None => empty(StatusCode::NOT_FOUND),
        },
        (&Method::PUT, ["users", name]) => put_user(&mut shared.lock(), &decode(name), &body),
        (&Method::GET, ["options"]) => json(StatusCode::OK, &json!(shared.lock().options)),
        (&Method::PUT, ["options"]) => put_options(&mut shared.lock(), &body),
        (&Method::POST, ["reset"]) => {
            reset(shared);
            empty(StatusCode::NO_CONTENT)
        }
        _ => empty(StatusCode::NOT_FOUND),
    }
}

fn bad_request(message: String) -> Response<Body> {
    json(StatusCode::BAD_REQUEST, &json!({"message": message}))
}

/// Percent-decoding for user names in the path (quotes, spaces).
fn decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Creates or replaces a user from seed-user JSON; the path names it.
fn put_user(state: &mut State, name: &str, body: &[u8]) -> Response<Body> {
    let Ok(Value::Object(mut fields)) = serde_json::from_slice::<Value>(body) else {
        return bad_request("a user must be a JSON object".into());
    };
    fields.insert("name".into(), json!(name));
    let seed: SeedUser = match serde_json::from_value(Value::Object(fields)) {
        Ok(seed) => seed,
        Err(e) => return bad_request(format!("invalid user: {e}")),
    };
    let user = match User::from_seed(&seed, OffsetDateTime::now_utc()) {
        Ok(user) => user,
        Err(e) => return bad_request(e.to_string()),
    };
    let snapshot = user.snapshot();
    match state.user_mut(name) {
        Some(existing) => *existing = user,
        None => state.users.push(user),
    }
    json(StatusCode::OK, &json!(snapshot))
}

/// Merges the given fields into the current options.
fn put_options(state: &mut State, body: &[u8]) -> Response<Body> {
    let Ok(Value::Object(patch)) = serde_json::from_slice::<Value>(body) else {
        return bad_request("options must be a JSON object".into());
    };
    let mut current = json!(state.options);
    for (k, v) in patch {
        current[k] = v;
    }
    match serde_json::from_value::<Options>(current) {
        Ok(options) => {
            state.options = options;
            json(StatusCode::OK, &json!(state.options))
        }
        Err(e) => bad_request(format!("invalid options: {e}")),
    }
}

pub fn reset(shared: &Shared) {
    let mut state = shared.lock();
    let seed = state.seed.clone();
    // The seed was valid at start, so rebuilding from it cannot fail.
    if let Ok(fresh) = State::from_seed(seed) {
        *state = fresh;
    }
}
