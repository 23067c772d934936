//! Interop with the system `openssl` binary, a tool nobody here wrote: keys it writes in every form
//! load with its fingerprint, our fingerprint equals the Snowflake docs' command, and keys we
//! encrypt decrypt with `openssl pkcs8`. OpenSSL is required; these tests never skip.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use snowkey_shared::keys::{Fingerprint, KeyError, KeySize, Passphrase, PrivateKey, PublicKey};

const PASSPHRASE: &str = "interop passphrase";
const PASS_ENV: &str = "SNOWKEY_TEST_PASSPHRASE";

/// Runs `openssl ARGS` (passphrase in the environment, never on the command line) and returns stdout.
fn openssl(args: &[&str], dir: &Path) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .env(PASS_ENV, PASSPHRASE)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("these tests need the `openssl` binary on PATH (apt-get install openssl): {e}")
        });
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The Snowflake docs' fingerprint command, run literally through a shell.
fn docs_fingerprint(public_pem_file: &Path) -> Fingerprint {
    let script = "openssl rsa -pubin -in \"$1\" -outform DER | openssl dgst -sha256 -binary \
                  | openssl enc -base64";
    let out = Command::new("sh")
        .args(["-c", script, "sh"])
        .arg(public_pem_file)
        .output()
        .expect("run sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let b64 = String::from_utf8(out.stdout).unwrap();
    Fingerprint::parse(&format!("SHA256:{}", b64.trim())).unwrap()
}

/// OpenSSL's own view of a private key file's fingerprint: extract the public half, then the docs command.
fn openssl_fingerprint_of_private(dir: &Path, file: &str, extra: &[&str]) -> Fingerprint {
    let pub_file = format!("{file}.openssl.pub");
    let mut args = vec!["pkey", "-in", file, "-pubout", "-out", &pub_file];
    args.extend_from_slice(extra);
    openssl(&args, dir);
    docs_fingerprint(&dir.join(pub_file))
}

struct Fixtures {
    dir: tempfile::TempDir,
}

impl Fixtures {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }
}

/// Every key form OpenSSL writes, derived from two generated keys; made once per test binary.
fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let pass = format!("env:{PASS_ENV}");
        let p = pass.as_str();
        openssl(&["genrsa", "-out", "genrsa.pem", "2048"], d);
        openssl(
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                "genpkey.pem",
            ],
            d,
        );
        let conversions: &[&[&str]] = &[
            &[
                "rsa",
                "-in",
                "genrsa.pem",
                "-traditional",
                "-out",
                "pkcs1.pem",
            ],
            &[
                "rsa",
                "-in",
                "genrsa.pem",
                "-outform",
                "DER",
                "-traditional",
                "-out",
                "pkcs1.der",
            ],
            &[
                "pkcs8",
                "-topk8",
                "-nocrypt",
                "-in",
                "pkcs1.pem",
                "-out",
                "nocrypt.p8",
            ],
            &[
                "pkcs8",
                "-topk8",
                "-nocrypt",
                "-in",
                "genrsa.pem",
                "-outform",
                "DER",
                "-out",
                "nocrypt.der",
            ],
            // The Snowflake docs' encrypted-key commands.
            &[
                "pkcs8",
                "-topk8",
                "-v2",
                "des3",
                "-in",
                "genrsa.pem",
                "-passout",
                p,
                "-out",
                "des3.p8",
            ],
            &[
                "pkcs8",
                "-topk8",
                "-v2",
                "aes256",
                "-in",
                "genrsa.pem",
                "-passout",
                p,
                "-out",
                "aes256.p8",
            ],
            &[
                "pkcs8",
                "-topk8",
                "-v2",
                "aes256",
                "-in",
                "genrsa.pem",
                "-passout",
                p,
                "-outform",
                "DER",
                "-out",
                "aes256.der",
            ],
            // What OpenSSL 1.0 and macOS LibreSSL write for `-v2 aes256`.
            &[
                "pkcs8",
                "-topk8",
                "-v2",
                "aes256",
                "-v2prf",
                "hmacWithSHA1",
                "-in",
                "genrsa.pem",
                "-passout",
                p,
                "-out",
                "aes256_sha1.p8",
            ],
            &[
                "pkcs8",
                "-topk8",
                "-scrypt",
                "-in",
                "genrsa.pem",
                "-passout",
                p,
                "-out",
                "scrypt.p8",
            ],
            &["rsa", "-in", "genrsa.pem", "-pubout", "-out", "genrsa.pub"],
            &[
                "rsa",
                "-in",
                "genrsa.pem",
                "-RSAPublicKey_out",
                "-out",
                "genrsa.rsapub",
            ],
            // Bad keys.
            &["genrsa", "-out", "rsa1024.pem", "1024"],
            &[
                "rsa",
                "-in",
                "rsa1024.pem",
                "-pubout",
                "-out",
                "rsa1024.pub",
            ],
            &[
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                "ec_sec1.pem",
            ],
            &[
                "pkcs8",
                "-topk8",
                "-nocrypt",
                "-in",
                "ec_sec1.pem",
                "-out",
                "ec.p8",
            ],
            &["ec", "-in", "ec_sec1.pem", "-pubout", "-out", "ec.pub"],
            &["genpkey", "-algorithm", "ed25519", "-out", "ed25519.p8"],
            &[
                "rsa",
                "-in",
                "genrsa.pem",
                "-aes256",
                "-traditional",
                "-passout",
                p,
                "-out",
                "legacy_encrypted.pem",
            ],
        ];
        for args in conversions {
            openssl(args, d);
        }
        Fixtures { dir }
    })
}

/// Our key for the "we write, openssl reads" direction, with its encrypted PEM made once.
fn ours() -> &'static (PrivateKey, String) {
    static OURS: OnceLock<(PrivateKey, String)> = OnceLock::new();
    OURS.get_or_init(|| {
        let key = PrivateKey::generate(KeySize::Rsa2048).unwrap();
        let pem = key
            .to_encrypted_pkcs8_pem(&Passphrase::new(PASSPHRASE))
            .unwrap()
            .to_string();
        (key, pem)
    })
}

#[test]
fn openssl_is_present() {
    let version = String::from_utf8(openssl(&["version"], Path::new("."))).unwrap();
    assert!(version.starts_with("OpenSSL"), "{version}");
}

#[test]
fn our_fingerprint_equals_the_snowflake_docs_command() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rsa_key.pub");
    std::fs::write(&file, ours().0.public_key().to_pem()).unwrap();
    assert_eq!(ours().0.fingerprint(), docs_fingerprint(&file));
}

#[test]
fn every_openssl_private_key_form_loads_with_openssls_fingerprint() {
    let f = fixtures();
    let pass = format!("env:{PASS_ENV}");
    let expected = openssl_fingerprint_of_private(f.dir.path(), "genrsa.pem", &[]);
    let encrypted = [
        "des3.p8",
        "aes256.p8",
        "aes256.der",
        "aes256_sha1.p8",
        "scrypt.p8",
    ];
    for file in [
        "genrsa.pem",
        "pkcs1.pem",
        "pkcs1.der",
        "nocrypt.p8",
        "nocrypt.der",
        "des3.p8",
        "aes256.p8",
        "aes256.der",
        "aes256_sha1.p8",
        "scrypt.p8",
    ] {
        let passphrase = encrypted
            .contains(&file)
            .then(|| Passphrase::new(PASSPHRASE));
        let key = PrivateKey::from_bytes(&f.read(file), passphrase.as_ref())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(key.fingerprint(), expected, "{file}");
        assert_eq!(key.bits(), 2048, "{file}");
        if encrypted.contains(&file) {
            // OpenSSL agrees on what is inside the encrypted file.
            let fp = openssl_fingerprint_of_private(f.dir.path(), file, &["-passin", &pass]);
            assert_eq!(fp, expected, "{file}");
        }
    }
    let genpkey = PrivateKey::from_bytes(&f.read("genpkey.pem"), None).unwrap();
    assert_eq!(
        genpkey.fingerprint(),
        openssl_fingerprint_of_private(f.dir.path(), "genpkey.pem", &[])
    );
}

#[test]
fn openssl_public_keys_load_with_the_same_fingerprint() {
    let f = fixtures();
    let expected = docs_fingerprint(&f.path("genrsa.pub"));
    for file in ["genrsa.pub", "genrsa.rsapub"] {
        let text = String::from_utf8(f.read(file)).unwrap();
        let key = PublicKey::from_pem(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(key.fingerprint(), expected, "{file}");
    }
}

#[test]
fn openssl_encrypted_keys_report_missing_and_wrong_passphrases() {
    let f = fixtures();
    for file in ["des3.p8", "aes256.p8", "scrypt.p8"] {
        let input = f.read(file);
        let missing = PrivateKey::from_bytes(&input, None).unwrap_err();
        assert!(
            matches!(missing, KeyError::PassphraseRequired),
            "{file}: {missing:?}"
        );
        let wrong = PrivateKey::from_bytes(&input, Some(&Passphrase::new("wrong"))).unwrap_err();
        assert!(
            matches!(wrong, KeyError::DecryptionFailed),
            "{file}: {wrong:?}"
        );
        assert!(!format!("{wrong} {wrong:?}").contains(PASSPHRASE));
    }
}

#[test]
fn openssl_bad_keys_give_typed_errors() {
    let f = fixtures();
    let small = PrivateKey::from_bytes(&f.read("rsa1024.pem"), None).unwrap_err();
    assert!(matches!(small, KeyError::KeyTooSmall(1024)), "{small:?}");
    let small_pub =
        PublicKey::from_pem(&String::from_utf8(f.read("rsa1024.pub")).unwrap()).unwrap_err();
    assert!(
        matches!(small_pub, KeyError::KeyTooSmall(1024)),
        "{small_pub:?}"
    );

    for (file, name) in [
        ("ec_sec1.pem", "EC"),
        ("ec.p8", "EC"),
        ("ed25519.p8", "Ed25519"),
    ] {
        let err = PrivateKey::from_bytes(&f.read(file), None).unwrap_err();
        assert!(
            matches!(&err, KeyError::NotRsa(n) if n == name),
            "{file}: {err:?}"
        );
    }
    let ec_pub = PublicKey::from_pem(&String::from_utf8(f.read("ec.pub")).unwrap()).unwrap_err();
    assert!(
        matches!(&ec_pub, KeyError::NotRsa(n) if n == "EC"),
        "{ec_pub:?}"
    );

    let legacy = PrivateKey::from_bytes(
        &f.read("legacy_encrypted.pem"),
        Some(&Passphrase::new(PASSPHRASE)),
    )
    .unwrap_err();
    assert!(
        matches!(legacy, KeyError::UnsupportedEncryption(_)),
        "{legacy:?}"
    );
    assert!(legacy.to_string().contains("openssl pkcs8"), "{legacy}");
}

#[test]
fn keys_we_encrypt_decrypt_with_openssl_pkcs8() {
    let (key, pem) = ours();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("rsa_key.p8"), pem).unwrap();

    let pass = format!("env:{PASS_ENV}");
    openssl(
        &[
            "pkcs8",
            "-in",
            "rsa_key.p8",
            "-passin",
            &pass,
            "-out",
            "plain.pem",
        ],
        d,
    );
    let plain = std::fs::read(d.join("plain.pem")).unwrap();
    assert_eq!(
        PrivateKey::from_bytes(&plain, None).unwrap().pkcs8_der(),
        key.pkcs8_der()
    );
    assert_eq!(
        openssl_fingerprint_of_private(d, "rsa_key.p8", &["-passin", &pass]),
        key.fingerprint()
    );

    // The envelope is exactly what `openssl pkcs8 -topk8 -v2 aes256` writes.
    let asn1 = String::from_utf8(openssl(&["asn1parse", "-in", "rsa_key.p8"], d)).unwrap();
    for algorithm in ["PBES2", "PBKDF2", "hmacWithSHA256", "aes-256-cbc"] {
        assert!(asn1.contains(algorithm), "missing {algorithm} in:\n{asn1}");
    }

    // And openssl refuses a wrong passphrase, so the file really is protected.
    let refused = Command::new("openssl")
        .args(["pkcs8", "-in", "rsa_key.p8", "-passin", "pass:wrong"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(!refused.status.success());
}

#[test]
fn our_unencrypted_pem_is_read_by_openssl() {
    let (key, _) = ours();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rsa_key.p8"), key.to_pkcs8_pem()).unwrap();
    openssl(
        &["pkey", "-in", "rsa_key.p8", "-check", "-noout"],
        dir.path(),
    );
    assert_eq!(
        openssl_fingerprint_of_private(dir.path(), "rsa_key.p8", &[]),
        key.fingerprint()
    );
}

#[test]
fn our_rs256_signatures_verify_with_openssl() {
    let (key, _) = ours();
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &serde_json::json!({"iss": "ACCOUNT.USER.SHA256:x", "sub": "ACCOUNT.USER", "exp": 1}),
        &key.jwt_encoding_key(),
    )
    .unwrap();
    let (signing_input, signature_b64) = token.rsplit_once('.').unwrap();
    use base64::Engine;
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(signature_b64)
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("key.pub"), key.public_key().to_pem()).unwrap();
    std::fs::write(d.join("sig.bin"), signature).unwrap();
    let mut child = Command::new("openssl")
        .args([
            "dgst",
            "-sha256",
            "-verify",
            "key.pub",
            "-signature",
            "sig.bin",
        ])
        .current_dir(d)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(signing_input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Verified OK"));
}
