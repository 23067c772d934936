//! Fresh key pairs from aws-lc-rs (several times faster than the `rsa` crate and free of its
//! unfixed Marvin advisory, RUSTSEC-2023-0071).

use super::{KeyError, KeySize, PrivateKey, read};

pub(crate) fn generate(size: KeySize) -> Result<PrivateKey, KeyError> {
    let lc_size = match size {
        KeySize::Rsa2048 => aws_lc_rs::rsa::KeySize::Rsa2048,
        KeySize::Rsa3072 => aws_lc_rs::rsa::KeySize::Rsa3072,
        KeySize::Rsa4096 => aws_lc_rs::rsa::KeySize::Rsa4096,
    };
    let pair = aws_lc_rs::rsa::KeyPair::generate(lc_size).map_err(|_| {
        KeyError::Generation(format!(
            "aws-lc-rs could not generate an RSA-{} key",
            size.bits()
        ))
    })?;
    read::from_key_pair(&pair)
}
