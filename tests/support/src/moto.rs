use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

/// How long moto may take to answer its first request (it listens in ≈ 2 s on a quiet machine;
/// a parallel `cargo test` build can slow it down a lot).
const STARTUP_DEADLINE: Duration = Duration::from_secs(90);
/// A freshly picked port can be taken by someone else before moto binds it; then try another.
const START_ATTEMPTS: u32 = 3;

/// A moto server on 127.0.0.1, shared by every test of this process.
pub struct Moto {
    pub endpoint: String,
    pub port: u16,
}

impl Moto {
    /// SDK configuration for moto: region us-east-1, static test credentials, endpoint = moto.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .test_credentials()
            .endpoint_url(&self.endpoint)
            .load()
            .await
    }
}

/// Why moto could not be started. The message says what to do.
#[derive(Debug, Clone)]
pub struct MotoError(String);

impl std::fmt::Display for MotoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MotoError {}

static MOTO: OnceCell<Result<Moto, MotoError>> = OnceCell::const_new();

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

/// A program from the project venv; panics with the fix if the venv is missing.
pub fn venv_bin(name: &str) -> PathBuf {
    try_venv_bin(name).unwrap_or_else(|e| panic!("{e}"))
}

fn try_venv_bin(name: &str) -> Result<PathBuf, MotoError> {
    let path = repo_root().join(".venv/bin").join(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(MotoError(format!(
            "{} is missing: run scripts/bootstrap.sh (it creates the .venv with moto[server])",
            path.display()
        )))
    }
}

/// Starts moto on first use and returns it; panics with a clear message if it cannot start.
pub async fn moto() -> &'static Moto {
    try_moto().await.unwrap_or_else(|e| panic!("{e}"))
}

/// Starts moto on first use and returns it. A failure is remembered: every later caller gets it too.
pub async fn try_moto() -> Result<&'static Moto, MotoError> {
    let started = MOTO
        .get_or_init(|| async {
            tokio::task::spawn_blocking(start_moto)
                .await
                .unwrap_or_else(|e| Err(MotoError(format!("moto start-up task failed: {e}"))))
        })
        .await;
    started.as_ref().map_err(Clone::clone)
}

fn start_moto() -> Result<Moto, MotoError> {
    let program = try_venv_bin("moto_server")?;
    let mut last_error = MotoError("moto_server was not started".into());
    for _ in 0..START_ATTEMPTS {
        match start_on_keeper_thread(program.clone()) {
            Ok(moto) => return Ok(moto),
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}

/// The parent-death signal fires when the *thread* that spawned moto exits, and test runtimes
/// (and their blocking threads) come and go; so moto is spawned from a thread that lives exactly
/// as long as moto does, waiting on it.
fn start_on_keeper_thread(program: PathBuf) -> Result<Moto, MotoError> {
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("moto-keeper".into())
        .spawn(move || match start_on_free_port(&program) {
            Ok((moto, mut child)) => {
                let _ = started_tx.send(Ok(moto));
                let _ = child.wait();
            }
            Err(e) => {
                let _ = started_tx.send(Err(e));
            }
        })
        .map_err(|e| MotoError(format!("cannot start the moto keeper thread: {e}")))?;
    started_rx
        .recv()
        .unwrap_or_else(|_| Err(MotoError("the moto keeper thread died".into())))
}

fn start_on_free_port(program: &PathBuf) -> Result<(Moto, Child), MotoError> {
    let port = free_port()?;
    let mut command = Command::new(program);
    command
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: prctl is async-signal-safe; it only asks the kernel to SIGKILL moto when the
    // spawning (keeper) thread exits, which happens at the latest when the test process exits,
    // so no moto outlives the suite.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = command.spawn().map_err(|e| {
        MotoError(format!(
            "cannot run {}: {e}; run scripts/bootstrap.sh",
            program.display()
        ))
    })?;
    // Drain moto's request log so its pipe never fills and blocks it; keep the tail for errors.
    let log_tail = Arc::new(Mutex::new(Vec::<String>::new()));
    let stderr = child.stderr.take().expect("moto stderr is piped");
    let tail = Arc::clone(&log_tail);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut tail = tail.lock().expect("log tail");
            if tail.len() == 20 {
                tail.remove(0);
            }
            tail.push(line);
        }
    });

    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + STARTUP_DEADLINE;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            // Give the drain thread a moment to collect the reason.
            std::thread::sleep(Duration::from_millis(100));
            let tail = log_tail.lock().expect("log tail").join("\n");
            return Err(MotoError(format!(
                "moto_server on port {port} exited early with {status}:\n{tail}"
            )));
        }
        if answers_http(port) {
            return Ok((Moto { endpoint, port }, child));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(MotoError(format!(
                "moto_server did not answer on {endpoint} within {} s",
                STARTUP_DEADLINE.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Readiness: moto's own API answers with HTTP (not merely an open port, which another process
/// could hold).
fn answers_http(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!(
        "GET /moto-api/data.json HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

fn free_port() -> Result<u16, MotoError> {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| MotoError(format!("cannot pick a free local port: {e}")))
}
