//! The HTTP/1 server. hyper is driven directly (not through a router) so that a fault can drop
//! one connection without answering: the service returns an error and hyper closes the socket.

use std::sync::Arc;

use axum::body::Body;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::Shared;

/// Returned by a handler to close the connection instead of answering.
#[derive(Debug)]
pub struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for DropConnection {}

pub type Reply = Result<Response<Body>, DropConnection>;

pub async fn serve(listener: TcpListener, shared: Arc<Shared>, mut stopped: watch::Receiver<bool>) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.changed() => return,
        };
        let Ok((stream, _)) = accepted else { continue };
        let shared = shared.clone();
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| route(shared.clone(), req));
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                result = connection => {
                    if let Err(e) = result {
                        tracing::debug!("connection ended: {e}");
                    }
                }
                _ = stopped.changed() => {}
            }
        });
    }
}

async fn route(shared: Arc<Shared>, req: Request<Incoming>) -> Reply {
    if req.uri().path().starts_with("/_emulator/") {
        return Ok(crate::control::handle(&shared, req).await);
    }
    crate::api::handle(shared, req).await
}

/// The Snowflake code of an error answer, kept on the response for the request log.
#[derive(Debug, Clone)]
pub struct ErrorCode(pub String);

pub fn json(status: StatusCode, body: &Value) -> Response<Body> {
    let mut response = Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap_or_default();
    if status.as_u16() >= 400
        && let Some(code) = body.get("code").and_then(Value::as_str)
    {
        response
            .extensions_mut()
            .insert(ErrorCode(code.to_string()));
    }
    response
}

/// A JSON body sent gzip-compressed with `Content-Encoding: gzip`, whatever the client accepts.
pub fn gzip_json(status: StatusCode, body: &Value) -> Response<Body> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let compressed = encoder
        .write_all(body.to_string().as_bytes())
        .and_then(|()| encoder.finish());
    match compressed {
        Ok(bytes) => Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(Body::from(bytes))
            .unwrap_or_default(),
        Err(_) => json(status, body),
    }
}

pub fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

/// Reads the whole body; a body too large to be a statement counts as unreadable.
pub async fn read_body(body: Incoming) -> Option<axum::body::Bytes> {
    axum::body::to_bytes(Body::new(body), 8 * 1024 * 1024)
        .await
        .ok()
}
