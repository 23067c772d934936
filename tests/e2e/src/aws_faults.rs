//! An SDK interceptor that makes the k-th AWS call fail, either before the request is sent (the
//! service never saw it) or after the response arrived (the service acted, the function never
//! learns it: a crash or timeout right after success).

use std::sync::Mutex;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Where the injected failure happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsFaultKind {
    /// The request never reaches the service.
    BeforeSend,
    /// The service handled the request; the caller sees an error instead of the response.
    AfterSend,
}

#[derive(Debug, Default)]
struct State {
    /// Calls seen since the last `arm` (or since creation).
    calls: usize,
    /// Operation names in call order since the last `arm`.
    operations: Vec<String>,
    armed: Option<(usize, AwsFaultKind)>,
    /// The operation that was failed, once the fault fired.
    fired: Option<String>,
}

/// Counts every AWS call of the clients it is installed on; fails the armed one.
#[derive(Debug, Default)]
pub struct AwsFaults {
    state: Mutex<State>,
}

impl AwsFaults {
    /// Fails the `nth` call (1-based) from now, in the given way; resets the count.
    pub fn arm(&self, nth: usize, kind: AwsFaultKind) {
        let mut s = self.state.lock().unwrap();
        *s = State {
            armed: Some((nth, kind)),
            ..State::default()
        };
    }

    /// Forgets any armed fault and restarts the count.
    pub fn disarm(&self) {
        *self.state.lock().unwrap() = State::default();
    }

    /// Operation names seen since the last arm/disarm, in order.
    pub fn operations(&self) -> Vec<String> {
        self.state.lock().unwrap().operations.clone()
    }

    /// The operation the armed fault hit, if it fired.
    pub fn fired(&self) -> Option<String> {
        self.state.lock().unwrap().fired.clone()
    }

    fn on_call(&self, cfg: &ConfigBag) -> Option<AwsFaultKind> {
        let operation = cfg
            .load::<Metadata>()
            .map_or("unknown", |m| m.name())
            .to_string();
        let mut s = self.state.lock().unwrap();
        s.calls += 1;
        s.operations.push(operation.clone());
        match s.armed {
            Some((nth, kind)) if nth == s.calls => {
                s.fired = Some(operation);
                Some(kind)
            }
            _ => None,
        }
    }

    fn armed_kind_for_current_call(&self) -> Option<AwsFaultKind> {
        let s = self.state.lock().unwrap();
        match (s.armed, &s.fired) {
            (Some((nth, kind)), Some(_)) if nth == s.calls => Some(kind),
            _ => None,
        }
    }
}

/// The interceptor installed on each client; shares one [`AwsFaults`].
#[derive(Debug, Clone)]
pub struct AwsFaultInterceptor(pub std::sync::Arc<AwsFaults>);

impl Intercept for AwsFaultInterceptor {
    fn name(&self) -> &'static str {
        "AwsFaultInterceptor"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        match self.0.on_call(cfg) {
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
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        match self.0.armed_kind_for_current_call() {
            Some(AwsFaultKind::AfterSend) => {
                Err("injected fault: connection lost after the service answered".into())
            }
            _ => Ok(()),
        }
    }
}
