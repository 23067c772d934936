//! The local demo: one whole rotation on local servers, driven exactly as Secrets Manager drives it.
//!
//! Starts moto (Secrets Manager, SSM, KMS, SNS, SQS) and the Snowflake emulator, seeds a service
//! user whose first key is registered and stored in a secret, builds the rotation function the way
//! its cold start does, invokes its handler for the four steps, and prints what changed. Then runs
//! the secret-access and assume-role audits over seeded CloudTrail history (the emulator), twice.

use std::sync::Arc;

use anyhow::Context;
use e2e_tests::audit_demo::{self, AuditDemo};
use e2e_tests::driver::STEPS;
use e2e_tests::{Options, Scenario, Stack};
use snowflake_key_rotation::{App, Config};
use snowkey_shared::rotation::{SecretStore, Stage, VersionSelector};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let started = std::time::Instant::now();
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
    audit(&stack, &s.secret_id).await?;
    println!("demo finished in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// The scheduled audits over a few minutes of seeded CloudTrail history around the secret.
async fn audit(stack: &Stack, secret_id: &str) -> anyhow::Result<()> {
    let demo = AuditDemo::start(stack, secret_id).await?;
    println!(
        "\naudits: CloudTrail emulator {} seeded with {} events from the last 5 minutes",
        demo.emulator.url(),
        demo.seeded
    );
    println!(
        "  expected: the rotation role's reads and writes, {}'s read, {}'s AssumeRole",
        audit_demo::CONSUMER_ROLE,
        audit_demo::DEPLOY_ROLE
    );
    println!(
        "  LookupEvents paced at {}/s (CloudTrail's limit; the default is 1/s)",
        audit_demo::LOOKUP_RATE
    );
    let started = std::time::Instant::now();
    let findings = demo.run(stack).await?;
    println!(
        "run 1: audit-secret-access + audit-assume-role published {} findings:",
        findings.len()
    );
    for f in &findings {
        println!(
            "  [{:<6}] {:<24} {:<18} {}",
            f.severity,
            f.rule,
            short(&f.principal),
            f.resources
                .iter()
                .map(|r| short(r))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let again = demo.run(stack).await?;
    println!(
        "run 2 (same events, watermarks in SSM): published {} new findings (deduplicated); both runs took {:.1} s",
        again.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The part of an ARN a reader recognizes (`user/alice`, `secret:snowkey/e2e/..`).
fn short(arn: &str) -> &str {
    arn.splitn(6, ':').nth(5).unwrap_or(arn)
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
