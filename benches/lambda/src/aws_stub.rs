//! A local stand-in for the AWS endpoints (`AWS_ENDPOINT_URL`) that answers the few calls a
//! cheap first event makes, instantly and deterministically: an empty account. Anything else gets a
//! non-retryable `AccessDeniedException`, so an unexpected call shows up in the report instead of
//! as SDK retry back-off in the timings.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::task::JoinHandle;

/// Operations in arrival order.
type CallLog = Arc<Mutex<Vec<(Instant, String)>>>;

const JSON_1_1: &str = "application/x-amz-json-1.1";

pub struct AwsStub {
    pub addr: SocketAddr,
    calls: CallLog,
    task: JoinHandle<()>,
}

impl AwsStub {
    pub async fn start() -> anyhow::Result<AwsStub> {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new().fallback(answer).with_state(calls.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(AwsStub { addr, calls, task })
    }

    /// The operations called since the last take, in order, with their arrival (`Service.Operation`).
    pub fn take_calls(&self) -> Vec<(Instant, String)> {
        std::mem::take(&mut *self.calls.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Drop for AwsStub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(State(calls): State<CallLog>, headers: HeaderMap, body: Bytes) -> Response {
    let arrived = Instant::now();
    let operation = operation(&headers, &body);
    calls
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((arrived, operation.clone()));
    match operation.as_str() {
        "AmazonSSM.GetParameter" => json(
            StatusCode::BAD_REQUEST,
            r#"{"__type":"ParameterNotFound","message":"no such parameter"}"#,
        ),
        "AmazonSSM.PutParameter" => json(StatusCode::OK, r#"{"Version":1,"Tier":"Standard"}"#),
        "CloudTrail_20131101.LookupEvents" => json(StatusCode::OK, r#"{"Events":[]}"#),
        "secretsmanager.ListSecrets" => json(StatusCode::OK, r#"{"SecretList":[]}"#),
        "secretsmanager.DescribeSecret" => json(
            StatusCode::BAD_REQUEST,
            r#"{"__type":"ResourceNotFoundException","Message":"Secrets Manager can't find the specified secret."}"#,
        ),
        "SNS.Publish" => xml(
            StatusCode::OK,
            r#"<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>00000000-0000-0000-0000-000000000001</MessageId></PublishResult><ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata></PublishResponse>"#,
        ),
        _ if operation.starts_with("SNS.") => xml(
            StatusCode::FORBIDDEN,
            r#"<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>AuthorizationError</Code><Message>not stubbed</Message></Error><RequestId>bench</RequestId></ErrorResponse>"#,
        ),
        _ => json(
            StatusCode::BAD_REQUEST,
            r#"{"__type":"AccessDeniedException","message":"not stubbed by the benchmark"}"#,
        ),
    }
}

/// JSON protocols name the operation in `X-Amz-Target`; SNS (query protocol) in the form body.
fn operation(headers: &HeaderMap, body: &[u8]) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        // CloudTrail's prefix is a long versioned namespace; keep its last two parts.
        let parts: Vec<&str> = target.rsplitn(2, '.').collect();
        return match parts.as_slice() {
            [op, service] => {
                let service = service.rsplit('.').next().unwrap_or(service);
                format!("{service}.{op}")
            }
            _ => target.to_owned(),
        };
    }
    let form = String::from_utf8_lossy(body);
    form.split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
        .map_or_else(|| "unknown".to_owned(), |action| format!("SNS.{action}"))
}

fn json(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, JSON_1_1)], body).into_response()
}

fn xml(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
}
