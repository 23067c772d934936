//! An SDK interceptor that makes the k-th AWS call fail: before the request is sent (the service
//! never saw it), after the response arrived (the service acted, the function never learns it: a
//! crash right after success), or by sending the call to a [`BlackHole`] (the service never
//! answers, so the client's own attempt and operation timeouts must end the call).
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
use tokio::net::TcpListener;
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
}

/// What the armed fault hit, once it fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiredFault {
    pub operation: String,
    /// How many times the SDK sent the call (its retries included).
    pub attempts: u32,
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
    state: Mutex<State>,
}

impl AwsFaults {
    /// `black_hole` is the endpoint of a [`BlackHole`].
    pub fn new(black_hole: impl Into<String>) -> AwsFaults {
        AwsFaults {
            black_hole: black_hole.into(),
            state: Mutex::default(),
        }
    }

    /// Fails the `nth` call (1-based) from now, in the given way; resets the count.
    pub fn arm(&self, nth: usize, kind: AwsFaultKind) {
        *self.state.lock().unwrap() = State {
            armed: Some((nth, kind)),
            ..State::default()
        };
    }

    /// Forgets any armed fault and restarts the count.
    pub fn disarm(&self) {
        *self.state.lock().unwrap() = State::default();
    }

    /// Operation names seen since the last arm/disarm, in order; an SDK retry is not a new call.
    pub fn operations(&self) -> Vec<String> {
        self.state.lock().unwrap().operations.clone()
    }

    /// The call the armed fault hit, if it fired.
    pub fn fired(&self) -> Option<FiredFault> {
        self.state.lock().unwrap().fired.clone()
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
                });
            }
            s.calls
        };
        cfg.interceptor_state().store_put(CallNumber(n));
        n
    }

    /// The fault armed for call `n`, if any; `attempt` counts one more send of it.
    fn fault_for(&self, n: usize, attempt: bool) -> Option<AwsFaultKind> {
        let mut s = self.state.lock().unwrap();
        let (nth, kind) = s.armed?;
        if nth != n {
            return None;
        }
        if attempt && let Some(fired) = &mut s.fired {
            fired.attempts += 1;
        }
        Some(kind)
    }

    /// `uri` with its scheme and authority replaced by the black hole's.
    fn black_hole_uri(&self, uri: &str) -> String {
        let after_scheme = uri.find("://").map_or(0, |i| i + 3);
        let path = uri[after_scheme..]
            .find('/')
            .map_or("/", |i| &uri[after_scheme + i..]);
        format!("{}{path}", self.black_hole)
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
        if self.0.fault_for(n, true) == Some(AwsFaultKind::Timeout) {
            let request = context.request_mut();
            let uri = self.0.black_hole_uri(request.uri());
            request.set_uri(uri)?;
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
