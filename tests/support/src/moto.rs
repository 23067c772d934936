use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

/// A moto server on 127.0.0.1, shared by every test of this process.
pub struct Moto {
    pub endpoint: String,
    // Kept so the child is owned; the parent-death signal ends it when the test process exits.
    _child: Mutex<Child>,
}

impl Moto {
    /// SDK configuration for moto: region us-east-1, static test credentials, endpoint = moto.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_config::meta::credentials::CredentialsProviderChain::first_try(
                "test",
                StaticCredentials,
            ))
            .endpoint_url(&self.endpoint)
            .load()
            .await
    }
}

#[derive(Debug)]
struct StaticCredentials;

impl aws_config::meta::credentials::ProvideCredentials for StaticCredentials {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_config::meta::credentials::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        aws_config::meta::credentials::future::ProvideCredentials::ready(Ok(
            aws_config::meta::credentials::Credentials::new("testing", "testing", None, None, "test"),
        ))
    }
}

static MOTO: OnceCell<Moto> = OnceCell::const_new();

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

/// A program from the project venv; panics with the fix if the venv is missing.
pub fn venv_bin(name: &str) -> PathBuf {
    let path = repo_root().join(".venv/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run `scripts/bootstrap.sh` (or `make test`) to install the test tools",
        path.display()
    );
    path
}

/// Starts moto on first use and returns it.
pub async fn moto() -> &'static Moto {
    MOTO.get_or_init(|| async { tokio::task::spawn_blocking(start_moto).await.expect("moto start") })
        .await
}

fn start_moto() -> Moto {
    let program = venv_bin("moto_server");
    let port = free_port();
    let mut command = Command::new(program);
    command
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: prctl is async-signal-safe; it only asks the kernel to SIGKILL moto when this
    // test process exits, so no moto outlives the suite.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = command.spawn().expect("spawn moto_server");
    // Drain moto's request log so its pipe never fills and blocks it.
    let stderr = child.stderr.take().expect("moto stderr");
    std::thread::spawn(move || for _ in BufReader::new(stderr).lines() {});

    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("moto_server exited early with {status}");
        }
        assert!(Instant::now() < deadline, "moto_server did not listen on {endpoint} within 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    Moto { endpoint, _child: Mutex::new(child) }
}

fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0)).expect("bind").local_addr().expect("addr").port()
}
