//! Captures every log line of the process (tracing, JSON as in Lambda) so a test can scan them,
//! together with the SNS messages it read back, for anything secret.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

use snowkey_shared::keys::PrivateKey;

static BUFFER: Mutex<Vec<u8>> = Mutex::new(Vec::new());

#[derive(Clone, Copy)]
struct BufferWriter;

impl Write for BufferWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        BUFFER
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber once per process: our crates at DEBUG, the rest at INFO,
/// JSON lines as the function writes them in Lambda.
pub fn capture() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "info,snowkey_shared=debug,e2e_tests=debug",
            ))
            .with_writer(|| BufferWriter)
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("install the capturing subscriber");
    });
}

/// Every line captured so far.
pub fn captured() -> String {
    String::from_utf8_lossy(&BUFFER.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

/// What must never appear in a log line or a message.
pub struct LeakScanner {
    needles: Vec<(String, String)>,
}

impl Default for LeakScanner {
    fn default() -> Self {
        Self::new()
    }
}

impl LeakScanner {
    pub fn new() -> Self {
        let mut scanner = LeakScanner {
            needles: Vec::new(),
        };
        scanner.add("a PEM header", "-----BEGIN");
        scanner.add("a PEM footer", "-----END");
        scanner.add("a JWT", "eyJ");
        scanner
    }

    /// A secret string (e.g. a passphrase) that must not appear.
    pub fn add(&mut self, what: &str, needle: &str) {
        if needle.len() >= 8 {
            self.needles.push((what.to_string(), needle.to_string()));
        }
    }

    /// Slices of the key's PKCS#8 body (with or without encryption the PEM differs, so the
    /// unencrypted base64 is what a careless log would show).
    pub fn add_key(&mut self, key: &PrivateKey) {
        let pem = key.to_pkcs8_pem();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        self.add("private key material", &body[200..240]);
        self.add(
            "private key material",
            &body[body.len() / 2..body.len() / 2 + 40],
        );
    }

    /// Every finding as "<what> in <where>"; empty when clean.
    pub fn scan(&self, source: &str, text: &str) -> Vec<String> {
        self.needles
            .iter()
            .filter(|(_, needle)| text.contains(needle.as_str()))
            .map(|(what, _)| format!("{what} in {source}"))
            .collect()
    }
}
