//! A local Snowflake SQL API v2 emulator with real key-pair JWT verification, strict where
//! Snowflake is strict. It is the independent oracle product code is tested against, so it
//! shares no code with the product. README.md documents the seed, options and control endpoints.

mod api;
mod batch;
mod control;
mod exec;
mod jwt;
mod keys;
mod results;
pub mod seed;
mod server;
mod sql;
mod state;
mod statements;
mod users;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

pub use seed::{Options, Seed, SeedGrant, SeedRole, SeedUser};
pub use state::UserState;

/// A misbehaviour armed for the next `count` API requests (whose statement matches
/// `statement_pattern`, a regex, when given; a pattern never matches a request without a statement).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// Answer with this HTTP status (429, 500, 503, …) without executing anything.
    Status {
        status: u16,
        count: u32,
        #[serde(default)]
        statement_pattern: Option<String>,
    },
    /// Hold the request without executing it (past any client timeout: `Options::hang_ms`), then
    /// drop the connection.
    Hang {
        count: u32,
        #[serde(default)]
        statement_pattern: Option<String>,
    },
    /// Execute the request fully, then drop the connection instead of answering.
    DropAfterExecute {
        count: u32,
        #[serde(default)]
        statement_pattern: Option<String>,
    },
}

impl Fault {
    fn count_and_pattern(&self) -> (u32, Option<&str>) {
        match self {
            Fault::Status {
                count,
                statement_pattern,
                ..
            }
            | Fault::Hang {
                count,
                statement_pattern,
            }
            | Fault::DropAfterExecute {
                count,
                statement_pattern,
            } => (*count, statement_pattern.as_deref()),
        }
    }
}

/// One API request as the emulator saw it. Never holds the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LoggedRequest {
    /// RFC 3339 arrival time.
    pub at: String,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub statement: Option<String>,
    pub request_id: Option<String>,
    pub retry: bool,
    /// The HTTP status answered; 0 when the connection was dropped instead.
    pub status: u16,
    /// The specific reason code a refused token got (394300…394307, 390144, …): what
    /// SYSTEM$GET_LOGIN_FAILURE_DETAILS would show, while the client only sees 390144.
    pub auth_failure_code: Option<String>,
    /// A human explanation of the auth failure (never quoting the token).
    pub auth_failure_detail: Option<String>,
    /// The Snowflake error code of a failed statement or request.
    pub error_code: Option<String>,
    /// The injected fault that shaped this answer: `status`, `hang`, `drop_after_execute`.
    pub fault: Option<String>,
    /// Whether the statement text ran (false for dedup-returned retries, faults, auth failures).
    pub executed: bool,
    pub statement_handle: Option<String>,
}

pub(crate) struct Shared {
    state: Mutex<state::State>,
}

impl Shared {
    /// A poisoned lock only means a handler panicked; the state itself is still consistent.
    fn lock(&self) -> MutexGuard<'_, state::State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running emulator; dropping it stops the server.
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
}

impl Emulator {
    /// Starts on 127.0.0.1 with an ephemeral port.
    pub async fn start(seed: Seed) -> anyhow::Result<Emulator> {
        Self::start_on(seed, "127.0.0.1:0".parse()?).await
    }

    /// Starts on the given address (the binary's `--host`/`--port`).
    pub async fn start_on(seed: Seed, addr: SocketAddr) -> anyhow::Result<Emulator> {
        let shared = Arc::new(Shared {
            state: Mutex::new(state::State::from_seed(seed)?),
        });
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (shutdown, stopped) = watch::channel(false);
        tokio::spawn(server::serve(listener, shared.clone(), stopped));
        Ok(Emulator {
            shared,
            addr,
            shutdown,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The account name tokens must carry (uppercase).
    pub fn account(&self) -> String {
        self.shared.lock().account.clone()
    }

    /// Arms a fault, as `POST /_emulator/faults` does. Panics on an invalid statement pattern.
    pub fn inject(&self, fault: Fault) {
        if let Err(e) = self.shared.lock().arm(fault) {
            panic!("invalid statement_pattern: {e}");
        }
    }

    /// The request log, oldest first.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.lock().log.clone()
    }

    /// A user (by NAME) with its slots' bodies, fingerprints and last-set times.
    pub fn user(&self, name: &str) -> Option<UserState> {
        self.shared.lock().user(name).map(state::User::snapshot)
    }

    pub fn options(&self) -> Options {
        self.shared.lock().options.clone()
    }

    pub fn set_options(&self, f: impl FnOnce(&mut Options)) {
        f(&mut self.shared.lock().options);
    }

    /// Back to the seed: users, options; statements, faults and the log cleared.
    pub fn reset(&self) {
        control::reset(&self.shared);
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
