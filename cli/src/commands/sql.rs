//! `snowkey sql`: one statement through the SQL API v2, rows as a table or JSON lines.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use snowkey_shared::snowflake::{
    AccountIdentifier, ConnectionSettings, ResultSet, RetryPolicy, SqlApiClient, Statement,
};

use crate::key_file;

#[derive(clap::Args)]
pub struct Args {
    /// Account identifier (MYORG-MYACCOUNT, xy12345.us-east-1, …).
    #[arg(long)]
    account: String,
    /// The user's LOGIN_NAME.
    #[arg(long)]
    user: String,
    /// Private key file (PKCS#8 PEM/DER, encrypted PKCS#8, PKCS#1).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// Environment variable holding the key's passphrase.
    #[arg(long, value_name = "VAR")]
    passphrase_env: Option<String>,
    /// SQL API base URL instead of https://<account>.snowflakecomputing.com.
    #[arg(long, value_name = "URL")]
    host: Option<String>,
    /// Role for the statement (case-sensitive, as SHOW ROLES prints it).
    #[arg(long)]
    role: Option<String>,
    /// Warehouse for the statement (case-sensitive).
    #[arg(long)]
    warehouse: Option<String>,
    /// Print one JSON object per row instead of a table.
    #[arg(long)]
    json: bool,
    /// The SQL statement.
    statement: String,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let account = AccountIdentifier::parse(&args.account)?;
    let host = match &args.host {
        Some(text) => Some(
            url::Url::parse(text).map_err(|e| anyhow::anyhow!("invalid --host {text:?}: {e}"))?,
        ),
        None => None,
    };
    let key = key_file::read_private_key(&args.key, args.passphrase_env.as_deref())?;
    let settings = ConnectionSettings {
        account,
        user: args.user,
        host,
        role: args.role,
        warehouse: args.warehouse,
    };
    let http = reqwest::Client::builder()
        .build()
        .context("cannot build the HTTP client")?;
    let client = SqlApiClient::new(http, settings, Arc::new(key), RetryPolicy::default())?;
    let result = client
        .execute(&Statement::operator_supplied(args.statement))
        .await?;

    let mut out = std::io::stdout().lock();
    if args.json {
        print_json_lines(&mut out, &result)?;
    } else if std::io::stdout().is_terminal() {
        print_table(&mut out, &result)?;
    } else {
        print_tab_separated(&mut out, &result)?;
    }
    out.flush()?;
    Ok(())
}

fn print_json_lines(out: &mut impl Write, result: &ResultSet) -> anyhow::Result<()> {
    for row in &result.rows {
        let object: serde_json::Map<String, serde_json::Value> = result
            .columns
            .iter()
            .cloned()
            .zip(row.iter().map(|v| serde_json::json!(v)))
            .collect();
        writeln!(out, "{}", serde_json::Value::Object(object))?;
    }
    Ok(())
}

fn cell(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("NULL")
}

fn print_table(out: &mut impl Write, result: &ResultSet) -> anyhow::Result<()> {
    let mut widths: Vec<usize> = result.columns.iter().map(|c| c.chars().count()).collect();
    for row in &result.rows {
        for (width, value) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell(value).chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join(" | ").trim_end().to_string()
    };
    writeln!(
        out,
        "{}",
        line(result.columns.iter().map(String::as_str).collect())
    )?;
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    writeln!(out, "{}", rule.join("-+-"))?;
    for row in &result.rows {
        writeln!(out, "{}", line(row.iter().map(cell).collect()))?;
    }
    writeln!(
        out,
        "({} row{})",
        result.rows.len(),
        if result.rows.len() == 1 { "" } else { "s" }
    )?;
    Ok(())
}

/// For pipes: a header line, then one line per row, values separated by tabs.
fn print_tab_separated(out: &mut impl Write, result: &ResultSet) -> anyhow::Result<()> {
    writeln!(out, "{}", result.columns.join("\t"))?;
    for row in &result.rows {
        let cells: Vec<&str> = row.iter().map(cell).collect();
        writeln!(out, "{}", cells.join("\t"))?;
    }
    Ok(())
}
