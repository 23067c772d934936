//! Behaviours found missing in review: each was lenient where CloudTrail is not.

mod common;

use aws_sdk_cloudtrail::error::ProvideErrorMetadata;
use aws_sdk_cloudtrail::types::{EventCategory, LookupAttribute, LookupAttributeKey};
use cloudtrail_emulator::{Config, Emulator, Fault, TokenBinding};
use common::{client, event_name, record};
use serde_json::{Value, json};

const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/cloudtrail/aws4_request, SignedHeaders=host, Signature=00";

async fn raw_post(url: &str, body: Value) -> (u16, String, Value) {
    let resp = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", "CloudTrail_20131101.LookupEvents")
        .header("authorization", AUTH)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let header = resp
        .headers()
        .get("x-amzn-errortype")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, header, resp.json().await.unwrap())
}

fn three_records() -> Vec<Value> {
    (0..3)
        .map(|i| record(&format!("e{i}"), "GetSecretValue", 60 + i, "us-east-1"))
        .collect()
}

/// Real awsJson1_1 services name errors by shape id (`namespace#Name`, Coral throttling included), and
/// the header may carry a `:url` suffix: a client comparing the raw text with "ThrottlingException"
/// would pass a bare-name emulator and fail against AWS.
#[tokio::test]
async fn errors_name_their_shape_with_a_namespace_that_clients_must_strip() {
    let emu = Emulator::start(Config::default().with_rate_limit(None))
        .await
        .unwrap();
    let (status, header, body) = raw_post(&emu.url(), json!({"MaxResults": 0})).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["__type"],
        "com.amazonaws.cloudtrail.v20131101#InvalidMaxResultsException"
    );
    assert!(body["Message"].is_string(), "{body}");
    assert!(
        header.starts_with("InvalidMaxResultsException:"),
        "{header}"
    );

    emu.inject(Fault::Throttle, 1);
    let (status, _, body) = raw_post(&emu.url(), json!({})).await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (
            400,
            Some("com.amazon.coral.availability#ThrottlingException")
        )
    );

    // The SDK strips the namespace; the request log keeps the bare code for tests to match on.
    emu.inject(Fault::Throttle, 1);
    let err = client(&emu.url(), "us-east-1", 1)
        .lookup_events()
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ThrottlingException"));
    let codes: Vec<_> = emu
        .requests()
        .into_iter()
        .filter_map(|r| r.error_code)
        .collect();
    assert_eq!(
        codes,
        [
            "InvalidMaxResultsException",
            "ThrottlingException",
            "ThrottlingException"
        ]
    );
}

/// "This token must be passed in with the same parameters that were specified in the original call"
/// (API_LookupEvents): by default that includes MaxResults; whether AWS really minds is open (⚠),
/// so the lenient reading stays available.
#[tokio::test]
async fn a_next_token_is_bound_to_the_page_size_unless_configured_otherwise() {
    for (binding, changed_size_ok) in [
        (TokenBinding::AllParameters, false),
        (TokenBinding::IgnoreMaxResults, true),
    ] {
        let config = Config::default()
            .with_rate_limit(None)
            .with_token_binding(binding)
            .with_records("us-east-1", three_records());
        let emu = Emulator::start(config).await.unwrap();
        let ct = client(&emu.url(), "us-east-1", 1);
        let page = |size: i32, token: Option<String>| {
            ct.lookup_events()
                .lookup_attributes(event_name("GetSecretValue"))
                .max_results(size)
                .set_next_token(token)
                .send()
        };
        let token = page(1, None)
            .await
            .unwrap()
            .next_token()
            .unwrap()
            .to_owned();
        let same = page(1, Some(token.clone())).await.unwrap();
        assert_eq!(same.events()[0].event_id(), Some("e1"), "{binding:?}");
        let changed = page(5, Some(token)).await;
        assert_eq!(changed.is_ok(), changed_size_ok, "{binding:?}: {changed:?}");
        if let Err(err) = changed {
            assert_eq!(err.code(), Some("InvalidNextTokenException"));
        }
    }
}

/// API_LookupEvents: "Lookup supports the following attributes for Insights events: Event ID, Event
/// name, Event source".
#[tokio::test]
async fn insights_lookups_take_only_event_id_name_or_source() {
    let emu = Emulator::start(Config::default().with_rate_limit(None))
        .await
        .unwrap();
    let ct = client(&emu.url(), "us-east-1", 1);
    let attribute = |key: LookupAttributeKey| {
        LookupAttribute::builder()
            .attribute_key(key)
            .attribute_value("x")
            .build()
            .unwrap()
    };
    for key in [
        LookupAttributeKey::Username,
        LookupAttributeKey::ReadOnly,
        LookupAttributeKey::ResourceName,
        LookupAttributeKey::AccessKeyId,
    ] {
        let err = ct
            .lookup_events()
            .event_category(EventCategory::Insight)
            .lookup_attributes(attribute(key.clone()))
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            Some("InvalidLookupAttributesException"),
            "{key:?}"
        );
    }
    for key in [
        LookupAttributeKey::EventId,
        LookupAttributeKey::EventName,
        LookupAttributeKey::EventSource,
    ] {
        ct.lookup_events()
            .event_category(EventCategory::Insight)
            .lookup_attributes(attribute(key.clone()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{key:?}: {e:?}"));
    }
}

/// AWS pagination only promises "no NextToken, no more results": a page may come back short or empty
/// with a token. A client that stops at an empty page would pass an emulator that never sends one.
#[tokio::test]
async fn an_injected_empty_page_still_carries_a_token_to_the_rest() {
    let config = Config::default()
        .with_rate_limit(None)
        .with_records("us-east-1", three_records());
    let emu = Emulator::start(config).await.unwrap();
    emu.inject(Fault::EmptyPage, 1);
    let pages: Vec<_> = client(&emu.url(), "us-east-1", 1)
        .lookup_events()
        .lookup_attributes(event_name("GetSecretValue"))
        .max_results(2)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    let sizes: Vec<_> = pages.iter().map(|p| p.events().len()).collect();
    assert_eq!(sizes, [0, 2, 1]);
    let ids: Vec<_> = pages
        .iter()
        .flat_map(|p| p.events())
        .filter_map(|e| e.event_id())
        .collect();
    assert_eq!(ids, ["e0", "e1", "e2"]);
}

/// AWS documents no lifetime for a NextToken (⚠), so by default they live for the emulator's life; a
/// lifetime can be set to prove a consumer never keeps a token across runs.
#[tokio::test]
async fn a_next_token_past_its_configured_lifetime_is_refused() {
    let config = Config::default()
        .with_rate_limit(None)
        .with_token_lifetime(Some(std::time::Duration::ZERO))
        .with_records("us-east-1", three_records());
    let emu = Emulator::start(config).await.unwrap();
    let ct = client(&emu.url(), "us-east-1", 1);
    let first = ct.lookup_events().max_results(1).send().await.unwrap();
    let err = ct
        .lookup_events()
        .max_results(1)
        .set_next_token(first.next_token().map(str::to_owned))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidNextTokenException"));
}

/// botocore's model: "The maximum length for the AttributeValue is 2000 characters. The following
/// characters ('_', ' ', ',', '\n') count as two characters". Characters, not UTF-8 bytes.
#[tokio::test]
async fn attribute_values_are_measured_in_weighted_characters() {
    let emu = Emulator::start(Config::default().with_rate_limit(None))
        .await
        .unwrap();
    let ct = client(&emu.url(), "us-east-1", 1);
    let lookup = |value: String| {
        ct.lookup_events()
            .lookup_attributes(
                LookupAttribute::builder()
                    .attribute_key(LookupAttributeKey::Username)
                    .attribute_value(value)
                    .build()
                    .unwrap(),
            )
            .send()
    };
    lookup("é".repeat(2000)).await.expect("2000 characters");
    lookup("_".repeat(1000))
        .await
        .expect("1000 doubled characters");
    for too_long in ["_".repeat(1001), format!("{} ", "a".repeat(1999))] {
        let err = lookup(too_long).await.unwrap_err();
        assert_eq!(err.code(), Some("InvalidLookupAttributesException"));
    }
}
