//! Crypto backend benchmark: aws-lc-rs (production) against the `rsa` crate, with `openssl genrsa`
//! timed in the same run as the yardstick. Prints a table; asserts nothing.
//!
//! Run: `cargo run --release -p snowkey-bench` (add `-- --quick` for a smoke run).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rsa::pkcs8::EncodePublicKey;
use rsa::rand_core::OsRng;
use rsa::signature::{SignatureEncoding, Signer};
use sha2::{Digest, Sha256};
use snowkey_shared::keys::{KeySize, PBKDF2_ITERATIONS, Passphrase, PrivateKey};

/// The iteration target for fast operations (signing, fingerprints).
const FAST_ITERATIONS: usize = 200;
/// The ratio the issue sets: median aws-lc-rs RSA-2048 generation / median `openssl genrsa 2048`.
const TARGET_RATIO: f64 = 0.3;

/// Roughly the signing input of a Snowflake JWT (base64url header + claims).
const JWT_SIGNING_INPUT: &[u8] = b"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNWU9SRy1NWUFDQ09VTlQuU1ZDX1JPVEFUT1IuU0hBMjU2OnVuZ1d2NDhCeitwQlFVRGVYYTRpSTdBRFlhT1dGM3FjdEJEL1lmSUFGYTA9Iiwic3ViIjoiTVlPUkctTVlBQ0NPVU5ULlNWQ19ST1RBVE9SIiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDM1NDB9";

struct Stats {
    median: Duration,
    p90: Duration,
    n: usize,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let n = samples.len();
    let median = if !n.is_multiple_of(2) {
        samples[n / 2]
    } else {
        (samples[n / 2 - 1] + samples[n / 2]) / 2
    };
    let p90 = samples[(n * 9).div_ceil(10).saturating_sub(1)];
    Stats { median, p90, n }
}

fn time<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let start = Instant::now();
    let out = std::hint::black_box(f());
    (start.elapsed(), out)
}

fn sample(n: usize, mut f: impl FnMut()) -> Stats {
    f(); // warm-up: page in code, fill caches
    stats((0..n).map(|_| time(&mut f).0).collect())
}

fn fmt(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms >= 1.0 {
        format!("{ms:9.2} ms")
    } else {
        format!("{:9.2} µs", ms * 1e3)
    }
}

fn row(operation: &str, backend: &str, s: &Stats) {
    println!(
        "| {operation:<34} | {backend:<30} | {} | {} | {:>4} |",
        fmt(s.median),
        fmt(s.p90),
        s.n
    );
}

fn openssl_genrsa(bits: u32) -> Duration {
    let (elapsed, status) = time(|| {
        Command::new("openssl")
            .args(["genrsa", &bits.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("the benchmark needs the `openssl` binary on PATH")
    });
    assert!(status.success(), "openssl genrsa {bits} failed");
    elapsed
}

fn aws_lc_generate(bits: u32) -> aws_lc_rs::rsa::KeyPair {
    let size = match bits {
        2048 => aws_lc_rs::rsa::KeySize::Rsa2048,
        _ => aws_lc_rs::rsa::KeySize::Rsa4096,
    };
    aws_lc_rs::rsa::KeyPair::generate(size).expect("aws-lc-rs keygen")
}

/// Key generation for one size, the three generators interleaved so background load hits all alike.
fn keygen(bits: u32, n_fast: usize, n_rsa_crate: usize) -> (Stats, Stats, Stats) {
    let (mut lc, mut ossl, mut rc) = (Vec::new(), Vec::new(), Vec::new());
    aws_lc_generate(bits);
    openssl_genrsa(bits);
    for i in 0..n_fast {
        lc.push(time(|| aws_lc_generate(bits)).0);
        ossl.push(openssl_genrsa(bits));
        if i < n_rsa_crate {
            let bits = usize::try_from(bits).expect("bits fit usize");
            rc.push(time(|| rsa::RsaPrivateKey::new(&mut OsRng, bits).expect("rsa keygen")).0);
        }
    }
    (stats(lc), stats(ossl), stats(rc))
}

/// PBKDF2-HMAC-SHA256 + AES-256-CBC through aws-lc-rs primitives, for comparison with the
/// RustCrypto `pkcs5` path production uses.
fn aws_lc_pbes2(plaintext: &[u8], passphrase: &[u8]) -> Vec<u8> {
    use aws_lc_rs::cipher::{AES_256, PaddedBlockEncryptingKey, UnboundCipherKey};
    let mut salt = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt).expect("rng");
    let mut key = [0u8; 32];
    let iterations = std::num::NonZeroU32::new(PBKDF2_ITERATIONS).expect("non-zero");
    aws_lc_rs::pbkdf2::derive(
        aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        &salt,
        passphrase,
        &mut key,
    );
    let cipher =
        PaddedBlockEncryptingKey::cbc_pkcs7(UnboundCipherKey::new(&AES_256, &key).expect("key"))
            .expect("cbc");
    let mut buf = plaintext.to_vec();
    cipher.encrypt(&mut buf).expect("encrypt");
    buf
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let scale = |n: usize| if quick { n.div_ceil(10).max(3) } else { n };

    println!(
        "snowkey crypto benchmark ({}, {} CPUs, {})",
        if cfg!(debug_assertions) {
            "DEBUG build: numbers meaningless"
        } else {
            "release"
        },
        std::thread::available_parallelism().map_or(1, usize::from),
        String::from_utf8_lossy(
            &Command::new("openssl")
                .arg("version")
                .output()
                .expect("openssl")
                .stdout
        )
        .trim()
    );
    println!(
        "| {:<34} | {:<30} | {:>12} | {:>12} | {:>4} |",
        "operation", "backend", "median", "p90", "n"
    );
    println!(
        "|{:-<36}|{:-<32}|{:->14}|{:->14}|{:->6}|",
        "", "", "", "", ""
    );

    let (lc2048, ossl2048, rc2048) = keygen(2048, scale(41), scale(15));
    row("RSA-2048 key generation", "aws-lc-rs", &lc2048);
    row("RSA-2048 key generation", "rsa 0.9", &rc2048);
    row(
        "RSA-2048 key generation",
        "openssl genrsa (subprocess)",
        &ossl2048,
    );
    let (lc4096, ossl4096, rc4096) = keygen(4096, scale(11), scale(5));
    row("RSA-4096 key generation", "aws-lc-rs", &lc4096);
    row("RSA-4096 key generation", "rsa 0.9", &rc4096);
    row(
        "RSA-4096 key generation",
        "openssl genrsa (subprocess)",
        &ossl4096,
    );

    let lc_pair = aws_lc_generate(2048);
    let rc_key = rsa::RsaPrivateKey::new(&mut OsRng, 2048).expect("rsa keygen");
    let ours = PrivateKey::generate(KeySize::Rsa2048).expect("snowkey keygen");
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let mut signature = vec![0u8; lc_pair.public_modulus_len()];
    row(
        "RS256 sign (JWT-sized input)",
        "aws-lc-rs",
        &sample(FAST_ITERATIONS, || {
            lc_pair
                .sign(
                    &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                    &rng,
                    JWT_SIGNING_INPUT,
                    &mut signature,
                )
                .expect("sign");
        }),
    );
    let rc_signer = rsa::pkcs1v15::SigningKey::<rsa::sha2::Sha256>::new(rc_key.clone());
    row(
        "RS256 sign (JWT-sized input)",
        "rsa 0.9",
        &sample(scale(FAST_ITERATIONS / 2), || {
            std::hint::black_box(rc_signer.sign(JWT_SIGNING_INPUT).to_bytes());
        }),
    );
    let claims = serde_json::json!({"iss": "A.U.SHA256:x", "sub": "A.U", "iat": 1, "exp": 2});
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    row(
        "JWT mint (key parse + encode)",
        "snowkey (jsonwebtoken/aws-lc)",
        &sample(FAST_ITERATIONS, || {
            jsonwebtoken::encode(&header, &claims, &ours.jwt_encoding_key()).expect("jwt");
        }),
    );

    row(
        "fingerprint (SPKI DER + SHA-256)",
        "aws-lc-rs",
        &sample(FAST_ITERATIONS, || {
            let spki = lc_pair.public_key().as_der().expect("spki");
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, spki.as_ref());
            std::hint::black_box(format!("SHA256:{}", STANDARD.encode(digest.as_ref())));
        }),
    );
    let rc_public = rc_key.to_public_key();
    row(
        "fingerprint (SPKI DER + SHA-256)",
        "rsa 0.9 + sha2",
        &sample(FAST_ITERATIONS, || {
            let spki = rc_public.to_public_key_der().expect("spki");
            std::hint::black_box(format!(
                "SHA256:{}",
                STANDARD.encode(Sha256::digest(spki.as_bytes()))
            ));
        }),
    );
    row(
        "fingerprint (cached SPKI)",
        "snowkey PrivateKey",
        &sample(FAST_ITERATIONS, || {
            std::hint::black_box(ours.fingerprint());
        }),
    );

    let passphrase = Passphrase::new("benchmark passphrase");
    let label = format!("PKCS#8 encrypt ({PBKDF2_ITERATIONS} PBKDF2 it.)");
    row(
        &label,
        "snowkey (RustCrypto pkcs5)",
        &sample(scale(9), || {
            ours.to_encrypted_pkcs8_pem(&passphrase).expect("encrypt");
        }),
    );
    row(
        &label,
        "aws-lc-rs pbkdf2 + AES-CBC",
        &sample(scale(9), || {
            aws_lc_pbes2(ours.pkcs8_der(), passphrase.expose().as_bytes());
        }),
    );
    row(
        "process spawn baseline",
        "openssl version (subprocess)",
        &sample(scale(41), || {
            let status = Command::new("openssl")
                .arg("version")
                .stdout(Stdio::null())
                .status();
            assert!(status.expect("openssl").success());
        }),
    );

    let ratio = lc2048.median.as_secs_f64() / ossl2048.median.as_secs_f64();
    println!();
    println!(
        "ratio median(aws-lc-rs RSA-2048 gen) / median(openssl genrsa 2048) = {ratio:.2} (target <= {TARGET_RATIO}): {}",
        if ratio <= TARGET_RATIO {
            "MET"
        } else {
            "MISSED"
        }
    );
    println!(
        "ratio median(rsa 0.9 RSA-2048 gen) / median(openssl genrsa 2048) = {:.2}",
        rc2048.median.as_secs_f64() / ossl2048.median.as_secs_f64()
    );
}
