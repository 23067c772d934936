//! A local CloudTrail `LookupEvents` endpoint that the real `aws-sdk-cloudtrail` client talks to unchanged
//! (moto has no LookupEvents). awsJson1_1 on `POST /`; the region comes from the SigV4 credential scope.
//! Seeded from CloudTrail record files, per region; more records can be added while it runs (late delivery).
//!
//! ```no_run
//! # async fn demo(records: Vec<serde_json::Value>) -> std::io::Result<()> {
//! use cloudtrail_emulator::{Config, Emulator, Fault};
//! let emu = Emulator::start(Config::default().with_records("us-east-1", records)).await?;
//! // point aws-sdk-cloudtrail at emu.url() ...
//! emu.inject(Fault::Throttle, 2);
//! emu.shutdown().await;
//! # Ok(()) }
//! ```

mod control;
mod lookup;
mod records;
mod server;
mod store;
mod throttle;

use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use records::{RecordsFileError, load_records_file, record_region};
pub use store::{RawEvent, RecordError};
pub use throttle::RateLimit;

use server::{EmulatorState, Shared};
use store::StoredEvent;

/// How to start the emulator.
#[derive(Debug, Clone)]
pub struct Config {
    /// Port on 127.0.0.1; 0 (the default) lets the OS choose.
    pub port: u16,
    /// Per-region rate limit; `None` turns throttling off. Default: CloudTrail's 2 requests/s.
    pub rate_limit: Option<RateLimit>,
    /// How far back event history reaches. Default: 90 days.
    pub retention: time::Duration,
    /// Records to seed, by region.
    pub records: Vec<(String, Vec<Value>)>,
    /// Which request parameters a NextToken is bound to. Default: all of them.
    pub token_binding: TokenBinding,
    /// How long a NextToken stays valid; `None` (the default): as long as the emulator runs.
    pub token_lifetime: Option<std::time::Duration>,
}

/// The parameters a NextToken must be resent with. AWS says "the same parameters"; whether a changed
/// `MaxResults` counts is not documented (⚠), so both readings are available.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenBinding {
    /// Every parameter, `MaxResults` included (the strict reading).
    #[default]
    AllParameters,
    /// Everything but `MaxResults`: the page size may change between pages.
    IgnoreMaxResults,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 0,
            rate_limit: Some(RateLimit::CLOUDTRAIL),
            retention: time::Duration::days(90),
            records: Vec::new(),
            token_binding: TokenBinding::default(),
            token_lifetime: None,
        }
    }
}

impl Config {
    pub fn with_records(mut self, region: impl Into<String>, records: Vec<Value>) -> Self {
        self.records.push((region.into(), records));
        self
    }

    pub fn with_token_binding(mut self, token_binding: TokenBinding) -> Self {
        self.token_binding = token_binding;
        self
    }

    pub fn with_token_lifetime(mut self, lifetime: Option<std::time::Duration>) -> Self {
        self.token_lifetime = lifetime;
        self
    }

    pub fn with_rate_limit(mut self, rate_limit: Option<RateLimit>) -> Self {
        self.rate_limit = rate_limit;
        self
    }
}

/// A fault answered instead of the next request (after authentication and target checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 500 `InternalFailure`.
    InternalError,
    /// HTTP 400 `ThrottlingException`, as if the rate limit had been hit.
    Throttle,
    /// A valid answer with no events but a NextToken to the events that would have come: AWS only
    /// promises that a missing NextToken means the end, not that a page is full.
    EmptyPage,
}

/// One request as the emulator saw and answered it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RecordedRequest {
    /// Region from the SigV4 credential scope, if the Authorization header had one.
    pub region: Option<String>,
    pub target: Option<String>,
    /// The JSON request body (`Null` if it was not JSON).
    pub body: Value,
    pub status: u16,
    /// The `__type` of an error answer.
    pub error_code: Option<String>,
    pub events_returned: usize,
    /// When the emulator received it, for checking a client's pacing.
    #[serde(skip)]
    pub received: std::time::Instant,
}

/// A running emulator. Dropping it stops the server.
pub struct Emulator {
    addr: std::net::SocketAddr,
    shared: Shared,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Emulator {
    /// Binds 127.0.0.1:`config.port` and serves until `shutdown()` or drop.
    /// Panics if a seeded record is unusable (no `eventID` / `eventTime`), as `add_records` does.
    pub async fn start(config: Config) -> std::io::Result<Emulator> {
        let mut state = EmulatorState::new(&config);
        for (region, records) in &config.records {
            state.insert(
                region,
                to_events(records).unwrap_or_else(|e| panic!("cannot seed {region}: {e}")),
            );
        }
        let shared: Shared = Arc::new(Mutex::new(state));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port)).await?;
        let addr = listener.local_addr()?;
        let app = axum::Router::new()
            .route("/", axum::routing::post(server::handle))
            .route(
                "/_emulator/records/{region}",
                axum::routing::post(control::add_records),
            )
            .route("/_emulator/requests", axum::routing::get(control::requests))
            .with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "cloudtrail emulator stopped");
            }
        });
        Ok(Emulator {
            addr,
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`, for the SDK's `endpoint_url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Adds records to a region's history while running, e.g. to simulate late delivery.
    /// Panics on a record without `eventID` or RFC 3339 `eventTime` (a broken fixture).
    pub fn add_records(&self, region: &str, records: Vec<Value>) {
        if let Err(e) = self.try_add_records(region, records) {
            panic!("add_records({region}): {e}");
        }
    }

    /// As `add_records`, but reports an unusable record instead of panicking; nothing is added then.
    pub fn try_add_records(&self, region: &str, records: Vec<Value>) -> Result<(), RecordError> {
        let events = to_events(&records)?;
        self.lock().insert(region, events);
        Ok(())
    }

    /// Adds an event whose `CloudTrailEvent` text is given verbatim (e.g. not JSON at all), so a
    /// consumer's handling of a broken record can be tested.
    pub fn add_raw_event(&self, region: &str, event: RawEvent) {
        self.lock()
            .insert(region, vec![StoredEvent::from_raw(event)]);
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().log.clone()
    }

    /// Answers the next `count` LookupEvents requests with `fault` (queued after earlier injections).
    pub fn inject(&self, fault: Fault, count: usize) {
        self.lock().faults.extend(std::iter::repeat_n(fault, count));
    }

    /// Stops the server and waits for it to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, EmulatorState> {
        self.shared.lock().expect("emulator state poisoned")
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub(crate) fn to_events(records: &[Value]) -> Result<Vec<StoredEvent>, RecordError> {
    records
        .iter()
        .enumerate()
        .map(|(i, r)| StoredEvent::from_record(i, r))
        .collect()
}
