//! Shared test helpers: keys generated once per test binary, tokens signed with an independent
//! library (jsonwebtoken) or by hand (for malformed headers), a seeded account, an HTTP client.
#![allow(dead_code)]

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use snowflake_emulator::{Emulator, Options, Seed, SeedRole, SeedUser};

pub const ACCOUNT: &str = "MYORG-MYACCOUNT";

pub struct TestKey {
    pub pair: KeyPair,
    /// PKCS#8 PEM, what jsonwebtoken loads.
    pub private_pem: String,
    /// Single-line base64 SPKI body, what ALTER USER takes.
    pub body: String,
    /// `SHA256:` + base64(sha256(SPKI DER)), computed here independently of the emulator.
    pub fingerprint: String,
}

/// Three RSA-2048 keys, generated once per test binary.
pub fn keys() -> &'static [TestKey; 3] {
    static KEYS: OnceLock<[TestKey; 3]> = OnceLock::new();
    KEYS.get_or_init(|| std::array::from_fn(|_| make_key()))
}

pub fn make_key() -> TestKey {
    let pair = KeyPair::generate(KeySize::Rsa2048).expect("generate RSA-2048");
    let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).expect("pkcs8");
    let spki =
        AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(pair.public_key()).expect("spki");
    let b64 = STANDARD.encode(pkcs8.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    TestKey {
        private_pem: format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines.join("\n")
        ),
        body: STANDARD.encode(spki.as_ref()),
        fingerprint: format!("SHA256:{}", STANDARD.encode(Sha256::digest(spki.as_ref()))),
        pair,
    }
}

/// The base64 body of a PEM fixture (no delimiters, one line).
pub fn fixture_body(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path)
        .expect("fixture")
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect()
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The claims a correct client sends for `user` with `key`.
pub fn claims(user: &str, key: &TestKey) -> Value {
    let now = now();
    json!({
        "iss": format!("{ACCOUNT}.{user}.{}", key.fingerprint),
        "sub": format!("{ACCOUNT}.{user}"),
        "iat": now,
        "exp": now + 3540,
    })
}

/// Signs with jsonwebtoken (RS256), an implementation independent of the emulator's verifier.
pub fn sign(claims: &Value, key: &TestKey) -> String {
    let encoding =
        jsonwebtoken::EncodingKey::from_rsa_pem(key.private_pem.as_bytes()).expect("load key");
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        claims,
        &encoding,
    )
    .expect("sign")
}

/// Signs by hand with an arbitrary header (for `alg` tests), RS256 signature regardless.
pub fn sign_raw(header: &Value, claims: &Value, key: &TestKey) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut signature = vec![0; key.pair.public_modulus_len()];
    key.pair
        .sign(
            &aws_lc_rs::signature::RSA_PKCS1_SHA256,
            &aws_lc_rs::rand::SystemRandom::new(),
            message.as_bytes(),
            &mut signature,
        )
        .expect("sign");
    format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature))
}

pub fn token(user: &str, key: &TestKey) -> String {
    sign(&claims(user, key), key)
}

fn user(name: &str, role: &str, slot1: Option<&TestKey>) -> SeedUser {
    SeedUser {
        rsa_public_key: slot1.map(|k| k.body.clone()),
        ..SeedUser::service(name, Some(role))
    }
}

/// The account most tests use:
/// - `SVC_DBT` (service, key 0 in slot 1, default role `SVC_ROLE` without privileges)
/// - `ROTATOR` (key 1, role `ROTATOR_ROLE` with MPAM on SVC_DBT and `Mixed"Case`)
/// - `ADMIN` (key 2, role `SECURITYADMIN` owning every user)
/// - `SELF_SVC` (key 0, role `SELF_ROLE` with MPAM on itself)
/// - `Mixed"Case` (no keys; LOGIN_NAME `MIXED_LOGIN`)
pub fn seed() -> Seed {
    let k = keys();
    let mut mixed = SeedUser::service("Mixed\"Case", None);
    mixed.login_name = Some("mixed_login".into());
    let mpam = "MODIFY PROGRAMMATIC AUTHENTICATION METHODS";
    Seed {
        account: ACCOUNT.into(),
        users: vec![
            user("SVC_DBT", "SVC_ROLE", Some(&k[0])),
            user("ROTATOR", "ROTATOR_ROLE", Some(&k[1])),
            user("ADMIN", "SECURITYADMIN", Some(&k[2])),
            user("SELF_SVC", "SELF_ROLE", Some(&k[0])),
            mixed,
        ],
        roles: vec![
            SeedRole::new("SVC_ROLE", &["SVC_DBT"], mpam, &[]),
            SeedRole::new(
                "ROTATOR_ROLE",
                &["ROTATOR"],
                mpam,
                &["SVC_DBT", "Mixed\"Case"],
            ),
            SeedRole::new(
                "SECURITYADMIN",
                &["ADMIN"],
                "OWNERSHIP",
                &["SVC_DBT", "ROTATOR", "ADMIN", "SELF_SVC", "Mixed\"Case"],
            ),
            SeedRole::new("SELF_ROLE", &["SELF_SVC"], mpam, &["SELF_SVC"]),
        ],
        options: Options::default(),
    }
}

pub async fn start() -> Emulator {
    Emulator::start(seed()).await.expect("start emulator")
}

/// Sees the wire as sent: without `no_gzip`, another crate enabling reqwest's gzip feature in a
/// workspace build would inflate bodies and strip `Content-Encoding` before the tests look.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_gzip()
        .timeout(std::time::Duration::from_secs(10))
        .user_agent("emulator-tests/1.0")
        .build()
        .unwrap()
}

/// What a well-behaved client sends.
pub fn api(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
) -> reqwest::RequestBuilder {
    client
        .request(method, url)
        .bearer_auth(token)
        .header("X-Snowflake-Authorization-Token-Type", "KEYPAIR_JWT")
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
        .header("User-Agent", "emulator-tests/1.0")
}

/// POSTs `body` to /api/v2/statements (plus `query`) and returns status and JSON (Null if empty).
pub async fn post_with(emu: &Emulator, token: &str, query: &str, body: Value) -> (u16, Value) {
    let url = format!("{}/api/v2/statements{query}", emu.url());
    let response = api(&client(), reqwest::Method::POST, url, token)
        .json(&body)
        .send()
        .await
        .expect("send");
    read(response).await
}

pub async fn run(emu: &Emulator, token: &str, statement: &str) -> (u16, Value) {
    post_with(emu, token, "", json!({ "statement": statement })).await
}

/// Runs `statement` as `user` (signing with `key`).
pub async fn run_as(emu: &Emulator, user: &str, key: &TestKey, statement: &str) -> (u16, Value) {
    run(emu, &token(user, key), statement).await
}

pub async fn get(emu: &Emulator, token: &str, path: &str) -> (u16, Value) {
    let response = api(
        &client(),
        reqwest::Method::GET,
        format!("{}{path}", emu.url()),
        token,
    )
    .send()
    .await
    .expect("send");
    read(response).await
}

/// Reads status and JSON body, inflating a gzip body as a correct client must (later partitions).
pub async fn read(response: reqwest::Response) -> (u16, Value) {
    use std::io::Read as _;
    let status = response.status().as_u16();
    let gzip = response
        .headers()
        .get("content-encoding")
        .is_some_and(|v| v == "gzip");
    let bytes = response.bytes().await.expect("body");
    let mut text = String::new();
    if gzip {
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .expect("gzip body");
    } else {
        text = String::from_utf8_lossy(&bytes).into_owned();
    }
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// DESC USER rows as (property, value).
pub fn properties(body: &Value) -> Vec<(String, String)> {
    body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|r| (r[0].as_str().unwrap().into(), r[1].as_str().unwrap().into()))
        .collect()
}

pub fn property(body: &Value, name: &str) -> String {
    properties(body)
        .into_iter()
        .find(|(p, _)| p == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no property {name}"))
}
