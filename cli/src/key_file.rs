//! Reading key files and passphrases named on the command line.

use std::path::Path;

use anyhow::{Context, bail};
use snowkey_shared::keys::{Passphrase, PrivateKey};

/// The passphrase from environment variable `var` (never from argv, where `ps` would show it).
pub fn passphrase_from_env(var: Option<&str>) -> anyhow::Result<Option<Passphrase>> {
    let Some(var) = var else { return Ok(None) };
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Ok(Some(Passphrase::new(value))),
        Ok(_) => bail!("environment variable {var} (--passphrase-env) is empty"),
        Err(_) => bail!("environment variable {var} (--passphrase-env) is not set"),
    }
}

pub fn read_bytes(path: &Path) -> anyhow::Result<zeroize::Zeroizing<Vec<u8>>> {
    std::fs::read(path)
        .map(zeroize::Zeroizing::new)
        .with_context(|| format!("cannot read key file {}", path.display()))
}

pub fn read_private_key(path: &Path, passphrase_env: Option<&str>) -> anyhow::Result<PrivateKey> {
    let passphrase = passphrase_from_env(passphrase_env)?;
    let bytes = read_bytes(path)?;
    PrivateKey::from_bytes(&bytes, passphrase.as_ref())
        .with_context(|| format!("cannot load private key {}", path.display()))
}
