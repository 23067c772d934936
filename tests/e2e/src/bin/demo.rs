//! The local demo: one whole rotation on local servers, driven exactly as Secrets Manager drives it.
//!
//! Starts moto (Secrets Manager, SSM, KMS, SNS, SQS) and the Snowflake emulator, seeds a service
//! user whose first key is registered and stored in a secret, builds the rotation function the way
//! its cold start does, invokes its handler for the four steps, and prints what changed.

use std::sync::Arc;

use anyhow::Context;
use e2e_tests::driver::STEPS;
use e2e_tests::{Options, Scenario, Stack};
use snowflake_key_rotation::{App, Config};
use snowkey_shared::aws::verify_customer_managed_key;
use snowkey_shared::rotation::{SecretStore, Stage, VersionSelector};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter("warn")
        .with_writer(std::io::stderr)
        .init();
    let stack = Arc::new(Stack::start().await.context("starting moto")?);
    // The runbook's end state needs Snowflake to accept the new key in slot 1 while slot 2 holds it.
    let options = Options {
        mirror: true,
        allow_duplicate_keys: true,
        ..Options::default()
    };
    let mut s = Scenario::new(stack.clone(), options)
        .await
        .context("seeding the demo")?;

    // Build the function as its cold start does, from its environment-style configuration.
    let env = [
        ("SNOWKEY_TOPIC_ARN", s.topic_arn.clone()),
        ("SNOWKEY_SSM_KMS_KEY_ID", s.kms_key_id.clone()),
    ];
    let config =
        Config::from_lookup(|name| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()))?;
    let kms = aws_sdk_kms::Client::new(&stack.sdk);
    verify_customer_managed_key(&kms, &s.kms_key_id).await?;
    s.app = App::new(&config, &stack.sdk)?;

    println!("snowkey demo: one rotation against local servers");
    println!("  AWS (moto):          {}", stack.endpoint);
    println!(
        "  Snowflake emulator:  {} (account {}, user {})",
        s.emulator.url(),
        s.emulator.account(),
        s.user
    );
    println!("  secret:              {}", s.secret_id);
    let before = s
        .fingerprint_at(VersionSelector::Stage(Stage::Current))
        .await?
        .context("no AWSCURRENT")?;
    println!("before: AWSCURRENT key {before}");
    print_slots(&s);

    let token = s.start_rotation().await?;
    println!("RotateSecret: AWSPENDING version {token}");
    for step in STEPS {
        let outcome = s
            .invoke(step, &token)
            .await
            .map_err(|e| anyhow::anyhow!("{step} failed: {e}"))?;
        println!(
            "  {:<13} {}",
            step.as_str(),
            outcome["Outcome"].as_str().unwrap_or_default()
        );
    }
    s.check_finished(&token)
        .await
        .context("the rotation's end state")?;

    let after = s
        .fingerprint_at(VersionSelector::Stage(Stage::Current))
        .await?
        .context("no AWSCURRENT")?;
    println!("after:  AWSCURRENT key {after} (was {before})");
    let store = snowkey_shared::aws::SecretsManagerStore::new(stack.secrets.clone());
    for (version, stages) in store.describe(&s.secret_id).await?.versions {
        println!("  version {version}: {}", stages.join(", "));
    }
    print_slots(&s);
    println!("  the old key logs in: no; the new key logs in: yes (checked against the emulator)");

    let parameter = s.parameter.clone().unwrap_or_default();
    if let Some((_, version, key_id)) = stack.read_parameter(&parameter).await? {
        println!(
            "SSM mirror: {parameter} version {version}, SecureString under KMS key {}",
            key_id.unwrap_or_default()
        );
    }
    for message in stack.drain_queue(&s.queue_url).await? {
        let body: serde_json::Value = serde_json::from_str(&message.body)?;
        println!(
            "SNS -> SQS [{}]: {}",
            message.severity,
            body["content"]["title"].as_str().unwrap_or_default()
        );
        println!(
            "  {}",
            body["content"]["description"].as_str().unwrap_or_default()
        );
    }
    Ok(())
}

fn print_slots(s: &Scenario) {
    let user = s.emulator.user(&s.user);
    let show = |fp: Option<String>| fp.unwrap_or_else(|| "(unset)".into());
    if let Some(user) = user {
        println!(
            "  DESC USER {}: RSA_PUBLIC_KEY_FP = {}, RSA_PUBLIC_KEY_2_FP = {}",
            s.user,
            show(user.rsa_public_key_fp),
            show(user.rsa_public_key_2_fp)
        );
    }
}
