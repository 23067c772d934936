//! `snowkey jwt`: a key-pair JWT exactly as the SQL API client sends it.

use std::path::PathBuf;
use std::time::Duration;

use snowkey_shared::snowflake::{AccountIdentifier, jwt};

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
    /// Token lifetime in seconds (at most 3540).
    #[arg(long, value_name = "SECONDS", default_value_t = jwt::MAX_LIFETIME.as_secs())]
    lifetime: u64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let account = AccountIdentifier::parse(&args.account)?;
    let key = key_file::read_private_key(&args.key, args.passphrase_env.as_deref())?;
    let token = jwt::mint(
        &account,
        &args.user,
        &key,
        Duration::from_secs(args.lifetime),
    )?;
    println!("{}", token.expose());
    Ok(())
}
