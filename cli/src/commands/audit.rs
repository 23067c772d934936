//! `snowkey audit --events FILE [--config FILE] [--json]`: the secret-access and AssumeRole rules,
//! offline, over a CloudTrail file; prints the findings as a table or JSON lines.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use snowkey_shared::audit::finding::display_time;
use snowkey_shared::audit::{
    AssumeRoleAudit, AuditConfig, Finding, RecordStream, SecretAccessAudit,
};

/// Used without `--config`: watch the project's secrets; no role is sensitive.
const DEFAULT_CONFIG: &str = r#"{"secret_access": {"name_prefixes": ["snowflake/"]}}"#;

#[derive(clap::Args)]
pub struct Args {
    /// CloudTrail records: an S3 log file (`{"Records":[...]}`, gzip or plain), a saved
    /// LookupEvents response, a JSON array or JSON lines.
    #[arg(long, value_name = "FILE")]
    events: PathBuf,
    /// Audit configuration, the JSON the functions read from SNOWKEY_AUDIT_CONFIG
    /// (default: watch secrets named `snowflake/…`, no sensitive roles).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// One finding per line as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let config_text = match &args.config {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?,
        None => DEFAULT_CONFIG.to_string(),
    };
    let config = AuditConfig::from_json(&config_text).context("invalid audit config")?;
    let file = std::fs::File::open(&args.events)
        .with_context(|| format!("cannot open {}", args.events.display()))?;
    let mut stream = RecordStream::open(file)
        .with_context(|| format!("cannot read {}", args.events.display()))?;

    // An empty watch list is fine here: the file may only hold AssumeRole events.
    let mut secrets = match SecretAccessAudit::new(config.secret_access.clone()) {
        Ok(audit) => Some(audit),
        Err(snowkey_shared::audit::AuditConfigError::NothingWatched) => None,
        Err(e) => return Err(e.into()),
    };
    let mut roles = AssumeRoleAudit::new(config.assume_role.clone())?;
    for record in stream.by_ref() {
        let record = record.with_context(|| format!("cannot read {}", args.events.display()))?;
        if let Some(s) = secrets.as_mut() {
            s.observe(&record);
        }
        roles.observe(&record);
    }
    let mut findings = secrets.map(SecretAccessAudit::finish).unwrap_or_default();
    findings.extend(roles.finish());
    findings.sort_by(|a, b| (a.time, b.severity, &a.rule).cmp(&(b.time, a.severity, &b.rule)));

    let mut out = std::io::stdout().lock();
    if args.json {
        for f in &findings {
            writeln!(out, "{}", serde_json::to_string(f)?)?;
        }
    } else {
        print_table(&mut out, &findings)?;
    }
    let skipped = stream.skipped();
    eprintln!(
        "snowkey: {} records read, {} skipped (malformed {}, unknown identity type {}, oversize {}), {} findings",
        stream.records(),
        skipped.total(),
        skipped.malformed,
        skipped.unknown_identity_type,
        skipped.oversize,
        findings.len()
    );
    Ok(())
}

fn print_table(out: &mut impl Write, findings: &[Finding]) -> std::io::Result<()> {
    if findings.is_empty() {
        return writeln!(out, "no findings");
    }
    let rows: Vec<[String; 6]> = findings
        .iter()
        .map(|f| {
            [
                display_time(f.time),
                f.severity.to_string(),
                f.rule.clone(),
                f.principal.clone(),
                f.resource.clone(),
                f.event_ids.join(","),
            ]
        })
        .collect();
    let header = [
        "TIME",
        "SEVERITY",
        "RULE",
        "PRINCIPAL",
        "RESOURCE",
        "EVENTS",
    ];
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
                .min(80)
        })
        .collect();
    let line = |cells: &[&str]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    writeln!(out, "{}", line(&header))?;
    for r in &rows {
        writeln!(
            out,
            "{}",
            line(&r.iter().map(String::as_str).collect::<Vec<_>>())
        )?;
    }
    Ok(())
}
