//! `snowkey`: the operator CLI over the same shared code the functions use.
//! Errors print one line on stderr and exit non-zero.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;
mod key_file;

#[derive(Parser)]
#[command(
    name = "snowkey",
    version,
    about = "Snowflake key-pair tools: keys, fingerprints, JWTs, SQL API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate an RSA key pair: DIR/rsa_key.p8 (mode 0600) and DIR/rsa_key.pub.
    Keygen(commands::keygen::Args),
    /// Print the SHA256 fingerprint Snowflake shows for a key (public PEM or any private form).
    Fingerprint(commands::fingerprint::Args),
    /// Print a key-pair JWT for the SQL API.
    Jwt(commands::jwt::Args),
    /// Run one statement through the SQL API v2 and print the rows.
    Sql(commands::sql::Args),
    /// Run the CloudTrail audit rules offline on a log file and print the findings.
    Audit(commands::audit::Args),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(error),
    };
    let outcome = match cli.command {
        Command::Keygen(args) => commands::keygen::run(args),
        Command::Fingerprint(args) => commands::fingerprint::run(args),
        Command::Jwt(args) => commands::jwt::run(args),
        Command::Sql(args) => commands::sql::run(args).await,
        Command::Audit(args) => commands::audit::run(args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}` joins the context chain on one line.
            let message = format!("{error:#}");
            // Snowflake's messages contain line breaks; keep the error on one line.
            let message: Vec<&str> = message
                .split(['\n', '\r'])
                .filter(|l| !l.is_empty())
                .collect();
            eprintln!("snowkey: error: {}", message.join(" "));
            ExitCode::FAILURE
        }
    }
}

/// `--help` and `--version` print as clap formats them; a usage mistake becomes one line.
fn usage_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) || matches!(
        error.kind(),
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = error.print();
        return if error.use_stderr() {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    // Keep clap's explanation (it may span lines), drop its usage and "try --help" lines.
    let rendered = error.render().to_string();
    let explanation: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|line| !line.starts_with("Usage:"))
        .filter(|line| {
            !line.is_empty()
                && !line.starts_with("tip:")
                && !line.starts_with("For more information")
        })
        .collect();
    let explanation = explanation.join(" ");
    let explanation = explanation.strip_prefix("error: ").unwrap_or(&explanation);
    eprintln!("snowkey: error: {explanation} (see snowkey --help)");
    ExitCode::from(2)
}
