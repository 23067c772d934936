//! A minimal Lambda Runtime API (version 2018-06-01) serving exactly one invocation, so the real
//! `lambda_runtime` crate in a function binary talks to it unchanged.
//! Reference: <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

/// What the function did, stamped when the request reached the API.
#[derive(Debug)]
pub enum RuntimeCall {
    /// `GET /runtime/invocation/next`: initialisation is over.
    Next(Instant),
    /// `POST /runtime/invocation/{id}/response`.
    Response(Instant, Bytes),
    /// `POST /runtime/invocation/{id}/error`, with the `Lambda-Runtime-Function-Error-Type` header.
    Error(Instant, String, Bytes),
    /// `POST /runtime/init/error`.
    InitError(Bytes),
}

struct Api {
    event: Bytes,
    function_arn: String,
    served: AtomicBool,
    calls: mpsc::UnboundedSender<RuntimeCall>,
}

/// One server per measured process; dropped (and its task aborted) when the run ends.
pub struct RuntimeApi {
    pub addr: SocketAddr,
    pub calls: mpsc::UnboundedReceiver<RuntimeCall>,
    task: JoinHandle<()>,
}

impl RuntimeApi {
    pub async fn start(event: Bytes, function_arn: String) -> anyhow::Result<RuntimeApi> {
        let (tx, calls) = mpsc::unbounded_channel();
        let api = Arc::new(Api {
            event,
            function_arn,
            served: AtomicBool::new(false),
            calls: tx,
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(api);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(RuntimeApi { addr, calls, task })
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn next(State(api): State<Arc<Api>>) -> Response {
    let now = Instant::now();
    if api.served.swap(true, Ordering::SeqCst) {
        // Like a frozen sandbox: the second `next` never returns; the process is killed first.
        std::future::pending::<()>().await;
    }
    let _ = api.calls.send(RuntimeCall::Next(now));
    let deadline = SystemTime::now() + Duration::from_secs(300);
    let deadline_ms = deadline
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    put("lambda-runtime-aws-request-id", REQUEST_ID.to_owned());
    put("lambda-runtime-deadline-ms", deadline_ms.to_string());
    put(
        "lambda-runtime-invoked-function-arn",
        api.function_arn.clone(),
    );
    put(
        "lambda-runtime-trace-id",
        "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1".to_owned(),
    );
    put("content-type", "application/json".to_owned());
    (StatusCode::OK, headers, api.event.clone()).into_response()
}

async fn response(State(api): State<Arc<Api>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let now = Instant::now();
    if id != REQUEST_ID {
        return StatusCode::BAD_REQUEST;
    }
    let _ = api.calls.send(RuntimeCall::Response(now, body));
    StatusCode::ACCEPTED
}

async fn error(
    State(api): State<Arc<Api>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let now = Instant::now();
    if id != REQUEST_ID {
        return StatusCode::BAD_REQUEST;
    }
    let error_type = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let _ = api.calls.send(RuntimeCall::Error(now, error_type, body));
    StatusCode::ACCEPTED
}

async fn init_error(State(api): State<Arc<Api>>, body: Bytes) -> StatusCode {
    let _ = api.calls.send(RuntimeCall::InitError(body));
    StatusCode::ACCEPTED
}
