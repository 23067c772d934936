//! The control endpoint, for the binary's users (scripts, other processes): add records at runtime and
//! read the request log. Library users call [`crate::Emulator`] methods instead.
//!
//! - `POST /_emulator/records/{region}` with `{"Records":[...]}` → `{"added": N}`
//! - `GET /_emulator/requests` → every LookupEvents request as the emulator answered it

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::server::Shared;

pub(crate) async fn add_records(
    State(shared): State<Shared>,
    Path(region): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let records = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(mut doc)) => match doc.remove("Records") {
            Some(Value::Array(records)) => records,
            _ => return bad_request("body needs a `Records` array"),
        },
        _ => return bad_request("body must be CloudTrail JSON: {\"Records\":[...]}"),
    };
    match crate::to_events(&records) {
        Ok(events) => {
            let added = events.len();
            shared
                .lock()
                .expect("emulator state poisoned")
                .insert(&region, events);
            Json(json!({"added": added})).into_response()
        }
        Err(e) => bad_request(&e.to_string()),
    }
}

pub(crate) async fn requests(State(shared): State<Shared>) -> Response {
    let log = shared.lock().expect("emulator state poisoned").log.clone();
    Json(log).into_response()
}

fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"message": message}))).into_response()
}
