//! `snowkey fingerprint FILE`: the `SHA256:…` Snowflake shows in `RSA_PUBLIC_KEY_FP`.

use std::path::PathBuf;

use anyhow::Context;
use snowkey_shared::keys::{PrivateKey, PublicKey};

use crate::key_file;

#[derive(clap::Args)]
pub struct Args {
    /// A public key PEM, or a private key in any supported form.
    file: PathBuf,
    /// Environment variable holding the passphrase of an encrypted private key.
    #[arg(long, value_name = "VAR")]
    passphrase_env: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let bytes = key_file::read_bytes(&args.file)?;
    let is_public = std::str::from_utf8(&bytes).is_ok_and(|text| text.contains("PUBLIC KEY-----"));
    let fingerprint = if is_public {
        let text = String::from_utf8_lossy(&bytes);
        PublicKey::from_pem(&text)
            .with_context(|| format!("cannot load public key {}", args.file.display()))?
            .fingerprint()
    } else {
        let passphrase = key_file::passphrase_from_env(args.passphrase_env.as_deref())?;
        PrivateKey::from_bytes(&bytes, passphrase.as_ref())
            .with_context(|| format!("cannot load private key {}", args.file.display()))?
            .fingerprint()
    };
    println!("{fingerprint}");
    Ok(())
}
