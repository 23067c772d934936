//! The `snowkey` binary as operators run it: key files and modes, fingerprints matching OpenSSL,
//! JWTs accepted by an independent verifier (PyJWT), SQL through the emulator, and bad input
//! answered with one clear line, a non-zero exit and nothing secret.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::LazyLock;

use snowflake_emulator::{Emulator, Seed, SeedRole, SeedUser};

const BIN: &str = env!("CARGO_BIN_EXE_snowkey");

/// One key pair made by `snowkey keygen` per test binary (RSA generation dominates run time).
static KEY_DIR: LazyLock<tempfile::TempDir> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let out = snowkey(&["keygen", "--out", dir.path().to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    dir
});

fn private_key() -> PathBuf {
    KEY_DIR.path().join("rsa_key.p8")
}

fn snowkey(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run snowkey")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Non-zero exit, exactly one line on stderr containing `needle`, nothing on stdout.
fn assert_one_line_error(out: &Output, needle: &str) -> String {
    let err = stderr(out);
    assert!(!out.status.success(), "expected failure, stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line expected: {err:?}");
    assert!(err.contains(needle), "{needle:?} not in {err:?}");
    assert!(out.stdout.is_empty(), "stdout: {}", stdout(out));
    err
}

fn openssl_fingerprint(public_pem: &Path) -> String {
    let der = Command::new("openssl")
        .args([
            "rsa",
            "-pubin",
            "-in",
            public_pem.to_str().unwrap(),
            "-outform",
            "DER",
        ])
        .output()
        .unwrap();
    assert!(der.status.success());
    let mut digest = Command::new("sh")
        .args(["-c", "openssl dgst -sha256 -binary | openssl enc -base64"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    digest.stdin.take().unwrap().write_all(&der.stdout).unwrap();
    let out = digest.wait_with_output().unwrap();
    format!("SHA256:{}", String::from_utf8(out.stdout).unwrap().trim())
}

#[test]
fn keygen_writes_a_private_key_only_its_owner_can_read_and_prints_its_fingerprint() {
    let dir = KEY_DIR.path();
    let mode = std::fs::metadata(dir.join("rsa_key.p8"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let pem = std::fs::read_to_string(dir.join("rsa_key.p8")).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    let expected = openssl_fingerprint(&dir.join("rsa_key.pub"));
    let printed = snowkey(
        &["fingerprint", dir.join("rsa_key.pub").to_str().unwrap()],
        &[],
    );
    assert_eq!(stdout(&printed), format!("{expected}\n"));
    // No stray temporary files are left next to the keys.
    let names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn keygen_refuses_to_overwrite_and_leaves_the_existing_keys_untouched() {
    let before = std::fs::read(private_key()).unwrap();
    let out = snowkey(&["keygen", "--out", KEY_DIR.path().to_str().unwrap()], &[]);
    assert_one_line_error(&out, "refusing to overwrite");
    assert_eq!(std::fs::read(private_key()).unwrap(), before);
}

#[test]
fn keygen_with_a_passphrase_writes_a_key_openssl_decrypts_to_the_same_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("SNOWKEY_TEST_PASS", "correct horse battery staple")];
    let out = snowkey(
        &[
            "keygen",
            "--passphrase-env",
            "SNOWKEY_TEST_PASS",
            "--out",
            dir.path().to_str().unwrap(),
        ],
        &env,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    let key = dir.path().join("rsa_key.p8");
    assert!(
        std::fs::read_to_string(&key)
            .unwrap()
            .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    );

    let decrypted = Command::new("openssl")
        .args([
            "pkcs8",
            "-in",
            key.to_str().unwrap(),
            "-passin",
            "env:SNOWKEY_TEST_PASS",
        ])
        .envs(env)
        .output()
        .unwrap();
    assert!(decrypted.status.success(), "{}", stderr(&decrypted));
    let with_pass = snowkey(
        &[
            "fingerprint",
            key.to_str().unwrap(),
            "--passphrase-env",
            "SNOWKEY_TEST_PASS",
        ],
        &env,
    );
    assert_eq!(stdout(&with_pass), printed);

    let wrong = snowkey(
        &[
            "fingerprint",
            key.to_str().unwrap(),
            "--passphrase-env",
            "SNOWKEY_TEST_PASS",
        ],
        &[("SNOWKEY_TEST_PASS", "wrong")],
    );
    let err = assert_one_line_error(&wrong, "wrong passphrase");
    assert!(!err.contains("correct horse"));
    let missing = snowkey(
        &[
            "fingerprint",
            key.to_str().unwrap(),
            "--passphrase-env",
            "SNOWKEY_UNSET_VAR",
        ],
        &[],
    );
    assert_one_line_error(&missing, "SNOWKEY_UNSET_VAR");
}

#[test]
fn keygen_refuses_small_keys_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = snowkey(
        &[
            "keygen",
            "--bits",
            "1024",
            "--out",
            dir.path().to_str().unwrap(),
        ],
        &[],
    );
    assert_one_line_error(&out, "1024");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn fingerprint_of_the_private_key_matches_openssl_on_the_public_key() {
    let out = snowkey(&["fingerprint", private_key().to_str().unwrap()], &[]);
    assert_eq!(
        stdout(&out).trim(),
        openssl_fingerprint(&KEY_DIR.path().join("rsa_key.pub"))
    );
}

#[test]
fn fingerprint_of_a_malformed_file_is_one_line_without_its_contents() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.pem");
    std::fs::write(
        &bad,
        "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbA==\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let err = assert_one_line_error(
        &snowkey(&["fingerprint", bad.to_str().unwrap()], &[]),
        "bad.pem",
    );
    assert!(!err.contains("bm90IGEga2V5"));
    assert_one_line_error(
        &snowkey(&["fingerprint", "/nonexistent/key.p8"], &[]),
        "cannot read",
    );
}

#[test]
fn jwt_is_accepted_by_pyjwt_with_snowflakes_claims() {
    let out = snowkey(
        &[
            "jwt",
            "--account",
            "myorg.myaccount",
            "--user",
            "svc_loader",
            "--key",
            private_key().to_str().unwrap(),
            "--lifetime",
            "600",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let token = stdout(&out);
    assert_eq!(token.lines().count(), 1);
    let fingerprint = stdout(&snowkey(
        &["fingerprint", private_key().to_str().unwrap()],
        &[],
    ));
    let script = r#"
import json, sys, jwt
token, pub = sys.argv[1], open(sys.argv[2]).read()
claims = jwt.decode(token, pub, algorithms=["RS256"], options={"require": ["iss", "sub", "iat", "exp"]})
print(json.dumps(claims))
print(jwt.get_unverified_header(token)["alg"])
"#;
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv/bin/python");
    let verified = Command::new(python)
        .args([
            "-c",
            script,
            token.trim(),
            KEY_DIR.path().join("rsa_key.pub").to_str().unwrap(),
        ])
        .output()
        .expect("PyJWT in .venv (run scripts/bootstrap.sh)");
    assert!(
        verified.status.success(),
        "PyJWT refused the token: {}",
        stderr(&verified)
    );
    let text = stdout(&verified);
    let mut lines = text.lines();
    let claims: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(lines.next(), Some("RS256"));
    assert_eq!(claims["sub"], "MYORG-MYACCOUNT.SVC_LOADER");
    assert_eq!(
        claims["iss"],
        format!("MYORG-MYACCOUNT.SVC_LOADER.{}", fingerprint.trim())
    );
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        600
    );
}

#[test]
fn jwt_refuses_a_lifetime_over_59_minutes() {
    let out = snowkey(
        &[
            "jwt",
            "--account",
            "a",
            "--user",
            "u",
            "--key",
            private_key().to_str().unwrap(),
            "--lifetime",
            "3601",
        ],
        &[],
    );
    assert_one_line_error(&out, "3540");
}

async fn emulator() -> Emulator {
    let body = stdout(&snowkey(
        &["fingerprint", private_key().to_str().unwrap()],
        &[],
    ));
    assert!(body.starts_with("SHA256:"));
    let public = std::fs::read_to_string(KEY_DIR.path().join("rsa_key.pub")).unwrap();
    let body: String = public.lines().filter(|l| !l.starts_with("-----")).collect();
    let mut seed = Seed::new("MYORG-MYACCOUNT");
    let mut user = SeedUser::service("SVC_LOADER", Some("SVC_ROLE"));
    user.rsa_public_key = Some(body);
    seed.users = vec![user];
    seed.roles = vec![SeedRole::new(
        "SVC_ROLE",
        &["SVC_LOADER"],
        "OWNERSHIP",
        &["SVC_LOADER"],
    )];
    Emulator::start(seed).await.unwrap()
}

async fn sql(emulator_url: &str, user: &str, extra: &[&str]) -> Output {
    let key = private_key();
    let mut args = vec![
        "sql",
        "--account",
        "myorg-myaccount",
        "--user",
        user,
        "--key",
        key.to_str().unwrap(),
    ];
    args.extend(["--host", emulator_url]);
    args.extend(extra);
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::process::Command::new(BIN)
        .args(args)
        .output()
        .await
        .unwrap()
}

#[tokio::test]
async fn sql_prints_rows_as_json_lines_and_tab_separated_when_piped() {
    let emulator = emulator().await;
    let json = sql(
        &emulator.url(),
        "svc_loader",
        &["--json", "SELECT CURRENT_USER()"],
    )
    .await;
    assert!(json.status.success(), "{}", stderr(&json));
    let row: serde_json::Value = serde_json::from_str(stdout(&json).trim()).unwrap();
    assert_eq!(
        row.as_object().unwrap().values().next().unwrap(),
        "SVC_LOADER"
    );

    let piped = sql(&emulator.url(), "svc_loader", &["DESC USER \"SVC_LOADER\""]).await;
    let text = stdout(&piped);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("property\tvalue\tdefault\tdescription"));
    assert!(
        lines.any(|l| l.starts_with("LOGIN_NAME\tSVC_LOADER\t")),
        "{text}"
    );
}

#[tokio::test]
async fn sql_errors_are_one_line_and_never_show_the_key_or_token() {
    let emulator = emulator().await;
    let key_text = std::fs::read_to_string(private_key()).unwrap();
    let key_line = key_text.lines().nth(1).unwrap();

    let bad_sql = sql(&emulator.url(), "svc_loader", &["SELEC 1"]).await;
    assert_one_line_error(&bad_sql, "SQL compilation error");

    let wrong_user = sql(&emulator.url(), "nobody", &["SELECT 1"]).await;
    let err = assert_one_line_error(&wrong_user, "401");
    assert!(!err.contains("eyJ") && !err.contains(key_line), "{err}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = sql(
        &format!("http://127.0.0.1:{port}"),
        "svc_loader",
        &["SELECT 1"],
    )
    .await;
    assert_one_line_error(&unreachable, "could not connect to 127.0.0.1");

    let newline_user = sql(&emulator.url(), "svc\nloader", &["SELECT 1"]).await;
    assert_one_line_error(&newline_user, "control character");
}
