//! The raw awsJson1_1 wire format, the binary and its control endpoint, over plain HTTP.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use cloudtrail_emulator::{Config, Emulator, RateLimit, load_records_file};
use common::{client, record};
use serde_json::{Value, json};

const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/eu-central-1/cloudtrail/aws4_request, SignedHeaders=host, Signature=00";

async fn post(url: &str, target: &str, auth: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", target)
        .body(body.to_string());
    if let Some(auth) = auth {
        req = req.header("authorization", auth);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (
        status,
        serde_json::from_str(&resp.text().await.unwrap()).unwrap(),
    )
}

#[tokio::test]
async fn long_and_short_targets_answer_and_errors_carry_type() {
    let limit = RateLimit {
        per_second: 1e-9,
        burst: 2.0,
    };
    let config = Config::default().with_rate_limit(Some(limit)).with_records(
        "eu-central-1",
        vec![record("x", "AssumeRole", 60, "eu-central-1")],
    );
    let emu = Emulator::start(config).await.unwrap();
    let url = emu.url();
    let long = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents";
    let (status, body) = post(&url, long, Some(AUTH), json!({})).await;
    assert_eq!(status, 200);
    assert!(body["Events"][0]["CloudTrailEvent"].is_string(), "{body}");
    assert!(body["Events"][0]["EventTime"].is_number(), "{body}");
    let (status, _) = post(
        &url,
        "CloudTrail_20131101.LookupEvents",
        Some(AUTH),
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = post(
        &url,
        "CloudTrail_20131101.LookupEvents",
        Some(AUTH),
        json!({}),
    )
    .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (
            400,
            Some("com.amazon.coral.availability#ThrottlingException")
        )
    );

    let (status, body) = post(&url, "CloudTrail_20131101.LookupEvents", None, json!({})).await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (
            403,
            Some("com.amazon.coral.service#MissingAuthenticationTokenException")
        )
    );
    let (status, body) = post(
        &url,
        "CloudTrail_20131101.StartQuery",
        Some(AUTH),
        json!({}),
    )
    .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (
            400,
            Some("com.amazon.coral.service#UnknownOperationException")
        )
    );
}

#[test]
fn gzip_and_plain_record_files_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let doc = json!({"Records": [record("a", "GetSecretValue", 60, "us-east-1")]});
    let plain = dir.path().join("plain.json");
    std::fs::write(&plain, doc.to_string()).unwrap();
    let gz = dir.path().join("log.json.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    enc.write_all(doc.to_string().as_bytes()).unwrap();
    enc.finish().unwrap();
    assert_eq!(
        load_records_file(&plain).unwrap(),
        load_records_file(&gz).unwrap()
    );
    std::fs::write(&plain, "[]").unwrap();
    assert!(
        load_records_file(&plain)
            .unwrap_err()
            .to_string()
            .contains("not CloudTrail JSON")
    );
}

/// Kills the child on drop, so a failing assertion leaves no server behind.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_serves_seeded_files_and_takes_records_at_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("records.json");
    let doc = json!({"Records": [record("seeded-east", "GetSecretValue", 60, "us-east-1"), record("seeded-west", "GetSecretValue", 60, "eu-west-1")]});
    std::fs::write(&file, doc.to_string()).unwrap();
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_cloudtrail-emulator"))
            .args(["--records", file.to_str().unwrap(), "--port", "0"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect(&line)
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let ct = client(&url, "us-east-1", 1);
    let ids = |out: aws_sdk_cloudtrail::operation::lookup_events::LookupEventsOutput| {
        out.events()
            .iter()
            .filter_map(|e| e.event_id().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(ct.lookup_events().send().await.unwrap()),
        ["seeded-east"],
        "split by awsRegion"
    );

    let added = reqwest::Client::new()
        .post(format!("{url}/_emulator/records/us-east-1"))
        .body(
            json!({"Records": [record("runtime", "GetSecretValue", 30, "us-east-1")]}).to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(added.status().as_u16(), 200);
    assert_eq!(
        ids(ct.lookup_events().send().await.unwrap()),
        ["runtime", "seeded-east"]
    );

    let log: Value = reqwest::get(format!("{url}/_emulator/requests"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log.as_array().unwrap().len(), 2);
    assert_eq!(log[0]["region"], "us-east-1");
}
