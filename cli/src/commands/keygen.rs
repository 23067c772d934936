//! `snowkey keygen`: a new key pair in DIR, written atomically, never over existing files.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::builder::TypedValueParser;
use snowkey_shared::keys::{KeySize, PrivateKey};

use crate::key_file;

const PRIVATE_FILE: &str = "rsa_key.p8";
const PUBLIC_FILE: &str = "rsa_key.pub";

#[derive(clap::Args)]
pub struct Args {
    /// RSA modulus size.
    #[arg(long, default_value_t = 2048, value_parser = clap::builder::PossibleValuesParser::new(["2048", "3072", "4096"])
        .map(|s| s.parse::<u32>().unwrap_or_default()))]
    bits: u32,
    /// Environment variable holding a passphrase to encrypt the private key with.
    #[arg(long, value_name = "VAR")]
    passphrase_env: Option<String>,
    /// Directory for rsa_key.p8 and rsa_key.pub (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let size = KeySize::from_bits(args.bits)?;
    let passphrase = key_file::passphrase_from_env(args.passphrase_env.as_deref())?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create output directory {}", args.out.display()))?;
    let private_path = args.out.join(PRIVATE_FILE);
    let public_path = args.out.join(PUBLIC_FILE);
    for path in [&private_path, &public_path] {
        if path.symlink_metadata().is_ok() {
            bail!(
                "refusing to overwrite {}; choose another --out directory",
                path.display()
            );
        }
    }

    let key = PrivateKey::generate(size)?;
    let private_pem = match &passphrase {
        Some(passphrase) => key.to_encrypted_pkcs8_pem(passphrase)?,
        None => key.to_pkcs8_pem(),
    };
    write_new_file(&private_path, private_pem.as_bytes(), 0o600)?;
    if let Err(error) = write_new_file(&public_path, key.public_key().to_pem().as_bytes(), 0o644) {
        // Leave nothing half-done: a private key without its public half would block a re-run.
        let _ = std::fs::remove_file(&private_path);
        return Err(error);
    }
    println!("{}", key.fingerprint());
    Ok(())
}

/// Writes a temporary file with `mode` in the same directory, then links it into place only if
/// `path` does not exist, so readers never see a partial file and nothing is overwritten.
fn write_new_file(path: &Path, contents: &[u8], mode: u32) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::Builder::new()
        .prefix(".snowkey-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a file in {}", dir.display()))?;
    let written = temp
        .as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .and_then(|()| temp.write_all(contents))
        .and_then(|()| temp.as_file().sync_all());
    written.with_context(|| format!("cannot write {}", path.display()))?;
    temp.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!(
                "refusing to overwrite {}; choose another --out directory",
                path.display()
            )
        } else {
            anyhow::anyhow!("cannot create {}: {}", path.display(), e.error)
        }
    })?;
    Ok(())
}
