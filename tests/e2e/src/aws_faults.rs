//! An SDK interceptor that makes the k-th AWS call fail: before the request is sent (the service
//! never saw it), after the response arrived (the service acted, the function never learns it: a
//! crash right after success), by sending the call to a [`BlackHole`] (the service never
//! answers, so the client's own attempt and operation timeouts must end the call), or by sending
//! its first attempt through a [`Relay`] (the service acts, its answer is lost, the attempt times
//! out and the SDK retries a call the service already applied).
//!
//! Calls are numbered per operation, not per attempt. The orchestrator (aws-smithy-runtime 1.16)
//! runs, for every attempt: endpoint resolution, signing, `modify_before_transmit`,
//! `read_before_transmit`, the send, `read_after_transmit`; before a retry it rewinds the request
//! to a copy taken before the first attempt (so the endpoint, and our rewritten URI, is set again)
//! but keeps the operation's `ConfigBag`. The call's number is stored in that bag's
//! interceptor-state layer on its first attempt, so an SDK retry is the same call, not the next.

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
    BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Where the injected failure happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsFaultKind {
    /// The request never reaches the service.
    BeforeSend,
    /// The service handled the request; the caller sees an error instead of the response.
    AfterSend,
    /// Every attempt of the call goes to a [`BlackHole`]: nothing reaches the service and no
    /// answer ever comes, until the client's timeouts give up.
    Timeout,
    /// The first attempt goes through a [`Relay`]: the service receives and applies it, but its
    /// answer never reaches the caller, so the attempt timeout fires and the SDK retries; the
    /// retries go to the service as usual (it sees the same call twice).
    AppliedThenHang,
}

/// What the armed fault hit, once it fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiredFault {
    pub operation: String,
    /// How many times the SDK sent the call (its retries included).
    pub attempts: u32,
    /// For [`AwsFaultKind::AppliedThenHang`]: the HTTP status the service answered the relayed
    /// first attempt with (`None` if the relay never got an answer).
    pub service_answered: Option<u16>,
}

/// The number of an operation among the calls counted since the last arm, kept in the operation's
/// config bag so that every attempt of it shares the number.
#[derive(Debug, Clone, Copy)]
struct CallNumber(usize);

impl Storable for CallNumber {
    type Storer = StoreReplace<Self>;
}

#[derive(Debug, Default)]
struct State {
    /// Calls seen since the last `arm` (or since creation).
    calls: usize,
    /// Operation names in call order since the last `arm`.
    operations: Vec<String>,
    armed: Option<(usize, AwsFaultKind)>,
    fired: Option<FiredFault>,
}

/// Counts every AWS call of the clients it is installed on; fails the armed one.
#[derive(Debug)]
pub struct AwsFaults {
    /// `http://host:port` of the black hole that [`AwsFaultKind::Timeout`] sends calls to.
    black_hole: String,
    /// `http://host:port` of the relay that [`AwsFaultKind::AppliedThenHang`] sends calls to.
    relay: String,
    /// What the relay got back from the service, since the last arm/disarm.
    relayed: Arc<Mutex<Vec<u16>>>,
    state: Mutex<State>,
}

impl AwsFaults {
    /// `black_hole` is the endpoint of a [`BlackHole`]; `relay` forwards to the service.
    pub fn new(black_hole: impl Into<String>, relay: &Relay) -> AwsFaults {
        AwsFaults {
            black_hole: black_hole.into(),
            relay: relay.endpoint.clone(),
            relayed: relay.answers.clone(),
            state: Mutex::default(),
        }
    }

    /// Fails the `nth` call (1-based) from now, in the given way; resets the count.
    pub fn arm(&self, nth: usize, kind: AwsFaultKind) {
        self.relayed.lock().unwrap().clear();
        *self.state.lock().unwrap() = State {
            armed: Some((nth, kind)),
            ..State::default()
        };
    }

    /// Forgets any armed fault and restarts the count.
    pub fn disarm(&self) {
        self.relayed.lock().unwrap().clear();
        *self.state.lock().unwrap() = State::default();
    }

    /// Operation names seen since the last arm/disarm, in order; an SDK retry is not a new call.
    pub fn operations(&self) -> Vec<String> {
        self.state.lock().unwrap().operations.clone()
    }

    /// The call the armed fault hit, if it fired.
    pub fn fired(&self) -> Option<FiredFault> {
        let mut fired = self.state.lock().unwrap().fired.clone()?;
        // Only the armed call's first attempt is ever relayed.
        fired.service_answered = self.relayed.lock().unwrap().first().copied();
        Some(fired)
    }

    /// The operation's call number: assigned (and counted) on its first attempt, reused after.
    fn call_number(&self, cfg: &mut ConfigBag) -> usize {
        if let Some(CallNumber(n)) = cfg.load::<CallNumber>() {
            return *n;
        }
        let operation = cfg
            .load::<Metadata>()
            .map_or("unknown", |m| m.name())
            .to_string();
        let n = {
            let mut s = self.state.lock().unwrap();
            s.calls += 1;
            s.operations.push(operation.clone());
            if matches!(s.armed, Some((nth, _)) if nth == s.calls) {
                s.fired = Some(FiredFault {
                    operation,
                    attempts: 0,
                    service_answered: None,
                });
            }
            s.calls
        };
        cfg.interceptor_state().store_put(CallNumber(n));
        n
    }

    /// The fault armed for call `n`, if any; `attempt` counts one more send of it.
    fn fault_for(&self, n: usize, attempt: bool) -> Option<AwsFaultKind> {
        self.fault_and_attempt(n, attempt).map(|(kind, _)| kind)
    }

    /// As [`Self::fault_for`], with the (1-based) attempt number of the armed call.
    fn fault_and_attempt(&self, n: usize, attempt: bool) -> Option<(AwsFaultKind, u32)> {
        let mut s = self.state.lock().unwrap();
        let (nth, kind) = s.armed?;
        if nth != n {
            return None;
        }
        let fired = s.fired.as_mut()?;
        if attempt {
            fired.attempts += 1;
        }
        Some((kind, fired.attempts))
    }
}

/// `uri`'s authority (`host:port`) and path (with query).
fn split_uri(uri: &str) -> (&str, &str) {
    let after_scheme = uri.find("://").map_or(0, |i| i + 3);
    let rest = &uri[after_scheme..];
    match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    }
}

/// The interceptor installed on each client; shares one [`AwsFaults`].
#[derive(Debug, Clone)]
pub struct AwsFaultInterceptor(pub Arc<AwsFaults>);

impl Intercept for AwsFaultInterceptor {
    fn name(&self) -> &'static str {
        "AwsFaultInterceptor"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let n = self.0.call_number(cfg);
        let request = context.request_mut();
        match self.0.fault_and_attempt(n, true) {
            Some((AwsFaultKind::Timeout, _)) => {
                let (_, path) = split_uri(request.uri());
                let uri = format!("{}{path}", self.0.black_hole);
                request.set_uri(uri)?;
            }
            Some((AwsFaultKind::AppliedThenHang, 1)) => {
                // The relay forwards the bytes unchanged, so they must carry the Host the service
                // would have seen; the HTTP client only derives one from the URI when none is set.
                // A retry starts from the request as it was before this attempt: no Host, moto's URI.
                let (authority, path) = split_uri(request.uri());
                let authority = authority.to_string();
                let uri = format!("{}{path}", self.0.relay);
                if !request.headers().contains_key("host") {
                    request.headers_mut().insert("host", authority);
                }
                request.set_uri(uri)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let n = self.0.call_number(cfg);
        match self.0.fault_for(n, false) {
            Some(AwsFaultKind::BeforeSend) => {
                Err("injected fault: connection refused before sending".into())
            }
            _ => Ok(()),
        }
    }

    fn read_after_transmit(
        &self,
        _context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let n = self.0.call_number(cfg);
        match self.0.fault_for(n, false) {
            Some(AwsFaultKind::AfterSend) => {
                Err("injected fault: connection lost after the service answered".into())
            }
            _ => Ok(()),
        }
    }
}

/// A local TCP endpoint that accepts connections, reads whatever is sent and never answers, like a
/// black-holed VPC endpoint. A socket is closed once the client closes its end (a timeout).
#[derive(Debug)]
pub struct BlackHole {
    pub endpoint: String,
    acceptor: JoinHandle<()>,
}

impl BlackHole {
    /// Listens on a free local port, on the current tokio runtime.
    pub async fn start() -> std::io::Result<BlackHole> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let acceptor = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut socket, &mut tokio::io::sink()).await;
                });
            }
        });
        Ok(BlackHole { endpoint, acceptor })
    }
}

impl Drop for BlackHole {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

/// A local HTTP/1.1 endpoint that passes each request it gets to the service and then never
/// answers the caller, like a connection lost after the service acted: it reads the whole request
/// (headers and `Content-Length` body, which the SDK sends for the JSON and query protocols),
/// writes it unchanged to the target, reads the target's whole response, records its status, and
/// holds the caller's socket open until the caller closes it (its attempt timeout).
#[derive(Debug)]
pub struct Relay {
    pub endpoint: String,
    /// The target's status for every request relayed whole, in order (a request or response the
    /// relay cannot read, say a chunked request body, leaves no status: the fault shows `None`).
    answers: Arc<Mutex<Vec<u16>>>,
    acceptor: JoinHandle<()>,
}

impl Relay {
    /// Listens on a free local port, on the current tokio runtime; relays to `target`
    /// (`http://host:port`).
    pub async fn start(target: &str) -> std::io::Result<Relay> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let target = split_uri(target).0.to_string();
        let answers = Arc::new(Mutex::new(Vec::new()));
        let log = answers.clone();
        let acceptor = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (target, log) = (target.clone(), log.clone());
                tokio::spawn(async move {
                    if let Some(status) = relay_one(&mut socket, &target).await {
                        log.lock().unwrap().push(status);
                    }
                    // Never answer; wait for the caller to give up and close.
                    let _ = tokio::io::copy(&mut socket, &mut tokio::io::sink()).await;
                });
            }
        });
        Ok(Relay {
            endpoint,
            answers,
            acceptor,
        })
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

/// Forwards one request from `client` to `target`; returns the target's status code.
async fn relay_one(client: &mut TcpStream, target: &str) -> Option<u16> {
    let request = read_message(client, false).await?;
    let mut service = TcpStream::connect(target).await.ok()?;
    service.write_all(&request).await.ok()?;
    let response = read_message(&mut service, true).await?;
    let status_line = response.split(|&b| b == b'\r').next()?;
    std::str::from_utf8(status_line)
        .ok()?
        .split(' ')
        .nth(1)?
        .parse()
        .ok()
}

/// How an HTTP/1.1 message's body ends.
enum BodyEnd {
    /// After this many bytes from the start of the message.
    Length(usize),
    /// After the last (empty) chunk.
    Chunked { head_end: usize },
    /// When the peer closes (a response without length or chunking).
    Close,
}

/// One whole HTTP/1.1 message from `stream`: the head, then a `Content-Length` body, or (for a
/// response only) a chunked body or one that ends when the peer closes. `None` for anything else.
async fn read_message(stream: &mut TcpStream, response: bool) -> Option<Vec<u8>> {
    let mut message = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = find(&message, b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        message.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&message[..head_end]).to_ascii_lowercase();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':').map(str::trim))
            .map(str::to_string)
    };
    let end = match (header("content-length"), header("transfer-encoding")) {
        (Some(length), _) => BodyEnd::Length(head_end + length.parse::<usize>().ok()?),
        (None, Some(coding)) if response && coding.contains("chunked") => {
            BodyEnd::Chunked { head_end }
        }
        (None, None) if response => BodyEnd::Close,
        _ => return None,
    };
    loop {
        let complete = match end {
            BodyEnd::Length(total) => message.len() >= total,
            BodyEnd::Chunked { head_end } => message[head_end..].ends_with(b"0\r\n\r\n"),
            BodyEnd::Close => false,
        };
        if complete {
            return Some(message);
        }
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return matches!(end, BodyEnd::Close).then_some(message);
        }
        message.extend_from_slice(&buf[..n]);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
